package imaging

import "image"

// source is a decoded picture split into three 8-bit planes: Y, Cb, Cr when it came from a JPEG
// or lossy WebP (resized as they are, with no colour conversion), otherwise R, G, B composited
// over white. Planes 1 and 2 may be subsampled by div.
type source struct {
	ycc    bool
	planes [3]plane
	divX   [3]int
	divY   [3]int
	w, h   int
}

func sourceOf(img image.Image) source {
	b := img.Bounds()
	if b.Min != (image.Point{}) {
		return generic(img)
	}
	switch m := img.(type) {
	case *image.YCbCr:
		return yccSource(m)
	case *image.NYCbCrA:
		// The upstream takes opaque images; an alpha plane from lossy WebP is rare and dropped.
		return yccSource(&m.YCbCr)
	case *image.Gray:
		return graySource(m.Pix, m.Stride, b.Dx(), b.Dy())
	case *image.Gray16:
		return graySource(narrow(m.Pix, m.Stride, b.Dx(), b.Dy(), 1), b.Dx(), b.Dx(), b.Dy())
	case *image.RGBA64:
		return interleaved(narrow(m.Pix, m.Stride, b.Dx(), b.Dy(), 4), 4*b.Dx(), b.Dx(), b.Dy(), true)
	case *image.NRGBA64:
		return interleaved(narrow(m.Pix, m.Stride, b.Dx(), b.Dy(), 4), 4*b.Dx(), b.Dx(), b.Dy(), false)
	case *image.CMYK:
		cmykToRGBA(m.Pix, m.Stride, b.Dx(), b.Dy())
		return interleaved(m.Pix, m.Stride, b.Dx(), b.Dy(), true)
	case *image.RGBA:
		return interleaved(m.Pix, m.Stride, b.Dx(), b.Dy(), true)
	case *image.NRGBA:
		return interleaved(m.Pix, m.Stride, b.Dx(), b.Dy(), false)
	case *image.Paletted:
		return paletted(m)
	}
	return generic(img)
}

func yccSource(m *image.YCbCr) source {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dx, dy := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		dx = 2
	case image.YCbCrSubsampleRatio420:
		dx, dy = 2, 2
	case image.YCbCrSubsampleRatio440:
		dy = 2
	case image.YCbCrSubsampleRatio411:
		dx = 4
	case image.YCbCrSubsampleRatio410:
		dx, dy = 4, 2
	}
	cw, ch := (w+dx-1)/dx, (h+dy-1)/dy
	return source{
		ycc: true,
		planes: [3]plane{
			{pix: m.Y, w: w, h: h, stride: m.YStride, step: 1},
			{pix: m.Cb, w: cw, h: ch, stride: m.CStride, step: 1},
			{pix: m.Cr, w: cw, h: ch, stride: m.CStride, step: 1},
		},
		divX: [3]int{1, dx, dx}, divY: [3]int{1, dy, dy}, w: w, h: h,
	}
}

func graySource(pix []uint8, stride, w, h int) source {
	p := plane{pix: pix, w: w, h: h, stride: stride, step: 1}
	return source{planes: [3]plane{p, p, p}, divX: [3]int{1, 1, 1}, divY: [3]int{1, 1, 1}, w: w, h: h}
}

// narrow turns 16-bit samples (big-endian, as image/png decodes them) into 8-bit ones in the same
// buffer, rows packed at w×channels bytes: the picture is converted without a second copy of it,
// which for 16-bit RGBA would be half its decoded size again. Each write lands at or before the
// sample it replaces, so nothing is overwritten before it is read.
func narrow(pix []uint8, stride, w, h, channels int) []uint8 {
	n := w * channels
	for y := 0; y < h; y++ {
		in, out := pix[y*stride:][:2*n], pix[y*n:][:n]
		for i := range out {
			out[i] = in[2*i]
		}
	}
	return pix[:n*h]
}

// cmykToRGBA converts CMYK pixels to opaque RGBA in place, as color.CMYKToRGB does.
func cmykToRGBA(pix []uint8, stride, w, h int) {
	for y := 0; y < h; y++ {
		row := pix[y*stride:][:4*w]
		for x := 0; x < len(row); x += 4 {
			k := 0xffff - uint32(row[x+3])*0x101
			for c := x; c < x+3; c++ {
				row[c] = uint8((0xffff - uint32(row[c])*0x101) * k / 0xffff >> 8)
			}
			row[x+3] = 255
		}
	}
}

func newRGB(w, h int) source {
	s := source{divX: [3]int{1, 1, 1}, divY: [3]int{1, 1, 1}, w: w, h: h}
	for i := range s.planes {
		s.planes[i] = plane{pix: make([]uint8, w*h), w: w, h: h, stride: w, step: 1}
	}
	return s
}

// interleaved uses 8-bit RGBA pixels where they are, as three planes with a step of 4, so a large
// PNG is never copied (the copy would be 3/4 of its decoded size again). Transparency is
// composited over white in place, first: a transparent screenshot margin then reads as the
// widget's white. The decoded image belongs to us, so changing it is safe.
func interleaved(pix []uint8, stride, w, h int, premultiplied bool) source {
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+4*w]
		for x := 0; x < len(row); x += 4 {
			a := uint32(row[x+3])
			if a == 255 {
				continue
			}
			for c := x; c < x+3; c++ {
				if premultiplied {
					row[c] = uint8(uint32(row[c]) + 255 - a)
				} else {
					row[c] = uint8((uint32(row[c])*a + 255*(255-a) + 127) / 255)
				}
			}
			row[x+3] = 255
		}
	}
	s := source{divX: [3]int{1, 1, 1}, divY: [3]int{1, 1, 1}, w: w, h: h}
	for i := range s.planes {
		s.planes[i] = plane{pix: pix[i:], w: w, h: h, stride: stride, step: 4}
	}
	return s
}

func paletted(m *image.Paletted) source {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	var lut [256][3]uint8
	for i := range lut {
		lut[i] = [3]uint8{255, 255, 255} // out-of-palette indices read as white
	}
	for i, c := range m.Palette {
		r, g, b, a := c.RGBA()
		lut[i] = [3]uint8{overWhite(r, a), overWhite(g, a), overWhite(b, a)}
	}
	s := newRGB(w, h)
	for y := 0; y < h; y++ {
		row := m.Pix[y*m.Stride : y*m.Stride+w]
		for x, idx := range row {
			c := lut[idx]
			s.planes[0].pix[y*w+x], s.planes[1].pix[y*w+x], s.planes[2].pix[y*w+x] = c[0], c[1], c[2]
		}
	}
	return s
}

// generic handles any other image type (odd origins) through the slow but universal At method.
func generic(img image.Image) source {
	b := img.Bounds()
	s := newRGB(b.Dx(), b.Dy())
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*s.w + x
			s.planes[0].pix[i], s.planes[1].pix[i], s.planes[2].pix[i] = overWhite(r, a), overWhite(g, a), overWhite(bl, a)
		}
	}
	return s
}

// overWhite composites one premultiplied 16-bit channel over white and returns 8 bits.
func overWhite(c, a uint32) uint8 { return uint8((c + 0xffff - a) >> 8) }

// A separator pixel is near-white and neutral: the colour of the widget's separators and margins.
const (
	whiteLevel    = 220 // minimum luma (or each of R, G, B)
	neutralChroma = 16  // maximum distance of Cb and Cr from neutral
)

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}
