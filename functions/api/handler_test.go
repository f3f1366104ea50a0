package main

// The fast tier: the handler in process, the aws-lambda-go way (lambda.NewHandler(h).Invoke),
// over every events/ fixture of this function, with in-memory fakes for the upstream and S3. No
// moto, no process: seconds. The end-to-end tier (e2e_test.go) runs the real bootstrap.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/recaptcha-recognizer/recognizer/internal/app"
	"github.com/recaptcha-recognizer/recognizer/internal/auth"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/protocols"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// fastHandler is the API wired as app wires it, with fakes for the ports that reach AWS and the
// upstream; its log and metrics lines go to out.
func fastHandler(t *testing.T, store *testenv.MemStore, out *strings.Builder) handler {
	t.Helper()
	getenv, err := testenv.FastTierEnv("../../events", "ApiFunction")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := app.APIConfigFromEnv(getenv, "us-east-1")
	if err != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	checker, err := auth.New(auth.ModeOff, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthMode = auth.ModeOff
	service := &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: testenv.FakeUpstream{}}
	server := app.Pipeline(cfg, app.Fronts{
		API:    &httpapi.API{Service: service, Store: store, Config: httpapi.Config{Sources: cfg.Sources, ResultsBucket: cfg.ResultsBucket, StorePrefix: cfg.StorePrefix}},
		Solver: &protocols.Solver{Service: service},
		Auth:   checker,
	}, &observe.Observer{Log: app.NewLogger(out), Metrics: metrics.New(out, "api", nil)})
	return handler{api: server}
}

func TestHandlerOverEveryFixture(t *testing.T) {
	fixtures, _ := filepath.Glob("../../events/api-*.json")
	if len(fixtures) < 5 {
		t.Fatalf("%d API fixtures in events/", len(fixtures))
	}
	image, err := os.ReadFile("../../events/images/cars-3x3.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range fixtures {
		t.Run(filepath.Base(file), func(t *testing.T) {
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			store := &testenv.MemStore{Fallback: image}
			raw, err := lambda.NewHandler(fastHandler(t, store, &out).Handle).Invoke(context.Background(), payload)
			if err != nil {
				t.Fatalf("the handler failed: %v", err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(raw, &resp); err != nil {
				t.Fatal(err)
			}
			var body struct {
				Solution *struct {
					Objects []int
					Clicks  []struct{ Index, X, Y int }
				}
				TraceID string `json:"trace_id"`
				Result  string
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Solution == nil || body.TraceID == "" {
				t.Fatalf("status %d: %s\nlog:\n%s", resp.StatusCode, resp.Body, out.String())
			}
			if len(body.Solution.Clicks) != len(body.Solution.Objects) || resp.Headers["content-type"] != "application/json" {
				t.Fatalf("answer %s, headers %v", resp.Body, resp.Headers)
			}
			if body.Result != "" { // store=true: the answer is where it says
				key := strings.TrimPrefix(body.Result, "s3://")
				if _, ok := store.Objects()[key]; !ok {
					t.Fatalf("the answer says it is stored at %s; the store has %v", body.Result, store.Objects())
				}
			}
			if n := strings.Count(out.String(), `"msg":"request"`); n != 1 {
				t.Fatalf("%d request log lines, want 1:\n%s", n, out.String())
			}
		})
	}
}

// A panic anywhere in the request's work is one 500 internal_error answer and one log line, and
// the function lives on.
func TestHandlerRecoversFromAPanic(t *testing.T) {
	var out strings.Builder
	h := fastHandler(t, &testenv.MemStore{}, &out)
	h.api.(*pipeline.Server).Default.(*httpapi.API).Service.Upstream = panicking{}
	payload, _ := os.ReadFile("../../events/api-json.json")
	raw, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	json.Unmarshal(raw, &resp)
	if resp.StatusCode != 500 || !strings.Contains(resp.Body, `"internal_error"`) || strings.Contains(resp.Body, "boom") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(out.String(), `"msg":"panic"`) || strings.Count(out.String(), `"msg":"request"`) != 1 {
		t.Fatalf("log:\n%s", out.String())
	}
}

type panicking struct{}

func (panicking) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	panic("boom")
}
