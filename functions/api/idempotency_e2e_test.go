//go:build e2e

package main

// Idempotency-Key end to end: real bootstrap processes (each one Lambda environment) sharing
// moto's S3 and one upstream emulator, behind a gate that can hold the first recognition.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/contracttest"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// gatedUpstream is the emulator behind a gate: while held, the first recognition waits (or
// until its caller gives up); every later one goes straight through.
type gatedUpstream struct {
	url      string
	requests atomic.Int64
	arrived  chan struct{} // the first recognition has reached the gate
	open     chan struct{}
	release  sync.Once
}

func startGated(t *testing.T) *gatedUpstream {
	t.Helper()
	g := &gatedUpstream{arrived: make(chan struct{}, 1), open: make(chan struct{})}
	inner := emulator.New(token)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.requests.Add(1) == 1 {
			g.arrived <- struct{}{}
			select {
			case <-g.open:
			case <-r.Context().Done():
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { g.Open(); srv.Close() })
	g.url = srv.URL + emulator.Path
	return g
}

// Open lets the held recognition (and every later one) through.
func (g *gatedUpstream) Open() { g.release.Do(func() { close(g.open) }) }

// environment starts one more function process on f's moto, against upstream.
func environment(t *testing.T, f *fn, upstream string, extraEnv ...string) *fn {
	t.Helper()
	rt, err := runtimeapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	env := append(testenv.AWSEnv(f.aws.URL), "TOKEN_SECRET_ID="+secretID, "RECOGNITION_API_URL="+upstream,
		"SOURCE_BUCKETS="+inBucket, "RESULTS_BUCKET="+outBucket, "STORE_PREFIX=stored/", "AUTH_MODE=off")
	proc, err := rt.StartProcess(bootstrap, append(env, extraEnv...))
	if err != nil {
		t.Fatal(err)
	}
	g := &fn{t: t, rt: rt, proc: proc, emu: f.emu, s3: f.s3, sm: f.sm, aws: f.aws}
	t.Cleanup(func() {
		proc.Kill()
		rt.Close()
		if t.Failed() {
			t.Logf("output of the environment on %s:\n%s", rt.Addr(), proc.Output())
		}
	})
	return g
}

type invoked struct {
	resp events.APIGatewayV2HTTPResponse
	err  error
}

// invokeAsync sends ev without waiting: the caller may never look at the answer (a dropped
// connection), or collect it with collect.
func (f *fn) invokeAsync(ev events.APIGatewayV2HTTPRequest, timeout time.Duration) <-chan invoked {
	out := make(chan invoked, 1)
	payload, _ := json.Marshal(ev)
	go func() {
		res, err := f.rt.Invoke(context.Background(), payload, timeout)
		var resp events.APIGatewayV2HTTPResponse
		if err == nil && res.Error == nil {
			err = json.Unmarshal(res.Payload, &resp)
		} else if err == nil {
			err = fmt.Errorf("the function failed instead of answering: %s", res.Error)
		}
		out <- invoked{resp, err}
	}()
	return out
}

func collect(t *testing.T, ev events.APIGatewayV2HTTPRequest, c <-chan invoked) events.APIGatewayV2HTTPResponse {
	t.Helper()
	r := <-c
	if r.err != nil {
		t.Fatalf("invoke: %v", r.err)
	}
	if err := contracttest.CheckEvent(ev, r.resp); err != nil {
		t.Error(err)
	}
	return r.resp
}

func keyedEvent(path, key string, doc map[string]any) events.APIGatewayV2HTTPRequest {
	ev := jsonEvent(path, doc)
	if key != "" {
		ev.Headers["idempotency-key"] = key
	}
	return ev
}

func challenge(question string) map[string]any {
	return map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": question}
}

// records lists the objects in the results bucket: key to body.
func (f *fn) records() map[string][]byte {
	f.t.Helper()
	ctx := context.Background()
	out, err := f.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(outBucket)})
	if err != nil {
		f.t.Fatal(err)
	}
	objects := map[string][]byte{}
	for _, o := range out.Contents {
		got, err := f.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(outBucket), Key: o.Key})
		if err != nil {
			f.t.Fatal(err)
		}
		b, err := io.ReadAll(got.Body)
		got.Body.Close()
		if err != nil {
			f.t.Fatal(err)
		}
		objects[*o.Key] = b
	}
	return objects
}

