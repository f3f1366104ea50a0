// Package providers puts several recognition providers behind the domain's one Upstream port:
// an ordered chain with failover, a circuit breaker per provider, and optional hedging
// (docs/providers.md §3). It knows providers only as recognition.Provider and errors only by
// their apierr code and domain causes, so any adapter can join.
package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// Member is one provider of the chain with its breaker.
type Member struct {
	Provider recognition.Provider
	Breaker  *Breaker
}

// Event is one provider call (or one provider passed over), for metrics.
type Event struct {
	Provider string
	// Outcome: ok, or the kind of failure (rate_limited, timeout, balance, bad_answer, auth,
	// error, unsolved, refused), or why the provider was passed over (breaker_open, no_token), or
	// cancelled (another provider answered first).
	Outcome  string
	Latency  time.Duration // zero when passed over
	Failover bool          // started because an earlier provider failed
	Hedge    bool          // started because an earlier provider was slow
	Breaker  string        // the breaker's state after the call
}

// Chain asks its members in order. A provider failure (429, 5xx, timeout, network, exhausted
// balance, broken answer, refused key) moves on to the next member within the same deadline; a
// refusal of the request itself (the caller's picture or question) is answered at once, never
// retried elsewhere. With HedgeAfter set, a call still unanswered after that long is also sent to
// the next member: the first good answer wins and the others are cancelled.
type Chain struct {
	Members    []Member
	HedgeAfter time.Duration
	Log        *slog.Logger
	// OnCall, if set, sees every event; it is called from several goroutines.
	OnCall func(Event)

	noToken sync.Map                 // provider names already logged as skipped for want of a token
	order   atomic.Pointer[[]Member] // Reorder's order, when set
}

// members is the order the members are asked in now: Reorder's, or Members as configured.
func (c *Chain) members() []Member {
	if o := c.order.Load(); o != nil {
		return *o
	}
	return c.Members
}

// Reorder makes the chain ask its members in the order of names (as PROVIDERS spells them);
// members not named keep their configured order after those named. Requests already running
// keep the order they started with.
func (c *Chain) Reorder(names []string) {
	out := make([]Member, 0, len(c.Members))
	placed := make([]bool, len(c.Members))
	for _, n := range names {
		for i, m := range c.Members {
			if !placed[i] && m.Provider.Name() == n {
				out, placed[i] = append(out, m), true
			}
		}
	}
	for i, m := range c.Members {
		if !placed[i] {
			out = append(out, m)
		}
	}
	c.order.Store(&out)
}

var _ recognition.OptionsUpstream = (*Chain)(nil)

// Kinds of failure; the first group moves on to the next provider.
const (
	KindRateLimited = "rate_limited"
	KindTimeout     = "timeout"
	KindBalance     = "balance"
	KindBadAnswer   = "bad_answer"
	KindAuth        = "auth"
	KindError       = "error"
	KindUnsolved    = "unsolved"     // the provider could not solve this picture
	KindRefused     = "refused"      // the caller's request: answered at once
	KindNoToken     = "no_token"     // the secret has no token for the provider: skipped
	KindBreakerOpen = "breaker_open" // recently failing: skipped
	KindStop        = "stop"         // our own trouble (secret unreadable, ...): answered at once
	KindCancelled   = "cancelled"
)

// Classify is the kind of a provider's error.
func Classify(err error) string {
	switch {
	case errors.Is(err, secrets.ErrNoToken):
		return KindNoToken
	case errors.Is(err, recognition.ErrRejected):
		return KindRefused
	case errors.Is(err, recognition.ErrExhausted):
		return KindBalance
	case errors.Is(err, recognition.ErrUnsolved):
		return KindUnsolved
	}
	var e *apierr.Error
	if !errors.As(err, &e) {
		return KindStop
	}
	switch e.Code {
	case apierr.CodeTooManyRequests:
		return KindRateLimited
	case apierr.CodeUpstreamTimeout:
		return KindTimeout
	case apierr.CodeUpstreamBadResponse:
		return KindBadAnswer
	case apierr.CodeUpstreamAuth:
		return KindAuth
	case apierr.CodeUpstreamError:
		return KindError
	}
	return KindStop
}

func movesOn(kind string) bool {
	switch kind {
	case KindRateLimited, KindTimeout, KindBalance, KindBadAnswer, KindAuth, KindError, KindUnsolved, KindNoToken, KindBreakerOpen:
		return true
	}
	return false
}

