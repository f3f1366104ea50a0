package formscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

// slack is what a parse may allocate beyond twice its body: the fields' list and names, the
// multipart reader's buffers and part headers (up to 64 parts, read twice).
func slack() uint64 {
	if raceEnabled {
		return 1 << 20
	}
	return 256 << 10
}

func unlimited(string, bool) int { return 1 << 30 }

// allocated is what f allocates, the whole process counted (nothing else runs in a test).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func checkBound(t *testing.T, what string, body []byte, f func()) {
	t.Helper()
	if a := allocated(f); a > 2*uint64(len(body))+slack() {
		t.Fatalf("%s: %d bytes allocated for a %d-byte body, over twice the body", what, a, len(body))
	} else if testing.Verbose() {
		t.Logf("%s: %d bytes allocated for a %d-byte body", what, a, len(body))
	}
}

// expand is a fuzz input made long: head, then unit n times, then tail. It lets a fuzzer reach
// the bodies that cost the most (hundreds of thousands of fields, a field of megabytes).
func expand(head, unit, tail string, n uint32) []byte {
	n %= 1 << 23
	if len(unit)*int(n) > 6<<20 {
		n = uint32(6 << 20 / max(len(unit), 1))
	}
	return []byte(head + strings.Repeat(unit, int(n)) + tail)
}

