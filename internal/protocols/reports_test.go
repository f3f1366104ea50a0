package protocols

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// forwarded records what each report would be forwarded with, and answers sent.
type forwarded struct {
	mu    sync.Mutex
	calls []forwardedCall
}

type forwardedCall struct {
	label   string
	answers []recognition.Answer
	bad     bool
}

func (f *forwarded) Forward(_ context.Context, _, label string, answers []recognition.Answer, bad bool) []recognition.Reported {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, forwardedCall{label, answers, bad})
	out := []recognition.Reported{}
	for _, a := range answers {
		out = append(out, recognition.Reported{Provider: a.Provider, Outcome: map[bool]string{true: "sent", false: "no_provider"}[a.TaskID != ""]})
	}
	return out
}

// taskIDUpstream answers as the fake provider does, with its own task id.
type taskIDUpstream struct{ named }

func (u taskIDUpstream) Recognize(ctx context.Context, data []byte, labelID string, size int) (*recognition.Solution, error) {
	s, err := u.named.Recognize(ctx, data, labelID, size)
	if s != nil {
		s.TaskID = "cs-task-1"
	}
	return s, err
}

// With reports forwarded, a report through either protocol goes with the label and the
// provider's own task id the solving instance kept; the createTask answer says what became of
// it. Another instance knows the provider (the id carries it) but not its task id; the verdict
// still goes, and the answer says it was not sent.
func TestForwardedReports(t *testing.T) {
	off := newFixture(t)
	off.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "GridTask", "body": b64(carsPicture), "comment": "cars"}})
	if off.solver.kept != nil {
		t.Fatal("reports are not forwarded, yet the instance keeps what they would be forwarded with")
	}
	f, other := newFixture(t), newFixture(t)
	fw := &forwarded{}
	f.solver.Reports, other.solver.Reports = fw, fw
	f.solver.Service.Upstream = taskIDUpstream{}
	_, created := f.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "GridTask", "body": b64(carsPicture), "comment": "cars"}})
	_, got := f.post(t, "/reportIncorrectImageCaptcha", map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]})
	if got["errorId"] != 0.0 || got["status"] != "success" || got["message"] != "capsolver: sent" {
		t.Fatalf("report: %v", got)
	}
	if len(fw.calls) != 1 || fw.calls[0].label != cars || !fw.calls[0].bad || len(fw.calls[0].answers) != 1 || fw.calls[0].answers[0].Provider != "capsolver" || fw.calls[0].answers[0].TaskID != "cs-task-1" {
		t.Fatalf("forwarded %+v", fw.calls)
	}
	_, got = other.post(t, "/reportCorrect", map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]})
	if got["message"] != "capsolver: no_provider" || fw.calls[1].bad || fw.calls[1].label != "" || fw.calls[1].answers[0].Provider != "capsolver" || fw.calls[1].answers[0].TaskID != "" {
		t.Fatalf("another instance: %v, forwarded %+v", got, fw.calls[1])
	}
	_, sent := f.legacy(t, "POST", InPath, url.Values{"key": {aliceKey}, "method": {"base64"}, "body": {b64(carsPicture)}, "textinstructions": {"cars"}, "recaptcha": {"1"}, "json": {"1"}}, "", nil)
	resp, _ := f.legacy(t, "GET", ResPath, url.Values{"key": {aliceKey}, "action": {"reportbad"}, "id": {sent["request"].(string)}}, "", nil)
	if string(resp.Body) != "OK_REPORT_RECORDED" || len(fw.calls) != 3 || !fw.calls[2].bad || fw.calls[2].answers[0].TaskID != "cs-task-1" {
		t.Fatalf("reportbad: %s, forwarded %+v", resp.Body, fw.calls)
	}
	if f.reports.list[0] != "bad:capsolver" {
		t.Fatalf("the front's own count: %v", f.reports.list)
	}
}
