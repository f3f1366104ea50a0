package imaging_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// allocated is what f allocates in all, measured by the runtime.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// costClasses are pictures of every kind the decoders treat differently, small enough to decode
// here in milliseconds. They are made when a test asks, not when the package starts: the
// benchmarks of this package should not pay for them.
func costClasses() []struct {
	name string
	data []byte
} {
	return []struct {
		name string
		data []byte
	}{
		{"baseline JPEG 4:2:0", testimage.FlatJPEG{Width: 512, Height: 512, Components: 3, Subsampled: true}.Bytes()},
		{"baseline JPEG 4:4:4", testimage.FlatJPEG{Width: 512, Height: 512, Components: 3}.Bytes()},
		{"greyscale JPEG", testimage.FlatJPEG{Width: 500, Height: 500, Components: 1}.Bytes()},
		{"CMYK JPEG", testimage.FlatJPEG{Width: 512, Height: 512, Components: 4}.Bytes()},
		{"progressive JPEG 4:2:0", testimage.FlatJPEG{Width: 512, Height: 512, Components: 3, Subsampled: true, Progressive: true}.Bytes()},
		{"progressive JPEG 4:4:4", testimage.FlatJPEG{Width: 512, Height: 512, Components: 3, Progressive: true, ExtraScans: 10}.Bytes()},
		{"progressive CMYK JPEG", testimage.FlatJPEG{Width: 512, Height: 512, Components: 4, Progressive: true}.Bytes()},
		{"progressive greyscale JPEG", testimage.FlatJPEG{Width: 512, Height: 512, Components: 1, Progressive: true}.Bytes()},
		{"8-bit RGBA PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 8, ColorType: 6}.Bytes()},
		{"8-bit RGB PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 8, ColorType: 2}.Bytes()},
		{"16-bit RGBA PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 16, ColorType: 6}.Bytes()},
		{"16-bit RGB PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 16, ColorType: 2}.Bytes()},
		{"16-bit greyscale PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 16, ColorType: 0}.Bytes()},
		{"16-bit greyscale+alpha PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 16, ColorType: 4}.Bytes()},
		{"4-bit paletted PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 4, ColorType: 3}.Bytes()},
		{"interlaced 8-bit RGBA PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 8, ColorType: 6, Interlaced: true}.Bytes()},
		{"interlaced 16-bit RGB PNG", testimage.FlatPNG{Width: 600, Height: 500, Depth: 16, ColorType: 2, Interlaced: true}.Bytes()},
		{"GIF", testimage.Challenge{Grid: 3, Tile: 170, Label: cars}.GIF()},
		{"lossy WebP", testimage.WebPLossy300.Bytes()},
		{"lossless WebP", testimage.WebPLossless387.Bytes()},
		{"lossless WebP of 200 prefix-code groups", testimage.LosslessWebPGroups(64, 64, 200, 11)},
	}
}

// The estimate made from the headers is an upper bound of what Normalize really allocates, for
// every kind of picture, and it is not wildly above it either (a budget that refused pictures
// costing a tenth of their estimate would refuse real ones for nothing).
func TestCostEstimateBoundsAllocation(t *testing.T) {
	for _, c := range costClasses() {
		t.Run(c.name, func(t *testing.T) {
			n, err := imaging.Normalize(c.data, imaging.Grid3x3, imaging.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			est := imaging.DecodeCost(c.data, n.Format, n.Width, n.Height)
			got := allocated(func() { imaging.Normalize(c.data, imaging.Grid3x3, imaging.DefaultLimits) })
			// The decoders' fixed tables (Huffman, zlib window, JPEG encoder) come on top of
			// the per-pixel cost.
			const fixed = 1 << 20
			t.Logf("allocated %d bytes, estimate %d", got, est)
			if int64(got) > est+fixed {
				t.Errorf("Normalize allocated %d bytes; the estimate is %d", got, est)
			}
			if est > 4*int64(got) {
				t.Errorf("the estimate %d is over four times what Normalize allocated (%d)", est, got)
			}
		})
	}
}

// Every picture just over the budget is refused, before decoding, with a message that names the
// kind of picture and the limit; just under it is accepted.
func TestDecodeBudgetRefusesBeforeDecoding(t *testing.T) {
	lim := imaging.DefaultLimits
	lim.MaxDecodeBytes = 2 << 20
	for _, c := range costClasses() {
		t.Run(c.name, func(t *testing.T) {
			n, err := imaging.Normalize(c.data, imaging.Grid3x3, imaging.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			est := imaging.DecodeCost(c.data, n.Format, n.Width, n.Height)
			tight := lim
			tight.MaxDecodeBytes = est - 1
			var refusal error
			if got := allocated(func() { _, refusal = imaging.Normalize(c.data, imaging.Grid3x3, tight) }); got > 64<<10 {
				t.Errorf("refusing it allocated %d bytes", got)
			}
			var e *apierr.Error
			if !errors.As(refusal, &e) || e.Status() != 413 || e.Code != apierr.CodeTooComplex {
				t.Fatalf("just over the budget: %v, want 413 %s", refusal, apierr.CodeTooComplex)
			}
			t.Log(e.Message)
			tight.MaxDecodeBytes = est
			if _, err := imaging.Normalize(c.data, imaging.Grid3x3, tight); err != nil {
				t.Fatalf("at the budget: %v", err)
			}
		})
	}
}

func TestScanLimit(t *testing.T) {
	for _, c := range []struct {
		jpeg testimage.FlatJPEG
		ok   bool
	}{
		{testimage.FlatJPEG{Width: 256, Height: 256, Components: 3, Progressive: true, ExtraScans: 60}, true},    // 64 scans: a DC scan and three AC scans, then 60 more
		{testimage.FlatJPEG{Width: 256, Height: 256, Components: 3, Progressive: true, ExtraScans: 61}, false},   // 65
		{testimage.FlatJPEG{Width: 256, Height: 256, Components: 1, Progressive: true, ExtraScans: 7000}, false}, // 7000 empty scans
	} {
		_, err := imaging.Normalize(c.jpeg.Bytes(), imaging.Grid3x3, imaging.DefaultLimits)
		var e *apierr.Error
		switch {
		case c.ok && err != nil:
			t.Errorf("%+v: %v", c.jpeg, err)
		case !c.ok && (!errors.As(err, &e) || e.Code != apierr.CodeTooComplex):
			t.Errorf("%+v: %v, want %s", c.jpeg, err, apierr.CodeTooComplex)
		case !c.ok:
			t.Log(e.Message)
		}
	}
}

// A standard-size picture is forwarded undecoded, but its scans are counted first; and when a
// provider refuses it and it is decoded to find out why, the scan limit holds there too.
func TestScanLimitWhenAForwardedPictureIsChecked(t *testing.T) {
	standard := testimage.FlatJPEG{Width: 300, Height: 300, Components: 1, Progressive: true, ExtraScans: 7000}.Bytes()
	var e *apierr.Error
	if _, err := imaging.Normalize(standard, imaging.GridAuto, imaging.DefaultLimits); !errors.As(err, &e) || e.Code != apierr.CodeTooComplex {
		t.Fatalf("a complete 300x300 JPEG of 7002 scans: %v, want %s", err, apierr.CodeTooComplex)
	}
	if err := imaging.CheckDecodes(standard); !errors.As(err, &e) || e.Code != apierr.CodeTooComplex {
		t.Errorf("CheckDecodes: %v, want %s", err, apierr.CodeTooComplex)
	}
}
