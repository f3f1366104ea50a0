//go:build e2e

package main

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// The engine's other answer shapes (docs/providers.md), end to end through the real bootstrap:
// a single tile answered with hasObject and no objects or confidences, a grid without
// confidences. Each is answered 200 with objects and clicks, and no confidences made up.
func TestResellerAnswerShapes(t *testing.T) {
	f := start(t)
	f.emu.SetShape(emulator.ShapeReseller)
	empty := testimage.Challenge{Grid: 1, Tile: 100, Label: cars, Seed: 8}
	for _, ch := range []testimage.Challenge{single, empty, std3x3, std4x4} {
		resp := f.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(ch.PNG()), "question": "cars"}))
		var doc struct {
			Solution map[string]json.RawMessage `json:"solution"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%dx%d: %d %s", ch.Grid, ch.Grid, resp.StatusCode, resp.Body)
		}
		var objects []int
		json.Unmarshal(doc.Solution["objects"], &objects)
		want := ch.Targets
		if want == nil {
			want = []int{}
		}
		if !slices.Equal(objects, want) || doc.Solution["confidences"] != nil || doc.Solution["clicks"] == nil {
			t.Fatalf("%dx%d: solution %s, want objects %v, clicks, and no confidences", ch.Grid, ch.Grid, resp.Body, want)
		}
		if ch.Grid == 1 && string(doc.Solution["hasObject"]) != map[bool]string{true: "true", false: "false"}[len(want) == 1] {
			t.Fatalf("single tile: hasObject %s", doc.Solution["hasObject"])
		}
	}
}
