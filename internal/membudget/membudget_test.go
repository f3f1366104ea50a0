package membudget

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
)

const mb = 1 << 20

// reserveAsync starts a Reserve that is expected to wait, and returns once it waits.
func reserveAsync(t *testing.T, b *Budget, ctx context.Context, c Cost) <-chan result {
	t.Helper()
	before := b.Waiting()
	out := make(chan result, 1)
	go func() {
		r, err := b.Reserve(ctx, c)
		out <- result{r, err}
	}()
	waitFor(t, func() bool { return b.Waiting() > before })
	return out
}

type result struct {
	r   *Reservation
	err error
}

// waitFor polls a condition another goroutine makes true; the bound only keeps a broken test
// from hanging and never decides a pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}

// receive is the result of a Reserve another goroutine runs; the bound only keeps a broken test
// from hanging and never decides a pass.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after 10 s")
		panic("unreachable")
	}
}

func noResult(t *testing.T, ch <-chan result, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s: got %v, %v; want it still waiting", what, r.r, r.err)
	default:
	}
}

func isBusy(t *testing.T, err error) {
	t.Helper()
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.CodeServerBusy || e.Status() != 503 || !e.Retryable() || e.RetryAfter != time.Second {
		t.Fatalf("refusal = %#v, want 503 server_busy, retryable, Retry-After 1 s", err)
	}
}

func TestSizeLeavesRoomForThePayloads(t *testing.T) {
	for _, c := range []struct {
		memoryMB, inFlight int
		want               int64
	}{
		{2048, 64, 1536*mb - 64*18*mb}, // a managed instance's environment: 384 MB
		{256, 1, 192*mb - 18*mb},       // on demand: one invocation at a time
		{256, 0, 192*mb - 18*mb},       // AWS_LAMBDA_MAX_CONCURRENCY unset: one
		{2048, 1600, 256 * mb},         // the payloads alone would take it all: an eighth
	} {
		if got := SizeFor(c.memoryMB, c.inFlight); got != c.want {
			t.Errorf("SizeFor(%d, %d) = %d MB, want %d MB", c.memoryMB, c.inFlight, got/mb, c.want/mb)
		}
	}
}

func TestReserveAndRelease(t *testing.T) {
	b := New(100*mb, 0, clock.Real{}) // no wait: what does not fit is refused at once
	r1, err := b.Reserve(context.Background(), Cost{Held: 30 * mb, Picture: 20 * mb})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.Reserve(context.Background(), Cost{Held: 50 * mb})
	if err != nil {
		t.Fatalf("exactly the rest of the budget: %v", err)
	}
	if got := b.InUse(); got != 100*mb {
		t.Fatalf("in use %d MB, want 100 (exactly the budget fits)", got/mb)
	}
	r1.PictureDone()
	if got := b.InUse(); got != 80*mb {
		t.Fatalf("after the picture: %d MB, want 80", got/mb)
	}
	r1.PictureDone()
	r1.Release()
	r1.Release()
	if got := b.InUse(); got != 50*mb {
		t.Fatalf("after r1 released (twice): %d MB, want 50", got/mb)
	}
	r2.Release()
	if got := b.InUse(); got != 0 {
		t.Fatalf("all released: %d bytes in use", got)
	}
	r3, _ := b.Reserve(context.Background(), Cost{Held: 5 * mb, Picture: 40 * mb})
	r3.Release() // before the picture was given back: all of it
	if got := b.InUse(); got != 0 {
		t.Fatalf("released with its picture part: %d bytes in use", got)
	}
}

