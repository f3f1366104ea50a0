package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// jpegComponent is one component of a JPEG frame and its sampling factors.
type jpegComponent struct {
	id   byte
	h, v int
}

// jpegScan is one scan: the frame components it codes, its spectral band and whether it refines
// bits an earlier scan sent (successive approximation).
type jpegScan struct {
	comps  []int // indices into jpegLayout.comps
	ss, se int
	ah     int
}

// refines reports whether the decoder revisits every coefficient of the band in every block of
// the scan: a refinement scan walks the band block by block whatever its data says, so its cost
// is set by the frame's size, not by the file's.
func (s jpegScan) refines() bool { return s.ah > 0 && s.se >= s.ss && s.ss > 0 }

// jpegLayout is what a JPEG's markers say, read the way image/jpeg reads them: segments by their
// length, entropy-coded data to the next marker, bytes between segments skipped.
type jpegLayout struct {
	comps         []jpegComponent
	sawFrame      bool
	progressive   bool
	jfif          bool
	adobe         int // the Adobe APP14 transform, -1 without one
	scans         []jpegScan
	huffmanTables int
	entropyBytes  int
	// strip are the byte ranges a forwarded copy leaves out: metadata segments, bytes between
	// segments and anything after the end marker, in order and not overlapping.
	strip [][2]int
	// broken says what image/jpeg refuses in the structure ("" when nothing): the walk stops there.
	broken string
}

// readJPEG walks data's markers. It never reads outside data, whatever the lengths say.
func readJPEG(data []byte) jpegLayout {
	l := jpegLayout{adobe: -1}
	i := 2
	for i < len(data) {
		if data[i] != 0xFF || i+1 == len(data) {
			j := bytes.IndexByte(data[i+1:], 0xFF) + 1
			if j == 0 {
				j = len(data) - i
			}
			l.leaveOut(i, i+j)
			i += j
			continue
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte before a marker
			l.leaveOut(i, i+1)
			i++
			continue
		case marker == 0x00: // a stuffed zero outside a scan: extraneous, skipped
			l.leaveOut(i, i+2)
			i += 2
			continue
		case marker == 0xD9: // end of image
			l.leaveOut(i+2, len(data))
			return l
		case marker >= 0xD0 && marker <= 0xD7: // a stray restart marker, ignored
			i += 2
			continue
		}
		if i+4 > len(data) {
			l.broken = "truncated segment"
			return l
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 {
			l.broken = fmt.Sprintf("segment length %d", n)
			return l
		}
		end := min(i+2+n, len(data))
		l.segment(marker, data[i+4:end], i, end)
		if l.broken != "" {
			return l
		}
		i = end
		if marker == 0xDA {
			next := skipEntropyData(data, i)
			l.entropyBytes += next - i
			i = next
		}
	}
	return l
}

// segment reads one marker segment found at data[start:end], whose payload is seg.
func (l *jpegLayout) segment(marker byte, seg []byte, start, end int) {
	switch {
	case marker == 0xC0 || marker == 0xC1 || marker == 0xC2:
		l.readFrame(marker, seg)
	case marker == 0xDA:
		l.readScan(seg)
	case marker == 0xC4:
		// Each table is 17 bytes of counts and at least one value.
		for p := 0; p+17 <= len(seg); l.huffmanTables++ {
			n := 0
			for _, c := range seg[p+1 : p+17] {
				n += int(c)
			}
			p += 17 + n
		}
	case marker == 0xE0:
		l.jfif = l.jfif || len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
	case marker == 0xEE:
		if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
			l.adobe = int(seg[11])
		}
	case marker >= 0xE1 && marker <= 0xEF || marker == 0xFE:
		// EXIF, XMP, ICC profiles, IPTC, comments: nothing the decoder needs.
		l.leaveOut(start, end)
	case marker == 0xDB || marker == 0xDD:
	default:
		l.broken = fmt.Sprintf("unknown marker 0x%02X", marker)
	}
}

// readFrame reads a start-of-frame segment. image/jpeg refuses a second one.
func (l *jpegLayout) readFrame(marker byte, seg []byte) {
	if l.sawFrame {
		l.broken = "a second frame header"
		return
	}
	l.sawFrame = true
	l.progressive = marker == 0xC2
	if len(seg) < 6 || seg[5] == 0 || seg[5] > 4 || len(seg) < 6+3*int(seg[5]) {
		l.broken = "frame header"
		return
	}
	for k := 0; k < int(seg[5]); k++ {
		c := seg[6+3*k:]
		l.comps = append(l.comps, jpegComponent{id: c[0], h: int(c[1] >> 4), v: int(c[1] & 15)})
	}
}

// readScan reads a start-of-scan segment; a selector that names no component is left to the
// decoder to refuse.
func (l *jpegLayout) readScan(seg []byte) {
	if len(seg) < 1 || len(seg) < 4+2*int(seg[0]) {
		l.broken = "scan header"
		return
	}
	n := int(seg[0])
	s := jpegScan{ss: 0, se: 63}
	for k := 0; k < n; k++ {
		for j, c := range l.comps {
			if c.id == seg[1+2*k] {
				s.comps = append(s.comps, j)
			}
		}
	}
	if l.progressive {
		s.ss, s.se, s.ah = int(seg[1+2*n]), int(seg[2+2*n]), int(seg[3+2*n]>>4)
	}
	l.scans = append(l.scans, s)
}

// leaveOut marks data[from:to] as left out of a forwarded copy.
func (l *jpegLayout) leaveOut(from, to int) {
	if from >= to {
		return
	}
	if k := len(l.strip) - 1; k >= 0 && l.strip[k][1] == from {
		l.strip[k][1] = to
		return
	}
	l.strip = append(l.strip, [2]int{from, to})
}

