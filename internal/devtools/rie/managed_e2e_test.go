//go:build e2e

package rie_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/rie"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

const (
	token      = "tok-5b0e7d21c9a84f36"
	capmonKey  = "cm-key-7e1d2a"
	capsolKey  = "cs-key-90b4c1"
	yescapKey  = "yc-key-3f6e08"
	secretID   = "managed-instances/tokens"
	bucket     = "challenges"
	module     = "github.com/recaptcha-recognizer/recognizer/"
	inFlight   = 64
	apiShare   = 44 // of inFlight; the rest are S3 events
	maxLatency = 29 * time.Second
)

// Pictures with distinct labels and tiles, so that an answer handed to the wrong request shows.
var (
	cars3x3   = testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4, 8}, Seed: 1}
	buses4x4  = testimage.Challenge{Grid: 4, Tile: 112, Margin: 1, Label: "/m/01bjv", Targets: []int{1, 6, 11}, Seed: 2}
	lights3x3 = testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/015qff", Targets: []int{1, 2}, Seed: 3}
	hydrant   = testimage.Challenge{Grid: 1, Tile: 100, Label: "/m/01pns0", Targets: []int{0}, Seed: 4}
	bigCars   = testimage.Challenge{Grid: 3, Tile: 130, Label: "/m/0k4j", Targets: []int{2, 6}, Seed: 5}
)

// apiCall is one kind of HTTPS request and what its answer must be.
type apiCall struct {
	name   string
	event  events.APIGatewayV2HTTPRequest
	status int
	code   string // the error code, for an error
	want   *testimage.Challenge
}

func httpEvent(method, path, query, contentType string, body []byte, binary bool) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers:        map[string]string{"content-type": contentType},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}}
	if binary {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	} else {
		ev.Body = string(body)
	}
	return ev
}

func jsonCall(path string, doc map[string]any) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(doc)
	return httpEvent("POST", path, "", "application/json", b, false)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// apiCalls are every route and form, answers and errors.
func apiCalls() []apiCall {
	form, formType := testenv.MultipartForm(map[string]string{"question": buses4x4.Label}, "b.png", buses4x4.PNG())
	upstream := jsonCall("/captcha/recognition/recaptcha2", map[string]any{"image": b64(lights3x3.PNG()), "question": lights3x3.Label})
	upstream.Headers["authorization"] = "Bearer caller-key"
	return []apiCall{
		{name: "JSON", event: jsonCall("/recognize", map[string]any{"image": b64(cars3x3.JPEG(90)), "question": cars3x3.Label}), status: 200, want: &cars3x3},
		{name: "upstream path", event: upstream, status: 200, want: &lights3x3},
		{name: "multipart", event: httpEvent("POST", "/recognize", "", formType, form, true), status: 200, want: &buses4x4},
		{name: "raw body, resized", event: httpEvent("POST", "/recognize", "question="+url.QueryEscape(bigCars.Label)+"&grid=3x3", "image/png", bigCars.PNG(), true), status: 200, want: &bigCars},
		{name: "one tile", event: jsonCall("/recognize", map[string]any{"image": b64(hydrant.JPEG(90)), "question": hydrant.Label}), status: 200, want: &hydrant},
		{name: "S3 reference", event: jsonCall("/recognize", map[string]any{"s3": "s3://" + bucket + "/refs/lights.png", "question": lights3x3.Label}), status: 200, want: &lights3x3},
		{name: "stored", event: jsonCall("/recognize", map[string]any{"image": b64(buses4x4.JPEG(90)), "question": buses4x4.Label, "store": true}), status: 200, want: &buses4x4},
		{name: "not a picture", event: jsonCall("/recognize", map[string]any{"image": b64([]byte("this is not a picture at all")), "question": cars3x3.Label}), status: 400, code: "invalid_image"},
		{name: "unknown question", event: jsonCall("/recognize", map[string]any{"image": b64(cars3x3.PNG()), "question": "giraffes"}), status: 400, code: "unsupported_question"},
		{name: "reference outside the scope", event: jsonCall("/recognize", map[string]any{"s3": "s3://" + bucket + "/incoming/cars/0.jpg", "question": cars3x3.Label}), status: 403, code: "s3_forbidden"},
		{name: "no such route", event: httpEvent("GET", "/nothing", "", "", nil, false), status: 404, code: "not_found"},
	}
}

