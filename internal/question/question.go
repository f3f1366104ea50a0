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
	"encoding/binary"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

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

// Default is the table built from the embedded language files.
var Default = mustLoad()

func mustLoad() *Table {
	sub, err := fs.Sub(langFiles, "lang")
	if err == nil {
		var t *Table
		if t, err = Load(sub); err == nil {
			return t
		}
	}
	panic("question: embedded language files: " + err.Error())
}

// Load builds a Table from a directory of language files, <code>.txt each. en.txt is read first
// and defines the labels and their order; the other files may only name those labels.
//
// A file is lines of "directive: value"; blank lines and lines starting with # are ignored:
//
//	language: German (Deutsch)
//	frame: Wählen Sie alle Bilder mit <strong>%s</strong> aus.
//	suffix: 이 가 을 를
//	/m/015qff: Ampeln | Ampel
//	not: Bushaltestellen
func Load(fsys fs.FS) (*Table, error) {
	files, err := fs.Glob(fsys, "*.txt")
	if err != nil {
		return nil, err
	}
	i := slices.Index(files, "en.txt")
	if i < 0 {
		return nil, fmt.Errorf("en.txt is missing: it defines the labels")
	}
	files = append(append([]string{"en.txt"}, files[:i]...), files[i+1:]...)
	if len(files) > maxLanguages {
		return nil, fmt.Errorf("%d languages, at most %d", len(files), maxLanguages)
	}
	// Read every file first, to size the tables once: the start-up budget is 1 ms and 300 KB.
	texts := make([]string, len(files))
	names := 0
	for i, name := range files {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		// The names are slices of the file, never copied: data is not written to again.
		texts[i] = unsafe.String(unsafe.SliceData(data), len(data))
		names += strings.Count(texts[i], "|") + strings.Count(texts[i], "\n") + 1
	}
	b := builder{
		t:     &Table{byID: make(map[string]int, 32), langs: make([]Language, 0, len(files))},
		names: make([]string, 0, names),
	}
	b.t.keys = make([]key, 0, names)
	for i, name := range files {
		if err := b.parse(strings.TrimSuffix(name, ".txt"), texts[i], len(files)); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return b.finish()
}

type builder struct {
	t     *Table
	names []string // backing array of every Label.Names slice
	buf   []byte
}

func (b *builder) parse(code, text string, nLangs int) error {
	t := b.t
	lang := len(t.langs)
	t.langs = append(t.langs, Language{Code: code})
	l := &t.langs[lang]
	var inFile [1024]bool // by label
	for n := 1; text != ""; n++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = trim(line)
		if line == "" || line[0] == '#' {
			continue
		}
		directive, value, ok := strings.Cut(line, ":")
		value = trim(value)
		if !ok || value == "" {
			return fmt.Errorf("line %d: want \"directive: value\"", n)
		}
		if !utf8.ValidString(value) {
			return fmt.Errorf("line %d: not valid UTF-8", n)
		}
		switch {
		case directive == "language":
			l.Name = value
		case directive == "frame":
			if strings.Count(value, "%s") != 1 {
				return fmt.Errorf("line %d: a frame holds %%s once", n)
			}
			l.Frames = append(l.Frames, value)
		case directive == "suffix":
			for _, s := range strings.Fields(value) {
				l.Suffixes = append(l.Suffixes, string(b.normalize(s)))
			}
			t.suffixed |= 1 << lang
		case directive == "not":
			for value != "" {
				var name string
				name, value, _ = strings.Cut(value, "|")
				if err := b.add(trim(name), decoy, lang); err != nil {
					return fmt.Errorf("line %d: %w", n, err)
				}
			}
		case strings.HasPrefix(directive, "/m/"):
			id := directive
			label, known := t.byID[id]
			switch {
			case lang == 0 && known:
				return fmt.Errorf("line %d: label %s listed twice", n, id)
			case lang == 0 && len(t.labels) == len(inFile):
				return fmt.Errorf("line %d: more than %d labels", n, len(inFile))
			case lang == 0:
				label = len(t.labels)
				t.byID[id] = label
				t.labels = append(t.labels, Label{ID: id, Names: make(map[string][]string, nLangs)})
			case !known:
				return fmt.Errorf("line %d: label %s is not in en.txt", n, id)
			case inFile[label]:
				return fmt.Errorf("line %d: label %s listed twice", n, id)
			}
			inFile[label] = true
			first := len(b.names)
			for value != "" {
				var name string
				name, value, _ = strings.Cut(value, "|")
				name = trim(name)
				if err := b.add(name, label, lang); err != nil {
					return fmt.Errorf("line %d: %w", n, err)
				}
				b.names = append(b.names, name)
			}
			t.labels[label].Names[code] = b.names[first:len(b.names):len(b.names)]
		default:
			return fmt.Errorf("line %d: unknown directive %q", n, directive)
		}
	}
	if l.Name == "" {
		return fmt.Errorf("no \"language:\" line")
	}
	return nil
}

