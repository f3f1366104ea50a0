//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// localShell is a shell with nothing set that a run reads: no token, no endpoint, no region, no
// AUTH_MODE. (An empty variable counts as unset.)
func localShell(t *testing.T) {
	for _, k := range []string{"RECOGNITION_TOKEN", "TOKEN_SECRET_ID", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AUTH_MODE", "CLIENT_KEYS_SECRET_ID", "SOURCE_BUCKETS", "RESULTS_BUCKET",
		"INPUT_PREFIX", "RESULTS_PREFIX", "STORE_PREFIX", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
}

func repoConfig(events ...string) config {
	return config{envFile: "../../events/env.json", images: "../../events/images", template: "../../template.yaml", events: events}
}

// Every fixture in events/, as `make invoke` runs them with nothing set up by hand: each ends in
// a 200 or, for an S3 event, a solution written for every record; the function's whole output
// is printed; the moto_server the run started is gone afterwards.
func TestEveryFixture(t *testing.T) {
	localShell(t)
	all, err := fixtures("../../events")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 9 {
		t.Fatalf("only %d fixtures: %v", len(all), all)
	}
	var stdout, stderr bytes.Buffer
	reports, err := run(context.Background(), repoConfig(all...), &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if len(reports) != len(all) {
		t.Fatalf("%d reports for %d fixtures", len(reports), len(all))
	}
	for i, r := range reports {
		name := filepath.Base(all[i])
		want := map[bool]string{true: "api", false: "s3event"}[strings.HasPrefix(name, "api-")]
		if r.fixture != all[i] || r.function != want {
			t.Errorf("%s ran as %s (%s), want %s", name, r.function, r.fixture, want)
		}
		if r.problem != "" {
			t.Errorf("%s: %s", name, r.problem)
		}
		switch r.function {
		case "api":
			if r.status != 200 {
				t.Errorf("%s answered %d", name, r.status)
			}
		case "s3event":
			if len(r.results) == 0 {
				t.Errorf("%s wrote no result", name)
			}
			for url, body := range r.results {
				var doc struct {
					Solution struct{ Objects []int }
					Source   struct{ Bucket, Key string }
				}
				if err := json.Unmarshal(body, &doc); err != nil || doc.Source.Key == "" || doc.Solution.Objects == nil {
					t.Errorf("%s: %s holds %s", name, url, body)
				}
			}
		}
	}
	out, log := stdout.String(), stderr.String()
	// Known answers: the emulator finds the cars sample's three red tiles, and the buses
	// screenshot's two, wherever they come from.
	for _, want := range []string{
		`\"objects\":[0,4,8]`, // api-binary, api-json, ...
		`\"objects\":[1,6]`,   // api-data-url, api-multipart
		"s3://example-uploads-bucket/results/cars/challenge.jpg.json:",
		"s3://example-uploads-bucket/results/traffic lights/日本 shot 1.png.json:",
		"s3://example-uploads-bucket/results/buses/three.jpg.json:",
		"s3://example-images-bucket/stored/example-request-id.json:\n{\"solution\"", // api-s3-reference's store
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s", want)
		}
	}
	for _, want := range []string{
		"using the built-in upstream EMULATOR",
		"AWS_REGION and AWS_DEFAULT_REGION are unset: using us-east-1",
		"put s3://example-images-bucket/references/challenge.jpg (../../events/images/cars-3x3.jpg",
		"put s3://example-uploads-bucket/incoming/buses/three.jpg (../../events/images/buses-screenshot.jpg",
		"AUTH_MODE=off: callers are NOT authenticated",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	// The metrics line is each invocation's last: one per API request, one per S3 record.
	if n, want := strings.Count(log, `"Function":"api","Latency"`), 6; n != want {
		t.Errorf("%d API metrics lines printed, want %d", n, want)
	}
	if n, want := strings.Count(log, `"Function":"s3event","Latency"`), 5; n != want {
		t.Errorf("%d S3 metrics lines printed, want %d", n, want)
	}
	m := regexp.MustCompile(`started moto_server at http://(\S+) `).FindStringSubmatch(log)
	if m == nil || strings.Count(log, "started moto_server") != 1 {
		t.Fatalf("moto_server started %d times:\n%s", strings.Count(log, "started moto_server"), log)
	}
	if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
		c.Close()
		t.Errorf("moto_server still listens on %s after the run", m[1])
	}
}

// A run says when a fixture does not succeed: an answer other than 200, an error result, or a
// shell variable that wins over env.json.
func TestFailuresReported(t *testing.T) {
	localShell(t)
	dir := t.TempDir()
	api, err := os.ReadFile("../../events/api-json.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	json.Unmarshal(api, &ev)
	ev["body"] = `{"question":"cars"}`
	badAPI := write(t, dir, "api-no-image.json", ev)
	s3, err := os.ReadFile("../../events/s3-put.json")
	if err != nil {
		t.Fatal(err)
	}
	unknown := strings.Replace(string(s3), "incoming/cars/challenge.jpg", "incoming/zebras/challenge.jpg", 1)
	badS3 := filepath.Join(dir, "s3-zebras.json")
	os.WriteFile(badS3, []byte(unknown), 0o644)

	var stdout, stderr bytes.Buffer
	reports, err := run(context.Background(), repoConfig(badAPI, badS3), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[0]; r.status != 400 || !strings.Contains(r.problem, "answered 400 invalid_request") {
		t.Errorf("no image: %d %q", r.status, r.problem)
	}
	if r := reports[1]; !strings.Contains(r.problem, "error result at s3://example-uploads-bucket/results/zebras/challenge.jpg.json: unsupported_question") {
		t.Errorf("unknown question: %q", r.problem)
	}

	// AUTH_MODE=keys from the shell wins over env.json's off: the run's moto holds the fixtures'
	// key, and another key is refused.
	t.Setenv("AUTH_MODE", "keys")
	ev["body"] = string(mustJSON(t, map[string]string{"question": "cars", "s3": "s3://example-images-bucket/references/x.jpg"}))
	ev["headers"] = map[string]string{"authorization": "Bearer another-key-0123456789", "content-type": "application/json"}
	wrongKey := write(t, dir, "api-wrong-key.json", ev)
	stderr.Reset()
	reports, err = run(context.Background(), repoConfig("../../events/api-json.json", wrongKey), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	log := stderr.String()
	if r := reports[0]; r.status != 200 || r.problem != "" || strings.Contains(log, "AUTH_MODE=off") || !strings.Contains(log, "AUTH_MODE=keys: created secret local-client-keys") {
		t.Errorf("AUTH_MODE=keys, the fixture's key: %d %q\n%s", r.status, r.problem, log)
	}
	if r := reports[1]; r.status != 401 || !strings.Contains(r.problem, "answered 401 invalid_token") {
		t.Errorf("AUTH_MODE=keys, another key: %d %q", r.status, r.problem)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInvokeNeedsAnEvent(t *testing.T) {
	if _, err := run(context.Background(), config{}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("no event accepted")
	}
	if _, err := run(context.Background(), config{events: []string{"no-such-file.json"}}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("missing file accepted")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"not-json.json": "{", "neither.json": `{"hello": 1}`} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := run(context.Background(), config{events: []string{p}}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// env.json is read as sam local invoke reads it: Parameters for every function, the function's
// own entry over it; the shell's non-empty values win; Lambda's own variables never pass.
func TestEnvironment(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env.json")
	os.WriteFile(p, []byte(`{"Parameters": {"A": "global", "B": "global", "N": 3},
		"ApiFunction": {"B": "api", "C": "api", "D": "api"}, "S3EventFunction": {"B": "s3"}}`), 0o644)
	file, err := envFile(p, "api")
	if err != nil {
		t.Fatal(err)
	}
	e := merge(file, []string{"C=shell", "D=", "E=shell", "F=", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:1"})
	want := env{"A": "global", "B": "api", "C": "shell", "D": "api", "E": "shell", "F": "", "N": "3"}
	if strings.Join(e.list(), " ") != strings.Join(want.list(), " ") {
		t.Errorf("got %v, want %v", e.list(), want.list())
	}
	if file, _ := envFile(p, "s3event"); file["B"] != "s3" || file["C"] != "" {
		t.Errorf("s3event: %v", file)
	}
	if _, err := envFile(p, "nope"); err == nil {
		t.Error("unknown function accepted")
	}
	os.WriteFile(p, []byte(`{"ApiFunction": "x"}`), 0o644)
	if _, err := envFile(p, "api"); err == nil {
		t.Error("malformed env.json accepted")
	}
}

// events/env.json sets only what template.yaml declares for each function (sam local invoke
// would ignore anything else), and every variable the configuration reads.
func TestEnvFileMatchesTemplate(t *testing.T) {
	for function, id := range logicalIDs {
		declared, err := declaredVariables("../../template.yaml", id)
		if err != nil {
			t.Fatal(err)
		}
		if declared["GOMEMLIMIT"] != "80MiB" || declared["RECOGNITION_TOKEN"] != "" || declared["INPUT_PREFIX"] != "!Ref InputPrefix" {
			t.Errorf("%s: template read as %v", id, declared)
		}
		file, err := envFile("../../events/env.json", function)
		if err != nil {
			t.Fatal(err)
		}
		for k := range file {
			if _, ok := declared[k]; !ok {
				t.Errorf("env.json sets %s for %s, which template.yaml does not declare", k, id)
			}
		}
		for k := range declared {
			if _, ok := file[k]; !ok && k != "GOMEMLIMIT" {
				t.Errorf("env.json does not set %s for %s", k, id)
			}
		}
	}
}

func TestReference(t *testing.T) {
	for _, tc := range []struct {
		body   string
		base64 bool
		want   object
		ok     bool
	}{
		{`{"s3":"s3://b/k/x.jpg","question":"cars"}`, false, object{"b", "k/x.jpg", "cars"}, true},
		{`{"s3":{"bucket":"b","key":"k"},"question":"buses"}`, false, object{"b", "k", "buses"}, true},
		{"eyJzMyI6InMzOi8vYi9rIn0=", true, object{"b", "k", ""}, true}, // {"s3":"s3://b/k"}
		{`{"s3":"https://b/k"}`, false, object{}, false},
		{`{"image":"..."}`, false, object{}, false},
		{`not json`, false, object{}, false},
	} {
		got, ok := reference(eventWithBody(tc.body, tc.base64))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
	if got := sampleFor("../../events/images", "Buses"); filepath.Base(got) != "buses-screenshot.jpg" {
		t.Errorf("buses: %s", got)
	}
	if got := sampleFor("../../events/images", "fire hydrants"); filepath.Base(got) != "cars-3x3.jpg" {
		t.Errorf("fire hydrants: %s", got)
	}
}

func eventWithBody(body string, base64 bool) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{Body: body, IsBase64Encoded: base64}
}

// With AWS_ENDPOINT_URL set, the run uses that endpoint as it is: it starts no moto_server and
// uploads nothing, and reads the result from there.
func TestOwnEndpoint(t *testing.T) {
	localShell(t)
	m, err := testenv.StartMoto()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": m.URL, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"} {
		t.Setenv(k, v)
	}
	c := s3At(env{"AWS_ENDPOINT_URL": m.URL, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
	if err := createBucket(context.Background(), c, "example-uploads-bucket"); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	reports, err := run(context.Background(), repoConfig("../../events/s3-put.json"), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing was uploaded there: the object is missing, a permanent failure written as such.
	if r := reports[0]; !strings.Contains(r.problem, "error result at s3://example-uploads-bucket/results/cars/challenge.jpg.json") {
		t.Errorf("without the upload: %q", r.problem)
	}
	if log := stderr.String(); strings.Contains(log, "started moto_server") || strings.Contains(log, "put s3://") ||
		!strings.Contains(log, "AWS endpoint set ("+m.URL+"): using it as it is; what this event names must be there already: s3://example-uploads-bucket/incoming/cars/challenge.jpg") {
		t.Errorf("stderr:\n%s", log)
	}

	if _, err := putFile(context.Background(), c, "example-uploads-bucket", "incoming/cars/challenge.jpg", "../../events/images/cars-3x3.jpg"); err != nil {
		t.Fatal(err)
	}
	reports, err = run(context.Background(), repoConfig("../../events/s3-put.json"), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[0]; r.problem != "" || len(r.results) != 1 {
		t.Errorf("with the upload: %q %d results", r.problem, len(r.results))
	}
}

// The deadline each function sees by default is its timeout in template.yaml: the Globals' for
// the API, its own for the S3 function.
func TestTimeoutsMatchTemplate(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	global := regexp.MustCompile(`(?m)^Globals:\n  Function:\n(?:    .*\n)*?    Timeout: (\d+)`).FindSubmatch(raw)
	s3 := regexp.MustCompile(`(?m)^  S3EventFunction:\n(?:    .*\n|      .*\n)*?      Timeout: (\d+)`).FindSubmatch(raw)
	api := regexp.MustCompile(`(?m)^  ApiFunction:\n(?:    .*\n|      .*\n)*?      Timeout: (\d+)`).FindSubmatch(raw)
	if global == nil || s3 == nil || api != nil {
		t.Fatalf("template timeouts not where expected: globals %q, S3EventFunction %q, ApiFunction %q", global, s3, api)
	}
	if got := templateTimeouts["api"].String(); got != string(global[1])+"s" {
		t.Errorf("api: %s, template %ss", got, global[1])
	}
	if got := templateTimeouts["s3event"].String(); got != "1m0s" || string(s3[1]) != "60" {
		t.Errorf("s3event: %s, template %ss", got, s3[1])
	}
}
