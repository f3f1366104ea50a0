package recognition_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// fixed answers objects with confidences (nil: none sent), as a provider's adapter would.
type fixed struct {
	objects []int
	conf    []float64
}

func (f fixed) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	objects, _ := json.Marshal(f.objects)
	return &recognition.Solution{Size: 300, Objects: slices.Clone(f.objects), Confidences: f.conf, Provider: "p", TaskID: "42",
		Fields: []recognition.Field{{Key: "objects", Value: objects}}}, nil
}

func ptr[T any](v T) *T { return &v }

// A threshold takes the tiles under it out of the clicks and lists them as uncertain, in the
// solution as sent too; a tile of unknown confidence is under any threshold; a request's own
// setting overrides the deployment's, and with none the answer is as before, with no new field.
func TestThreshold(t *testing.T) {
	conf := []float64{0, 0.6, 0.95, 0, 0, 0, 0, 0, 0}
	for _, c := range []struct {
		name      string
		up        fixed
		deploy    float64
		request   *float64
		objects   []int
		uncertain string // the solution's uncertain field, "" for none
	}{
		{"off", fixed{[]int{1, 2}, conf}, 0, nil, []int{1, 2}, ""},
		{"request", fixed{[]int{1, 2}, conf}, 0, ptr(0.8), []int{2}, "[1]"},
		{"deployment", fixed{[]int{1, 2}, conf}, 0.8, nil, []int{2}, "[1]"},
		{"request turns it off", fixed{[]int{1, 2}, conf}, 0.8, ptr(0.0), []int{1, 2}, ""},
		{"all pass", fixed{[]int{1, 2}, conf}, 0, ptr(0.5), []int{1, 2}, "[]"},
		{"no confidences: unknown", fixed{[]int{1, 2}, nil}, 0, ptr(0.5), []int{}, "[1,2]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := service(c.up)
			s.Defaults.MinConfidence = c.deploy
			png := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG()
			res, err := s.Recognize(context.Background(), recognition.Input{Image: png, Question: "cars", MinConfidence: c.request})
			if err != nil {
				t.Fatal(err)
			}
			var sol struct {
				Objects   []int
				Clicks    []recognition.Click
				Uncertain json.RawMessage
			}
			if err := json.Unmarshal(res.Solution, &sol); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Objects, c.objects) || !slices.Equal(sol.Objects, c.objects) || len(sol.Clicks) != len(c.objects) || string(sol.Uncertain) != c.uncertain {
				t.Fatalf("objects %v, solution %s; want %v, uncertain %q", res.Objects, res.Solution, c.objects, c.uncertain)
			}
			if len(res.Answers) != 1 || res.Answers[0].TaskID != "42" || res.Answers[0].Provider != "p" {
				t.Errorf("answers %+v: the provider's task id is what a report needs", res.Answers)
			}
		})
	}
}

func sol(provider string, objects []int, conf []float64) *recognition.Solution {
	return &recognition.Solution{Provider: provider, Objects: objects, Confidences: conf}
}

// Combining answers: with confidences the surer outweigh the unsure; without, the majority; an
// even split is left unclicked; Votes and Agreed say who agreed.
func TestCombine(t *testing.T) {
	c := recognition.Combine([]*recognition.Solution{
		sol("a", []int{0, 1}, []float64{0.99, 0.6, 0.01, 0}),
		sol("b", []int{0}, []float64{0.98, 0.05, 0.02, 0}),
	}, 4)
	if !slices.Equal(c.Objects, []int{0}) || !slices.Equal(c.Votes, []int{2, 1, 2, 2}) || !slices.Equal(c.Agreed, []string{"b"}) || c.Uncertain != nil {
		t.Errorf("with confidences: %+v", c)
	}
	c = recognition.Combine([]*recognition.Solution{sol("a", []int{0, 1}, nil), sol("b", []int{0}, nil), sol("c", []int{0, 1}, nil)}, 4)
	if !slices.Equal(c.Objects, []int{0, 1}) || !slices.Equal(c.Agreed, []string{"a", "c"}) || c.Confidences != nil {
		t.Errorf("majority: %+v", c)
	}
	c = recognition.Combine([]*recognition.Solution{sol("a", []int{0, 1}, nil), sol("b", []int{0}, nil)}, 4)
	if !slices.Equal(c.Objects, []int{0}) || !slices.Equal(c.Uncertain, []int{1}) || !slices.Equal(c.Votes, []int{2, 1, 2, 2}) {
		t.Errorf("tie: %+v", c)
	}
	// One sure provider outweighs an unsure one: the tile is clicked on one vote, so a threshold
	// judges it by its confidence alone.
	c = recognition.Combine([]*recognition.Solution{sol("a", []int{0}, []float64{0.99, 0}), sol("b", []int{}, []float64{0.4, 0})}, 2)
	if !slices.Equal(c.Objects, []int{0}) || !slices.Equal(c.Votes, []int{1, 2}) || c.Confidences[0] != 0.99 {
		t.Errorf("surer: %+v", c)
	}
	c.ApplyThreshold(0.995)
	if !slices.Equal(c.Objects, []int{}) || !slices.Equal(c.Uncertain, []int{0}) {
		t.Errorf("threshold on one vote: %+v", c)
	}
	c = recognition.Combine([]*recognition.Solution{sol("a", []int{0, 1}, nil), sol("b", []int{0}, nil)}, 4)
	c.ApplyThreshold(0.9) // tile 0 was agreed by two: it passes though its confidence is unknown
	if !slices.Equal(c.Objects, []int{0}) || !slices.Equal(c.Uncertain, []int{1}) {
		t.Errorf("threshold after a tie: %+v", c)
	}
}

// An answer needs a second opinion when it sends no confidences or is unsure of a tile.
func TestNeedsSecondOpinion(t *testing.T) {
	for _, c := range []struct {
		conf []float64
		want bool
	}{{nil, true}, {[]float64{1, 0, 0.95}, false}, {[]float64{1, 0.2, 0.95}, true}, {[]float64{1, 0.89, 0}, true}} {
		if got := sol("a", nil, c.conf).NeedsSecondOpinion(0.9); got != c.want {
			t.Errorf("%v: %v", c.conf, got)
		}
	}
}

// A report concerns the one provider's answer, or under consensus only the providers that agreed
// with the answer given.
func TestReportable(t *testing.T) {
	one := &recognition.Result{Answers: []recognition.Answer{{Provider: "capsolver", TaskID: "a"}}}
	if got := one.Reportable(); len(got) != 1 || got[0].TaskID != "a" {
		t.Fatalf("one answer: %+v", got)
	}
	three := &recognition.Result{Agreed: []string{"capsolver", "yescaptcha"}, Answers: []recognition.Answer{
		{Provider: "capsolver", TaskID: "a"}, {Provider: "capmonster", TaskID: "7"}, {Provider: "yescaptcha", TaskID: "c"}}}
	if got := three.Reportable(); len(got) != 2 || got[0].TaskID != "a" || got[1].TaskID != "c" {
		t.Fatalf("consensus: %+v", got)
	}
	split := &recognition.Result{Answers: []recognition.Answer{{Provider: "capsolver"}, {Provider: "capmonster"}}}
	if got := split.Reportable(); len(got) != 0 {
		t.Fatalf("no provider gave the answer: %+v", got)
	}
}
