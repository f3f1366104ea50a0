package httpapi

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

func TestParseCallForms(t *testing.T) {
	q := url.Values{"question": {"cars"}, "grid": {"3x3"}, "store": {"1"}}
	c, err := parse(wire.Request{Header: http.Header{"Content-Type": {"image/webp"}}, Query: q, Body: []byte("RIFF")}, 1<<20)
	if err != nil || c.form != "binary" || c.question != "cars" || c.grid != "3x3" || !c.store || string(c.image) != "RIFF" {
		t.Fatalf("binary: %+v, %v", c, err)
	}
	// Body fields win over the query; no content type with a JSON body is JSON.
	c, err = parse(wire.Request{Header: http.Header{}, Query: q, Body: []byte(` {"image":"AAEC","question":"bus","grid":"4x4","store":false}`)}, 1<<20)
	if err != nil || c.form != "json" || c.question != "bus" || c.grid != "4x4" || c.store {
		t.Fatalf("json: %+v, %v", c, err)
	}
	c, err = parse(wire.Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"s3":{"bucket":"b","key":"k/ü x.png"},"question":"bus"}`)}, 1<<20)
	if err != nil || c.s3 == nil || c.s3.String() != "s3://b/k/ü x.png" {
		t.Fatalf("s3: %+v, %v", c, err)
	}
	for name, body := range map[string]string{
		"two values":  `{"image":"AAEC"} {"image":"AAEC"}`,
		"array":       `[1,2]`,
		"bad s3":      `{"s3":"s3://bucket-only","question":"bus"}`,
		"s3 no key":   `{"s3":{"bucket":"b"},"question":"bus"}`,
		"grid object": `{"image":"AAEC","grid":{"x":1}}`,
	} {
		c, err := parse(wire.Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}, 1<<20)
		if name == "grid object" {
			// An odd grid reaches ParseGrid, which rejects it with the list of grids.
			if err != nil || c.grid == "" {
				t.Errorf("%s: %+v, %v", name, c, err)
			}
			continue
		}
		if e := apierr.As(err); err == nil || e.Status() != 400 {
			t.Errorf("%s: %v, want a 400", name, err)
		}
	}
}

func TestMultipartLimits(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("--x\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\ncars\r\n")
	for i := 0; i < maxParts+1; i++ {
		b.WriteString("--x\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\nj\r\n")
	}
	b.WriteString("--x--\r\n")
	_, err := parse(wire.Request{Header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, Body: b.Bytes()}, 1<<20)
	if e := apierr.As(err); e.Status() != 400 {
		t.Fatalf("%d parts: %v, want 400", maxParts+2, err)
	}
	_, err = parse(wire.Request{Header: http.Header{"Content-Type": {"multipart/form-data"}}, Body: []byte("x")}, 1<<20)
	if e := apierr.As(err); e.Status() != 400 {
		t.Fatalf("no boundary: %v", err)
	}
}

// A file part named "file", the name most upload forms and clients use, is the image; two image
// parts are refused rather than one silently chosen.
func TestMultipartFilePart(t *testing.T) {
	form := func(parts ...string) wire.Request {
		var b bytes.Buffer
		b.WriteString("--x\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\ncars\r\n")
		for _, name := range parts {
			b.WriteString("--x\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"c.png\"\r\nContent-Type: image/png\r\n\r\n")
			b.Write(bytes.Repeat([]byte{0x89}, 5000)) // over the 4 KB limit of a plain field
			b.WriteString("\r\n")
		}
		b.WriteString("--x--\r\n")
		return wire.Request{Header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, Body: b.Bytes()}
	}
	c, err := parse(form("file"), 1<<20)
	if err != nil || len(c.image) != 5000 || c.question != "cars" {
		t.Fatalf("a part named file: %d bytes of image, %v", len(c.image), err)
	}
	for _, parts := range [][]string{{"file", "image"}, {"image", "image"}} {
		if _, err := parse(form(parts...), 1<<20); apierr.As(err).Status() != 400 {
			t.Errorf("parts %v: %v, want 400", parts, err)
		}
	}
}

// A JSON body names one picture: both image and s3 is a 400, never an answer for one of them.
// An S3 reference has the key form s3scope.CheckKey allows, in either spelling.
func TestJSONBodyReferencesOnePicture(t *testing.T) {
	for body, code := range map[string]apierr.Code{
		`{"image":"AAEC","s3":"s3://b/k.png","question":"bus"}`:               apierr.CodeInvalidRequest,
		`{"s3":{"bucket":"b","key":"k.png"},"image":"AAEC","question":"bus"}`: apierr.CodeInvalidRequest,
		`{"s3":"s3://b/in/../secret.png","question":"bus"}`:                   apierr.CodeInvalidS3Reference,
		`{"s3":{"bucket":"b","key":"in//x.png"},"question":"bus"}`:            apierr.CodeInvalidS3Reference,
		`{"s3":{"bucket":"b","key":"/x.png"},"question":"bus"}`:               apierr.CodeInvalidS3Reference,
		`{"s3":{"bucket":"b","key":"in/./x.png"},"question":"bus"}`:           apierr.CodeInvalidS3Reference,
	} {
		c, err := parse(wire.Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}, 1<<20)
		if e := apierr.As(err); err == nil || e.Code != code || e.Status() != 400 {
			t.Errorf("%s: %+v, %v; want 400 %s", body, c, err, code)
		}
	}
}

// An empty picture is refused as the picture's fault, in every form that can carry one, before
// anything reads the question or the grid.
func TestEmptyImageRefusedFirst(t *testing.T) {
	for ctype, body := range map[string]string{
		"application/json": `{"image":"","question":"no such label"}`,
		"image/png":        "",
		"multipart/form-data; boundary=b": "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n" +
			"Content-Type: image/png\r\n\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\ncars\r\n--b--\r\n",
	} {
		_, err := parse(wire.Request{Header: http.Header{"Content-Type": {ctype}}, Body: []byte(body)}, 1<<20)
		if e := apierr.As(err); err == nil || e.Code != apierr.CodeInvalidImage || e.Message != "image is empty" {
			t.Errorf("%s: %v; want invalid_image: image is empty", ctype, err)
		}
	}
}

// A query string that did not parse is refused, not read without the pair that failed: the
// request would be served without the caller's threshold, grid or store.
func TestQueryThatDoesNotParseIsRefused(t *testing.T) {
	q, qerr := url.ParseQuery("question=cars&min_confidence=0.99%zz")
	_, err := parse(wire.Request{Header: http.Header{"Content-Type": {"image/png"}}, Query: q, QueryError: qerr, Body: []byte("x")}, 1<<20)
	if e := apierr.As(err); qerr == nil || err == nil || e.Code != apierr.CodeInvalidRequest || !strings.Contains(e.Message, "query string does not parse") {
		t.Fatalf("%v, want 400 invalid_request naming the query", err)
	}
}

// A parameter given twice in the query or in a form is refused: the query's first and a form's
// last value were chosen, so one request read two ways depending on its form.
func TestParameterGivenTwiceIsRefused(t *testing.T) {
	for _, name := range fieldNames {
		q := url.Values{name: {"1", "0"}}
		_, err := parse(wire.Request{Header: http.Header{"Content-Type": {"image/png"}}, Query: q, Body: []byte("x")}, 1<<20)
		if e := apierr.As(err); err == nil || e.Code != apierr.CodeInvalidRequest || !strings.Contains(e.Message, name+" is given 2 times") {
			t.Errorf("query %v: %v, want 400 invalid_request", q, err)
		}
		var b bytes.Buffer
		b.WriteString("--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"c.png\"\r\n\r\nPNG\r\n")
		for _, v := range []string{"1", "0"} {
			b.WriteString("--x\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + v + "\r\n")
		}
		b.WriteString("--x--\r\n")
		_, err = parse(wire.Request{Header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, Body: b.Bytes()}, 1<<20)
		if e := apierr.As(err); err == nil || e.Code != apierr.CodeInvalidRequest || !strings.Contains(e.Message, "is given twice") {
			t.Errorf("form with %s twice: %v, want 400 invalid_request", name, err)
		}
	}
	// Once in the query and once in the body is not ambiguous: the body wins.
	c, err := parse(wire.Request{Header: http.Header{"Content-Type": {"application/json"}}, Query: url.Values{"question": {"bus"}},
		Body: []byte(`{"image":"AAEC","question":"cars"}`)}, 1<<20)
	if err != nil || c.question != "cars" {
		t.Fatalf("%+v, %v", c, err)
	}
}

// A form cut short inside a part's headers is refused, not read without the parts cut off: the
// grid the caller sent would be inferred instead.
func TestMultipartCutShortIsRefused(t *testing.T) {
	form := "--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"c.png\"\r\n\r\nPNG\r\n" +
		"--x\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\ncars\r\n" +
		"--x\r\nContent-Disposition: form-data; name=\"grid\"\r\n\r\n4x4\r\n--x--\r\n"
	req := func(body string) wire.Request {
		return wire.Request{Header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, Body: []byte(body)}
	}
	if c, err := parse(req(form), 1<<20); err != nil || c.grid != "4x4" {
		t.Fatalf("the whole form: %+v, %v", c, err)
	}
	for _, cut := range []string{"name=\"grid\"\r\n\r\n4x4\r\n--x--\r\n", "\"grid\"\r\n\r\n4x4\r\n--x--\r\n", "--\r\n"} {
		_, err := parse(req(strings.TrimSuffix(form, cut)), 1<<20)
		if e := apierr.As(err); err == nil || e.Code != apierr.CodeInvalidRequest || !strings.Contains(e.Message, "does not parse") {
			t.Errorf("cut before %q: %v, want 400 invalid_request", cut, err)
		}
	}
}
