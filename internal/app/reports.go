package app

import (
	"context"
	"log/slog"
	"sync"

	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// forwarding is FORWARD_REPORTS=on (docs/accuracy.md §3, §4): each report goes to the provider
// that answered, counted per provider and outcome; its verdict feeds the provider's measured
// accuracy (the metrics), and with PROVIDER_ORDER=auto the chain's order.
type forwarding struct {
	reports *providers.Reports
	// record notes a verdict on provider's answer for label and returns the pair's recent
	// wrong-answer rate and how many reports it rests on.
	record  func(ctx context.Context, provider, label string, bad bool) (float64, int)
	metrics *metrics.Emitter
}

// newForwarding builds the report forwarding of chain, or nothing when the deployment does not
// forward reports: then no report state exists and no front offers a report id.
func newForwarding(acc Accuracy, chain *providers.Chain, emitter *metrics.Emitter, log *slog.Logger) recognition.Forwarder {
	if !acc.ForwardReports {
		return nil
	}
	reports := providers.NewReports(chain.Reporters())
	reports.OnReport = emitter.EmitProviderReport
	f := &forwarding{reports: reports, metrics: emitter}
	if acc.AutoOrder {
		f.record = providers.NewAuto(chain, acc.Prices, log).Record
	} else {
		tracker := providers.NewTracker(providers.DefaultTrackerWindow)
		f.record = func(_ context.Context, provider, label string, bad bool) (float64, int) {
			return tracker.Record(provider, label, bad)
		}
	}
	return f
}

// Forward sends the report to every provider whose answer it concerns at once: each is retried
// on its own faults, so one slow provider does not hold the others' back.
func (f *forwarding) Forward(ctx context.Context, subject, label string, answers []recognition.Answer, bad bool) []recognition.Reported {
	if label == "" {
		label = "unknown" // a metric's dimension is never empty
	}
	out := make([]recognition.Reported, len(answers))
	var wg sync.WaitGroup
	for i, a := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome := f.reports.Report(ctx, a.Provider, a.TaskID, bad)
			out[i] = recognition.Reported{Provider: a.Provider, Outcome: outcome}
			// A verdict counts once per answer, and only on an answer a provider of this
			// deployment gave (one without a task id, such as AceData's, counts as well: it is
			// sent nowhere, and says as much of the provider's accuracy).
			if _, member := f.reports.Providers[a.Provider]; !member || outcome == providers.ReportDuplicate ||
				!f.reports.FirstVerdict(subject, a.Provider) {
				return
			}
			rate, n := f.record(ctx, a.Provider, label, bad)
			f.metrics.EmitAccuracy(a.Provider, label, rate, n)
		}()
	}
	wg.Wait()
	return out
}
