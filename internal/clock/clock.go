// Package clock holds the two time helpers every layer uses: a sleep that ends with its context,
// and durations as the fractional milliseconds logs, metrics and results report.
package clock

import (
	"context"
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