// s3Kind is one kind of upload: the folder names the question.
type s3Kind struct {
	folder string
	body   []byte
	want   *testimage.Challenge
	code   string
}

func s3Kinds() []s3Kind {
	return []s3Kind{
		{folder: "cars", body: cars3x3.JPEG(90), want: &cars3x3},
		{folder: "buses", body: buses4x4.PNG(), want: &buses4x4},
		{folder: "giraffes", body: cars3x3.JPEG(90), code: "unsupported_question"},
	}
}

type answer struct {
	Solution *struct {
		Objects  []int  `json:"objects"`
		Label    string `json:"label"`
		Grid     string `json:"grid"`
		Provider string `json:"provider"`
	} `json:"solution"`
	Error *struct{ Code string } `json:"error"`
}

// check says what is wrong with an answer (a solution or an error body), or "". Which live
// provider answered depends on timing (a slow one is failed over), so any of them may; the
// down one never can.
func check(doc []byte, want *testimage.Challenge, code string, live ...string) string {
	var a answer
	if err := json.Unmarshal(doc, &a); err != nil {
		return fmt.Sprintf("not JSON: %s", doc)
	}
	if want == nil {
		if a.Error == nil || a.Error.Code != code {
			return fmt.Sprintf("want error %s: %s", code, doc)
		}
		return ""
	}
	s := a.Solution
	if s == nil || !slices.Equal(s.Objects, want.Targets) || s.Label != want.Label || s.Grid != fmt.Sprintf("%dx%d", want.Grid, want.Grid) || !slices.Contains(live, s.Provider) {
		return fmt.Sprintf("want %s tiles %v from one of %v: %s", want.Label, want.Targets, live, doc)
	}
	return ""
}

