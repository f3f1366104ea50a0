package api_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/api"
)

// A solution decoded and encoded again is the same bytes, fields this package does not name
// included; one built from fields encodes them.
func TestSolutionKeepsEveryField(t *testing.T) {
	in := `{"solution":{"size":300,"label":"/m/0k4j","confidences":[1,0,0,0,1,0,0,0,1],"objects":[0,4,8],"type":"multi","provider":"p1","grid":"3x3","clicks":[{"index":0,"x":50,"y":50}]},"trace_id":"t"}`
	var a api.Answer
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	s := a.Solution
	if s.Size != 300 || s.Grid != "3x3" || !slices.Equal(s.Objects, []int{0, 4, 8}) || s.Clicks[0] != (api.Click{Index: 0, X: 50, Y: 50}) {
		t.Fatalf("decoded %+v", s)
	}
	out, _ := json.Marshal(a)
	if string(out) != in {
		t.Fatalf("encoded again:\n%s\nwant\n%s", out, in)
	}
	built, _ := json.Marshal(api.Solution{Size: 100, Label: "/m/0k4j", Confidences: []float64{1}, Objects: []int{0}, Type: "multi", Grid: "1x1", Clicks: []api.Click{{X: 50, Y: 50}}})
	if want := `{"size":100,"label":"/m/0k4j","confidences":[1],"objects":[0],"type":"multi","grid":"1x1","clicks":[{"index":0,"x":50,"y":50}]}`; string(built) != want {
		t.Fatalf("built %s", built)
	}
}

func TestOpenAPIIsEmbedded(t *testing.T) {
	var doc struct{ OpenAPI string }
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, %v", doc.OpenAPI, err)
	}
}
