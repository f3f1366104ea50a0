// Package apierr is the service's one error type: a stable machine-readable code, a message safe
// to show a caller, and the HTTP status it maps to. Every path (HTTPS, S3, local) renders it in
// the upstream's own error shape.
package apierr

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"recognizer/api"
)

// Error is a failure that can be shown to a caller as it is. Message never holds internals
// (paths, stack traces, SDK error text, the token).
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when set, is passed on to the caller as a Retry-After header.
	RetryAfter time.Duration
	// cause is kept for logs only; it is never rendered to a caller.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

// Unwrap exposes the internal cause to errors.Is/As (for logging and tests).
func (e *Error) Unwrap() error { return e.cause }

// Transient reports whether retrying the same input later may succeed: rate limits and
// server-side faults are transient, anything the caller sent wrong is not.
func (e *Error) Transient() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

// New returns an Error with a formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error that keeps cause for logs while showing only message to the caller.
func Wrap(cause error, status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message, cause: cause}
}

// As returns err as an *Error, or an opaque 500 internal_error for anything unexpected, so an
// internal failure is never echoed to a caller.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(err, http.StatusInternalServerError, CodeInternal, "internal error")
}

// Codes shown to callers, defined once in the public api package (which callers import).
const (
	CodeInvalidToken        = api.CodeInvalidToken
	CodeInvalidRequest      = api.CodeInvalidRequest
	CodeInvalidImage        = api.CodeInvalidImage
	CodeUnsupportedQuestion = api.CodeUnsupportedQuestion
	CodeInvalidGrid         = api.CodeInvalidGrid
	CodeGridRequired        = api.CodeGridRequired
	CodeTooLarge            = api.CodeTooLarge
	CodeTooComplex          = api.CodeTooComplex
	CodeUnsupportedMedia    = api.CodeUnsupportedMedia
	CodeInvalidS3Reference  = api.CodeInvalidS3Reference
	CodeS3Forbidden         = api.CodeS3Forbidden
	CodeS3NotFound          = api.CodeS3NotFound
	CodeStoreNotConfigured  = api.CodeStoreNotConfigured
	CodeNotFound            = api.CodeNotFound
	CodeMethodNotAllowed    = api.CodeMethodNotAllowed
	CodeTooManyRequests     = api.CodeTooManyRequests
	CodeUpstreamError       = api.CodeUpstreamError
	CodeUpstreamBadResponse = api.CodeUpstreamBadResponse
	CodeUpstreamAuth        = api.CodeUpstreamAuth
	CodeUpstreamTimeout     = api.CodeUpstreamTimeout
	CodeTokenUnavailable    = api.CodeTokenUnavailable
	CodeStorageUnavailable  = api.CodeStorageUnavailable
	CodeConfiguration       = api.CodeConfiguration
	CodeInternal            = api.CodeInternal
)

// NewTraceID returns a random UUIDv4, the form the upstream uses for its trace_id.
func NewTraceID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