// Lambda Managed Instances run one process for many invocations at once
// (AWS_LAMBDA_MAX_CONCURRENCY). Under AWS's emulator in that mode, both functions, built with
// the race detector, answer 64 requests in flight at once (every route and form of the HTTPS
// function, uploads of the S3 function, errors among them) as each answers alone: right tiles,
// right errors, each request its own answer. In both functions the first provider is down, so
// every request fails over (and is answered by one of the two live ones), and the shared circuit
// breaker opens under the concurrent load.
func TestManagedInstancesConcurrentMixed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rieBin, err := rie.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{}
	for _, fn := range []string{"api", "s3event"} {
		os.Mkdir(filepath.Join(dir, fn), 0o755)
		if bins[fn], err = testenv.BuildRace(ctx, module+"functions/"+fn, filepath.Join(dir, fn)); err != nil {
			t.Fatal(err)
		}
	}
	moto, err := testenv.StartMoto()
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Close()
	cfg := testenv.AWSConfig(moto.URL)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	secret, _ := json.Marshal(map[string]string{"acedata": token, "capsolver": capsolKey, "yescaptcha": yescapKey, "capmonster": capmonKey})
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretID), SecretString: aws.String(string(secret))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, body []byte) string {
		out, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Trim(aws.ToString(out.ETag), `"`)
	}
	put("refs/lights.png", lights3x3.PNG())
	put("incoming/cars/0.jpg", cars3x3.JPEG(90))

	ace, err := emulator.New(token).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ace.Close()
	capmon, err := taskemu.New(taskemu.CapMonster, capmonKey).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer capmon.Close()
	down, err := testenv.FreeAddr() // nothing listens: every call is refused
	if err != nil {
		t.Fatal(err)
	}
	common := append(testenv.AWSEnv(moto.URL), "TOKEN_SECRET_ID="+secretID, "RECOGNITION_API_URL="+ace.URL,
		"CAPSOLVER_API_URL=http://"+down, "YESCAPTCHA_API_URL=http://"+down, "CAPMONSTER_API_URL="+capmon.URL,
		"INPUT_PREFIX=incoming/", "RESULTS_PREFIX=results/", "STORE_PREFIX=stored/")
	// Two live providers after the down one in each function: a request fails only if both
	// time out, however slow a loaded machine makes one of them.
	apiFn, err := rie.Start(rieBin, bins["api"], append(common, "PROVIDERS=capsolver,acedata,capmonster", "AUTH_MODE=off", "FORWARD_REPORTS=on",
		"SOURCE_BUCKETS="+bucket+"/refs/", "RESULTS_BUCKET="+bucket), rie.Options{MaxConcurrency: inFlight, Timeout: maxLatency, MemoryMB: managedMemoryMB})
	if err != nil {
		t.Fatal(err)
	}
	defer apiFn.Close()
	s3Fn, err := rie.Start(rieBin, bins["s3event"], append(common, "PROVIDERS=yescaptcha,capmonster,acedata"),
		rie.Options{MaxConcurrency: inFlight, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s3Fn.Close()
	defer func() {
		for name, em := range map[string]*rie.Emulator{"api": apiFn, "s3event": s3Fn} {
			out := em.Output()
			if strings.Contains(out, "DATA RACE") || strings.Contains(out, "panic:") {
				t.Errorf("%s: a data race or a panic:\n%s", name, out)
			} else if t.Failed() {
				t.Logf("%s output:\n%s", name, out)
			}
			for _, secret := range []string{token, capmonKey, capsolKey, yescapKey} {
				if strings.Contains(out, secret) {
					t.Errorf("%s: a provider's key appears in the output", name)
				}
			}
		}
	}()

	calls := apiCalls()
	invokeAPI := func(c apiCall) string {
		payload, _ := json.Marshal(c.event)
		status, body, err := apiFn.Invoke(ctx, payload)
		if err != nil || status != 200 {
			return fmt.Sprintf("%s: invoke: %d %s %v", c.name, status, body, err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			return fmt.Sprintf("%s: %s", c.name, body)
		}
		if resp.StatusCode != c.status {
			return fmt.Sprintf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, resp.Body)
		}
		if p := check([]byte(resp.Body), c.want, c.code, "acedata", "capmonster"); p != "" {
			return c.name + ": " + p
		}
		return ""
	}
	kinds := s3Kinds()
	invokeS3 := func(i int) string {
		k := kinds[i%len(kinds)]
		key := fmt.Sprintf("incoming/%s/%d.img", k.folder, i)
		var r events.S3EventRecord
		r.EventSource, r.EventName, r.AWSRegion = "aws:s3", "ObjectCreated:Put", "us-east-1"
		r.S3.Bucket.Name, r.S3.Bucket.Arn = bucket, "arn:aws:s3:::"+bucket
		r.S3.Object.Key, r.S3.Object.ETag, r.S3.Object.Size = key, put(key, k.body), int64(len(k.body))
		payload, _ := json.Marshal(events.S3Event{Records: []events.S3EventRecord{r}})
		status, body, err := s3Fn.Invoke(ctx, payload)
		if err != nil || status != 200 || string(body) != "null" {
			return fmt.Sprintf("upload %s: invoke: %d %s %v", key, status, body, err)
		}
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("results/" + strings.TrimPrefix(key, "incoming/") + ".json")})
		if err != nil {
			return fmt.Sprintf("upload %s: no result: %v", key, err)
		}
		defer out.Body.Close()
		var doc bytes.Buffer
		doc.ReadFrom(out.Body)
		if p := check(doc.Bytes(), k.want, k.code, "capmonster", "acedata"); p != "" {
			return "upload " + key + ": " + p
		}
		return ""
	}

	// Alone first: each kind answers right, and a redelivered upload is recognized as such.
	for _, c := range calls {
		if p := invokeAPI(c); p != "" {
			t.Fatalf("alone: %s", p)
		}
	}
	for i := range kinds {
		if p := invokeS3(i); p != "" {
			t.Fatalf("alone: %s", p)
		}
	}
	// The first upload again, the same bytes under the same key: S3's redelivery of one event.
	if p := invokeS3(0); p != "" {
		t.Fatalf("alone: %s", p)
	}

	// Then all at once.
	problems := make([]string, inFlight)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if i < apiShare {
				problems[i] = invokeAPI(calls[i%len(calls)])
			} else {
				problems[i] = invokeS3(len(kinds) + i)
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, p := range problems {
		if p != "" {
			t.Error(p)
		}
	}

	// A caller's report of an answer, which the dashboard's report and accuracy widgets show.
	if p := reportAnswer(ctx, apiFn, calls[0]); p != "" {
		t.Error(p)
	}

	// What the functions emitted: every metric the template's alarms and dashboard read.
	// Each invocation logs one line, which may still be in the emulators' pipes: wait for them all.
	apiLines, s3Lines := len(calls)+apiShare+2, len(kinds)+1+inFlight-apiShare
	waitLines(t, apiFn, `"msg":"request"`, apiLines)
	waitLines(t, s3Fn, `"msg":"record"`, s3Lines)
	checkTemplateMetrics(t, apiFn.Output()+s3Fn.Output())
	if !strings.Contains(apiFn.Output(), `"Outcome":"breaker_open"`) {
		t.Errorf("the HTTPS function never passed over the down provider: its breaker did not open")
	}
}

