package idempotency

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

func TestParseKey(t *testing.T) {
	good := map[string]string{
		"8e03978e-40d5-43e8-bc93-6894a57f9324":   "8e03978e-40d5-43e8-bc93-6894a57f9324",
		`"8e03978e-40d5-43e8-bc93-6894a57f9324"`: "8e03978e-40d5-43e8-bc93-6894a57f9324",
		`"with space and \"quotes\" and \\"`:     `with space and "quotes" and \`,
		"  padded  ":                             "padded",
		strings.Repeat("k", 255):                 strings.Repeat("k", 255),
		`"` + strings.Repeat("q", 255) + `"`:     strings.Repeat("q", 255),
		"a!#$%&'*+-.^_`|~:/?=[]{}()<>@;":         "a!#$%&'*+-.^_`|~:/?=[]{}()<>@;",
	}
	for in, want := range good {
		got, err := ParseKey([]string{in})
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                   "is empty",
		`""`:                                 "is empty",
		"   ":                                "is empty",
		strings.Repeat("k", 256):             "256 characters long",
		`"` + strings.Repeat("q", 256) + `"`: "256 characters long",
		"two words":                          "not visible ASCII at byte 4",
		"tab\there":                          "not visible ASCII at byte 4",
		"nul\x00":                            "not visible ASCII",
		"é":                                  "not visible ASCII at byte 1",
		"\x7f":                               "not visible ASCII",
		`"open`:                              "does not close",
		`"a"b`:                               "after its closing quote",
		`"a\b"`:                              "backslash",
		`"a\`:                                "backslash",
		"\"ctl\x01\"":                        "not visible ASCII at byte 5",
		"a,b":                                "holds a comma",
		"a, b":                               "holds a comma",
		`"a","b"`:                            "holds a comma",
		`"a,b"`:                              "holds a comma",
		",":                                  "holds a comma",
	}
	for in, want := range bad {
		_, err := ParseKey([]string{in})
		e := apierr.As(err)
		if err == nil || e.Code != apierr.CodeInvalidIdempotencyKey || e.Status() != 400 || !strings.Contains(e.Message, want) {
			t.Errorf("%q: %v; want invalid_idempotency_key saying %q", in, err, want)
		}
	}
	if _, err := ParseKey([]string{"a", "b"}); apierr.As(err).Code != apierr.CodeInvalidIdempotencyKey {
		t.Errorf("two headers: %v", err)
	}
}

func multipartBody(t *testing.T, fields map[string]string, order []string, image []byte) (body []byte, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b) // a random boundary, as clients draw one per request
	for _, k := range order {
		w.WriteField(k, fields[k])
	}
	fw, _ := w.CreateFormFile("image", "c.png")
	fw.Write(image)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func TestFingerprint(t *testing.T) {
	jsonReq := func(path, body string, query url.Values) wire.Request {
		return wire.Request{Method: "POST", Path: path, Query: query, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
	base := jsonReq("/recognize", `{"question":"cars","image":"AAAA"}`, url.Values{"a": {"1"}, "b": {"2"}})
	same := []wire.Request{
		jsonReq("/recognize/", `{"question":"cars","image":"AAAA"}`, url.Values{"b": {"2"}, "a": {"1"}}),
	}
	withAuth := base
	withAuth.Header = http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer other"}}
	same = append(same, withAuth)
	for _, r := range same {
		if Fingerprint(r) != Fingerprint(base) {
			t.Errorf("%+v should count as the same request as %+v", r, base)
		}
	}
	badQuery := base
	badQuery.QueryError = errors.New(`invalid URL escape "%zz"`) // ?a=1&b=2&min_confidence=0.9%zz
	different := []wire.Request{
		badQuery,
		jsonReq("/recognize", `{"question":"buses","image":"AAAA"}`, base.Query),
		jsonReq("/recognize", `{"question":"cars","image":"AAAB"}`, base.Query),
		jsonReq("/captcha/recognition/recaptcha2", `{"question":"cars","image":"AAAA"}`, base.Query),
		jsonReq("/recognize", `{"question":"cars","image":"AAAA"}`, url.Values{"a": {"1"}}),
		{Method: "POST", Path: "/recognize", Query: base.Query, Header: http.Header{"Content-Type": {"text/plain"}}, Body: base.Body},
	}
	for _, r := range different {
		if Fingerprint(r) == Fingerprint(base) {
			t.Errorf("%+v should differ from %+v", r, base)
		}
	}

	// A multipart form: the same parts under a new boundary are the same request.
	fields := map[string]string{"question": "cars", "grid": "3x3"}
	b1, ct1 := multipartBody(t, fields, []string{"question", "grid"}, []byte("png-bytes"))
	b2, ct2 := multipartBody(t, fields, []string{"question", "grid"}, []byte("png-bytes"))
	b3, ct3 := multipartBody(t, fields, []string{"question", "grid"}, []byte("png-byteZ"))
	b4, ct4 := multipartBody(t, map[string]string{"question": "buses", "grid": "3x3"}, []string{"question", "grid"}, []byte("png-bytes"))
	form := func(b []byte, ct string) wire.Request {
		return wire.Request{Method: "POST", Path: "/recognize", Header: http.Header{"Content-Type": {ct}}, Body: b}
	}
	if ct1 == ct2 {
		t.Fatal("the test needs two boundaries")
	}
	if Fingerprint(form(b1, ct1)) != Fingerprint(form(b2, ct2)) {
		t.Error("the same form under another boundary should be the same request")
	}
	if Fingerprint(form(b1, ct1)) == Fingerprint(form(b3, ct3)) || Fingerprint(form(b1, ct1)) == Fingerprint(form(b4, ct4)) {
		t.Error("a form with another image or question should differ")
	}
	// A form cut inside its last part's headers is not the form without that part.
	whole, ctWhole := multipartBody(t, map[string]string{"question": "cars"}, []string{"question"}, []byte("png-bytes"))
	boundary := strings.TrimPrefix(ctWhole, "multipart/form-data; boundary=")
	cut := append(bytes.Clone(whole[:len(whole)-len("--"+boundary+"--\r\n")]), "--"+boundary+"\r\nContent-Disposition: form-da"...)
	if Fingerprint(form(cut, ctWhole)) == Fingerprint(form(whole, ctWhole)) {
		t.Error("a form cut inside a part's headers should differ from the form without that part")
	}
	// A broken form still has one fingerprint per body.
	broken := form([]byte("--x\r\nnot a part"), "multipart/form-data; boundary=x")
	again := form([]byte("--x\r\nnot a part"), "multipart/form-data; boundary=x")
	if Fingerprint(broken) != Fingerprint(again) || Fingerprint(broken) == Fingerprint(form([]byte("--x\r\nnot a parT"), "multipart/form-data; boundary=x")) {
		t.Error("a broken form should fingerprint by its bytes")
	}
}

// A content type that does not parse counts as its text and the body byte for byte.
func TestFingerprintOfAnUnparsedContentType(t *testing.T) {
	req := func(ct, body string) wire.Request {
		return wire.Request{Method: "POST", Path: "/recognize", Header: http.Header{"Content-Type": {ct}}, Body: []byte(body)}
	}
	base := req("text/;;", "abc")
	if Fingerprint(base) != Fingerprint(req("text/;;", "abc")) {
		t.Error("the same request should have the same fingerprint")
	}
	for _, other := range []wire.Request{req("text/;;", "abd"), req("text/;;;", "abc"), req("text/", "abc")} {
		if Fingerprint(other) == Fingerprint(base) {
			t.Errorf("%q %q should differ from %q %q", other.Header.Get("Content-Type"), other.Body, "text/;;", "abc")
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later, earlier := now.Add(time.Second), now.Add(-time.Second)
	cases := []struct {
		name string
		r    record
		fp   string
		want verdict
	}{
		{"kept answer, same request", record{State: stateDone, Fingerprint: "a", Expires: later}, "a", replay},
		{"kept answer, another request", record{State: stateDone, Fingerprint: "a", Expires: later}, "b", reused},
		{"kept answer past its TTL", record{State: stateDone, Fingerprint: "a", Expires: earlier}, "b", claim},
		{"kept answer at its TTL", record{State: stateDone, Fingerprint: "a", Expires: now}, "a", claim},
		{"running, same request", record{State: stateRunning, Fingerprint: "a", LeaseUntil: later}, "a", inUse},
		{"running, another request", record{State: stateRunning, Fingerprint: "a", LeaseUntil: later}, "b", reused},
		{"running past its lease (crashed)", record{State: stateRunning, Fingerprint: "a", LeaseUntil: earlier}, "a", claim},
		{"released", record{State: stateReleased, Fingerprint: "a"}, "a", claim},
		{"released, another request", record{State: stateReleased, Fingerprint: "a"}, "b", claim},
		{"unreadable", record{}, "a", claim},
	}
	for _, c := range cases {
		if got := decide(c.r, c.fp, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestKept(t *testing.T) {
	for status, want := range map[int]bool{200: true, 400: true, 403: true, 404: true, 413: true, 415: true, 422: true,
		401: false, 408: false, 409: false, 429: false, 500: false, 502: false, 503: false, 504: false} {
		if kept(status) != want {
			t.Errorf("kept(%d) = %v", status, !want)
		}
	}
}

// memRecords is S3's conditional writes in memory: an ETag is the body's MD5, as S3's is for a
// single-part upload, and every check and write happens under one lock, as S3 does atomically.
type memRecords struct {
	mu      sync.Mutex
	objects map[string][]byte
	writes  int
	fail    error // every call fails with it
}

func etagOf(b []byte) string { s := md5.Sum(b); return `"` + hex.EncodeToString(s[:]) + `"` }

func (m *memRecords) GetWithETag(_ context.Context, bucket, key string, _ int) ([]byte, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, "", m.fail
	}
	b, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, "", apierr.New(apierr.CodeS3NotFound, "no such object")
	}
	return b, etagOf(b), nil
}

func (m *memRecords) PutIf(_ context.Context, bucket, key string, body []byte, ifMatch string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return "", false, m.fail
	}
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	cur, exists := m.objects[bucket+"/"+key]
	if (ifMatch == "" && exists) || (ifMatch != "" && (!exists || etagOf(cur) != ifMatch)) {
		return "", false, nil
	}
	m.objects[bucket+"/"+key] = bytes.Clone(body)
	m.writes++
	return etagOf(body), true, nil
}

func (m *memRecords) record(t *testing.T) (string, record) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.objects) != 1 {
		t.Fatalf("%d records, want 1", len(m.objects))
	}
	for k, b := range m.objects {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return k, r
	}
	return "", record{}
}

// nextServer counts the requests that reach it; gate, when set, holds the first until it is closed.
type nextServer struct {
	calls   atomic.Int64
	status  int
	gate    chan struct{}
	entered chan struct{}
}

func (n *nextServer) Serve(_ context.Context, req wire.Request) wire.Response {
	c := n.calls.Add(1)
	if n.gate != nil && c == 1 {
		n.entered <- struct{}{}
		<-n.gate
	}
	status := n.status
	if status == 0 {
		status = 200
	}
	body, _ := json.Marshal(map[string]any{"call": c, "body": string(req.Body)})
	return wire.Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}, "X-Recognition-Provider": {"p1"}}, Body: body}
}

// callerAuth takes the bearer value as the caller's name; "bad" is refused.
type callerAuth struct{}

func (callerAuth) Authenticate(_ context.Context, authorization, _ string) (string, error) {
	name := strings.TrimPrefix(authorization, "Bearer ")
	if name == "bad" {
		return "", apierr.New(apierr.CodeInvalidToken, "invalid authorization key")
	}
	return name, nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// layered is the pipeline's use of the layer, reduced to what these tests need: the caller is
// the bearer value (a refused one reaches next, as it would be refused there), refusals are
// rendered in the native shape with their Retry-After.
type layered struct {
	*Layer
	next *nextServer
}

func (s layered) Serve(ctx context.Context, req wire.Request) wire.Response {
	caller, err := callerAuth{}.Authenticate(ctx, req.Header.Get("Authorization"), "")
	if err != nil {
		return s.next.Serve(ctx, req)
	}
	resp, _, err := s.Layer.Serve(ctx, req, caller, func(ctx context.Context) wire.Response { return s.next.Serve(ctx, req) })
	if err != nil {
		e := apierr.As(err)
		h := wire.JSONHeader()
		if e.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		}
		return wire.Response{Status: e.Status(), Header: h, Body: wire.ErrorBody(e, "trace")}
	}
	return resp
}

func newLayer(next *nextServer, store *memRecords, clk *clock) layered {
	return layered{&Layer{Store: store, Bucket: "b", Prefix: "idempotency/", TTL: time.Hour,
		Routes: []string{api.RecognizePath, api.UpstreamPath}, DefaultTimeout: 29 * time.Second,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: clk.Now}, next}
}

func keyed(caller, key, body string) wire.Request {
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + caller}}
	if key != "" {
		h.Set(KeyHeader, key)
	}
	return wire.Request{Method: "POST", Path: api.RecognizePath, Header: h, Body: []byte(body)}
}

func wantCode(t *testing.T, resp wire.Response, status int, code apierr.Code) {
	t.Helper()
	var e struct{ Error struct{ Code apierr.Code } }
	json.Unmarshal(resp.Body, &e)
	if resp.Status != status || e.Error.Code != code {
		t.Fatalf("got %d %s, want %d %s", resp.Status, resp.Body, status, code)
	}
}

func TestIdempotencyFirstThenReplay(t *testing.T) {
	store, next, clk := &memRecords{}, &nextServer{}, &clock{now: time.Unix(1e9, 0)}
	l := newLayer(next, store, clk)
	ctx := context.Background()
	first := l.Serve(ctx, keyed("alice", "k1", `{"q":1}`))
	if first.Status != 200 || first.Header.Get(ReplayedHeader) != "" || next.calls.Load() != 1 {
		t.Fatalf("first: %d %v, %d calls", first.Status, first.Header, next.calls.Load())
	}
	name, r := store.record(t)
	if !strings.HasPrefix(name, "b/idempotency/") || r.State != stateDone || !r.Expires.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("record %s %+v", name, r)
	}
	clk.Add(59 * time.Minute)
	again := l.Serve(ctx, keyed("alice", `"k1"`, `{"q":1}`)) // the quoted form is the same key
	if again.Status != 200 || again.Header.Get(ReplayedHeader) != "true" || !bytes.Equal(again.Body, first.Body) ||
		again.Header.Get("X-Recognition-Provider") != "p1" || next.calls.Load() != 1 {
		t.Fatalf("replay: %d %v %s, %d calls", again.Status, again.Header, again.Body, next.calls.Load())
	}
	wantCode(t, l.Serve(ctx, keyed("alice", "k1", `{"q":2}`)), 422, apierr.CodeIdempotencyKeyReused)
	if next.calls.Load() != 1 {
		t.Fatal("a reused key reached the provider")
	}
	// Past the TTL, the key is new again.
	clk.Add(time.Minute)
	fresh := l.Serve(ctx, keyed("alice", "k1", `{"q":2}`))
	if fresh.Status != 200 || fresh.Header.Get(ReplayedHeader) != "" || next.calls.Load() != 2 {
		t.Fatalf("after the TTL: %d %v, %d calls", fresh.Status, fresh.Header, next.calls.Load())
	}
}

// Without the header, or where the layer does not apply, nothing is read or written.
func TestIdempotencyPassesThrough(t *testing.T) {
	store, next, clk := &memRecords{fail: errors.New("must not be called")}, &nextServer{}, &clock{now: time.Unix(1e9, 0)}
	l := newLayer(next, store, clk)
	ctx := context.Background()
	other := keyed("alice", "k", "{}")
	other.Path = "/elsewhere"
	get := keyed("alice", "k", "{}")
	get.Method = "GET"
	for _, req := range []wire.Request{keyed("alice", "", "{}"), other, get, keyed("bad", "k", "{}")} {
		if resp := l.Serve(ctx, req); resp.Status != 200 {
			t.Fatalf("%s %s: %d %s", req.Method, req.Path, resp.Status, resp.Body)
		}
	}
	if next.calls.Load() != 4 {
		t.Fatalf("%d calls", next.calls.Load())
	}
}

func TestIdempotencyRefusals(t *testing.T) {
	store, next, clk := &memRecords{}, &nextServer{}, &clock{now: time.Unix(1e9, 0)}
	l := newLayer(next, store, clk)
	ctx := context.Background()
	wantCode(t, l.Serve(ctx, keyed("alice", strings.Repeat("k", 256), "{}")), 400, apierr.CodeInvalidIdempotencyKey)
	wantCode(t, l.Serve(ctx, keyed("alice", "a b", "{}")), 400, apierr.CodeInvalidIdempotencyKey)
	noBucket := newLayer(next, store, clk)
	noBucket.Layer.Bucket = ""
	wantCode(t, noBucket.Serve(ctx, keyed("alice", "k", "{}")), 400, apierr.CodeStoreNotConfigured)
	if next.calls.Load() != 0 || store.writes != 0 {
		t.Fatalf("a refused key reached the provider (%d) or wrote (%d)", next.calls.Load(), store.writes)
	}
	// S3 unavailable: fail closed, nothing recognized.
	store.fail = apierr.New(apierr.CodeStorageUnavailable, "S3 is unavailable; try again")
	wantCode(t, l.Serve(ctx, keyed("alice", "k", "{}")), 503, apierr.CodeStorageUnavailable)
	if next.calls.Load() != 0 {
		t.Fatal("a request was recognized without its record")
	}
}

// A key's answer is its caller's: the same key from another caller is another key.
func TestIdempotencyScopedToCaller(t *testing.T) {
	store, next, clk := &memRecords{}, &nextServer{}, &clock{now: time.Unix(1e9, 0)}
	l := newLayer(next, store, clk)
	ctx := context.Background()
	a := l.Serve(ctx, keyed("alice", "shared", `{"q":1}`))
	b := l.Serve(ctx, keyed("bob", "shared", `{"q":2}`))
	c := l.Serve(ctx, keyed("carol", "shared", `{"q":1}`))
	for _, r := range []wire.Response{a, b, c} {
		if r.Status != 200 || r.Header.Get(ReplayedHeader) != "" {
			t.Fatalf("%d %v %s", r.Status, r.Header, r.Body)
		}
	}
	if next.calls.Load() != 3 || len(store.objects) != 3 {
		t.Fatalf("%d calls, %d records", next.calls.Load(), len(store.objects))
	}
}

// While the first request runs, every duplicate (many at once) gets 409 with Retry-After, and
// only the first reaches the provider; afterwards each gets the kept answer.
func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	store, clk := &memRecords{}, &clock{now: time.Unix(1e9, 0)}
	next := &nextServer{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	l := newLayer(next, store, clk)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	firstDone := make(chan wire.Response)
	go func() { firstDone <- l.Serve(ctx, keyed("alice", "k", "{}")) }()
	<-next.entered
	var wg sync.WaitGroup
	dups := make([]wire.Response, 16)
	for i := range dups {
		wg.Go(func() { dups[i] = l.Serve(ctx, keyed("alice", "k", "{}")) })
	}
	wg.Wait()
	for _, d := range dups {
		wantCode(t, d, 409, apierr.CodeIdempotencyKeyInUse)
		if ra := d.Header.Get("Retry-After"); ra != "1" && ra != "2" {
			t.Fatalf("Retry-After %q", ra)
		}
	}
	close(next.gate)
	first := <-firstDone
	if again := l.Serve(ctx, keyed("alice", "k", "{}")); again.Header.Get(ReplayedHeader) != "true" || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("after the first: %d %v %s", again.Status, again.Header, again.Body)
	}
	if next.calls.Load() != 1 {
		t.Fatalf("%d provider calls, want 1", next.calls.Load())
	}
}

// Racing first requests (no record yet): exactly one wins the create and is recognized.
func TestIdempotencyRacingFirsts(t *testing.T) {
	store, clk := &memRecords{}, &clock{now: time.Unix(1e9, 0)}
	next := &nextServer{}
	l := newLayer(next, store, clk)
	var wg sync.WaitGroup
	resps := make([]wire.Response, 32)
	for i := range resps {
		wg.Go(func() { resps[i] = l.Serve(context.Background(), keyed("alice", "k", "{}")) })
	}
	wg.Wait()
	if next.calls.Load() != 1 {
		t.Fatalf("%d provider calls, want 1", next.calls.Load())
	}
	for _, r := range resps {
		if r.Status != 200 && r.Status != 409 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
}

// A function that crashed mid-request leaves a running record: it blocks the key until its lease
// lapses, then the next request runs.
func TestIdempotencyCrashedFirst(t *testing.T) {
	store, next, clk := &memRecords{}, &nextServer{}, &clock{now: time.Unix(1e9, 0)}
	l := newLayer(next, store, clk)
	lease := clk.Now().Add(10 * time.Second)
	crashed, _ := json.Marshal(record{State: stateRunning, Fingerprint: Fingerprint(keyed("alice", "k", "{}")), Owner: "gone", LeaseUntil: lease})
	store.objects = map[string][]byte{"b/idempotency/" + scopedName("alice", "k") + ".json": crashed}
	ctx := context.Background()
	wantCode(t, l.Serve(ctx, keyed("alice", "k", "{}")), 409, apierr.CodeIdempotencyKeyInUse)
	clk.Add(10 * time.Second)
	if r := l.Serve(ctx, keyed("alice", "k", "{}")); r.Status != 200 || r.Header.Get(ReplayedHeader) != "" || next.calls.Load() != 1 {
		t.Fatalf("after the lease: %d %v, %d calls", r.Status, r.Header, next.calls.Load())
	}
	if _, r := store.record(t); r.State != stateDone || r.Owner == "gone" {
		t.Fatalf("record %+v", r)
	}
}

// A failure worth retrying releases the key, so the retry is recognized; a final refusal is kept.
func TestIdempotencyReleasesRetryableFailures(t *testing.T) {
	store, clk := &memRecords{}, &clock{now: time.Unix(1e9, 0)}
	next := &nextServer{status: 503}
	l := newLayer(next, store, clk)
	ctx := context.Background()
	if r := l.Serve(ctx, keyed("alice", "k", "{}")); r.Status != 503 {
		t.Fatal(r.Status)
	}
	if _, r := store.record(t); r.State != stateReleased {
		t.Fatalf("record %+v", r)
	}
	next.status = 400
	if r := l.Serve(ctx, keyed("alice", "k", "{}")); r.Status != 400 || next.calls.Load() != 2 {
		t.Fatalf("retry: %d, %d calls", r.Status, next.calls.Load())
	}
	next.status = 200
	if r := l.Serve(ctx, keyed("alice", "k", "{}")); r.Status != 400 || r.Header.Get(ReplayedHeader) != "true" || next.calls.Load() != 2 {
		t.Fatalf("a final refusal is kept: %d %v, %d calls", r.Status, r.Header, next.calls.Load())
	}
}

// The lease follows the request's deadline: a Lambda killed at its timeout frees the key soon after.
func TestIdempotencyLeaseFollowsDeadline(t *testing.T) {
	store, clk := &memRecords{}, &clock{now: time.Unix(1e9, 0)}
	next := &nextServer{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	l := newLayer(next, store, clk)
	deadline := time.Now().Add(5 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	done := make(chan struct{})
	go func() { l.Serve(ctx, keyed("alice", "k", "{}")); close(done) }()
	<-next.entered
	_, r := store.record(t)
	if r.State != stateRunning || !r.LeaseUntil.Equal(deadline.Add(leaseGrace).Round(0)) {
		t.Fatalf("record %+v, want a lease to %v", r, deadline.Add(leaseGrace))
	}
	close(next.gate)
	<-done
}

// A record that could not be read or written in time is the request's timeout (504), as
// docs/api.md says; any other storage failure is 503.
func TestStorageFailureAtTheDeadline(t *testing.T) {
	late := storageFailure(apierr.Wrap(context.DeadlineExceeded, apierr.CodeStorageUnavailable, "S3 did not answer"))
	if late.Status() != 504 || late.Code != apierr.CodeStorageUnavailable {
		t.Errorf("a timed-out record: %d %s, want 504 storage_unavailable", late.Status(), late.Code)
	}
	if down := storageFailure(errors.New("connection refused")); down.Status() != 503 {
		t.Errorf("S3 down: %d, want 503", down.Status())
	}
}

// deadlineRecords notes the deadline of each write.
type deadlineRecords struct {
	memRecords
	writes []time.Time
}

func (d *deadlineRecords) PutIf(ctx context.Context, bucket, key string, body []byte, ifMatch string) (string, bool, error) {
	dl, _ := ctx.Deadline()
	d.writes = append(d.writes, dl)
	return d.memRecords.PutIf(ctx, bucket, key, body, ifMatch)
}

// The claim is written within the request's deadline; the answer's record may use WriteGrace
// past it (inside the response margin), so an answer found at the deadline is still kept.
func TestRecordWritesFollowTheDeadline(t *testing.T) {
	store, next := &deadlineRecords{}, &nextServer{}
	l := &Layer{Store: store, Bucket: "b", Prefix: "idempotency/", TTL: time.Hour, Routes: []string{api.RecognizePath},
		WriteGrace: 150 * time.Millisecond, DefaultTimeout: time.Minute, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	deadline := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	req := keyed("alice", "k", "{}")
	if _, _, err := l.Serve(ctx, req, "alice", func(ctx context.Context) wire.Response { return next.Serve(ctx, req) }); err != nil {
		t.Fatal(err)
	}
	if len(store.writes) != 2 || !store.writes[0].Equal(deadline) || !store.writes[1].Equal(deadline.Add(150*time.Millisecond)) {
		t.Fatalf("writes with deadlines %v, want %v then %v", store.writes, deadline, deadline.Add(150*time.Millisecond))
	}
}
