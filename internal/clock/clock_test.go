package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on an ended context = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), time.Microsecond); err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}
}

func TestMillis(t *testing.T) {
	for d, want := range map[time.Duration]float64{1500 * time.Microsecond: 1.5, 2 * time.Second: 2000, 999: 0} {
		if got := Millis(d); got != want {
			t.Errorf("Millis(%v) = %v, want %v", d, got, want)
		}
	}
}

// A Fake moves only when something sleeps on it, and ends a timeout when it falls due, with the
// error a real timeout gives; a cancelled timeout ends as cancelled.
func TestFakeEndsTimeoutsWhenItsSleepsReachThem(t *testing.T) {
	var f Fake
	ctx, cancel := f.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for i := 1; i < 5; i++ {
		if err := f.Sleep(ctx, 10*time.Millisecond); err != nil || ctx.Err() != nil {
			t.Fatalf("sleep %d (at %v): %v, %v; want the context still alive", i, f.Now(), err, ctx.Err())
		}
	}
	if err := f.Sleep(ctx, 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || f.Now() != 50*time.Millisecond {
		t.Fatalf("the sleep reaching the deadline = %v at %v, want context.DeadlineExceeded at 50ms", err, f.Now())
	}
	if err := f.Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) || f.Now() != 50*time.Millisecond {
		t.Fatalf("a sleep on an ended context = %v and moved the clock to %v", err, f.Now())
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	if context.Cause(child) != context.DeadlineExceeded {
		t.Fatalf("a context derived from an ended timeout has cause %v", context.Cause(child))
	}
	other, cancelOther := f.WithTimeout(context.Background(), time.Second)
	cancelOther()
	if !errors.Is(other.Err(), context.Canceled) {
		t.Fatalf("a cancelled timeout = %v, want context.Canceled", other.Err())
	}
	if at, _ := f.WithTimeout(context.Background(), 0); !errors.Is(at.Err(), context.DeadlineExceeded) {
		t.Fatalf("a zero timeout = %v, want context.DeadlineExceeded at once", at.Err())
	}
}

func TestRealIsTheWallClock(t *testing.T) {
	ctx, cancel := Real{}.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := (Real{}).Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Real sleep past a real timeout = %v", err)
	}
}
