// Package question resolves what a caller asks for ("/m/0k4j", "cars", "Select all images with
// <strong>cars</strong>", "Wählen Sie alle Bilder mit <strong>Autos</strong> aus.", "汽车") to
// one of the upstream's label ids, in any language of the embedded table.
//
// The table is data: one file per language under lang/ (see docs/languages.md), embedded in the
// binary, so a new name or language is a data change. Every form the widget writes is listed
// there (German dative plural, Russian instrumental, ...); nothing is stemmed at run time.
package question

import (
	"embed"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// MaxBytes bounds the question text: a widget sentence with its HTML is far shorter.
const MaxBytes = 2048

//go:embed lang/*.txt
var langFiles embed.FS

// Label is one entry of the upstream's label table.
type Label struct {
	ID string
	// Names are the label's names by language code ("en", "de", "pt-BR", ...), as the language
	// file lists them; Names["en"][0] is the display name.
	Names map[string][]string
}

// Name is the label's English display name.
func (l Label) Name() string {
	if en := l.Names["en"]; len(en) > 0 {
		return en[0]
	}
	return l.ID
}

// Language is one language of the table.
type Language struct {
	Code string // the file's name: "de", "pt-BR", "zh-TW"
	Name string // "German (Deutsch)"
	// Frames are the widget's sentences for this language, with %s where the name goes. They are
	// documentation and test fixtures: resolving never needs them.
	Frames []string
	// Suffixes may follow a name inside the same word (Korean particles: 신호등이, 신호등을).
	Suffixes []string
}

// Table resolves questions against a fixed set of labels. It is immutable and safe for
// concurrent use.
type Table struct {
	labels []Label
	byID   map[string]int
	langs  []Language
	// keys are every normalized name, sorted, so that the keys sharing a prefix are a range:
	// walking a text byte by byte narrows the range, which is a trie without nodes.
	keys []key
	// first[b]:first[b+1] is the range of keys starting with byte b.
	first    [257]int32
	suffixed uint32 // bit i: langs[i] has suffixes
	list     string // "id (name), ..." for error messages
	codes    string // "en, de, ..." for error messages
}

type key struct {
	text  string
	langs uint32 // bit i: langs[i] lists this name
	label int16  // index into labels; decoy for a name that only masks the names inside it
	cont  bool   // written in a script without spaces: matches anywhere, not only as whole words
}

// decoy marks a "not:" name: a longer word that contains a label's name but is not that label
// (ja 電車, a train, holds 車, a car). It hides the names inside it and counts as nothing.
const decoy = -1

// maxLanguages is the width of key.langs.
const maxLanguages = 32

// Labels returns the table's labels in table order.
func (t *Table) Labels() []Label { return append([]Label(nil), t.labels...) }

// Languages returns the table's languages, English first.
func (t *Table) Languages() []Language { return append([]Language(nil), t.langs...) }

// Lookup returns the label with the given id.
func (t *Table) Lookup(id string) (Label, bool) {
	i, ok := t.byID[id]
	if !ok {
		return Label{}, false
	}
	return t.labels[i], true
}

// Resolve maps a question in any accepted form to its label. The error is an *apierr.Error that
// says what was wrong and lists the supported languages and labels.
func (t *Table) Resolve(q string) (Label, error) {
	if len(q) > MaxBytes {
		return Label{}, apierr.New(apierr.CodeUnsupportedQuestion,
			"question is longer than %d bytes", MaxBytes)
	}
	if !utf8.ValidString(q) {
		return Label{}, apierr.New(apierr.CodeUnsupportedQuestion, "question is not valid UTF-8")
	}
	trimmed := strings.TrimSpace(q)
	if trimmed == "" {
		return Label{}, apierr.New(apierr.CodeUnsupportedQuestion,
			"question is required: a label id, a label's name or the widget's sentence, in one of %s; labels: %s", t.codes, t.list)
	}
	if len(trimmed) <= 16 && strings.HasPrefix(strings.ToLower(trimmed[:min(3, len(trimmed))]), "/m/") {
		if i, ok := t.byID[strings.ToLower(trimmed)]; ok {
			return t.labels[i], nil
		}
	}
	var stack [8]match
	labels := outermost(t.scan(normalizeText(q), stack[:0]))
	switch len(labels) {
	case 0:
		return Label{}, apierr.New(apierr.CodeUnsupportedQuestion,
			"question %q names no supported label in any supported language (%s); send one of the labels: %s", apierr.Clip(trimmed, 80), t.codes, t.list)
	case 1:
		return t.labels[labels[0]], nil
	default:
		named := make([]string, len(labels))
		for i, l := range labels {
			named[i] = fmt.Sprintf("%s (%s)", t.labels[l].ID, t.labels[l].Name())
		}
		return Label{}, apierr.New(apierr.CodeUnsupportedQuestion,
			"question %q names more than one label: %s; send one label id", apierr.Clip(trimmed, 80), strings.Join(named, ", "))
	}
}
