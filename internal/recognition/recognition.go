// Package recognition is the service every entry point shares: question and image in, the
// upstream's checked solution out, with the grid and the click coordinates in the caller's image.
package recognition

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
)

// Upstream is the port to a recognition API: the picture at the upstream's size, the label id,
// and the size sent; the answer checked against what was asked.
type Upstream interface {
	Recognize(ctx context.Context, image []byte, labelID string, size int) (*Solution, error)
}

// Provider is one recognition API behind the Upstream port (an adapter of one provider's
// envelope), named for operators, metrics and the answer's solution.provider.
type Provider interface {
	Upstream
	Name() string
}

// Field is one field of the upstream's solution object, kept byte for byte once checked.
type Field struct {
	Key   string
	Value json.RawMessage
}

// Solution is the upstream's answer, checked. Fields holds the contract's fields as sent, in
// order, and only those that passed the checks: nothing else the upstream (or a proxy in front
// of it) wrote reaches a caller.
type Solution struct {
	Size        int
	Label       string
	Confidences []float64
	Objects     []int
	Type        string
	Fields      []Field
	// Provider names who answered (set by the chain of providers; empty for a bare adapter).
	Provider string
	// TaskID is the answering provider's own id of the task, for a later report (empty when the
	// provider has none).
	TaskID string
	// Uncertain lists the tiles chosen but not clicked for want of confidence (nil when no
	// threshold was asked; empty when every chosen tile passed).
	Uncertain []int
	// Votes, Agreed and Answers are set when several providers answered (consensus): per tile,
	// how many agreed with the verdict; the providers whose whole answer is the combined one;
	// every provider's own answer, in the order asked.
	Votes   []int
	Agreed  []string
	Answers []Answer
	// Calls is how many provider calls the answer cost (set by the chain).
	Calls int
}

// Tiles is the number of tiles of a picture of size pixels square at the engine's sizes (100: one
// tile, 300: 3×3, 450: 4×4), 0 for any other size.
func Tiles(size int) int { return map[int]int{100: 1, 300: 9, 450: 16}[size] }

// CheckObjects checks a provider's answer of which tiles show the label, as objects (tile
// indices) or, for a single tile, hasObject, and returns the objects. It is strict wherever a
// wrong click would follow: an index outside the grid or repeated, hasObject on a grid, neither
// given, or both given and disagreeing. The error says what is wrong, for the caller's message.
func CheckObjects(objects []int, hasObject *bool, tiles int) ([]int, error) {
	if hasObject != nil {
		if tiles != 1 {
			return nil, fmt.Errorf("hasObject on a %d-tile grid", tiles)
		}
		derived := []int{}
		if *hasObject {
			derived = []int{0}
		}
		if objects != nil && !slices.Equal(objects, derived) {
			return nil, errors.New("objects and hasObject disagree")
		}
		return derived, nil
	}
	if objects == nil {
		return nil, errors.New("no objects")
	}
	seen := make(map[int]bool, len(objects))
	for _, o := range objects {
		if o < 0 || o >= tiles || seen[o] {
			return nil, fmt.Errorf("object %d is not a tile of a %d-tile grid, or repeated", o, tiles)
		}
		seen[o] = true
	}
	return objects, nil
}

// ErrRejected is the cause of an upstream error for a request it refused as malformed (a 4xx
// other than an auth or rate-limit answer): for a picture forwarded undecoded, most likely the
// caller's broken picture.
var ErrRejected = errors.New("upstream: request rejected")

// ErrUnsolved is the cause of a provider's error when it could not solve this picture: the next
// provider is asked, but the failure says nothing of the provider's health.
var ErrUnsolved = errors.New("provider: could not solve the picture")

// ErrExhausted is the cause of a provider's error when this service's balance there is used up:
// the provider's failure (the next provider is asked), never the caller's.
var ErrExhausted = errors.New("provider: balance exhausted")

// Service recognizes challenges.
type Service struct {
	Questions *question.Table
	Limits    imaging.Limits
	Upstream  Upstream
	// Defaults are the deployment's accuracy options, for requests that set none.
	Defaults Options
}

// Input is one challenge as a caller sent it.
type Input struct {
	Image    []byte
	Question string
	Grid     string // "" to take it from the picture
	// MinConfidence and Consensus, when set, override the deployment's Defaults.
	MinConfidence *float64
	Consensus     *bool
}

// options are the request's accuracy options: its own where set, else the deployment's.
func (s *Service) options(in Input) Options {
	o := s.Defaults
	if in.MinConfidence != nil {
		o.MinConfidence = *in.MinConfidence
	}
	if in.Consensus != nil {
		o.Consensus = *in.Consensus
	}
	return o
}

