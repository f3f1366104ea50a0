package uploads

import (
	"testing"

	"recognizer/internal/storage"
)

func TestFirstFolder(t *testing.T) {
	for in, want := range map[string]string{
		"cars/x.jpg":               "cars",
		"traffic lights/a/b.png":   "traffic lights",
		"x.jpg":                    "",
		"school bus/deep/er/x.png": "school bus",
	} {
		if got := firstFolder(in); got != want {
			t.Errorf("firstFolder(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVersionTag(t *testing.T) {
	if got := versionTag(&storage.Object{ETag: `"abc"`, VersionID: "null"}); got != "e:abc" {
		t.Errorf("unversioned: %q", got)
	}
	if got := versionTag(&storage.Object{ETag: `"abc"`, VersionID: "v7"}); got != "v:v7" {
		t.Errorf("versioned: %q", got)
	}
}
