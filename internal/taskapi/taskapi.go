// Package taskapi is the adapter of the recognition providers that share the createTask
// envelope (docs/providers.md): CapSolver and YesCaptcha (task ReCaptchaV2Classification,
// answered synchronously by createTask) and CapMonster Cloud (task ComplexImageTask of class
// recaptcha, created, then polled with getTaskResult). Each answer is checked like AceData's
// before anyone relies on it, and each provider's error codes map to ours: the caller's mistakes
// are refusals (recognition.ErrRejected), an exhausted balance or a provider's trouble is a
// provider failure (the chain then asks the next provider).
package taskapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// Kind is one provider's dialect of the createTask envelope.
type Kind string

// The providers this adapter speaks to.
const (
	CapSolver  Kind = "capsolver"
	YesCaptcha Kind = "yescaptcha"
	CapMonster Kind = "capmonster"
)

// DefaultURL is each provider's public API base.
var DefaultURL = map[Kind]string{
	CapSolver:  "https://api.capsolver.com",
	YesCaptcha: "https://api.yescaptcha.com",
	CapMonster: "https://api.capmonster.cloud",
}

// maxAnswerBytes bounds what is read of an answer: a real one is a few hundred bytes.
const maxAnswerBytes = 1 << 20

// Client calls one provider. The zero value is not usable; use New.
type Client struct {
	kind   Kind
	base   string
	http   *http.Client
	tokens secrets.Source
	// PollInterval is the wait between getTaskResult calls (CapMonster only).
	PollInterval time.Duration
	// AttemptTimeout is the attempt budget: it bounds one Recognize whole (createTask, every
	// poll, and the one re-read of a refused key), so a provider that keeps a task processing
	// still leaves time for failover. Its calls are bounded by MaxCalls.
	AttemptTimeout time.Duration
	// Clock measures the attempt budget and the waits between polls.
	Clock clock.Clock
}

var _ recognition.Provider = (*Client)(nil)

// New returns a client for the provider kind at base (its API root, without a path).
func New(kind Kind, base string, httpClient *http.Client, tokens secrets.Source) *Client {
	return &Client{kind: kind, base: strings.TrimSuffix(base, "/"), http: httpClient, tokens: tokens,
		PollInterval: 500 * time.Millisecond, AttemptTimeout: 10 * time.Second, Clock: clock.Real{}}
}

// Name is the provider's name, as PROVIDERS spells it.
func (c *Client) Name() string { return string(c.kind) }

// envelope is every answer's shape: errorId 0 and the result, or errorId 1 and the codes.
type envelope struct {
	ErrorID          *int            `json:"errorId"`
	ErrorCode        string          `json:"errorCode"`
	ErrorDescription string          `json:"errorDescription"`
	Status           string          `json:"status"`
	TaskID           json.RawMessage `json:"taskId"`
	Solution         json.RawMessage `json:"solution"`
}

// MaxCalls is the most HTTP calls one Recognize makes: a createTask, and the same again after
// a refused key's re-read; CapMonster's polls on top, one per PollInterval of the attempt budget.
func (c *Client) MaxCalls() int {
	if c.kind != CapMonster {
		return 2
	}
	return 2 + int(c.AttemptTimeout/c.PollInterval)
}

// Recognize sends a normalized image (PNG/JPEG of size pixels square) and a label id, within
// the attempt budget.
func (c *Client) Recognize(ctx context.Context, image []byte, labelID string, size int) (*recognition.Solution, error) {
	tiles := recognition.Tiles(size)
	if tiles == 0 {
		return nil, apierr.New(apierr.CodeInternal, "internal error")
	}
	ctx, cancel := c.Clock.WithTimeout(ctx, c.AttemptTimeout)
	defer cancel()
	refreshed := false
	for {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		s, err := c.solve(ctx, tok, image, labelID, size, tiles)
		if errors.Is(err, errKeyRefused) && !refreshed { // a rotated secret: read it again, once
			refreshed = true
			c.tokens.Refused(tok)
			continue
		}
		if errors.Is(err, errKeyRefused) {
			return nil, apierr.Wrap(err, apierr.CodeUpstreamAuth,
				"the recognition provider refused this service's key; this is a configuration problem on our side, not in your request")
		}
		return s, err
	}
}

