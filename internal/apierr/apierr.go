// Package apierr is the service's one error type: a stable machine-readable code, a message safe
// to show a caller, and the HTTP status it maps to. Every path (HTTPS, S3, local) renders it in
// the upstream's own error shape.
package apierr

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recaptcha-recognizer/recognizer/api"
)

// Error is a failure that can be shown to a caller as it is. Message never holds internals
// (paths, stack traces, SDK error text, the token).
type Error struct {
	Code    Code
	Message string
	// Hint, when set, is what the native API's caller can send instead (an S3 reference, the
	// grid parameter): Text puts it after the message. A front whose callers send otherwise (the
	// solver protocols) words its own.
	Hint string
	// RetryAfter, when set, is passed on to the caller as a Retry-After header.
	RetryAfter time.Duration
	// deadline marks a failure that ran out of the request's time: answered 504 whatever the code.
	deadline bool
	// cause is kept for logs only; it is never rendered to a caller.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Text(), e.cause)
	}
	return string(e.Code) + ": " + e.Text()
}

// Text is what the native API's caller reads: the message, then the hint if there is one.
func (e *Error) Text() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + "; " + e.Hint
}

// WithHint returns a copy of e that tells the native API's caller what to send instead.
func (e *Error) WithHint(hint string) *Error {
	c := *e
	c.Hint = hint
	return &c
}

// Unwrap exposes the internal cause to errors.Is/As (for logging and tests).
func (e *Error) Unwrap() error { return e.cause }

// Status is the HTTP status the caller gets: the code's, or 504 when the request ran out of time.
func (e *Error) Status() int {
	if e.deadline {
		return 504
	}
	return StatusOf(e.Code)
}

// Retryable reports whether the same input may succeed later (the S3 path then retries the event
// instead of storing an error result).
func (e *Error) Retryable() bool { return RetryableOf(e.Code) }

// AtDeadline returns a copy of e marked as a failure that ran out of the request's time; e itself
// is unchanged, so a shared sentinel stays what it was for every other request.
func (e *Error) AtDeadline() *Error {
	c := *e
	c.deadline = true
	return &c
}

// Clip bounds how much of a caller's or operator's value a message quotes: at most max runes,
// then "…". Invalid UTF-8 is dropped, so a message is always valid JSON text.
func Clip(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}

// New returns an Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error that keeps cause for logs while showing only message to the caller.
func Wrap(cause error, code Code, message string) *Error {
	return &Error{Code: code, Message: message, cause: cause}
}

// As returns err as an *Error, or an opaque 500 internal_error for anything unexpected, so an
// internal failure is never echoed to a caller.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(err, CodeInternal, "internal error")
}

// Code is a stable, machine-readable failure shown to callers, defined with the public contract
// (package api) so that callers and the service share one definition.
type Code = api.Code

// Codes shown to callers; the table below gives each its HTTP status and whether it is retryable.
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
	CodeUpstreamRejected    = api.CodeUpstreamRejected
	CodeUpstreamAuth        = api.CodeUpstreamAuth
	CodeUpstreamTimeout     = api.CodeUpstreamTimeout
	CodeUpstreamUnavailable = api.CodeUpstreamUnavailable
	CodeTokenUnavailable    = api.CodeTokenUnavailable
	CodeStorageUnavailable  = api.CodeStorageUnavailable
	CodeServerBusy          = api.CodeServerBusy
	CodeConfiguration       = api.CodeConfiguration
	CodeInternal            = api.CodeInternal

	CodeInvalidIdempotencyKey = api.CodeInvalidIdempotencyKey
	CodeIdempotencyKeyReused  = api.CodeIdempotencyKeyReused
	CodeIdempotencyKeyInUse   = api.CodeIdempotencyKeyInUse

	CodeReportsNotConfigured = api.CodeReportsNotConfigured
	CodeUnknownAnswer        = api.CodeUnknownAnswer
)

// class is what a code means to the two entry points: the HTTPS status, and for the S3 path,
// whether to retry the event (retryable) or store an error result (permanent).
type class struct {
	status    int
	retryable bool
}

// classes is the one table from code to status and retry. A status chosen for an API reason
// never changes the S3 path's behaviour: retry is its own column.
var classes = map[Code]class{
	CodeInvalidToken:        {401, false},
	CodeInvalidRequest:      {400, false},
	CodeInvalidImage:        {400, false},
	CodeUnsupportedQuestion: {400, false},
	CodeInvalidGrid:         {400, false},
	CodeGridRequired:        {400, false},
	CodeInvalidS3Reference:  {400, false},
	CodeStoreNotConfigured:  {400, false},
	CodeS3Forbidden:         {403, false},
	CodeS3NotFound:          {404, false},
	CodeNotFound:            {404, false},
	CodeMethodNotAllowed:    {405, false},
	CodeTooLarge:            {413, false},
	CodeTooComplex:          {413, false},
	CodeUnsupportedMedia:    {415, false},
	CodeTooManyRequests:     {429, true},
	CodeConfiguration:       {500, true}, // an operator's fix makes the same input succeed
	CodeInternal:            {500, true},
	CodeUpstreamError:       {502, true},
	CodeUpstreamBadResponse: {502, true},
	CodeUpstreamRejected:    {502, false}, // the provider refused this picture: it would again
	CodeUpstreamAuth:        {502, true},
	CodeTokenUnavailable:    {503, true},
	CodeUpstreamUnavailable: {503, true}, // every provider rate limiting or left alone by its breaker
	CodeStorageUnavailable:  {503, true},
	CodeServerBusy:          {503, true}, // the process's memory budget is full for now
	CodeUpstreamTimeout:     {504, true},

	CodeInvalidIdempotencyKey: {400, false},
	CodeIdempotencyKeyInUse:   {409, true}, // the same request succeeds once the first has finished
	CodeIdempotencyKeyReused:  {422, false},

	CodeReportsNotConfigured: {400, false}, // POST /report to a deployment that does not forward
	CodeUnknownAnswer:        {404, false},
}

// StatusOf is the code's HTTP status (500 for a code missing from the table, which a test forbids).
func StatusOf(c Code) int {
	if k, ok := classes[c]; ok {
		return k.status
	}
	return 500
}

// RetryableOf reports whether a failure with this code may succeed if the same input is tried again.
func RetryableOf(c Code) bool {
	if k, ok := classes[c]; ok {
		return k.retryable
	}
	return true
}

// Codes lists every code in the table, for documentation and tests.
func Codes() []Code {
	out := make([]Code, 0, len(classes))
	for c := range classes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

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