// onlyRecord is the one Idempotency-Key record in the bucket, decoded.
func (f *fn) onlyRecord() (state string, leaseUntil, expires time.Time) {
	f.t.Helper()
	objects := f.records()
	if len(objects) != 1 {
		f.t.Fatalf("%d objects in the bucket, want one record: %v", len(objects), keys(objects))
	}
	for k, b := range objects {
		if !strings.HasPrefix(k, "idempotency/") || !strings.HasSuffix(k, ".json") {
			f.t.Fatalf("record at %s, outside idempotency/", k)
		}
		var r struct {
			State      string    `json:"state"`
			LeaseUntil time.Time `json:"lease_until"`
			Expires    time.Time `json:"expires"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			f.t.Fatalf("record %s: %v", b, err)
		}
		return r.State, r.LeaseUntil, r.Expires
	}
	return
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func wantReplayOf(t *testing.T, resp, first events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if resp.StatusCode != first.StatusCode || resp.Body != first.Body || resp.Headers["idempotent-replayed"] != "true" {
		t.Fatalf("want the kept answer replayed, got %d %v %s\nfirst %d %s", resp.StatusCode, resp.Headers, resp.Body, first.StatusCode, first.Body)
	}
}

// First, repeat, changed request, bad keys; and without the header nothing is written.
func TestIdempotencyKey(t *testing.T) {
	f := start(t)
	wantSolved(t, f.invoke(jsonEvent("/recognize", challenge("cars"))), std3x3)
	if objects := f.records(); len(objects) != 0 {
		t.Fatalf("a request without Idempotency-Key wrote %v", keys(objects))
	}
	calls := f.emu.Requests()

	key := "8e03978e-40d5-43e8-bc93-6894a57f9324"
	first := f.invoke(keyedEvent("/recognize", key, challenge("cars")))
	wantSolved(t, first, std3x3)
	if first.Headers["idempotent-replayed"] != "" || f.emu.Requests() != calls+1 {
		t.Fatalf("first: headers %v, %d upstream calls", first.Headers, f.emu.Requests()-calls)
	}
	if state, _, _ := f.onlyRecord(); state != "done" {
		t.Fatalf("record state %s", state)
	}
	again := f.invoke(keyedEvent("/recognize", `"`+key+`"`, challenge("cars")))
	wantReplayOf(t, again, first)
	wantSolved(t, again, std3x3)

	// The same key with anything else is another request: 422, and nothing recognized.
	wantError(t, f.invoke(keyedEvent("/recognize", key, challenge("Select all images with cars"))), 422, "idempotency_key_reused")
	wantError(t, f.invoke(keyedEvent("/captcha/recognition/recaptcha2", key, challenge("cars"))), 422, "idempotency_key_reused")
	for name, bad := range map[string]string{"too long": strings.Repeat("k", 256), "empty": `""`, "a control character": "key\x01", "not ASCII": "ключ",
		"sent twice (API Gateway joins the values with a comma)": "8e03978e-40d5-43e8-bc93-6894a57f9324,another"} {
		resp := f.invoke(keyedEvent("/recognize", bad, challenge("cars")))
		if a := wantError(t, resp, 400, "invalid_idempotency_key"); !strings.Contains(a.Error.Message, "Idempotency-Key") {
			t.Errorf("%s: message %q", name, a.Error.Message)
		}
	}
	if f.emu.Requests() != calls+1 {
		t.Fatalf("%d upstream calls for one keyed request", f.emu.Requests()-calls)
	}
	if objects := f.records(); len(objects) != 1 {
		t.Fatalf("objects %v, want only the one record", keys(objects))
	}
	out := f.waitOutput(func(o string) bool { return strings.Contains(o, `"idempotency":"replayed"`) })
	if !strings.Contains(out, `"idempotency":"replayed"`) || !strings.Contains(out, `"Code":"replayed"`) {
		t.Fatal("the log or the metrics do not show the replay")
	}
}

// The caller's connection drops while the first request runs; the function finishes it anyway.
// Retries meanwhile, many at once and on another environment, get 409 with Retry-After and never
// reach the upstream; the retry after it finished gets its answer, which the caller never saw.
func TestIdempotencyDroppedConnectionAndConcurrentDuplicates(t *testing.T) {
	f := start(t)
	up := startGated(t)
	a := environment(t, f, up.url)
	b := environment(t, f, up.url)
	ev := keyedEvent("/recognize", "order-42", challenge("cars"))
	dropped := a.invokeAsync(ev, 20*time.Second) // nobody reads it until the end: the caller is gone
	<-up.arrived

	dups := make([]<-chan invoked, 8)
	for i := range dups {
		dups[i] = b.invokeAsync(ev, 20*time.Second)
	}
	for _, d := range dups {
		resp := collect(t, ev, d)
		wantError(t, resp, 409, "idempotency_key_in_use")
		if ra := resp.Headers["retry-after"]; ra != "1" && ra != "2" {
			t.Fatalf("Retry-After %q", ra)
		}
	}
	if state, _, _ := b.onlyRecord(); state != "running" {
		t.Fatalf("record state %s while the first runs", state)
	}
	up.Open()
	firstAnswer := collect(t, ev, dropped) // what the gone caller would have got
	retry := b.invoke(ev)
	wantReplayOf(t, retry, firstAnswer)
	wantSolved(t, retry, std3x3)
	if n := up.requests.Load(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// A function killed mid-request leaves its key running until its lease (the invocation's
// deadline, plus a little) lapses; then the key is free and the next request is recognized.
func TestIdempotencyCrashedFirstRequest(t *testing.T) {
	t.Parallel()
	f := start(t)
	up := startGated(t)
	a := environment(t, f, up.url)
	b := environment(t, f, up.url)
	ev := keyedEvent("/recognize", "crash-1", challenge("cars"))
	a.invokeAsync(ev, 3*time.Second)
	<-up.arrived
	a.proc.Kill()
	wantError(t, b.invoke(ev), 409, "idempotency_key_in_use")
	state, lease, _ := b.onlyRecord()
	if state != "running" {
		t.Fatalf("record state %s", state)
	}
	time.Sleep(time.Until(lease) + 100*time.Millisecond)
	resp := b.invoke(ev)
	wantSolved(t, resp, std3x3)
	if resp.Headers["idempotent-replayed"] != "" || up.requests.Load() != 2 {
		t.Fatalf("after the lease: headers %v, %d upstream calls", resp.Headers, up.requests.Load())
	}
	if state, _, _ := b.onlyRecord(); state != "done" {
		t.Fatalf("record state %s", state)
	}
}

// Two callers with the same key: neither reads nor blocks the other's.
func TestIdempotencyKeysBelongToTheirCaller(t *testing.T) {
	const keysSecret = "github.com/recaptcha-recognizer/recognizer/client-keys"
	const aliceKey, bobKey = "alice-0f3b9c2d7e4a1f68", "bob-7d1e0c9a4b3f2e85"
	f := start(t)
	if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(keysSecret),
		SecretString: aws.String(`{"alice": "` + aliceKey + `", "bob": "` + bobKey + `"}`)}); err != nil {
		t.Fatal(err)
	}
	up := startGated(t)
	keysMode := []string{"AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID=" + keysSecret}
	a := environment(t, f, up.url, keysMode...)
	b := environment(t, f, up.url, keysMode...)
	as := func(key string, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
		return withHeader(ev, "authorization", "Bearer "+key)
	}
	alice := as(aliceKey, keyedEvent("/recognize", "shared-key", challenge("cars")))
	bob := as(bobKey, keyedEvent("/recognize", "shared-key", challenge("cars")))

	aliceFirst := a.invokeAsync(alice, 20*time.Second)
	<-up.arrived
	bobFirst := b.invoke(bob) // alice's running request does not block bob's
	wantSolved(t, bobFirst, std3x3)
	if bobFirst.Headers["idempotent-replayed"] != "" {
		t.Fatal("bob got a replay of a key he never used")
	}
	up.Open()
	aliceAnswer := collect(t, alice, aliceFirst)
	wantSolved(t, aliceAnswer, std3x3)
	wantReplayOf(t, b.invoke(alice), aliceAnswer)
	wantReplayOf(t, a.invoke(bob), bobFirst)
	if aliceAnswer.Body == bobFirst.Body {
		t.Fatal("two callers got one answer")
	}
	// Bob reusing his key for another request is his own 422; alice's key is untouched.
	wantError(t, b.invoke(as(bobKey, keyedEvent("/recognize", "shared-key", challenge("Select all images with cars")))), 422, "idempotency_key_reused")
	wantReplayOf(t, a.invoke(alice), aliceAnswer)
	if n := up.requests.Load(); n != 2 {
		t.Fatalf("%d upstream calls, want 2 (one per caller)", n)
	}
	if objects := a.records(); len(objects) != 2 {
		t.Fatalf("records %v, want one per caller", keys(objects))
	}
}

// Past IDEMPOTENCY_TTL the kept answer is gone: the same key and request are recognized again.
func TestIdempotencyExpiry(t *testing.T) {
	f := start(t, "IDEMPOTENCY_TTL=1s")
	ev := keyedEvent("/recognize", "ttl-1", challenge("cars"))
	wantSolved(t, f.invoke(ev), std3x3)
	calls := f.emu.Requests()
	_, _, expires := f.onlyRecord()
	if until := time.Until(expires); until > time.Second {
		t.Fatalf("kept until %v, %v from now; the TTL is 1s", expires, until)
	}
	time.Sleep(time.Until(expires) + 100*time.Millisecond)
	resp := f.invoke(ev)
	wantSolved(t, resp, std3x3)
	if resp.Headers["idempotent-replayed"] != "" || f.emu.Requests() != calls+1 {
		t.Fatalf("after the TTL: headers %v, %d more upstream calls", resp.Headers, f.emu.Requests()-calls)
	}
	if _, _, again := f.onlyRecord(); !again.After(expires) {
		t.Fatalf("the record was not renewed: %v", again)
	}
}

// BenchmarkIdempotencyKey is the header's cost: one request through the real bootstrap, moto's
// S3 (through the fault proxy, as every e2e request) and the emulator, without the header, with a
// new key each time (create the record, recognize, write the answer: two conditional PUTs), and
// with one key repeated (a refused create and a read; no recognition). docs/reliability.md has
// the numbers and the command.
func BenchmarkIdempotencyKey(b *testing.B) {
	f := start(b)
	doc := challenge("cars")
	run := 0
	for _, c := range []struct {
		name string
		key  func(i int) string
	}{
		{"none", func(int) string { return "" }},
		{"first", func(i int) string { return fmt.Sprintf("bench-%d-%d", run, i) }},
		{"replay", func(int) string { return "bench-replay" }},
	} {
		b.Run(c.name, func(b *testing.B) {
			run++
			i := 0
			for b.Loop() {
				i++
				payload, _ := json.Marshal(keyedEvent("/recognize", c.key(i), doc))
				res, err := f.rt.Invoke(context.Background(), payload, 20*time.Second)
				var resp events.APIGatewayV2HTTPResponse
				if err == nil {
					err = json.Unmarshal(res.Payload, &resp)
				}
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
				}
			}
		})
	}
}
