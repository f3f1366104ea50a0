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

	once   sync.Once
	recs   *records
	idKeys idKeys
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

// report counts a caller's verdict on an answer and returns what the log line says of it.
// Reports are not forwarded: see docs/protocols.md ("Reports").
func (s *Solver) report(a answer, bad bool) []any {
	verdict := "good"
	if bad {
		verdict = "bad"
	}
	if s.Reported != nil {
		s.Reported(a.provider, bad)
	}
	return []any{"report", verdict, "report_provider", a.provider}
}

func header(contentType string) http.Header {
	return http.Header{"Content-Type": {contentType}}
}
