package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	// Decoders for every format a caller may send.
	_ "image/gif"
	_ "image/png"

	_ "golang.org/x/image/webp"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// Limits bound what Normalize accepts. All are checked from the headers, before any pixel is
// decoded.
type Limits struct {
	MaxBytes  int // encoded size
	MaxPixels int // width × height
	// MaxDecodeBytes bounds the memory decoding holds at its peak, which depends on the format
	// as much as on the size: a progressive JPEG keeps 5 bytes a pixel per component, a 16-bit
	// PNG 8 bytes a pixel, a 4:2:0 baseline JPEG 1.5.
	MaxDecodeBytes int64
	// MaxDecodeWork bounds the decoder's work, in units of about a nanosecond on the reference
	// machine (see jpegWork): a picture's time depends on its structure as much as on its size,
	// as a progressive JPEG's scans each revisit every block.
	MaxDecodeWork int64
}

// DefaultLimits keep a function within 100 MB of memory whatever the picture (docs/performance.md
// has the peak of every class): 48 MB of decoding covers a 4K screenshot as RGBA PNG (33 MB), a
// 16-megapixel 4:2:0 baseline JPEG (24 MB) and a 6-megapixel progressive one (45 MB).
//
// 450 million units of work keep every accepted picture's Normalize under about 0.45 s of CPU on
// the reference machine (BenchmarkDecodeWork: at most about 1 ns a unit), and accept a 7 MB
// photo at JPEG quality 100 (424 million); docs/performance.md, section 5, lists the costliest
// accepted picture of each class, end to end.
var DefaultLimits = Limits{MaxBytes: 10 << 20, MaxPixels: 16 << 20, MaxDecodeBytes: 48 << 20, MaxDecodeWork: 450e6}

// jpegQuality keeps tiles recognizable at a third of PNG's size and a fraction of its encode time.
const jpegQuality = 90

// Rect is a tile's place in the caller's own image, in pixels (half-open, fractional when the
// image does not divide evenly).
type Rect struct{ X0, Y0, X1, Y1 float64 }

// Center is the pixel a caller clicks for the tile.
func (r Rect) Center() (x, y int) { return int((r.X0 + r.X1) / 2), int((r.Y0 + r.Y1) / 2) }

// Normalized is a picture ready for the upstream.
type Normalized struct {
	Image  []byte // PNG or JPEG, Grid.Size() pixels square
	Grid   Grid
	Format string // the caller's format: png, jpeg, gif or webp
	Width  int    // the caller's image
	Height int
	Tiles  []Rect // row-major, in the caller's pixels
	// Passthrough: Image is the caller's own encoding, not decoded here, with its metadata
	// (EXIF, comments, ICC profile, text chunks) and any bytes after its end left out.
	Passthrough bool
}

// Normalize validates data and turns it into the upstream's standard picture for grid (GridAuto:
// taken from the size, else from the separators of a widget screenshot).
func Normalize(data []byte, grid Grid, lim Limits) (*Normalized, error) {
	if len(data) == 0 {
		return nil, apierr.New(apierr.CodeInvalidImage, "image is empty")
	}
	if len(data) > lim.MaxBytes {
		return nil, apierr.New(apierr.CodeTooLarge,
			"image is %d bytes; the limit is %d", len(data), lim.MaxBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return nil, apierr.New(apierr.CodeInvalidImage, "image is not a PNG, JPEG, GIF or WebP picture")
	}
	if err != nil {
		return nil, apierr.Wrap(err, apierr.CodeInvalidImage, fmt.Sprintf("image header is not a valid %s header", format))
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		return nil, apierr.New(apierr.CodeInvalidImage, "image has no pixels (%dx%d)", w, h)
	}
	if int64(w)*int64(h) > int64(lim.MaxPixels) {
		return nil, apierr.New(apierr.CodeTooLarge,
			"image is %dx%d pixels; the limit is %d pixels in all", w, h, lim.MaxPixels)
	}
	if format == "gif" {
		if err := checkGIFFrame(data, w, h); err != nil {
			return nil, err
		}
	}
	if grid == GridAuto {
		grid = GridForSize(w, h)
	}
	if grid != GridAuto && (w < 8*int(grid) || h < 8*int(grid)) {
		return nil, apierr.New(apierr.CodeInvalidImage,
			"image is %dx%d pixels, too small for a %s grid", w, h, grid)
	}
	// Whether a provider decodes it or we do, a picture passes the same checks: its structure,
	// its scans and the memory and work of decoding it.
	cost := costOf(format, data, w, h)
	if cost.broken != "" {
		return nil, apierr.New(apierr.CodeInvalidImage, "image is not a valid %s picture: %s", format, cost.broken)
	}
	if err := lim.checkCost(cost, w, h); err != nil {
		return nil, err
	}
	out := &Normalized{Grid: grid, Format: format, Width: w, Height: h}
	if grid != GridAuto && w == grid.Size() && h == grid.Size() && complete(format, data) {
		img, broken := forwardable(format, data, cost)
		if broken != "" {
			return nil, apierr.New(apierr.CodeInvalidImage, "image is not a valid %s picture: %s", format, broken)
		}
		out.Image, out.Passthrough = img, true
		out.Tiles = uniformLayout(w, h, int(grid)).rects()
		return out, nil
	}

	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, apierr.Wrap(err, apierr.CodeInvalidImage, fmt.Sprintf("image is not a valid %s picture", format))
	}
	if got := img.Bounds().Size(); got != image.Pt(w, h) {
		return nil, apierr.New(apierr.CodeInvalidImage, "image declares %dx%d pixels but holds %dx%d", w, h, got.X, got.Y)
	}
	src := sourceOf(img)
	l, grid, err := chooseLayout(&src, grid)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if err := jpeg.Encode(&buf, render(&src, l, grid.Size()), &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, fmt.Errorf("encode normalized image: %w", err)
	}
	out.Image, out.Grid, out.Tiles = buf.Bytes(), grid, l.rects()
	return out, nil
}

