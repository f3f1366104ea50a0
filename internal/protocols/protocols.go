// Package protocols serves the solver ecosystem's two protocols at the host root, so code written
// against their client libraries works by changing the base URL and the key:
//
//   - the createTask envelope (CapMonster Cloud, Anti-Captcha, CapSolver, YesCaptcha, 2Captcha's
//     v2 API): POST /createTask, /getTaskResult, /getBalance and the report routes;
//   - 2Captcha's in.php / res.php, grid method.
//
// Both are fronts on the one recognition service: the same question resolution, decode budget,
// providers, logs and metrics as POST /recognize. Every task is solved inside createTask or
// in.php, and its id carries the answer, enciphered (taskid.go), so the first poll on any instance is
// ready. Every error is an HTTP 200 in the protocol's own shape (codes.go), never a 4xx or 5xx:
// several clients lose the error code otherwise. docs/protocols.md is the reference.
package protocols

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// The createTask protocol's routes.
const (
	CreateTaskPath    = "/createTask"
	GetTaskResultPath = "/getTaskResult"
	GetBalancePath    = "/getBalance"
)

// reportPaths are the createTask protocol's report routes, and whether each reports a wrong
// answer (feedbackTask says so in its body).
var reportPaths = map[string]bool{
	"/reportIncorrectImageCaptcha": true,
	"/reportIncorrectRecaptcha":    true,
	"/reportIncorrect":             true,
	"/reportCorrectRecaptcha":      false,
	"/reportCorrect":               false,
	"/feedbackTask":                false,
}

// 2Captcha's routes.
const (
	InPath  = "/in.php"
	ResPath = "/res.php"
)

// Paths lists every route this package serves.
func Paths() []string {
	out := []string{CreateTaskPath, GetTaskResultPath, GetBalancePath}
	for p := range reportPaths {
		out = append(out, p)
	}
	return append(out, InPath, ResPath)
}

// Balance is what getBalance answers: this service keeps no balance, and clients that check for
// a positive one before sending work must go on.
const Balance = 100

// Handler serves both protocols.
type Handler struct {
	Service *recognition.Service
	Auth    httpapi.Authenticator
	Config  httpapi.Config // MaxBodyBytes, ResponseMargin, DefaultTimeout
	Observe *observe.Observer
	// Reported, if set, counts a caller's report of a wrong (bad) or right answer per provider.
	Reported func(provider string, bad bool)
	// IDSecret is the deployment's task-id secret; nil gives the process a random one, so only
	// the process that issued an id reads it (make run, tests).
	IDSecret IDSecret

	once   sync.Once
	recs   *records
	idKeys idKeys
}

var _ httpapi.Server = (*Handler)(nil)

// call is one request in progress: what its log line says.
type call struct {
	h        *Handler
	req      httpapi.Request
	unit     *observe.Unit
	protocol string // task or 2captcha
	caller   string
	ids      sealer
	result   *recognition.Result
	taskType string
	taskID   uint64
	fail     *failure
	reply    string // a legacy answer, before its encoding
	attrs    []any
}

func (c *call) add(attrs ...any) { c.attrs = append(c.attrs, attrs...) }

// Serve answers one request of either protocol. It never panics and always answers 200.
func (h *Handler) Serve(ctx context.Context, req httpapi.Request) (resp httpapi.Response) {
	h.once.Do(func() { h.recs = newRecords() })
	c := &call{h: h, req: req, unit: h.Observe.Start(ctx, "request", req.RequestID), protocol: "task"}
	path := strings.TrimSuffix(req.Path, "/")
	legacy := path == InPath || path == ResPath
	if legacy {
		c.protocol = "2captcha"
	}
	defer func() {
		if p := recover(); p != nil {
			f := fromError(c.unit.Recovered(p))
			c.fail = &f
			if legacy {
				resp = c.legacyFailure(f, wantsJSON(req.Query))
			} else {
				resp = c.taskFailure(f)
			}
		}
		c.finish(resp)
	}()
	ctx, cancel := h.withDeadline(ctx)
	defer cancel()
	if legacy {
		return c.serveLegacy(ctx, path)
	}
	return c.serveTask(ctx, path)
}

