package protocols

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// answered is a recognition API that answers at once (the tiles of the cars fixture), so the
// benchmark measures what the service and the protocol cost, not a provider.
type answered struct{}

func (answered) Recognize(_ context.Context, _ []byte, labelID string, size int) (*recognition.Solution, error) {
	objects := []int{0, 4, 8}
	fields := []recognition.Field{{Key: "size", Value: json.RawMessage("300")}, {Key: "label", Value: json.RawMessage(`"` + labelID + `"`)},
		{Key: "objects", Value: json.RawMessage("[0,4,8]")}, {Key: "type", Value: json.RawMessage(`"multi"`)}}
	return &recognition.Solution{Size: size, Label: labelID, Objects: objects, Type: "multi", Fields: fields, Provider: "acedata"}, nil
}

// BenchmarkProtocolOverhead sends the same picture (events/images/cars-3x3.jpg, 300×300, forwarded
// as it is) and question through POST /recognize and through each protocol's route, with the
// same key check and an upstream that answers at once, and reports each one's p50 and its p50
// over /recognize's (docs/performance.md, "Solver protocols").
func BenchmarkProtocolOverhead(b *testing.B) {
	pic, err := os.ReadFile("../../events/images/cars-3x3.jpg")
	if err != nil {
		b.Fatal(err)
	}
	f := newFixture(b)
	f.solver.Service.Upstream = answered{}
	f.solver.Reported = nil
	f.h.Observe.Log = slogTo(discard{})
	f.h.Observe.Metrics = nil
	native := &pipeline.Server{Default: &httpapi.API{Service: f.solver.Service}, Auth: f.h.Auth, Config: f.h.Config, Observe: f.h.Observe}
	b64pic := base64.StdEncoding.EncodeToString(pic)
	js := func(v any) []byte { out, _ := json.Marshal(v); return out }
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	bearer := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + aliceKey}}
	multi, multiType := multipartBody(map[string]string{"key": aliceKey, "method": "post", "recaptcha": "1", "textinstructions": "cars"}, pic)

	// A task id to poll, made once.
	created := f.h.Serve(context.Background(), wire.Request{Method: "POST", Path: CreateTaskPath, Header: jsonHeader,
		Body: js(map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "GridTask", "body": b64pic, "comment": "cars"}})})
	var c struct{ TaskID uint64 }
	json.Unmarshal(created.Body, &c)

	cases := []struct {
		name   string
		server wire.Server
		req    wire.Request
	}{
		{"recognize", native, wire.Request{Method: "POST", Path: "/recognize", Header: bearer, Body: js(map[string]any{"image": b64pic, "question": "cars"})}},
		{"createTask-ComplexImageTask", f.h, wire.Request{Method: "POST", Path: CreateTaskPath, Header: jsonHeader, Body: js(map[string]any{"clientKey": aliceKey,
			"task": map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64pic}, "metadata": map[string]any{"Grid": "3x3", "Task": "cars"}}})}},
		{"createTask-ReCaptchaV2Classification", f.h, wire.Request{Method: "POST", Path: CreateTaskPath, Header: jsonHeader, Body: js(map[string]any{"clientKey": aliceKey,
			"task": map[string]any{"type": "ReCaptchaV2Classification", "image": b64pic, "question": "cars"}})}},
		{"createTask-GridTask", f.h, wire.Request{Method: "POST", Path: CreateTaskPath, Header: jsonHeader, Body: js(map[string]any{"clientKey": aliceKey,
			"task": map[string]any{"type": "GridTask", "body": b64pic, "comment": "cars", "rows": 3, "columns": 3}})}},
		{"createTask-ImageToCoordinatesTask", f.h, wire.Request{Method: "POST", Path: CreateTaskPath, Header: jsonHeader, Body: js(map[string]any{"clientKey": aliceKey,
			"task": map[string]any{"type": "ImageToCoordinatesTask", "body": b64pic, "comment": "cars"}})}},
		{"in.php-json", f.h, wire.Request{Method: "POST", Path: InPath, Header: jsonHeader, Body: js(map[string]any{"key": aliceKey, "method": "base64",
			"recaptcha": 1, "textinstructions": "cars", "body": b64pic, "json": 1})}},
		{"in.php-form", f.h, wire.Request{Method: "POST", Path: InPath, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body: []byte(url.Values{"key": {aliceKey}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"cars"}, "body": {b64pic}}.Encode())}},
		{"in.php-multipart", f.h, wire.Request{Method: "POST", Path: InPath, Header: http.Header{"Content-Type": {multiType}}, Body: multi}},
		{"getTaskResult", f.h, wire.Request{Method: "POST", Path: GetTaskResultPath, Header: jsonHeader, Body: js(map[string]any{"clientKey": aliceKey, "taskId": c.TaskID})}},
	}
	var reference time.Duration
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if resp := c.server.Serve(ctx, c.req); resp.Status != 200 || !ok(resp.Body) {
				b.Fatalf("%s answered %d %s", c.name, resp.Status, resp.Body)
			}
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				c.server.Serve(ctx, c.req)
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			p50 := times[len(times)/2]
			b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
			if c.name == "recognize" {
				reference = p50
			} else if reference > 0 {
				b.ReportMetric(float64((p50 - reference).Microseconds()), "p50-over-recognize-µs")
			}
		})
	}
}

// ok reports whether an answer of any route is a success.
func ok(body []byte) bool {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return len(body) > 3 && string(body[:3]) == "OK|"
	}
	if id, has := doc["errorId"]; has {
		return id == float64(0)
	}
	if s, has := doc["status"]; has {
		return s == float64(1)
	}
	_, has := doc["solution"]
	return has
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
