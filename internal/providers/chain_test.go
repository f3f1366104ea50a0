package providers

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// fake is a provider answering with fn; calls counts its calls.
type fake struct {
	name  string
	fn    func(ctx context.Context) (*recognition.Solution, error)
	calls atomic.Int64
}

func (f *fake) Name() string { return f.name }
func (f *fake) Recognize(ctx context.Context, _ []byte, _ string, _ int) (*recognition.Solution, error) {
	f.calls.Add(1)
	return f.fn(ctx)
}

func ok(context.Context) (*recognition.Solution, error) {
	return &recognition.Solution{Size: 300, Objects: []int{1}}, nil
}

func failing(err error) func(context.Context) (*recognition.Solution, error) {
	return func(context.Context) (*recognition.Solution, error) { return nil, err }
}

func slow(d time.Duration) func(context.Context) (*recognition.Solution, error) {
	return func(ctx context.Context) (*recognition.Solution, error) {
		select {
		case <-time.After(d):
			return ok(ctx)
		case <-ctx.Done():
			return nil, apierr.Wrap(ctx.Err(), apierr.CodeUpstreamTimeout, "timed out")
		}
	}
}

var (
	err500      = apierr.New(apierr.CodeUpstreamError, "failed (status 500)")
	err429      = apierr.New(apierr.CodeTooManyRequests, "rate limited")
	errBalance  = apierr.Wrap(recognition.ErrExhausted, apierr.CodeUpstreamError, "balance")
	errRefused  = apierr.Wrap(recognition.ErrRejected, apierr.CodeUpstreamError, "rejected")
	errNoToken  = apierr.Wrap(secrets.ErrNoToken, apierr.CodeConfiguration, "no token")
	errSecretSM = apierr.New(apierr.CodeTokenUnavailable, "secrets manager down")
)

func chainOf(fakes ...*fake) *Chain {
	c := &Chain{}
	for _, f := range fakes {
		c.Members = append(c.Members, Member{Provider: f, Breaker: NewBreaker(DefaultThreshold, DefaultCooldown)})
	}
	return c
}

// Failover moves on for a provider's failures and never for the caller's mistakes; the answer
// names who answered; when every provider fails, one error names each.
func TestFailover(t *testing.T) {
	for _, c := range []struct {
		name   string
		first  error
		second error
		want   string // provider, or the error code
		calls  [2]int64
		msg    string
	}{
		{name: "5xx", first: err500, want: "b", calls: [2]int64{1, 1}},
		{name: "429", first: err429, want: "b", calls: [2]int64{1, 1}},
		{name: "balance", first: errBalance, want: "b", calls: [2]int64{1, 1}},
		{name: "broken answer", first: apierr.New(apierr.CodeUpstreamBadResponse, "x"), want: "b", calls: [2]int64{1, 1}},
		{name: "no token: skipped", first: errNoToken, want: "b", calls: [2]int64{1, 1}},
		{name: "caller's mistake: refused once", first: errRefused, want: "upstream_error", calls: [2]int64{1, 0}},
		{name: "our secret unreadable: answered once", first: errSecretSM, want: "token_unavailable", calls: [2]int64{1, 0}},
		{name: "all down", first: err500, second: errBalance, want: "upstream_error", calls: [2]int64{1, 1},
			msg: "every recognition provider failed (a: failed; b: balance exhausted)"},
		{name: "all rate limiting", first: err429, second: err429, want: "upstream_unavailable", calls: [2]int64{1, 1}},
		{name: "none has a token", first: errNoToken, second: errNoToken, want: "configuration_error", calls: [2]int64{1, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &fake{name: "a", fn: failing(c.first)}
			b := &fake{name: "b", fn: ok}
			if c.second != nil {
				b.fn = failing(c.second)
			}
			sol, err := chainOf(a, b).Recognize(context.Background(), nil, "/m/0k4j", 300)
			got := ""
			if err == nil {
				got = sol.Provider
			} else {
				got = string(apierr.As(err).Code)
				if c.msg != "" && apierr.As(err).Message != c.msg {
					t.Errorf("message %q, want %q", apierr.As(err).Message, c.msg)
				}
			}
			if got != c.want || a.calls.Load() != c.calls[0] || b.calls.Load() != c.calls[1] {
				t.Fatalf("got %s (%v), calls %d %d; want %s, %v", got, err, a.calls.Load(), b.calls.Load(), c.want, c.calls)
			}
		})
	}
}

