package recognition_test

import (
	"context"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// inUseAtCall records how much of the budget is in use when the upstream is asked.
type inUseAtCall struct {
	recognition.Upstream
	budget *membudget.Budget
	seen   int64
}

func (u *inUseAtCall) Recognize(ctx context.Context, image []byte, labelID string, size int) (*recognition.Solution, error) {
	u.seen = u.budget.InUse()
	return u.Upstream.Recognize(ctx, image, labelID, size)
}

// While a request waits on its provider it holds only its body's share of the memory budget:
// the decode budget went back once the picture was normalized.
func TestDecodeBudgetGivenBackBeforeTheProvider(t *testing.T) {
	b := membudget.New(1<<30, membudget.DefaultWait, &clock.Fake{})
	r, err := b.Reserve(context.Background(), membudget.Cost{Held: 3 << 20, Picture: 48 << 20})
	if err != nil {
		t.Fatal(err)
	}
	up := &inUseAtCall{Upstream: testenv.FakeUpstream{}, budget: b}
	ch := testimage.Challenge{Grid: 3, Tile: 130, Label: "/m/0k4j", Targets: []int{0, 4}, Seed: 7}
	ctx := membudget.With(context.Background(), r)
	if _, err := service(up).Recognize(ctx, recognition.Input{Image: ch.PNG(), Question: ch.Label, Grid: "3x3"}); err != nil {
		t.Fatal(err)
	}
	if up.seen != 3<<20 {
		t.Fatalf("%d bytes in use while the provider was asked, want the 3 MB held", up.seen)
	}
}