type attempt struct {
	i    int
	sol  *recognition.Solution
	err  error
	kind string
}

type failure struct {
	name string
	kind string
	err  error
}

// Recognize asks the members in order (and, hedging, side by side) until one answers.
func (c *Chain) Recognize(parent context.Context, image []byte, labelID string, size int) (*recognition.Solution, error) {
	members := c.members()
	if len(members) == 0 { // every provider was skipped at start for want of a token
		return nil, apierr.Wrap(secrets.ErrNoToken, apierr.CodeConfiguration,
			"no recognition provider of this service has a token; its operators have been told in its logs")
	}
	return c.ask(parent, &run{c: c, members: members, parent: parent, image: image, labelID: labelID, size: size})
}

// ask walks the chain for one answer: r names the request, and under consensus the members
// already asked and the calls left.
func (c *Chain) ask(parent context.Context, r *run) (*recognition.Solution, error) {
	ctx, cancel := context.WithCancel(parent)
	r.ctx, r.results = ctx, make(chan attempt, len(r.members))
	// decided is set once the chain has its answer, before the calls still running are cancelled:
	// their errors say nothing of their providers' health (the caller's own context may end just
	// after, so it cannot tell).
	defer func() { r.decided.Store(true); cancel() }()
	return r.wait()
}

// run is one request's walk along the chain.
type run struct {
	c       *Chain
	members []Member        // the order of this request
	parent  context.Context // the caller's: its end stops new launches
	ctx     context.Context // cancelled once the answer is known
	image   []byte
	labelID string
	size    int

	decided  atomic.Bool
	results  chan attempt
	failures []failure
	next     int // the next member to try
	inflight int
	started  int
	hedge    <-chan time.Time

	// Under consensus: the members asked already (in this walk or an earlier one) are passed
	// over, and a call is started only while calls are left. Both nil otherwise.
	asked []bool
	calls *int
}

// wait launches the first member, then takes each result until one answers, one ends the
// request, or every member has been tried.
func (r *run) wait() (*recognition.Solution, error) {
	r.launch(false)
	r.armHedge()
	for r.inflight > 0 {
		select {
		case a := <-r.results:
			r.inflight--
			if done, sol, err := r.take(a); done {
				return sol, err
			}
			if r.inflight == 0 && r.launch(false) {
				r.armHedge()
			}
		case <-r.hedge:
			r.launch(true)
			r.armHedge()
		}
	}
	for i, m := range r.members[r.next:] { // the deadline passed before their turn
		if r.asked != nil && r.asked[r.next+i] {
			continue
		}
		r.failures = append(r.failures, failure{m.Provider.Name(), kindLate, nil})
	}
	return nil, r.c.allFailed(r.parent, r.failures)
}

// take handles one member's result: an answer, or an error that ends the request, is done; a
// provider failure is noted and the chain moves on.
func (r *run) take(a attempt) (done bool, sol *recognition.Solution, err error) {
	m := r.members[a.i]
	if a.err == nil {
		a.sol.Provider = m.Provider.Name()
		a.sol.Calls = r.started
		return true, a.sol, nil
	}
	if a.kind == KindNoToken {
		if _, logged := r.c.noToken.LoadOrStore(m.Provider.Name(), true); !logged && r.c.Log != nil {
			r.c.Log.WarnContext(r.parent, "recognition provider skipped: the token secret holds no token for it", "provider", m.Provider.Name())
		}
	}
	if !movesOn(a.kind) {
		return true, nil, a.err
	}
	r.failures = append(r.failures, failure{m.Provider.Name(), a.kind, a.err})
	return false, nil, nil
}

// armHedge starts the hedging timer when hedging is on and a member is left to hedge with.
func (r *run) armHedge() {
	r.hedge = nil
	if r.c.HedgeAfter > 0 && r.next < len(r.members) {
		r.hedge = time.After(r.c.HedgeAfter)
	}
}

// launch starts the next member its breaker lets through, passing over the others; it reports
// whether one started.
func (r *run) launch(hedge bool) bool {
	for r.next < len(r.members) && r.parent.Err() == nil {
		i := r.next
		r.next++
		m := r.members[i]
		if r.asked != nil {
			if r.asked[i] || *r.calls == 0 {
				continue
			}
			r.asked[i] = true
		}
		ticket, ok := m.Breaker.Allow()
		if !ok {
			r.failures = append(r.failures, failure{m.Provider.Name(), KindBreakerOpen, nil})
			r.c.emit(Event{Provider: m.Provider.Name(), Outcome: KindBreakerOpen, Breaker: m.Breaker.State()})
			continue
		}
		ev := Event{Provider: m.Provider.Name(), Failover: r.started > 0 && !hedge, Hedge: hedge}
		if r.calls != nil {
			*r.calls--
		}
		r.started++
		r.inflight++
		go r.call(i, m, ticket, ev)
		return true
	}
	return false
}

