package imaging_test

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

const cars = "/m/0k4j"

type normCase struct {
	name        string
	ch          testimage.Challenge
	encode      func(testimage.Challenge) []byte
	grid        imaging.Grid
	wantGrid    imaging.Grid
	passthrough bool
}

func pngOf(c testimage.Challenge) []byte  { return c.PNG() }
func jpegOf(c testimage.Challenge) []byte { return c.JPEG(90) }
func gifOf(c testimage.Challenge) []byte  { return c.GIF() }

var normCases = []normCase{
	{"300 PNG passes through", testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{0, 4, 8}}, pngOf, imaging.GridAuto, imaging.Grid3x3, true},
	{"450 JPEG passes through", testimage.Challenge{Grid: 4, Tile: 112, Margin: 1, Label: cars, Targets: []int{1, 6, 11, 12}}, jpegOf, imaging.GridAuto, imaging.Grid4x4, true},
	{"100 PNG single tile", testimage.Challenge{Grid: 1, Tile: 100, Label: cars, Targets: []int{0}}, pngOf, imaging.GridAuto, imaging.GridSingle, true},
	{"300 GIF is re-encoded", testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{2, 5}}, gifOf, imaging.GridAuto, imaging.Grid3x3, false},
	{"1000 JPEG 4x4 to 450", testimage.Challenge{Grid: 4, Tile: 250, Label: cars, Targets: []int{0, 5, 10, 15}}, jpegOf, imaging.Grid4x4, imaging.Grid4x4, false},
	{"1200 PNG 3x3 to 300", testimage.Challenge{Grid: 3, Tile: 400, Label: cars, Targets: []int{3, 7}}, pngOf, imaging.Grid3x3, imaging.Grid3x3, false},
	{"387 JPEG screenshot 4x4 inferred", testimage.Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 2, Label: cars, Targets: []int{3, 9, 14}}, jpegOf, imaging.GridAuto, imaging.Grid4x4, false},
	{"screenshot 3x3 inferred", testimage.Challenge{Grid: 3, Tile: 126, Separator: 4, Label: cars, Targets: []int{1, 2, 6}}, jpegOf, imaging.GridAuto, imaging.Grid3x3, false},
	{"screenshot 3x3 explicit", testimage.Challenge{Grid: 3, Tile: 126, Separator: 6, Margin: 5, Label: cars, Targets: []int{0, 8}}, pngOf, imaging.Grid3x3, imaging.Grid3x3, false},
	{"200 single tile to 100", testimage.Challenge{Grid: 1, Tile: 200, Label: cars, Targets: []int{0}}, jpegOf, imaging.GridSingle, imaging.GridSingle, false},
	{"300 PNG asked as 4x4 is resized", testimage.Challenge{Grid: 4, Tile: 75, Label: cars, Targets: []int{5}}, pngOf, imaging.Grid4x4, imaging.Grid4x4, false},
}