// Result is a recognized challenge.
type Result struct {
	// Solution is the upstream's solution object, every field unchanged, plus grid and clicks.
	Solution json.RawMessage
	Label    question.Label
	Grid     imaging.Grid
	Image    *imaging.Normalized
	Objects  []int
	Timings  Timings
	Provider string // who answered, when known
	// Answers are the providers' own answers and task ids, what a report is forwarded with: the
	// one provider that answered, or every provider asked under consensus.
	Answers []Answer
	// Agreed names the providers whose whole answer is the combined one, when several answered.
	Agreed []string
}

// Reportable is the answers a caller's report of this result concerns: the one provider's, or
// under consensus those of the providers that agreed with the answer given (a provider that
// disagreed gave another answer than the one reported on).
func (r *Result) Reportable() []Answer {
	if len(r.Answers) < 2 {
		return r.Answers
	}
	out := make([]Answer, 0, len(r.Agreed))
	for _, a := range r.Answers {
		if slices.Contains(r.Agreed, a.Provider) {
			out = append(out, a)
		}
	}
	return out
}

// Timings are where the time went, for logs and metrics.
type Timings struct {
	Normalize time.Duration
	Upstream  time.Duration
}

// Click is where to click for one recognized tile, in the caller's own image.
type Click = api.Click

// Recognize validates the cheap things first (question, grid), then the image from its header,
// then normalizes it and asks the upstream.
func (s *Service) Recognize(ctx context.Context, in Input) (*Result, error) {
	label, err := s.Questions.Resolve(in.Question)
	if err != nil {
		return nil, err
	}
	grid, err := imaging.ParseGrid(in.Grid)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	img, err := imaging.Normalize(in.Image, grid, s.Limits)
	// What decoding held is garbage now: its share of the process's memory budget goes to the
	// requests waiting for it, while this one waits on its provider.
	membudget.PictureDone(ctx)
	if err != nil {
		return nil, err
	}
	normalized := time.Now()
	sol, err := s.ask(ctx, img, label.ID, s.options(in))
	if err != nil {
		// A refusal of bytes we forwarded undecoded is most likely the caller's broken picture:
		// find out, and say so as the caller's error.
		if img.Passthrough && errors.Is(err, ErrRejected) {
			if bad := imaging.CheckDecodes(img.Image); bad != nil {
				return nil, bad
			}
		}
		return nil, err
	}
	r := &Result{Label: label, Grid: img.Grid, Image: img, Objects: sol.Objects, Provider: sol.Provider, Answers: sol.Answers, Agreed: sol.Agreed,
		Timings: Timings{Normalize: normalized.Sub(start), Upstream: time.Since(normalized)}}
	r.Solution = withClicks(sol, img)
	return r, nil
}

// ask asks the upstream with the request's options, and applies its threshold to the answer.
// Options that ask for nothing cost nothing: the plain Upstream call.
func (s *Service) ask(ctx context.Context, img *imaging.Normalized, labelID string, opts Options) (*Solution, error) {
	var sol *Solution
	var err error
	if up, ok := s.Upstream.(OptionsUpstream); ok && opts != (Options{}) {
		sol, err = up.RecognizeOptions(ctx, img.Image, labelID, img.Grid.Size(), opts)
	} else {
		sol, err = s.Upstream.Recognize(ctx, img.Image, labelID, img.Grid.Size())
	}
	if err != nil {
		return nil, err
	}
	if sol.Answers == nil {
		sol.Answers = []Answer{{Provider: sol.Provider, TaskID: sol.TaskID, Objects: sol.Objects}}
	}
	sol.ApplyThreshold(opts.MinConfidence)
	return sol, nil
}

// withClicks renders the upstream's fields as sent, then grid, clicks and the provider who
// answered (replacing any upstream fields of those names, which the contract does not have).
func withClicks(sol *Solution, img *imaging.Normalized) json.RawMessage {
	clicks := make([]Click, 0, len(sol.Objects))
	for _, o := range sol.Objects {
		x, y := img.Tiles[o].Center()
		clicks = append(clicks, Click{Index: o, X: x, Y: y})
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range sol.Fields {
		if f.Key == "grid" || f.Key == "clicks" || f.Key == "provider" || f.Key == "uncertain" || f.Key == "agreed" {
			continue
		}
		key, _ := json.Marshal(f.Key)
		b.Write(key)
		b.WriteByte(':')
		b.Write(f.Value)
		b.WriteByte(',')
	}
	b.WriteString(`"grid":` + strconv.Quote(img.Grid.String()) + `,"clicks":`)
	c, _ := json.Marshal(clicks)
	b.Write(c)
	if sol.Provider != "" {
		b.WriteString(`,"provider":` + strconv.Quote(sol.Provider))
	}
	if sol.Uncertain != nil {
		u, _ := json.Marshal(sol.Uncertain)
		b.WriteString(`,"uncertain":`)
		b.Write(u)
	}
	if len(sol.Agreed) > 0 {
		a, _ := json.Marshal(sol.Agreed)
		b.WriteString(`,"agreed":`)
		b.Write(a)
	}
	b.WriteByte('}')
	return b.Bytes()
}