// call asks one member and records its outcome with its breaker and in metrics.
func (r *run) call(i int, m Member, ticket Ticket, ev Event) {
	begin := time.Now()
	sol, err := m.Provider.Recognize(r.ctx, r.image, r.labelID, r.size)
	a := attempt{i: i, sol: sol, err: err, kind: "ok"}
	switch {
	case err == nil:
		m.Breaker.Success(ticket)
	case r.decided.Load(): // another provider answered first
		a.kind = KindCancelled
		m.Breaker.Neutral(ticket)
	default:
		a.kind = Classify(err)
		if countsAgainstProvider(a.kind) {
			m.Breaker.Failure(ticket)
		} else {
			m.Breaker.Neutral(ticket)
		}
	}
	if a.kind != KindNoToken {
		ev.Outcome, ev.Latency, ev.Breaker = a.kind, time.Since(begin), m.Breaker.State()
		r.c.emit(ev)
	}
	r.results <- a
}

// countsAgainstProvider is the breaker's rule (docs/providers.md §3): only a failure no picture
// could cause counts towards opening it. A timeout, a broken or unsolved answer, or a refusal
// may come from the one picture a caller sent, and one caller must not be able to shut a
// provider for everyone; a rate limit, a 5xx, a network fault, an exhausted balance or a
// refused key are the provider's state, whatever the picture.
func countsAgainstProvider(kind string) bool {
	switch kind {
	case KindRateLimited, KindBalance, KindAuth, KindError:
		return true
	}
	return false
}

const kindLate = "late"

func (c *Chain) emit(ev Event) {
	if c.OnCall != nil {
		c.OnCall(ev)
	}
}

var kindWords = map[string]string{
	KindRateLimited: "rate limited", KindTimeout: "timed out", KindBalance: "balance exhausted",
	KindBadAnswer: "broken answer", KindAuth: "refused our key", KindError: "failed",
	KindUnsolved: "could not solve the picture",
	KindNoToken:  "no token configured", KindBreakerOpen: "failing recently, not asked",
	kindLate: "not asked, out of time",
}

// allFailed is the one answer when no provider answered. A chain of one answers its provider's
// own error, exactly as the provider alone would; otherwise the error names every provider and why.
func (c *Chain) allFailed(ctx context.Context, failures []failure) error {
	tried := 0
	var last failure
	for _, f := range failures {
		if f.kind != KindNoToken {
			tried++
			last = f
		}
	}
	switch {
	case len(failures) == 0: // the deadline passed before any provider was asked
		return apierr.Wrap(ctx.Err(), apierr.CodeUpstreamTimeout, "no recognition provider could be asked in time").AtDeadline()
	case tried == 0:
		return apierr.Wrap(secrets.ErrNoToken, apierr.CodeConfiguration,
			"no recognition provider of this service has a token; its operators have been told in its logs")
	case len(c.Members) == 1 && last.err != nil:
		return last.err
	}
	parts := make([]string, 0, len(failures))
	code, allRefusedBusy := apierr.CodeUpstreamError, true
	for _, f := range failures {
		parts = append(parts, f.name+": "+kindWords[f.kind])
		if f.kind == KindTimeout || f.kind == kindLate {
			code = apierr.CodeUpstreamTimeout
		}
		if f.kind != KindBreakerOpen && f.kind != KindRateLimited && f.kind != KindNoToken {
			allRefusedBusy = false
		}
	}
	if code != apierr.CodeUpstreamTimeout && allRefusedBusy {
		code = apierr.CodeUpstreamUnavailable
	}
	e := apierr.Wrap(errors.Join(causes(failures)...), code,
		fmt.Sprintf("every recognition provider failed (%s)", strings.Join(parts, "; ")))
	if ctx.Err() != nil {
		e = e.AtDeadline()
	}
	return e
}

func causes(failures []failure) []error {
	var out []error
	for _, f := range failures {
		if f.err != nil {
			out = append(out, fmt.Errorf("%s: %w", f.name, f.err))
		}
	}
	return out
}
