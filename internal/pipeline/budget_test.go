package pipeline_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/protocols"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

const mb = 1 << 20

// budgeted is a server of every front sharing a budget of size bytes on a fake clock.
func budgeted(size int64, log *lines) (*pipeline.Server, *membudget.Budget, *clock.Fake) {
	fake := &clock.Fake{}
	b := membudget.New(size, membudget.DefaultWait, fake)
	s := newServer(&watchingAuth{}, log)
	s.Budget, s.PictureBytes = b, 48*mb
	return s, b, fake
}

// busyShapes are the budget's refusal in each wire: the native 503 server_busy with Retry-After,
// the protocols' "no slot available".
var busyShapes = map[string]func(wire.Response) bool{
	"api": func(r wire.Response) bool {
		return r.Status == 503 && r.Header.Get("Retry-After") == "1" && strings.Contains(string(r.Body), `"code":"server_busy"`)
	},
	"task": func(r wire.Response) bool {
		return r.Status == 200 && strings.Contains(string(r.Body), `"errorCode":"ERROR_NO_SLOT_AVAILABLE"`)
	},
	"2captcha": func(r wire.Response) bool { return r.Status == 200 && string(r.Body) == "ERROR_NO_SLOT_AVAILABLE" },
}

// serveAsync serves req on another goroutine and returns once the request waits for the budget.
func serveAsync(t *testing.T, s *pipeline.Server, b *membudget.Budget, req wire.Request) <-chan wire.Response {
	t.Helper()
	out := make(chan wire.Response, 1)
	go func() { out <- s.Serve(context.Background(), req) }()
	for deadline := time.Now().Add(10 * time.Second); b.Waiting() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // only keeps a broken test from hanging
			t.Fatal("the request never waited for the budget")
		}
	}
	return out
}

// With the budget full, every front's request waits its turn, then is refused in its own wire's
// shape, logged as server_busy at warning level, holding nothing; once there is room, the same
// request is served, and gives all it reserved back.
func TestEveryFrontRefusedWhenTheBudgetIsFull(t *testing.T) {
	for _, f := range fronts() {
		t.Run(f.protocol, func(t *testing.T) {
			log := &lines{}
			s, b, fake := budgeted(64*mb, log)
			other, _ := b.Reserve(context.Background(), membudget.Cost{Held: 64 * mb})
			answer := serveAsync(t, s, b, f.req)
			fake.Advance(membudget.DefaultWait)
			if resp := <-answer; !busyShapes[f.protocol](resp) {
				t.Fatalf("budget full: %d %v %s", resp.Status, resp.Header, resp.Body)
			}
			if reqs := log.requests(t); len(reqs) != 1 || reqs[0]["code"] != string(apierr.CodeServerBusy) || reqs[0]["level"] != "WARN" || reqs[0]["protocol"] != f.protocol {
				t.Errorf("log %v, want one WARN line with code server_busy", reqs)
			}
			if b.InUse() != 64*mb || b.Waiting() != 0 {
				t.Errorf("after the refusal: %d MB in use, %d waiting", b.InUse()/mb, b.Waiting())
			}
			other.Release()
			if resp := s.Serve(context.Background(), f.req); !f.ok(resp) {
				t.Fatalf("with room: %d %s", resp.Status, resp.Body)
			}
			if b.InUse() != 0 {
				t.Errorf("%d bytes still reserved after the answer", b.InUse())
			}
		})
	}
}

