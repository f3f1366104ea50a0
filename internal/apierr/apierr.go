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

// Codes shown to callers. The upstream's own codes (invalid_token, too_many_requests, api_error)
// keep their meaning; the rest are ours and say precisely what went wrong.
const (
	CodeInvalidToken        = "invalid_token"
	CodeInvalidRequest      = "invalid_request"
	CodeInvalidImage        = "invalid_image"
	CodeUnsupportedQuestion = "unsupported_question"
	CodeInvalidGrid         = "invalid_grid"
	CodeGridRequired        = "grid_required"
	CodeTooLarge            = "payload_too_large"
	CodeTooComplex          = "image_too_complex"
	CodeUnsupportedMedia    = "unsupported_media_type"
	CodeInvalidS3Reference  = "invalid_s3_reference"
	CodeS3Forbidden         = "s3_forbidden"
	CodeS3NotFound          = "s3_object_not_found"
	CodeStoreNotConfigured  = "store_not_configured"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeTooManyRequests     = "too_many_requests"
	CodeUpstreamError       = "upstream_error"
	CodeUpstreamBadResponse = "upstream_bad_response"
	CodeUpstreamAuth        = "upstream_auth_failed"
	CodeUpstreamTimeout     = "upstream_timeout"
	CodeTokenUnavailable    = "token_unavailable"
	CodeStorageUnavailable  = "storage_unavailable"
	CodeConfiguration       = "configuration_error"
	CodeInternal            = "internal_error"
)

// NewTraceID returns a random UUIDv4, the form the upstream uses for its trace_id.
func NewTraceID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// ErrRemembered marks a failure answered from memory of a recent identical one (a secret found
// missing or malformed moments ago, not read again yet). Its cause was logged when it happened,
// so a log may say it more quietly now.
var ErrRemembered = errors.New("remembered from a recent identical failure")
