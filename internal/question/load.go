package question

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

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
	if len(t.keys) > 1<<16 {
		return nil, fmt.Errorf("%d names, at most %d", len(t.keys), 1<<16)
	}
	permute(t.keys, sortedOrder(t.keys))
	if err := b.mergeKeys(); err != nil {
		return nil, err
	}
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

// sortedOrder returns the indexes of keys in the order of their text. It sorts integers rather
// than keys: each packs a key's first 6 bytes above its index, so the sort moves no pointers and
// compares no strings; runs that share 6 bytes are then sorted by their full text. (A sort of the
// keys themselves takes a fifth of the start-up budget.) There are at most 1<<16 keys.
func sortedOrder(keys []key) []int32 {
	packed := make([]uint64, len(keys))
	for i, k := range keys {
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
				return strings.Compare(keys[uint16(a)].text, keys[uint16(b)].text)
			})
		}
		i = j
	}
	order := make([]int32, len(packed))
	for i, p := range packed {
		order[i] = int32(uint16(p))
	}
	return order
}

// permute puts keys in order, in place, following each cycle of the permutation; order is used
// up.
func permute(keys []key, order []int32) {
	for i := range order {
		if order[i] < 0 {
			continue
		}
		k, j := keys[i], i
		for {
			next := int(order[j])
			order[j] = -1
			if next == i {
				keys[j] = k
				break
			}
			keys[j] = keys[next]
			j = next
		}
	}
}

// mergeKeys leaves one key per text in the sorted keys: the languages that share a name merge,
// and two labels for one text is an error naming both files.
func (b *builder) mergeKeys() error {
	t := b.t
	out := t.keys[:0]
	for _, k := range t.keys {
		if n := len(out); n > 0 && out[n-1].text == k.text {
			if a := out[n-1]; a.label != k.label {
				if firstLang(k.langs) < firstLang(a.langs) {
					a, k = k, a
				}
				return fmt.Errorf("%q is %s in %s.txt and %s in %s.txt", k.text, b.labelName(int(a.label)),
					t.langs[firstLang(a.langs)].Code, b.labelName(int(k.label)), t.langs[firstLang(k.langs)].Code)
			}
			out[n-1].langs |= k.langs
			continue
		}
		out = append(out, k)
	}
	t.keys = out
	return nil
}
