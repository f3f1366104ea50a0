//go:build e2e

package contracttest

import (
	"net/http"
	"strings"
	"testing"
)

func jsonHeader(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

const goodSolution = `{"size":300,"label":"/m/0k4j","confidences":[1,0,0,0,1,0,0,0,1],"objects":[0,4,8],"type":"multi","grid":"3x3","clicks":[{"index":0,"x":50,"y":50},{"index":4,"x":150,"y":150},{"index":8,"x":250,"y":250}]}`

// The validator must tell right answers from wrong ones: a check that passes everything is no
// check. Each wrong answer breaks one rule of the document.
func TestCheckTellsRightFromWrong(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, status int, h http.Header, body string) Answer {
		return Answer{Method: "POST", Path: path, ContentType: "application/json", Status: status, Header: h, Body: []byte(body)}
	}
	errBody := func(code string) string {
		return `{"success":false,"error":{"code":"` + code + `","message":"something"},"trace_id":"t-1"}`
	}
	right := map[string]Answer{
		"answer":                  post("/recognize", 200, jsonHeader(), `{"solution":`+goodSolution+`,"trace_id":"t-1"}`),
		"answer at upstream path": post("/captcha/recognition/recaptcha2", 200, jsonHeader(), `{"solution":`+goodSolution+`,"trace_id":"t-1"}`),
		"stored answer":           post("/recognize", 200, jsonHeader(), `{"solution":`+goodSolution+`,"trace_id":"t-1","result":"s3://b/stored/t-1.json"}`),
		"extra upstream field":    post("/recognize", 200, jsonHeader(), `{"solution":`+strings.Replace(goodSolution, `"size"`, `"engine":"x","size"`, 1)+`,"trace_id":"t-1"}`),
		"400 invalid_image":       post("/recognize", 400, jsonHeader(), errBody("invalid_image")),
		"401 with challenge":      post("/recognize", 401, jsonHeader("WWW-Authenticate", "Bearer"), errBody("invalid_token")),
		"429 with retry-after":    post("/recognize", 429, jsonHeader("Retry-After", "9"), errBody("too_many_requests")),
		"504 token":               post("/recognize", 504, jsonHeader(), errBody("token_unavailable")),
		"unknown route":           post("/solve", 404, jsonHeader(), errBody("not_found")),
		"wrong method":            {Method: "GET", Path: "/recognize", Status: 405, Header: jsonHeader("Allow", "POST"), Body: []byte(errBody("method_not_allowed"))},
		"the document":            {Method: "GET", Path: "/openapi.json", Status: 200, Header: jsonHeader(), Body: []byte(`{"openapi":"3.1.0","paths":{}}`)},
	}
	for name, a := range right {
		if err := c.Check(a); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	wrong := map[string]Answer{
		"code under another status":   post("/recognize", 400, jsonHeader(), errBody("upstream_error")),
		"unknown code":                post("/recognize", 502, jsonHeader(), errBody("api_error")),
		"undeclared status":           post("/recognize", 418, jsonHeader(), errBody("invalid_request")),
		"success true":                post("/recognize", 400, jsonHeader(), strings.Replace(errBody("invalid_image"), "false", "true", 1)),
		"empty message":               post("/recognize", 400, jsonHeader(), strings.Replace(errBody("invalid_image"), "something", "", 1)),
		"no trace id":                 post("/recognize", 200, jsonHeader(), `{"solution":`+goodSolution+`}`),
		"no clicks":                   post("/recognize", 200, jsonHeader(), `{"solution":`+strings.Replace(goodSolution, `"clicks"`, `"klicks"`, 1)+`,"trace_id":"t"}`),
		"bad grid":                    post("/recognize", 200, jsonHeader(), `{"solution":`+strings.Replace(goodSolution, `"3x3"`, `"5x5"`, 1)+`,"trace_id":"t"}`),
		"confidence over 1":           post("/recognize", 200, jsonHeader(), `{"solution":`+strings.Replace(goodSolution, `[1,0,0`, `[7,0,0`, 1)+`,"trace_id":"t"}`),
		"extra top-level field":       post("/recognize", 200, jsonHeader(), `{"solution":`+goodSolution+`,"trace_id":"t","debug":1}`),
		"text body":                   post("/recognize", 500, http.Header{"Content-Type": {"text/plain"}}, "Internal Server Error"),
		"401 without challenge":       post("/recognize", 401, jsonHeader(), errBody("invalid_token")),
		"405 without allow":           {Method: "GET", Path: "/recognize", Status: 405, Header: jsonHeader(), Body: []byte(errBody("method_not_allowed"))},
		"POST on a local page as 405": post("/openapi.json", 405, jsonHeader("Allow", "POST"), errBody("method_not_allowed")),
		"unknown route as 400":        post("/solve", 400, jsonHeader(), errBody("invalid_request")),
		"unknown route, wrong code":   post("/solve", 404, jsonHeader(), errBody("s3_forbidden")),
	}
	for name, a := range wrong {
		if err := c.Check(a); err == nil {
			t.Errorf("%s: passed", name)
		}
	}
}

func TestCheckSchemaS3Result(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	src := `"source":{"bucket":"b","key":"incoming/cars/x.jpg","etag":"e"},"timing":{"total_ms":3.2}`
	for _, ok := range []string{
		`{"solution":` + goodSolution + `,"trace_id":"t",` + src + `}`,
		`{"success":false,"error":{"code":"invalid_image","message":"m"},"trace_id":"t",` + src + `}`,
	} {
		if err := c.CheckSchema("S3Result", []byte(ok)); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []string{
		`{"trace_id":"t",` + src + `}`, // neither
		`{"solution":` + goodSolution + `,"success":false,"error":{"code":"invalid_image","message":"m"},"trace_id":"t",` + src + `}`, // both
		`{"success":false,"error":{"code":"nope","message":"m"},"trace_id":"t",` + src + `}`,
		`{"solution":` + goodSolution + `,"trace_id":"t","source":{"bucket":"b"},"timing":{"total_ms":1}}`,
	} {
		if err := c.CheckSchema("S3Result", []byte(bad)); err == nil {
			t.Errorf("passed: %s", bad)
		}
	}
}