// solve makes one task and, for CapMonster, polls it: each poll waits PollInterval first, so the
// attempt budget holds at most AttemptTimeout/PollInterval of them.
func (c *Client) solve(ctx context.Context, tok string, image []byte, labelID string, size, tiles int) (*recognition.Solution, error) {
	img := base64.StdEncoding.EncodeToString(image)
	var task map[string]any
	if c.kind == CapMonster {
		grid := map[int]string{1: "1x1", 9: "3x3", 16: "4x4"}[tiles]
		task = map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{img},
			"metadata": map[string]string{"Grid": grid, "TaskDefinition": labelID}}
	} else {
		task = map[string]any{"type": "ReCaptchaV2Classification", "image": img, "question": labelID}
	}
	env, err := c.call(ctx, "/createTask", map[string]any{"clientKey": tok, "task": task})
	if err != nil {
		return nil, err
	}
	if c.kind != CapMonster {
		if env.Status != "ready" {
			return nil, c.badAnswer("status %q, not ready", apierr.Clip(env.Status, 20))
		}
		sol, err := c.parseObjects(env.Solution, labelID, size, tiles)
		if err == nil {
			sol.TaskID = taskIDOf(env.TaskID)
		}
		return sol, err
	}
	var taskID int64
	if json.Unmarshal(env.TaskID, &taskID) != nil || taskID <= 0 {
		return nil, c.badAnswer("no task id")
	}
	for {
		if err := c.Clock.Sleep(ctx, c.PollInterval); err != nil {
			return nil, c.timeout(err)
		}
		env, err := c.call(ctx, "/getTaskResult", map[string]any{"clientKey": tok, "taskId": taskID})
		if err != nil {
			return nil, err
		}
		switch env.Status {
		case "processing":
			continue
		case "ready":
			sol, err := c.parseAnswer(env.Solution, labelID, size, tiles)
			if err == nil {
				sol.TaskID = strconv.FormatInt(taskID, 10)
			}
			return sol, err
		}
		return nil, c.badAnswer("status %q", apierr.Clip(env.Status, 20))
	}
}

// taskIDOf is a synchronous answer's taskId as the provider wrote it (a string, or a number),
// kept for a later report; empty when absent or of another shape (the answer stands without it).
func taskIDOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil && len(s) <= 128 {
		return s
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil && n > 0 {
		return strconv.FormatInt(n, 10)
	}
	return ""
}

var (
	errKeyRefused = errors.New("provider refused the key")
	errNoSuchTask = errors.New("provider does not know the task")
)

