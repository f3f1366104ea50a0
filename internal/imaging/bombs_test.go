package imaging_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// Bombs: inputs that claim or hold far more than they show. Each is refused with a clear 4xx,
// and what refusing it allocates stays small however much it claims.
func TestBombs(t *testing.T) {
	small := testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{4}}
	animated := small.AnimatedGIF(5000)
	if len(animated) > 200<<10 {
		t.Fatalf("the animated GIF is %d bytes; it should be small", len(animated))
	}
	cases := []struct {
		name     string
		data     []byte
		status   int
		code     apierr.Code
		maxAlloc uint64 // bytes allocated while refusing it
	}{
		{"PNG header claiming 100000x100000", testimage.PNGHeader(100000, 100000), 413, apierr.CodeTooLarge, 64 << 10},
		{"PNG header claiming 4 billion pixels wide", testimage.PNGHeader(1<<31-1, 1), 413, apierr.CodeTooLarge, 64 << 10},
		{"JPEG header claiming 65535x65535", testimage.JPEGHeader(65535, 65535), 413, apierr.CodeTooLarge, 64 << 10},
		{"GIF with 5000 frames", animated, 400, apierr.CodeInvalidImage, 64 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := imaging.Normalize(c.data, imaging.GridAuto, imaging.DefaultLimits)
			runtime.ReadMemStats(&after)
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status() != c.status || e.Code != c.code {
				t.Fatalf("%v, want %d %s", err, c.status, c.code)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > c.maxAlloc {
				t.Fatalf("refusing it allocated %d bytes, want at most %d", alloc, c.maxAlloc)
			}
		})
	}
	// One frame is still a picture.
	if _, err := imaging.Normalize(small.AnimatedGIF(1), imaging.GridAuto, imaging.DefaultLimits); err != nil {
		t.Fatalf("a one-frame GIF: %v", err)
	}
}
