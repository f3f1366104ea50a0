package pipeline_test

// Every front goes through the one pipeline: these tests send one request to each protocol's
// routes and hold every one of them to each cross-cutting concern. A new concern (a log field,
// a per-caller limit) adds its check here, and every front is held to it at once.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/idempotency"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/protocols"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

const margin = 300 * time.Millisecond

// watchingAuth takes "Bearer <name>-key" as caller name and notes the deadline each check ran to.
type watchingAuth struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (a *watchingAuth) Authenticate(ctx context.Context, authorization, _ string) (string, error) {
	d, _ := ctx.Deadline()
	a.mu.Lock()
	a.deadlines = append(a.deadlines, d)
	a.mu.Unlock()
	name, ok := strings.CutSuffix(strings.TrimPrefix(authorization, "Bearer "), "-key")
	if !ok {
		return "", apierr.New(apierr.CodeInvalidToken, "invalid authorization key")
	}
	return name, nil
}

type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

// requests reads the "request" log lines.
func (l *lines) requests(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func newServer(auth wire.Authenticator, log *lines) *pipeline.Server {
	service := &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: testenv.FakeUpstream{}}
	solver := &protocols.Solver{Service: service}
	return &pipeline.Server{
		Routes: solver.Routes(), Default: &httpapi.API{Service: service, Store: &testenv.MemStore{}},
		Auth:    auth,
		Config:  wire.Config{MaxBodyBytes: 1 << 20, ResponseMargin: margin, DefaultTimeout: 29 * time.Second},
		Observe: &observe.Observer{Log: slog.New(slog.NewJSONHandler(log, nil))},
	}
}

var picture = base64.StdEncoding.EncodeToString(testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4}, Seed: 3}.PNG())

// front is one request of each wire, and how to read success from its answer.
type front struct {
	protocol string
	req      wire.Request
	ok       func(wire.Response) bool
	logs     []any // a field its call adds to the log line, and its value
}

func fronts() []front {
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }
	jsonHeader := func(auth string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		return h
	}
	return []front{
		{"api", wire.Request{Method: "POST", Path: api.RecognizePath, Header: jsonHeader("Bearer alice-key"),
			Body: js(map[string]any{"image": picture, "question": "cars"})},
			func(r wire.Response) bool { return r.Status == 200 && strings.Contains(string(r.Body), `"solution"`) }, []any{"form", "json"}},
		{"task", wire.Request{Method: "POST", Path: protocols.CreateTaskPath, Header: jsonHeader(""),
			Body: js(map[string]any{"clientKey": "alice-key", "task": map[string]any{"type": "GridTask", "body": picture, "comment": "cars"}})},
			func(r wire.Response) bool { return strings.Contains(string(r.Body), `"errorId":0`) }, []any{"action", "createTask"}},
		{"2captcha", wire.Request{Method: "POST", Path: protocols.InPath, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body: []byte(url.Values{"key": {"alice-key"}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"cars"}, "body": {picture}}.Encode())},
			func(r wire.Response) bool { return strings.HasPrefix(string(r.Body), "OK|") }, []any{"action", "in"}},
	}
}

