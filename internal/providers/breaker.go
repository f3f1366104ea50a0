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
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	state    string
	failures int
	openedAt time.Time
	probing  bool
}

// Defaults: a provider failing 5 requests in a row is left alone for 30 s (the issue bounds the
// cool-down at a minute; half of it keeps a recovered provider's absence short).
const (
	DefaultThreshold = 5
	DefaultCooldown  = 30 * time.Second
)

// NewBreaker returns a closed breaker.
func NewBreaker(threshold int, cooldown time.Duration) *Breaker {
	return &Breaker{Threshold: threshold, Cooldown: cooldown, now: time.Now, state: Closed}
}

// Allow reports whether a call may go to the provider now. In half-open state only one call
// (the probe) is allowed at a time.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if b.now().Sub(b.openedAt) < b.Cooldown {
			return false
		}
		b.state, b.probing = HalfOpen, true
		return true
	case HalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return true
}

// Success records a good answer: the breaker closes.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state, b.failures, b.probing = Closed, 0, false
}

// Failure records a provider failure: the probe's failure, or the Threshold-th in a row, opens it.
func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.state == HalfOpen || b.failures >= b.Threshold {
		b.state, b.openedAt, b.probing = Open, b.now(), false
	}
}

// Neutral records a call that says nothing of the provider's health (cancelled because another
// answered first, or refused as the caller's mistake): a probe may be tried again.
func (b *Breaker) Neutral() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// State is the breaker's state now (an open breaker past its cool-down still reads open until a
// call probes it).
func (b *Breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
