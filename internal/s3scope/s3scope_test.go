package s3scope

import (
	"fmt"
	"testing"
)

func TestParseAndAllows(t *testing.T) {
	ss, err := Parse(" whole , stack/references/ ,, deep/a/b/")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 || ss[0] != (Scope{"whole", ""}) || ss[1] != (Scope{"stack", "references/"}) || ss[2] != (Scope{"deep", "a/b/"}) {
		t.Fatalf("%+v", ss)
	}
	cases := []struct {
		bucket, key string
		want        bool
	}{
		{"whole", "anything/at/all.png", true},
		{"stack", "references/x.png", true},
		{"stack", "references/sub/x.png", true},
		{"stack", "incoming/x.png", false},
		{"stack", "referencesX/x.png", false}, // a prefix is a folder, not a string start
		{"stack", "references", false},
		{"deep", "a/b/c.png", true},
		{"deep", "a/c.png", false},
		{"other", "references/x.png", false},
		{"stac", "references/x.png", false},
	}
	for _, c := range cases {
		if got := ss.Allows(c.bucket, c.key); got != c.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", c.bucket, c.key, got, c.want)
		}
	}
	if Scopes(nil).Allows("whole", "x") {
		t.Error("no scopes must allow nothing")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, list := range []string{"/references/", "b/references", "b/a//b/", "b/../x/", "b/./x/", "b//", "a b/x/"} {
		if _, err := Parse(list); err == nil {
			t.Errorf("Parse(%q) accepted", list)
		}
	}
	// A whole bucket written with a trailing slash means the same as without.
	if ss, err := Parse("b/"); err == nil {
		t.Errorf("Parse(\"b/\") = %v: an empty prefix must be written as the bare bucket", ss)
	}
}

func TestCheckKey(t *testing.T) {
	for _, k := range []string{"x.png", "references/a b/日本.jpg", "a/.hidden", "a/..b", "a/b.."} {
		if err := CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q): %v", k, err)
		}
	}
	for _, k := range []string{"", "/x", "x/", "a//b", "references/../incoming/x", "./x", "a/./b", "..",
		"references/x\x00.png", "references/x\n.png", "references/x\r", "references/\x7f", "references/\u0085x", "references/\xff.png"} {
		if CheckKey(k) == nil {
			t.Errorf("CheckKey(%q) accepted", k)
		}
	}
}

func TestOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"data/", "data/out/", true}, {"data/out/", "data/", true}, {"a/", "a/", true},
		{"incoming/", "results/", false}, {"in/", "incoming/", false},
	} {
		if Overlap(c.a, c.b) != c.want {
			t.Errorf("Overlap(%q, %q) != %v", c.a, c.b, c.want)
		}
	}
}

func ExampleScopes_Allows() {
	ss, _ := Parse("my-stack-images/references/")
	fmt.Println(ss.Allows("my-stack-images", "references/shot.png"))
	fmt.Println(ss.Allows("my-stack-images", "incoming/someone-elses.png"))
	// Output:
	// true
	// false
}
