package protocols

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math"
)

// ff1 is NIST SP 800-38G's FF1 format-preserving encryption with AES, for numeral strings short
// enough that radix^n fits in 64 bits: a task id must stay a number below 2^53, so it is
// enciphered as a 53-digit binary numeral, with the caller as the tweak. TestFF1Vectors holds it
// to NIST's published samples.
type ff1 struct {
	block cipher.Block
	radix uint64
	n     int // digits
}

func newFF1(key []byte, radix uint64, n int) (*ff1, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &ff1{block: block, radix: radix, n: n}, nil
}

func pow(radix uint64, m int) uint64 {
	p := uint64(1)
	for range m {
		p *= radix
	}
	return p
}

// ff1Tweak is the round function's CBC-MAC over P and Q up to Q's last block, which alone
// depends on the round and its numeral: computed once per tweak, each round is then one block.
type ff1Tweak struct {
	state, last [16]byte
	numBytes    int // b: the bytes of the numeral at the end of Q
}

func (f *ff1) prepare(tweak []byte) ff1Tweak {
	u, v := f.n/2, f.n-f.n/2
	t := ff1Tweak{numBytes: int(math.Ceil(math.Ceil(float64(v)*math.Log2(float64(f.radix))) / 8))}
	var p [16]byte
	p[0], p[1], p[2] = 1, 2, 1
	p[3], p[4], p[5] = byte(f.radix>>16), byte(f.radix>>8), byte(f.radix)
	p[6], p[7] = 10, byte(u)
	binary.BigEndian.PutUint32(p[8:], uint32(f.n))
	binary.BigEndian.PutUint32(p[12:], uint32(len(tweak)))
	pad := ((-len(tweak)-t.numBytes-1)%16 + 16) % 16
	q := append(append([]byte{}, tweak...), make([]byte, pad+1+t.numBytes)...)
	f.block.Encrypt(t.state[:], p[:])
	for ; len(q) > 16; q = q[16:] {
		for k := range 16 {
			t.state[k] ^= q[k]
		}
		f.block.Encrypt(t.state[:], t.state[:])
	}
	copy(t.last[:], q)
	return t
}

// round returns the round function's y for round i over the numeral b. d = 4*ceil(b/4)+4 is 8
// bytes for b <= 4: y is the first 8 bytes of R.
func (f *ff1) round(t *ff1Tweak, i int, b uint64) uint64 {
	last := t.last
	last[15-t.numBytes] = byte(i)
	var num [8]byte
	binary.BigEndian.PutUint64(num[:], b)
	copy(last[16-t.numBytes:], num[8-t.numBytes:])
	var r [16]byte
	for k := range 16 {
		r[k] = t.state[k] ^ last[k]
	}
	f.block.Encrypt(r[:], r[:])
	return binary.BigEndian.Uint64(r[:8])
}

// encrypt enciphers x (below radix^n) under a prepared tweak.
func (f *ff1) encrypt(x uint64, t *ff1Tweak) uint64 {
	v := f.n - f.n/2
	mu, mv := pow(f.radix, f.n/2), pow(f.radix, v)
	a, b := x/mv, x%mv
	for i := range 10 {
		m := mu
		if i%2 == 1 {
			m = mv
		}
		c := (a%m + f.round(t, i, b)%m) % m
		a, b = b, c
	}
	return a*mv + b
}

// decrypt inverts encrypt.
func (f *ff1) decrypt(y uint64, t *ff1Tweak) uint64 {
	v := f.n - f.n/2
	mu, mv := pow(f.radix, f.n/2), pow(f.radix, v)
	a, b := y/mv, y%mv
	for i := 9; i >= 0; i-- {
		m := mu
		if i%2 == 1 {
			m = mv
		}
		c := (b%m + m - f.round(t, i, a)%m) % m
		a, b = c, a
	}
	return a*mv + b
}
