// Package membudget is the memory budget one process shares among the requests it serves at
// once. Lambda Managed Instances send many invocations to one process, and each request's
// decode budget bounds that request alone; the budget bounds their sum. Each request reserves
// its worst case before the expensive work (its body as its form parses it, and the decode
// budget when it carries a picture); a request that does not fit waits its turn briefly, then
// is refused with the retryable 503 server_busy and Retry-After, so a burst is answered, never
// ended by the kernel's OOM killer.
package membudget

import (
	"context"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
)

// SizeFor is the budget of a process with memoryMB of memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
// serving up to inFlight invocations at once (AWS_LAMBDA_MAX_CONCURRENCY): three quarters of the
// memory (the managed variant's GOMEMLIMIT, up to which the collector holds the heap), less what the
// invocations in flight may hold before they reach the pipeline, which the budget cannot refuse:
// up to three times Lambda's 6 MB payload each (the runtime's buffer, grown in doubling steps,
// and the request's body). It is at least an eighth of the memory.
func SizeFor(memoryMB, inFlight int) int64 {
	memory := int64(memoryMB) << 20
	return max(memory*3/4-int64(max(inFlight, 1))*PayloadHold, memory/8)
}

// PayloadHold is what one invocation in flight may hold of its payload, whatever it asks for.
const PayloadHold = 3 * 6 << 20

// DefaultWait is how long a request that does not fit waits for others to finish before it is
// refused: long enough for a burst's parses and decodes to drain (each takes well under a
// second of CPU), short against the 29 s a request may take.
const DefaultWait = 2 * time.Second

// RetryAfter is what a refused request is told to wait before it tries again.
const RetryAfter = time.Second

// Budget is one process's memory budget. A nil *Budget admits everything at once.
type Budget struct {
	size  int64
	wait  time.Duration
	clock clock.Clock

	mu    sync.Mutex
	used  int64
	queue []*waiter // first come, first served: a large request is not passed over forever
}

type waiter struct {
	n     int64
	own   int64         // what the waiting request holds already
	ready chan struct{} // closed once admitted
}

// New is a budget of size bytes whose requests wait at most wait, measured on clk.
func New(size int64, wait time.Duration, clk clock.Clock) *Budget {
	return &Budget{size: size, wait: wait, clock: clk}
}

// Size is the budget's size in bytes.
func (b *Budget) Size() int64 { return b.size }

// InUse is how many bytes the admitted requests hold.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Waiting is how many requests wait for room.
func (b *Budget) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// Cost is a request's worst case, in bytes.
type Cost struct {
	// Held is what the request holds until it is answered: its body, and what its form's parse
	// makes of it (the body's size times the form's stated factor).
	Held int64
	// Picture is what decoding its picture may hold (the decode budget), given back once the
	// picture is normalized: a request waiting on its provider holds only its small normalized
	// picture.
	Picture int64
}

// Reservation is what one admitted request holds of the budget.
type Reservation struct {
	b             *Budget
	mu            sync.Mutex
	held, picture int64
}

// Reserve admits a request of cost c: at once when it fits and nobody waits before it, else
// after those before it, when it fits. A request larger than the whole budget is admitted when
// nothing else is: one request is bounded by the per-request limits, which the function's
// memory is sized for. A request still waiting after the budget's wait, or when ctx ends, is
// refused with server_busy.
func (b *Budget) Reserve(ctx context.Context, c Cost) (*Reservation, error) {
	r := &Reservation{b: b, held: max(c.Held, 0), picture: max(c.Picture, 0)}
	if err := b.take(ctx, r.held+r.picture, 0); err != nil {
		return nil, err
	}
	return r, nil
}

// take admits n more bytes for a request that holds own already, waiting as Reserve says. It
// always admits them when that request is the only one holding any: one request alone is bounded
// by the per-request limits.
func (b *Budget) take(ctx context.Context, n, own int64) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	if len(b.queue) == 0 && b.fits(n, own) {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, own: own, ready: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.mu.Unlock()

	wctx, cancel := b.clock.WithTimeout(ctx, b.wait)
	defer cancel()
	select {
	case <-w.ready:
		return nil
	case <-wctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // admitted as the wait ended: it is served after all
		return nil
	default:
	}
	b.remove(w)
	b.admit() // those behind it may fit now
	return busy()
}

// fits reports whether n more bytes may be admitted for a request holding own (b.mu held).
func (b *Budget) fits(n, own int64) bool {
	return b.used+n <= b.size || b.used == own
}

// admit admits the waiters at the head of the queue for as long as they fit (b.mu held).
func (b *Budget) admit() {
	for len(b.queue) > 0 && b.fits(b.queue[0].n, b.queue[0].own) {
		w := b.queue[0]
		b.queue = b.queue[1:]
		b.used += w.n
		close(w.ready)
	}
}

func (b *Budget) remove(w *waiter) {
	for i, q := range b.queue {
		if q == w {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return
		}
	}
}

// giveBack returns n bytes to the budget and admits who now fits.
func (b *Budget) giveBack(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.admit()
}

// busy is the refusal of a request the budget had no room for.
func busy() *apierr.Error {
	e := apierr.New(apierr.CodeServerBusy,
		"the service is serving as many requests as its memory allows; send this one again after Retry-After seconds")
	e.RetryAfter = RetryAfter
	return e
}

// PictureDone gives back the picture's part of the reservation: the picture is normalized and
// what decoding it held is garbage. Later calls do nothing; so does a nil reservation.
func (r *Reservation) PictureDone() {
	if r == nil {
		return
	}
	r.mu.Lock()
	n := r.picture
	r.picture = 0
	r.mu.Unlock()
	if r.b != nil {
		r.b.giveBack(n)
	}
}

// Release gives back all the reservation still holds, once the request is answered. Later
// calls do nothing; so does a nil reservation.
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	r.mu.Lock()
	n := r.held + r.picture
	r.held, r.picture = 0, 0
	r.mu.Unlock()
	if r.b != nil {
		r.b.giveBack(n)
	}
}

type contextKey struct{}

// With is ctx carrying r, so that the picture path can give back its part (PictureDone).
func With(ctx context.Context, r *Reservation) context.Context {
	return context.WithValue(ctx, contextKey{}, r)
}

// Grow adds n bytes to what the request holds until it is answered, once it knows them (the size
// of a picture it reads from S3), waiting for room as Reserve does; a request refused here is
// answered server_busy like one refused at the start, and keeps what it held until Release.
func (r *Reservation) Grow(ctx context.Context, n int64) error {
	if r == nil || n <= 0 {
		return nil
	}
	r.mu.Lock()
	own := r.held + r.picture
	r.mu.Unlock()
	if err := r.b.take(ctx, n, own); err != nil {
		return err
	}
	r.mu.Lock()
	r.held += n
	r.mu.Unlock()
	return nil
}

// From is the reservation ctx carries, or nil (whose methods do nothing).
func From(ctx context.Context) *Reservation {
	r, _ := ctx.Value(contextKey{}).(*Reservation)
	return r
}

// PictureDone gives back the picture's part of the reservation ctx carries, if any.
func PictureDone(ctx context.Context) { From(ctx).PictureDone() }