// checkGIFFrame: a challenge is one still picture. An animated GIF could hold thousands of
// frames; counting them reads block headers only. The decoder returns the first frame alone, so
// it must be the whole picture.
func checkGIFFrame(data []byte, w, h int) error {
	n, first, _ := gifFrames(data, 2)
	if n > 1 {
		return apierr.New(apierr.CodeInvalidImage, "image is an animated GIF; send a single frame")
	}
	if n == 1 && first != image.Rect(0, 0, w, h) {
		return apierr.New(apierr.CodeInvalidImage,
			"image is a %dx%d GIF whose frame covers %dx%d pixels at (%d,%d); send a frame that fills the picture",
			w, h, first.Dx(), first.Dy(), first.Min.X, first.Min.Y)
	}
	return nil
}

// checkCost refuses a picture whose decoding would cost more than the limits allow.
func (lim Limits) checkCost(c decodeCost, w, h int) error {
	if c.maxScans > 0 && c.scans > c.maxScans {
		return apierr.New(apierr.CodeTooComplex,
			"image is a %s with %d scans; at most %d are accepted", c.kind, c.scans, c.maxScans)
	}
	if lim.MaxDecodeBytes > 0 && c.bytes > lim.MaxDecodeBytes && c.memoryWhy != "" {
		return apierr.New(apierr.CodeTooComplex,
			"image is a %dx%d %s, which takes %d MB to decode for its %s; the limit is %d MB: send a simpler picture",
			w, h, c.kind, (c.bytes+1<<20-1)>>20, c.memoryWhy, lim.MaxDecodeBytes>>20)
	}
	if lim.MaxDecodeBytes > 0 && c.bytes > lim.MaxDecodeBytes {
		perPixel := float64(c.bytes) / float64(int64(w)*int64(h))
		return apierr.New(apierr.CodeTooComplex,
			"image is a %dx%d %s, which takes %d MB to decode; the limit is %d MB, about %.1f megapixels of this kind: send a smaller picture",
			w, h, c.kind, (c.bytes+1<<20-1)>>20, lim.MaxDecodeBytes>>20, float64(lim.MaxDecodeBytes)/perPixel/1e6)
	}
	if lim.MaxDecodeWork > 0 && c.work > lim.MaxDecodeWork {
		return apierr.New(apierr.CodeTooComplex,
			"image is a %dx%d %s that takes %.1f times the decoding work allowed: %s; send a smaller or simpler picture",
			w, h, c.kind, float64(c.work)/float64(lim.MaxDecodeWork), c.why())
	}
	return nil
}

// CheckDecodes decodes data in full, for a picture the fast path forwarded without decoding: a
// standard-size file whose ends are intact but whose middle is not. Such a picture is at most
// 450×450, so only its scans can make it expensive.
func CheckDecodes(data []byte) error {
	if cfg, format, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		if err := (Limits{}).checkCost(costOf(format, data, cfg.Width, cfg.Height), cfg.Width, cfg.Height); err != nil {
			return err
		}
	}
	if _, format, err := image.Decode(bytes.NewReader(data)); err != nil {
		return apierr.Wrap(err, apierr.CodeInvalidImage, fmt.Sprintf("image is not a valid %s picture", format))
	}
	return nil
}