// Every front's request is logged once, with the pipeline's fields, and its checks (the key, the
// secret behind it) run inside the response margin.
func TestEveryFrontLogsAndKeepsTheMargin(t *testing.T) {
	for _, f := range fronts() {
		t.Run(f.protocol, func(t *testing.T) {
			auth, log := &watchingAuth{}, &lines{}
			s := newServer(auth, log)
			deadline := time.Now().Add(10 * time.Second)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			f.req.RequestID = "trace-" + f.protocol
			if resp := s.Serve(ctx, f.req); !f.ok(resp) {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
			if len(auth.deadlines) != 1 || !auth.deadlines[0].Equal(deadline.Add(-margin)) {
				t.Errorf("authenticated with deadlines %v, want one at %v (the margin kept back)", auth.deadlines, deadline.Add(-margin))
			}
			reqs := log.requests(t)
			if len(reqs) != 1 {
				t.Fatalf("%d request log lines, want 1", len(reqs))
			}
			line := reqs[0]
			for k, want := range map[string]any{"protocol": f.protocol, "caller": "alice", "trace_id": f.req.RequestID,
				"method": "POST", "path": f.req.Path, "label": "/m/0k4j", "grid": "3x3", f.logs[0].(string): f.logs[1]} {
				if line[k] != want {
					t.Errorf("log %s = %v, want %v (line %v)", k, line[k], want, line)
				}
			}
		})
	}
}

// shapes tell each wire's error answer.
var shapes = map[string]func(wire.Response) bool{
	"api":      func(r wire.Response) bool { return r.Status >= 400 && strings.Contains(string(r.Body), `"trace_id"`) },
	"task":     func(r wire.Response) bool { return r.Status == 200 && strings.Contains(string(r.Body), `"errorId":1`) },
	"2captcha": func(r wire.Response) bool { return r.Status == 200 && strings.HasPrefix(string(r.Body), "ERROR_") },
}

// The body limit, a refused key and a refused question are each front's own error, in its own
// shape, and logged under the service's code.
func TestEveryFrontRefusesInItsShape(t *testing.T) {
	for _, f := range fronts() {
		t.Run(f.protocol, func(t *testing.T) {
			log := &lines{}
			s := newServer(&watchingAuth{}, log)
			big := f.req
			big.Body = append([]byte(strings.Repeat(" ", 1<<20)), f.req.Body...)
			resp := s.Serve(context.Background(), big)
			if !shapes[f.protocol](resp) || (f.protocol == "api" && resp.Status != 413) {
				t.Errorf("over the body limit: %d %s", resp.Status, resp.Body)
			}
			// Only the native API's callers can send a picture by S3 reference.
			if hinted := strings.Contains(string(resp.Body), "S3 reference"); hinted != (f.protocol == "api") {
				t.Errorf("over the body limit, the S3 hint given: %v: %s", hinted, resp.Body)
			}
			unknown := f.req
			unknown.Header = f.req.Header.Clone()
			unknown.Header.Set("Authorization", "Bearer nobody")
			unknown.Body = []byte(strings.ReplaceAll(string(f.req.Body), "alice-key", "nobody"))
			if resp := s.Serve(context.Background(), unknown); !shapes[f.protocol](resp) || (f.protocol == "api" && resp.Status != 401) {
				t.Errorf("unknown key: %d %s", resp.Status, resp.Body)
			}
			unsupported := f.req
			unsupported.Body = []byte(strings.ReplaceAll(string(f.req.Body), "cars", "unicorns"))
			if resp := s.Serve(context.Background(), unsupported); !shapes[f.protocol](resp) || (f.protocol == "api" && resp.Status != 400) {
				t.Errorf("unsupported question: %d %s", resp.Status, resp.Body)
			}
			for i, want := range []apierr.Code{apierr.CodeTooLarge, apierr.CodeInvalidToken, apierr.CodeUnsupportedQuestion} {
				if reqs := log.requests(t); len(reqs) != 3 || reqs[i]["code"] != string(want) || reqs[i]["protocol"] != f.protocol {
					t.Fatalf("log lines %v, want %s", reqs, want)
				}
			}
		})
	}
}

// A refused configuration is answered on every route in that route's own shape, without a read.
func TestMisconfiguredAnswersEveryFront(t *testing.T) {
	log := &lines{}
	solver := &protocols.Solver{}
	s := pipeline.Misconfigured(solver.Routes(), &httpapi.API{}, &observe.Observer{Log: slog.New(slog.NewJSONHandler(log, nil))})
	s.Auth = nil // nothing may be read: an authentication would panic
	want := map[string]string{"api": `"configuration_error"`, "task": `"ERROR_SERVICE_UNAVALIABLE"`, "2captcha": "ERROR_NO_SLOT_AVAILABLE"}
	for _, f := range fronts() {
		resp := s.Serve(context.Background(), f.req)
		if !strings.Contains(string(resp.Body), want[f.protocol]) || (f.protocol == "api") != (resp.Status == 500) {
			t.Errorf("%s: %d %s, want %s", f.protocol, resp.Status, resp.Body, want[f.protocol])
		}
	}
	for _, line := range log.requests(t) {
		if line["code"] != string(apierr.CodeConfiguration) || line["level"] != "ERROR" {
			t.Errorf("log %v", line)
		}
	}
}

// A panic in any front's call is its wire's internal error, one log line, and the server lives on.
func TestEveryFrontRecovers(t *testing.T) {
	for _, f := range fronts() {
		log := &lines{}
		s := newServer(&watchingAuth{}, log)
		s.Default.(*httpapi.API).Service.Upstream = panicking{} // the service every front shares
		resp := s.Serve(context.Background(), f.req)
		if !shapes[f.protocol](resp) || strings.Contains(string(resp.Body), "boom") || (f.protocol == "api" && resp.Status != 500) {
			t.Errorf("%s: %d %s", f.protocol, resp.Status, resp.Body)
		}
		if reqs := log.requests(t); len(reqs) != 1 || reqs[0]["code"] != string(apierr.CodeInternal) {
			t.Errorf("%s: log %v", f.protocol, reqs)
		}
	}
}

type failing struct{}

func (failing) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	return nil, apierr.Wrap(errors.New("connection reset"), apierr.CodeUpstreamError, "the provider failed")
}