// A slow first provider that runs the caller out of time is a 504 naming every provider.
func TestAllDownAtDeadline(t *testing.T) {
	a := &fake{name: "a", fn: slow(time.Minute)}
	b := &fake{name: "b", fn: failing(err500)}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := chainOf(a, b).Recognize(ctx, nil, "x", 300)
	e := apierr.As(err)
	if e.Status() != 504 || !strings.Contains(e.Message, "every recognition provider failed") {
		t.Fatalf("got %v", err)
	}
}

// One provider answers as it always did: its own error, unchanged.
func TestChainOfOne(t *testing.T) {
	a := &fake{name: "a", fn: failing(err429)}
	if _, err := chainOf(a).Recognize(context.Background(), nil, "x", 300); err != err429 {
		t.Fatalf("got %v, want the provider's own error", err)
	}
}

// The breaker: closed, then open after Threshold failures in a row (no calls while open), half
// open after the cool-down with one probe at a time, closed by the probe's success or opened
// again by its failure.
func TestBreakerStates(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBreaker(3, 30*time.Second)
	b.now = func() time.Time { return now }
	var tk Ticket
	step := func(want string, allow bool) {
		t.Helper()
		got, ok := b.Allow()
		if ok != allow || b.State() != want {
			t.Fatalf("allow %v state %s, want %v %s", ok, b.State(), allow, want)
		}
		if ok {
			tk = got
		}
	}
	step(Closed, true)
	b.Failure(tk)
	b.Failure(tk)
	b.Success(tk) // not in a row
	b.Failure(tk)
	b.Failure(tk)
	step(Closed, true)
	b.Failure(tk)
	step(Open, false)
	now = now.Add(29 * time.Second)
	step(Open, false)
	now = now.Add(time.Second)
	step(HalfOpen, true)  // the probe
	step(HalfOpen, false) // one at a time
	b.Failure(tk)
	step(Open, false)
	now = now.Add(30 * time.Second)
	step(HalfOpen, true)
	b.Neutral(tk) // the probe was cancelled: another may probe
	step(HalfOpen, true)
	b.Success(tk)
	step(Closed, true)
}

// An answer to a call started before the breaker opened says nothing of the provider since: it
// neither closes the open breaker nor settles the probe; a late failure does not re-open it.
func TestLateAnswerDoesNotCloseBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBreaker(2, 30*time.Second)
	b.now = func() time.Time { return now }
	early, _ := b.Allow() // a slow call, started while closed
	other, _ := b.Allow()
	b.Failure(other)
	b.Failure(other)
	if b.State() != Open {
		t.Fatalf("state %s after 2 failures", b.State())
	}
	b.Success(early)
	if _, ok := b.Allow(); ok || b.State() != Open {
		t.Fatalf("a late success closed the breaker: state %s", b.State())
	}
	now = now.Add(30 * time.Second)
	probe, ok := b.Allow()
	if !ok || b.State() != HalfOpen {
		t.Fatalf("no probe after the cool-down: %s", b.State())
	}
	b.Success(early)
	b.Failure(early)
	if _, ok := b.Allow(); ok || b.State() != HalfOpen {
		t.Fatalf("a late answer settled the probe: state %s", b.State())
	}
	b.Success(probe)
	if b.State() != Closed {
		t.Fatalf("the probe's success left %s", b.State())
	}
}

