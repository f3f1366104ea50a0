// Package recognition is the service every entry point shares: question and image in, the
// upstream's checked solution out, with the grid and the click coordinates in the caller's image.
package recognition

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"recognizer/api"
	"recognizer/internal/imaging"
	"recognizer/internal/question"
	"recognizer/internal/upstream"
)

// Upstream is the recognition API.
type Upstream interface {
	Recognize(ctx context.Context, image []byte, labelID string, size int) (*upstream.Solution, error)
}

var _ Upstream = (*upstream.Client)(nil)

// Service recognizes challenges.
type Service struct {
	Questions *question.Table
	Limits    imaging.Limits
	Upstream  Upstream
}

// Input is one challenge as a caller sent it.
type Input struct {
	Image    []byte
	Question string
	Grid     string // "" to take it from the picture
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
	if err != nil {
		return nil, err
	}
	normalized := time.Now()
	sol, err := s.Upstream.Recognize(ctx, img.Image, label.ID, img.Grid.Size())
	if err != nil {
		// A refusal of bytes we forwarded undecoded is most likely the caller's broken picture:
		// find out, and say so as the caller's error.
		if img.Passthrough && errors.Is(err, upstream.ErrRejected) {
			if bad := imaging.CheckDecodes(img.Image); bad != nil {
				return nil, bad
			}
		}
		return nil, err
	}
	r := &Result{Label: label, Grid: img.Grid, Image: img, Objects: sol.Objects,
		Timings: Timings{Normalize: normalized.Sub(start), Upstream: time.Since(normalized)}}
	r.Solution = withClicks(sol, img)
	return r, nil
}

// withClicks renders the upstream's fields as sent, then grid and clicks (replacing any upstream
// fields of those names, which the contract does not have).
func withClicks(sol *upstream.Solution, img *imaging.Normalized) json.RawMessage {
	clicks := make([]Click, 0, len(sol.Objects))
	for _, o := range sol.Objects {
		x, y := img.Tiles[o].Center()
		clicks = append(clicks, Click{Index: o, X: x, Y: y})
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range sol.Fields {
		if f.Key == "grid" || f.Key == "clicks" {
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
	b.WriteByte('}')
	return b.Bytes()
}
