// Package question resolves what a caller asks for ("/m/0k4j", "cars", "Select all images with
// <strong>cars</strong>", "汽车") to one of the upstream's label ids. The label table is the
// embedded labels.json, so a new label or language is a data change.
package question

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"recognizer/internal/apierr"
)

// MaxBytes bounds the question text: a widget sentence with its HTML is far shorter.
const MaxBytes = 2048

//go:embed labels.json
var labelsJSON []byte

// Label is one entry of the upstream's label table.
type Label struct {
	ID string `json:"id"`
	// Names are the label's names by language code; Names["en"][0] is the display name.
	Names map[string][]string `json:"names"`
}

// Name is the label's English display name.
func (l Label) Name() string {
	if en := l.Names["en"]; len(en) > 0 {
		return en[0]
	}
	return l.ID
}

// Table resolves questions against a fixed set of labels. It is immutable and safe for
// concurrent use.
type Table struct {
	labels  []Label
	byID    map[string]int
	aliases []alias
	list    string // "id (name), ..." for error messages
}

type alias struct {
	label int
	// words is set for names in scripts that separate words with spaces (matched word by word,
	// singular or plural); text is set for the others (matched as a substring). A match inside a
	// longer match is ignored, so "school bus" never becomes bus.
	words [][]string
	text  string
}

// Default is the table built from the embedded labels.json.
var Default = mustLoad(labelsJSON)

func mustLoad(data []byte) *Table {
	t, err := Load(data)
	if err != nil {
		panic("question: embedded labels.json: " + err.Error())
	}
	return t
}

// Load builds a Table from a labels.json document.
func Load(data []byte) (*Table, error) {
	var doc struct {
		Labels []Label `json:"labels"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	t := &Table{labels: doc.Labels, byID: map[string]int{}}
	var list []string
	for i, l := range doc.Labels {
		if !strings.HasPrefix(l.ID, "/m/") {
			return nil, fmt.Errorf("label %q: id must start with /m/", l.ID)
		}
		if _, dup := t.byID[l.ID]; dup {
			return nil, fmt.Errorf("label %q listed twice", l.ID)
		}
		t.byID[l.ID] = i
		list = append(list, fmt.Sprintf("%s (%s)", l.ID, l.Name()))
		langs := make([]string, 0, len(l.Names))
		for lang := range l.Names {
			langs = append(langs, lang)
		}
		sort.Strings(langs)
		for _, lang := range langs {
			for _, name := range l.Names[lang] {
				n := normalize(name)
				if n == "" {
					return nil, fmt.Errorf("label %q: empty name", l.ID)
				}
				a := alias{label: i}
				if isSpaced(n) {
					for _, w := range strings.Fields(n) {
						a.words = append(a.words, wordForms(w))
					}
				} else {
					a.text = strings.Join(strings.Fields(n), "")
				}
				t.aliases = append(t.aliases, a)
			}
		}
	}
	t.list = strings.Join(list, ", ")
	return t, nil
}

// Labels returns the table's labels in table order.
func (t *Table) Labels() []Label { return append([]Label(nil), t.labels...) }

// Lookup returns the label with the given id.
func (t *Table) Lookup(id string) (Label, bool) {
	i, ok := t.byID[id]
	if !ok {
		return Label{}, false
	}
	return t.labels[i], true
}

// Resolve maps a question in any accepted form to its label. The error is an *apierr.Error that
// says what was wrong and lists the supported labels.
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
			"question is required; supported: %s", t.list)
	}
	if i, ok := t.byID[strings.ToLower(trimmed)]; ok {
		return t.labels[i], nil
	}
	n := normalize(q)
	words := strings.FieldsFunc(n, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	compact := strings.Join(strings.Fields(n), "")

	var found []match
	for _, a := range t.aliases {
		found = a.appendMatches(found, words, compact)
	}
	labels := outermost(found)
	switch len(labels) {
	case 0:
		return Label{}, apierr.New(apierr.CodeUnsupportedQuestion,
			"question %q names no supported label; supported: %s", clip(trimmed), t.list)
	case 1:
		return t.labels[labels[0]], nil
	default:
		return Label{}, apierr.New(apierr.CodeUnsupportedQuestion,
			"question %q names more than one label; send one label id, one of: %s", clip(trimmed), t.list)
	}
}

// match is where one alias occurs: a word range for spaced names, a byte range of the compacted
// text for the others.
type match struct {
	label      int
	spaced     bool
	start, end int
}

// outermost drops matches that lie inside a longer one ("bus" inside "school buses", "汽车" inside
// "公共汽车") and returns the distinct labels left, so only a question naming two things is
// ambiguous.
func outermost(ms []match) []int {
	var labels []int
	for i, m := range ms {
		inside := false
		for j, o := range ms {
			if i != j && o.spaced == m.spaced && o.start <= m.start && m.end <= o.end && o.end-o.start > m.end-m.start {
				inside = true
				break
			}
		}
		if !inside && !slices.Contains(labels, m.label) {
			labels = append(labels, m.label)
		}
	}
	return labels
}

func (a alias) appendMatches(ms []match, words []string, compact string) []match {
	if a.words == nil {
		for off := 0; ; {
			i := strings.Index(compact[off:], a.text)
			if i < 0 {
				return ms
			}
			ms = append(ms, match{label: a.label, start: off + i, end: off + i + len(a.text)})
			off += i + len(a.text)
		}
	}
	for i := 0; i+len(a.words) <= len(words); i++ {
		ok := true
		for j, forms := range a.words {
			if !anyForm(words[i+j], forms) {
				ok = false
				break
			}
		}
		if ok {
			ms = append(ms, match{label: a.label, spaced: true, start: i, end: i + len(a.words)})
		}
	}
	return ms
}

// anyForm reports whether word, singular or plural, is one of forms.
func anyForm(word string, forms []string) bool {
	for _, w := range wordForms(word) {
		for _, f := range forms {
			if w == f {
				return true
			}
		}
	}
	return false
}

// wordForms returns a word with the singular forms English plural rules could give it, so that
// "buses", "bus", "taxis", "chimneys" and "staircases" meet their other number. Only the rules
// that cannot turn one common word into another are applied ("cares" does not become "car").
func wordForms(w string) []string {
	forms := []string{w}
	if utf8.RuneCountInString(w) <= 3 {
		return forms
	}
	switch {
	case strings.HasSuffix(w, "ies"):
		forms = append(forms, strings.TrimSuffix(w, "ies")+"y")
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "shes"), strings.HasSuffix(w, "ches"),
		strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "zes"), strings.HasSuffix(w, "uses"):
		forms = append(forms, w[:len(w)-2], w[:len(w)-1])
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		forms = append(forms, w[:len(w)-1])
	}
	return forms
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// normalize drops HTML markup and entities, case, and punctuation-adjacent spacing differences.
func normalize(s string) string {
	if strings.Contains(s, "<") {
		s = htmlTag.ReplaceAllString(s, " ")
	}
	if strings.Contains(s, "&") { // html builds its table of 2,000 entities on first use
		s = html.UnescapeString(s)
	}
	s = strings.ToLower(s)
	return strings.Join(strings.Fields(s), " ")
}

// isSpaced reports whether a name is written in a script that separates words with spaces.
func isSpaced(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) && !unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic) {
			return false
		}
	}
	return true
}

func clip(s string) string {
	const max = 80
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}
