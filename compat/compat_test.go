//go:build e2e

package compat

// Published client libraries, installed from package-lock.json by npm ci and not modified, are
// pointed by the override each offers at two servers: `make run`'s real binary, and the API
// function's real bootstrap behind a stand-in for API Gateway's HTTP API. Both use the upstream
// emulator and client keys in moto's Secrets Manager. Each library must hand back the tiles the
// emulator finds in the pictures of events/images, and each error the way its users' code reads
// it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/samtemplate"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

const (
	clientKey  = "compat-client-key-0123456789abcdef"
	wrongKey   = "compat-wrong-key-0123456789abcdef"
	keysSecret = "compat-client-keys"
	// installedStamp, inside node_modules, holds the SHA-256 of the package-lock.json it was
	// installed from (the Makefile's compat-deps writes it too).
	installedStamp = "node_modules/.lockfile-sha256"
)

// The base URLs a user would give each library: the local server, and the function behind the
// gateway.
var localURL, lambdaURL string

// The fixtures: the tiles (row-major, 0-based) the emulator finds, and the picture.
var (
	carsTiles  = []int{0, 4, 8}
	busesTiles = []int{1, 6}
)

func TestMain(m *testing.M) {
	code, err := setUp(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		code = 1
	}
	os.Exit(code)
}

func setUp(m *testing.M) (int, error) {
	if err := installClients(); err != nil {
		return 1, err
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "compat")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	bin, err := testenv.BuildLocal(ctx, dir)
	if err != nil {
		return 1, err
	}
	moto, err := testenv.StartMoto()
	if err != nil {
		return 1, fmt.Errorf("the client compatibility tests need moto_server for the client keys: %w", err)
	}
	defer moto.Close()
	keys, _ := json.Marshal(map[string]string{"compat": clientKey})
	if _, err := secretsmanager.NewFromConfig(testenv.AWSConfig(moto.URL)).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(keysSecret), SecretString: aws.String(string(keys))}); err != nil {
		return 1, err
	}
	keyed := append(testenv.AWSEnv(moto.URL), "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID="+keysSecret)
	local, err := testenv.StartLocal(bin, keyed...)
	if err != nil {
		return 1, err
	}
	defer local.Close()
	localURL = local.URL

	bootstrap, err := testenv.Build(ctx, "github.com/recaptcha-recognizer/recognizer/functions/api", dir)
	if err != nil {
		return 1, err
	}
	const token = "compat-upstream-token"
	emu, err := emulator.New(token).Start("127.0.0.1:0")
	if err != nil {
		return 1, err
	}
	defer emu.Close()
	rt, err := runtimeapi.Start()
	if err != nil {
		return 1, err
	}
	defer rt.Close()
	// The function forwards reports, the local server does not: the clients' report calls are
	// held to the same answers either way.
	proc, err := rt.StartProcess(bootstrap, append(keyed, "RECOGNITION_TOKEN="+token, "RECOGNITION_API_URL="+emu.URL, "FORWARD_REPORTS=on"))
	if err != nil {
		return 1, err
	}
	defer proc.Kill()
	routes, err := templateRoutes("../template.yaml")
	if err != nil {
		return 1, err
	}
	gw := httptest.NewServer(gateway{rt, routes})
	defer gw.Close()
	lambdaURL = gw.URL
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "the function's output:\n%s\n", proc.Output())
	}
	return code, nil
}

// gateway stands in for API Gateway's HTTP API on its $default stage: a request that no route of
// template.yaml takes gets API Gateway's 404; any other becomes a payload 2.0 event for the
// function (headers lower-cased, repeated values joined by commas, a body that is not text
// base64-encoded), and the function's answer becomes the response. A function that fails
// instead of answering gets API Gateway's 500.
type gateway struct {
	rt     *runtimeapi.Server
	routes map[string]bool // route keys: "POST /createTask", or "$default" for every request
}