// call posts body to path and returns an envelope with errorId 0, or our error for the rest.
func (c *Client) call(ctx context.Context, path string, body any) (*envelope, error) {
	payload, _ := json.Marshal(body)
	actx, cancel := c.Clock.WithTimeout(ctx, c.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return nil, apierr.Wrap(err, apierr.CodeConfiguration, "a recognition provider's URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.network(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, c.network(ctx, err)
	}
	if len(raw) > maxAnswerBytes {
		return nil, c.badAnswer("answer is larger than %d bytes", maxAnswerBytes)
	}
	if acedata.IsRedirect(resp.StatusCode) {
		return nil, apierr.New(apierr.CodeUpstreamError,
			"the recognition provider %s answered with a redirect (status %d), which is never followed", c.kind, resp.StatusCode)
	}
	var env envelope
	parsed := json.Unmarshal(raw, &env) == nil && env.ErrorID != nil
	if parsed && *env.ErrorID != 0 {
		return nil, c.providerError(env.ErrorCode)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, errKeyRefused
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, c.rateLimited()
	case resp.StatusCode >= 500:
		return nil, apierr.New(apierr.CodeUpstreamError, "the recognition provider %s failed (status %d)", c.kind, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, apierr.Wrap(recognition.ErrRejected, apierr.CodeUpstreamRejected,
			fmt.Sprintf("the recognition provider %s rejected the request (status %d)", c.kind, resp.StatusCode))
	case !parsed:
		return nil, c.badAnswer("not the task envelope")
	}
	return &env, nil
}

// kinds of the providers' documented error codes (docs/providers.md §2).
const (
	codeKey       = "key"       // our key is wrong or not allowed: refresh once, then upstream_auth_failed
	codeBalance   = "balance"   // the provider's balance is exhausted: its failure, not the caller's
	codeRate      = "rate"      // rate limited
	codeRejected  = "rejected"  // the request itself (most likely the caller's picture)
	codeUnsolved  = "unsolved"  // the provider could not solve this picture
	codeLost      = "lost"      // the provider lost the task: its failure
	codeAvailable = "available" // the provider has no capacity or is down
)

var providerCodes = map[string]string{
	"ERROR_KEY_DENIED_ACCESS":        codeKey,
	"ERROR_KEY_DOES_NOT_EXIST":       codeKey,
	"ERROR_IP_NOT_ALLOWED":           codeKey,
	"ERROR_IP_BANNED":                codeKey,
	"ERROR_ZERO_BALANCE":             codeBalance,
	"ERROR_RATE_LIMIT":               codeRate,
	"ERROR_INVALID_TASK_DATA":        codeRejected,
	"ERROR_BAD_REQUEST":              codeRejected,
	"ERROR_ZERO_CAPTCHA_FILESIZE":    codeRejected,
	"ERROR_TOO_BIG_CAPTCHA_FILESIZE": codeRejected,
	"ERROR_IMAGE_TYPE_NOT_SUPPORTED": codeRejected,
	"ERROR_CAPTCHA_UNSOLVABLE":       codeUnsolved,
	"ERROR_TASK_TIMEOUT":             codeUnsolved,
	"ERROR_NO_SUCH_CAPCHA_ID":        codeLost,
	"ERROR_TASKID_INVALID":           codeLost,
	"ERROR_SERVICE_UNAVALIABLE":      codeAvailable,
	"ERROR_NO_SLOT_AVAILABLE":        codeAvailable,
}

// providerError maps a provider's errorCode to ours. Only a documented code is quoted: any
// other could hold anything, our own key echoed back included.
func (c *Client) providerError(code string) error {
	kind, known := providerCodes[code]
	quoted := ""
	if known {
		quoted = ", " + strconv.Quote(code)
	}
	switch kind {
	case codeKey:
		return errKeyRefused
	case codeBalance:
		return apierr.Wrap(recognition.ErrExhausted, apierr.CodeUpstreamError,
			fmt.Sprintf("the recognition provider %s cannot take work: this service's balance there is exhausted", c.kind))
	case codeRate:
		return c.rateLimited()
	case codeRejected:
		return apierr.Wrap(recognition.ErrRejected, apierr.CodeUpstreamRejected,
			fmt.Sprintf("the recognition provider %s rejected the request%s", c.kind, quoted))
	case codeLost:
		return apierr.Wrap(errNoSuchTask, apierr.CodeUpstreamError,
			fmt.Sprintf("the recognition provider %s does not know the task%s", c.kind, quoted))
	case codeUnsolved:
		return apierr.Wrap(recognition.ErrUnsolved, apierr.CodeUpstreamError,
			fmt.Sprintf("the recognition provider %s could not solve the picture%s", c.kind, quoted))
	}
	return apierr.New(apierr.CodeUpstreamError, "the recognition provider %s failed%s", c.kind, quoted)
}

func (c *Client) rateLimited() error {
	return apierr.New(apierr.CodeTooManyRequests, "the recognition provider %s is rate limiting this service; try again later", c.kind)
}

func (c *Client) network(ctx context.Context, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		return c.timeout(context.DeadlineExceeded)
	}
	return apierr.Wrap(errors.New("network error"), apierr.CodeUpstreamError,
		fmt.Sprintf("the recognition provider %s could not be reached", c.kind))
}

func (c *Client) timeout(cause error) error {
	return apierr.Wrap(cause, apierr.CodeUpstreamTimeout, fmt.Sprintf("the recognition provider %s did not answer in time", c.kind))
}

func (c *Client) badAnswer(format string, args ...any) error {
	return apierr.New(apierr.CodeUpstreamBadResponse,
		fmt.Sprintf("the recognition provider %s sent a broken answer: ", c.kind)+format, args...)
}

// parseObjects reads a ReCaptchaV2Classification solution: objects, or hasObject for a tile,
// with size and label checked when present (the engine's shapes, docs/providers.md §1).
func (c *Client) parseObjects(raw json.RawMessage, labelID string, size, tiles int) (*recognition.Solution, error) {
	var sol struct {
		Objects   []int   `json:"objects"`
		HasObject *bool   `json:"hasObject"`
		Size      *int    `json:"size"`
		Label     *string `json:"label"`
		Type      string  `json:"type"`
	}
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &sol) != nil {
		return nil, c.badAnswer("no solution object")
	}
	if sol.Size != nil && *sol.Size != size {
		return nil, c.badAnswer("size is not %d", size)
	}
	if sol.Label != nil && *sol.Label != labelID {
		return nil, c.badAnswer("label is not the one asked")
	}
	objects, err := recognition.CheckObjects(sol.Objects, sol.HasObject, tiles)
	if err != nil {
		return nil, c.badAnswer("%s", err.Error())
	}
	s := build(objects, size, labelID)
	if sol.HasObject != nil {
		s.Fields = append(s.Fields, field("hasObject", *sol.HasObject))
	}
	return s, nil
}

// parseAnswer reads a ComplexImageTask solution: one boolean per tile, in reading order.
func (c *Client) parseAnswer(raw json.RawMessage, labelID string, size, tiles int) (*recognition.Solution, error) {
	var sol struct {
		Answer []bool `json:"answer"`
	}
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &sol) != nil {
		return nil, c.badAnswer("no solution object")
	}
	if len(sol.Answer) != tiles {
		return nil, c.badAnswer("%d answers for %d tiles", len(sol.Answer), tiles)
	}
	objects := []int{}
	for i, yes := range sol.Answer {
		if yes {
			objects = append(objects, i)
		}
	}
	return build(objects, size, labelID), nil
}

// build renders a solution in AceData's field order (docs/upstream-contract.txt): size, label (the one asked: these
// envelopes answer the task they were given, and a caller reads the label as with AceData),
// objects, type.
func build(objects []int, size int, labelID string) *recognition.Solution {
	kind := "multi"
	if size == 100 {
		kind = "single"
	}
	return &recognition.Solution{Size: size, Label: labelID, Objects: objects, Type: kind,
		Fields: []recognition.Field{field("size", size), field("label", labelID), field("objects", objects), field("type", kind)}}
}

func field(key string, v any) recognition.Field {
	b, _ := json.Marshal(v)
	return recognition.Field{Key: key, Value: b}
}
