package testimage

import (
	"bytes"
	"encoding/binary"
)

// LosslessWebPGroups is a valid lossless WebP of w×h black pixels whose entropy image assigns
// its 4×4 tiles, in turn, to groups different groups of prefix codes (at most one a tile, at most
// 2,600). Every code of every group uses its whole alphabet, the first one widened by a colour
// cache of cacheBits (0 for none, up to 11): the decoder builds a full tree for each, which is
// what makes such a file expensive to decode however small its pixels.
func LosslessWebPGroups(w, h, groups, cacheBits int) []byte {
	var b lsbWriter
	b.put(0x2f, 8)
	b.put(uint32(w-1), 14)
	b.put(uint32(h-1), 14)
	b.put(0, 1+3) // no alpha hint, version 0
	b.put(0, 1)   // no transform
	if cacheBits > 0 {
		b.put(1, 1)
		b.put(uint32(cacheBits), 4)
	} else {
		b.put(0, 1)
	}
	b.put(1, 1) // an entropy image
	b.put(0, 3) // of 4×4 tiles
	tw, th := (w+3)/4, (h+3)/4
	// The entropy image: its green and red codes cover all 256 values, its others one symbol.
	b.put(0, 1) // no colour cache
	byteCode := fullCode(256, 256)
	b.writeCode(fullCode(280, 256))
	b.writeCode(byteCode)
	for k := 0; k < 3; k++ {
		b.writeSingle()
	}
	green := fullCode(280, 256)
	for t := 0; t < tw*th; t++ {
		g := t % groups
		b.putCode(green.codes[g&0xff], green.lengths[g&0xff])
		b.putCode(byteCode.codes[g>>8], byteCode.lengths[g>>8])
	}
	// Each group: four codes over their whole alphabets, and the distance code of one symbol.
	alphabet := 280
	if cacheBits > 0 {
		alphabet += 1 << cacheBits
	}
	literal := fullCode(alphabet, alphabet)
	for g := 0; g < groups; g++ {
		b.writeCode(literal)
		for k := 0; k < 3; k++ {
			b.writeCode(byteCode)
		}
		b.writeSingle()
	}
	// The pixels: literal black, each value coded in its tile's group.
	for p := 0; p < w*h; p++ {
		b.putCode(literal.codes[0], literal.lengths[0])
		for k := 0; k < 3; k++ {
			b.putCode(byteCode.codes[0], byteCode.lengths[0])
		}
	}
	stream := b.flush()
	var out bytes.Buffer
	pad := len(stream) & 1
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+len(stream)+pad))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(len(stream)))
	out.Write(stream)
	out.Write(make([]byte, pad))
	return out.Bytes()
}

// prefixCode is a canonical prefix code given by its code lengths.
type prefixCode struct {
	lengths []int
	codes   []uint32
}

// fullCode is a complete code of used symbols (0..used-1) of an alphabet: lengths L-1 and L.
func fullCode(alphabet, used int) prefixCode {
	l := 1
	for 1<<l < used {
		l++
	}
	short := 1<<l - used // symbols at length l-1 keep the code complete
	c := prefixCode{lengths: make([]int, alphabet)}
	for s := 0; s < used; s++ {
		c.lengths[s] = l
		if s < short {
			c.lengths[s] = l - 1
		}
	}
	c.codes = canonicalCodes(c.lengths)
	return c
}

func canonicalCodes(lengths []int) []uint32 {
	codes := make([]uint32, len(lengths))
	code := uint32(0)
	for n := 1; n < 16; n++ {
		for s, l := range lengths {
			if l == n {
				codes[s] = code
				code++
			}
		}
		code <<= 1
	}
	return codes
}

// lsbWriter writes a VP8L bitstream: numbers least significant bit first, prefix codes most
// significant bit first.
type lsbWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *lsbWriter) put(v uint32, n int) {
	w.acc |= uint64(v&(1<<n-1)) << w.nbits
	w.nbits += uint(n)
	for w.nbits >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *lsbWriter) putCode(code uint32, length int) {
	for i := length - 1; i >= 0; i-- {
		w.put(code>>i&1, 1)
	}
}

func (w *lsbWriter) flush() []byte {
	if w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc, w.nbits = 0, 0
	}
	return w.out
}

// writeSingle writes a simple code of the one symbol 0.
func (w *lsbWriter) writeSingle() { w.put(1, 1); w.put(0, 1); w.put(0, 1); w.put(0, 1) }

// writeCode writes a normal code: its code lengths, coded with a code-length code of the lengths
// it uses (each in one or two bits).
func (w *lsbWriter) writeCode(c prefixCode) {
	order := [19]int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	used := map[int]bool{}
	for _, l := range c.lengths {
		used[l] = true
	}
	clLengths := make([]int, 19)
	var values []int
	for v := 0; v < 16; v++ {
		if used[v] {
			values = append(values, v)
		}
	}
	for i, v := range values { // one value: no bits; two: one bit each; three: 1, 2, 2
		clLengths[v] = max(1, min(i+1, len(values)-1))
	}
	n := 4
	for i, v := range order {
		if clLengths[v] > 0 {
			n = max(n, i+1)
		}
	}
	w.put(0, 1) // normal
	w.put(uint32(n-4), 4)
	for i := 0; i < n; i++ {
		w.put(uint32(clLengths[order[i]]), 3)
	}
	w.put(0, 1) // every symbol's length follows
	cl := canonicalCodes(clLengths)
	if len(values) == 1 {
		return
	}
	for _, l := range c.lengths {
		w.putCode(cl[l], clLengths[l])
	}
}