func (g gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.routes["$default"] && !g.routes[r.Method+" "+r.URL.Path] {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{}, QueryStringParameters: map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default", RequestID: fmt.Sprintf("compat-%d", time.Now().UnixNano()),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: "127.0.0.1", UserAgent: r.UserAgent()},
		},
	}
	for k, v := range r.Header {
		ev.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	for k, v := range r.URL.Query() {
		ev.QueryStringParameters[k] = strings.Join(v, ",")
	}
	if textual(r.Header.Get("Content-Type")) {
		ev.Body = string(body)
	} else if len(body) > 0 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	payload, _ := json.Marshal(ev)
	res, err := g.rt.Invoke(r.Context(), payload, 30*time.Second)
	var resp events.APIGatewayV2HTTPResponse
	if err != nil || res.Error != nil || json.Unmarshal(res.Payload, &resp) != nil {
		http.Error(w, `{"message":"Internal Server Error"}`, http.StatusInternalServerError)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		out, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// templateRoutes are the route keys of template.yaml in keys mode, the mode these tests run in:
// every route that always exists, and those under its UseKeys condition.
func templateRoutes(path string) (map[string]bool, error) {
	t, err := samtemplate.Open(path)
	if err != nil {
		return nil, err
	}
	routes := map[string]bool{}
	for _, r := range t.Routes() {
		switch r.Condition {
		case "", "UseKeys":
			routes[r.Key] = true
		}
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("%s declares no route", path)
	}
	return routes, nil
}

// textual: the media types API Gateway hands to a function as text, not base64.
func textual(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/x-www-form-urlencoded" ||
		mt == "application/xml" || strings.HasSuffix(mt, "+json")
}

// installClients runs npm ci unless node_modules was installed from this very lockfile. Node and
// npm are required: without them the proof that real clients work would silently be missing.
func installClients() error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not on PATH: these tests run published npm client libraries (install Node.js 20 or later with npm; .ci/run checks for it)", tool)
		}
	}
	lock, err := os.ReadFile("package-lock.json")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	if got, err := os.ReadFile(installedStamp); err == nil && strings.TrimSpace(string(got)) == want {
		return nil
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in compat/: %v\n%s", err, out)
	}
	return os.WriteFile(installedStamp, []byte(want+"\n"), 0o644)
}

// report is what a compat script prints: per case, what the library returned or threw.
type report struct {
	Library string
	Version string
	Cases   map[string]outcome
}

type outcome struct {
	Result json.RawMessage
	Error  *struct{ Code, Message string }
	MS     int
}

// runClient runs one script against base and checks that it reports the pinned version.
func runClient(t *testing.T, base, key, script string) report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, "--base", base, "--key", key, "--bad-key", wrongKey)
	// A proxy set in the developer's shell must not stand between a library and the loopback.
	cmd.Env = append(os.Environ(), "NO_PROXY=*", "no_proxy=*")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node %s printed no report: %v\n%s\n%s", script, err, out, stderr.String())
	}
	if want := lockedVersion(t, r.Library); r.Version != want {
		t.Errorf("%s %s is installed, the lockfile pins %s", r.Library, r.Version, want)
	}
	return r
}

func lockedVersion(t *testing.T, pkg string) string {
	t.Helper()
	var lock struct {
		Packages map[string]struct{ Version string }
	}
	b, err := os.ReadFile("package-lock.json")
	if err == nil {
		err = json.Unmarshal(b, &lock)
	}
	if err != nil {
		t.Fatal(err)
	}
	return lock.Packages[filepath.ToSlash(filepath.Join("node_modules", pkg))].Version
}