// reportAnswer asks for the answer of c and reports it wrong by its answer_id, and says what is
// wrong with that, or "".
func reportAnswer(ctx context.Context, fn *rie.Emulator, c apiCall) string {
	invoke := func(ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string) {
		payload, _ := json.Marshal(ev)
		var resp events.APIGatewayV2HTTPResponse
		status, body, err := fn.Invoke(ctx, payload)
		if err != nil || status != 200 || json.Unmarshal(body, &resp) != nil || resp.StatusCode != 200 {
			return resp, fmt.Sprintf("invoke %s: %d %s %v", ev.RawPath, status, body, err)
		}
		return resp, ""
	}
	resp, p := invoke(c.event)
	var a struct {
		AnswerID string `json:"answer_id"`
	}
	if p != "" || json.Unmarshal([]byte(resp.Body), &a) != nil || a.AnswerID == "" {
		return fmt.Sprintf("an answer to report: %s %s", p, resp.Body)
	}
	resp, p = invoke(jsonCall("/report", map[string]any{"answer_id": a.AnswerID, "verdict": "wrong"}))
	if p != "" || !strings.Contains(resp.Body, `"outcome"`) {
		return fmt.Sprintf("report: %s %s", p, resp.Body)
	}
	return ""
}

// emitted is one metric as an EMF line declares it: its name and dimension values.
type emitted struct {
	metric string
	dims   map[string]string
}

// waitLines waits, for up to 10 s, until em's output holds at least n lines containing marker.
func waitLines(t *testing.T, em *rie.Emulator, marker string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(em.Output(), marker) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines with %s in the output after 10 s, want %d", strings.Count(em.Output(), marker), marker, n)
		}
	}
}

// checkTemplateMetrics checks that each metric of the functions' namespace that template.yaml's
// alarms and dashboard read (as .ci/template-policy.py lists them) is one the functions emitted:
// the same name, the same set of dimensions, and values the functions use.
func checkTemplateMetrics(t *testing.T, output string) {
	t.Helper()
	var seen []emitted
	values := map[string]map[string]bool{}
	for _, line := range strings.Split(output, "\n") {
		var doc map[string]any
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &doc) != nil {
			continue
		}
		var aws struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		}
		raw, _ := json.Marshal(doc["_aws"])
		if json.Unmarshal(raw, &aws) != nil {
			continue
		}
		for _, d := range aws.CloudWatchMetrics {
			if d.Namespace != "Recognizer" {
				continue
			}
			for _, set := range d.Dimensions {
				dims := map[string]string{}
				for _, k := range set {
					v, _ := doc[k].(string)
					dims[k] = v
					if values[k] == nil {
						values[k] = map[string]bool{}
					}
					values[k][v] = true
				}
				for _, m := range d.Metrics {
					seen = append(seen, emitted{m.Name, dims})
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no EMF metrics in the functions' output")
	}
	out, err := exec.Command("python3", "../../../.ci/template-policy.py", "--recognizer-metrics", "../../../template.yaml").Output()
	if err != nil {
		t.Fatalf("template-policy.py --recognizer-metrics: %v", err)
	}
	var rows []struct {
		Resource   string
		Metric     string
		Dimensions map[string]*string
	}
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) < 10 {
		t.Fatalf("template metrics: %v %s", err, out)
	}
	for _, r := range rows {
		var want []string
		for k := range r.Dimensions {
			want = append(want, k)
		}
		sort.Strings(want)
		found := slices.ContainsFunc(seen, func(e emitted) bool {
			var got []string
			for k := range e.dims {
				got = append(got, k)
			}
			sort.Strings(got)
			return e.metric == r.Metric && slices.Equal(got, want)
		})
		if !found {
			t.Errorf("%s reads %s by %v: no function emits it with those dimensions", r.Resource, r.Metric, want)
			continue
		}
		for k, v := range r.Dimensions {
			if v != nil && !values[k][*v] {
				t.Errorf("%s reads %s with %s=%s: no function emits that value", r.Resource, r.Metric, k, *v)
			}
		}
	}
}
