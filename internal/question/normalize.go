package question

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizeText turns a question into the form names are stored in: markup and entities gone,
// then normalizeAppend.
func normalizeText(q string) []byte {
	if strings.Contains(q, "<") {
		q = stripTags(q)
	}
	if strings.Contains(q, "&") { // html builds its table of 2,000 entities on first use
		q = html.UnescapeString(q)
	}
	return normalizeAppend(make([]byte, 0, len(q)+8), q)
}

// compatible is s in Unicode's NFKC form: letters written decomposed ("a" and a combining
// diaeresis, as macOS writes file and folder names, which the S3 path reads as questions) are
// composed, and compatibility forms (fullwidth Ｃａｒｓ, ligatures) become the plain letters the
// table is written in. ASCII is its own NFKC and is not copied.
func compatible(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return norm.NFKC.String(s)
		}
	}
	return s
}

// stripTags replaces each complete <...> with a space; a lone "<" stays text.
func stripTags(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// isNormal reports, cheaply, that normalizeAppend would return s unchanged: most names are
// already lower case, with nothing to fold and single spaces between words, and need no copy. It
// may say false for a normal string (the caller then normalizes it), never true for another.
func isNormal(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	prevSpace := false
	for _, r := range s {
		switch {
		case r == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9',
			0xE0 <= r && r <= 0xFF && r != 0xF7,                                        // Latin-1 lower case
			0x0430 <= r && r <= 0x045F && r != 'ё',                                     // Cyrillic lower case
			0x0621 <= r && r <= 0x063A && r != 'أ' && r != 'إ' && r != 'آ' && r != 'ة', // Arabic letters
			0x0641 <= r && r <= 0x064A && r != 'ى',
			0x0900 <= r && r <= 0x0957, 0x0960 <= r && r <= 0x0963, // Devanagari, no nukta letters
			0xAC00 <= r && r <= 0xD7A3: // Hangul
		case 0x4E00 <= r && r <= 0x9FFF, 0x3041 <= r && r <= 0x3096, 0x30A1 <= r && r <= 0x30FA, r == 0x30FC,
			0x0E01 <= r && r <= 0x0E3A && r != 0x0E33, 0x0E40 <= r && r <= 0x0E4E: // Han, kana, Thai (sara am is not NFKC)
			if prevSpace {
				return false // a space next to them may be dropped
			}
		default:
			return false
		}
		prevSpace = false
	}
	return true
}

// Character classes of the normalized text.
const (
	classSep  = iota // anything but a letter, mark or digit: written as one space
	classWord        // a letter of a script that separates words with spaces
	classCont        // a letter of a script that does not (Han, kana, Thai, ...): no word edges
)

func classOf(r rune) int {
	switch {
	case r < 0x80:
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return classWord
		}
		return classSep
	// Fast paths for the scripts of the table, before the general tables.
	case 0x00C0 <= r && r <= 0x024F && r != 0xD7 && r != 0xF7, // Latin letters with marks
		0x0400 <= r && r <= 0x04FF && r != 0x0482,                               // Cyrillic
		0x0621 <= r && r <= 0x064A,                                              // Arabic letters
		0x0900 <= r && r <= 0x0963,                                              // Devanagari letters and signs, before the danda
		0xAC00 <= r && r <= 0xD7A3,                                              // Hangul syllables
		0x0388 <= r && r <= 0x03CE && r != 0x038B && r != 0x038D && r != 0x03A2: // Greek
		return classWord
	case 0x4E00 <= r && r <= 0x9FFF, // Han: every character a letter
		0x3041 <= r && r <= 0x3096, 0x30A1 <= r && r <= 0x30FA, 0x30FC <= r && r <= 0x30FF, // kana
		0x0E01 <= r && r <= 0x0E3A, 0x0E40 <= r && r <= 0x0E4E, 0x0E50 <= r && r <= 0x0E59: // Thai
		return classCont
	}
	if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsNumber(r) {
		return classSep
	}
	if isCont(r) {
		return classCont
	}
	return classWord
}

// isCont reports whether letter r belongs to a script written without spaces between words: Han,
// kana (with ー), Thai, Lao, Myanmar, Khmer.
func isCont(r rune) bool {
	if 0x3040 <= r && r <= 0x30FF || 0x0E00 <= r && r <= 0x0EFF || r == 0xFF70 {
		return true
	}
	return unicode.In(r, noSpaces...)
}

var noSpaces = []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Myanmar, unicode.Khmer}