func (c *call) finish(resp httpapi.Response) {
	u := c.unit
	u.Add("method", c.req.Method, "path", c.req.Path, "status", resp.Status, "protocol", c.protocol, "caller", c.caller)
	if c.taskType != "" {
		u.Add("task_type", c.taskType)
	}
	if c.taskID != 0 {
		u.Add("task_id", formatID(c.taskID))
	}
	u.Add(c.attrs...)
	if r := c.result; r != nil {
		u.Add("label", r.Label.ID, "grid", r.Grid.String(), "width", r.Image.Width, "height", r.Image.Height,
			"passthrough", r.Image.Passthrough, "objects", len(r.Objects), "provider", r.Provider)
		u.Timings(r.Timings.Normalize, r.Timings.Upstream)
	}
	if c.fail == nil {
		u.Finish(slog.LevelInfo, "ok", nil)
		return
	}
	if c.fail.cause != nil {
		u.Finish(observe.Level(c.fail.cause), c.fail.code, c.fail.cause)
		return
	}
	u.Add("code", c.fail.code)
	u.Finish(slog.LevelInfo, c.fail.code, nil)
}

func (h *Handler) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-h.Config.ResponseMargin))
	}
	return context.WithTimeout(ctx, h.Config.DefaultTimeout)
}

// authenticate checks a key given in a body or a query exactly as the bearer key is checked:
// the same secret, the same constant-time comparison, the same caches.
func (c *call) authenticate(ctx context.Context, key string) *failure {
	caller, err := c.h.Auth.Authenticate(ctx, "Bearer "+key, "")
	if err != nil {
		f := fromError(err)
		return &f
	}
	c.caller = caller
	cipher, err := c.h.idKeys.get(ctx, c.h.IDSecret)
	if err != nil {
		f := fromError(err)
		return &f
	}
	c.ids = newSealer(cipher, caller, strings.TrimSpace(key))
	return nil
}

// recognize runs the service and keeps the result for the log line.
func (c *call) recognize(ctx context.Context, in recognition.Input) (*recognition.Result, *failure) {
	res, err := c.h.Service.Recognize(ctx, in)
	if res != nil {
		c.result = res
	}
	if err != nil {
		f := fromError(err)
		return nil, &f
	}
	return res, nil
}

// answerOf is the answer every protocol's solution is derived from.
func answerOf(k kind, r *recognition.Result) answer {
	a := answer{kind: k, provider: r.Provider, grid: r.Grid, objects: sortedCopy(r.Objects)}
	if k == kindCoordinates {
		for _, o := range a.objects {
			x, y := r.Image.Tiles[o].Center()
			a.clicks = append(a.clicks, [2]int{x, y})
		}
	}
	return a
}

func sortedCopy(s []int) []int {
	out := append([]int(nil), s...)
	slices.Sort(out)
	return out
}

// report logs and counts a caller's verdict on an answer. Reports are not forwarded: see
// docs/protocols.md ("Reports").
func (c *call) report(a answer, bad bool) {
	verdict := "good"
	if bad {
		verdict = "bad"
	}
	c.add("report", verdict, "report_provider", a.provider)
	if c.h.Reported != nil {
		c.h.Reported(a.provider, bad)
	}
}

func header(contentType string) http.Header {
	return http.Header{"Content-Type": {contentType}}
}

// Misconfigured answers every request of both protocols with the configuration error, in each
// protocol's shape (the API's own routes get httpapi.Misconfigured).
type Misconfigured struct{ Observe *observe.Observer }

// Serve answers the configuration error.
func (m Misconfigured) Serve(ctx context.Context, req httpapi.Request) httpapi.Response {
	c := &call{req: req, unit: m.Observe.Start(ctx, "request", req.RequestID), protocol: "task"}
	f := fromError(apierr.New(apierr.CodeConfiguration, "the service is not configured correctly; its operators have been told in its logs"))
	c.fail = &f
	var resp httpapi.Response
	switch strings.TrimSuffix(req.Path, "/") {
	case InPath, ResPath:
		c.protocol = "2captcha"
		resp = c.legacyFailure(f, wantsJSON(req.Query))
	default:
		resp = c.taskFailure(f)
	}
	c.finish(resp)
	return resp
}
