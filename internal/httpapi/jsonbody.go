package httpapi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
)

// imageSpan finds the top-level "image" field's string value in a JSON body, so the request's
// one large value is never run through encoding/json's byte-at-a-time scanner: the caller parses
// the body without it (everything else, and the body's validity, is still encoding/json's) and
// reads the base64 straight from the span. ok is false whenever the shortcut might read the body
// differently from encoding/json (escapes, a non-ASCII or repeated key, an image that is not a
// plain string); the caller then parses the whole body the ordinary way.
func imageSpan(body []byte) (start, end int, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return 0, 0, false
	}
	found := false
	for i = skipSpace(body, i+1); i < len(body) && body[i] != '}'; {
		ks, ke, next, plain := scanString(body, i)
		// Keys must be plain ASCII: encoding/json folds some non-ASCII letters onto ASCII ones.
		if ke < 0 || !plain || !plainASCII(body[ks:ke]) {
			return 0, 0, false
		}
		key := body[ks:ke]
		if i = skipSpace(body, next); i >= len(body) || body[i] != ':' {
			return 0, 0, false
		}
		i = skipSpace(body, i+1)
		if strings.EqualFold(string(key), "image") { // encoding/json matches names this way
			if found {
				return 0, 0, false // encoding/json keeps the last; keep it simple
			}
			vs, ve, after, plain := scanString(body, i)
			if ve < 0 || !plain || !plainASCII(body[vs:ve]) {
				return 0, 0, false
			}
			start, end, found, i = vs, ve, true, after
		} else if i = skipValue(body, i); i < 0 {
			return 0, 0, false
		}
		if i = skipSpace(body, i); i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return start, end, found
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString reads the string starting at b[i] == '"': its content is b[start:end] and next is
// just past the closing quote. end is -1 when there is no string there; plain is false when the
// content holds an escape.
func scanString(b []byte, i int) (start, end, next int, plain bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, -1, 0, false
	}
	start, plain = i+1, true
	for j := start; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			break
		}
		if bytes.IndexByte(b[j:j+k], '\\') < 0 { // the common case: no escapes before the quote
			return start, j + k, j + k + 1, plain
		}
		plain = false
		for ; j < len(b) && b[j] != '"'; j++ {
			if b[j] == '\\' {
				j++ // the escaped byte
			}
		}
		if j < len(b) {
			return start, j, j + 1, false
		}
	}
	return 0, -1, 0, false
}

// skipValue returns the index just past the value at b[i], or -1. It only needs to find the
// end: the value's validity is checked by encoding/json afterwards.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, end, next, _ := scanString(b, i)
		if end < 0 {
			return -1
		}
		return next
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				_, end, next, _ := scanString(b, i)
				if end < 0 {
					return -1
				}
				i = next
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}

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

// plainASCII reports whether s is printable ASCII, which stands in a JSON string unescaped and
// unchanged (encoding/json would replace invalid UTF-8; base64 is ASCII anyway). It looks at
// eight bytes at a time: a byte below 0x20 sets its high bit in (x - 0x20…) &^ x, and a byte
// from 0x80 up has its own high bit set.
func plainASCII(s []byte) bool {
	const lows, highs = 0x2020202020202020, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if ((x-lows)&^x|x)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}
