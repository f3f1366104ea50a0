package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/formscan"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// MaxKeyLength bounds a key: a UUID is 36 characters.
const MaxKeyLength = 255

// ParseKey reads the header's values: one key of 1 to MaxKeyLength
// characters, either an RFC 8941 string as the draft writes it ("8e03978e-...", quoted, with \"
// and \\ escapes) or the same characters bare, as most clients send them; both forms of a value
// are one key. A key holds no comma: API Gateway joins a header sent twice into one value with
// a comma, so a comma is read as the header sent twice, whatever the front. Anything else is
// refused with invalid_idempotency_key, saying why.
func ParseKey(values []string) (string, error) {
	if len(values) != 1 {
		return "", badKey("was sent %d times; send it once", len(values))
	}
	if strings.Contains(values[0], ",") {
		return "", badKey("holds a comma, as a header sent twice does once joined; send it once, without a comma")
	}
	v := strings.TrimSpace(values[0])
	key := v
	if strings.HasPrefix(v, `"`) {
		var b strings.Builder
		closed := false
		for i := 1; i < len(v) && !closed; i++ {
			switch c := v[i]; {
			case c == '"':
				if i != len(v)-1 {
					return "", badKey("has characters after its closing quote")
				}
				closed = true
			case c == '\\':
				if i++; i == len(v) || (v[i] != '"' && v[i] != '\\') {
					return "", badKey(`has a backslash that escapes neither \" nor \\`)
				}
				b.WriteByte(v[i])
			case c < 0x20 || c > 0x7e:
				return "", badKey("has a character that is not visible ASCII at byte %d", i+1)
			default:
				b.WriteByte(c)
			}
		}
		if !closed {
			return "", badKey("opens a quote it does not close")
		}
		key = b.String()
	} else {
		for i := 0; i < len(v); i++ {
			if v[i] <= 0x20 || v[i] > 0x7e {
				return "", badKey("has a character that is not visible ASCII at byte %d", i+1)
			}
		}
	}
	switch {
	case key == "":
		return "", badKey("is empty")
	case len(key) > MaxKeyLength:
		return "", badKey("is %d characters long; the limit is %d", len(key), MaxKeyLength)
	}
	return key, nil
}

func badKey(format string, args ...any) error {
	e := apierr.New(apierr.CodeInvalidIdempotencyKey, "Idempotency-Key "+format, args...)
	e.Message += ": send one key of 1 to 255 visible ASCII characters, such as a UUID"
	return e
}

// Fingerprint identifies a request for its key: the method, the route, the query (in any order,
// and whether it parsed) and the body as its content type means it. A multipart form counts by its parts (name, file
// name, type, content), not its boundary, which a client draws anew for each retry; any other
// body counts byte for byte. Headers other than Content-Type do not count: the caller (the
// Authorization) scopes the key instead.
func Fingerprint(req wire.Request) string {
	h := sha256.New()
	field(h, []byte(req.Method))
	field(h, []byte(strings.TrimSuffix(req.Path, "/")))
	field(h, []byte(req.Query.Encode()))
	if req.QueryError != nil {
		// Query lacks the pairs that did not parse: without this the request would replay the
		// answer of the one without them, which the route would never have given it. No content
		// type field starts with a NUL.
		field(h, []byte("\x00query does not parse: "+req.QueryError.Error()))
	}
	ct := req.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		field(h, []byte("unparsed:"+ct))
		field(h, req.Body)
		return hex.EncodeToString(h.Sum(nil))
	}
	boundary := params["boundary"]
	delete(params, "boundary")
	field(h, []byte(mime.FormatMediaType(mt, params)))
	if mt != "multipart/form-data" || boundary == "" || !parts(h, req.Body, boundary) {
		field(h, req.Body)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// parts writes a multipart body's parts to h, or false when it is not one (what it wrote stays:
// the same bytes always write the same).
func parts(h hash.Hash, body []byte, boundary string) bool {
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	field(h, []byte("multipart"))
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			// A form cut inside a part's headers ends like a whole one, without that part: it
			// counts by its bytes, not as the form it was cut from.
			return formscan.Closed(body, boundary)
		}
		if err != nil {
			return false
		}
		content := sha256.New()
		if _, err := io.Copy(content, p); err != nil {
			return false
		}
		field(h, []byte(p.FormName()))
		field(h, []byte(p.FileName()))
		field(h, []byte(p.Header.Get("Content-Type")))
		field(h, content.Sum(nil))
	}
}

// field writes b length-first, so no two different sequences of fields hash alike.
func field(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}
