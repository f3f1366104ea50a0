package imaging

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// referenceResample is resample written the plainest way, one output sample at a time: the
// vertical pass rounds to 8 bits before the horizontal one, as resample's does.
func referenceResample(src plane, channel int, kx, ky kernel, x, y int) uint8 {
	step := max(src.step, 1)
	sx, wx := kx.taps(x)
	var acc int32
	for i, w := range wx {
		sy, wy := ky.taps(y)
		var v int32
		for j, u := range wy {
			v += u * int32(src.pix[(sy+j)*src.stride+(sx+i)*step+channel])
		}
		acc += w * int32(toByte(v))
	}
	return toByte(acc)
}

// randomTiles splits length into n tiles, with separators between them when gap > 0.
func randomTiles(r *rand.Rand, length, n, gap int) []span {
	tile := float64(length-(n-1)*gap) / float64(n)
	spans := make([]span, n)
	for k := range spans {
		lo := float64(k) * (tile + float64(gap))
		spans[k] = span{lo, lo + tile}
	}
	if r.IntN(2) == 0 { // sometimes a fractional margin, as in a screenshot
		m := r.Float64() * float64(gap)
		for k := range spans {
			spans[k].lo = min(spans[k].lo+m/2, spans[k].hi-1)
		}
	}
	return spans
}

func TestResampleMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 120 {
		n := []int{1, 3, 4}[r.IntN(3)]
		size := []int{100, 300, 450}[r.IntN(3)]
		if r.IntN(4) == 0 {
			size = 1 + r.IntN(60) // odd and tiny outputs, such as subsampled chroma
		}
		gap := 0
		if n > 1 && r.IntN(2) == 0 {
			gap = r.IntN(6)
		}
		// Normalize refuses pictures under 8 pixels a tile.
		srcW, srcH := 8*n+(n-1)*gap+r.IntN(500), 8*n+(n-1)*gap+r.IntN(500)
		step := []int{1, 3, 4}[r.IntN(3)]
		src := plane{w: srcW, h: srcH, step: step, stride: srcW*step + r.IntN(5)}
		src.pix = make([]uint8, src.stride*srcH)
		for i := range src.pix {
			src.pix[i] = uint8(r.IntN(256))
		}
		kx := newKernel(size, randomTiles(r, srcW, n, gap), srcW)
		ky := newKernel(size, randomTiles(r, srcH, n, gap), srcH)
		channels, dstStep := 1, []int{1, 4}[r.IntN(2)]
		if step > 1 && r.IntN(2) == 0 {
			channels, dstStep = 3, step
		}
		dst := plane{w: size, h: size, step: dstStep, stride: size*dstStep + r.IntN(3)}
		dst.pix = make([]uint8, dst.stride*size)
		resample(dst, src, kx, ky, channels)
		for y := range size {
			for x := range size {
				for c := range channels {
					if got, want := dst.pix[y*dst.stride+x*dstStep+c], referenceResample(src, c, kx, ky, x, y); got != want {
						t.Fatalf("trial %d (%dx%d step %d to %d step %d, %d tiles, gap %d) channel %d at (%d,%d): %d, want %d",
							trial, srcW, srcH, step, size, dstStep, n, gap, c, x, y, got, want)
					}
				}
			}
		}
	}
}

// The shapes of the benchmark images: a JPEG's luma and chroma, a PNG's RGBA.
func BenchmarkResample(b *testing.B) {
	for _, c := range []struct {
		srcSide, dstSide, grid, step int
	}{
		{1000, 450, 4, 1}, {500, 225, 4, 1}, {387, 450, 4, 1}, {1200, 300, 3, 4},
	} {
		b.Run(fmt.Sprintf("%d-to-%d-step%d", c.srcSide, c.dstSide, c.step), func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			src := plane{w: c.srcSide, h: c.srcSide, step: c.step, stride: c.srcSide * c.step}
			src.pix = make([]uint8, src.stride*c.srcSide)
			for i := range src.pix {
				src.pix[i] = uint8(r.IntN(256))
			}
			l := uniformLayout(c.srcSide, c.srcSide, c.grid)
			kx, ky := newKernel(c.dstSide, l.x, c.srcSide), newKernel(c.dstSide, l.y, c.srcSide)
			dst := plane{pix: make([]uint8, c.dstSide*c.dstSide*c.step), w: c.dstSide, h: c.dstSide, stride: c.dstSide * c.step, step: c.step}
			for b.Loop() {
				resample(dst, src, kx, ky, min(c.step, 3))
			}
		})
	}
}

