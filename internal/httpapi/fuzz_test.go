package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

const fuzzMaxImage = 64 << 10

// FuzzParseCall: whatever the content type, query and body, parse either returns what was asked with
// an image (within the limit) or an S3 reference, or refuses with a 4xx in the error shape.
func FuzzParseCall(f *testing.F) {
	multipart := "--b\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\ncars\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\ndata:image/png;base64,iVBORw0K\r\n--b--\r\n"
	for _, s := range []struct{ ct, query, body string }{
		{"application/json", "", `{"image":"iVBORw0KGgo=","question":"cars","grid":"3x3","store":false}`},
		{"", "question=bus", ` {"image":"data:image/jpeg;base64,/9j/4AAQ","grid":4}`},
		{"application/json; charset=utf-8", "", `{"s3":"s3://bucket/in/x.png","question":"/m/0k4j"}`},
		{"application/problem+json", "", `{"s3":{"bucket":"b","key":"k"},"image":"AA"}`},
		{"multipart/form-data; boundary=b", "", multipart},
		{"multipart/form-data; boundary=\"b\"", "store=true", "--b--\r\n"},
		{"image/png", "question=cars&grid=3x3&store=1", "\x89PNG\r\n\x1a\n"},
		{"application/octet-stream", "store=maybe", "x"},
		{"text/plain", "", "hello"},
		{"", "", ""},
		{"image/png; q=\"", "", "x"},
		{"application/json", "", `{"image":[[[[[[[[[[]]]]]]]]]]}`},
		{"application/json", "", `{"image":"-_-_\r\nAA E"}`},
		{"application/json", "", `{"s3":{"bucket":"b","key":"in/x\u0000.png"},"question":"cars"}`},
		{"application/json", "", `{"s3":"s3://b/in/x\n.png","question":"cars"}`},
	} {
		f.Add(s.ct, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType, query string, body []byte) {
		q, queryErr := url.ParseQuery(query) // as both transports read a query
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		c, err := parse(wire.Request{Header: h, Query: q, QueryError: queryErr, Body: body}, fuzzMaxImage)
		if queryErr != nil && apierr.As(err).Code != apierr.CodeInvalidRequest {
			t.Fatalf("a query that does not parse answered %v", err)
		}
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status() < 400 || e.Status() > 499 || e.Code == "" {
				t.Fatalf("error %v is not a 4xx in the error shape", err)
			}
			if !utf8.ValidString(e.Message) || len(e.Message) > 1024 {
				t.Fatalf("message %q: not short, valid UTF-8", e.Message)
			}
			return
		}
		if (c.image == nil) == (c.s3 == nil) {
			t.Fatalf("want exactly one of image and s3: %+v", c)
		}
		if c.image != nil && (len(c.image) == 0 || c.form != "binary" && len(c.image) > fuzzMaxImage) {
			t.Fatalf("image of %d bytes from the %s form", len(c.image), c.form)
		}
		if c.s3 != nil && (c.s3.Bucket == "" || c.s3.Key == "" || strings.ContainsAny(c.s3.Bucket, "/ ") || strings.ContainsAny(c.s3.Key, "\x00\r\n")) {
			t.Fatalf("s3 reference %+v", c.s3)
		}
	})
}

// FuzzJSONBody: the shortcut that keeps the image out of encoding/json's scan reads every body
// exactly as encoding/json does: both refuse it, or both find the same fields.
func FuzzJSONBody(f *testing.F) {
	for _, s := range []string{
		`{"image":"iVBORw0KGgo=","question":"cars"}`,
		` { "question" : "bus" , "IMAGE" : "AAAA" , "grid" : 4 } `,
		`{"image":"AA\nAA"}`, `{"image":"AA\\nAA"}`, `{"im\u0061ge":"AAAA"}`, `{"image":"a","image":"b"}`,
		`{"s3":{"bucket":"b","key":"k\"}"},"image":"AAAA","store":true}`, `{"grid":[1,{"x":"]"}],"image":"AAAA"}`,
		`{"image":"AAAA"} {}`, `{"image":"AAAA",}`, `{"image":null}`, `{"image":5}`, `{"ımage":"AAAA"}`, `{"\u017fx":"y","image":"AAAA"}`,
		`{"image":"AAAA"`, `{"question":"x" "image":"AAAA"}`, `[{"image":"AAAA"}]`, `{"image":"\xff\xfe"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, slow requestDoc
		errFast, errSlow := unmarshalRequest(body, &fast), json.Unmarshal(body, &slow)
		if (errFast == nil) != (errSlow == nil) {
			t.Fatalf("%q: shortcut %v, encoding/json %v", body, errFast, errSlow)
		}
		if errFast != nil {
			return
		}
		str := func(p *string) string {
			if p == nil {
				return "<nil>"
			}
			return *p
		}
		if str(fast.Image) != str(slow.Image) || str(fast.Question) != str(slow.Question) ||
			!bytes.Equal(fast.Grid, slow.Grid) || !bytes.Equal(fast.S3, slow.S3) || (fast.Store == nil) != (slow.Store == nil) ||
			fast.Store != nil && *fast.Store != *slow.Store {
			t.Fatalf("%q: shortcut %+v, encoding/json %+v", body, fast, slow)
		}
	})
}
