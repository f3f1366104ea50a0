// Package httpapi is the HTTPS entry point, independent of how requests arrive: the Lambda
// adapter (API Gateway HTTP API, payload 2.0) and the local server both translate to Request and
// back from Response, so both serve exactly the same API.
package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
)

// ProviderHeader names the recognition provider who answered (also the solution's provider field).
const ProviderHeader = "X-Recognition-Provider"

// Request is an HTTP request with its body already whole and decoded.
type Request struct {
	Method    string
	Path      string
	Header    http.Header
	Query     url.Values
	Body      []byte
	RequestID string // trace id to answer with; a new one is made when empty
	IAMCaller string // the caller API Gateway verified by SigV4, if any
}

// Response is what to send back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ObjectStore is the S3 access the API needs.
type ObjectStore interface {
	Get(ctx context.Context, bucket, key string, maxBytes int) ([]byte, error)
	Write(ctx context.Context, bucket, key string, body []byte) error
}

// Authenticator decides who may call; errors are *apierr.Error (401, or 5xx when it cannot tell).
type Authenticator interface {
	Authenticate(ctx context.Context, authorization, iamCaller string) (caller string, err error)
}

// Config is the API's share of the service configuration.
type Config struct {
	Sources       s3scope.Scopes // where an s3 reference may point
	ResultsBucket string         // where store=true writes; empty disables store
	StorePrefix   string         // where store=true writes; no upload or S3 result can land there
	MaxBodyBytes  int
	// ResponseMargin is kept back from the caller's deadline to send the answer in time.
	ResponseMargin time.Duration
	// DefaultTimeout bounds a request that arrives with no deadline (the local server).
	DefaultTimeout time.Duration
}

// Server answers requests: the Handler, or Misconfigured.
type Server interface {
	Serve(ctx context.Context, req Request) Response
}

var (
	_ Server = (*Handler)(nil)
	_ Server = Misconfigured{}
)

// Misconfigured is the server of a function whose configuration was refused at start: every
// request is answered 500 configuration_error, and nothing is read (the problems are in the
// start-up log, for operators; callers are told only that it is the service's fault).
type Misconfigured struct{ Observe *observe.Observer }

// Serve answers the configuration error.
func (m Misconfigured) Serve(ctx context.Context, req Request) Response {
	unit := m.Observe.Start(ctx, "request", req.RequestID)
	failure := apierr.New(apierr.CodeConfiguration, "the service is not configured correctly; its operators have been told in its logs")
	unit.Add("method", req.Method, "path", req.Path, "status", failure.Status())
	unit.Finish(observe.Level(failure), string(failure.Code), failure)
	return Response{Status: failure.Status(), Header: jsonHeader(), Body: ErrorBody(failure, unit.TraceID)}
}

// Handler serves the API.
type Handler struct {
	Service *recognition.Service
	Auth    Authenticator
	Store   ObjectStore
	Config  Config
	Observe *observe.Observer
}

// ErrorBody renders e in the upstream's error shape.
func ErrorBody(e *apierr.Error, traceID string) []byte {
	out, _ := json.Marshal(api.ErrorBody{Error: api.ErrorDetail{Code: e.Code, Message: e.Message}, TraceID: traceID})
	return out
}

// requestLog collects what the request's log line says beyond its outcome.
type requestLog struct {
	caller     string
	form       string
	imageBytes int
	result     *recognition.Result
}

// Serve answers one request. It never panics and never returns an internal error's text.
func (h *Handler) Serve(ctx context.Context, req Request) (resp Response) {
	unit := h.Observe.Start(ctx, "request", req.RequestID)
	var rl requestLog
	var failure *apierr.Error
	defer func() {
		if p := recover(); p != nil {
			failure = unit.Recovered(p)
			resp = errorResponse(failure, unit.TraceID)
		}
		unit.Add("method", req.Method, "path", req.Path, "status", resp.Status,
			"caller", rl.caller, "form", rl.form, "image_bytes", rl.imageBytes)
		if r := rl.result; r != nil {
			unit.Add("label", r.Label.ID, "grid", r.Grid.String(), "width", r.Image.Width, "height", r.Image.Height,
				"passthrough", r.Image.Passthrough, "objects", len(r.Objects), "provider", r.Provider)
			unit.Timings(r.Timings.Normalize, r.Timings.Upstream)
		}
		code := "ok"
		if failure != nil {
			code = string(failure.Code)
		}
		unit.Finish(observe.Level(failure), code, failure)
	}()

	body, err := h.route(ctx, req, unit.TraceID, &rl)
	if err != nil {
		failure = apierr.As(err)
		return errorResponse(failure, unit.TraceID)
	}
	hdr := jsonHeader()
	if rl.result != nil && rl.result.Provider != "" {
		hdr.Set(ProviderHeader, rl.result.Provider)
	}
	return Response{Status: http.StatusOK, Header: hdr, Body: body}
}

