package protocols

import (
	"os"
	"regexp"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
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
