package providers

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Tracker is each provider's measured accuracy, from callers' reports: per provider and label,
// the last Window verdicts (bounded memory: providers × labels × Window booleans).
type Tracker struct {
	Window int

	mu     sync.Mutex
	recent map[[2]string]*ring
}

type ring struct {
	bad  []bool
	next int
}

// NewTracker keeps the last window reports of each provider and label.
func NewTracker(window int) *Tracker {
	return &Tracker{Window: window, recent: map[[2]string]*ring{}}
}

// Record notes one report of provider's answer for label, and returns that pair's wrong-answer
// rate over its recent reports and how many there are.
func (t *Tracker) Record(provider, label string, bad bool) (rate float64, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.recent[[2]string{provider, label}]
	if r == nil {
		r = &ring{bad: make([]bool, 0, t.Window)}
		t.recent[[2]string{provider, label}] = r
	}
	if len(r.bad) < t.Window {
		r.bad = append(r.bad, bad)
	} else {
		r.bad[r.next] = bad
	}
	r.next = (r.next + 1) % t.Window
	return r.rate()
}

func (r *ring) rate() (float64, int) {
	wrong := 0
	for _, b := range r.bad {
		if b {
			wrong++
		}
	}
	if len(r.bad) == 0 {
		return 0, 0
	}
	return float64(wrong) / float64(len(r.bad)), len(r.bad)
}

// Rate is provider's wrong-answer rate over the recent reports of every label, and how many.
func (t *Tracker) Rate(provider string) (float64, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	wrong, n := 0.0, 0
	for k, r := range t.recent {
		if k[0] == provider {
			rate, c := r.rate()
			wrong, n = wrong+rate*float64(c), n+c
		}
	}
	if n == 0 {
		return 0, 0
	}
	return wrong / float64(n), n
}

// Auto-order rules (docs/accuracy.md §5).
const (
	// AutoTolerance: a provider within this wrong-answer rate of the best is as good.
	AutoTolerance = 0.02
	// AutoMinReports: fewer recent reports than this say nothing of a provider yet.
	AutoMinReports = 20
)

// AutoOrder is the order PROVIDERS=auto asks names in: the cheapest first among those whose
// measured wrong-answer rate is within AutoTolerance of the best measured; then the providers
// not yet measured (in their configured order, so they gather reports); then the rest, most
// accurate first. Price ties keep the configured order. The reason says why, for the log.
func (t *Tracker) AutoOrder(names []string, price map[string]float64) ([]string, string) {
	type entry struct {
		name  string
		rate  float64
		n     int
		index int
	}
	entries := make([]entry, len(names))
	best := 2.0
	for i, name := range names {
		rate, n := t.Rate(name)
		entries[i] = entry{name, rate, n, i}
		if n >= AutoMinReports && rate < best {
			best = rate
		}
	}
	group := func(e entry) int {
		switch {
		case e.n < AutoMinReports:
			return 1
		case e.rate <= best+AutoTolerance:
			return 0
		}
		return 2
	}
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if group(a) != group(b) {
			return group(a) < group(b)
		}
		switch group(a) {
		case 0:
			return price[a.name] < price[b.name]
		case 2:
			return a.rate < b.rate
		}
		return a.index < b.index
	})
	order, why := make([]string, len(entries)), make([]string, len(entries))
	for i, e := range entries {
		order[i] = e.name
		why[i] = fmt.Sprintf("%s (%s)", e.name, []string{
			fmt.Sprintf("wrong %.1f%% of %d, within %.0f points of the best, $%.4f", 100*e.rate, e.n, 100*AutoTolerance, price[e.name]),
			fmt.Sprintf("%d reports, not yet measured", e.n),
			fmt.Sprintf("wrong %.1f%% of %d, more than %.0f points over the best", 100*e.rate, e.n, 100*AutoTolerance),
		}[group(e)])
	}
	return order, strings.Join(why, ", ")
}

// Auto keeps a chain in measured order (PROVIDER_ORDER=auto, docs/accuracy.md §5): each report
// feeds the tracker, and every Every reports the order is evaluated again (bounded work: the
// providers × labels in the tracker); a change is logged with its reasons.
type Auto struct {
	Chain   *Chain
	Tracker *Tracker
	Prices  map[string]float64 // dollars per call, by provider name
	Every   int
	Log     *slog.Logger

	mu    sync.Mutex
	count int
	last  []string
}

// The measured order's defaults (docs/accuracy.md §4): the last 200 reports of each provider and
// label are kept, and the order is evaluated again every 20 reports.
const (
	DefaultTrackerWindow = 200
	DefaultAutoEvery     = 20
)

// NewAuto keeps chain in measured order, with the providers' prices (dollars per call).
func NewAuto(chain *Chain, prices map[string]float64, log *slog.Logger) *Auto {
	return &Auto{Chain: chain, Tracker: NewTracker(DefaultTrackerWindow), Prices: prices, Every: DefaultAutoEvery, Log: log}
}

// Record notes one report of provider's answer for label and returns the pair's recent
// wrong-answer rate and how many reports it rests on (for metrics).
func (a *Auto) Record(ctx context.Context, provider, label string, bad bool) (float64, int) {
	rate, n := a.Tracker.Record(provider, label, bad)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count++
	if a.count%max(a.Every, 1) != 0 {
		return rate, n
	}
	names := make([]string, 0, len(a.Chain.Members))
	for _, m := range a.Chain.Members {
		names = append(names, m.Provider.Name())
	}
	order, why := a.Tracker.AutoOrder(names, a.Prices)
	if !slices.Equal(order, a.last) {
		a.Chain.Reorder(order)
		a.last = order
		if a.Log != nil {
			a.Log.InfoContext(ctx, "recognition provider order from measured accuracy", "order", strings.Join(order, ","), "why", why)
		}
	}
	return rate, n
}
