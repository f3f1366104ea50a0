package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/answerid"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// maxReportBytes bounds a report's body: an answer id and a verdict.
const maxReportBytes = 4096

// reportCall is one POST /report: a caller's verdict on an answer, by its answer_id.
type reportCall struct {
	api *API
	req wire.Request
}

func (c reportCall) Credential() string { return c.req.Header.Get("Authorization") }

// Serve forwards the verdict to each provider whose answer it was, and says what became of it at
// each (docs/accuracy.md §3).
func (c reportCall) Serve(ctx context.Context, caller, traceID string) (wire.Response, wire.Record, error) {
	a := c.api
	if a.Reports == nil {
		return wire.Response{}, wire.Record{}, apierr.New(apierr.CodeReportsNotConfigured,
			"this deployment does not forward reports (FORWARD_REPORTS is off)")
	}
	r, err := parseReport(c.req)
	if err != nil {
		return wire.Response{}, wire.Record{}, err
	}
	rec := wire.Record{Attrs: []any{"report", r.Verdict}}
	label, answers, err := a.AnswerIDs.Open(ctx, caller, r.AnswerID)
	switch {
	case errors.Is(err, answerid.ErrInvalid):
		return wire.Response{}, rec, apierr.New(apierr.CodeUnknownAnswer, "answer_id is not an answer this deployment gave you")
	case errors.Is(err, answerid.ErrExpired):
		return wire.Response{}, rec, apierr.New(apierr.CodeUnknownAnswer, "answer_id is over an hour old: its providers take no report of it")
	case err != nil:
		return wire.Response{}, rec, err
	}
	reported := a.Reports.Forward(ctx, label, answers, r.Verdict == api.VerdictWrong)
	out := api.ReportAnswer{Reports: make([]api.ProviderReport, 0, len(reported)), TraceID: traceID}
	providers, outcomes := make([]string, 0, len(reported)), make([]string, 0, len(reported))
	for _, p := range reported {
		out.Reports = append(out.Reports, api.ProviderReport{Provider: p.Provider, Outcome: p.Outcome})
		providers, outcomes = append(providers, p.Provider), append(outcomes, p.Outcome)
	}
	rec = rec.With("label", label, "report_provider", strings.Join(providers, ","), "report_outcome", strings.Join(outcomes, ","))
	body, _ := json.Marshal(out)
	return wire.Response{Status: http.StatusOK, Header: wire.JSONHeader(), Body: body}, rec, nil
}

// parseReport reads a report's body: JSON {"answer_id", "verdict"}, nothing else.
func parseReport(req wire.Request) (api.ReportRequest, error) {
	var r api.ReportRequest
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil || (mediaType != "application/json" && !strings.HasSuffix(mediaType, "+json")) {
			return r, apierr.New(apierr.CodeUnsupportedMedia, "a report is JSON: send application/json")
		}
	}
	if len(req.Body) > maxReportBytes {
		return r, apierr.New(apierr.CodeTooLarge, "a report's body is over %d bytes", maxReportBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() {
		return r, badRequest(`the body must be one JSON object {"answer_id", "verdict"}, nothing else`)
	}
	if r.AnswerID == "" {
		return r, badRequest("answer_id is required: the answer_id of the answer reported")
	}
	if r.Verdict != api.VerdictWrong && r.Verdict != api.VerdictRight {
		return r, badRequest("verdict must be %q or %q, not %q", api.VerdictWrong, api.VerdictRight, apierr.Clip(r.Verdict, 32))
	}
	return r, nil
}
