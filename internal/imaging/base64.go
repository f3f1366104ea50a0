package imaging

import (
	"encoding/base64"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// DecodeImageString reads a picture sent as text, the one decoder of every front: base64
// (standard or URL alphabet, padded or not, with line breaks) or a data URL carrying base64.
// A string that would decode to over maxImageBytes is refused before it is decoded.
func DecodeImageString(s string, maxImageBytes int) (img []byte, dataURL bool, err error) {
	// A data URL's scheme and its ";base64" are case-insensitive (RFC 3986 §3.1, RFC 2397's ABNF).
	if len(s) >= len("data:") && strings.EqualFold(s[:len("data:")], "data:") {
		meta, payload, found := strings.Cut(s[len("data:"):], ",")
		if !found || len(meta) < len(";base64") || !strings.EqualFold(meta[len(meta)-len(";base64"):], ";base64") {
			return nil, true, apierr.New(apierr.CodeInvalidImage, "a data URL image must be base64: data:image/png;base64,...")
		}
		s, dataURL = payload, true
	}
	if base64.StdEncoding.DecodedLen(len(s)) > maxImageBytes+3 {
		return nil, dataURL, apierr.New(apierr.CodeTooLarge,
			"image is over %d bytes", maxImageBytes).WithHint("send larger images by S3 reference")
	}
	// The usual string is standard base64 with nothing to clean up: decode it as it is, and look
	// for line breaks or the URL-safe alphabet only when that fails.
	img, err = base64.StdEncoding.DecodeString(s)
	if err == nil {
		return img, dataURL, nil
	}
	clean := s
	if strings.ContainsAny(s, " \t\r\n-_") { // line breaks, spaces or the URL-safe alphabet
		clean = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			case '-':
				return '+'
			case '_':
				return '/'
			}
			return r
		}, s)
	}
	img, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "="))
	if err != nil {
		return nil, dataURL, apierr.New(apierr.CodeInvalidImage, "image is not valid base64")
	}
	return img, dataURL, nil
}
