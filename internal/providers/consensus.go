package providers

import (
	"context"
	"slices"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// RecognizeOptions is Recognize with a request's options. Without consensus (or with one
// member) it is Recognize itself. With consensus (docs/accuracy.md §2) the chain asks for a first
// answer as usual; an answer that needs a second opinion (a tile under recognition.DefaultConsensusBar or the
// request's threshold, whichever is higher, or no confidences)
// is put to the next member not yet asked, and only when the two disagree on a tile to a third;
// the answer is recognition.Combine's, per tile. At most recognition.MaxConsensusCalls provider
// calls are started in all, failovers and hedges included; a second or third opinion that cannot
// be had leaves the answers already in hand.
func (c *Chain) RecognizeOptions(parent context.Context, image []byte, labelID string, size int, opts recognition.Options) (*recognition.Solution, error) {
	members := c.members()
	if !opts.Consensus || len(members) < 2 {
		return c.Recognize(parent, image, labelID, size)
	}
	asked, calls := make([]bool, len(members)), recognition.MaxConsensusCalls
	walk := func() (*recognition.Solution, error) {
		return c.ask(parent, &run{c: c, members: members, parent: parent, image: image, labelID: labelID, size: size, asked: asked, calls: &calls})
	}
	first, err := walk()
	if err != nil {
		return nil, err
	}
	bar := max(opts.MinConfidence, recognition.DefaultConsensusBar)
	sols := []*recognition.Solution{first}
	if first.NeedsSecondOpinion(bar) {
		if second, err := walk(); err == nil {
			sols = append(sols, second)
		}
	}
	if len(sols) == 2 && !slices.Equal(sols[0].Objects, sols[1].Objects) {
		if third, err := walk(); err == nil {
			sols = append(sols, third)
		}
	}
	return combined(sols, size), nil
}

// combined is the answer of sols: the one answer itself, or their per-tile combination, with
// every provider's own answer and the calls spent.
func combined(sols []*recognition.Solution, size int) *recognition.Solution {
	total := 0
	answers := make([]recognition.Answer, 0, len(sols))
	for _, s := range sols {
		total += s.Calls
		answers = append(answers, recognition.Answer{Provider: s.Provider, TaskID: s.TaskID, Objects: s.Objects})
	}
	out := sols[0]
	if len(sols) > 1 {
		out = recognition.Combine(sols, recognition.Tiles(size))
	}
	out.Answers, out.Calls = answers, total
	return out
}
