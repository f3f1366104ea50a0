package question

import (
	"slices"
	"unicode/utf8"
)

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
