package formscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
)

// Object reads the members of the JSON object body, in order, without copying the body:
// members are counted and each value's size is checked against limit as the scan reaches it,
// and a body with more than max members is refused at the first one over, before any value is
// decoded. A member whose value is null, an object or a list is returned as Other, without its
// value. The body must be exactly one JSON object, as encoding/json reads it; string values are
// decoded as encoding/json decodes them.
func Object(body []byte, max int, limit Limit) ([]Field, error) {
	type span struct{ name, value []byte }
	var spans []span
	err := EachMember(body, func(name, value []byte, _ int) error {
		if len(spans) == max {
			return &TooManyError{Max: max}
		}
		spans = append(spans, span{name, value})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The scan above only finds where things end; encoding/json judges the whole body (without
	// allocating: its scanner's depth is bounded).
	if !json.Valid(body) {
		return nil, ErrSyntax
	}
	fields := make([]Field, 0, len(spans))
	for _, s := range spans {
		name, err := jsonString(s.name)
		if err != nil {
			return nil, ErrSyntax
		}
		f := Field{Name: name}
		switch s.value[0] {
		case '"':
			if l := limit(name, false); len(s.value)-2 > l {
				return nil, &TooLargeError{Name: name, Limit: l}
			}
			if f.Value, err = jsonString(s.value); err != nil {
				return nil, ErrSyntax
			}
		case 't', 'f':
			f.Kind, f.Value = Bool, string(s.value)
		case '{', '[', 'n':
			f.Kind = Other
		default:
			if l := limit(name, false); len(s.value) > l {
				return nil, &TooLargeError{Name: name, Limit: l}
			}
			f.Kind, f.Value = Number, string(s.value)
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// EachMember calls each with the members of the JSON object body, in order: the raw bytes of
// the member's name (quoted, as it stands) and of its value, and where the value starts in body.
// It stops at the first error each returns, and returns it. It only finds where each member
// ends, allocating nothing; ErrSyntax means the body is not an object as far as that tells, and
// encoding/json judges the rest.
func EachMember(body []byte, each func(name, value []byte, at int) error) error {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return ErrSyntax
	}
	for i = skipSpace(body, i+1); i < len(body) && body[i] != '}'; {
		ks, ke, next := scanString(body, i)
		if ke < 0 {
			return ErrSyntax
		}
		if i = skipSpace(body, next); i >= len(body) || body[i] != ':' {
			return ErrSyntax
		}
		vs := skipSpace(body, i+1)
		ve := skipValue(body, vs)
		if ve < 0 {
			return ErrSyntax
		}
		if err := each(body[ks-1:ke+1], body[vs:ve], vs); err != nil {
			return err
		}
		if i = skipSpace(body, ve); i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return nil
}

// jsonString decodes the quoted JSON string q: the bytes as they are when they need no decoding
// (one copy), else encoding/json's reading (at most two).
func jsonString(q []byte) (string, error) {
	inner := q[1 : len(q)-1]
	if bytes.IndexByte(inner, '\\') < 0 && PlainASCII(inner) {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString reads the string starting at b[i] == '"': its content is b[start:end] and next is
// just past the closing quote. end is -1 when there is no string there.
func scanString(b []byte, i int) (start, end, next int) {
	if i >= len(b) || b[i] != '"' {
		return 0, -1, 0
	}
	start = i + 1
	for j := start; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			break
		}
		if bytes.IndexByte(b[j:j+k], '\\') < 0 { // the common case: no escapes before the quote
			return start, j + k, j + k + 1
		}
		for ; j < len(b) && b[j] != '"'; j++ {
			if b[j] == '\\' {
				j++ // the escaped byte
			}
		}
		if j < len(b) {
			return start, j, j + 1
		}
	}
	return 0, -1, 0
}

// skipValue returns the index just past the value at b[i], or -1. It only finds the end: the
// value's validity is checked by encoding/json.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, end, next := scanString(b, i)
		if end < 0 {
			return -1
		}
		return next
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				_, end, next := scanString(b, i)
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
	j := i
	for ; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if j == i {
				return -1
			}
			return j
		}
	}
	if j == i {
		return -1
	}
	return j
}

// PlainASCII reports whether s is printable ASCII, which stands in a JSON string unescaped and
// unchanged (encoding/json would replace invalid UTF-8). It looks at eight bytes at a time: a
// byte below 0x20 sets its high bit in (x - 0x20…) &^ x, and a byte from 0x80 up has its own
// high bit set.
func PlainASCII(s []byte) bool {
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

// FirstOfList reads the JSON list raw only as far as needed: its first element (raw bytes, a
// subslice) and how many elements it has, counting no further than most. ok is false when raw
// is not a list. The elements' validity is left to encoding/json.
func FirstOfList(raw []byte, most int) (first []byte, count int, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, 0, false
	}
	for i = skipSpace(raw, i+1); i < len(raw) && raw[i] != ']' && count < most; {
		end := skipValue(raw, i)
		if end < 0 {
			return nil, 0, false
		}
		if count == 0 {
			first = raw[i:end]
		}
		count++
		if i = skipSpace(raw, end); i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return first, count, true
}
