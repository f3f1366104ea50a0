package recognition_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"slices"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

func boolp(b bool) *bool { return &b }

// CheckObjects lets through only answers a caller can click without harm.
func TestCheckObjects(t *testing.T) {
	for _, c := range []struct {
		name      string
		objects   []int
		hasObject *bool
		tiles     int
		want      []int // nil: refused
	}{
		{"3x3", []int{0, 4, 8}, nil, 9, []int{0, 4, 8}},
		{"none", []int{}, nil, 9, []int{}},
		{"4x4 last tile", []int{15}, nil, 16, []int{15}},
		{"one past the grid", []int{9}, nil, 9, nil},
		{"one past the 4x4 grid", []int{16}, nil, 16, nil},
		{"negative", []int{-1}, nil, 9, nil},
		{"repeated", []int{2, 2}, nil, 9, nil},
		{"no objects", nil, nil, 9, nil},
		{"hasObject on one tile", nil, boolp(true), 1, []int{0}},
		{"hasObject false on one tile", nil, boolp(false), 1, []int{}},
		{"hasObject on a 3x3 grid", nil, boolp(true), 9, nil},
		{"hasObject on a 4x4 grid", nil, boolp(false), 16, nil},
		{"objects and hasObject disagree", []int{}, boolp(true), 1, nil},
	} {
		got, err := recognition.CheckObjects(c.objects, c.hasObject, c.tiles)
		if c.want == nil && err == nil {
			t.Errorf("%s: accepted as %v", c.name, got)
		}
		if c.want != nil && (err != nil || !slices.Equal(got, c.want)) {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestTiles(t *testing.T) {
	for size, want := range map[int]int{100: 1, 300: 9, 450: 16, 400: 0, 0: 0} {
		if got := recognition.Tiles(size); got != want {
			t.Errorf("Tiles(%d) = %d, want %d", size, got, want)
		}
	}
}

// spoofing answers with fields of the names the service adds itself.
type spoofing struct{}

func (spoofing) Recognize(_ context.Context, _ []byte, labelID string, size int) (*recognition.Solution, error) {
	return &recognition.Solution{Size: size, Label: labelID, Objects: []int{1}, Provider: "acedata",
		Fields: []recognition.Field{{Key: "size", Value: json.RawMessage("300")}, {Key: "objects", Value: json.RawMessage("[1]")},
			{Key: "provider", Value: json.RawMessage(`"spoofed"`)}, {Key: "grid", Value: json.RawMessage(`"9x9"`)},
			{Key: "clicks", Value: json.RawMessage(`[]`)}}}, nil
}

// The answer holds grid, clicks and provider once each, the service's own: a provider's fields
// of those names are dropped, not repeated.
func TestProvidersCannotSetTheServicesFields(t *testing.T) {
	res, err := service(spoofing{}).Recognize(context.Background(), recognition.Input{
		Image: testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG(), Question: "cars"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"provider":`, `"grid":`, `"clicks":`} {
		if n := bytes.Count(res.Solution, []byte(key)); n != 1 {
			t.Errorf("%s appears %d times in %s", key, n, res.Solution)
		}
	}
	if !bytes.Contains(res.Solution, []byte(`"provider":"acedata"`)) || !bytes.Contains(res.Solution, []byte(`"grid":"3x3"`)) {
		t.Errorf("solution %s", res.Solution)
	}
}

// A picture too thin for its grid never reaches a (paid) provider.
func TestTooThinPictureIsNotSent(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 400, 3))); err != nil {
		t.Fatal(err)
	}
	up := &counting{Upstream: spoofing{}}
	_, err := service(up).Recognize(context.Background(), recognition.Input{Image: b.Bytes(), Question: "cars", Grid: "3x3"})
	if apierr.As(err).Code != apierr.CodeInvalidImage || up.calls != 0 {
		t.Fatalf("%v after %d provider calls, want invalid_image before any", err, up.calls)
	}
}
