package providers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// reporter answers each report with the next of errs (nil: accepted) and counts the calls.
type reporter struct {
	errs     []error
	calls    int
	noMethod bool
}

func (r *reporter) HasReportMethod(bool) bool { return !r.noMethod }

func (r *reporter) Report(context.Context, string, bool) error {
	r.calls++
	if len(r.errs) == 0 {
		return nil
	}
	err := r.errs[0]
	r.errs = r.errs[1:]
	return err
}

// Each outcome of a report, and how many sends it took: once per answer, faults retried up to
// Tries, a refusal or a missing method never retried, a failed report open to a later try.
func TestReports(t *testing.T) {
	for _, c := range []struct {
		name     string
		errs     []error
		outcomes []string // of two reports of the same answer
		calls    int
	}{
		{"sent once", nil, []string{ReportSent, ReportDuplicate}, 1},
		{"fault retried", []error{err500, err429}, []string{ReportSent, ReportDuplicate}, 3},
		{"failed, then tried again", []error{err500, err500, err500}, []string{ReportFailed, ReportSent}, 4},
		{"no method", []error{recognition.ErrNoReportMethod}, []string{ReportNoMethod, ReportDuplicate}, 1},
		{"refused", []error{fmt.Errorf("%w: lost", recognition.ErrRejected)}, []string{ReportRefused, ReportDuplicate}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := &reporter{errs: c.errs}
			r := NewReports(map[string]recognition.Reporter{"p": rep})
			r.Backoff = time.Microsecond
			var seen []string
			r.OnReport = func(p string, bad bool, outcome string) { seen = append(seen, fmt.Sprint(p, bad, outcome)) }
			got := []string{r.Report(context.Background(), "p", "t1", true), r.Report(context.Background(), "p", "t1", true)}
			if got[0] != c.outcomes[0] || got[1] != c.outcomes[1] || rep.calls != c.calls || len(seen) != 2 || seen[0] != "ptrue"+c.outcomes[0] {
				t.Fatalf("%v after %d sends, seen %v; want %v after %d", got, rep.calls, seen, c.outcomes, c.calls)
			}
		})
	}
	r := NewReports(map[string]recognition.Reporter{"p": &reporter{}})
	if got := r.Report(context.Background(), "q", "t", true); got != ReportNoProvider {
		t.Errorf("unknown provider: %s", got)
	}
	if got := r.Report(context.Background(), "p", "", true); got != ReportNoProvider {
		t.Errorf("no task id: %s", got)
	}
	// A provider with no method says so even when its task id is not known, and is not called.
	none := &reporter{noMethod: true}
	withoutMethod := NewReports(map[string]recognition.Reporter{"p": none})
	if got := withoutMethod.Report(context.Background(), "p", "", true); got != ReportNoMethod || none.calls != 0 {
		t.Errorf("a provider without a report method, no task id: %s after %d calls", got, none.calls)
	}
	// The memory is bounded: the oldest answer is forgotten first.
	for i := 0; i <= MaxRemembered; i++ {
		r.Report(context.Background(), "p", fmt.Sprint(i), true)
	}
	if len(r.sent.done) != MaxRemembered || r.Report(context.Background(), "p", "0", true) != ReportSent {
		t.Errorf("%d remembered", len(r.sent.done))
	}
}

// reportingFake is a provider with a report method.
type reportingFake struct {
	*fake
	*reporter
}

// A chain's reporters are its members that have a report method, by name.
func TestChainReporters(t *testing.T) {
	chain := chainOf(&fake{name: "a", fn: ok})
	chain.Members = append(chain.Members, Member{Provider: reportingFake{fake: &fake{name: "b", fn: ok}, reporter: &reporter{}}, Breaker: NewBreaker(1, time.Second)})
	got := chain.Reporters()
	if _, ok := got["b"]; len(got) != 1 || !ok {
		t.Fatalf("%v", got)
	}
}

// A verdict is first once per answer and provider: the same subject again is not, another
// subject or another provider of the same answer is. The memory is bounded like the sends'.
func TestFirstVerdict(t *testing.T) {
	r := NewReports(nil)
	if !r.FirstVerdict("k\x00a", "acedata") || r.FirstVerdict("k\x00a", "acedata") {
		t.Fatal("the same answer's verdict counted twice, or not at all")
	}
	if !r.FirstVerdict("k\x00b", "acedata") || !r.FirstVerdict("k\x00a", "capsolver") {
		t.Fatal("another answer, or another provider of the answer, did not count")
	}
	for i := 0; i <= MaxRemembered; i++ {
		r.FirstVerdict(fmt.Sprint(i), "p")
	}
	if len(r.counted.done) != MaxRemembered || !r.FirstVerdict("0", "p") {
		t.Errorf("%d verdicts remembered", len(r.counted.done))
	}
}