// skipEntropyData returns where the entropy-coded data starting at i ends: at the next byte pair
// that is a marker, 0xFF followed by anything but a stuffed zero, a restart marker or more 0xFF
// fill.
func skipEntropyData(data []byte, i int) int {
	for i < len(data) {
		j := bytes.IndexByte(data[i:], 0xFF)
		if j < 0 {
			return len(data)
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
		return k - 1
	}
	return len(data)
}

// blocks returns the 8×8 blocks the decoder allocates for each component: image/jpeg pads every
// component to whole MCUs of the frame.
func (l *jpegLayout) blocks(w, h int) []int64 {
	hv := make([]jpegComponent, len(l.comps))
	copy(hv, l.comps)
	if len(hv) == 1 {
		hv[0].h, hv[0].v = 1, 1
	}
	h0, v0 := max(hv[0].h, 1), max(hv[0].v, 1)
	mxx, myy := int64((w+8*h0-1)/(8*h0)), int64((h+8*v0-1)/(8*v0))
	out := make([]int64, len(hv))
	for k, c := range hv {
		out[k] = mxx * myy * int64(c.h*c.v)
	}
	return out
}

// maxProgressiveScans is far above what real encoders write (libjpeg's and mozjpeg's scripts use
// about ten) and far below what makes decoding slow: each scan walks every block of its component.
const maxProgressiveScans = 64

// jpegCost is what image/jpeg holds and does for a picture of this layout.
//
// Memory: a plane per component at the MCU-padded size; a progressive picture also keeps 64
// int32 coefficients per block of every component until its last scan; three components stored
// as RGB and four components (CMYK, YCCK) are converted into a new 4-byte-per-pixel image.
//
// Work (jpegWork): every scan visits every block of its components; a refinement scan also walks
// its band in each; the entropy-coded bytes are decoded bit by bit; every block is transformed
// once; every Huffman table fills a look-up table.
func jpegCost(data []byte, w, h int) decodeCost {
	l := readJPEG(data)
	c := decodeCost{kind: "baseline JPEG", scans: len(l.scans), broken: l.broken, strip: l.strip}
	if len(l.comps) == 0 {
		return c // the decoder will refuse it
	}
	blocks := l.blocks(w, h)
	var all int64
	for _, b := range blocks {
		all += b
	}
	c.bytes = 64 * all
	c.maxScans = len(l.comps)
	if l.progressive {
		c.bytes += 256 * all
		c.kind = "progressive JPEG"
		c.maxScans = maxProgressiveScans
	}
	px := int64(w) * int64(h)
	ids := [3]byte{}
	for k := 0; k < len(l.comps) && k < 3; k++ {
		ids[k] = l.comps[k].id
	}
	rgb := len(l.comps) == 3 && !l.jfif && (l.adobe == 0 || ids == [3]byte{'R', 'G', 'B'})
	switch {
	case len(l.comps) == 4:
		c.bytes += 4 * px
		c.kind = "CMYK " + c.kind
	case rgb:
		c.bytes += 4 * px
		c.kind = "RGB " + c.kind
	case len(l.comps) == 1:
		c.kind = "greyscale " + c.kind
	}
	c.work, c.why = jpegWork(&l, blocks, px)
	if len(l.comps) == 4 || rgb {
		c.work += px * workPerConversion
	}
	return c
}

// Units of decoding work, each about a nanosecond of image/jpeg on the reference machine
// (BenchmarkDecodeWork measures them; docs/reliability.md has the figures).
const (
	// A progressive scan copies each block's 64 coefficients in and out, even to skip it in an
	// end-of-band run.
	workPerBlockVisit   = 30
	workPerCoefficient  = 2   // a refinement scan's step through one coefficient of its band
	workPerEntropyByte  = 40  // Huffman-decoding a byte of entropy-coded data
	workPerBlockIDCT    = 400 // dequantizing and transforming a block, once
	workPerHuffmanTable = 2000
	workPerPixel        = 4  // our planes and resize
	workPerConversion   = 25 // a pixel converted from CMYK, YCCK or RGB components
)

// jpegWork models the decoder's work, and names its largest part.
func jpegWork(l *jpegLayout, blocks []int64, px int64) (int64, func() string) {
	var all, visits, steps, refinements int64
	for _, b := range blocks {
		all += b
	}
	for _, s := range l.scans {
		for _, k := range s.comps {
			visits += blocks[k]
			if s.refines() {
				steps += blocks[k] * int64(s.se-s.ss+1)
			}
		}
		if s.refines() {
			refinements++
		}
	}
	parts := [...]int64{
		visits * workPerBlockVisit,
		steps * workPerCoefficient,
		int64(l.entropyBytes) * workPerEntropyByte,
		all * workPerBlockIDCT,
		int64(l.huffmanTables) * workPerHuffmanTable,
		px * workPerPixel,
	}
	var work int64
	top := 0
	for k, p := range parts {
		work += p
		if p > parts[top] {
			top = k
		}
	}
	scans, entropy, tables := len(l.scans), l.entropyBytes, l.huffmanTables
	return work, func() string {
		return [...]string{
			fmt.Sprintf("its %d scans each visit up to %d blocks", scans, all),
			fmt.Sprintf("its %d refinement scans each step through every coefficient of their band in up to %d blocks", refinements, all),
			fmt.Sprintf("it has %d bytes of entropy-coded data", entropy),
			fmt.Sprintf("it has %d blocks to transform", all),
			fmt.Sprintf("it defines %d Huffman tables", tables),
			fmt.Sprintf("it has %d pixels", px),
		}[top]
	}
}
