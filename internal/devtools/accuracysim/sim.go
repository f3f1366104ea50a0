// Package accuracysim is a development tool: a simulation of recognition providers with known
// per-challenge error rates, confidence behaviour, prices and latencies, asked through the real
// chain of providers (internal/providers) with consensus off or on and through the domain's
// threshold, in process, with simulated time and a fixed seed (docs/accuracy.md).
package accuracysim

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// Provider is one simulated provider.
type Provider struct {
	Name string
	// Wrong is the share of challenges it answers wrong, independently of every other provider.
	Wrong float64
	// Confidences says whether it sends a confidence per tile.
	Confidences bool
	// Price is what one call costs, in US dollars.
	Price float64
	// Median and P99 shape its latency: log-normal with that median and 99th percentile.
	Median, P99 time.Duration
}

// Confidence is the model of how sure a provider says it is (docs/accuracy.md §4). A tile's
// certainty (a provider's confidence in its own verdict, max(c, 1−c)) is high, uniform in
// [0.9, 1], except: a wrong answer's wrong tile is low, uniform in [0.5, 0.9), in LowWhenWrong
// of wrong answers; a right answer has one random tile low in LowWhenRight of right answers.
type Confidence struct {
	LowWhenWrong float64
	LowWhenRight float64
}

// Scenario is one row of the table.
type Scenario struct {
	Name          string
	Providers     []Provider
	Confidence    Confidence
	Consensus     bool
	MinConfidence float64
}

// Row is what a scenario measured.
type Row struct {
	Scenario
	Challenges int
	Wrong      float64 // share of challenges whose clicked tiles are not exactly the right ones
	Uncertain  float64 // share of challenges with a tile left unclicked as uncertain
	Calls      float64 // provider calls per challenge
	Cost       float64 // dollars per challenge
	P50, P99   time.Duration
}

// Tiles is the simulated grid (3×3, the engine's 300 px picture).
const Tiles = 9

// Run measures s over n challenges drawn from seed: every figure is a function of (s, n, seed).
func Run(s Scenario, n int, seed uint64) Row {
	truth := challenges(n, seed)
	chain := &providers.Chain{}
	for i, p := range s.Providers {
		chain.Members = append(chain.Members, providers.Member{
			Provider: &fake{Provider: p, index: i, seed: seed, truth: truth, conf: s.Confidence},
			Breaker:  providers.NewBreaker(providers.DefaultThreshold, providers.DefaultCooldown)})
	}
	opts := recognition.Options{MinConfidence: s.MinConfidence, Consensus: s.Consensus}
	row := Row{Scenario: s, Challenges: n}
	latencies := make([]time.Duration, 0, n)
	var wrong, uncertain, calls int
	var cost float64
	for c := range truth {
		t := &tally{}
		ctx := context.WithValue(context.Background(), tallyKey{}, t)
		sol, err := chain.RecognizeOptions(ctx, binary.AppendUvarint(nil, uint64(c)), "/m/0k4j", 300, opts)
		if err != nil {
			panic(err) // the simulated providers never fail
		}
		sol.ApplyThreshold(s.MinConfidence)
		if !slices.Equal(sol.Objects, truth[c].objects) {
			wrong++
		}
		if len(sol.Uncertain) > 0 {
			uncertain++
		}
		calls += t.calls
		cost += t.cost
		latencies = append(latencies, t.latency)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	row.Wrong, row.Uncertain = float64(wrong)/float64(n), float64(uncertain)/float64(n)
	row.Calls, row.Cost = float64(calls)/float64(n), cost/float64(n)
	row.P50, row.P99 = latencies[n/2], latencies[n*99/100]
	return row
}

// challenge is one simulated picture: the tiles that show the label, and the one tile a wrong
// provider gets wrong (errors cluster on the hard tile, so two wrong providers agree).
type challenge struct {
	objects []int
	hard    int
}

func challenges(n int, seed uint64) []challenge {
	r := rand.New(rand.NewPCG(seed, 0))
	out := make([]challenge, n)
	for i := range out {
		out[i].objects = []int{}
		for t := 0; t < Tiles; t++ {
			if r.Float64() < 0.35 {
				out[i].objects = append(out[i].objects, t)
			}
		}
		out[i].hard = r.IntN(Tiles)
	}
	return out
}

// tally is one challenge's simulated cost: calls, dollars and time (the chain asks one provider
// after another, so the times add up).
type tally struct {
	mu      sync.Mutex
	calls   int
	cost    float64
	latency time.Duration
}

type tallyKey struct{}

// fake is a simulated provider behind the real chain: the picture it is sent is the challenge's
// number, and its answer is drawn from (seed, provider, challenge) alone.
type fake struct {
	Provider
	index int
	seed  uint64
	truth []challenge
	conf  Confidence
}

func (f *fake) Name() string { return f.Provider.Name }

func (f *fake) Recognize(ctx context.Context, image []byte, labelID string, size int) (*recognition.Solution, error) {
	c, _ := binary.Uvarint(image)
	r := rand.New(rand.NewPCG(f.seed, uint64(f.index+1)<<40|c))
	ch := f.truth[c]
	verdict := make([]bool, Tiles)
	for _, o := range ch.objects {
		verdict[o] = true
	}
	certainty := make([]float64, Tiles)
	for t := range certainty {
		certainty[t] = 0.9 + 0.1*r.Float64()
	}
	low := 0.5 + 0.4*r.Float64()
	if r.Float64() < f.Wrong {
		verdict[ch.hard] = !verdict[ch.hard]
		if r.Float64() < f.conf.LowWhenWrong {
			certainty[ch.hard] = low
		}
	} else if r.Float64() < f.conf.LowWhenRight {
		certainty[r.IntN(Tiles)] = low
	}
	lat := time.Duration(float64(f.Median) * math.Exp(r.NormFloat64()*math.Log(float64(f.P99)/float64(f.Median))/2.326))
	t := ctx.Value(tallyKey{}).(*tally)
	t.mu.Lock()
	t.calls, t.cost, t.latency = t.calls+1, t.cost+f.Price, t.latency+lat
	t.mu.Unlock()
	return solution(verdict, certainty, f.Confidences, labelID, fmt.Sprintf("%s-%d", f.Provider.Name, c)), nil
}

func solution(verdict []bool, certainty []float64, withConfidences bool, labelID, taskID string) *recognition.Solution {
	s := &recognition.Solution{Size: 300, Label: labelID, Objects: []int{}, Type: "multi", TaskID: taskID}
	for t, yes := range verdict {
		if yes {
			s.Objects = append(s.Objects, t)
		}
	}
	objects, _ := json.Marshal(s.Objects)
	s.Fields = []recognition.Field{{Key: "objects", Value: objects}}
	if withConfidences {
		s.Confidences = make([]float64, Tiles)
		for t, yes := range verdict {
			s.Confidences[t] = certainty[t]
			if !yes {
				s.Confidences[t] = 1 - certainty[t]
			}
		}
		conf, _ := json.Marshal(s.Confidences)
		s.Fields = append(s.Fields, recognition.Field{Key: "confidences", Value: conf})
	}
	return s
}
