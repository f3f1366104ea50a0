package providers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// Outcomes of forwarding a report, as the answer and the metrics name them.
const (
	ReportSent       = "sent"        // the provider accepted it
	ReportNoMethod   = "no_method"   // the provider has no report method for this verdict
	ReportDuplicate  = "duplicate"   // this answer was reported already: not sent again
	ReportRefused    = "refused"     // the provider refused it for good (unknown or expired task)
	ReportFailed     = "failed"      // every try failed (rate limit, 5xx, network, timeout)
	ReportNoProvider = "no_provider" // no provider of that name in this deployment, or its task id is not known here
)

// Reports forwards callers' reports to the provider that answered, with its own task id: once
// per answer (keyed by provider and task id), retried on faults. It also remembers whose
// verdicts counted (FirstVerdict). Both memories are this process's and bounded (MaxRemembered
// each, oldest forgotten first).
type Reports struct {
	Providers map[string]recognition.Reporter // by name, as PROVIDERS spells it
	// Tries bounds the sends of one report; Backoff is the wait after the first failed try,
	// doubled after each.
	Tries   int
	Backoff time.Duration
	// OnReport, if set, sees each report's provider, verdict and outcome (metrics, the accuracy
	// tracker).
	OnReport func(provider string, bad bool, outcome string)

	mu      sync.Mutex
	sent    memory // provider and task id of each report sent or being sent
	counted memory // subject and provider of each verdict counted
}

// memory is a bounded set of keys, the oldest forgotten first.
type memory struct {
	done  map[string]bool
	order []string
}

// claim adds key, unless it is there.
func (m *memory) claim(key string) bool {
	if m.done[key] {
		return false
	}
	if m.done == nil {
		m.done = map[string]bool{}
	}
	m.done[key] = true
	m.order = append(m.order, key)
	if len(m.order) > MaxRemembered {
		delete(m.done, m.order[0])
		m.order = m.order[1:]
	}
	return true
}

// MaxRemembered bounds the reports Reports remembers.
const MaxRemembered = 10000

// NewReports returns Reports for the providers by name, with 3 tries from a 200 ms backoff.
func NewReports(providers map[string]recognition.Reporter) *Reports {
	return &Reports{Providers: providers, Tries: 3, Backoff: 200 * time.Millisecond}
}

// Report forwards one report of the answer the provider gave under its task id taskID, and
// says what became of it.
func (r *Reports) Report(ctx context.Context, provider, taskID string, bad bool) string {
	outcome := r.report(ctx, provider, taskID, bad)
	if r.OnReport != nil {
		r.OnReport(provider, bad, outcome)
	}
	return outcome
}

func (r *Reports) report(ctx context.Context, provider, taskID string, bad bool) string {
	p, ok := r.Providers[provider]
	switch {
	case !ok:
		return ReportNoProvider
	case taskID == "" && !p.HasReportMethod(bad):
		return ReportNoMethod
	case taskID == "":
		return ReportNoProvider
	}
	key := provider + "\x00" + taskID
	if !r.claim(key) {
		return ReportDuplicate
	}
	wait := r.Backoff
	for try := 1; ; try++ {
		err := p.Report(ctx, taskID, bad)
		switch {
		case err == nil:
			return ReportSent
		case errors.Is(err, recognition.ErrNoReportMethod):
			return ReportNoMethod
		case errors.Is(err, recognition.ErrRejected):
			return ReportRefused
		case try >= r.Tries || clock.Sleep(ctx, wait) != nil:
			r.release(key) // a later report of the same answer may try again
			return ReportFailed
		}
		wait *= 2
	}
}

// claim marks key as reported, unless it was.
func (r *Reports) claim(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent.claim(key)
}

func (r *Reports) release(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sent.done, key)
}

// FirstVerdict says whether a verdict on the answer provider gave, reported by subject (what the
// caller names the answer by, with who the caller is), is the first this process has seen. A
// verdict counts towards a provider's measured accuracy once per answer, however often the
// caller reports it, whether or not there is a task id to send it with.
func (r *Reports) FirstVerdict(subject, provider string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counted.claim(subject + "\x00" + provider)
}

// Reporters is the report method of each member that has one, by name: what NewReports takes.
func (c *Chain) Reporters() map[string]recognition.Reporter {
	out := map[string]recognition.Reporter{}
	for _, m := range c.Members {
		if r, ok := m.Provider.(recognition.Reporter); ok {
			out[m.Provider.Name()] = r
		}
	}
	return out
}
