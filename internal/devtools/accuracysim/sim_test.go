package accuracysim

import (
	"math"
	"testing"
)

// The table's key figures (docs/accuracy.md), exact for the fixed seed: the simulation and the
// chain's consensus are deterministic, so any change to either shows here.
func TestKeyFigures(t *testing.T) {
	for _, c := range []struct {
		s            Scenario
		wrong, calls float64
	}{
		{Scenario{Name: "one provider", Providers: []Provider{A, B}, Confidence: Model}, 0.0969, 1.000},
		{Scenario{Name: "consensus", Providers: []Provider{A, B}, Confidence: Model, Consensus: true}, 0.0299, 1.151},
		{Scenario{Name: "weak model", Providers: []Provider{A, B}, Confidence: Weak, Consensus: true}, 0.0560, 1.122},
		{Scenario{Name: "no confidences, two", Providers: []Provider{blind(A), blind(B)}, Confidence: Model, Consensus: true}, 0.0899, 2.000},
		{Scenario{Name: "no confidences, three", Providers: []Provider{blind(A), blind(B), blind(C)}, Confidence: Model, Consensus: true}, 0.0344, 2.217},
	} {
		r := Run(c.s, Challenges, Seed)
		if math.Abs(r.Wrong-c.wrong) > 0.00005 || math.Abs(r.Calls-c.calls) > 0.0005 {
			t.Errorf("%s: wrong %.4f at %.3f calls, want %.4f at %.3f", c.s.Name, r.Wrong, r.Calls, c.wrong, c.calls)
		}
	}
}

// The goal, as the table states it: with confidences as modelled, two providers wrong on
// 10 % and 15 % reach under 4 % wrong at no more than 1.4 calls; and no request ever costs more
// than three calls.
func TestGoalAndBound(t *testing.T) {
	r := Run(Scenario{Providers: []Provider{A, B, C}, Confidence: Model, Consensus: true}, 2000, 1)
	if r.Wrong >= 0.04 || r.Calls > 1.4 {
		t.Errorf("wrong %.4f at %.3f calls", r.Wrong, r.Calls)
	}
	blindRow := Run(Scenario{Providers: []Provider{blind(A), blind(B), blind(C)}, Confidence: Model, Consensus: true}, 2000, 1)
	if blindRow.Calls > 3 || blindRow.Calls <= 2 {
		t.Errorf("calls %.3f: every challenge asks two, a third only on disagreement", blindRow.Calls)
	}
}