// A failure the picture could have caused (a refusal, a timeout, a broken or unsolved answer)
// never opens the breaker: after any number of them, another caller's request still reaches the
// provider. A provider that is down (5xx, rate limits, balance, key) opens it.
func TestPictureFailuresDoNotOpenBreaker(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		opens bool
	}{
		{"refused picture", errRefused, false},
		{"timeout", apierr.New(apierr.CodeUpstreamTimeout, "timed out"), false},
		{"broken answer", apierr.New(apierr.CodeUpstreamBadResponse, "broken"), false},
		{"unsolved", apierr.Wrap(recognition.ErrUnsolved, apierr.CodeUpstreamError, "unsolvable"), false},
		{"5xx", err500, true},
		{"429", err429, true},
		{"balance", errBalance, true},
		{"key refused", apierr.New(apierr.CodeUpstreamAuth, "key"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			hostile := true
			a := &fake{name: "a", fn: func(ctx context.Context) (*recognition.Solution, error) {
				if hostile {
					return nil, c.err
				}
				return ok(ctx)
			}}
			b := &fake{name: "b", fn: failing(err500)}
			ch := chainOf(a, b)
			for i := 0; i < 2*DefaultThreshold; i++ {
				ch.Recognize(context.Background(), nil, "x", 300)
			}
			hostile = false
			before := a.calls.Load()
			sol, err := ch.Recognize(context.Background(), nil, "x", 300)
			reached := a.calls.Load() > before
			if reached == c.opens {
				t.Fatalf("after %d failures, another request reached a: %v (want %v); breaker %s", 2*DefaultThreshold, reached, !c.opens, ch.Members[0].Breaker.State())
			}
			if !c.opens && (err != nil || sol.Provider != "a") {
				t.Fatalf("another caller's request: %v %v", sol, err)
			}
		})
	}
}

// A dead provider costs nothing per request once its breaker is open.
func TestOpenBreakerSkipsProvider(t *testing.T) {
	a := &fake{name: "a", fn: failing(err500)}
	b := &fake{name: "b", fn: ok}
	c := chainOf(a, b)
	var mu sync.Mutex
	outcomes := map[string]int{}
	c.OnCall = func(ev Event) { mu.Lock(); outcomes[ev.Provider+":"+ev.Outcome]++; mu.Unlock() }
	for i := 0; i < 20; i++ {
		if sol, err := c.Recognize(context.Background(), nil, "x", 300); err != nil || sol.Provider != "b" {
			t.Fatalf("request %d: %v %v", i, sol, err)
		}
	}
	if a.calls.Load() != DefaultThreshold || outcomes["a:breaker_open"] != 20-DefaultThreshold || outcomes["b:ok"] != 20 {
		t.Fatalf("a called %d times, outcomes %v", a.calls.Load(), outcomes)
	}
}

// Hedging: a slow first provider is joined by the next after HedgeAfter; the first good answer
// wins and the slow call is cancelled. Without hedging the slow one is waited for.
func TestHedging(t *testing.T) {
	a := &fake{name: "a", fn: slow(time.Minute)}
	b := &fake{name: "b", fn: ok}
	c := chainOf(a, b)
	c.HedgeAfter = 50 * time.Millisecond
	cancelled := make(chan Event, 1)
	c.OnCall = func(ev Event) {
		if ev.Outcome == KindCancelled {
			cancelled <- ev
		}
	}
	sol, err := c.Recognize(context.Background(), nil, "x", 300)
	if err != nil || sol.Provider != "b" {
		t.Fatalf("got %v %v", sol, err)
	}
	select {
	case ev := <-cancelled:
		if ev.Provider != "a" {
			t.Fatalf("cancelled %v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the slow call was not cancelled")
	}
	if c.Members[0].Breaker.State() != Closed {
		t.Fatal("a cancelled hedge counted as a failure")
	}
	a2 := &fake{name: "a", fn: slow(100 * time.Millisecond)}
	b2 := &fake{name: "b", fn: ok}
	if sol, err := chainOf(a2, b2).Recognize(context.Background(), nil, "x", 300); err != nil || sol.Provider != "a" || b2.calls.Load() != 0 {
		t.Fatalf("without hedging: %v %v, b called %d", sol, err, b2.calls.Load())
	}
}

func TestClassify(t *testing.T) {
	if Classify(errors.New("x")) != KindStop || Classify(errBalance) != KindBalance || Classify(errRefused) != KindRefused {
		t.Fatal("classify")
	}
}

// A chain left with no member (every provider skipped at start) is a configuration error.
func TestEmptyChain(t *testing.T) {
	_, err := (&Chain{}).Recognize(context.Background(), nil, "x", 300)
	if e := apierr.As(err); e.Code != apierr.CodeConfiguration || !errors.Is(err, secrets.ErrNoToken) {
		t.Fatalf("got %v", err)
	}
}
