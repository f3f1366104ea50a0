package taskapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/taskapi"
)

// A report reaches the provider that answered, under the task id its answer carried, through
// its own documented method: once per answer, retried on a fault, refused for a task it does not
// know; a provider or a verdict without a method says so and sends nothing.
func TestReportReachesTheProvider(t *testing.T) {
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{1, 4}}
	for _, c := range []struct {
		kind     taskapi.Kind
		bad      bool
		outcome  string
		accepted int
	}{
		{taskapi.CapSolver, true, providers.ReportSent, 1},
		{taskapi.CapSolver, false, providers.ReportSent, 1},
		{taskapi.CapMonster, true, providers.ReportSent, 1},
		{taskapi.CapMonster, false, providers.ReportNoMethod, 0},
		{taskapi.YesCaptcha, true, providers.ReportNoMethod, 0},
	} {
		srv, client := setup(t, c.kind)
		sol, err := client.Recognize(context.Background(), ch.PNG(), cars, 300)
		if err != nil || sol.TaskID == "" {
			t.Fatalf("%s: %+v, %v: the answer carries the provider's task id", c.kind, sol, err)
		}
		var seen []string
		reports := providers.NewReports(map[string]recognition.Reporter{client.Name(): client})
		reports.Backoff = time.Millisecond
		reports.OnReport = func(p string, _ bool, outcome string) { seen = append(seen, p+":"+outcome) }
		srv.InjectReport(taskemu.Fault{Status: 503, Body: "<html>"}) // the first try fails
		if got := reports.Report(context.Background(), client.Name(), sol.TaskID, c.bad); got != c.outcome {
			t.Errorf("%s bad=%v: %s, want %s", c.kind, c.bad, got, c.outcome)
		}
		if got := reports.Report(context.Background(), client.Name(), sol.TaskID, c.bad); c.outcome == providers.ReportSent && got != providers.ReportDuplicate {
			t.Errorf("%s: the second report of one answer: %s, want duplicate", c.kind, got)
		}
		if n := srv.Reports(""); n != c.accepted || len(seen) != 2 || seen[0] != string(c.kind)+":"+c.outcome {
			t.Errorf("%s bad=%v: %d reports accepted, seen %v; want %d", c.kind, c.bad, n, seen, c.accepted)
		}
		if c.outcome == providers.ReportSent {
			if got := reports.Report(context.Background(), client.Name(), "12345", c.bad); got != providers.ReportRefused {
				t.Errorf("%s: a task it never answered: %s, want refused", c.kind, got)
			}
		}
	}
}

// Faults on every try: the report fails, and a later report of the same answer may try again.
func TestReportFailsAfterTries(t *testing.T) {
	srv, client := setup(t, taskapi.CapSolver)
	sol, err := client.Recognize(context.Background(), testimage.Challenge{Grid: 3, Tile: 100, Label: cars}.PNG(), cars, 300)
	if err != nil {
		t.Fatal(err)
	}
	reports := providers.NewReports(map[string]recognition.Reporter{client.Name(): client})
	reports.Backoff = time.Millisecond
	srv.InjectReport(taskemu.Fault{Status: 500, Body: "x"}, taskemu.Fault{Status: 429, Body: "{}"}, taskemu.Fault{Status: 502, Body: "x"})
	if got := reports.Report(context.Background(), "capsolver", sol.TaskID, true); got != providers.ReportFailed {
		t.Fatalf("%s, want failed after %d tries", got, reports.Tries)
	}
	if got := reports.Report(context.Background(), "capsolver", sol.TaskID, true); got != providers.ReportSent || srv.Reports(sol.TaskID) != 1 {
		t.Fatalf("%s, %d accepted: the answer may be reported again after a failure", got, srv.Reports(sol.TaskID))
	}
}
