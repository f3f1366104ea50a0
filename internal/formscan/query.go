package formscan

import (
	"bytes"
	"strings"
)

// Query reads a url-encoded form (a=1&b=2) in order, as url.ParseQuery reads it, without copying
// the body: a form with more than max fields is refused at the first one over, and a value over
// limit before it is unescaped. Empty pieces (a&&b) are not fields.
func Query(body []byte, max int, limit Limit) ([]Field, error) {
	var fields []Field
	for rest := body; len(rest) > 0; {
		var piece []byte
		piece, rest, _ = bytes.Cut(rest, []byte("&"))
		if len(piece) == 0 {
			continue
		}
		if bytes.IndexByte(piece, ';') >= 0 { // url.ParseQuery refuses these too
			return nil, ErrSyntax
		}
		if len(fields) == max {
			return nil, &TooManyError{Max: max}
		}
		rawName, rawValue, _ := bytes.Cut(piece, []byte("="))
		name, ok := unescape(rawName)
		if !ok {
			return nil, ErrSyntax
		}
		if l := limit(name, false); len(rawValue) > l {
			return nil, &TooLargeError{Name: name, Limit: l}
		}
		value, ok := unescape(rawValue)
		if !ok {
			return nil, ErrSyntax
		}
		fields = append(fields, Field{Name: name, Value: value})
	}
	return fields, nil
}

// unescape is url.QueryUnescape on bytes, in one copy: %XX is the byte, + a space.
func unescape(s []byte) (string, bool) {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		return string(s), true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// List calls each for every item of the comma-separated list s, in order, after checking that
// s has at most max items (by counting its commas, before reading any): a longer list is a
// TooManyError and each is never called.
func List(s string, max int, each func(item string)) error {
	if strings.Count(s, ",") >= max {
		return &TooManyError{Max: max}
	}
	for {
		item, rest, more := strings.Cut(s, ",")
		each(item)
		if !more {
			return nil
		}
		s = rest
	}
}
