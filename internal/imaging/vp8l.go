package imaging

import (
	"errors"
	"fmt"
)

// A lossless WebP's memory is not only its pixels: golang.org/x/image/vp8l builds five prefix
// codes for each group of its entropy image (up to 2,600 groups, up to 2,328 symbols a code),
// each a tree of 8 bytes a node and a 512-byte look-up table. vp8lCost reads the bitstream as far
// as the decoder's last prefix code, decoding the small sub-images (transforms, entropy image)
// it needs to find them, and stops before the pixels.

// Sizes of the decoder's structures, from golang.org/x/image/vp8l (huffman.go, decode.go).
const (
	vp8lTreeBytes     = 4*128 + 24 // hTree: the look-up table and the nodes' slice header
	vp8lNodeBytes     = 8          // hNode
	vp8lMaxGroupIndex = 2600       // the decoder refuses more groups
	// A normal code's code-length code is a tree of its own, with its look-up table, built on
	// the heap (measured: about 1 KB).
	vp8lCodeLengthTreeBytes = 1152
	vp8lCodeLengthCode      = 19
	workPerVP8LSymbol       = 20 // reading a code length and placing the symbol in its tree
)

var (
	errVP8L                 = errors.New("vp8l bitstream")
	vp8lCodeLengthCodeOrder = [19]uint8{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	vp8lAlphabets           = [5]int{256 + 24, 256, 256, 256, 40}
	// vp8lDistances maps the first 120 distance codes to (x, y) offsets (the specification's
	// table, as golang.org/x/image/vp8l has it).
	vp8lDistances = [120]uint8{
		0x18, 0x07, 0x17, 0x19, 0x28, 0x06, 0x27, 0x29, 0x16, 0x1a,
		0x26, 0x2a, 0x38, 0x05, 0x37, 0x39, 0x15, 0x1b, 0x36, 0x3a,
		0x25, 0x2b, 0x48, 0x04, 0x47, 0x49, 0x14, 0x1c, 0x35, 0x3b,
		0x46, 0x4a, 0x26, 0x2a, 0x1d, 0x45, 0x4b, 0x13, 0x57, 0x59,
		0x03, 0x67, 0x69, 0x58, 0x55, 0x5b, 0x34, 0x3c, 0x02, 0x77,
		0x79, 0x44, 0x4c, 0x56, 0x5a, 0x12, 0x1e, 0x68, 0x6a, 0x33,
		0x3d, 0x78, 0x7a, 0x01, 0x54, 0x5c, 0x43, 0x4d, 0x66, 0x6c,
		0x11, 0x1f, 0x00, 0x65, 0x6d, 0x76, 0x7c, 0x32, 0x3e, 0x42,
		0x4e, 0x64, 0x6e, 0x75, 0x7d, 0x10, 0x20, 0x53, 0x5d, 0x74,
		0x7e, 0x22, 0x2e, 0x31, 0x3f, 0x63, 0x6f, 0x73, 0x7f, 0x21,
		0x2f, 0x30, 0x40, 0x52, 0x5e, 0x62, 0x70, 0x72, 0x80, 0x61,
		0x71, 0x51, 0x5f, 0x60, 0x81, 0x50, 0x82, 0x4f, 0x83, 0x9f,
	}
)

// vp8lBits reads a VP8L bitstream, least significant bit first, as the decoder does.
type vp8lBits struct {
	data  []byte
	pos   int
	bits  uint64
	nBits uint
	// Scratch space for the code lengths being read, so that reading thousands of codes
	// allocates nothing per code.
	lengths   [256 + 24 + 1<<11]uint32
	clSymbols [vp8lCodeLengthCode]uint32
}

func (b *vp8lBits) read(n uint) (uint32, error) {
	for b.nBits < n {
		if b.pos == len(b.data) {
			return 0, errVP8L
		}
		b.bits |= uint64(b.data[b.pos]) << b.nBits
		b.pos++
		b.nBits += 8
	}
	v := uint32(b.bits & (1<<n - 1))
	b.bits >>= n
	b.nBits -= n
	return v, nil
}

// vp8lCode is a canonical prefix code, decoded a bit at a time (the sub-images are small).
type vp8lCode struct {
	symbols []uint32 // the symbols in code order
	count   [16]int  // the number of codes of each length
	single  bool     // one symbol: read with no bits
	two     bool     // a simple code of two symbols: symbols[0] is "0", symbols[1] is "1"
}

func (c *vp8lCode) next(b *vp8lBits) (uint32, error) {
	if c.single {
		return c.symbols[0], nil
	}
	if c.two {
		bit, err := b.read(1)
		return c.symbols[bit], err
	}
	code, first, index := 0, 0, 0
	for n := 1; n < 16; n++ {
		bit, err := b.read(1)
		if err != nil {
			return 0, err
		}
		code |= int(bit)
		if code-first < c.count[n] {
			return c.symbols[index+code-first], nil
		}
		index += c.count[n]
		first = (first + c.count[n]) << 1
		code <<= 1
	}
	return 0, errVP8L
}

// vp8lCanonical builds the code of these lengths, its symbols appended to dst; nodes is the
// size of the decoder's tree.
func vp8lCanonical(lengths []uint32, dst []uint32) (c vp8lCode, nodes int, err error) {
	c.symbols = dst
	for n := 1; n < 16; n++ {
		for s, l := range lengths {
			if int(l) == n {
				c.count[n]++
				c.symbols = append(c.symbols, uint32(s))
			}
		}
	}
	for s, l := range lengths {
		if l > 15 {
			return c, 0, errVP8L
		}
		if l > 0 && len(c.symbols) == 1 {
			c.single, c.symbols[0] = true, uint32(s)
		}
	}
	if len(c.symbols) == 0 {
		return c, 0, errVP8L
	}
	return c, 2*len(c.symbols) - 1, nil
}

// readCode reads one prefix code of an alphabet; size is what the decoder allocates for it
// besides its look-up table: the tree's nodes and, for a normal code, the code lengths and the
// codes of the whole alphabet while building it.
// Without build, the code is only counted (the codes of the pixels are never used here).
func (b *vp8lBits) readCode(alphabet int, build bool) (c vp8lCode, size int64, err error) {
	simple, err := b.read(1)
	if err != nil {
		return c, 0, err
	}
	if simple == 1 {
		c, nodes, err := b.readSimpleCode(alphabet)
		return c, vp8lNodeBytes * int64(nodes), err
	}
	n, err := b.read(4)
	if err != nil {
		return c, 0, err
	}
	var clLengths [vp8lCodeLengthCode]uint32
	for i := 0; i < int(n)+4; i++ {
		if clLengths[vp8lCodeLengthCodeOrder[i]], err = b.read(3); err != nil {
			return c, 0, err
		}
	}
	cl, _, err := vp8lCanonical(clLengths[:], b.clSymbols[:0])
	if err != nil {
		return c, 0, err
	}
	lengths, err := b.readCodeLengths(&cl, alphabet)
	if err != nil {
		return c, 0, err
	}
	nodes := 0
	if build {
		c, nodes, err = vp8lCanonical(lengths, nil)
	} else {
		for _, l := range lengths {
			if l > 15 {
				return c, 0, errVP8L
			}
			if l > 0 {
				nodes++
			}
		}
		if nodes == 0 {
			return c, 0, errVP8L
		}
		nodes = 2*nodes - 1
	}
	return c, vp8lNodeBytes*int64(nodes) + 8*int64(alphabet) + vp8lCodeLengthTreeBytes, err
}

func (b *vp8lBits) readSimpleCode(alphabet int) (c vp8lCode, nodes int, err error) {
	two, err := b.read(1)
	if err != nil {
		return c, 0, err
	}
	wide, err := b.read(1)
	if err != nil {
		return c, 0, err
	}
	s0, err := b.read(1 + 7*uint(wide))
	c.symbols = []uint32{s0}
	if err == nil && two == 1 {
		var s1 uint32
		s1, err = b.read(8)
		c.symbols = append(c.symbols, s1)
	}
	for _, s := range c.symbols {
		if int(s) >= alphabet {
			err = errVP8L
		}
	}
	c.single, c.two = two == 0, two == 1
	return c, 2*len(c.symbols) - 1, err
}

// readCodeLengths reads an alphabet's code lengths, coded with cl.
func (b *vp8lBits) readCodeLengths(cl *vp8lCode, alphabet int) ([]uint32, error) {
	lengths := b.lengths[:alphabet]
	clear(lengths)
	max := alphabet
	if limited, err := b.read(1); err != nil {
		return nil, err
	} else if limited == 1 {
		n, err := b.read(3)
		if err != nil {
			return nil, err
		}
		m, err := b.read(uint(2 + 2*n))
		if err != nil || int(m)+2 > alphabet {
			return nil, errVP8L
		}
		max = int(m) + 2
	}
	prev := uint32(8)
	for s := 0; s < alphabet && max > 0; max-- {
		l, err := cl.next(b)
		if err != nil {
			return nil, err
		}
		if l < 16 {
			lengths[s] = l
			s++
			if l != 0 {
				prev = l
			}
			continue
		}
		extra, err := b.read([3]uint{2, 3, 7}[l-16])
		repeat := int(extra) + [3]int{3, 3, 11}[l-16]
		if err != nil || s+repeat > alphabet {
			return nil, errVP8L
		}
		for ; repeat > 0; repeat-- {
			if l == 16 {
				lengths[s] = prev
			}
			s++
		}
	}
	return lengths, nil
}

// vp8lTally is what the decoder holds and does for the parts read so far.
type vp8lTally struct {
	bytes, work int64
	groups      int
}

// readSubImage decodes a w×h sub-image (a transform's or the entropy image) with its one group
// of prefix codes, as the decoder does, and with keep returns its pixels as ARGB (a transform's
// are only read past: their values do not change what is read after them).
func (b *vp8lBits) readSubImage(w, h int, t *vp8lTally, keep bool) ([]uint32, error) {
	cacheBits, err := b.readCacheBits()
	if err != nil {
		return nil, err
	}
	var codes [5]vp8lCode
	for k, alphabet := range vp8lAlphabets {
		if k == 0 && cacheBits > 0 {
			alphabet += 1 << cacheBits
		}
		c, size, err := b.readCode(alphabet, true)
		if err != nil {
			return nil, err
		}
		codes[k] = c
		t.bytes += vp8lTreeBytes + size
		t.work += workPerVP8LSymbol * int64(alphabet)
	}
	t.bytes += 4 * int64(w) * int64(h)
	t.work += workPerLosslessWebPx * int64(w) * int64(h)
	return b.readPixels(&codes, w, h, cacheBits, keep)
}

func (b *vp8lBits) readCacheBits() (uint, error) {
	use, err := b.read(1)
	if err != nil || use == 0 {
		return 0, err
	}
	n, err := b.read(4)
	if err != nil || n < 1 || n > 11 {
		return 0, errVP8L
	}
	return uint(n), nil
}

// readPixels decodes w×h pixels: literals, backward references and colour-cache hits; without
// keep it only reads past them.
func (b *vp8lBits) readPixels(codes *[5]vp8lCode, w, h int, cacheBits uint, keep bool) ([]uint32, error) {
	n := w * h
	var pix, cache []uint32
	if keep {
		pix = make([]uint32, n)
		cache = make([]uint32, 1<<cacheBits)
	}
	cached := 0
	for p := 0; p < n; {
		g, err := codes[0].next(b)
		if err != nil {
			return nil, err
		}
		switch {
		case g < 256:
			var argb [3]uint32
			for k := range argb {
				if argb[k], err = codes[k+1].next(b); err != nil {
					return nil, err
				}
			}
			if keep {
				pix[p] = argb[2]<<24 | argb[0]<<16 | g<<8 | argb[1]
			}
			p++
		case g < 256+24:
			length, dist, err := b.backwardReference(codes, g-256, w)
			if err != nil || p < dist || p+length > n {
				return nil, errVP8L
			}
			for end := p + length; p < end; p++ {
				if keep {
					pix[p] = pix[p-dist]
				}
			}
		default:
			if int(g-256-24) >= 1<<cacheBits || cacheBits == 0 {
				return nil, errVP8L
			}
			if keep {
				for ; cached < p; cached++ {
					cache[(pix[cached]*0x1e35a7bd)>>(32-cacheBits)] = pix[cached]
				}
				pix[p] = cache[g-256-24]
			}
			p++
		}
	}
	return pix, nil
}

// backwardReference reads an LZ77 length (its prefix is symbol) and distance, in pixels.
func (b *vp8lBits) backwardReference(codes *[5]vp8lCode, symbol uint32, w int) (length, dist int, err error) {
	n, err := b.lz77(symbol)
	if err != nil {
		return 0, 0, err
	}
	ds, err := codes[4].next(b)
	if err != nil {
		return 0, 0, err
	}
	code, err := b.lz77(ds)
	if err != nil {
		return 0, 0, err
	}
	if code > 120 {
		return int(n), int(code) - 120, nil
	}
	c := int(vp8lDistances[code-1])
	return int(n), max(1, c>>4*w+8-c&0xf), nil
}

func (b *vp8lBits) lz77(symbol uint32) (uint32, error) {
	if symbol < 4 {
		return symbol + 1, nil
	}
	extra := (symbol - 2) >> 1
	v, err := b.read(uint(extra))
	return (2+symbol&1)<<extra + v + 1, err
}

// vp8lCost reads a VP8L image stream (after its 5-byte header, or an alpha plane's stream) of
// w×h pixels as far as the last prefix code, and returns what the decoder will hold and do.
func vp8lCost(data []byte, w, h int) (vp8lTally, error) {
	b := &vp8lBits{data: data}
	var t vp8lTally
	xsize, err := b.readTransforms(w, h, &t)
	if err != nil {
		return t, err
	}
	cacheBits, err := b.readCacheBits()
	if err != nil {
		return t, err
	}
	groups, maxIndex, err := b.readEntropyImage(xsize, h, &t)
	if err != nil {
		return t, err
	}
	t.groups = groups
	t.bytes += int64(groups) * 5 * vp8lTreeBytes
	for i := 0; i <= maxIndex; i++ {
		for k, alphabet := range vp8lAlphabets {
			if k == 0 && cacheBits > 0 {
				alphabet += 1 << cacheBits
			}
			_, size, err := b.readCode(alphabet, false)
			if err != nil {
				return t, err
			}
			// Counted for every group, although the decoder keeps only the trees of the
			// groups its entropy image refers to when it drops the others.
			t.bytes += size
			t.work += workPerVP8LSymbol * int64(alphabet)
		}
	}
	t.bytes += 4*int64(xsize)*int64(h) + 4*int64(w)*int64(h) + 4<<cacheBits
	t.work += workPerLosslessWebPx * int64(w) * int64(h)
	return t, nil
}

// readTransforms reads the transforms and returns the width the pixels are coded at.
func (b *vp8lBits) readTransforms(w, h int, t *vp8lTally) (int, error) {
	var seen [4]bool
	for {
		more, err := b.read(1)
		if err != nil || more == 0 {
			return w, err
		}
		kind, err := b.read(2)
		if err != nil || seen[kind] {
			return w, errVP8L
		}
		seen[kind] = true
		switch kind {
		case 0, 1: // predictor, cross-colour: a sub-image of one entry per tile
			bits, err := b.read(3)
			if err != nil {
				return w, err
			}
			if _, err := b.readSubImage(tiles(w, bits+2), tiles(h, bits+2), t, false); err != nil {
				return w, err
			}
		case 3: // colour indexing: a palette, and pixels packed by its size
			n, err := b.read(8)
			if err != nil {
				return w, err
			}
			if _, err := b.readSubImage(int(n)+1, 1, t, false); err != nil {
				return w, err
			}
			t.bytes += 4 * 256
			switch colours := n + 1; {
			case colours <= 2:
				w = tiles(w, 3)
			case colours <= 4:
				w = tiles(w, 2)
			case colours <= 16:
				w = tiles(w, 1)
			}
		}
	}
}

// readEntropyImage reads whether the pixels use several groups of prefix codes and, if so, the
// entropy image that assigns one to each tile. It returns the number of groups the decoder
// allocates and the highest index whose codes follow.
func (b *vp8lBits) readEntropyImage(w, h int, t *vp8lTally) (groups, maxIndex int, err error) {
	meta, err := b.read(1)
	if err != nil || meta == 0 {
		return 1, 0, err
	}
	bits, err := b.read(3)
	if err != nil {
		return 0, 0, err
	}
	tw, th := tiles(w, bits+2), tiles(h, bits+2)
	pix, err := b.readSubImage(tw, th, t, true)
	if err != nil {
		return 0, 0, err
	}
	var referenced [vp8lMaxGroupIndex]bool
	distinct := 0
	for _, p := range pix {
		i := int(p >> 8 & 0xffff)
		if i >= vp8lMaxGroupIndex {
			return 0, 0, fmt.Errorf("%w: group %d", errVP8L, i)
		}
		if !referenced[i] {
			referenced[i] = true
			distinct++
		}
		maxIndex = max(maxIndex, i)
	}
	// The decoder allocates only the referenced groups when the highest index is large.
	if maxIndex >= 1000 || maxIndex >= tw*th {
		return distinct, maxIndex, nil
	}
	return maxIndex + 1, maxIndex, nil
}

// tiles is the number of tiles of 1<<bits pixels that cover n.
func tiles(n int, bits uint32) int { return (n + 1<<bits - 1) >> bits }
