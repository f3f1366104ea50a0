package imaging

import (
	"encoding/binary"
	"fmt"
)

// decodeCost is what decoding a picture will cost, read from its headers alone: the memory the
// decoder and our conversion to planes hold at their peak, the work it does (in units of about a
// nanosecond, see jpegWork), and, for a JPEG, the number of scans.
type decodeCost struct {
	bytes int64
	work  int64
	// why names the largest part of the work, for the refusal's message.
	why   func() string
	scans int
	kind  string // the picture as a caller would name it: "progressive JPEG", "16-bit RGBA PNG"
	// maxScans is the number of scans a picture of this kind may have.
	maxScans int
	// workPerPixel sets work for the formats whose pixels set it (all but JPEG).
	workPerPixel int64
	// broken says what the decoder refuses in the structure, "" when nothing: the estimate
	// stops there, so such a picture is never decoded.
	broken string
	// strip are the byte ranges of data that a forwarded copy leaves out.
	strip [][2]int
	// memoryWhy names what the memory goes to when it is not the pixels ("" when it is).
	memoryWhy string
}

// costOf estimates the cost of decoding data, a picture of format and w×h pixels whose header
// has already been read. What it cannot read (a broken structure) it leaves to the decoder to
// refuse, but never under-counts what the decoder would see.
func costOf(format string, data []byte, w, h int) decodeCost {
	px := int64(w) * int64(h)
	// The resize kernels and separator profiles: a few words per source row and column.
	overhead := 32 * int64(w+h)
	var c decodeCost
	switch format {
	case "jpeg":
		c = jpegCost(data, w, h)
	case "png":
		c = pngCost(data, w, h)
	case "gif":
		// One paletted frame, then three planes of RGB.
		c = decodeCost{bytes: 4 * px, kind: "GIF", workPerPixel: workPerColourPixel}
	case "webp":
		c = webpCost(data, w, h)
	default:
		c = decodeCost{bytes: 8 * px, kind: format, workPerPixel: workPerLossyWebPPx}
	}
	c.bytes += overhead
	if c.work == 0 {
		if c.workPerPixel == 0 { // a structure the decoder will refuse: as costly as colour
			c.workPerPixel = workPerColourPixel
		}
		c.work = px * c.workPerPixel
		mp := float64(px) / 1e6
		c.why = func() string { return fmt.Sprintf("it has %.1f megapixels to decode", mp) }
	}
	return c
}

// Decoding work per pixel of the formats whose work the pixels set (the units of jpegWork):
// inflating or predicting each sample, then our planes and resize, one channel for grey and
// three for colour, measured by BenchmarkDecodeWork.
const (
	workPerGreyPixel     = 12
	workPerColourPixel   = 32
	workPerSixteenBitPx  = 12 // on top: a PNG of 16-bit samples inflates twice the bytes
	workPerLossyWebPPx   = 70
	workPerLosslessWebPx = 60
)

// pngCost: image/png decodes into 1, 2, 4 or 8 bytes a pixel by colour type, depth and
// transparency; an interlaced picture also holds each pass's own image while merging it, and the
// passes already merged until the collector runs (as much again, measured), and a paletted one
// is expanded to three planes by us.
func pngCost(data []byte, w, h int) decodeCost {
	if len(data) < 33 {
		return decodeCost{kind: "PNG"}
	}
	depth, colorType, interlaced := int(data[24]), int(data[25]), data[28] == 1
	l := readPNG(data, false)
	transparent := l.transparent
	var bpp int64
	name := ""
	switch colorType {
	case 0:
		name, bpp = "greyscale", max(1, int64(depth)/8)
		if transparent { // expanded to RGBA to carry the transparent grey
			bpp *= 4
		}
	case 2:
		name, bpp = "RGB", 4*max(1, int64(depth)/8)
	case 3:
		name, bpp = "paletted", 1+3
	case 4:
		name, bpp = "greyscale+alpha", 4*max(1, int64(depth)/8)
	case 6:
		name, bpp = "RGBA", 4*max(1, int64(depth)/8)
	default:
		return decodeCost{kind: "PNG"}
	}
	px := int64(w) * int64(h)
	c := decodeCost{bytes: bpp * px, kind: fmt.Sprintf("%d-bit %s PNG", depth, name), workPerPixel: workPerColourPixel,
		broken: l.broken, strip: l.strip}
	if colorType == 0 && !transparent {
		c.workPerPixel = workPerGreyPixel
	}
	if depth == 16 {
		c.workPerPixel += workPerSixteenBitPx
	}
	if interlaced {
		c.bytes *= 2
		c.kind = "interlaced " + c.kind
	}
	// Two rows of raw samples: the current one and the one it is filtered against.
	c.bytes += 2 * (1 + (int64(w)*8*8+7)/8)
	return c
}

// webpCost: lossy WebP decodes to 4:2:0 YCbCr padded to 16×16 macroblocks; lossless to 4 bytes
// a pixel, plus as much again when a colour-indexing transform expands it, plus its prefix codes
// (vp8lCost); an alpha plane is a byte a pixel, decoded through the lossless decoder when it is
// compressed.
func webpCost(data []byte, w, h int) decodeCost {
	c := decodeCost{kind: "WebP"}
	px := int64(w) * int64(h)
	mb := int64((w+15)/16*16) * int64((h+15)/16*16)
	groups := 0
	lossless := func(stream []byte) {
		t, err := vp8lCost(stream, w, h)
		if err != nil {
			c.broken = "lossless bitstream"
		}
		c.bytes += t.bytes
		c.work += t.work
		groups += t.groups
	}
	for i := 12; i+8 <= len(data); {
		n := int64(binary.LittleEndian.Uint32(data[i+4:]))
		payload := data[i+8 : i+8+int(min(n, int64(len(data)-i-8)))]
		switch string(data[i : i+4]) {
		case "VP8 ":
			c.bytes += mb * 2 // 4:2:0 planes, and the decoder's state per macroblock (measured)
			c.work += px * workPerLossyWebPPx
			c.kind = "lossy WebP"
		case "VP8L":
			c.kind = "lossless WebP"
			if len(payload) > 5 {
				lossless(payload[5:])
			}
		case "ALPH":
			c.bytes += px
			if len(payload) > 1 && payload[0]&3 == 1 {
				lossless(payload[1:])
			}
		}
		if n > int64(len(data)) {
			break
		}
		i += 8 + int(n+n&1)
	}
	if c.bytes == 0 {
		c.bytes = 8 * px // unknown layout: the worst case
		c.work = px * workPerLossyWebPPx
	}
	mp := float64(px) / 1e6
	c.why = func() string {
		return fmt.Sprintf("it has %.1f megapixels and %d groups of prefix codes to decode", mp, groups)
	}
	if groups > 1 && c.bytes-8*px > c.bytes/2 { // the codes, not the pixels, take most of it
		c.memoryWhy = fmt.Sprintf("%d groups of prefix codes", groups)
	}
	return c
}
