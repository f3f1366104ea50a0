package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// decodeCost is what decoding a picture will cost, read from its headers alone: the memory the
// decoder and our conversion to planes hold at their peak, and, for a JPEG, the number of scans
// (each scan walks every block of its components once, so scans multiply the decoding time).
type decodeCost struct {
	bytes int64
	scans int
	kind  string // the picture as a caller would name it: "progressive JPEG", "16-bit RGBA PNG"
	// maxScans is the number of scans a picture of this kind may have.
	maxScans int
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
		c = decodeCost{bytes: 4 * px, kind: "GIF"}
	case "webp":
		c = webpCost(data, w, h)
	default:
		c = decodeCost{bytes: 8 * px, kind: format}
	}
	c.bytes += overhead
	return c
}

// maxProgressiveScans is far above what real encoders write (libjpeg's and mozjpeg's scripts use
// about ten) and far below what makes decoding slow: each scan walks every block of its component.
const maxProgressiveScans = 64

// jpegCost walks the markers the way image/jpeg does (segments by their length, entropy-coded data
// to the next marker, garbage between segments skipped), counting the scans and reading the frame.
//
// image/jpeg allocates a plane per component at the MCU-padded size; a progressive picture also
// keeps 64 int32 coefficients per block of every component until its last scan; three components
// stored as RGB and four components (CMYK, YCCK) are converted into a new 4-byte-per-pixel image.
func jpegCost(data []byte, w, h int) decodeCost {
	c := decodeCost{kind: "baseline JPEG"}
	var (
		nComp       int
		hv          [4][2]int
		ids         [4]byte
		progressive bool
		jfif        bool
		adobe       = -1
		sawFrame    bool
	)
	i := 2
	for i+1 < len(data) {
		if data[i] != 0xFF {
			i++ // garbage between segments, which image/jpeg skips too
			continue
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF || marker == 0x00 || marker == 0x01 || marker == 0xD8 || marker >= 0xD0 && marker <= 0xD7:
			i++
			continue
		case marker == 0xD9:
			i = len(data)
			continue
		}
		if i+4 > len(data) {
			break
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		seg := data[min(i+4, len(data)):min(i+2+n, len(data))]
		i += 2 + n
		switch marker {
		case 0xC0, 0xC1, 0xC2:
			if sawFrame || len(seg) < 6 {
				continue
			}
			sawFrame = true
			progressive = marker == 0xC2
			nComp = int(seg[5])
			if nComp > 4 || len(seg) < 6+3*nComp {
				nComp = 0
				continue
			}
			for k := 0; k < nComp; k++ {
				ids[k] = seg[6+3*k]
				hv[k] = [2]int{int(seg[7+3*k] >> 4), int(seg[7+3*k] & 15)}
			}
		case 0xE0:
			jfif = jfif || len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
		case 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				adobe = int(seg[11])
			}
		case 0xDA:
			c.scans++
			// The entropy-coded data runs to the next byte pair that is a marker: 0xFF followed by
			// anything but a stuffed zero, a restart marker or more 0xFF fill.
			for i < len(data) {
				j := bytes.IndexByte(data[i:], 0xFF)
				if j < 0 {
					i = len(data)
					break
				}
				i += j
				k := i + 1
				for k < len(data) && data[k] == 0xFF {
					k++
				}
				if k < len(data) && (data[k] == 0x00 || data[k] >= 0xD0 && data[k] <= 0xD7) {
					i = k + 1
					continue
				}
				i = k - 1
				break
			}
		}
	}
	if nComp == 0 {
		return c // the decoder will refuse it
	}
	h0, v0 := max(hv[0][0], 1), max(hv[0][1], 1)
	if nComp == 1 {
		h0, v0, hv[0] = 1, 1, [2]int{1, 1}
	}
	mxx, myy := int64((w+8*h0-1)/(8*h0)), int64((h+8*v0-1)/(8*v0))
	var blocks int64
	for k := 0; k < nComp; k++ {
		blocks += mxx * myy * int64(hv[k][0]*hv[k][1])
	}
	c.bytes = 64 * blocks
	px := int64(w) * int64(h)
	c.maxScans = nComp
	if progressive {
		c.bytes += 256 * blocks
		c.kind = "progressive JPEG"
		c.maxScans = maxProgressiveScans
	}
	rgb := nComp == 3 && !jfif && (adobe == 0 || ids[0] == 'R' && ids[1] == 'G' && ids[2] == 'B')
	switch {
	case nComp == 4:
		c.bytes += 4 * px
		c.kind = "CMYK " + c.kind
	case rgb:
		c.bytes += 4 * px
		c.kind = "RGB " + c.kind
	case nComp == 1:
		c.kind = "greyscale " + c.kind
	}
	return c
}

// pngCost: image/png decodes into 1, 2, 4 or 8 bytes a pixel by colour type, depth and
// transparency; an interlaced picture also holds each pass's own image while merging it, and the
// passes already merged until the collector runs (as much again, measured), and a paletted one
// is expanded to three planes by us.
func pngCost(data []byte, w, h int) decodeCost {
	if len(data) < 33 {
		return decodeCost{kind: "PNG"}
	}
	depth, colorType, interlaced := int(data[24]), int(data[25]), data[28] == 1
	transparent := false
	for i := 33; i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		kind := string(data[i+4 : i+8])
		if kind == "tRNS" {
			transparent = true
		}
		if kind == "IDAT" || n > int64(len(data)) {
			break
		}
		i += 12 + int(n)
	}
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
	c := decodeCost{bytes: bpp * px, kind: fmt.Sprintf("%d-bit %s PNG", depth, name)}
	if interlaced {
		c.bytes *= 2
		c.kind = "interlaced " + c.kind
	}
	// Two rows of raw samples: the current one and the one it is filtered against.
	c.bytes += 2 * (1 + (int64(w)*8*8+7)/8)
	return c
}

// webpCost: lossy WebP decodes to 4:2:0 YCbCr padded to 16×16 macroblocks; lossless to 4 bytes
// a pixel, plus as much again when a colour-indexing transform expands it; an alpha plane is a
// byte a pixel, decoded through the lossless decoder when it is compressed.
func webpCost(data []byte, w, h int) decodeCost {
	c := decodeCost{kind: "WebP"}
	px := int64(w) * int64(h)
	mb := int64((w+15)/16*16) * int64((h+15)/16*16)
	for i := 12; i+8 <= len(data); {
		n := int64(binary.LittleEndian.Uint32(data[i+4:]))
		switch string(data[i : i+4]) {
		case "VP8 ":
			c.bytes += mb * 3 / 2
			c.kind = "lossy WebP"
		case "VP8L":
			c.bytes += 8 * px
			c.kind = "lossless WebP"
		case "ALPH":
			c.bytes += px
			if i+8 < len(data) && data[i+8]&3 == 1 {
				c.bytes += 8 * px
			}
		}
		if n > int64(len(data)) {
			break
		}
		i += 8 + int(n+n&1)
	}
	if c.bytes == 0 {
		c.bytes = 8 * px // unknown layout: the worst case
	}
	return c
}
