package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/formscan"
)

// imageSpan finds the top-level "image" field's string value in a JSON body, so the request's
// one large value is never run through encoding/json's byte-at-a-time scanner: the caller parses
// the body without it (everything else, and the body's validity, is still encoding/json's) and
// reads the base64 straight from the span. ok is false whenever the shortcut might read the body
// differently from encoding/json (escapes, a non-ASCII or repeated key, an image that is not a
// plain string); the caller then parses the whole body the ordinary way.
func imageSpan(body []byte) (start, end int, ok bool) {
	found := false
	err := formscan.EachMember(body, func(name, value []byte, at int) error {
		// Keys must be plain ASCII: encoding/json folds some non-ASCII letters onto ASCII ones.
		key := name[1 : len(name)-1]
		if bytes.IndexByte(key, '\\') >= 0 || !formscan.PlainASCII(key) {
			return errNotPlain
		}
		if !strings.EqualFold(string(key), "image") { // encoding/json matches names this way
			return nil
		}
		if found {
			return errNotPlain // encoding/json keeps the last; keep it simple
		}
		if value[0] != '"' {
			return errNotPlain
		}
		s := value[1 : len(value)-1]
		if bytes.IndexByte(s, '\\') >= 0 || !formscan.PlainASCII(s) {
			return errNotPlain
		}
		start, end, found = at+1, at+len(value)-1, true
		return nil
	})
	return start, end, err == nil && found
}

// errNotPlain stops imageSpan's scan: the body is one the shortcut leaves to encoding/json.
var errNotPlain = errors.New("not a plain body")

// unmarshalRequest is json.Unmarshal(body, doc) with the image string, when imageSpan finds
// it, left out of encoding/json's scan and set from the body's bytes directly.
func unmarshalRequest(body []byte, doc *requestDoc) error {
	start, end, ok := imageSpan(body)
	if !ok {
		return json.Unmarshal(body, doc)
	}
	rest := make([]byte, 0, len(body)-(end-start))
	rest = append(append(rest, body[:start]...), body[end:]...)
	if err := json.Unmarshal(rest, doc); err != nil {
		return err
	}
	image := string(body[start:end])
	doc.Image = &image
	return nil
}
