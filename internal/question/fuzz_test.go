package question

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// FuzzResolve: any text, in any script, either resolves to a label of the table (and that label's
// own id and names resolve back to it) or is refused with a 400 whose message stays short and
// valid UTF-8.
func FuzzResolve(f *testing.F) {
	// Every name of every language, alone and in its language's first widget sentence.
	for _, lang := range Default.Languages() {
		for _, l := range Default.Labels() {
			f.Add(l.ID)
			for _, n := range l.Names[lang.Code] {
				f.Add(n)
				f.Add(fmt.Sprintf(lang.Frames[0], n))
			}
		}
	}
	for _, s := range []string{"", " ", "school bus", "cars and buses", "请选择包含公共汽车的所有图片", "\xff\xfe", "<b>&amp;</b>", strings.Repeat("a ", 1100),
		"신호등이", "trafik ışıklarını", "İ", "ß", "\u095e", "<strong", "&#x", strings.Repeat("自転車", 200),
		"Fahrra\u0308der", "Ｃａｒｓ", "ﬁre hydrant", "รถประจำทาง", "</strong><span>bus"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		l, err := Default.Resolve(q)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status() != http.StatusBadRequest || e.Code != apierr.CodeUnsupportedQuestion {
				t.Fatalf("Resolve(%q): %v, want a 400 unsupported_question", q, err)
			}
			if !utf8.ValidString(e.Message) || len(e.Message) > 4096 {
				t.Fatalf("Resolve(%q): message of %d bytes, valid UTF-8 %v", q, len(e.Message), utf8.ValidString(e.Message))
			}
			return
		}
		if got, ok := Default.Lookup(l.ID); !ok || got.ID != l.ID {
			t.Fatalf("Resolve(%q) = %q, not a label of the table", q, l.ID)
		}
		if back, err := Default.Resolve(l.ID); err != nil || back.ID != l.ID {
			t.Fatalf("Resolve(%q) = %q, but that id resolves to %q, %v", q, l.ID, back.ID, err)
		}
	})
}