// The bodies that cost most before the counts were checked while reading: each is refused (or
// read) within twice its size.
func TestBoundedBodies(t *testing.T) {
	keys := expand("{", `"k":1,`, `"z":1}`, 700000)
	ids := expand("ids=", "1,", "1", 2900000)
	str := expand(`{"body":"`, "A", `"}`, 6<<20)
	escaped := expand(`{"body":"`, `A\/`, `"}`, 2<<20)
	form := expand("body=", "A%2B", "", 1500000)
	var parts bytes.Buffer
	for i := 0; parts.Len() < 5<<20; i++ {
		fmt.Fprintf(&parts, "--x\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i)
	}
	parts.WriteString("--x--\r\n")
	big := []byte("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n" + strings.Repeat("A", 6<<20) + "\r\n--x--\r\n")
	for _, c := range []struct {
		name string
		body []byte
		read func([]byte) error
		want error
	}{
		{"JSON of 700k members", keys, func(b []byte) error { _, err := Object(b, 64, unlimited); return err }, &TooManyError{}},
		{"JSON of one 6 MB string", str, func(b []byte) error { _, err := Object(b, 64, unlimited); return err }, nil},
		{"JSON of one 6 MB escaped string", escaped, func(b []byte) error { _, err := Object(b, 64, unlimited); return err }, nil},
		{"JSON string over its limit", str, func(b []byte) error {
			_, err := Object(b, 64, func(string, bool) int { return 4096 })
			return err
		}, &TooLargeError{}},
		{"form with a 5.8 MB ids field", ids, func(b []byte) error { _, err := Query(b, 64, unlimited); return err }, nil},
		{"form of one escaped 6 MB field", form, func(b []byte) error { _, err := Query(b, 64, unlimited); return err }, nil},
		{"form of 700k fields", expand("", "a=1&", "", 700000), func(b []byte) error { _, err := Query(b, 64, unlimited); return err }, &TooManyError{}},
		{"list of 2.9M ids", ids[4:], func(b []byte) error { return List(string(b), 100, func(string) {}) }, &TooManyError{}},
		{"multipart of 5 MB of parts", parts.Bytes(), func(b []byte) error {
			_, err := Multipart(b, "x", 64, unlimited, func(string, bool) bool { return false })
			return err
		}, &TooManyError{}},
		{"multipart file of 6 MB", big, func(b []byte) error {
			_, err := Multipart(b, "x", 64, unlimited, func(_ string, file bool) bool { return file })
			return err
		}, nil},
		{"multipart text of 6 MB", big, func(b []byte) error {
			_, err := Multipart(b, "x", 64, unlimited, func(string, bool) bool { return false })
			return err
		}, nil},
		{"multipart part over its limit", big, func(b []byte) error {
			_, err := Multipart(b, "x", 64, func(string, bool) int { return 4 << 20 }, func(string, bool) bool { return true })
			return err
		}, &TooLargeError{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			checkBound(t, c.name, c.body, func() { err = c.read(c.body) })
			if (err == nil) != (c.want == nil) || err != nil && fmt.Sprintf("%T", err) != fmt.Sprintf("%T", c.want) {
				t.Fatalf("%v, want %T", err, c.want)
			}
		})
	}
}

// FuzzObject: Object reads a body exactly as encoding/json does (both refuse it, or both find
// the same values, the last of a repeated name winning), and within twice the body.
func FuzzObject(f *testing.F) {
	for _, s := range []struct {
		head, unit, tail string
		n                uint32
	}{
		{`{"key":"k","body":"`, "A", `","n":1.5e3,"b":true,"x":null,"o":{"a":[1,"]"]}}`, 1000},
		{"{", `"k":1,`, `"z":1}`, 100},
		{`{"a\u0041":"\ud83d\ude00\/","KEY":"x","key":"y"}`, "", "", 0},
		{`{"a":"\xff","b":`, "[", "", 100},
		{`{"a":1} x`, "", "", 0},
		{`{"a":1,}`, "", "", 0},
		{`null`, "", "", 0},
	} {
		f.Add(s.head, s.unit, s.tail, s.n)
	}
	f.Fuzz(func(t *testing.T, head, unit, tail string, n uint32) {
		body := expand(head, unit, tail, n)
		var fields []Field
		var err error
		checkBound(t, "Object", body, func() { fields, err = Object(body, 64, unlimited) })
		var tooMany *TooManyError
		if errors.As(err, &tooMany) {
			return
		}
		var doc map[string]json.RawMessage
		errJSON := json.Unmarshal(body, &doc)
		if errJSON == nil && doc == nil {
			errJSON = errors.New("null")
		}
		if (err == nil) != (errJSON == nil) {
			t.Fatalf("%.200q: Object %v, encoding/json %v", body, err, errJSON)
		}
		if err != nil {
			return
		}
		got := map[string]string{}
		for _, f := range fields {
			got[f.Name] = f.Value
		}
		for name, raw := range doc {
			var want string
			switch raw[0] {
			case '"':
				if json.Unmarshal(raw, &want) != nil {
					t.Fatal(raw)
				}
			case '{', '[', 'n':
				want = ""
			default:
				want = string(raw)
			}
			if got[name] != want {
				t.Fatalf("%.200q: %q is %q, encoding/json reads %q", body, name, got[name], want)
			}
		}
	})
}

// FuzzQuery: Query reads a form exactly as url.ParseQuery does, and within twice the body.
func FuzzQuery(f *testing.F) {
	f.Add("key=k&body=", "A%2B+", "&json=1", uint32(1000))
	f.Add("", "a=1&", "", uint32(100))
	f.Add("a=%zz&b", "", ";c=1", uint32(0))
	f.Fuzz(func(t *testing.T, head, unit, tail string, n uint32) {
		body := expand(head, unit, tail, n)
		var fields []Field
		var err error
		checkBound(t, "Query", body, func() { fields, err = Query(body, 64, unlimited) })
		var tooMany *TooManyError
		if errors.As(err, &tooMany) {
			return
		}
		want, errURL := url.ParseQuery(string(body))
		if (err == nil) != (errURL == nil) {
			t.Fatalf("%.200q: Query %v, url.ParseQuery %v", body, err, errURL)
		}
		if err != nil {
			return
		}
		got := url.Values{}
		for _, f := range fields {
			got.Add(f.Name, f.Value)
		}
		if got.Encode() != want.Encode() {
			t.Fatalf("%.200q: Query %v, url.ParseQuery %v", body, got, want)
		}
	})
}

// FuzzMultipart: Multipart finds the parts mime/multipart finds, with the same content, and
// within twice the body.
func FuzzMultipart(f *testing.F) {
	f.Add("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n", "A", "\r\n--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--x--\r\n", uint32(1000))
	f.Add("", "--x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n", "--x--\r\n", uint32(100))
	f.Add("--x\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", "=41=\r\n", "\r\n--x--\r\n", uint32(10))
	f.Fuzz(func(t *testing.T, head, unit, tail string, n uint32) {
		body := expand(head, unit, tail, n)
		var fields []Field
		var err error
		binary := func(_ string, file bool) bool { return file }
		checkBound(t, "Multipart", body, func() { fields, err = Multipart(body, "x", 64, unlimited, binary) })
		var tooMany *TooManyError
		if errors.As(err, &tooMany) {
			return
		}
		var want []Field
		errStd := Parts(body, "x", func(p *multipart.Part, name string, file bool) error {
			b, err := io.ReadAll(p)
			if err != nil {
				return err
			}
			f := Field{Name: name, File: file, Value: string(b)}
			if file {
				f.Bytes, f.Value = b, ""
			}
			want = append(want, f)
			return nil
		})
		if (err == nil) != (errStd == nil) {
			t.Fatalf("%.200q: Multipart %v, mime/multipart %v", body, err, errStd)
		}
		if err != nil {
			return
		}
		if len(fields) != len(want) {
			t.Fatalf("%d parts, want %d", len(fields), len(want))
		}
		for i := range want {
			if fields[i].Name != want[i].Name || fields[i].Value != want[i].Value || !bytes.Equal(fields[i].Bytes, want[i].Bytes) || fields[i].File != want[i].File {
				t.Fatalf("part %d: %+v, want %+v", i, fields[i], want[i])
			}
		}
	})
}

// Counts and sizes are refused at the first field over, whatever follows.
func TestLimits(t *testing.T) {
	four := func(string, bool) int { return 4 }
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"object count", errOf(Object([]byte(`{"a":1,"b":[],"c":null}`), 2, unlimited)), "more than 2 fields"},
		{"object count exact", errOf(Object([]byte(`{"a":1,"b":[]}`), 2, unlimited)), "<nil>"},
		{"object string size", errOf(Object([]byte(`{"a":"12345"}`), 2, four)), `field "a" is over 4 bytes`},
		{"object string at size", errOf(Object([]byte(`{"a":"1234"}`), 2, four)), "<nil>"},
		{"object number size", errOf(Object([]byte(`{"a":12345}`), 2, four)), `field "a" is over 4 bytes`},
		{"query count", errOf(Query([]byte("a=1&&b=2&c"), 2, unlimited)), "more than 2 fields"},
		{"query count exact", errOf(Query([]byte("a=1&&b=2&"), 2, unlimited)), "<nil>"},
		{"query size", errOf(Query([]byte("a=12345"), 2, four)), `field "a" is over 4 bytes`},
		{"query with a semicolon", errOf(Query([]byte("a=1;b=2"), 2, unlimited)), ErrSyntax.Error()},
		{"query size escaped", errOf(Query([]byte("a=%41"), 2, func(string, bool) int { return 3 })), "<nil>"},
		{"list", List("1,2,3", 2, func(string) {}), "more than 2 fields"},
		{"list exact", List("1,2", 2, func(string) {}), "<nil>"},
		{"multipart count", errOf(Multipart([]byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--x--\r\n"), "x", 1, unlimited, nil)), "more than 1 fields"},
		{"multipart size", errOf(Multipart([]byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n12345\r\n--x--\r\n"), "x", 1, four, nil)), `field "a" is over 4 bytes`},
		{"multipart without boundary", errOf(Multipart([]byte("--x--\r\n"), "", 1, four, nil)), ErrSyntax.Error()},
	} {
		if got := fmt.Sprint(c.err); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		list     string
		first    string
		count    int
		notAList bool
	}{
		{`["a","b","c"]`, `"a"`, 2, false},
		{` [ "a" ] `, `"a"`, 1, false},
		{`[]`, "", 0, false},
		{`[[1,"]"],2]`, `[1,"]"]`, 2, false},
		{`"a"`, "", 0, true},
	} {
		first, count, ok := FirstOfList([]byte(c.list), 2)
		if string(first) != c.first || count != c.count || ok == c.notAList {
			t.Errorf("FirstOfList(%s, 2): %s %d %v", c.list, first, count, ok)
		}
	}
	var items []string
	if err := List("1,,3", 3, func(s string) { items = append(items, s) }); err != nil || strings.Join(items, "|") != "1||3" {
		t.Fatalf("%v %q", err, items)
	}
}

func errOf(_ []Field, err error) error { return err }

// FuzzList: List gives the items strings.Split gives, or refuses a list of more than max
// before calling each once; it allocates nothing.
func FuzzList(f *testing.F) {
	f.Add("1266933001723336,", "1,", "42", uint32(10))
	f.Add("", "1,", "", uint32(200000))
	f.Add(",", "", ",", uint32(0))
	f.Fuzz(func(t *testing.T, head, unit, tail string, n uint32) {
		s := string(expand(head, unit, tail, n))
		var got []string
		var err error
		calls := 0
		checkBound(t, "List", []byte(s), func() { err = List(s, 100, func(string) { calls++ }) })
		want := strings.Split(s, ",")
		if len(want) > 100 {
			if err == nil || calls != 0 {
				t.Fatalf("%d items: %v after %d calls, want a refusal before any", len(want), err, calls)
			}
			return
		}
		if err := List(s, 100, func(item string) { got = append(got, item) }); err != nil || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%.200q: %q %v, want %q", s, got, err, want)
		}
	})
}

// FuzzFirstOfList: FirstOfList finds the first element encoding/json finds, and counts the
// elements up to its most, reading no further; it allocates nothing.
func FuzzFirstOfList(f *testing.F) {
	f.Add(`["`, "A", `",""]`, uint32(1000))
	f.Add("[", `"",`, `""]`, uint32(100000))
	f.Add(`[{"a":[1,"]"]},`, "", `2]`, uint32(0))
	f.Add(` [ `, "", ` ] `, uint32(0))
	f.Fuzz(func(t *testing.T, head, unit, tail string, n uint32) {
		raw := expand(head, unit, tail, n)
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil || elems == nil {
			return // FirstOfList reads only what encoding/json has accepted as a list
		}
		var first []byte
		var count int
		var ok bool
		checkBound(t, "FirstOfList", raw, func() { first, count, ok = FirstOfList(raw, 2) })
		if !ok || count != min(len(elems), 2) || len(elems) > 0 && !bytes.Equal(first, elems[0]) {
			t.Fatalf("%.200q: %q %d %v; encoding/json: %d elements", raw, first, count, ok, len(elems))
		}
	})
}

// A body cut short is refused wherever it ends, also inside a part's headers, where
// mime/multipart reports a plain end of input: read as whole, the form would be served without
// its last parts (a grid or a recaptcharows the caller sent).
func TestMultipartCutShortIsRefused(t *testing.T) {
	full := "--x\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\ncars\r\n--x\r\nContent-Disposition: form-data; name=\"grid\"\r\n\r\n4x4\r\n--x--\r\n"
	binary := func(string, bool) bool { return false }
	fields, err := Multipart([]byte(full), "x", 64, unlimited, binary)
	if err != nil || len(fields) != 2 {
		t.Fatalf("the whole form: %v, %v", fields, err)
	}
	for end := len(full) - len("--\r\n"); end > 0; end-- {
		if fields, err := Multipart([]byte(full[:end]), "x", 64, unlimited, binary); !errors.Is(err, ErrSyntax) {
			t.Errorf("cut to %q: %v, %v; want ErrSyntax", full[max(0, end-24):end], fields, err)
		}
	}
}
