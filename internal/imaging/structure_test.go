package imaging_test

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// normalizeNoPanic runs Normalize and turns a panic into a test failure naming the input.
func normalizeNoPanic(t *testing.T, name string, data []byte, grid imaging.Grid, lim imaging.Limits) (n *imaging.Normalized, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s, grid %v: panic: %v", name, grid, p)
		}
	}()
	return imaging.Normalize(data, grid, lim)
}

// Broken structures the headers let through are refused as the caller's picture, at every grid.
func TestBrokenStructureIsRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string // in the message
	}{
		{"JPEG segment of length 0 after the frame", testimage.JPEGShortSegment(0), "segment length 0"},
		{"JPEG segment of length 1 after the frame", testimage.JPEGShortSegment(1), "segment length 1"},
		{"GIF whose first frame is 0x0", testimage.GIFEmptyFrame(), "frame covers 0x0"},
		{"GIF whose frame covers part of the picture", testimage.GIFPartialFrame(), "frame covers 10x10 pixels at (20,20)"},
	} {
		for _, grid := range []imaging.Grid{imaging.GridAuto, imaging.GridSingle, imaging.Grid3x3, imaging.Grid4x4} {
			_, err := normalizeNoPanic(t, c.name, c.data, grid, imaging.DefaultLimits)
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status() != 400 || e.Code != apierr.CodeInvalidImage {
				t.Errorf("%s, grid %v: %v, want 400 %s", c.name, grid, err, apierr.CodeInvalidImage)
				continue
			}
			if grid == imaging.GridAuto && !strings.Contains(e.Message, c.want) {
				t.Errorf("%s: %q does not say %q", c.name, e.Message, c.want)
			}
		}
	}
}

// A greyscale progressive JPEG inside the scan limit whose refinement scans each step through
// every coefficient of every block: small to send, seconds to decode. It is refused from its
// headers, with a message that says why.
func TestDecodeWorkLimit(t *testing.T) {
	attack := testimage.FlatJPEG{Width: 3072, Height: 3072, Components: 1, Progressive: true, Refinements: 62}.Bytes()
	t.Logf("%d bytes", len(attack))
	var e *apierr.Error
	var refusal error
	if got := allocated(func() { _, refusal = imaging.Normalize(attack, imaging.Grid3x3, imaging.DefaultLimits) }); got > 256<<10 {
		t.Errorf("refusing it allocated %d bytes", got)
	}
	if !errors.As(refusal, &e) || e.Status() != 413 || e.Code != apierr.CodeTooComplex {
		t.Fatalf("%v, want 413 %s", refusal, apierr.CodeTooComplex)
	}
	if !strings.Contains(e.Message, "62 refinement scans") {
		t.Errorf("%q does not name the refinement scans", e.Message)
	}
	t.Log(e.Message)
}

// Every picture just over the work limit is refused, and at it accepted: the limit is what the
// model says, for every kind of picture.
func TestWorkLimitIsExact(t *testing.T) {
	classes := append(costClasses(), struct {
		name string
		data []byte
	}{"progressive JPEG of 62 refinement scans", testimage.FlatJPEG{Width: 512, Height: 512, Components: 1, Progressive: true, Refinements: 62}.Bytes()})
	for _, c := range classes {
		t.Run(c.name, func(t *testing.T) {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(c.data))
			if err != nil {
				t.Fatal(err)
			}
			work := imaging.DecodeWork(c.data, format, cfg.Width, cfg.Height)
			lim := imaging.DefaultLimits
			lim.MaxDecodeWork = work - 1
			var e *apierr.Error
			if _, err := imaging.Normalize(c.data, imaging.Grid3x3, lim); !errors.As(err, &e) || e.Code != apierr.CodeTooComplex {
				t.Fatalf("just over the work limit: %v, want %s", err, apierr.CodeTooComplex)
			}
			lim.MaxDecodeWork = work
			if _, err := imaging.Normalize(c.data, imaging.Grid3x3, lim); err != nil {
				t.Fatalf("at the work limit: %v", err)
			}
		})
	}
}

// A lossless WebP whose entropy image refers to 2,600 groups of prefix codes, each of full
// alphabets: golang.org/x/image/vp8l builds about 80 KB of trees a group, 211 MB for a 1 MB file
// of 204x204 pixels. It is refused from what the estimate reads of its bitstream, before any
// tree is built.
func TestLosslessWebPGroupsAreCounted(t *testing.T) {
	attack := testimage.LosslessWebPGroups(204, 204, 2600, 11)
	var refusal error
	if got := allocated(func() { _, refusal = imaging.Normalize(attack, imaging.GridAuto, imaging.DefaultLimits) }); got > 1<<20 {
		t.Errorf("refusing it allocated %d bytes", got)
	}
	var e *apierr.Error
	if !errors.As(refusal, &e) || e.Status() != 413 || e.Code != apierr.CodeTooComplex {
		t.Fatalf("%v, want 413 %s", refusal, apierr.CodeTooComplex)
	}
	if est := imaging.DecodeCost(attack, "webp", 204, 204); est < 200<<20 {
		t.Errorf("the estimate is %d bytes; the decoder allocates over 200 MB", est)
	}
	t.Log(e.Message)
	// The same groups in a picture that fits: accepted, and its estimate bounds what decoding
	// allocates (TestCostEstimateBoundsAllocation holds it for a smaller one).
	ok := testimage.LosslessWebPGroups(64, 64, 100, 11)
	if _, err := normalizeNoPanic(t, "100 groups", ok, imaging.Grid3x3, imaging.DefaultLimits); err != nil {
		t.Errorf("100 groups: %v", err)
	}
}

// Each part of a JPEG's work is counted: a refusal names the part that dominates, and which part
// that is depends on the picture.
func TestWorkRefusalNamesItsCause(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"60 empty scans", testimage.FlatJPEG{Width: 1024, Height: 1024, Components: 3, Subsampled: true, Progressive: true, ExtraScans: 60}.Bytes(), "64 scans each visit up to"},
		{"62 refinement scans", testimage.FlatJPEG{Width: 1024, Height: 1024, Components: 1, Progressive: true, Refinements: 62}.Bytes(), "62 refinement scans"},
		{"a noisy photo at quality 100", testimage.Challenge{Grid: 3, Tile: 400, Label: cars, Targets: []int{4}, Seed: 5}.JPEG(100), "bytes of entropy-coded data"},
		{"a flat baseline picture", testimage.FlatJPEG{Width: 1024, Height: 1024, Components: 3}.Bytes(), "blocks to transform"},
	} {
		lim := imaging.DefaultLimits
		lim.MaxDecodeWork = 1e6
		_, err := imaging.Normalize(c.data, imaging.Grid3x3, lim)
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.CodeTooComplex || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %v, want %s naming %q", c.name, err, apierr.CodeTooComplex, c.want)
		}
	}
}
