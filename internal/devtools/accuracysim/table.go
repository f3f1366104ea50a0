package accuracysim

import (
	"fmt"
	"io"
	"time"
)

// The simulated providers of the table (docs/accuracy.md §4): A and B are the pair, wrong
// on 10 % and 15 % of challenges; C is a third provider for the tie-breaks. Prices and latencies
// are of the order the providers publish, not theirs exactly.
var (
	A = Provider{Name: "A", Wrong: 0.10, Confidences: true, Price: 0.0008, Median: 900 * time.Millisecond, P99: 3 * time.Second}
	B = Provider{Name: "B", Wrong: 0.15, Confidences: true, Price: 0.0006, Median: 1500 * time.Millisecond, P99: 6 * time.Second}
	C = Provider{Name: "C", Wrong: 0.10, Confidences: true, Price: 0.0010, Median: 2 * time.Second, P99: 8 * time.Second}
)

// Model is the confidence model of the table: 80 % of wrong answers show a low confidence on the
// wrong tile; 8 % of right answers show one on some tile.
var Model = Confidence{LowWhenWrong: 0.8, LowWhenRight: 0.08}

// Weak is the sensitivity row's model: wrong answers are as often sure as unsure.
var Weak = Confidence{LowWhenWrong: 0.5, LowWhenRight: 0.08}

func blind(p Provider) Provider { p.Confidences = false; return p }

// Scenarios are the table's rows, in order.
func Scenarios() []Scenario {
	var out []Scenario
	add := func(name string, ps []Provider, m Confidence, thresholds ...float64) {
		for _, consensus := range []bool{false, true} {
			for _, t := range thresholds {
				out = append(out, Scenario{Name: name, Providers: ps, Confidence: m, Consensus: consensus, MinConfidence: t})
			}
		}
	}
	add("A,B with confidences", []Provider{A, B}, Model, 0, 0.7, 0.9)
	add("A,B,C with confidences", []Provider{A, B, C}, Model, 0, 0.9)
	add("A,B with confidences, weak model", []Provider{A, B}, Weak, 0, 0.9)
	add("A,B without confidences", []Provider{blind(A), blind(B)}, Model, 0, 0.9)
	add("A,B,C without confidences", []Provider{blind(A), blind(B), blind(C)}, Model, 0, 0.9)
	return out
}

// Challenges and Seed are the table's: every figure is exact for them.
const (
	Challenges = 20000
	Seed       = 28
)

// Table runs every scenario.
func Table() []Row {
	var rows []Row
	for _, s := range Scenarios() {
		rows = append(rows, Run(s, Challenges, Seed))
	}
	return rows
}

// Print writes rows as a Markdown table.
func Print(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| providers (in order) | consensus | min_confidence | wrong challenges | left uncertain | calls / challenge | cost / 1000 | p50 | p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		consensus, threshold := "off", "off"
		if r.Consensus {
			consensus = "on"
		}
		if r.MinConfidence > 0 {
			threshold = fmt.Sprintf("%.1f", r.MinConfidence)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f %% | %.2f %% | %.3f | $%.3f | %.2f s | %.2f s |\n", r.Name, consensus, threshold,
			100*r.Wrong, 100*r.Uncertain, r.Calls, 1000*r.Cost, r.P50.Seconds(), r.P99.Seconds())
	}
}
