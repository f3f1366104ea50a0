package httpapi

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// The native API's stated parse factor holds for the costliest body of each form at the body
// limit: decoding and serving it allocates at most the factor times the body (a picture's
// decoding has its own budget; these bodies are refused before any).
func TestFootprintHolds(t *testing.T) {
	const size = 6<<20 - 1024
	multi, multiType := testenv.MultipartForm(map[string]string{"question": "cars"}, "a.png", make([]byte, size-300))
	bodies := map[string]wire.Request{
		"JSON of one field": {Method: "POST", Path: api.RecognizePath, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"image":"AAAA","question":"` + strings.Repeat("a", size) + `"}`)},
		"multipart of one part": {Method: "POST", Path: api.RecognizePath, Header: http.Header{"Content-Type": {multiType}}, Body: multi},
		"JSON image": {Method: "POST", Path: api.RecognizePath, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"question":"cars","image":"data:image/png;base64,` + strings.Repeat("AAAA", size/4) + `"}`)},
	}
	a := &API{Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: testenv.FakeUpstream{}}, Store: &testenv.MemStore{}}
	for name, req := range bodies {
		factor := a.Footprint(req).ParseFactor * raceFactor
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		call, err := a.Decode(req)
		if err == nil {
			_, _, err = call.Serve(context.Background(), "alice", "trace")
		}
		runtime.ReadMemStats(&after)
		allocated := int64(after.TotalAlloc - before.TotalAlloc)
		t.Logf("%s: %d bytes, %.1f× allocated, stated %d×; %v", name, len(req.Body), float64(allocated)/float64(len(req.Body)), factor, err)
		if allocated > factor*int64(len(req.Body)) {
			t.Errorf("%s: serving it allocated %.1f× its body, over the stated %d×", name, float64(allocated)/float64(len(req.Body)), factor)
		}
	}
}

// A POST to a recognition route may carry a picture; nothing else does.
func TestFootprintPictures(t *testing.T) {
	a := &API{}
	for _, c := range []struct {
		method, path string
		want         bool
	}{{"POST", api.RecognizePath, true}, {"POST", api.UpstreamPath + "/", true}, {"GET", api.RecognizePath, false}, {"POST", "/nothing", false}} {
		if got := a.Footprint(wire.Request{Method: c.method, Path: c.path}).Picture; got != c.want {
			t.Errorf("%s %s: picture %v, want %v", c.method, c.path, got, c.want)
		}
	}
}

// A picture read from S3 is not in the body the request reserved for: the request's reservation
// grows by room for the largest picture and its normalizing before the download.
func TestS3ReferenceGrowsTheReservation(t *testing.T) {
	store := &testenv.MemStore{}
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1}, Seed: 9}
	store.Write(context.Background(), "refs", "cars.png", ch.PNG())
	a := &API{Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: testenv.FakeUpstream{}}, Store: store}
	a.Config.Sources, _ = s3scope.Parse("refs")
	b := membudget.New(1<<30, membudget.DefaultWait, clock.Real{})
	r, _ := b.Reserve(context.Background(), membudget.Cost{})
	ctx := membudget.With(context.Background(), r)
	call, err := a.Decode(wire.Request{Method: "POST", Path: api.RecognizePath, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"s3":"s3://refs/cars.png","question":"cars"}`)})
	if err == nil {
		_, _, err = call.Serve(ctx, "alice", "trace")
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * int64(imaging.DefaultLimits.MaxBytes); b.InUse() != want {
		t.Fatalf("%d bytes reserved after an S3 reference, want %d", b.InUse(), want)
	}
}
