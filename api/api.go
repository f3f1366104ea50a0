// Package api is the service's HTTP contract, in one place for the service and its callers: the
// OpenAPI 3.1 document (OpenAPI), the routes, the error codes, and the Go types of the answers.
// The service renders these types and the client package reads them, so neither keeps a copy.
package api

import (
	_ "embed"
	"encoding/json"
)

// OpenAPI is the OpenAPI 3.1 document of the API (openapi.json in this folder). The local server
// serves it at OpenAPIPath; the end-to-end tests validate every answer against it.
//
//go:embed openapi.json
var OpenAPI []byte

// Routes.
const (
	// RecognizePath is the service's own route.
	RecognizePath = "/recognize"
	// UpstreamPath is the upstream's own route, so the upstream's SDKs work by changing only
	// their base URL.
	UpstreamPath = "/captcha/recognition/recaptcha2"
	// ReportPath takes a caller's report of a wrong or right answer, by its AnswerID.
	ReportPath = "/report"
	// OpenAPIPath is where the local server serves OpenAPI.
	OpenAPIPath = "/openapi.json"
)

// Answer is the body of a 200 answer.
type Answer struct {
	Solution Solution `json:"solution"`
	TraceID  string   `json:"trace_id"`
	// Result is where the answer was stored ("s3://bucket/key"), when store was asked for.
	Result string `json:"result,omitempty"`
	// AnswerID names the answer in a report (POST /report), when the deployment forwards
	// reports: opaque, for this caller only, for an hour.
	AnswerID string `json:"answer_id,omitempty"`
}

// Verdicts of a report.
const (
	VerdictWrong = "wrong"
	VerdictRight = "right"
)

// ReportRequest is the body of POST /report.
type ReportRequest struct {
	AnswerID string `json:"answer_id"`
	Verdict  string `json:"verdict"` // VerdictWrong or VerdictRight
}

// ReportAnswer is the body of POST /report's 200 answer: what became of the report at each
// provider whose answer it was.
type ReportAnswer struct {
	Reports []ProviderReport `json:"reports"`
	TraceID string           `json:"trace_id"`
}

// ProviderReport is what became of a report at one provider: sent, no_method, duplicate,
// refused, failed or no_provider.
type ProviderReport struct {
	Provider string `json:"provider"`
	Outcome  string `json:"outcome"`
}

// Solution is the upstream's solution with every field it sent, plus Grid and Clicks.
type Solution struct {
	// Size is the side, in pixels, of the picture the upstream saw: 100, 300 or 450.
	Size int `json:"size"`
	// Label is the label id the question resolved to ("/m/0k4j").
	Label string `json:"label"`
	// Confidences holds each tile's confidence from 0 to 1, tiles numbered from 0 left to
	// right, top to bottom, when the provider sent them (not every one does).
	Confidences []float64 `json:"confidences,omitempty"`
	// Objects are the tiles to click.
	Objects []int `json:"objects"`
	// Type is the upstream's task type ("multi").
	Type string `json:"type"`
	// Grid is "3x3", "4x4" or "1x1".
	Grid string `json:"grid"`
	// Clicks holds one click per object, in the same order.
	Clicks []Click `json:"clicks"`
	// Provider names the recognition service that answered (acedata, capsolver, ...).
	Provider string `json:"provider,omitempty"`
	// Uncertain holds the tiles chosen but not clicked for want of confidence: present (empty
	// when none) only when a threshold applies (min_confidence, MIN_CONFIDENCE).
	Uncertain []int `json:"uncertain,omitempty"`
	// Agreed names the providers whose whole answer is the one given, when consensus asked two
	// or more.
	Agreed []string `json:"agreed,omitempty"`

	// Raw is the solution object as sent. Decoding sets it, so fields this type does not name
	// (the upstream may add some) are not lost; when it is set, encoding writes it unchanged,
	// which is how the service passes the upstream's fields through byte for byte.
	Raw json.RawMessage `json:"-"`
}

// solutionFields is Solution without its methods, to encode and decode its named fields.
type solutionFields Solution

// MarshalJSON writes Raw when it is set, and the named fields otherwise.
func (s Solution) MarshalJSON() ([]byte, error) {
	if s.Raw != nil {
		return s.Raw, nil
	}
	return json.Marshal(solutionFields(s))
}

// UnmarshalJSON reads the named fields and keeps the whole object in Raw.
func (s *Solution) UnmarshalJSON(b []byte) error {
	var f solutionFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*s = Solution(f)
	s.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Click is where to click for one tile: the tile's centre in the caller's own picture.
type Click struct {
	Index int `json:"index"`
	X     int `json:"x"`
	Y     int `json:"y"`
}

// ErrorBody is the body of every error answer, in the upstream's shape.
type ErrorBody struct {
	Success bool        `json:"success"` // always false
	Error   ErrorDetail `json:"error"`
	TraceID string      `json:"trace_id"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	// Code is one of the Code constants.
	Code Code `json:"code"`
	// Message is safe to show a person; it never holds internals.
	Message string `json:"message"`
}

// Code is a stable, machine-readable failure. The status each comes with is in the OpenAPI
// document's responses (and the service's table, internal/apierr). The upstream's own codes
// (invalid_token, too_many_requests) keep their meaning; the rest say precisely what went wrong.
type Code string

// Error codes.
const (
	CodeInvalidToken        Code = "invalid_token"
	CodeInvalidRequest      Code = "invalid_request"
	CodeInvalidImage        Code = "invalid_image"
	CodeUnsupportedQuestion Code = "unsupported_question"
	CodeInvalidGrid         Code = "invalid_grid"
	CodeGridRequired        Code = "grid_required"
	CodeTooLarge            Code = "payload_too_large"
	CodeTooComplex          Code = "image_too_complex"
	CodeUnsupportedMedia    Code = "unsupported_media_type"
	CodeInvalidS3Reference  Code = "invalid_s3_reference"
	CodeS3Forbidden         Code = "s3_forbidden"
	CodeS3NotFound          Code = "s3_object_not_found"
	CodeStoreNotConfigured  Code = "store_not_configured"
	// CodeReportsNotConfigured (400): a report, to a deployment that does not forward them.
	CodeReportsNotConfigured Code = "reports_not_configured"
	// CodeUnknownAnswer (404): a report names no answer this deployment gave the caller within
	// the hour.
	CodeUnknownAnswer       Code = "unknown_answer"
	CodeNotFound            Code = "not_found"
	CodeMethodNotAllowed    Code = "method_not_allowed"
	CodeTooManyRequests     Code = "too_many_requests"
	CodeUpstreamError       Code = "upstream_error"
	CodeUpstreamBadResponse Code = "upstream_bad_response"
	CodeUpstreamRejected    Code = "upstream_rejected"
	CodeUpstreamAuth        Code = "upstream_auth_failed"
	CodeUpstreamTimeout     Code = "upstream_timeout"
	CodeUpstreamUnavailable Code = "upstream_unavailable"
	CodeTokenUnavailable    Code = "token_unavailable"
	CodeStorageUnavailable  Code = "storage_unavailable"
	CodeServerBusy          Code = "server_busy"
	CodeConfiguration       Code = "configuration_error"
	CodeInternal            Code = "internal_error"

	// Idempotency-Key: a key that is not one (400), a key already used for another request
	// (422), a key whose first request is still running (409).
	CodeInvalidIdempotencyKey Code = "invalid_idempotency_key"
	CodeIdempotencyKeyReused  Code = "idempotency_key_reused"
	CodeIdempotencyKeyInUse   Code = "idempotency_key_in_use"
)
