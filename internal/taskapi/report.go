package taskapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

var _ recognition.Reporter = (*Client)(nil)

// Report tells the provider that its answer to taskID was wrong (bad) or right, with its own
// method (docs/providers.md §5): CapMonster's reportIncorrectImageCaptcha (a wrong answer only;
// taskId an integer), CapSolver's feedbackTask (result.invalid either way). YesCaptcha documents
// no report method: recognition.ErrNoReportMethod. A refused key is re-read once, as for
// Recognize; a task the provider does not know is a refusal (recognition.ErrRejected), never
// worth another try.
func (c *Client) Report(ctx context.Context, taskID string, bad bool) error {
	path, body, err := c.reportRequest(taskID, bad)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.AttemptTimeout)
	defer cancel()
	for refreshed := false; ; refreshed = true {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return err
		}
		body["clientKey"] = tok
		_, err = c.call(ctx, path, body)
		switch {
		case errors.Is(err, errKeyRefused) && !refreshed:
			c.tokens.Refused(tok)
			continue
		case errors.Is(err, errKeyRefused):
			return apierr.Wrap(err, apierr.CodeUpstreamAuth, "the recognition provider refused this service's key")
		case errors.Is(err, errNoSuchTask):
			return fmt.Errorf("%w: %w", recognition.ErrRejected, err)
		}
		return err
	}
}

// reportRequest is the provider's report method and body for taskID, without the key.
// HasReportMethod says whether the provider reports the verdict, as reportRequest decides it.
func (c *Client) HasReportMethod(bad bool) bool {
	_, _, err := c.reportRequest("", bad)
	return !errors.Is(err, recognition.ErrNoReportMethod)
}

func (c *Client) reportRequest(taskID string, bad bool) (string, map[string]any, error) {
	switch c.kind {
	case CapMonster:
		id, err := strconv.ParseInt(taskID, 10, 64)
		if !bad {
			return "", nil, recognition.ErrNoReportMethod
		}
		if err != nil || id <= 0 {
			return "", nil, fmt.Errorf("%w: not a CapMonster task id", recognition.ErrRejected)
		}
		return "/reportIncorrectImageCaptcha", map[string]any{"taskId": id}, nil
	case CapSolver:
		if taskID == "" {
			return "", nil, fmt.Errorf("%w: no task id", recognition.ErrRejected)
		}
		return "/feedbackTask", map[string]any{"taskId": taskID, "result": map[string]any{"invalid": bad}}, nil
	}
	return "", nil, recognition.ErrNoReportMethod
}
