package providers

import (
	"context"
	"slices"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// answering is a provider answering objects with confidences (nil: none sent).
func answering(objects []int, conf []float64) func(context.Context) (*recognition.Solution, error) {
	return func(context.Context) (*recognition.Solution, error) {
		return &recognition.Solution{Size: 300, Objects: slices.Clone(objects), Confidences: conf, TaskID: "t"}, nil
	}
}

func sure(objects ...int) []float64 {
	c := make([]float64, 9)
	for _, o := range objects {
		c[o] = 1
	}
	return c
}

func unsure(objects []int, tile int) []float64 {
	c := sure(objects...)
	c[tile] = 0.6
	return c
}

// Consensus asks a second provider only for an uncertain answer, a third only when two disagree,
// never more than three calls, and says who agreed; off, it is the plain chain.
func TestConsensus(t *testing.T) {
	on := recognition.Options{Consensus: true}
	for _, c := range []struct {
		name    string
		opts    recognition.Options
		answers []func(context.Context) (*recognition.Solution, error)
		objects []int
		calls   []int64
		agreed  []string
		// uncertain: the tiles left unclicked for a tie
		uncertain []int
	}{
		{name: "off", opts: recognition.Options{}, answers: []func(context.Context) (*recognition.Solution, error){
			answering([]int{1}, nil), answering([]int{2}, nil), ok}, objects: []int{1}, calls: []int64{1, 0, 0}},
		{name: "sure: one call", opts: on, answers: []func(context.Context) (*recognition.Solution, error){
			answering([]int{1}, sure(1)), answering([]int{2}, sure(2)), ok}, objects: []int{1}, calls: []int64{1, 0, 0}},
		{name: "unsure, confirmed: two calls", opts: on, answers: []func(context.Context) (*recognition.Solution, error){
			answering([]int{1}, unsure([]int{1}, 1)), answering([]int{1}, sure(1)), ok}, objects: []int{1}, calls: []int64{1, 1, 0},
			agreed: []string{"a", "b"}},
		{name: "no confidences, disagreeing: three calls, majority", opts: on, answers: []func(context.Context) (*recognition.Solution, error){
			answering([]int{1, 4}, nil), answering([]int{1}, nil), answering([]int{1}, nil)}, objects: []int{1}, calls: []int64{1, 1, 1},
			agreed: []string{"b", "c"}},
		// a fails, b and c disagree on tile 4 and no call is left for d: the tie stays unclicked.
		{name: "failover counts against the bound", opts: on, answers: []func(context.Context) (*recognition.Solution, error){
			failing(err500), answering([]int{1, 4}, nil), answering([]int{1}, nil)}, objects: []int{1}, calls: []int64{1, 1, 1},
			agreed: []string{"c"}, uncertain: []int{4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakes := []*fake{{name: "a", fn: c.answers[0]}, {name: "b", fn: c.answers[1]}, {name: "c", fn: c.answers[2]}, {name: "d", fn: ok}}
			sol, err := chainOf(fakes...).RecognizeOptions(context.Background(), nil, "/m/0k4j", 300, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			calls := []int64{fakes[0].calls.Load(), fakes[1].calls.Load(), fakes[2].calls.Load()}
			if !slices.Equal(sol.Objects, c.objects) || !slices.Equal(calls, c.calls) || !slices.Equal(sol.Agreed, c.agreed) || fakes[3].calls.Load() != 0 {
				t.Fatalf("objects %v calls %v (d %d) agreed %v; want %v %v %v", sol.Objects, calls, fakes[3].calls.Load(), sol.Agreed, c.objects, c.calls, c.agreed)
			}
			if !slices.Equal(sol.Uncertain, c.uncertain) {
				t.Errorf("uncertain %v, want %v", sol.Uncertain, c.uncertain)
			}
			var total int64
			for _, n := range calls {
				total += n
			}
			if sol.Calls != int(total) {
				t.Errorf("Calls %d, %d made", sol.Calls, total)
			}
		})
	}
}

// BenchmarkConsensusOff is the cost of consensus when off: the plain chain against
// RecognizeOptions without consensus, in the same run (docs/performance.md).
func BenchmarkConsensusOff(b *testing.B) {
	chain := chainOf(&fake{name: "a", fn: ok}, &fake{name: "b", fn: ok})
	ctx := context.Background()
	b.Run("Recognize", func(b *testing.B) {
		for b.Loop() {
			chain.Recognize(ctx, nil, "/m/0k4j", 300)
		}
	})
	b.Run("RecognizeOptions-off", func(b *testing.B) {
		for b.Loop() {
			chain.RecognizeOptions(ctx, nil, "/m/0k4j", 300, recognition.Options{})
		}
	})
	b.Run("RecognizeOptions-on-sure", func(b *testing.B) {
		sureChain := chainOf(&fake{name: "a", fn: answering([]int{1}, sure(1))}, &fake{name: "b", fn: ok})
		for b.Loop() {
			sureChain.RecognizeOptions(ctx, nil, "/m/0k4j", 300, recognition.Options{Consensus: true})
		}
	})
}
