package providers

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// The tracker keeps only the recent window; the auto order puts the cheapest of the accurate
// first, then the unmeasured, then the inaccurate, and says why.
func TestTrackerAndAutoOrder(t *testing.T) {
	tr := NewTracker(50)
	for i := 0; i < 100; i++ { // the first 50 all wrong, the recent 50 one in ten
		tr.Record("a", "/m/0k4j", i < 50 || i%10 == 0)
	}
	if rate, n := tr.Rate("a"); n != 50 || rate != 0.1 {
		t.Fatalf("a: %.3f of %d, want the window's 0.1 of 50", rate, n)
	}
	for i := 0; i < 40; i++ {
		tr.Record("b", "/m/015qff", i%10 == 0) // 10 %, as good as a
		tr.Record("c", "/m/0k4j", i%4 == 0)    // 25 %
	}
	tr.Record("d", "/m/0k4j", true) // too few to say
	price := map[string]float64{"a": 0.001, "b": 0.0008, "c": 0.0001, "d": 0.0002}
	order, why := tr.AutoOrder([]string{"d", "c", "a", "b"}, price)
	if !slices.Equal(order, []string{"b", "a", "d", "c"}) || !strings.Contains(why, "c (wrong 25.0% of 40") {
		t.Fatalf("%v: %s", order, why)
	}
	// With no reports at all, the configured order stands.
	if order, _ := NewTracker(10).AutoOrder([]string{"d", "c"}, price); !slices.Equal(order, []string{"d", "c"}) {
		t.Fatalf("%v", order)
	}
}

// Auto reorders the chain from reports, every Every reports, and new requests follow the order.
func TestAutoReorders(t *testing.T) {
	a, b := &fake{name: "a", fn: ok}, &fake{name: "b", fn: ok}
	chain := chainOf(a, b)
	auto := &Auto{Chain: chain, Tracker: NewTracker(100), Prices: map[string]float64{"a": 0.001, "b": 0.0005}, Every: 10}
	for i := 0; i < AutoMinReports; i++ {
		auto.Record(context.Background(), "a", "/m/0k4j", i%10 == 0) // 10 %
		auto.Record(context.Background(), "b", "/m/0k4j", i%10 == 0) // 10 %, cheaper
	}
	sol, err := chain.Recognize(context.Background(), nil, "/m/0k4j", 300)
	if err != nil || sol.Provider != "b" || b.calls.Load() != 1 || a.calls.Load() != 0 {
		t.Fatalf("%+v %v: the cheaper of two as accurate is asked first", sol, err)
	}
	for i := 0; i < 40; i++ {
		auto.Record(context.Background(), "b", "/m/0k4j", true) // b goes bad
	}
	if sol, _ := chain.Recognize(context.Background(), nil, "/m/0k4j", 300); sol.Provider != "a" {
		t.Fatalf("%s answered: an inaccurate provider goes last", sol.Provider)
	}
}
