package protocols

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/auth"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

const (
	aliceKey = "alice-key-0123456789abcdef"
	bobKey   = "bob-key-0123456789abcdef00"
	cars     = "/m/0k4j"
)

// keyReader is a Secrets Manager holding the client keys secret.
type keyReader struct{}

func (keyReader) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"alice": "` + aliceKey + `", "bob": "` + bobKey + `"}`)}, nil
}

// named is the fake upstream as a named provider.
type named struct{ testenv.FakeUpstream }

func (n named) Recognize(ctx context.Context, data []byte, labelID string, size int) (*recognition.Solution, error) {
	s, err := n.FakeUpstream.Recognize(ctx, data, labelID, size)
	if s != nil {
		s.Provider = "capsolver"
	}
	return s, err
}

type reportLog struct {
	mu   sync.Mutex
	list []string
}

func (r *reportLog) add(provider string, bad bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, map[bool]string{true: "bad:", false: "good:"}[bad]+provider)
}

// fixture is both protocols behind the pipeline, as the function serves them.
type fixture struct {
	h       *pipeline.Server
	solver  *Solver
	log     *strings.Builder
	reports *reportLog
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	checker, err := auth.New(auth.ModeKeys, secrets.NewSecret(keyReader{}, "client-keys", time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{log: &strings.Builder{}, reports: &reportLog{}}
	f.solver = &Solver{
		Service:  &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: named{}},
		Reported: f.reports.add,
		IDSecret: idSecret("deployment one's task-id secret"),
	}
	f.h = &pipeline.Server{
		Routes:  f.solver.Routes(),
		Default: Task{f.solver},
		Auth:    checker,
		Config:  wire.Config{MaxBodyBytes: 6 << 20, ResponseMargin: 300 * time.Millisecond, DefaultTimeout: 29 * time.Second},
		Observe: &observe.Observer{Log: slogTo(f.log), Metrics: metrics.New(f.log, "api", nil)},
	}
	return f
}

// idSecret is a deployment's task-id secret.
type idSecret string

func (s idSecret) Value(context.Context) (string, error) { return string(s), nil }

var (
	// The cars challenge at the engine's size, and a widget screenshot of buses.
	carsPicture = testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{0, 4, 8}, Seed: 3}.PNG()
	busesShot   = testimage.Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 1, Label: "/m/01bjv", Targets: []int{1, 6}, Seed: 4}.PNG()
	tilePicture = testimage.Challenge{Grid: 1, Tile: 100, Label: cars, Targets: []int{0}, Seed: 5}.PNG()
	b64         = base64.StdEncoding.EncodeToString
)

// post sends a createTask-protocol request.
func (f *fixture) post(t testing.TB, path string, doc any) (*wire.Response, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(doc)
	return f.send(t, wire.Request{Method: "POST", Path: path, Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
}

func (f *fixture) send(t testing.TB, req wire.Request) (*wire.Response, map[string]any) {
	t.Helper()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if req.Query == nil {
		req.Query = url.Values{}
	}
	resp := f.h.Serve(context.Background(), req)
	if resp.Status != http.StatusOK {
		t.Fatalf("%s %s answered %d: every answer of the protocols is a 200", req.Method, req.Path, resp.Status)
	}
	legacy := req.Path == InPath || req.Path == ResPath
	if req.Method == "POST" || (legacy && req.Method == "GET") { // the methods the document declares
		checkContract(t, req, resp)
	}
	var doc map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(resp.Body, &doc); err != nil {
			t.Fatalf("%s: %v", resp.Body, err)
		}
	}
	return &resp, doc
}

// legacy sends an in.php/res.php request with its parameters in the query string.
func (f *fixture) legacy(t testing.TB, method, path string, query url.Values, contentType string, body []byte) (*wire.Response, map[string]any) {
	t.Helper()
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return f.send(t, wire.Request{Method: method, Path: path, Query: query, Header: h, Body: body})
}

func multipartBody(fields map[string]string, file []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if file != nil {
		fw, _ := w.CreateFormFile("file", "captcha.png")
		fw.Write(file)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
