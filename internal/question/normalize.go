package question

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
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
	case isCont(r):
		return classCont
	case unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r):
		return classWord
	}
	return classSep
}

// isCont reports whether r belongs to a script written without spaces between words.
func isCont(r rune) bool {
	for _, rg := range contRanges {
		if rg[0] <= r && r <= rg[1] {
			return true
		}
	}
	return false
}

var contRanges = [...][2]rune{
	{0x0E00, 0x0EFF},   // Thai, Lao
	{0x1000, 0x109F},   // Myanmar
	{0x1780, 0x17FF},   // Khmer
	{0x3005, 0x3007},   // 々 〆 〇
	{0x3040, 0x30FF},   // kana, with ー
	{0x3400, 0x4DBF},   // Han extension A
	{0x4E00, 0x9FFF},   // Han
	{0xF900, 0xFAFF},   // Han compatibility
	{0xFF66, 0xFF9F},   // half-width katakana
	{0x20000, 0x3FFFF}, // Han extensions B-H
}

// normalizeAppend appends s in the form names are compared in: lower case; a few spellings of
// the same letter made one (ß ss, ё е, İ ı i, Arabic hamza seats, tā' marbūṭa and alif maqṣūra,
// Devanagari nukta letters decomposed); Arabic vowel marks, tatweel and invisible format
// characters dropped; every run of other characters one space, except between two characters of
// a script written without spaces, where it is dropped ("红绿 灯" is 红绿灯).
func normalizeAppend(dst []byte, s string) []byte {
	prev, pending := classSep, false
	emit := func(r rune) {
		c := classOf(r)
		if c == classSep {
			pending = true
			return
		}
		if pending && prev != classSep && !(prev == classCont && c == classCont) {
			dst = append(dst, ' ')
		}
		pending = false
		prev = c
		dst = utf8.AppendRune(dst, r)
	}
	for _, r := range s {
		switch {
		case r < 0x80:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			emit(r)
		case r == 'ß' || r == 'ẞ':
			emit('s')
			emit('s')
		case r == 'İ' || r == 'ı':
			emit('i')
		case r == 'ё' || r == 'Ё':
			emit('е')
		case r == 'أ' || r == 'إ' || r == 'آ' || r == 'ٱ':
			emit('ا')
		case r == 'ة':
			emit('ه')
		case r == 'ى':
			emit('ي')
		case 0x064B <= r && r <= 0x065F, r == 0x0670, r == 0x0640: // Arabic vowel marks, tatweel
		case 0x0958 <= r && r <= 0x095F: // क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़: base letter and nukta
			emit(nuktaBase[r-0x0958])
			emit(0x093C)
		case unicode.Is(unicode.Cf, r) || r == 0x00AD: // ZWJ, ZWNJ, soft hyphen, BOM...
		default:
			emit(unicode.ToLower(r))
		}
	}
	return dst
}

var nuktaBase = [8]rune{0x0915, 0x0916, 0x0917, 0x091C, 0x0921, 0x0922, 0x092B, 0x092F}
