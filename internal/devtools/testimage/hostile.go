package testimage

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// FlatJPEG describes a valid JPEG whose every DCT coefficient is zero: a flat grey picture whose
// entropy-coded data is a bit or two per block, so a picture of any size is a small file. It is
// how an attacker makes a picture that is cheap to send and expensive to decode.
type FlatJPEG struct {
	Width, Height int
	Components    int  // 1 (grey), 3 (YCbCr) or 4 (Adobe CMYK)
	Subsampled    bool // 3 components: 4:2:0 chroma; otherwise every component at full size
	Progressive   bool
	ExtraScans    int // progressive: empty AC scans of the first component after the required ones
	// Refinements are progressive AC refinement scans of the first component after those: the
	// decoder steps through every coefficient of each block in each of them.
	Refinements int
}

// Bytes encodes the picture.
func (j FlatJPEG) Bytes() []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})
	hv := j.writeTables(&b)
	if j.Progressive {
		j.writeProgressiveScans(&b, hv)
	} else {
		j.writeBaselineScan(&b, hv)
	}
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// writeTables writes everything before the first scan and returns each component's sampling
// factors (H in the high nibble, V in the low).
func (j FlatJPEG) writeTables(b *bytes.Buffer) []int {
	if j.Components == 4 {
		// Adobe APP14 with transform 0: the components are C, M, Y, K.
		segment(b, 0xEE, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0})
	}
	q := make([]byte, 65) // table 0, 8-bit, every step 1
	for i := 1; i < len(q); i++ {
		q[i] = 1
	}
	segment(b, 0xDB, q)
	sof := []byte{0xC0, 8, byte(j.Height >> 8), byte(j.Height), byte(j.Width >> 8), byte(j.Width), byte(j.Components)}
	if j.Progressive {
		sof[0] = 0xC2
	}
	hv := make([]int, j.Components)
	for c := range hv {
		hv[c] = 0x11
		if c == 0 && j.Subsampled && j.Components == 3 {
			hv[c] = 0x22
		}
		sof = append(sof, byte(c+1), byte(hv[c]), 0)
	}
	segment(b, sof[0], sof[1:])
	// DC table 0: one code, "0", for category 0 (a zero difference).
	segment(b, 0xC4, append([]byte{0x00, 1}, append(make([]byte, 15), 0x00)...))
	// AC table 0: EOB (0x00) and the progressive end-of-band runs EOB1..EOB14 (0x10..0xE0),
	// fifteen codes of four bits.
	ac := []byte{0x10, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for r := 0; r < 15; r++ {
		ac = append(ac, byte(r<<4))
	}
	segment(b, 0xC4, ac)
	return hv
}

// maxSampling is the largest component's sampling factors: one MCU is that many blocks across.
func (j FlatJPEG) maxSampling(hv []int) (h0, v0 int) {
	if j.Components == 1 {
		return 1, 1
	}
	return hv[0] >> 4, hv[0] & 15
}

// mcuBlocks is the number of blocks in the picture's interleaved scan.
func (j FlatJPEG) mcuBlocks(hv []int) int {
	h0, v0 := j.maxSampling(hv)
	mxx, myy := (j.Width+8*h0-1)/(8*h0), (j.Height+8*v0-1)/(8*v0)
	blocksPerMCU := 0
	for _, s := range hv {
		blocksPerMCU += (s >> 4) * (s & 15)
	}
	if j.Components == 1 {
		blocksPerMCU = 1
	}
	return mxx * myy * blocksPerMCU
}

func writeScanHeader(b *bytes.Buffer, comps []int, ss, se, ahal byte) {
	p := []byte{byte(len(comps))}
	for _, c := range comps {
		p = append(p, byte(c+1), 0x00)
	}
	segment(b, 0xDA, append(p, ss, se, ahal))
}

func (j FlatJPEG) allComponents() []int {
	all := make([]int, j.Components)
	for c := range all {
		all[c] = c
	}
	return all
}

func (j FlatJPEG) writeBaselineScan(b *bytes.Buffer, hv []int) {
	writeScanHeader(b, j.allComponents(), 0, 63, 0)
	var w bitWriter
	for i := 0; i < j.mcuBlocks(hv); i++ {
		w.put(0, 1) // DC: category 0
		w.put(0, 4) // AC: EOB
	}
	b.Write(w.flush())
}

