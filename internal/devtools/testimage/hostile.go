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
}

// Bytes encodes the picture.
func (j FlatJPEG) Bytes() []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})
	if j.Components == 4 {
		// Adobe APP14 with transform 0: the components are C, M, Y, K.
		segment(&b, 0xEE, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0})
	}
	q := make([]byte, 65) // table 0, 8-bit, every step 1
	for i := 1; i < len(q); i++ {
		q[i] = 1
	}
	segment(&b, 0xDB, q)
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
	segment(&b, sof[0], sof[1:])
	// DC table 0: one code, "0", for category 0 (a zero difference).
	segment(&b, 0xC4, append([]byte{0x00, 1}, append(make([]byte, 15), 0x00)...))
	// AC table 0: EOB (0x00) and the progressive end-of-band runs EOB1..EOB14 (0x10..0xE0),
	// fifteen codes of four bits.
	ac := []byte{0x10, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for r := 0; r < 15; r++ {
		ac = append(ac, byte(r<<4))
	}
	segment(&b, 0xC4, ac)

	h0, v0 := hv[0]>>4, hv[0]&15
	if j.Components == 1 {
		h0, v0 = 1, 1
	}
	mxx, myy := (j.Width+8*h0-1)/(8*h0), (j.Height+8*v0-1)/(8*v0)
	blocksPerMCU := 0
	for _, s := range hv {
		blocksPerMCU += (s >> 4) * (s & 15)
	}
	if j.Components == 1 {
		blocksPerMCU = 1
	}
	scan := func(comps []int, ss, se byte) {
		p := []byte{byte(len(comps))}
		for _, c := range comps {
			p = append(p, byte(c+1), 0x00)
		}
		segment(&b, 0xDA, append(p, ss, se, 0))
	}
	if !j.Progressive {
		all := make([]int, j.Components)
		for c := range all {
			all[c] = c
		}
		scan(all, 0, 63)
		var w bitWriter
		for i := 0; i < mxx*myy*blocksPerMCU; i++ {
			w.put(0, 1) // DC: category 0
			w.put(0, 4) // AC: EOB
		}
		b.Write(w.flush())
	} else {
		all := make([]int, j.Components)
		for c := range all {
			all[c] = c
		}
		scan(all, 0, 0)
		var w bitWriter
		for i := 0; i < mxx*myy*blocksPerMCU; i++ {
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
			scan([]int{c}, 1, 63)
			b.Write(eobRuns(bw * bh))
		}
	}
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
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
	{"photo-like baseline JPEG near the body limit, 2400x2400", func() []byte {
		return Challenge{Grid: 3, Tile: 800, Label: "/m/0k4j", Targets: []int{4}}.JPEG(95)
	}, 200, ""},
}
