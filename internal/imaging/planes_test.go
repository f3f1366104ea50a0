package imaging

import (
	"image"
	"math/rand/v2"
	"testing"
)

// The in-place conversions of CMYK and 16-bit pictures give the planes that the standard
// library's own colour conversions (At, through generic) give, within one level where 8-bit
// compositing of partial transparency rounds differently from 16-bit.
func TestInPlaceConversionsMatchColorModels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(pix []uint8) {
		for i := range pix {
			pix[i] = uint8(rng.IntN(256))
		}
	}
	r := image.Rect(0, 0, 37, 23)
	cases := []struct {
		name      string
		make      func() image.Image
		tolerance int
	}{
		{"CMYK", func() image.Image { m := image.NewCMYK(r); fill(m.Pix); return m }, 0},
		{"Gray16", func() image.Image { m := image.NewGray16(r); fill(m.Pix); return m }, 0},
		{"NRGBA64", func() image.Image { m := image.NewNRGBA64(r); fill(m.Pix); return m }, 1},
		{"opaque NRGBA64", func() image.Image {
			m := image.NewNRGBA64(r)
			fill(m.Pix)
			for i := 6; i < len(m.Pix); i += 8 {
				m.Pix[i], m.Pix[i+1] = 0xff, 0xff
			}
			return m
		}, 0},
		{"RGBA64, opaque", func() image.Image {
			m := image.NewRGBA64(r)
			fill(m.Pix)
			for i := 6; i < len(m.Pix); i += 8 {
				m.Pix[i], m.Pix[i+1] = 0xff, 0xff
			}
			return m
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng = rand.New(rand.NewPCG(1, 2))
			want := generic(c.make())
			rng = rand.New(rand.NewPCG(1, 2)) // the same picture again, for the in-place path
			got := sourceOf(c.make())
			if got.w != want.w || got.h != want.h || got.ycc {
				t.Fatalf("%dx%d ycc=%v, want %dx%d", got.w, got.h, got.ycc, want.w, want.h)
			}
			for p := 0; p < 3; p++ {
				for y := 0; y < got.h; y++ {
					for x := 0; x < got.w; x++ {
						g := got.planes[p]
						gv := int(g.pix[y*g.stride+x*g.step])
						wv := int(want.planes[p].pix[y*want.w+x])
						if gv-wv > c.tolerance || wv-gv > c.tolerance {
							t.Fatalf("plane %d at (%d,%d): %d, want %d", p, x, y, gv, wv)
						}
					}
				}
			}
		})
	}
}