func (j FlatJPEG) writeProgressiveScans(b *bytes.Buffer, hv []int) {
	h0, v0 := j.maxSampling(hv)
	writeScanHeader(b, j.allComponents(), 0, 0, 0)
	var w bitWriter
	for i := 0; i < j.mcuBlocks(hv); i++ {
		w.put(0, 1)
	}
	b.Write(w.flush())
	for n := 0; n < j.Components+j.ExtraScans; n++ {
		c := n % j.Components
		if n >= j.Components {
			c = 0
		}
		s := hv[c]
		if j.Components == 1 {
			s = 0x11
		}
		// A single-component scan covers the component's own blocks, not the MCU padding.
		bw := (j.Width*(s>>4)/h0 + 7) / 8
		bh := (j.Height*(s&15)/v0 + 7) / 8
		var al byte // with refinements to follow, the first scans send all but the last bit
		if j.Refinements > 0 {
			al = 1
		}
		writeScanHeader(b, []int{c}, 1, 63, al)
		b.Write(eobRuns(bw * bh))
	}
	bw, bh := (j.Width+7)/8, (j.Height+7)/8
	if j.Components > 1 {
		bw, bh = (j.Width*(hv[0]>>4)/h0+7)/8, (j.Height*(hv[0]&15)/v0+7)/8
	}
	for n := 0; n < j.Refinements; n++ {
		writeScanHeader(b, []int{0}, 1, 63, 0x10) // Ah 1, Al 0: the last bit of every coefficient
		b.Write(eobRuns(bw * bh))
	}
}

// eobRuns codes n empty blocks as end-of-band runs of at most 32767 blocks each.
func eobRuns(n int) []byte {
	var w bitWriter
	for n > 0 {
		run := min(n, 1<<15-1)
		k := 0
		for 1<<(k+1) <= run {
			k++
		}
		w.put(uint32(k), 4) // code of EOBk (symbol k<<4) is k, four bits
		w.put(uint32(run-1<<k), k)
		n -= run
	}
	return w.flush()
}

func segment(b *bytes.Buffer, marker byte, payload []byte) {
	b.Write([]byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)})
	b.Write(payload)
}

// bitWriter writes entropy-coded bits, most significant first, stuffing a zero after each 0xFF.
type bitWriter struct {
	out   []byte
	acc   uint32
	nbits int
}

func (w *bitWriter) put(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>i)&1
		if w.nbits++; w.nbits == 8 {
			w.emit()
		}
	}
}

func (w *bitWriter) emit() {
	w.out = append(w.out, byte(w.acc))
	if byte(w.acc) == 0xFF {
		w.out = append(w.out, 0)
	}
	w.acc, w.nbits = 0, 0
}

// flush pads the last byte with ones, as the standard says.
func (w *bitWriter) flush() []byte {
	for w.nbits != 0 {
		w.put(1, 1)
	}
	return w.out
}

// FlatPNG is a valid PNG of any size, depth and colour type whose pixels are all zero, so a
// picture of millions of 16-bit pixels compresses to a small file.
type FlatPNG struct {
	Width, Height int
	Depth         int  // bits per sample: 1, 2, 4, 8 or 16
	ColorType     int  // 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
	Interlaced    bool // Adam7
}

