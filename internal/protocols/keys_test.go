package protocols

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// A key sent only where the protocol does not read it is refused with a message that names
// the protocol's own field, never the native API's header.
func TestMissingKeyNamesTheProtocolsField(t *testing.T) {
	f := newFixture(t)
	task := `{"task":{"type":"GridTask","body":"` + b64(tilePicture) + `","comment":"cars"}}`
	for _, c := range []struct {
		name      string
		req       wire.Request
		json      bool
		want, not []string
	}{
		{"createTask, key as a bearer", wire.Request{Method: "POST", Path: CreateTaskPath, Header: http.Header{"Authorization": {"Bearer " + aliceKey}}, Body: []byte(task)}, true,
			[]string{`"errorCode":"ERROR_KEY_DOES_NOT_EXIST"`, `clientKey is required`, `not from the authorization header`}, []string{"Bearer"}},
		{"createTask, key in the query", wire.Request{Method: "POST", Path: CreateTaskPath, Query: url.Values{"key": {aliceKey}}, Body: []byte(task)}, true,
			[]string{`"errorCode":"ERROR_KEY_DOES_NOT_EXIST"`, `clientKey is required`, `not from the query`}, []string{"Bearer", "authorization"}},
		{"createTask, no key at all", wire.Request{Method: "POST", Path: GetBalancePath, Body: []byte(`{}`)}, true,
			[]string{`"errorCode":"ERROR_KEY_DOES_NOT_EXIST"`, `clientKey is required`}, []string{"Bearer", "not from"}},
		{"res.php, key as a bearer", wire.Request{Method: "GET", Path: ResPath, Header: http.Header{"Authorization": {"Bearer " + aliceKey}}, Query: url.Values{"action": {"getbalance"}, "json": {"1"}}}, true,
			[]string{`"request":"ERROR_KEY_DOES_NOT_EXIST"`, `key is required: send key=`, `not from the authorization header`}, []string{"Bearer"}},
		{"in.php, no key", wire.Request{Method: "POST", Path: InPath, Query: url.Values{"json": {"1"}}}, true,
			[]string{`"request":"ERROR_KEY_DOES_NOT_EXIST"`, `key is required: send key=`}, []string{"Bearer", "not from"}},
		{"in.php, no key, plain", wire.Request{Method: "POST", Path: InPath}, false, []string{"ERROR_KEY_DOES_NOT_EXIST"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := f.send(t, c.req)
			body := string(resp.Body)
			if !c.json && body != c.want[0] {
				t.Fatalf("%q", body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s: no %q", body, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(body, n) {
					t.Errorf("%s: says %q", body, n)
				}
			}
		})
	}
}
