package imaging

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

const maxFuzzedImage = 64 << 10

func TestDecodeImageString(t *testing.T) {
	want := []byte{0xfb, 0xff, 0xbf, 0x00, 0x01}
	for _, in := range []string{
		"+/+/AAE=",                       // standard
		"+/+/AAE",                        // no padding
		"-_-_AAE=",                       // URL alphabet
		"+/+/\r\nAA E=",                  // line breaks and spaces
		"data:image/png;base64,+/+/AAE=", // data URL
		"DATA:image/png;BASE64,+/+/AAE=", // its scheme and ;base64 in any case
		"Data:IMAGE/PNG;Base64,+/+/AAE=",
	} {
		got, _, err := DecodeImageString(in, 1<<20)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("DecodeImageString(%q) = %x, %v", in, got, err)
		}
	}
	for in, code := range map[string]apierr.Code{
		"+/+/A===":                             apierr.CodeInvalidImage,
		"not*base64":                           apierr.CodeInvalidImage,
		"data:image/png,rawdata":               apierr.CodeInvalidImage,
		"data:image/png;base64":                apierr.CodeInvalidImage,
		"data:;base6,+/+/AAE=":                 apierr.CodeInvalidImage,
		string(bytes.Repeat([]byte("A"), 200)): apierr.CodeTooLarge,
	} {
		if _, _, err := DecodeImageString(in, 100); apierr.As(err).Code != code {
			t.Errorf("DecodeImageString(%.20q): %v, want %s", in, err, code)
		}
	}
}

// FuzzImageString: any bytes, written in every form a caller may use, read back exactly.
func FuzzImageString(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"), 0)
	f.Add([]byte{0xfb, 0xff, 0xbf, 0x00, 0x01}, 3)
	f.Add([]byte{}, 1)
	f.Fuzz(func(t *testing.T, data []byte, wrap int) {
		if len(data) == 0 || len(data) > maxFuzzedImage {
			return
		}
		std := base64.StdEncoding.EncodeToString(data)
		forms := []string{
			std,
			base64.RawStdEncoding.EncodeToString(data),
			base64.URLEncoding.EncodeToString(data),
			base64.RawURLEncoding.EncodeToString(data),
			"data:image/png;base64," + std,
			"DATA:image/png;BASE64," + std,
		}
		if n := 1 + (wrap&0xff)%76; n < len(std) { // MIME-style line breaks and stray spaces
			var b strings.Builder
			for i := 0; i < len(std); i += n {
				b.WriteString(std[i:min(i+n, len(std))])
				b.WriteString("\r\n ")
			}
			forms = append(forms, b.String())
		}
		for _, s := range forms {
			got, _, err := DecodeImageString(s, maxFuzzedImage)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("DecodeImageString(%.40q) = %d bytes, %v; want the %d bytes back", s, len(got), err, len(data))
			}
		}
	})
}