func (b *builder) add(name string, label, lang int) error {
	norm := name
	if !isNormal(name) {
		b.buf = normalizeAppend(b.buf[:0], name)
		if len(b.buf) == 0 {
			return fmt.Errorf("empty name %q", name)
		}
		if string(b.buf) != name {
			norm = string(b.buf)
		}
	}
	r, _ := utf8.DecodeRuneInString(norm)
	b.t.keys = append(b.t.keys, key{text: norm, label: int16(label), langs: 1 << lang, cont: classOf(r) == classCont})
	return nil
}

// trim drops ASCII spaces, tabs and carriage returns around s: the only blanks the files use
// between fields, and much cheaper than strings.TrimSpace on names that are not ASCII.
func trim(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func (b *builder) labelName(label int) string {
	if label == decoy {
		return "a decoy (not:)"
	}
	return b.t.labels[label].ID
}

func (b *builder) normalize(s string) []byte { return normalizeAppend(nil, s) }

func firstLang(mask uint32) int {
	for i := 0; i < maxLanguages; i++ {
		if mask&(1<<i) != 0 {
			return i
		}
	}
	return 0
}

func (b *builder) finish() (*Table, error) {
	t := b.t
	if len(t.labels) == 0 {
		return nil, fmt.Errorf("en.txt lists no labels")
	}
	// Sort integers rather than keys: each packs a key's first 6 bytes above its index, so the
	// sort moves no pointers and compares no strings; runs that share 6 bytes are then sorted
	// by their full text. (A sort of the keys themselves took 0.2 ms of the 1 ms budget.)
	if len(t.keys) > 1<<16 {
		return nil, fmt.Errorf("%d names, at most %d", len(t.keys), 1<<16)
	}
	packed := make([]uint64, len(t.keys))
	for i, k := range t.keys {
		var p [8]byte
		copy(p[:6], k.text)
		packed[i] = binary.BigEndian.Uint64(p[:]) | uint64(i)
	}
	slices.Sort(packed)
	for i := 0; i < len(packed); {
		j := i + 1
		for j < len(packed) && packed[j]>>16 == packed[i]>>16 {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(packed[i:j], func(a, b uint64) int {
				return strings.Compare(t.keys[uint16(a)].text, t.keys[uint16(b)].text)
			})
		}
		i = j
	}
	order := make([]int32, len(packed))
	for i, p := range packed {
		order[i] = int32(uint16(p))
	}
	// Put the keys in that order, in place, following each cycle of the permutation.
	for i := range order {
		if order[i] < 0 {
			continue
		}
		k, j := t.keys[i], i
		for {
			next := int(order[j])
			order[j] = -1
			if next == i {
				t.keys[j] = k
				break
			}
			t.keys[j] = t.keys[next]
			j = next
		}
	}
	// One key per text: the languages that share a name merge, two labels for one text fail.
	out := t.keys[:0]
	for _, k := range t.keys {
		if n := len(out); n > 0 && out[n-1].text == k.text {
			if a := out[n-1]; a.label != k.label {
				if firstLang(k.langs) < firstLang(a.langs) {
					a, k = k, a
				}
				return nil, fmt.Errorf("%q is %s in %s.txt and %s in %s.txt", k.text, b.labelName(int(a.label)),
					t.langs[firstLang(a.langs)].Code, b.labelName(int(k.label)), t.langs[firstLang(k.langs)].Code)
			}
			out[n-1].langs |= k.langs
			continue
		}
		out = append(out, k)
	}
	t.keys = out
	for i, c := 0, 0; c <= 256; c++ {
		for i < len(t.keys) && int(t.keys[i].text[0]) < c {
			i++
		}
		t.first[c] = int32(i)
	}
	list := make([]string, len(t.labels))
	for i, l := range t.labels {
		list[i] = fmt.Sprintf("%s (%s)", l.ID, l.Name())
	}
	t.list = strings.Join(list, ", ")
	codes := make([]string, len(t.langs))
	for i, l := range t.langs {
		codes[i] = l.Code
	}
	t.codes = strings.Join(codes, ", ")
	return t, nil
}

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

// match is where a name occurs in the normalized text, as a byte range.
type match struct {
	label      int16
	start, end int32
}

// scan finds every name occurring in the normalized text n, in one pass: from each place a name
// may start (every character of a script written without spaces, the first letter of every word
// of the others) it walks the sorted keys byte by byte, narrowing the range of keys that share
// the text read so far, and records each complete key whose end is allowed there.
func (t *Table) scan(n []byte, ms []match) []match {
	prev := classSep
	for p := 0; p < len(n); {
		r, size := utf8.DecodeRune(n[p:])
		c := classOf(r)
		if c == classCont || (c == classWord && prev != classWord) {
			ms = t.walk(n, p, ms)
		}
		prev = c
		p += size
	}
	return ms
}

func (t *Table) walk(n []byte, p int, ms []match) []match {
	lo, hi := int(t.first[n[p]]), int(t.first[int(n[p])+1])
	for d := 1; lo < hi; d++ {
		// keys[lo:hi] all start with n[p:p+d]; only the shortest can be exactly that.
		if hi-lo == 1 { // one candidate left: compare the rest of it at once
			k := &t.keys[lo]
			if end := p + len(k.text); end <= len(n) && string(n[p+d:end]) == k.text[d:] {
				if end, ok := t.endsAt(n, end, k); ok {
					ms = append(ms, match{label: k.label, start: int32(p), end: int32(end)})
				}
			}
			break
		}
		if k := &t.keys[lo]; len(k.text) == d {
			if end, ok := t.endsAt(n, p+d, k); ok {
				ms = append(ms, match{label: k.label, start: int32(p), end: int32(end)})
			}
			lo++
		}
		if p+d >= len(n) {
			break
		}
		c := n[p+d]
		// Narrow to the keys whose byte d is c: two binary searches over the range.
		i, j := lo, hi
		for i < j {
			h := int(uint(i+j) >> 1)
			if t.keys[h].text[d] < c {
				i = h + 1
			} else {
				j = h
			}
		}
		lo, j = i, hi
		for i < j {
			h := int(uint(i+j) >> 1)
			if t.keys[h].text[d] <= c {
				i = h + 1
			} else {
				j = h
			}
		}
		hi = i
	}
	return ms
}

// endsAt reports whether key k, read from the text up to end, is a whole name there, and where
// its match ends: a name in a spaced script must end its word, or be followed by one of its
// language's suffixes that ends the word.
func (t *Table) endsAt(n []byte, end int, k *key) (int, bool) {
	if k.cont || end == len(n) || n[end] == ' ' {
		return end, true
	}
	r, _ := utf8.DecodeRune(n[end:])
	if classOf(r) != classWord {
		return end, true
	}
	if k.langs&t.suffixed == 0 {
		return 0, false
	}
	we := end
	for we < len(n) {
		r, size := utf8.DecodeRune(n[we:])
		if classOf(r) != classWord {
			break
		}
		we += size
	}
	rest := n[end:we]
	for i := range t.langs {
		if k.langs&t.suffixed&(1<<i) == 0 {
			continue
		}
		for _, s := range t.langs[i].Suffixes {
			if string(rest) == s {
				return we, true
			}
		}
	}
	return 0, false
}

// outermost drops matches that lie inside a longer one ("bus" inside "school buses", 車 inside
// 自転車) and returns the distinct labels left, decoys aside, so that only a question naming two
// things is ambiguous. Sorted by start, longest first, a match lies inside a longer one exactly
// when an earlier match reaches as far and starts before it or ends after it.
func outermost(ms []match) []int {
	slices.SortFunc(ms, func(a, b match) int {
		if a.start != b.start {
			return int(a.start - b.start)
		}
		return int(b.end - a.end)
	})
	var labels []int
	var before int32 = -1 // the farthest end of the matches starting before the current start
	for i := 0; i < len(ms); {
		start, groupEnd := ms[i].start, ms[i].end // groupEnd: the longest match at this start
		for ; i < len(ms) && ms[i].start == start; i++ {
			m := ms[i]
			if m.label == decoy || before >= m.end || groupEnd > m.end || slices.Contains(labels, int(m.label)) {
				continue
			}
			labels = append(labels, int(m.label))
		}
		before = max(before, groupEnd)
	}
	return labels
}