// A request that does not fit waits, and is served as soon as enough is given back.
func TestWaitsThenServed(t *testing.T) {
	fake := &clock.Fake{}
	b := New(100*mb, DefaultWait, fake)
	first, _ := b.Reserve(context.Background(), Cost{Held: 60 * mb, Picture: 30 * mb})
	ch := reserveAsync(t, b, context.Background(), Cost{Held: 20 * mb})
	fake.Advance(DefaultWait - time.Millisecond)
	noResult(t, ch, "just before the wait ends")
	first.PictureDone() // 60 MB held: 20 more fit
	r := receive(t, ch)
	if r.err != nil {
		t.Fatalf("after the picture was given back: %v", r.err)
	}
	if got := b.InUse(); got != 80*mb {
		t.Fatalf("in use %d MB, want 80", got/mb)
	}
}

// One that still does not fit when its wait ends is refused: 503 server_busy with Retry-After,
// and it leaves nothing reserved and nobody queued.
func TestRefusedAfterTheWait(t *testing.T) {
	fake := &clock.Fake{}
	b := New(100*mb, DefaultWait, fake)
	held, _ := b.Reserve(context.Background(), Cost{Held: 90 * mb})
	ch := reserveAsync(t, b, context.Background(), Cost{Held: 20 * mb})
	fake.Advance(DefaultWait)
	r := receive(t, ch)
	isBusy(t, r.err)
	if b.InUse() != 90*mb || b.Waiting() != 0 {
		t.Fatalf("after the refusal: %d MB in use, %d waiting; want 90 and 0", b.InUse()/mb, b.Waiting())
	}
	held.Release()
	if b.InUse() != 0 {
		t.Fatalf("the refused request left %d bytes reserved", b.InUse())
	}
}

// A request whose context ends while it waits is refused the same way.
func TestRefusedWhenTheContextEnds(t *testing.T) {
	b := New(100*mb, time.Hour, &clock.Fake{})
	b.Reserve(context.Background(), Cost{Held: 100 * mb})
	ctx, cancel := context.WithCancel(context.Background())
	ch := reserveAsync(t, b, ctx, Cost{Held: mb})
	cancel()
	isBusy(t, receive(t, ch).err)
}

// First come, first served: a small request does not pass a large one waiting before it, and
// is admitted as soon as the large one gives up.
func TestFirstComeFirstServed(t *testing.T) {
	fake := &clock.Fake{}
	b := New(100*mb, DefaultWait, fake)
	b.Reserve(context.Background(), Cost{Held: 60 * mb})
	large := reserveAsync(t, b, context.Background(), Cost{Held: 50 * mb})
	fake.Advance(time.Second)
	small := reserveAsync(t, b, context.Background(), Cost{Held: 10 * mb})
	noResult(t, small, "a small request behind a large one")
	fake.Advance(time.Second) // the large one's wait ends; the small one's has a second left
	isBusy(t, receive(t, large).err)
	if r := receive(t, small); r.err != nil {
		t.Fatalf("the small request, once the large one left: %v", r.err)
	}
	if got := b.InUse(); got != 70*mb {
		t.Fatalf("in use %d MB, want 70", got/mb)
	}
}

// A request larger than the whole budget is served alone, never refused for good.
func TestLargerThanTheBudgetRunsAlone(t *testing.T) {
	fake := &clock.Fake{}
	b := New(100*mb, DefaultWait, fake)
	small, _ := b.Reserve(context.Background(), Cost{Held: mb})
	huge := reserveAsync(t, b, context.Background(), Cost{Held: 150 * mb})
	small.Release()
	r := receive(t, huge)
	if r.err != nil {
		t.Fatalf("alone: %v", r.err)
	}
	ch := reserveAsync(t, b, context.Background(), Cost{Held: mb})
	fake.Advance(DefaultWait)
	isBusy(t, receive(t, ch).err)
	r.r.Release()
	if _, err := b.Reserve(context.Background(), Cost{Held: 150 * mb}); err != nil {
		t.Fatalf("alone on an empty budget: %v", err)
	}
}

