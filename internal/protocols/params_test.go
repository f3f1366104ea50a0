package protocols

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// A parameter given twice in one place, in any spelling, is refused the same way every time:
// no spelling is chosen over another, by map order or otherwise.
func TestAmbiguousParametersRefusedEveryTime(t *testing.T) {
	f := newFixture(t)
	pic := b64(tilePicture)
	for _, c := range []struct {
		name, path, contentType, body string
		query                         url.Values
	}{
		{"key and KEY in JSON", InPath, "application/json", `{"key":"` + aliceKey + `","KEY":"wrong-key-0000000000","method":"base64","recaptcha":1,"textinstructions":"cars","body":"` + pic + `"}`, nil},
		{"key and Key in a form", InPath, "application/x-www-form-urlencoded", "Key=wrong-key-0000000000&key=" + aliceKey + "&recaptcha=1&textinstructions=cars&body=" + url.QueryEscape(pic), nil},
		{"key twice in a form", InPath, "application/x-www-form-urlencoded", "key=" + aliceKey + "&key=wrong-key-0000000000&recaptcha=1&textinstructions=cars&body=" + url.QueryEscape(pic), nil},
		{"action and ACTION in the query", ResPath, "", "", url.Values{"key": {aliceKey}, "action": {"getbalance"}, "ACTION": {"get"}, "id": {"1"}}},
		{"id and ID in JSON", ResPath, "application/json", `{"key":"` + aliceKey + `","action":"get","id":"1","ID":"2"}`, nil},
		{"key and KEY in multipart", InPath, "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n" + aliceKey + "\r\n--x\r\nContent-Disposition: form-data; name=\"KEY\"\r\n\r\nwrong\r\n--x--\r\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for range 40 {
				resp, _ := f.legacy(t, "POST", c.path, c.query, c.contentType, []byte(c.body))
				if string(resp.Body) != "ERROR_BAD_PARAMETERS" {
					t.Fatalf("%q, want ERROR_BAD_PARAMETERS every time", resp.Body)
				}
			}
			_, doc := f.legacy(t, "POST", c.path, url.Values{"json": {"1"}}, c.contentType, []byte(c.body))
			if c.query == nil && !strings.Contains(doc["error_text"].(string), "is given twice") {
				t.Fatalf("%v", doc)
			}
		})
	}
	// The same name in the query and in the body is not ambiguous: the body wins.
	resp, _ := f.legacy(t, "POST", ResPath, url.Values{"key": {"wrong-key-0000000000"}, "action": {"get"}}, "application/json", []byte(`{"key":"`+aliceKey+`","action":"getbalance"}`))
	if string(resp.Body) != "100" {
		t.Fatalf("%q, want the body's key and action", resp.Body)
	}
}

// A query of more parameters than any method has is refused before it is read.
func TestQueryParameterCount(t *testing.T) {
	f := newFixture(t)
	q := url.Values{"key": {aliceKey}, "action": {"getbalance"}}
	for i := 0; len(q) < maxParams; i++ {
		q.Set("p"+strconv.Itoa(i), "1")
	}
	if resp, _ := f.legacy(t, "GET", ResPath, q, "", nil); string(resp.Body) != "100" {
		t.Fatalf("%d parameters: %q", len(q), resp.Body)
	}
	q.Set("one-more", "1")
	if resp, _ := f.legacy(t, "GET", ResPath, q, "", nil); string(resp.Body) != "ERROR_BAD_PARAMETERS" {
		t.Fatalf("%d parameters: %q", len(q), resp.Body)
	}
}

// A form carries one picture: two file parts, under any names, are refused.
func TestOneFilePerForm(t *testing.T) {
	f := newFixture(t)
	file := func(name string) string {
		return "--x\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"c.png\"\r\nContent-Type: image/png\r\n\r\n" + string(tilePicture) + "\r\n"
	}
	body := "--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n" + aliceKey + "\r\n--x\r\nContent-Disposition: form-data; name=\"textinstructions\"\r\n\r\ncars\r\n" +
		"--x\r\nContent-Disposition: form-data; name=\"recaptcha\"\r\n\r\n1\r\n" + file("file")
	resp, _ := f.legacy(t, "POST", InPath, nil, "multipart/form-data; boundary=x", []byte(body+"--x--\r\n"))
	if !strings.HasPrefix(string(resp.Body), "OK|") {
		t.Fatalf("one file: %q", resp.Body)
	}
	resp, _ = f.legacy(t, "POST", InPath, nil, "multipart/form-data; boundary=x", []byte(body+file("image")+"--x--\r\n"))
	if string(resp.Body) != "ERROR_BAD_PARAMETERS" {
		t.Fatalf("two files: %q", resp.Body)
	}
}

// A query string that did not parse is refused: its parameters are not read without the pair
// that failed (a recaptcharows or an id dropped would change the task).
func TestQueryThatDoesNotParseIsRefused(t *testing.T) {
	f := newFixture(t)
	query, err := url.ParseQuery("key=" + aliceKey + "&action=getbalance&json=1&recaptcharows=4%zz")
	resp, doc := f.send(t, wire.Request{Method: "GET", Path: ResPath, Query: query, QueryError: err, Header: http.Header{}})
	if err == nil || resp.Status != 200 || doc["request"] != "ERROR_BAD_PARAMETERS" || !strings.Contains(doc["error_text"].(string), "query string does not parse") {
		t.Fatalf("%d %s, want ERROR_BAD_PARAMETERS naming the query", resp.Status, resp.Body)
	}
}