// A provider fault behind any front's answer is logged as a fault: an error, with its cause.
func TestEveryFrontLogsFaultsAsErrors(t *testing.T) {
	for _, f := range fronts() {
		log := &lines{}
		s := newServer(&watchingAuth{}, log)
		s.Default.(*httpapi.API).Service.Upstream = failing{}
		if resp := s.Serve(context.Background(), f.req); !shapes[f.protocol](resp) {
			t.Errorf("%s: %d %s", f.protocol, resp.Status, resp.Body)
		}
		if reqs := log.requests(t); len(reqs) != 1 || reqs[0]["level"] != "ERROR" || reqs[0]["cause"] == nil {
			t.Errorf("%s: log %v, want an error with its cause", f.protocol, reqs)
		}
	}
}

type panicking struct{}

func (panicking) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	panic("boom")
}

// stallingRecords is an S3 that answers only when the request's context ends.
type stallingRecords struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (s *stallingRecords) stall(ctx context.Context) error {
	d, _ := ctx.Deadline()
	s.mu.Lock()
	s.deadlines = append(s.deadlines, d)
	s.mu.Unlock()
	<-ctx.Done()
	return apierr.Wrap(ctx.Err(), apierr.CodeStorageUnavailable, "S3 did not answer")
}

func (s *stallingRecords) GetWithETag(ctx context.Context, _, _ string, _ int) ([]byte, string, error) {
	return nil, "", s.stall(ctx)
}

func (s *stallingRecords) PutIf(ctx context.Context, _, _ string, _ []byte, _ string) (string, bool, error) {
	return "", false, s.stall(ctx)
}

// The Idempotency-Key's record is read inside the margin: when S3 stalls, the answer is a 504
// with a trace id, and the margin is left to send it (S3 saw the margin-reduced deadline).
func TestIdempotencyInsideTheMargin(t *testing.T) {
	store := &stallingRecords{}
	s := newServer(&watchingAuth{}, &lines{})
	s.Idempotency = &idempotency.Layer{Store: store, Bucket: "b", Prefix: "idempotency/", TTL: time.Hour,
		Routes: []string{api.RecognizePath}, WriteGrace: margin / 2, DefaultTimeout: time.Second, Log: s.Observe.Log}
	req := fronts()[0].req
	req.Header.Set(idempotency.KeyHeader, "k1")
	deadline := time.Now().Add(2 * margin)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	resp := s.Serve(ctx, req)
	var body struct {
		Error   struct{ Code string }
		TraceID string `json:"trace_id"`
	}
	json.Unmarshal(resp.Body, &body)
	if resp.Status != 504 || body.Error.Code != string(apierr.CodeStorageUnavailable) || body.TraceID == "" {
		t.Fatalf("%d %s, want 504 storage_unavailable with a trace id", resp.Status, resp.Body)
	}
	if len(store.deadlines) != 1 || !store.deadlines[0].Equal(deadline.Add(-margin)) {
		t.Fatalf("S3 called with deadlines %v, want one at %v", store.deadlines, deadline.Add(-margin))
	}
}