func TestNormalizeKeepsEveryTile(t *testing.T) {
	for _, c := range normCases {
		t.Run(c.name, func(t *testing.T) {
			data := c.encode(c.ch)
			n, err := imaging.Normalize(data, c.grid, imaging.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if n.Grid != c.wantGrid || n.Passthrough != c.passthrough {
				t.Fatalf("grid %v passthrough %v, want %v %v", n.Grid, n.Passthrough, c.wantGrid, c.passthrough)
			}
			if c.passthrough && !bytes.Equal(n.Image, data) {
				t.Fatal("passthrough changed the bytes")
			}
			img, format, err := image.Decode(bytes.NewReader(n.Image))
			if err != nil {
				t.Fatal(err)
			}
			if format != "png" && format != "jpeg" {
				t.Fatalf("output format %s", format)
			}
			if s := n.Grid.Size(); img.Bounds().Dx() != s || img.Bounds().Dy() != s {
				t.Fatalf("output %v, want %dx%d", img.Bounds(), s, s)
			}
			_, objects := emulator.Recognize(img, int(n.Grid), cars)
			if !slices.Equal(objects, c.ch.Targets) {
				t.Fatalf("emulator finds %v in the output, want %v", objects, c.ch.Targets)
			}
			checkTileCenters(t, c.ch, n)
		})
	}
}

// Every tile centre must land inside that tile of the caller's picture.
func checkTileCenters(t *testing.T, ch testimage.Challenge, n *imaging.Normalized) {
	t.Helper()
	if len(n.Tiles) != ch.Grid*ch.Grid {
		t.Fatalf("%d tiles, want %d", len(n.Tiles), ch.Grid*ch.Grid)
	}
	if n.Width != ch.Side() || n.Height != ch.Side() {
		t.Fatalf("size %dx%d, want %d", n.Width, n.Height, ch.Side())
	}
	for i, r := range n.Tiles {
		x, y := r.Center()
		tx0 := ch.Margin + (i%ch.Grid)*(ch.Tile+ch.Separator)
		ty0 := ch.Margin + (i/ch.Grid)*(ch.Tile+ch.Separator)
		if x < tx0 || x >= tx0+ch.Tile || y < ty0 || y >= ty0+ch.Tile {
			t.Errorf("tile %d centre (%d,%d) is outside its tile at (%d,%d)+%d", i, x, y, tx0, ty0, ch.Tile)
		}
		if cx, cy := tx0+ch.Tile/2, ty0+ch.Tile/2; abs(cx-x) > 2 || abs(cy-y) > 2 {
			t.Errorf("tile %d centre (%d,%d), want about (%d,%d)", i, x, y, cx, cy)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestNormalizeRejects(t *testing.T) {
	plain600 := testimage.Challenge{Grid: 3, Tile: 200, Label: cars}.JPEG(85)
	valid := testimage.Challenge{Grid: 3, Tile: 100, Label: cars}.PNG()
	big := testimage.Challenge{Grid: 4, Tile: 250, Label: cars}.JPEG(90)
	cases := []struct {
		name   string
		data   []byte
		grid   imaging.Grid
		limits imaging.Limits
		status int
		code   apierr.Code
		msg    string
	}{
		{"empty", nil, 0, imaging.DefaultLimits, 400, apierr.CodeInvalidImage, "empty"},
		{"not an image", []byte("hello, this is text"), 0, imaging.DefaultLimits, 400, apierr.CodeInvalidImage, "not a PNG, JPEG, GIF or WebP"},
		{"truncated standard PNG", valid[:len(valid)/2], 0, imaging.DefaultLimits, 400, apierr.CodeInvalidImage, "not a valid png"},
		{"truncated large JPEG", big[:len(big)/3], imaging.Grid4x4, imaging.DefaultLimits, 400, apierr.CodeInvalidImage, "not a valid jpeg"},
		{"truncated header", valid[:20], 0, imaging.DefaultLimits, 400, apierr.CodeInvalidImage, "header"},
		{"too many bytes", valid, 0, imaging.Limits{MaxBytes: 100, MaxPixels: 1 << 20}, 413, apierr.CodeTooLarge, "bytes"},
		{"pixel bomb header", testimage.PNGHeader(100000, 100000), 0, imaging.DefaultLimits, 413, apierr.CodeTooLarge, "100000x100000"},
		{"zero size", testimage.PNGHeader(0, 300), 0, imaging.DefaultLimits, 400, apierr.CodeInvalidImage, ""},
		{"no grid, no separators", plain600, 0, imaging.DefaultLimits, 400, apierr.CodeGridRequired, "send grid"},
		{"too small for grid", testimage.Challenge{Grid: 1, Tile: 20, Label: cars}.PNG(), imaging.Grid4x4, imaging.DefaultLimits, 400, apierr.CodeInvalidImage, "too small"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := imaging.Normalize(c.data, c.grid, c.limits)
			var e *apierr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *apierr.Error", err)
			}
			if e.Status() != c.status || e.Code != c.code || !strings.Contains(e.Text(), c.msg) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", e.Status(), e.Code, e.Text(), c.status, c.code, c.msg)
			}
		})
	}
}

func TestParseGrid(t *testing.T) {
	for in, want := range map[string]imaging.Grid{"": 0, "3x3": 3, "4X4": 4, "1x1": 1, "4": 4, " 3×3 ": 3} {
		if g, err := imaging.ParseGrid(in); err != nil || g != want {
			t.Errorf("ParseGrid(%q) = %v, %v; want %v", in, g, err, want)
		}
	}
	for _, in := range []string{"2x2", "5x5", "3x4", "big"} {
		_, err := imaging.ParseGrid(in)
		if e := apierr.As(err); err == nil || e.Status() != http.StatusBadRequest || e.Code != apierr.CodeInvalidGrid {
			t.Errorf("ParseGrid(%q) = %v, want invalid_grid", in, err)
		}
	}
}

func TestWebP(t *testing.T) {
	for _, f := range []testimage.Fixture{testimage.WebPLossy300, testimage.WebPLossless387} {
		t.Run(f.Name, func(t *testing.T) {
			n, err := imaging.Normalize(f.Bytes(), imaging.GridAuto, imaging.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if n.Format != "webp" || n.Passthrough || n.Grid != imaging.Grid(f.Challenge.Grid) {
				t.Fatalf("format %s passthrough %v grid %v", n.Format, n.Passthrough, n.Grid)
			}
			img, _, err := image.Decode(bytes.NewReader(n.Image))
			if err != nil {
				t.Fatal(err)
			}
			if _, objects := emulator.Recognize(img, int(n.Grid), f.Challenge.Label); !slices.Equal(objects, f.Challenge.Targets) {
				t.Fatalf("objects %v, want %v", objects, f.Challenge.Targets)
			}
			checkTileCenters(t, f.Challenge, n)
		})
	}
}

// Transparent pixels read as the widget's white, whether the PNG decodes premultiplied or not.
func TestTransparencyIsWhite(t *testing.T) {
	sig, _ := emulator.Signature(cars)
	img := image.NewNRGBA(image.Rect(0, 0, 600, 600)) // all transparent
	for y := 200; y < 400; y++ {
		for x := 400; x < 600; x++ { // tile 5 opaque in the label's colour
			img.Set(x, y, sig)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	n, err := imaging.Normalize(buf.Bytes(), imaging.Grid3x3, imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := image.Decode(bytes.NewReader(n.Image))
	if _, objects := emulator.Recognize(out, 3, cars); !slices.Equal(objects, []int{5}) {
		t.Fatalf("objects %v, want [5]", objects)
	}
	if r, g, b, _ := out.At(50, 50).RGBA(); r>>8 < 245 || g>>8 < 245 || b>>8 < 245 {
		t.Fatalf("a transparent tile came out as %d,%d,%d, not white", r>>8, g>>8, b>>8)
	}
}