func (h *Handler) route(ctx context.Context, req Request, traceID string, rl *requestLog) ([]byte, error) {
	path := strings.TrimSuffix(req.Path, "/")
	if path != api.RecognizePath && path != api.UpstreamPath {
		return nil, apierr.New(apierr.CodeNotFound, "no such route: POST %s or %s", api.RecognizePath, api.UpstreamPath)
	}
	if req.Method != http.MethodPost {
		return nil, apierr.New(apierr.CodeMethodNotAllowed, "use POST")
	}
	// Everything that can wait on AWS, the client keys' secret included, runs inside the margin.
	ctx, cancel := h.withDeadline(ctx)
	defer cancel()
	caller, err := h.Auth.Authenticate(ctx, req.Header.Get("Authorization"), req.IAMCaller)
	if err != nil {
		return nil, err
	}
	rl.caller = caller
	if len(req.Body) > h.Config.MaxBodyBytes {
		return nil, apierr.New(apierr.CodeTooLarge,
			"the body is over the limit of %d bytes (send larger images by S3 reference)", h.Config.MaxBodyBytes)
	}

	c, err := parseCall(req, h.Service.Limits.MaxBytes)
	if err != nil {
		return nil, err
	}
	rl.form = c.form
	if c.store && h.Config.ResultsBucket == "" {
		return nil, apierr.New(apierr.CodeStoreNotConfigured, "store is not available: this deployment has no RESULTS_BUCKET")
	}
	if c.s3 != nil {
		if c.image, err = h.fetch(ctx, *c.s3, c.question); err != nil {
			return nil, err
		}
	}
	rl.imageBytes = len(c.image)
	res, err := h.Service.Recognize(ctx, recognition.Input{Image: c.image, Question: c.question, Grid: c.grid})
	if res != nil {
		rl.result = res
	}
	if err != nil {
		return nil, err
	}
	a := api.Answer{Solution: api.Solution{Raw: res.Solution}, TraceID: traceID}
	if c.store {
		key := h.Config.StorePrefix + traceID + ".json"
		stored, _ := json.Marshal(a)
		if err := h.Store.Write(ctx, h.Config.ResultsBucket, key, stored); err != nil {
			return nil, err
		}
		a.Result = "s3://" + h.Config.ResultsBucket + "/" + key
	}
	return json.Marshal(a)
}

// errOutsideScope is the one answer for every reference outside the scopes, whether the object
// exists or not: nothing is read for it, so nothing about it can show.
var errOutsideScope = apierr.New(apierr.CodeS3Forbidden,
	"this s3 reference is outside the locations this service reads from")

// fetch reads the image an s3 reference names, if the reference is inside the scopes.
func (h *Handler) fetch(ctx context.Context, ref objectRef, question string) ([]byte, error) {
	if !h.Config.Sources.Allows(ref.Bucket, ref.Key) {
		return nil, errOutsideScope
	}
	// Resolve the question first: a bad question must not cost a download.
	if _, err := h.Service.Questions.Resolve(question); err != nil {
		return nil, err
	}
	return h.Store.Get(ctx, ref.Bucket, ref.Key, h.Service.Limits.MaxBytes)
}

func (h *Handler) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-h.Config.ResponseMargin))
	}
	return context.WithTimeout(ctx, h.Config.DefaultTimeout)
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}

func errorResponse(e *apierr.Error, traceID string) Response {
	hdr := jsonHeader()
	if e.Status() == http.StatusMethodNotAllowed {
		hdr.Set("Allow", http.MethodPost)
	}
	if e.Status() == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", "Bearer")
	}
	if e.RetryAfter > 0 {
		hdr.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	return Response{Status: e.Status(), Header: hdr, Body: ErrorBody(e, traceID)}
}

// Routes serves the paths it names with their own servers (the solver protocols, at the host
// root) and every other path with Default, the API's own handler.
type Routes struct {
	Paths   map[string]Server
	Default Server
}

// Serve sends req to the server of its path.
func (r Routes) Serve(ctx context.Context, req Request) Response {
	if s, ok := r.Paths[strings.TrimSuffix(req.Path, "/")]; ok {
		return s.Serve(ctx, req)
	}
	return r.Default.Serve(ctx, req)
}