// againstBoth runs script against the local server and the function, and holds each report to
// want. With COMPAT_SAM_URL set (make sam-compat), also against the function behind the SAM
// CLI's own local API Gateway (sam local start-api), whose client keys hold COMPAT_SAM_KEY.
func againstBoth(t *testing.T, script string, want map[string]expect) {
	targets := []struct{ name, url, key string }{{"make run", localURL, clientKey}, {"lambda", lambdaURL, clientKey}}
	if url := os.Getenv("COMPAT_SAM_URL"); url != "" {
		targets = append(targets, struct{ name, url, key string }{"sam local start-api", url, os.Getenv("COMPAT_SAM_KEY")})
	}
	for _, target := range targets {
		t.Run(target.name, func(t *testing.T) { check(t, runClient(t, target.url, target.key, script), want) })
	}
}

// expect is what one case must report.
type expect func(t *testing.T, o outcome)

// check holds every case of r to its expectation, and fails on a case without one.
func check(t *testing.T, r report, want map[string]expect) {
	t.Helper()
	for name := range r.Cases {
		if want[name] == nil {
			t.Errorf("%s: case %q has no expectation here", r.Library, name)
		}
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			o, ok := r.Cases[name]
			if !ok {
				t.Fatalf("%s did not report case %q", r.Library, name)
			}
			t.Logf("%s %s: %d ms", r.Library, name, o.MS)
			if o.Error != nil && o.Error.Code == "HANG" {
				t.Fatalf("%s: %s", name, o.Error.Message)
			}
			w(t, o)
		})
	}
}

// field decodes the JSON at a dotted path of the result ("" is the result itself) into v.
func field(t *testing.T, o outcome, path string, v any) {
	t.Helper()
	if o.Error != nil {
		t.Fatalf("the library failed: %s: %s", o.Error.Code, o.Error.Message)
	}
	raw := o.Result
	for _, k := range strings.FieldsFunc(path, func(r rune) bool { return r == '.' }) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m[k] == nil {
			t.Fatalf("no %q in the result %s", path, o.Result)
		}
		raw = m[k]
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s of %s: %v", path, o.Result, err)
	}
}

// tiles: the result's "tiles" (indices the script read from the library's own answer); none is
// an empty list, never a missing answer.
func tiles(want []int) expect {
	return func(t *testing.T, o outcome) {
		var got []int
		field(t, o, "tiles", &got)
		if got == nil || !slices.Equal(got, want) {
			t.Fatalf("tiles %v, want %v (result %s)", got, want, o.Result)
		}
	}
}

// equals: the result is this JSON value.
func equals(want string) expect {
	return func(t *testing.T, o outcome) {
		var got, w any
		field(t, o, "", &got)
		json.Unmarshal([]byte(want), &w)
		g, _ := json.Marshal(got)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(g, wb) {
			t.Fatalf("result %s, want %s", g, wb)
		}
	}
}

func number(t *testing.T, o outcome) {
	var f float64
	field(t, o, "", &f)
}

// thrown: the library threw (or rejected with) exactly this code.
func thrown(code string) expect {
	return func(t *testing.T, o outcome) {
		if o.Error == nil || o.Error.Code != code {
			t.Fatalf("want the library to throw %s; it returned %s, error %+v", code, o.Result, o.Error)
		}
	}
}

// thrownContaining: the library threw, and the code it exposes contains code (some wrap the
// service's whole reply in their error).
func thrownContaining(code string) expect {
	return func(t *testing.T, o outcome) {
		if o.Error == nil || !strings.Contains(o.Error.Code, code) {
			t.Fatalf("want the library to throw %s; it returned %s, error %+v", code, o.Result, o.Error)
		}
	}
}

// resultError: CapMonster's client returns errors in its result ({error: "KEY_DOES_NOT_EXIST"},
// the code without its ERROR_ prefix) instead of throwing; codes missing from its list become
// "Unknown".
func resultError(code string) expect {
	return func(t *testing.T, o outcome) {
		var got string
		field(t, o, "error", &got)
		if got != code {
			t.Fatalf("result error %q, want %q (result %s)", got, code, o.Result)
		}
	}
}

// empty: the list at path is there and empty (no tile matches).
func empty(path string) expect {
	return func(t *testing.T, o outcome) {
		var got []any
		field(t, o, path, &got)
		if got == nil || len(got) != 0 {
			t.Fatalf("%s is %v, want an empty list (result %s)", path, got, o.Result)
		}
	}
}

