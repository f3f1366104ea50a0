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
