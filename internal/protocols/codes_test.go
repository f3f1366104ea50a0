package protocols

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// Every code of the service maps to one code of each protocol, and docs/protocols.md shows the
// same table, row for row.
func TestCodesComplete(t *testing.T) {
	for _, c := range apierr.Codes() {
		m, ok := codes[c]
		if !ok || m.task == "" || m.legacy == "" {
			t.Errorf("%s has no code in the protocols' table", c)
		}
	}
	if len(codes) != len(apierr.Codes()) {
		t.Errorf("the table has %d rows for %d codes", len(codes), len(apierr.Codes()))
	}
	doc, err := os.ReadFile("../../docs/protocols.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| `(ERROR_[A-Z_]+)` \\| `(ERROR_[A-Z_]+)` \\|").FindAllStringSubmatch(string(doc), -1)
	documented := map[apierr.Code]bool{}
	for _, r := range rows {
		code := apierr.Code(r[1])
		m, ok := codes[code]
		switch {
		case !ok:
			t.Errorf("docs/protocols.md maps %s, which the table does not have", code)
		case m.task != r[2] || m.legacy != r[3]:
			t.Errorf("docs/protocols.md maps %s to %s, %s; the code maps it to %s, %s", code, r[2], r[3], m.task, m.legacy)
		}
		documented[code] = true
	}
	for c := range codes {
		if !documented[c] {
			t.Errorf("docs/protocols.md does not map %s", c)
		}
	}
	for _, f := range []failure{errNoSuchTask, errTaskNotSupported, errURLRefused, errPictureQuestion} {
		if !regexp.MustCompile("(?m)^\\| " + f.code + " \\| `" + f.task + "` \\| `" + f.legacy + "` \\|").Match(doc) {
			t.Errorf("docs/protocols.md does not show the protocol-only failure %s (%s, %s)", f.code, f.task, f.legacy)
		}
	}
}

// An error whose native message tells the caller what to send is worded in the protocols' own
// terms: the grid by their parameters, never the native grid field or an S3 reference, which a
// protocol's caller cannot send.
func TestProtocolsWordTheirOwnHints(t *testing.T) {
	f := newFixture(t)
	ambiguous := b64(testimage.Challenge{Grid: 3, Tile: 200, Label: cars}.PNG()) // 600x600: 3x3 or 4x4
	body := jsonOf(t, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "GridTask", "comment": "cars", "body": ambiguous}})
	_, task := f.send(t, wire.Request{Method: "POST", Path: CreateTaskPath, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)})
	q := url.Values{"key": {aliceKey}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"cars"}, "body": {ambiguous}, "json": {"1"}}
	_, legacy := f.legacy(t, "POST", InPath, q, "", nil)
	tooLarge := `{"clientKey":"` + aliceKey + `","task":{"body":"` + strings.Repeat("A", 6<<20) + `"}}`
	_, big := f.send(t, wire.Request{Method: "POST", Path: CreateTaskPath, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tooLarge)})
	for _, c := range []struct {
		name, text, want string
	}{
		{"createTask, grid", fmt.Sprint(task["errorDescription"]), "metadata.Grid, or rows and columns"},
		{"in.php, grid", fmt.Sprint(legacy["error_text"]), "recaptcharows and recaptchacols"},
		{"createTask, too large", fmt.Sprint(big["errorDescription"]), "over the limit"},
	} {
		if !strings.Contains(c.text, c.want) || strings.Contains(c.text, "send grid as") || strings.Contains(c.text, "S3 reference") {
			t.Errorf("%s: %q, want it to say %q in the protocols' terms", c.name, c.text, c.want)
		}
	}
}
