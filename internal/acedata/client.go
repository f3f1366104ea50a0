// Package upstream calls the recognition API (its contract: docs/upstream-contract.txt) over one
// shared keep-alive HTTP client. It retries what can succeed on a retry (429, 5xx, network
// faults) with capped exponential backoff and full jitter, honours Retry-After, re-reads the token
// once when it is refused, never runs past the caller's deadline, and checks every answer before
// anyone relies on it.
package acedata

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// DefaultURL is the upstream's recognition endpoint.
const DefaultURL = "https://api.acedata.cloud/captcha/recognition/recaptcha2"

// maxAnswerBytes bounds what is read of an answer: a real one is a few hundred bytes.
const maxAnswerBytes = 1 << 20

// Client calls the upstream. The zero value is not usable; use New.
type Client struct {
	url    string
	http   *http.Client
	tokens secrets.Source

	// MaxAttempts is the number of tries for retryable failures (a refused token's single
	// re-read is not counted).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait between tries: full jitter over
	// min(MaxBackoff, BaseBackoff·2^try).
	BaseBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one try, so a hung connection still leaves time for another.
	AttemptTimeout time.Duration
}

// NewHTTPClient is the one HTTP client for the upstream: connections are kept alive and reused
// across requests and invocations.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 32
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 5 * time.Second
	return &http.Client{Transport: t, CheckRedirect: neverFollow}
}

// neverFollow hands a redirect back to the provider's adapter as the answer: following it would
// re-send the request, with the provider token in its header or body, to wherever the
// Location names. Each adapter answers a 3xx as the provider's failure (IsRedirect).
func neverFollow(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// IsRedirect says whether status is a redirect, which no provider's API answers when it works.
func IsRedirect(status int) bool { return status >= 300 && status < 400 }

// New returns a client for the API at url, authorized by tokens.
func New(url string, httpClient *http.Client, tokens secrets.Source) *Client {
	return &Client{
		url: url, http: httpClient, tokens: tokens,
		MaxAttempts: 3, BaseBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second,
		AttemptTimeout: 10 * time.Second,
	}
}

// Solution and Field are the domain's (recognition); this client is one adapter of its port.
type (
	Solution = recognition.Solution
	Field    = recognition.Field
)

var _ recognition.Upstream = (*Client)(nil)

type attemptResult struct {
	status     int
	body       []byte
	retryAfter time.Duration
	oversized  bool
	err        error // network fault or timeout
}

// Recognize sends a normalized image (PNG/JPEG of size pixels square) and a label id.
func (c *Client) Recognize(ctx context.Context, image []byte, labelID string, size int) (*Solution, error) {
	payload := requestBody(image, labelID)
	refreshed := false
	for attempt := 1; ; {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		r := c.try(ctx, tok, payload)
		if r.oversized {
			return nil, badAnswer("answer is larger than %d bytes", maxAnswerBytes)
		}
		if r.status == http.StatusOK {
			return parseSolution(r.body, labelID, size)
		}
		if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
			if !refreshed { // a rotated secret: read it again, once
				refreshed = true
				c.tokens.Refused(tok)
				continue
			}
			return nil, apierr.New(apierr.CodeUpstreamAuth,
				"the recognition API refused this service's token; this is a configuration problem on our side, not in your request")
		}
		final := finalError(ctx, r)
		if !retryable(r) || attempt >= c.MaxAttempts {
			return nil, final
		}
		wait := c.backoff(attempt)
		if r.retryAfter > wait {
			wait = r.retryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait+minAttempt {
			return nil, final // no time left for another try: answer now
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			return nil, final
		}
		attempt++
	}
}

// requestBody is the upstream's JSON request, built in one allocation of its exact size: the
// image's base64 is most of it, and encoding/json would grow and copy its buffer several times.
func requestBody(image []byte, labelID string) []byte {
	question, _ := json.Marshal(labelID)
	const head, mid, tail = `{"image":"`, `","question":`, `}`
	b := make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(len(image))+len(mid)+len(question)+len(tail))
	b = append(b, head...)
	b = base64.StdEncoding.AppendEncode(b, image)
	b = append(b, mid...)
	b = append(b, question...)
	return append(b, tail...)
}

// minAttempt is the least time worth starting another try with.
const minAttempt = 250 * time.Millisecond

func retryable(r attemptResult) bool {
	return r.err != nil || r.status == http.StatusTooManyRequests || r.status >= 500
}

