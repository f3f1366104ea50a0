package providers

import (
	"sync"
	"time"
)

// Breaker states, as metrics and logs name them.
const (
	Closed   = "closed"
	Open     = "open"
	HalfOpen = "half_open"
)

// Breaker is one provider's circuit breaker: closed, it lets every call through; after Threshold
// consecutive failures it opens and lets none through (a dead provider then costs nothing per
// request); after Cooldown it lets one probe through (half open), whose success closes it and
// whose failure opens it for another Cooldown.
//
// Every call carries the Ticket Allow gave it. An outcome is counted only while the breaker is
// still in the period the ticket was issued in: an answer to a call started before the breaker
// opened says nothing of the provider since, so it neither closes the breaker nor counts against
// the probe.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	state    string
	failures int
	openedAt time.Time
	probing  bool
	period   uint64 // advanced each time the breaker opens or a probe starts
}

// Ticket is one call's permission from Allow.
type Ticket struct {
	period uint64
	probe  bool
}

// Defaults: a provider failing 5 requests in a row is left alone for 30 s (the cool-down is
// bounded at a minute; half of it keeps a recovered provider's absence short).
const (
	DefaultThreshold = 5
	DefaultCooldown  = 30 * time.Second
)

// NewBreaker returns a closed breaker.
func NewBreaker(threshold int, cooldown time.Duration) *Breaker {
	return &Breaker{Threshold: threshold, Cooldown: cooldown, now: time.Now, state: Closed}
}

// Allow reports whether a call may go to the provider now, with the ticket its outcome is
// recorded with. In half-open state only one call (the probe) is allowed at a time.
func (b *Breaker) Allow() (Ticket, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if b.now().Sub(b.openedAt) < b.Cooldown {
			return Ticket{}, false
		}
		b.state = HalfOpen
		return b.startProbe(), true
	case HalfOpen:
		if b.probing {
			return Ticket{}, false
		}
		return b.startProbe(), true
	}
	return Ticket{period: b.period}, true
}

func (b *Breaker) startProbe() Ticket {
	b.probing = true
	b.period++
	return Ticket{period: b.period, probe: true}
}

// current reports whether t was issued in the breaker's present period (and, half open, is the
// probe's).
func (b *Breaker) current(t Ticket) bool {
	return t.period == b.period && (b.state != HalfOpen || t.probe)
}

// Success records a good answer: the breaker closes.
func (b *Breaker) Success(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.current(t) {
		return
	}
	b.state, b.failures, b.probing = Closed, 0, false
}

// Failure records a provider failure: the probe's failure, or the Threshold-th in a row, opens it.
func (b *Breaker) Failure(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.current(t) {
		return
	}
	b.failures++
	if b.state == HalfOpen || b.failures >= b.Threshold {
		b.state, b.openedAt, b.probing = Open, b.now(), false
		b.period++
	}
}

// Neutral records a call that says nothing of the provider's health (cancelled because another
// answered first, or a failure the picture itself could have caused): a probe may be tried again.
func (b *Breaker) Neutral(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.current(t) && t.probe {
		b.probing = false
	}
}

// State is the breaker's state now (an open breaker past its cool-down still reads open until a
// call probes it).
func (b *Breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
