package imaging_test

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// A picture already at a provider's size is forwarded without its metadata, and shows the same
// pixels: the JFIF header and the Adobe colour marker stay, as the decoder reads them.
func TestForwardedPictureLosesItsMetadata(t *testing.T) {
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{4}}
	for _, c := range []struct {
		name string
		data []byte
		keep string // must stay
	}{
		{"JPEG", testimage.JPEGWithMetadata(ch.JPEG(90)), ""},
		{"JFIF JPEG", testimage.JPEGWithMetadata(jfif(ch.JPEG(90))), "JFIF"},
		{"CMYK JPEG", testimage.JPEGWithMetadata(testimage.FlatJPEG{Width: 300, Height: 300, Components: 4}.Bytes()), "Adobe"},
		{"progressive JPEG", testimage.JPEGWithMetadata(testimage.FlatJPEG{Width: 450, Height: 450, Components: 3, Progressive: true}.Bytes()), ""},
		{"PNG", testimage.PNGWithMetadata(ch.PNG()), ""},
		{"JPEG with trailing white space", append(testimage.JPEGWithMetadata(ch.JPEG(90)), "\r\n\x00"...), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := imaging.Normalize(c.data, imaging.GridAuto, imaging.DefaultLimits)
			if err != nil || !n.Passthrough {
				t.Fatalf("%v; want it forwarded", err)
			}
			for _, secret := range []string{testimage.MetadataGPS, testimage.MetadataComment, "Exif", "ICC_PROFILE", "iCCP", "tIME", "pHYs"} {
				if bytes.Contains(n.Image, []byte(secret)) {
					t.Errorf("the forwarded picture still holds %q", secret)
				}
			}
			if imaging.HasMetadata(n.Format, n.Image) {
				t.Error("the forwarded picture still has a segment or chunk to strip")
			}
			if c.keep != "" && !bytes.Contains(n.Image, []byte(c.keep)) {
				t.Errorf("the %s marker was dropped", c.keep)
			}
			if len(n.Image) >= len(c.data) {
				t.Errorf("forwarded %d bytes of %d", len(n.Image), len(c.data))
			}
			before, _, err1 := image.Decode(bytes.NewReader(c.data))
			after, _, err2 := image.Decode(bytes.NewReader(n.Image))
			if err1 != nil || err2 != nil {
				t.Fatalf("decode: %v, %v", err1, err2)
			}
			if !samePixels(before, after) {
				t.Error("the forwarded picture's pixels differ from the caller's")
			}
			again, err := imaging.Normalize(n.Image, imaging.GridAuto, imaging.DefaultLimits)
			if err != nil || !bytes.Equal(again.Image, n.Image) {
				t.Errorf("forwarding it again: %v, changed: %v", err, err == nil && !bytes.Equal(again.Image, n.Image))
			}
		})
	}
	// Nothing to strip: the caller's bytes themselves, not a copy.
	plain := ch.PNG()
	if n, err := imaging.Normalize(plain, imaging.GridAuto, imaging.DefaultLimits); err != nil || &n.Image[0] != &plain[0] {
		t.Errorf("a PNG without metadata: %v, copied: %v", err, err == nil)
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// A picture at a provider's size passes the checks a decoded one does before it is forwarded:
// its scans, the work of its scans, its markers and its chunks.
func TestForwardedPictureIsChecked(t *testing.T) {
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{4}}
	png := ch.PNG()
	badCRC := bytes.Clone(png)
	badCRC[bytes.Index(badCRC, []byte("IDAT"))+8] ^= 0xFF // a byte of the data: the CRC no longer holds
	noData := append(append([]byte{}, png[:33]...), png[len(png)-12:]...)
	for _, c := range []struct {
		name   string
		data   []byte
		status int
		code   apierr.Code
		want   string
	}{
		{"300x300 progressive JPEG with 70000 scans", testimage.FlatJPEG{Width: 300, Height: 300, Components: 1, Progressive: true, ExtraScans: 70000}.Bytes(), 413, apierr.CodeTooComplex, "70002 scans"},
		{"450x450 progressive JPEG with 65 scans", testimage.FlatJPEG{Width: 450, Height: 450, Components: 3, Progressive: true, ExtraScans: 61}.Bytes(), 413, apierr.CodeTooComplex, "65 scans"},
		{"JPEG segment of length 0", testimage.JPEGShortSegment(0), 400, apierr.CodeInvalidImage, "segment length 0"},
		{"JPEG segment of length 1", testimage.JPEGShortSegment(1), 400, apierr.CodeInvalidImage, "segment length 1"},
		{"JPEG with two frame headers", twoFrames(ch.JPEG(90)), 400, apierr.CodeInvalidImage, "second frame"},
		{"JPEG with an unknown marker", unknownMarker(ch.JPEG(90)), 400, apierr.CodeInvalidImage, "unknown marker"},
		{"PNG whose image data fails its checksum", badCRC, 400, apierr.CodeInvalidImage, "IDAT checksum"},
		{"PNG without image data", noData, 400, apierr.CodeInvalidImage, "no image data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := normalizeNoPanic(t, c.name, c.data, imaging.GridAuto, imaging.DefaultLimits)
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status() != c.status || e.Code != c.code {
				t.Fatalf("%v, want %d %s", err, c.status, c.code)
			}
			if !strings.Contains(e.Message, c.want) {
				t.Errorf("%q does not say %q", e.Message, c.want)
			}
		})
	}
}

// twoFrames repeats a JPEG's frame header before its end marker.
func twoFrames(jpeg []byte) []byte {
	i := bytes.Index(jpeg, []byte{0xFF, 0xC0})
	n := 2 + (int(jpeg[i+2])<<8 | int(jpeg[i+3]))
	return beforeEnd(jpeg, jpeg[i:i+n])
}

// unknownMarker puts an empty segment of marker 0xC8 (reserved) before a JPEG's end marker.
func unknownMarker(jpeg []byte) []byte { return beforeEnd(jpeg, []byte{0xFF, 0xC8, 0, 2}) }

func beforeEnd(jpeg, seg []byte) []byte {
	end := len(jpeg) - 2
	return append(append(append([]byte{}, jpeg[:end]...), seg...), jpeg[end:]...)
}

// jfif puts a JFIF header after a JPEG's start marker.
func jfif(jpeg []byte) []byte {
	app0 := []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	return append(append(append([]byte{}, jpeg[:2]...), app0...), jpeg[2:]...)
}