// Bytes encodes the picture.
func (p FlatPNG) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(p.Width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(p.Height))
	ihdr[8], ihdr[9] = byte(p.Depth), byte(p.ColorType)
	if p.Interlaced {
		ihdr[12] = 1
	}
	chunk(&b, "IHDR", ihdr)
	if p.ColorType == 3 {
		chunk(&b, "PLTE", []byte{0x80, 0x80, 0x80})
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	samples := map[int]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[p.ColorType]
	zero := make([]byte, 64<<10)
	rows := func(w, h int) {
		if w == 0 || h == 0 {
			return
		}
		n := h * (1 + (w*samples*p.Depth+7)/8) // each row: a filter byte, then the samples
		for n > 0 {
			k := min(n, len(zero))
			zw.Write(zero[:k])
			n -= k
		}
	}
	if !p.Interlaced {
		rows(p.Width, p.Height)
	} else {
		for _, pass := range [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			rows((p.Width-pass[0]+pass[2]-1)/pass[2], (p.Height-pass[1]+pass[3]-1)/pass[3])
		}
	}
	zw.Close()
	for data := z.Bytes(); len(data) > 0; {
		k := min(len(data), 1<<20)
		chunk(&b, "IDAT", data[:k])
		data = data[k:]
	}
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

func chunk(w io.Writer, kind string, data []byte) {
	binary.Write(w, binary.BigEndian, uint32(len(data)))
	c := append([]byte(kind), data...)
	w.Write(c)
	binary.Write(w, binary.BigEndian, crc32.ChecksumIEEE(c))
}

// CostClass is a kind of picture whose decoding cost the service must bound, and what the
// service answers to it: Status 200 with a recognition, or a refusal with Code.
type CostClass struct {
	Name   string
	Image  func() []byte
	Status int
	Code   string
}

// CostClasses are the attacks that pass the byte and pixel limits, and the largest picture of
// each kind that is still accepted. The end-to-end tests check each one's answer and peak memory
// in a fresh function process; `make bench` reports each one's peak and time.
var CostClasses = []CostClass{
	{"progressive JPEG, 4096x4096, 7000 empty scans", func() []byte {
		return FlatJPEG{Width: 4096, Height: 4096, Components: 3, Subsampled: true, Progressive: true, ExtraScans: 7000}.Bytes()
	}, 413, "image_too_complex"},
	{"progressive JPEG, 4096x4096, 3 components", func() []byte {
		return FlatJPEG{Width: 4096, Height: 4096, Components: 3, Progressive: true}.Bytes()
	}, 413, "image_too_complex"},
	{"progressive JPEG, 4096x4096, 4 components (Adobe CMYK)", func() []byte {
		return FlatJPEG{Width: 4096, Height: 4096, Components: 4, Progressive: true}.Bytes()
	}, 413, "image_too_complex"},
	{"phone photo: progressive JPEG 4:2:0, 4000x3000", func() []byte {
		return FlatJPEG{Width: 4000, Height: 3000, Components: 3, Subsampled: true, Progressive: true, ExtraScans: 6}.Bytes()
	}, 413, "image_too_complex"},
	{"baseline JPEG, 4096x4096, 4 components (Adobe CMYK)", func() []byte {
		return FlatJPEG{Width: 4096, Height: 4096, Components: 4}.Bytes()
	}, 413, "image_too_complex"},
	{"16-bit RGBA PNG, 4096x4096", func() []byte {
		return FlatPNG{Width: 4096, Height: 4096, Depth: 16, ColorType: 6}.Bytes()
	}, 413, "image_too_complex"},
	{"8-bit RGBA PNG, 4096x4096", func() []byte {
		return FlatPNG{Width: 4096, Height: 4096, Depth: 8, ColorType: 6}.Bytes()
	}, 413, "image_too_complex"},
	{"interlaced 8-bit RGBA PNG, 4096x4096", func() []byte {
		return FlatPNG{Width: 4096, Height: 4096, Depth: 8, ColorType: 6, Interlaced: true}.Bytes()
	}, 413, "image_too_complex"},
	{"lossless WebP, 204x204, 2600 groups of prefix codes", func() []byte {
		return LosslessWebPGroups(204, 204, 2600, 11)
	}, 413, "image_too_complex"},
	{"greyscale progressive JPEG, 3072x3072, 62 refinement scans", func() []byte {
		return FlatJPEG{Width: 3072, Height: 3072, Components: 1, Progressive: true, Refinements: 62}.Bytes()
	}, 413, "image_too_complex"},
	{"GIF, 5000 frames", func() []byte {
		return Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{4}}.AnimatedGIF(5000)
	}, 400, "invalid_image"},

	{"phone photo: baseline JPEG 4:2:0, 4000x3000", func() []byte {
		return FlatJPEG{Width: 4000, Height: 3000, Components: 3, Subsampled: true}.Bytes()
	}, 200, ""},
	{"baseline JPEG 4:2:0, 4096x4096 (the pixel limit)", func() []byte {
		return FlatJPEG{Width: 4096, Height: 4096, Components: 3, Subsampled: true}.Bytes()
	}, 200, ""},
	{"progressive JPEG 4:2:0, 64 scans, 2448x2448", func() []byte {
		return FlatJPEG{Width: 2448, Height: 2448, Components: 3, Subsampled: true, Progressive: true, ExtraScans: 60}.Bytes()
	}, 200, ""},
	{"baseline JPEG, 4 components (Adobe CMYK), 2448x2448", func() []byte {
		return FlatJPEG{Width: 2448, Height: 2448, Components: 4}.Bytes()
	}, 200, ""},
	{"8-bit RGBA PNG, 3840x2160 (a 4K screenshot)", func() []byte {
		return FlatPNG{Width: 3840, Height: 2160, Depth: 8, ColorType: 6}.Bytes()
	}, 200, ""},
	{"interlaced 8-bit RGBA PNG, 2448x2448", func() []byte {
		return FlatPNG{Width: 2448, Height: 2448, Depth: 8, ColorType: 6, Interlaced: true}.Bytes()
	}, 200, ""},
	{"16-bit RGBA PNG, 2448x2448", func() []byte {
		return FlatPNG{Width: 2448, Height: 2448, Depth: 16, ColorType: 6}.Bytes()
	}, 200, ""},
	{"8-bit greyscale PNG, 4096x4096", func() []byte {
		return FlatPNG{Width: 4096, Height: 4096, Depth: 8, ColorType: 0}.Bytes()
	}, 200, ""},
	{"greyscale progressive JPEG, 62 refinement scans, 1536x1536", func() []byte {
		return FlatJPEG{Width: 1536, Height: 1536, Components: 1, Progressive: true, Refinements: 62}.Bytes()
	}, 200, ""},
	{"lossless WebP, 112x112, 500 groups of prefix codes with a colour cache", func() []byte {
		return LosslessWebPGroups(112, 112, 500, 11)
	}, 200, ""},
	{"photo-like baseline JPEG near the body limit, 2400x2400", func() []byte {
		return Challenge{Grid: 3, Tile: 800, Label: "/m/0k4j", Targets: []int{4}}.JPEG(95)
	}, 200, ""},
}