// A request that finds the budget full is served as soon as room is given back within its wait.
func TestEveryFrontWaitsItsTurn(t *testing.T) {
	for _, f := range fronts() {
		t.Run(f.protocol, func(t *testing.T) {
			s, b, fake := budgeted(64*mb, &lines{})
			other, _ := b.Reserve(context.Background(), membudget.Cost{Held: 64 * mb})
			answer := serveAsync(t, s, b, f.req)
			fake.Advance(membudget.DefaultWait - time.Millisecond)
			other.Release()
			if resp := <-answer; !f.ok(resp) {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
		})
	}
}

// seeingBudget is a provider that notes how much of the budget is in use when it is asked.
type seeingBudget struct {
	budget *membudget.Budget
	seen   int64
}

func (u *seeingBudget) Recognize(ctx context.Context, image []byte, labelID string, size int) (*recognition.Solution, error) {
	u.seen = u.budget.InUse()
	return testenv.FakeUpstream{}.Recognize(ctx, image, labelID, size)
}

// While a request waits on its provider it holds its body's share (its form's stated parse), not
// the decode budget; a picture read from S3 adds
// room for the largest picture and its normalizing.
func TestWhatARequestHoldsWhileItsProviderAnswers(t *testing.T) {
	s, b, _ := budgeted(1<<30, &lines{})
	up := &seeingBudget{budget: b}
	native := s.Default.(*httpapi.API)
	native.Service.Upstream = up
	store := &testenv.MemStore{}
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1}, Seed: 9}
	store.Write(context.Background(), "refs", "cars.png", ch.PNG())
	native.Store = store
	native.Config.Sources, _ = s3scope.Parse("refs")
	for _, f := range fronts() {
		up.seen = 0
		if resp := s.Serve(context.Background(), f.req); !f.ok(resp) {
			t.Fatalf("%s: %d %s", f.protocol, resp.Status, resp.Body)
		}
		fp := s.Routes[f.req.Path]
		if fp == nil {
			fp = s.Default
		}
		want := int64(len(f.req.Body)) * fp.Footprint(f.req).ParseFactor
		if up.seen != want {
			t.Errorf("%s: %d bytes in use at the provider, want %d (the body's share)", f.protocol, up.seen, want)
		}
	}
	ref := wire.Request{Method: "POST", Path: api.RecognizePath, Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer alice-key"}},
		Body: []byte(`{"s3":"s3://refs/cars.png","question":"cars"}`)}
	if resp := s.Serve(context.Background(), ref); resp.Status != 200 {
		t.Fatalf("S3 reference: %d %s", resp.Status, resp.Body)
	}
	if want := int64(len(ref.Body))*3 + 3*int64(native.Service.Limits.MaxBytes); up.seen != want {
		t.Errorf("S3 reference: %d bytes in use at the provider, want %d", up.seen, want)
	}
	if b.InUse() != 0 {
		t.Errorf("%d bytes still reserved", b.InUse())
	}
}

// A request that may carry a picture reserves the decode budget besides its body's share; one
// that cannot (a poll) does not: with 40 MB left, every front's picture request waits and is
// refused, while a poll is served at once.
func TestAPictureReservesTheDecodeBudget(t *testing.T) {
	for _, f := range fronts() {
		t.Run(f.protocol, func(t *testing.T) {
			s, b, fake := budgeted(64*mb, &lines{})
			b.Reserve(context.Background(), membudget.Cost{Held: 24 * mb})
			answer := serveAsync(t, s, b, f.req)
			fake.Advance(membudget.DefaultWait)
			if resp := <-answer; !busyShapes[f.protocol](resp) {
				t.Fatalf("a picture with 40 MB left: %d %s", resp.Status, resp.Body)
			}
		})
	}
	s, b, _ := budgeted(64*mb, &lines{})
	b.Reserve(context.Background(), membudget.Cost{Held: 24 * mb})
	poll := wire.Request{Method: "GET", Path: protocols.ResPath, Query: map[string][]string{"key": {"alice-key"}, "action": {"get"}, "id": {"1"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a poll that waits fails, not hangs
	defer cancel()
	if resp := s.Serve(ctx, poll); busyShapes["2captcha"](resp) || !strings.HasPrefix(string(resp.Body), "ERROR_") {
		t.Fatalf("a poll with 40 MB left: %d %s", resp.Status, resp.Body)
	}
}
