package protocols

import (
	"encoding/hex"
	"testing"
)

// NIST SP 800-38G's FF1 samples 1 and 2 (AES-128, radix 10).
func TestFF1Vectors(t *testing.T) {
	key, _ := hex.DecodeString("2B7E151628AED2A6ABF7158809CF4F3C")
	f, err := newFF1(key, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	tweak, _ := hex.DecodeString("39383736353433323130")
	for _, c := range []struct {
		tweak     []byte
		plain, ct uint64
	}{
		{nil, 123456789, 2433477484},
		{tweak, 123456789, 6124200773},
	} {
		tw := f.prepare(c.tweak)
		if got := f.encrypt(c.plain, &tw); got != c.ct {
			t.Errorf("encrypt(%010d, %x) = %010d, want %010d", c.plain, c.tweak, got, c.ct)
		}
		if got := f.decrypt(c.ct, &tw); got != c.plain {
			t.Errorf("decrypt(%010d, %x) = %010d, want %010d", c.ct, c.tweak, got, c.plain)
		}
	}
}