// normalizeAppend appends s in the form names are compared in: Unicode NFKC (compatible); lower
// case; a few spellings of the same letter made one (ß ss, ё е, İ ı i, Greek vowels without tonos and final sigma,
// Romanian ș ț as ş ţ, Arabic hamza seats, tā' marbūṭa, alif maqṣūra and the Persian yeh and
// kaf, Devanagari nukta letters decomposed); Arabic vowel marks, tatweel and invisible format
// characters dropped; every run of other characters one space, except between two characters of
// a script written without spaces, where it is dropped ("红绿 灯" is 红绿灯).
func normalizeAppend(dst []byte, s string) []byte {
	s = compatible(s)
	var n normalizer
	n.dst = dst
	for _, r := range s {
		switch {
		case r < 0x80:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			n.emit(r)
		case 0x0430 <= r && r <= 0x045F && r != 'ё', 0xDF < r && r <= 0xFF: // lower-case Cyrillic and Latin-1
			n.emit(r)
		case 0x0410 <= r && r <= 0x042F, 0xC0 <= r && r <= 0xDE && r != 0xD7: // their upper case
			n.emit(r + 0x20)
		case r == 'ß' || r == 'ẞ':
			n.emit('s')
			n.emit('s')
		case r == 'İ' || r == 'ı':
			n.emit('i')
		case r == 'ё' || r == 'Ё':
			n.emit('е')
		case 0x0386 <= r && r <= 0x03CE: // Greek: tonos, dialytika and final sigma dropped
			n.emit(greekBase(unicode.ToLower(r)))
		case r == 'ș' || r == 'Ș': // Romanian comma below, often written with the cedilla
			n.emit('ş')
		case r == 'ț' || r == 'Ț':
			n.emit('ţ')
		case 0x0600 <= r && r <= 0x06FF: // Arabic: no case
			switch {
			case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
				n.emit('ا')
			case r == 'ة':
				n.emit('ه')
			case r == 'ى' || r == 'ی': // alif maqṣūra, Persian yeh
				n.emit('ي')
			case r == 'ک': // Persian kaf
				n.emit('ك')
			case 0x064B <= r && r <= 0x065F, r == 0x0670, r == 0x0640: // vowel marks, tatweel
			case r == 0x061C: // Arabic letter mark
			default:
				n.emit(r)
			}
		case 0x0958 <= r && r <= 0x095F: // क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़: base letter and nukta
			n.emit(nuktaBase[r-0x0958])
			n.emit(0x093C)
		case r == 0x00AD || 0x200B <= r && r <= 0x200F || 0x202A <= r && r <= 0x202E || 0x2060 <= r && r <= 0x206F || r == 0xFEFF:
			// soft hyphen, zero-width (non-)joiners and spaces, direction marks, BOM: invisible
		case 0x0900 <= r && r <= 0x0EFF, 0x3040 <= r && r <= 0x9FFF, 0xAC00 <= r && r <= 0xD7A3:
			n.emit(r) // Indic, Thai, Lao, kana, Han, Hangul: no case to fold

		default:
			n.emit(unicode.ToLower(r))
		}
	}
	return n.dst
}

// normalizer writes letters as they come and turns each run of separators into one space.
type normalizer struct {
	dst     []byte
	prev    int // class of the last letter written, classSep at the start
	pending bool
}

func (n *normalizer) emit(r rune) {
	c := classOf(r)
	if c == classSep {
		n.pending = true
		return
	}
	if n.pending && n.prev != classSep && !(n.prev == classCont && c == classCont) {
		n.dst = append(n.dst, ' ')
	}
	n.pending = false
	n.prev = c
	n.dst = utf8.AppendRune(n.dst, r)
}

// greekBase maps a lower-case Greek vowel with tonos or dialytika to the bare vowel, and final
// sigma to sigma: upper-case Greek is often written without accents.
func greekBase(r rune) rune {
	switch r {
	case 'ά':
		return 'α'
	case 'έ':
		return 'ε'
	case 'ή':
		return 'η'
	case 'ί', 'ΐ', 'ϊ':
		return 'ι'
	case 'ό':
		return 'ο'
	case 'ύ', 'ΰ', 'ϋ':
		return 'υ'
	case 'ώ':
		return 'ω'
	case 'ς':
		return 'σ'
	}
	return r
}

var nuktaBase = [8]rune{0x0915, 0x0916, 0x0917, 0x091C, 0x0921, 0x0922, 0x092B, 0x092F}
