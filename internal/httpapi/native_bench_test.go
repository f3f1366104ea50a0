package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// instantUpstream answers every picture at once with the same tiles: what is measured is the
// native route's own work.
type instantUpstream struct{}

func (instantUpstream) Recognize(_ context.Context, _ []byte, labelID string, size int) (*recognition.Solution, error) {
	fields := []recognition.Field{{Key: "size", Value: json.RawMessage("300")}, {Key: "label", Value: json.RawMessage(`"` + labelID + `"`)},
		{Key: "confidences", Value: json.RawMessage("[1,0,0,0,1,0,0,0,1]")}, {Key: "objects", Value: json.RawMessage("[0,4,8]")}, {Key: "type", Value: json.RawMessage(`"multi"`)}}
	return &recognition.Solution{Size: size, Label: labelID, Confidences: []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}, Objects: []int{0, 4, 8},
		Type: "multi", Fields: fields, Provider: "acedata"}, nil
}

// BenchmarkNativeRoute is one POST /recognize through the native protocol (decode, parse,
// recognize against an upstream that answers at once, encode), with the deployment's accuracy
// settings and report forwarding off: the cost every request pays whatever the options.
func BenchmarkNativeRoute(b *testing.B) {
	a := &API{Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: instantUpstream{}}}
	img := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4, 8}, Seed: 51}.PNG()
	body, _ := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(img), "question": "cars"})
	req := wire.Request{Method: http.MethodPost, Path: "/recognize", Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	b.ReportAllocs()
	for b.Loop() {
		call, err := a.Decode(req)
		if err != nil {
			b.Fatal(err)
		}
		resp, _, err := call.Serve(context.Background(), "bench", "trace")
		if err != nil || resp.Status != http.StatusOK {
			b.Fatal(resp.Status, err)
		}
	}
}
