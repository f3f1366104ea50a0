package imaging_test

import (
	"bytes"
	"errors"
	"image"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// fuzzLimits keep each execution small; the checks are the same at any limit.
var fuzzLimits = imaging.Limits{MaxBytes: 256 << 10, MaxPixels: 600 * 600, MaxDecodeBytes: 2 << 20}

// fixedAllocation is what Normalize allocates whatever the picture: the decoders' tables and
// buffers, the JPEG encoder, the resize kernels.
const fixedAllocation = 2 << 20

// FuzzNormalize: any bytes and grid give either a 4xx in the error shape, or a picture the
// upstream accepts (the caller's own PNG/JPEG bytes on the fast path, else a decodable square of
// the grid's size) with one tile per cell, each inside the caller's picture. Whatever the input,
// Normalize allocates no more than the decode budget, plus what the input's own size explains.
func FuzzNormalize(f *testing.F) {
	small := testimage.Challenge{Grid: 3, Tile: 12, Label: cars, Targets: []int{4}}
	shot := testimage.Challenge{Grid: 4, Tile: 20, Separator: 2, Margin: 1, Label: cars, Targets: []int{1}}
	for _, seed := range [][]byte{
		small.PNG(), small.JPEG(80), small.GIF(), shot.PNG(), shot.JPEG(90),
		testimage.FlatJPEG{Width: 512, Height: 512, Components: 4, Progressive: true, ExtraScans: 3}.Bytes(),
		testimage.FlatPNG{Width: 300, Height: 200, Depth: 16, ColorType: 6, Interlaced: true}.Bytes(),
		testimage.Challenge{Grid: 1, Tile: 100, Label: cars}.PNG(),
		testimage.PNGHeader(100000, 100000), testimage.PNGHeader(0, 5), testimage.PNGHeader(1<<31-1, 1),
		[]byte("GIF89a\x01\x00\x01\x00"), []byte("\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03"),
		[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), []byte("not an image"),
	} {
		for _, grid := range []int{0, 1, 3, 4} {
			f.Add(seed, grid)
		}
	}
	// Each attack that once got through, small enough to run at every seed replay.
	for _, seed := range []struct {
		name string
		data []byte
	}{
		{"JPEG segment of length 0 after the frame", testimage.JPEGShortSegment(0)},
		{"JPEG segment of length 1 after the frame", testimage.JPEGShortSegment(1)},
		{"GIF whose only frame is 0x0", testimage.GIFEmptyFrame()},
		{"GIF whose frame covers part of the picture", testimage.GIFPartialFrame()},
		{"300x300 progressive JPEG of 300 scans", testimage.FlatJPEG{Width: 300, Height: 300, Components: 1, Progressive: true, ExtraScans: 300}.Bytes()},
		{"greyscale progressive JPEG of 62 refinement scans", testimage.FlatJPEG{Width: 512, Height: 512, Components: 1, Progressive: true, Refinements: 62}.Bytes()},
		{"300x300 JPEG with EXIF, XMP, ICC, IPTC and a comment", testimage.JPEGWithMetadata(small.JPEG(80))},
		{"PNG with text, EXIF, ICC and time chunks", testimage.PNGWithMetadata(small.PNG())},
		{"lossless WebP of many groups of prefix codes", testimage.LosslessWebPGroups(24, 24, 36, 4)},
	} {
		f.Add(seed.data, 0)
		f.Add(seed.data, 3)
	}
	f.Fuzz(func(t *testing.T, data []byte, gridNumber int) {
		grid := imaging.Grid(gridNumber)
		if grid != imaging.GridAuto && grid != imaging.GridSingle && grid != imaging.Grid3x3 && grid != imaging.Grid4x4 {
			return // ParseGrid lets no other value through
		}
		var (
			n   *imaging.Normalized
			err error
		)
		got := allocated(func() { n, err = imaging.Normalize(data, grid, fuzzLimits) })
		if bound := uint64(fuzzLimits.MaxDecodeBytes) + 2*uint64(len(data)) + fixedAllocation; got > bound {
			t.Fatalf("Normalize allocated %d bytes for %d bytes of input; the bound is %d", got, len(data), bound)
		}
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status() < 400 || e.Status() > 499 {
				t.Fatalf("error %v is not a 4xx in the error shape", err)
			}
			return
		}
		size := n.Grid.Size()
		if size == 0 || grid != imaging.GridAuto && n.Grid != grid {
			t.Fatalf("grid %v for a request of %v", n.Grid, grid)
		}
		if n.Passthrough {
			if n.Width != size || n.Height != size || n.Format != "png" && n.Format != "jpeg" {
				t.Fatalf("passthrough of a %s %dx%d picture for size %d", n.Format, n.Width, n.Height, size)
			}
			// The caller's bytes without their metadata, and forwarding them again changes nothing.
			if imaging.HasMetadata(n.Format, n.Image) {
				t.Fatal("the forwarded picture carries metadata")
			}
			if again, err := imaging.Normalize(n.Image, grid, fuzzLimits); err != nil || !bytes.Equal(again.Image, n.Image) {
				t.Fatalf("forwarding the forwarded picture: %v", err)
			}
		} else {
			img, format, err := image.Decode(bytes.NewReader(n.Image))
			if err != nil || format != "jpeg" || img.Bounds() != image.Rect(0, 0, size, size) {
				t.Fatalf("output: %v, %s, %v; want a %dx%d JPEG", err, format, img, size, size)
			}
		}
		if want := int(n.Grid) * int(n.Grid); len(n.Tiles) != want {
			t.Fatalf("%d tiles, want %d", len(n.Tiles), want)
		}
		for i, r := range n.Tiles {
			if r.X0 < 0 || r.Y0 < 0 || r.X1 > float64(n.Width) || r.Y1 > float64(n.Height) || r.X0 >= r.X1 || r.Y0 >= r.Y1 {
				t.Fatalf("tile %d %+v is not inside the %dx%d picture", i, r, n.Width, n.Height)
			}
		}
	})
}
