package emulator

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// A picture is decoded once for its bytes; a broken one is refused every time; the memory is
// bounded.
func TestDecodePicture(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	first, format, err := DecodePicture(buf.Bytes())
	if err != nil || format != "png" || first.Bounds().Dx() != 3 {
		t.Fatalf("%v %s %v", first, format, err)
	}
	if again, _, _ := DecodePicture(bytes.Clone(buf.Bytes())); again != first {
		t.Error("the same bytes were decoded again")
	}
	broken := append(bytes.Clone(buf.Bytes()[:20]), 0)
	for range 2 {
		if _, _, err := DecodePicture(broken); err == nil {
			t.Fatal("a broken picture was decoded")
		}
	}
	for i := range 2 * maxDecoded {
		DecodePicture([]byte{byte(i), byte(i >> 8)})
	}
	if len(decoded.m) > maxDecoded {
		t.Errorf("%d pictures kept", len(decoded.m))
	}
}
