// Package httpapi is the HTTPS entry point, independent of how requests arrive: the Lambda
// adapter (API Gateway HTTP API, payload 2.0) and the local server both translate to Request and
// back from Response, so both serve exactly the same API.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"recognizer/api"
	"recognizer/internal/apierr"
	"recognizer/internal/metrics"
	"recognizer/internal/recognition"
)

// Routes: our own, and the upstream's own path so its SDKs work by changing only the base URL.
const (
	RecognizePath = "/recognize"
	UpstreamPath  = "/captcha/recognition/recaptcha2"
)

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
	SourceBuckets []string // buckets an s3 reference may name
	ResultsBucket string   // where store=true writes; empty disables store
	ResultsPrefix string
	MaxBodyBytes  int
	// ResponseMargin is kept back from the caller's deadline to send the answer in time.
	ResponseMargin time.Duration
	// DefaultTimeout bounds a request that arrives with no deadline (the local server).
	DefaultTimeout time.Duration
}

// Handler serves the API.
type Handler struct {
	Service *recognition.Service
	Auth    Authenticator
	Store   ObjectStore
	Config  Config
	Log     *slog.Logger
	Metrics *metrics.Emitter
}

// ErrorBody renders e in the upstream's error shape.
func ErrorBody(e *apierr.Error, traceID string) []byte {
	out, _ := json.Marshal(api.ErrorBody{Error: api.ErrorDetail{Code: e.Code, Message: e.Message}, TraceID: traceID})
	return out
}

// requestLog collects the one log line written per request.
type requestLog struct {
	caller     string
	form       string
	imageBytes int
	result     *recognition.Result
}

// Serve answers one request. It never panics and never returns an internal error's text.
func (h *Handler) Serve(ctx context.Context, req Request) (resp Response) {
	start := time.Now()
	traceID := req.RequestID
	if traceID == "" {
		traceID = apierr.NewTraceID()
	}
	var rl requestLog
	var failure *apierr.Error
	defer func() {
		if p := recover(); p != nil {
			failure = apierr.New(http.StatusInternalServerError, apierr.CodeInternal, "internal error")
			h.Log.ErrorContext(ctx, "panic", "trace_id", traceID, "panic", p)
			resp = h.errorResponse(failure, traceID)
		}
		total := time.Since(start)
		h.logRequest(ctx, req, resp.Status, failure, rl, traceID, total)
		sample := metrics.Sample{Code: "ok", Latency: total}
		if failure != nil {
			sample.Code = failure.Code
		}
		if r := rl.result; r != nil {
			sample.Normalize, sample.Upstream = r.Timings.Normalize, r.Timings.Upstream
		}
		h.Metrics.Emit(sample)
	}()

	body, err := h.route(ctx, req, traceID, &rl)
	if err != nil {
		failure = apierr.As(err)
		return h.errorResponse(failure, traceID)
	}
	return Response{Status: http.StatusOK, Header: jsonHeader(), Body: body}
}

func (h *Handler) route(ctx context.Context, req Request, traceID string, rl *requestLog) ([]byte, error) {
	path := strings.TrimSuffix(req.Path, "/")
	if path != RecognizePath && path != UpstreamPath {
		return nil, apierr.New(http.StatusNotFound, apierr.CodeNotFound, "no such route: POST %s or %s", RecognizePath, UpstreamPath)
	}
	if req.Method != http.MethodPost {
		return nil, apierr.New(http.StatusMethodNotAllowed, apierr.CodeMethodNotAllowed, "use POST")
	}
	caller, err := h.Auth.Authenticate(ctx, req.Header.Get("Authorization"), req.IAMCaller)
	if err != nil {
		return nil, err
	}
	rl.caller = caller
	if len(req.Body) > h.Config.MaxBodyBytes {
		return nil, apierr.New(http.StatusRequestEntityTooLarge, apierr.CodeTooLarge,
			"the body is over the limit of %d bytes (send larger images by S3 reference)", h.Config.MaxBodyBytes)
	}
	ctx, cancel := h.withDeadline(ctx)
	defer cancel()

	c, err := parseCall(req, h.Service.Limits.MaxBytes)
	if err != nil {
		return nil, err
	}
	rl.form = c.form
	if c.store && h.Config.ResultsBucket == "" {
		return nil, apierr.New(http.StatusBadRequest, apierr.CodeStoreNotConfigured, "store is not available: this deployment has no RESULTS_BUCKET")
	}
	if c.s3 != nil {
		if !slices.Contains(h.Config.SourceBuckets, c.s3.Bucket) {
			return nil, apierr.New(http.StatusForbidden, apierr.CodeS3Forbidden, "bucket %q is not one this service reads from", clip(c.s3.Bucket))
		}
		// Resolve the question first: a bad question must not cost a download.
		if _, err := h.Service.Questions.Resolve(c.question); err != nil {
			return nil, err
		}
		if c.image, err = h.Store.Get(ctx, c.s3.Bucket, c.s3.Key, h.Service.Limits.MaxBytes); err != nil {
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
		key := h.Config.ResultsPrefix + traceID + ".json"
		stored, _ := json.Marshal(a)
		if err := h.Store.Write(ctx, h.Config.ResultsBucket, key, stored); err != nil {
			return nil, err
		}
		a.Result = "s3://" + h.Config.ResultsBucket + "/" + key
	}
	return json.Marshal(a)
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

func (h *Handler) errorResponse(e *apierr.Error, traceID string) Response {
	hdr := jsonHeader()
	if e.Status == http.StatusMethodNotAllowed {
		hdr.Set("Allow", http.MethodPost)
	}
	if e.Status == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", "Bearer")
	}
	if e.RetryAfter > 0 {
		hdr.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	return Response{Status: e.Status, Header: hdr, Body: ErrorBody(e, traceID)}
}

func (h *Handler) logRequest(ctx context.Context, req Request, status int, failure *apierr.Error, rl requestLog, traceID string, total time.Duration) {
	attrs := []any{
		"trace_id", traceID, "method", req.Method, "path", req.Path, "status", status,
		"caller", rl.caller, "form", rl.form, "image_bytes", rl.imageBytes, "total_ms", ms(total),
	}
	if r := rl.result; r != nil {
		attrs = append(attrs, "label", r.Label.ID, "grid", r.Grid.String(),
			"width", r.Image.Width, "height", r.Image.Height, "passthrough", r.Image.Passthrough,
			"objects", len(r.Objects), "normalize_ms", ms(r.Timings.Normalize), "upstream_ms", ms(r.Timings.Upstream))
	}
	level := slog.LevelInfo
	if failure != nil {
		attrs = append(attrs, "code", failure.Code)
		if failure.Status >= 500 {
			level = slog.LevelError
			if cause := failure.Unwrap(); cause != nil {
				attrs = append(attrs, "cause", cause.Error())
			}
		}
	}
	h.Log.Log(ctx, level, "request", attrs...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
