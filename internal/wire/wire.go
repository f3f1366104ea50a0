// Package wire holds the words every front shares: a request with its body whole, the response
// to send, the server that turns one into the other, the caller check, the pipeline's limits,
// the native error body, and what one request adds to its log line. It depends on no front, so
// no front is built on another.
package wire

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// Request is an HTTP request with its body already whole and decoded.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Query  url.Values
	// QueryError is set when the query string did not parse (a bad %-escape, a semicolon): Query
	// then lacks the pairs that did not, so a route that reads the query refuses the request
	// rather than serve it without them.
	QueryError error
	Body       []byte
	RequestID  string // trace id to answer with; a new one is made when empty
	IAMCaller  string // the caller API Gateway verified by SigV4, if any
}

// QueryRefusal is the refusal of a request whose query string did not parse, or nil when it
// parsed: a route that reads the query answers it rather than serve the request without the
// pairs that were dropped.
func (r Request) QueryRefusal() *apierr.Error {
	if r.QueryError == nil {
		return nil
	}
	return apierr.New(apierr.CodeInvalidRequest, "the query string does not parse (%s): send it percent-encoded, its parameters apart with &",
		apierr.Clip(r.QueryError.Error(), 96))
}

// Response is what to send back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Server answers requests. The Lambda adapter and the local server both translate to Request
// and back from Response, so both serve exactly the same routes.
type Server interface {
	Serve(ctx context.Context, req Request) Response
}

// Authenticator decides who may call; errors are *apierr.Error (401, or 5xx when it cannot tell).
type Authenticator interface {
	Authenticate(ctx context.Context, authorization, iamCaller string) (caller string, err error)
}

// Config is what every request is held to, whatever its wire.
type Config struct {
	MaxBodyBytes int
	// ResponseMargin is kept back from the caller's deadline to send the answer in time.
	ResponseMargin time.Duration
	// DefaultTimeout bounds a request that arrives with no deadline (the local server).
	DefaultTimeout time.Duration
}

// Record is what a call adds to its request's one log line beyond what the pipeline writes
// (method, path, status, protocol, caller, outcome).
type Record struct {
	Attrs  []any               // the wire's own fields: form, image_bytes, action, task_type, ...
	Result *recognition.Result // the recognition, when one ran (label, grid, timings, ...)
}

// With is r with attrs added.
func (r Record) With(attrs ...any) Record {
	r.Attrs = append(append([]any(nil), r.Attrs...), attrs...)
	return r
}

// ErrorBody renders e in the upstream's error shape, the native API's one error shape.
func ErrorBody(e *apierr.Error, traceID string) []byte {
	out, _ := json.Marshal(api.ErrorBody{Error: api.ErrorDetail{Code: e.Code, Message: e.Text()}, TraceID: traceID})
	return out
}

// JSONHeader is the header of a JSON answer.
func JSONHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}