// JPEGShortSegment is a JFIF JPEG whose segment after the frame header declares a length of n,
// under the two bytes of the length itself when n is 0 or 1.
func JPEGShortSegment(n byte) []byte {
	return []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 7, 'J', 'F', 'I', 'F', 0,
		0xFF, 0xC0, 0, 11, 8, 1, 44, 1, 44, 1, 1, 0x11, 0, // 300x300, one component
		0xFF, 0xE1, 0, n, 1, 2, 3, 0xFF, 0xD9}
}

// GIFEmptyFrame is a 300x300 GIF (34 bytes) whose only frame is 0x0 pixels.
func GIFEmptyFrame() []byte {
	return []byte("GIF89a\x2c\x01\x2c\x01\x80\x00\x00" + "\x00\x00\x00\xff\xff\xff" + // screen, 2-colour table
		"\x2c\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // frame at (0,0), 0x0
		"\x02\x01\x2c\x00\x3b") // LZW: clear, end; trailer
}

// GIFPartialFrame is a 300x300 GIF whose only frame covers 10x10 pixels at (20,20).
func GIFPartialFrame() []byte {
	return []byte("GIF89a\x2c\x01\x2c\x01\x80\x00\x00" + "\x00\x00\x00\xff\xff\xff" +
		"\x2c\x14\x00\x14\x00\x0a\x00\x0a\x00\x00" +
		"\x02\x01\x2c\x00\x3b")
}

// Metadata that pictures carry and a provider has no need to see: a camera's EXIF with a GPS
// position, XMP, an ICC profile, Photoshop's IPTC block and comments.
const (
	MetadataGPS     = "GPSLatitude 48.8583N GPSLongitude 2.2945E"
	MetadataComment = "taken by alice@example.com"
)

// JPEGWithMetadata returns jpeg (a JPEG starting with SOI) with metadata segments inserted after
// its first segment: EXIF, XMP, an ICC profile, IPTC and a comment.
func JPEGWithMetadata(jpeg []byte) []byte {
	var b bytes.Buffer
	b.Write(jpeg[:2])
	rest := jpeg[2:]
	if len(rest) > 4 && rest[0] == 0xFF && rest[1] == 0xE0 { // keep JFIF first, where it belongs
		n := 2 + (int(rest[2])<<8 | int(rest[3]))
		b.Write(rest[:n])
		rest = rest[n:]
	}
	segment(&b, 0xE1, []byte("Exif\x00\x00MM\x00\x2a "+MetadataGPS))
	segment(&b, 0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+MetadataGPS+"</x:xmpmeta>"))
	segment(&b, 0xE2, append([]byte("ICC_PROFILE\x00\x01\x01"), make([]byte, 128)...))
	segment(&b, 0xED, []byte("Photoshop 3.0\x008BIM "+MetadataComment))
	segment(&b, 0xFE, []byte(MetadataComment))
	segment(&b, 0xEF, []byte(MetadataComment)) // APP15, which no standard claims
	b.Write(rest)
	return b.Bytes()
}

// PNGWithMetadata returns png with text, EXIF, ICC, time and physical-size chunks inserted
// before its image data, and a comment after it.
func PNGWithMetadata(png []byte) []byte {
	idat := bytes.Index(png, []byte("IDAT")) - 4
	iend := bytes.Index(png, []byte("IEND")) - 4
	var b bytes.Buffer
	b.Write(png[:idat])
	chunk(&b, "tEXt", []byte("Comment\x00"+MetadataComment))
	chunk(&b, "iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"+MetadataGPS))
	chunk(&b, "eXIf", []byte("MM\x00\x2a "+MetadataGPS))
	chunk(&b, "iCCP", []byte("icc\x00\x00\x78\x9c\x03\x00\x00\x00\x00\x01"))
	chunk(&b, "tIME", []byte{0x07, 0xEA, 12, 2, 18, 0, 0})
	chunk(&b, "pHYs", []byte{0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1})
	b.Write(png[idat:iend])
	chunk(&b, "zTXt", []byte("Author\x00\x00\x78\x9c\x03\x00\x00\x00\x00\x01"))
	b.Write(png[iend:])
	return b.Bytes()
}