// chooseLayout finds where the tiles are: between the white separators of a widget screenshot
// when there are any, else an even split. With no grid given, only separators can tell 3×3 from
// 4×4, so a picture without them needs the caller to say.
func chooseLayout(src *source, grid Grid) (layout, Grid, error) {
	if grid == GridSingle || (grid != GridAuto && src.w == grid.Size() && src.h == grid.Size()) {
		return uniformLayout(src.w, src.h, int(grid)), grid, nil
	}
	cols, rows := whiteProfile(src)
	if grid != GridAuto {
		if l, ok := findLayout(cols, rows, src.w, src.h, int(grid)); ok {
			return l, grid, nil
		}
		return uniformLayout(src.w, src.h, int(grid)), grid, nil
	}
	l3, ok3 := findLayout(cols, rows, src.w, src.h, 3)
	l4, ok4 := findLayout(cols, rows, src.w, src.h, 4)
	switch {
	case ok3 && !ok4:
		return l3, Grid3x3, nil
	case ok4 && !ok3:
		return l4, Grid4x4, nil
	}
	return layout{}, GridAuto, apierr.New(apierr.CodeGridRequired,
		"cannot tell the grid of a %dx%d picture", src.w, src.h).
		WithHint("send grid as 3x3, 4x4 or 1x1 (or an image of 300x300, 450x450 or 100x100 pixels)")
}

// complete reports whether data is a PNG or JPEG that ends where its format says it must, so
// the fast path never forwards a truncated file; anything else is decoded in full, which finds
// the fault or repairs what the decoder tolerates.
func complete(format string, data []byte) bool {
	switch format {
	case "png":
		return bytes.HasSuffix(data, []byte("IEND\xaeB`\x82"))
	case "jpeg":
		return bytes.HasSuffix(bytes.TrimRight(data, "\x00\r\n "), []byte{0xff, 0xd9})
	}
	return false
}

func (l layout) rects() []Rect {
	rects := make([]Rect, 0, len(l.x)*len(l.y))
	for _, y := range l.y {
		for _, x := range l.x {
			rects = append(rects, Rect{x.lo, y.lo, x.hi, y.hi})
		}
	}
	return rects
}

func scaled(spans []span, div int) []span {
	if div == 1 {
		return spans
	}
	out := make([]span, len(spans))
	for i, s := range spans {
		out[i] = span{s.lo / float64(div), s.hi / float64(div)}
	}
	return out
}

// render resizes the tiles of src into a size×size picture, tile k of each axis landing on the
// k-th equal part of the output: the geometry the upstream splits its input by.
func render(src *source, l layout, size int) image.Image {
	if src.ycc {
		dst := image.NewYCbCr(image.Rect(0, 0, size, size), image.YCbCrSubsampleRatio420)
		cs := (size + 1) / 2
		resample(plane{dst.Y, size, size, dst.YStride, 1}, src.planes[0],
			newKernel(size, l.x, src.planes[0].w), newKernel(size, l.y, src.planes[0].h), 1)
		kx := newKernel(cs, scaled(l.x, src.divX[1]), src.planes[1].w)
		ky := newKernel(cs, scaled(l.y, src.divY[1]), src.planes[1].h)
		resample(plane{dst.Cb, cs, cs, dst.CStride, 1}, src.planes[1], kx, ky, 1)
		resample(plane{dst.Cr, cs, cs, dst.CStride, 1}, src.planes[2], kx, ky, 1)
		return dst
	}
	kx, ky := newKernel(size, l.x, src.w), newKernel(size, l.y, src.h)
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	out := plane{dst.Pix, size, size, dst.Stride, 4}
	switch p := src.planes[0]; {
	case p.step == 4: // interleaved RGBA: the three channels in one pass
		resample(out, p, kx, ky, 3)
	case &src.planes[1].pix[0] == &p.pix[0]: // gray: one plane shared
		resample(out, p, kx, ky, 1)
		for i := 0; i < len(dst.Pix); i += 4 {
			dst.Pix[i+1], dst.Pix[i+2] = dst.Pix[i], dst.Pix[i]
		}
	default:
		for i, p := range src.planes {
			resample(plane{dst.Pix[i:], size, size, dst.Stride, 4}, p, kx, ky, 1)
		}
	}
	for i := 3; i < len(dst.Pix); i += 4 {
		dst.Pix[i] = 255
	}
	return dst
}
