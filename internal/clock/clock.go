// Package clock holds the time helpers every layer uses: a sleep that ends with its context,
// durations as the fractional milliseconds logs, metrics and results report, and a Clock that
// code with time budgets takes, so its tests run on a Fake that moves only when told.
package clock

import (
	"context"
	"sync"
	"time"
)

// Sleep waits d, or until ctx ends, whichever is first; it returns ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Millis is d in milliseconds, to the microsecond.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Clock is what a time budget is measured with: waits and timeouts.
type Clock interface {
	// Sleep waits d, or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
	// WithTimeout is context.WithTimeout on this clock: the context ends with
	// context.DeadlineExceeded once d has passed.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// Real is the wall clock.
type Real struct{}

// Sleep is the package's Sleep.
func (Real) Sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

// WithTimeout is context.WithTimeout.
func (Real) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// Fake is a clock that moves only when something sleeps on it: a Sleep advances it by its whole
// duration at once, and every timeout that falls due then ends. Work between sleeps (an HTTP call
// to an emulator) takes no time on it, so a budget counted on a Fake is spent the same way however
// fast the machine is. The zero value starts at 0.
type Fake struct {
	mu     sync.Mutex
	now    time.Duration
	timers []fakeTimer
}

type fakeTimer struct {
	at     time.Duration
	cancel context.CancelCauseFunc
}

// Now is how much time has passed on the clock.
func (f *Fake) Now() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Sleep advances the clock by d, unless ctx has already ended.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.Advance(d)
	return ctx.Err()
}

// Advance moves the clock on by d and ends the timeouts that fall due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now += d
	var due []context.CancelCauseFunc
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.at <= f.now {
			due = append(due, t.cancel)
		} else {
			kept = append(kept, t)
		}
	}
	f.timers = kept
	f.mu.Unlock()
	for _, cancel := range due {
		cancel(context.DeadlineExceeded)
	}
}

// WithTimeout returns a context that ends with context.DeadlineExceeded once the clock has moved
// d past now (at once when d <= 0).
func (f *Fake) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithCancelCause(ctx)
	if d <= 0 {
		cancel(context.DeadlineExceeded)
	} else {
		f.mu.Lock()
		f.timers = append(f.timers, fakeTimer{at: f.now + d, cancel: cancel})
		f.mu.Unlock()
	}
	return timeoutContext{inner}, func() { cancel(context.Canceled) }
}

// timeoutContext reports a deadline that fell due as context.DeadlineExceeded, as a context of
// context.WithTimeout does, so the code under test classifies it the same way (contexts derived
// from it end with context.Canceled and hold DeadlineExceeded as their context.Cause).
type timeoutContext struct{ context.Context }

func (c timeoutContext) Err() error {
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}