// floatResample is the resize from its definition, in floating point and in one step, sharing no
// code with resample: each output pixel of a tile's segment averages the source pixels of that
// tile under a triangle as wide as the scale (at least one pixel) around the point it maps to.
func floatResample(src plane, channel int, tilesX, tilesY []span, dstW, dstH, x, y int) (float64, bool) {
	weights := func(d, dstLen int, tiles []span, srcLen int) (first int, ws []float64) {
		seg := float64(dstLen) / float64(len(tiles))
		t := min(int((float64(d)+0.5)/seg), len(tiles)-1)
		tile := tiles[t]
		scale := (tile.hi - tile.lo) / seg
		center := tile.lo + (float64(d)+0.5-float64(t)*seg)*scale
		radius := max(scale, 1)
		// Outside [center-radius, center+radius] the triangle is zero.
		first = max(0, int(tile.lo), int(center-radius))
		for j := first; j < srcLen && float64(j) < tile.hi && float64(j) < center+radius; j++ {
			ws = append(ws, max(0, 1-abs(float64(j)+0.5-center)/radius))
		}
		return first, ws
	}
	step := max(src.step, 1)
	fx, wx := weights(x, dstW, tilesX, src.w)
	fy, wy := weights(y, dstH, tilesY, src.h)
	var sum, norm float64
	for j, v := range wy {
		for i, u := range wx {
			sum += u * v * float64(src.pix[(fy+j)*src.stride+(fx+i)*step+channel])
			norm += u * v
		}
	}
	return sum / norm, norm > 0
}

// resample agrees with the definition within the rounding of its two 8-bit passes.
func TestResampleMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 40 {
		n := []int{1, 3, 4}[r.IntN(3)]
		size := []int{100, 300, 450}[r.IntN(3)]
		gap := 0
		if n > 1 {
			gap = r.IntN(6)
		}
		srcW, srcH := 8*n+(n-1)*gap+r.IntN(400), 8*n+(n-1)*gap+r.IntN(400)
		src := plane{w: srcW, h: srcH, step: 1, stride: srcW}
		src.pix = make([]uint8, srcW*srcH)
		for i := range src.pix {
			src.pix[i] = uint8(r.IntN(256))
		}
		tx, ty := randomTiles(r, srcW, n, gap), randomTiles(r, srcH, n, gap)
		dst := plane{pix: make([]uint8, size*size), w: size, h: size, stride: size, step: 1}
		resample(dst, src, newKernel(size, tx, srcW), newKernel(size, ty, srcH), 1)
		for y := 0; y < size; y += 7 {
			for x := 0; x < size; x += 5 {
				want, ok := floatResample(src, 0, tx, ty, size, size, x, y)
				if got := float64(dst.pix[y*size+x]); ok && abs(got-want) > 1.5 {
					t.Fatalf("trial %d (%dx%d to %d, %d tiles, gap %d) at (%d,%d): %v, the definition gives %.2f", trial, srcW, srcH, size, n, gap, x, y, got, want)
				}
			}
		}
	}
}

// Two properties that need no reference: a flat picture stays exactly flat, and tiles of flat,
// different colours with separators between them come out as exactly those colours, each in its
// own part of the output (nothing bleeds across a tile's edge).
func TestTilesDoNotBleed(t *testing.T) {
	for _, c := range []struct{ n, tile, gap, size int }{{3, 126, 4, 300}, {4, 93, 4, 450}, {4, 250, 0, 450}, {3, 33, 2, 300}, {1, 200, 0, 100}} {
		side := c.n*c.tile + (c.n-1)*c.gap
		src := plane{pix: make([]uint8, side*side), w: side, h: side, stride: side, step: 1}
		colour := func(tx, ty int) uint8 { return uint8(20 + 50*tx + 13*ty) }
		for y := range side {
			for x := range side {
				tx, ty := x/(c.tile+c.gap), y/(c.tile+c.gap)
				v := uint8(255) // separator
				if x%(c.tile+c.gap) < c.tile && y%(c.tile+c.gap) < c.tile {
					v = colour(tx, ty)
				}
				src.pix[y*side+x] = v
			}
		}
		spans := make([]span, c.n)
		for k := range spans {
			lo := float64(k * (c.tile + c.gap))
			spans[k] = span{lo, lo + float64(c.tile)}
		}
		dst := plane{pix: make([]uint8, c.size*c.size), w: c.size, h: c.size, stride: c.size, step: 1}
		resample(dst, src, newKernel(c.size, spans, side), newKernel(c.size, spans, side), 1)
		seg := float64(c.size) / float64(c.n)
		part := func(d int) int { return min(int((float64(d)+0.5)/seg), c.n-1) }
		for y := range c.size {
			for x := range c.size {
				if got, want := dst.pix[y*c.size+x], colour(part(x), part(y)); got != want {
					t.Fatalf("%+v at (%d,%d): %d, want the tile's %d", c, x, y, got, want)
				}
			}
		}
	}
}