func (c *Client) try(ctx context.Context, tok string, payload []byte) attemptResult {
	actx, cancel := context.WithTimeout(ctx, c.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.url, bytes.NewReader(payload))
	if err != nil {
		return attemptResult{err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.http.Do(req)
	if err != nil {
		return attemptResult{err: scrub(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return attemptResult{err: scrub(err)}
	}
	if len(body) > maxAnswerBytes {
		return attemptResult{status: resp.StatusCode, oversized: true}
	}
	return attemptResult{status: resp.StatusCode, body: body, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
}

// scrub keeps an error's kind but not its text: net/http errors quote the URL, which is
// harmless, but nothing of a request may reach a log unexamined.
func scrub(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	return errors.New("network error talking to the recognition API")
}

func finalError(ctx context.Context, r attemptResult) error {
	switch {
	case r.err != nil && (errors.Is(r.err, context.DeadlineExceeded) || ctx.Err() != nil):
		return apierr.Wrap(r.err, apierr.CodeUpstreamTimeout,
			"the recognition API did not answer in time")
	case r.err != nil:
		return apierr.Wrap(r.err, apierr.CodeUpstreamError,
			"the recognition API could not be reached")
	case r.status == http.StatusTooManyRequests:
		e := apierr.New(apierr.CodeTooManyRequests,
			"the recognition API is rate limiting this service; try again later")
		e.RetryAfter = r.retryAfter
		return e
	case r.status >= 500:
		return apierr.New(apierr.CodeUpstreamError,
			"the recognition API failed (status %d)", r.status)
	case IsRedirect(r.status):
		return apierr.New(apierr.CodeUpstreamError,
			"the recognition API answered with a redirect (status %d), which is never followed", r.status)
	}
	return apierr.Wrap(ErrRejected, apierr.CodeUpstreamRejected,
		fmt.Sprintf("the recognition API rejected the request (status %d%s)", r.status, upstreamCode(r.body)))
}

// ErrRejected (the domain's recognition.ErrRejected) is the cause of an error for an answer in the 4xx range (other than 401, 403 and
// 429): the upstream refused what we sent.
var ErrRejected = recognition.ErrRejected

// documentedCodes are the error codes the upstream's contract lists. Any other code is not
// passed on: it could hold anything, our own Authorization header echoed back included.
var documentedCodes = map[string]bool{
	"token_mismatched": true, "api_not_implemented": true, "invalid_token": true,
	"too_many_requests": true, "api_error": true,
}

// upstreamCode quotes the upstream's own error code when it is a documented one; its message
// is never used.
func upstreamCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || !documentedCodes[e.Error.Code] {
		return ""
	}
	return ", " + strconv.Quote(e.Error.Code)
}

func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.BaseBackoff << (attempt - 1)
	if ceiling > c.MaxBackoff || ceiling <= 0 {
		ceiling = c.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// maxRetryAfter caps how long a Retry-After may hold a request: API Gateway gives up at 30 s.
const maxRetryAfter = 30 * time.Second

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), maxRetryAfter)
}

func badAnswer(format string, args ...any) error {
	return apierr.New(apierr.CodeUpstreamBadResponse,
		"the recognition API sent a broken answer: "+format, args...)
}

// parseSolution checks an answer against what was asked, in every shape the engine answers in
// (docs/providers.md): the size sent; the label asked, when one is named; objects that are
// distinct tiles of the grid; for a single tile, objects or hasObject (objects derived from it,
// [0] or []), never hasObject on a grid; confidences optional, but when present one in [0, 1]
// per tile. Only the contract's fields are kept (type only when it is one the contract names),
// and objects is always among them.
func parseSolution(body []byte, labelID string, size int) (*Solution, error) {
	var doc struct {
		Solution json.RawMessage `json:"solution"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Solution) == 0 || doc.Solution[0] != '{' {
		return nil, badAnswer("no solution object")
	}
	var typed struct {
		Size        *int      `json:"size"`
		Label       *string   `json:"label"`
		Confidences []float64 `json:"confidences"`
		Objects     []int     `json:"objects"`
		HasObject   *bool     `json:"hasObject"`
		Type        string    `json:"type"`
	}
	if err := json.Unmarshal(doc.Solution, &typed); err != nil {
		return nil, badAnswer("solution fields have the wrong types")
	}
	if typed.Size == nil || *typed.Size != size {
		return nil, badAnswer("size is not %d", size)
	}
	if typed.Label != nil && *typed.Label != labelID {
		return nil, badAnswer("label is not the one asked")
	}
	tiles := recognition.Tiles(size)
	if typed.Confidences != nil && len(typed.Confidences) != tiles {
		return nil, badAnswer("%d confidences for %d tiles", len(typed.Confidences), tiles)
	}
	for _, c := range typed.Confidences {
		if c < 0 || c > 1 {
			return nil, badAnswer("confidence %v is outside [0, 1]", c)
		}
	}
	objects, err := recognition.CheckObjects(typed.Objects, typed.HasObject, tiles)
	if err != nil {
		return nil, badAnswer("%s", err.Error())
	}
	fields, err := orderedFields(doc.Solution)
	if err != nil {
		return nil, badAnswer("solution object does not parse")
	}
	s := Solution{Size: *typed.Size, Confidences: typed.Confidences, Objects: objects, Type: typed.Type}
	if typed.Label != nil {
		s.Label = *typed.Label
	}
	if s.Type != "single" && s.Type != "multi" {
		s.Type = ""
	}
	// The last of repeated keys is the one the checks above read; an earlier one is unchecked.
	last := map[string]int{}
	for i, f := range fields {
		last[f.Key] = i
	}
	for i, f := range fields {
		if last[f.Key] != i {
			continue
		}
		switch {
		case f.Key == "size", f.Key == "objects", f.Key == "hasObject",
			f.Key == "confidences" && s.Confidences != nil,
			f.Key == "label" && s.Label != "", f.Key == "type" && s.Type != "":
			s.Fields = append(s.Fields, f)
		}
	}
	if typed.Objects == nil { // derived from hasObject: callers always get objects
		v, _ := json.Marshal(objects)
		s.Fields = append(s.Fields, Field{Key: "objects", Value: v})
	}
	return &s, nil
}

// orderedFields splits a JSON object into its fields in their original order.
func orderedFields(obj json.RawMessage) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var fields []Field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("key %v", k)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, Field{Key: key, Value: v})
	}
	return fields, nil
}

// Name is the provider's name, as PROVIDERS spells it.
func (c *Client) Name() string { return "acedata" }

var _ recognition.Provider = (*Client)(nil)

// Report: AceData documents no report method (docs/upstream-contract.txt) and no task id.
func (c *Client) Report(context.Context, string, bool) error { return recognition.ErrNoReportMethod }

// HasReportMethod is false: AceData documents no report method.
func (c *Client) HasReportMethod(bool) bool { return false }
