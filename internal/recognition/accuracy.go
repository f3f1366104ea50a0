package recognition

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
)

// Options are one request's accuracy choices (docs/accuracy.md). The zero value asks for
// nothing: one provider's answer, every tile it chose clicked.
type Options struct {
	// MinConfidence (0–1, 0 off): a chosen tile whose confidence is under it is not clicked and
	// is listed in the answer's uncertain tiles. A tile of unknown confidence (a provider that
	// sends none) counts as under any threshold unless two providers agreed on it.
	MinConfidence float64
	// Consensus asks a second provider when the first answer is uncertain, and a third when two
	// disagree (at most MaxConsensusCalls provider calls in all).
	Consensus bool
}

// MaxConsensusCalls bounds the provider calls of one request with consensus, failovers included.
const MaxConsensusCalls = 3

// DefaultConsensusBar is how sure of every tile a provider must be for its answer to stand
// alone under consensus when the request sets no threshold.
const DefaultConsensusBar = 0.9

// OptionsUpstream is an Upstream that also takes a request's options (the chain of providers).
type OptionsUpstream interface {
	Upstream
	RecognizeOptions(ctx context.Context, image []byte, labelID string, size int, opts Options) (*Solution, error)
}

// Answer is one provider's answer to a request: who, the provider's own task id (what a report
// to it names; empty when it has none), and the tiles it chose.
type Answer struct {
	Provider string
	TaskID   string
	Objects  []int
}

// NeedsSecondOpinion reports whether an answer needs a second opinion at bar: it has no confidences (the
// stated rule: unknown confidence is never taken as certain), or a tile's confidence in its own
// verdict, max(c, 1−c), is under bar.
func (s *Solution) NeedsSecondOpinion(bar float64) bool {
	if s.Confidences == nil {
		return true
	}
	for _, c := range s.Confidences {
		if max(c, 1-c) < bar {
			return true
		}
	}
	return false
}

// ApplyThreshold takes out of the clicked tiles those under min (docs/accuracy.md §1) and lists
// them in Uncertain: a tile two providers agreed on passes; otherwise its confidence decides,
// and a tile of unknown confidence is under any threshold. min 0 leaves the answer untouched.
func (s *Solution) ApplyThreshold(min float64) {
	if min <= 0 {
		return
	}
	kept, uncertain := []int{}, slices.Clone(s.Uncertain)
	if uncertain == nil {
		uncertain = []int{}
	}
	for _, o := range s.Objects {
		confirmed := o < len(s.Votes) && s.Votes[o] >= 2
		known := o < len(s.Confidences) && s.Confidences[o] >= min
		if confirmed || known {
			kept = append(kept, o)
		} else {
			uncertain = append(uncertain, o)
		}
	}
	slices.Sort(uncertain)
	s.Objects, s.Uncertain = kept, uncertain
	s.setObjectsField()
}

// Combine is the per-tile answer of several providers' solutions (two or three, in the order
// asked). When every solution has confidences, each tile takes the verdict of the summed log-odds
// of their confidences (the surer providers outweigh the unsure); otherwise the majority's. A
// tile with no verdict (an even split) is left unclicked and uncertain. The result keeps the
// first solution's other fields, with confidences (when every answer has them) the mean of the
// agreeing providers', Votes per tile, and Agreed naming the providers whose every tile matches it.
func Combine(sols []*Solution, tiles int) *Solution {
	first := sols[0]
	out := *first
	out.Fields = slices.Clone(first.Fields)
	out.Objects, out.Votes, out.Uncertain, out.Confidences = []int{}, make([]int, tiles), nil, nil
	withConf := true
	for _, s := range sols {
		withConf = withConf && len(s.Confidences) == tiles
	}
	if withConf {
		out.Confidences = make([]float64, tiles)
	}
	for t := 0; t < tiles; t++ {
		weight := 0.0
		for _, s := range sols {
			switch yes := slices.Contains(s.Objects, t); {
			case withConf:
				weight += logOdds(s.Confidences[t])
			case yes:
				weight++
			default:
				weight--
			}
		}
		verdict := weight > 0
		if weight == 0 {
			out.Uncertain = append(out.Uncertain, t)
		}
		agreeing, sum := 0, 0.0
		for _, s := range sols {
			if slices.Contains(s.Objects, t) == verdict {
				agreeing++
				if withConf {
					sum += s.Confidences[t]
				}
			}
		}
		out.Votes[t] = agreeing
		if withConf && agreeing > 0 {
			out.Confidences[t] = sum / float64(agreeing)
		}
		if verdict {
			out.Objects = append(out.Objects, t)
		}
	}
	for _, s := range sols {
		if slices.Equal(s.Objects, out.Objects) {
			out.Agreed = append(out.Agreed, s.Provider)
		}
	}
	out.setObjectsField()
	out.setConfidencesField()
	return &out
}

// logOdds is a confidence's weight of evidence, bounded so that one provider's 0 or 1 does not
// outweigh every other.
func logOdds(c float64) float64 {
	c = min(max(c, 0.001), 0.999)
	return math.Log(c / (1 - c))
}

// setObjectsField makes the solution's objects (and a tile's hasObject) as sent say Objects.
func (s *Solution) setObjectsField() {
	for i, f := range s.Fields {
		switch f.Key {
		case "objects":
			s.Fields[i].Value, _ = json.Marshal(s.Objects)
		case "hasObject":
			s.Fields[i].Value, _ = json.Marshal(len(s.Objects) == 1)
		}
	}
}

// setConfidencesField makes the confidences as sent say Confidences, or drops them when the
// combined answer has none.
func (s *Solution) setConfidencesField() {
	fields := s.Fields[:0]
	for _, f := range s.Fields {
		if f.Key == "confidences" {
			if s.Confidences == nil {
				continue
			}
			f.Value, _ = json.Marshal(s.Confidences)
		}
		fields = append(fields, f)
	}
	s.Fields = fields
}

// Reporter is a provider adapter's report method: bad says the answer with the provider's own
// task id taskID was wrong (false: right). ErrNoReportMethod when the provider has none for that
// verdict; recognition.ErrRejected in the chain when the provider refused the report for good
// (an unknown or expired task, a report already made).
type Reporter interface {
	Report(ctx context.Context, taskID string, bad bool) error
	// HasReportMethod says, without a call, whether the provider has a method for the verdict.
	HasReportMethod(bad bool) bool
}

// ErrNoReportMethod is a provider's answer to a report it has no method for.
var ErrNoReportMethod = errors.New("provider: no report method")

// Reported is what became of a caller's report at one provider: the outcome names of
// providers.Reports (sent, no_method, duplicate, refused, failed, no_provider).
type Reported struct {
	Provider string `json:"provider"`
	Outcome  string `json:"outcome"`
}

// Forwarder forwards a caller's report of an answer for label (bad: it was wrong) to each
// provider whose answer it was, with that provider's own task id, and says what became of it at
// each, in the order of answers. subject is what the caller reported the answer by, with who the
// caller is: a verdict counts towards the providers' measured accuracy once per subject.
type Forwarder interface {
	Forward(ctx context.Context, subject, label string, answers []Answer, bad bool) []Reported
}