// coordinates: the centres of the matching tiles in the picture's pixels, as the native API
// gives them for the same picture and question (its clicks).
func coordinates(path, picture, question string) expect {
	return func(t *testing.T, o outcome) {
		var got [][2]int
		field(t, o, path, &got)
		if want := nativeClicks(t, picture, question); !slices.Equal(got, want) {
			t.Fatalf("coordinates %v, want %v (the native API's clicks)", got, want)
		}
	}
}

func nativeClicks(t *testing.T, picture, question string) [][2]int {
	t.Helper()
	img, err := os.ReadFile(filepath.Join("..", "events", "images", picture))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, localURL+"/recognize?question="+question, bytes.NewReader(img))
	req.Header.Set("Content-Type", "image/jpeg")
	req.Header.Set("Authorization", "Bearer "+clientKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Solution struct{ Clicks []struct{ X, Y int } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK || len(a.Solution.Clicks) == 0 {
		t.Fatalf("POST /recognize %s: %d %v, clicks %v", picture, resp.StatusCode, err, a.Solution.Clicks)
	}
	var clicks [][2]int
	for _, c := range a.Solution.Clicks {
		clicks = append(clicks, [2]int{c.X, c.Y})
	}
	return clicks
}

func TestCapMonsterCloudOfficial(t *testing.T) {
	t.Parallel()
	againstBoth(t, "capmonstercloud.mjs", map[string]expect{
		"cars_task_text":        tiles(carsTiles),
		"buses_task_definition": tiles(busesTiles),
		"cars_widget_sentence":  tiles(carsTiles),
		"path_prefix_dropped":   tiles(carsTiles),
		"balance":               number,
		"bad_key_solve":         resultError("KEY_DOES_NOT_EXIST"),
		"bad_key_balance":       thrown("KEY_DOES_NOT_EXIST"),
		"unknown_task_id":       equals(`{"type": "Failed", "error": "NO_SUCH_CAPCHA_ID"}`),
		"no_matching_tiles":     tiles([]int{}),
		"unknown_question":      resultError("Unknown"),
		"unknown_question_code": equals(`{"errorId": 1, "errorCode": "ERROR_INVALID_TASK_DATA"}`),
		"not_a_picture":         resultError("Unknown"),
		"not_a_picture_code":    equals(`{"errorId": 1, "errorCode": "ERROR_IMAGE_TYPE_NOT_SUPPORTED"}`),
	})
}

func TestNodeCapMonster(t *testing.T) {
	t.Parallel()
	againstBoth(t, "node-capmonster.mjs", map[string]expect{
		"cars_task_text":        tiles(carsTiles),
		"buses_task_definition": tiles(busesTiles),
		"balance":               number,
		"bad_key_solve":         thrown("ERROR_KEY_DOES_NOT_EXIST"),
		"unknown_task_id":       thrown("ERROR_NO_SUCH_CAPCHA_ID"),
	})
}

func TestAntiCaptchaGeneric(t *testing.T) {
	t.Parallel()
	againstBoth(t, "anticaptcha.mjs", map[string]expect{
		"coordinates_cars":          coordinates("solution.coordinates", "cars-3x3.jpg", "cars"),
		"coordinates_buses":         coordinates("solution.coordinates", "buses-screenshot.jpg", "buses"),
		"classification_cars":       tiles(carsTiles),
		"classification_buses_text": tiles(busesTiles),
		"classification_no_match":   tiles([]int{}),
		"coordinates_no_match":      empty("solution.coordinates"),
		"grid_cars": func(t *testing.T, o outcome) {
			var click []int
			field(t, o, "solution.click", &click)
			if want := []int{1, 5, 9}; !slices.Equal(click, want) {
				t.Fatalf("GridTask click %v, want %v (1-based, as in.php's click:)", click, want)
			}
		},
		"complex_image_cars":    tiles(carsTiles),
		"balance":               number,
		"bad_key_create":        thrown("ERROR_KEY_DOES_NOT_EXIST"),
		"bad_key_balance":       thrown("ERROR_KEY_DOES_NOT_EXIST"),
		"unknown_task_id":       thrown("ERROR_NO_SUCH_CAPCHA_ID"),
		"image_url_refused":     thrown("ERROR_IMAGE_URL_NOT_ALLOWED"),
		"unsupported_task_type": thrown("ERROR_TASK_NOT_SUPPORTED"),
	})
}

func TestAntiCaptchaOfficial(t *testing.T) {
	t.Parallel()
	againstBoth(t, "anticaptchaofficial.mjs", map[string]expect{
		"coordinates_cars":           coordinates("coordinates", "cars-3x3.jpg", "cars"),
		"coordinates_buses":          coordinates("coordinates", "buses-screenshot.jpg", "buses"),
		"coordinates_no_match":       empty("coordinates"),
		"report_incorrect_image":     equals(`true`),
		"report_incorrect_recaptcha": equals(`true`),
		"report_correct_recaptcha":   equals(`true`),
		"balance":                    number,
		"bad_key_solve":              thrown("ERROR_KEY_DOES_NOT_EXIST"),
		"bad_key_balance":            thrown("ERROR_KEY_DOES_NOT_EXIST"),
		"no_question":                thrown("ERROR_INVALID_TASK_DATA"),
	})
}

func TestTwoCaptchaOfficial(t *testing.T) {
	t.Parallel()
	againstBoth(t, "2captcha-solver.mjs", map[string]expect{
		"grid_cars":            tiles(carsTiles),
		"grid_buses":           tiles(busesTiles),
		"grid_widget_sentence": tiles(carsTiles),
		"grid_no_match":        tiles([]int{}),
		"report_bad":           equals(`"OK_REPORT_RECORDED"`),
		"report_good":          equals(`"OK_REPORT_RECORDED"`),
		"balance":              number,
		"bad_key_grid":         thrown("ERROR_KEY_DOES_NOT_EXIST"),
		// balance() throws the whole reply when the service refuses (the library's own catch).
		"bad_key_balance":         thrownContaining("ERROR_KEY_DOES_NOT_EXIST"),
		"image_instructions_only": thrown("ERROR_IMGINSTRUCTIONS_NOT_SUPPORTED"),
		"unknown_question":        thrown("ERROR_BAD_PARAMETERS"),
	})
}

func TestTwoCaptchaPackage(t *testing.T) {
	t.Parallel()
	againstBoth(t, "2captcha.mjs", map[string]expect{
		"grid_cars":       tiles(carsTiles),
		"grid_buses":      tiles(busesTiles),
		"grid_label_id":   tiles(carsTiles),
		"grid_no_match":   tiles([]int{}),
		"report_bad":      equals(`null`),
		"report_good":     equals(`null`),
		"balance":         number,
		"bad_key_grid":    thrown("ERROR_KEY_DOES_NOT_EXIST"),
		"bad_key_balance": thrownContaining("ERROR_KEY_DOES_NOT_EXIST"),
		"no_instructions": thrown("ERROR_BAD_PARAMETERS"),
	})
}

func TestNodeTwoCaptchaPlainText(t *testing.T) {
	t.Parallel()
	againstBoth(t, "node_two_captcha.mjs", map[string]expect{
		"grid_cars":            tiles(carsTiles),
		"grid_buses":           tiles(busesTiles),
		"grid_widget_sentence": tiles(carsTiles),
		"grid_no_match":        tiles([]int{}),
		"report_bad":           equals(`true`),
		"report_good":          equals(`true`),
		// A plain-text number, which axios parses as JSON.
		"balance":          number,
		"bad_key_grid":     thrown("ERROR_KEY_DOES_NOT_EXIST"),
		"unknown_question": thrown("ERROR_BAD_PARAMETERS"),
	})
}
