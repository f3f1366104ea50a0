// Package protocols serves the solver ecosystem's two protocols at the host root, so code written
// against their client libraries works by changing the base URL and the key:
//
//   - the createTask envelope (CapMonster Cloud, Anti-Captcha, CapSolver, YesCaptcha, 2Captcha's
//     v2 API): POST /createTask, /getTaskResult, /getBalance and the report routes;
//   - 2Captcha's in.php / res.php, grid method.
//
// Both are fronts on the one recognition service: the same question resolution, decode budget,
// providers, logs and metrics as POST /recognize. Every task is solved inside createTask or
// in.php, and its id carries the answer, enciphered (taskid.go), so the first poll on any instance is
// ready. Every error is an HTTP 200 in the protocol's own shape (codes.go), never a 4xx or 5xx:
// several clients lose the error code otherwise. docs/protocols.md is the reference.
//
// Each protocol is a pipeline.Protocol: it decodes a request into a call to the service and
// encodes the answer or the error; the pipeline recovers, logs, keeps the deadline margin and
// the body limit, and authenticates the key each request carries.
package protocols

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// The createTask protocol's routes.
const (
	CreateTaskPath    = "/createTask"
	GetTaskResultPath = "/getTaskResult"
	GetBalancePath    = "/getBalance"
)

// reportPaths are the createTask protocol's report routes, and whether each reports a wrong
// answer (feedbackTask says so in its body).
var reportPaths = map[string]bool{
	"/reportIncorrectImageCaptcha": true,
	"/reportIncorrectRecaptcha":    true,
	"/reportIncorrect":             true,
	"/reportCorrectRecaptcha":      false,
	"/reportCorrect":               false,
	"/feedbackTask":                false,
}

// 2Captcha's routes.
const (
	InPath  = "/in.php"
	ResPath = "/res.php"
)

// Paths lists every route this package serves.
func Paths() []string {
	out := []string{CreateTaskPath, GetTaskResultPath, GetBalancePath}
	for p := range reportPaths {
		out = append(out, p)
	}
	return append(out, InPath, ResPath)
}

// Balance is what getBalance answers: this service keeps no balance, and clients that check for
// a positive one before sending work must go on.
const Balance = 100

// Solver is what both protocols share: the service, the answers too large for an id, and the
// count of reports. A zero Solver renders errors (a refused configuration) and nothing else.
type Solver struct {
	Service *recognition.Service
	// Reported, if set, counts a caller's report of a wrong (bad) or right answer per provider.
	Reported func(provider string, bad bool)
	// IDSecret is the deployment's task-id secret; nil gives the process a random one, so only
	// the process that issued an id reads it (make run, tests).
	IDSecret IDSecret
	// Reports, if set (FORWARD_REPORTS=on), forwards each report to the provider that answered:
	// the instance that solved a task keeps its providers' own task ids (reportables.go).
	Reports recognition.Forwarder

	once        sync.Once
	recs        *records
	idKeys      idKeys
	reportsOnce sync.Once
	kept        *reportables
}

func (s *Solver) records() *records {
	s.once.Do(func() { s.recs = newRecords() })
	return s.recs
}

// Routes maps every path of both protocols to its protocol.
func (s *Solver) Routes() map[string]pipeline.Protocol {
	out := map[string]pipeline.Protocol{}
	for _, p := range Paths() {
		out[p] = Task{s}
	}
	out[InPath], out[ResPath] = Legacy{s}, Legacy{s}
	return out
}

// keyed is what both protocols' calls share: the caller's key, sent in the body or the query
// and checked by the pipeline exactly as the bearer key is, and the ids enciphered for it.
type keyed string

func (k keyed) Credential() string { return "Bearer " + string(k) }

// sealer enciphers and reads the caller's task ids under the deployment's id secret.
func (s *Solver) sealer(ctx context.Context, caller string, k keyed) (sealer, error) {
	cipher, err := s.idKeys.get(ctx, s.IDSecret)
	if err != nil {
		return sealer{}, fromError(err)
	}
	return newSealer(cipher, caller, strings.TrimSpace(string(k))), nil
}

// answerOf is the answer every protocol's solution is derived from.
func answerOf(k kind, r *recognition.Result) answer {
	a := answer{kind: k, provider: r.Provider, grid: r.Grid, objects: sortedCopy(r.Objects)}
	if k == kindCoordinates {
		for _, o := range a.objects {
			x, y := r.Image.Tiles[o].Center()
			a.clicks = append(a.clicks, [2]int{x, y})
		}
	}
	return a
}

func sortedCopy(s []int) []int {
	out := append([]int(nil), s...)
	slices.Sort(out)
	return out
}

func (s *Solver) reportables() *reportables {
	s.reportsOnce.Do(func() { s.kept = newReportables() })
	return s.kept
}

// keep remembers, when reports are forwarded, what a report of the answer caller got under id
// is forwarded with.
func (s *Solver) keep(caller string, id uint64, r *recognition.Result) {
	if s.Reports != nil {
		s.reportables().put(caller, id, r.Label.ID, r.Reportable())
	}
}

// report counts a caller's verdict on the answer a it got under id and, when reports are
// forwarded, sends it to each provider whose answer it was (docs/protocols.md, "Reports"). It
// returns what the log line says of it, and what the protocol's answer says ("" when reports
// are not forwarded).
func (s *Solver) report(ctx context.Context, caller string, id uint64, a answer, bad bool) ([]any, string) {
	verdict := "good"
	if bad {
		verdict = "bad"
	}
	if s.Reported != nil {
		s.Reported(a.provider, bad)
	}
	attrs := []any{"report", verdict, "report_provider", a.provider}
	if s.Reports == nil {
		return attrs, ""
	}
	label, answers, ok := s.reportables().get(caller, id)
	if !ok { // another instance solved it, or long ago: the provider is known, its task id is not
		answers = []recognition.Answer{{Provider: a.provider}}
	}
	said := make([]string, 0, len(answers))
	providers, outcomes := make([]string, 0, len(answers)), make([]string, 0, len(answers))
	for _, r := range s.Reports.Forward(ctx, caller+"\x00"+strconv.FormatUint(id, 10), label, answers, bad) {
		said = append(said, r.Provider+": "+r.Outcome)
		providers, outcomes = append(providers, r.Provider), append(outcomes, r.Outcome)
	}
	attrs[3] = strings.Join(providers, ",")
	return append(attrs, "report_outcome", strings.Join(outcomes, ",")), strings.Join(said, ", ")
}

func header(contentType string) http.Header {
	return http.Header{"Content-Type": {contentType}}
}