// The picture path gives back the decode budget through the request's context.
func TestPictureDoneThroughTheContext(t *testing.T) {
	b := New(100*mb, DefaultWait, &clock.Fake{})
	r, _ := b.Reserve(context.Background(), Cost{Held: 10 * mb, Picture: 48 * mb})
	ctx := With(context.Background(), r)
	PictureDone(ctx)
	if got := b.InUse(); got != 10*mb {
		t.Fatalf("in use %d MB, want 10", got/mb)
	}
	PictureDone(context.Background()) // no reservation: nothing happens
	r.Release()
	if got := b.InUse(); got != 0 {
		t.Fatalf("in use %d bytes after release", got)
	}
}

func TestNilBudgetAdmitsEverything(t *testing.T) {
	var b *Budget
	r, err := b.Reserve(context.Background(), Cost{Held: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	r.PictureDone()
	r.Release()
}

// Many requests at once, under the race detector: the admitted ones never hold more than the
// budget together, and every one is served (the fake clock never moves, so nobody gives up).
func TestNeverOverTheBudget(t *testing.T) {
	b := New(100*mb, DefaultWait, &clock.Fake{})
	var held, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Cost{Held: int64(i%7+1) * 5 * mb, Picture: int64(i%3) * 10 * mb}
			r, err := b.Reserve(context.Background(), c)
			if err != nil {
				t.Error(err)
				return
			}
			now := held.Add(c.Held + c.Picture)
			for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
			}
			held.Add(-c.Picture)
			r.PictureDone()
			held.Add(-c.Held)
			r.Release()
		}()
	}
	wg.Wait()
	if peak.Load() > 100*mb || b.InUse() != 0 || b.Waiting() != 0 {
		t.Fatalf("peak %d MB held (budget 100), %d in use and %d waiting at the end", peak.Load()/mb, b.InUse(), b.Waiting())
	}
}

// A request that learns a cost later (a picture read from S3) grows its reservation, waiting
// like any other; refused, it keeps what it held until it is answered.
func TestGrow(t *testing.T) {
	fake := &clock.Fake{}
	b := New(100*mb, DefaultWait, fake)
	r, _ := b.Reserve(context.Background(), Cost{Held: 10 * mb})
	if err := From(With(context.Background(), r)).Grow(context.Background(), 10*mb); err != nil {
		t.Fatal(err)
	}
	other, _ := b.Reserve(context.Background(), Cost{Held: 75 * mb})
	grown := make(chan error, 1)
	go func() { grown <- r.Grow(context.Background(), 10*mb) }()
	waitFor(t, func() bool { return b.Waiting() == 1 })
	other.Release()
	if err := receive(t, grown); err != nil {
		t.Fatalf("once room was given back: %v", err)
	}
	if got := b.InUse(); got != 30*mb {
		t.Fatalf("in use %d MB, want 30", got/mb)
	}
	b.Reserve(context.Background(), Cost{Held: 69 * mb})
	go func() { grown <- r.Grow(context.Background(), 2*mb) }()
	waitFor(t, func() bool { return b.Waiting() == 1 })
	fake.Advance(DefaultWait)
	isBusy(t, receive(t, grown))
	r.Release()
	if got := b.InUse(); got != 69*mb {
		t.Fatalf("in use %d MB after the grown request's release, want 69", got/mb)
	}
	var none *Reservation
	if err := none.Grow(context.Background(), mb); err != nil {
		t.Fatal(err)
	}
}

// A request alone in the process grows past the budget at once: one request is bounded by the
// per-request limits, and waiting for itself would refuse it for nothing.
func TestGrowAlone(t *testing.T) {
	b := New(60*mb, time.Hour, &clock.Fake{})
	r, _ := b.Reserve(context.Background(), Cost{Held: 2 * mb, Picture: 48 * mb})
	done := make(chan error, 1)
	go func() { done <- r.Grow(context.Background(), 30*mb) }()
	if err := receive(t, done); err != nil {
		t.Fatal(err)
	}
	if got := b.InUse(); got != 80*mb {
		t.Fatalf("in use %d MB, want 80", got/mb)
	}
}
