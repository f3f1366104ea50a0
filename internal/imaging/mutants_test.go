package imaging_test

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

func blankPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A grid needs at least 8 pixels a tile on each side: a picture too thin either way (400x3 for
// 3x3) is refused before anything is decoded or paid for; the smallest square that fits is not.
func TestTooSmallEitherWay(t *testing.T) {
	for _, c := range []struct {
		w, h int
		grid imaging.Grid
	}{
		{400, 3, imaging.Grid3x3}, {3, 400, imaging.Grid3x3}, {24, 23, imaging.Grid3x3}, {23, 24, imaging.Grid3x3},
		{450, 31, imaging.Grid4x4}, {31, 450, imaging.Grid4x4}, {100, 7, imaging.GridSingle},
	} {
		_, err := imaging.Normalize(blankPNG(t, c.w, c.h), c.grid, imaging.DefaultLimits)
		if e := apierr.As(err); e.Code != apierr.CodeInvalidImage || e.Status() != 400 {
			t.Errorf("%dx%d for %s: %v, want 400 invalid_image", c.w, c.h, c.grid, err)
		}
	}
	for _, c := range []struct {
		side int
		grid imaging.Grid
	}{{24, imaging.Grid3x3}, {32, imaging.Grid4x4}, {8, imaging.GridSingle}} {
		if _, err := imaging.Normalize(blankPNG(t, c.side, c.side), c.grid, imaging.DefaultLimits); err != nil {
			t.Errorf("%dx%d for %s: %v", c.side, c.side, c.grid, err)
		}
	}
}

// MaxBytes is exact: a picture of the limit's size is accepted, one byte over it is not.
func TestMaxBytesBoundary(t *testing.T) {
	data := testimage.Challenge{Grid: 3, Tile: 100, Label: cars}.PNG()
	lim := imaging.DefaultLimits
	lim.MaxBytes = len(data)
	if _, err := imaging.Normalize(data, 0, lim); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	lim.MaxBytes--
	if _, err := imaging.Normalize(data, 0, lim); apierr.As(err).Code != apierr.CodeTooLarge {
		t.Errorf("one byte over the limit: %v, want too_large", err)
	}
}
