package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

const cars = "/m/0k4j"

// The emulator holds callers to the upstream contract (docs/upstream-contract.txt): our client is
// only as correct as the emulator is strict. Each malformed request is refused with the
// contract's error shape; a correct one gets the tiles of the label's signature colour.
func TestEmulatorIsStrict(t *testing.T) {
	srv := httptest.NewServer(emulator.New("tok"))
	defer srv.Close()
	std := testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{2, 6}}
	good := func() map[string]any {
		return map[string]any{"question": cars, "image": base64.StdEncoding.EncodeToString(std.PNG())}
	}
	post := func(path, auth, contentType string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			b = []byte(s)
		}
		req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(b))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		return resp.StatusCode, doc
	}
	with := func(k string, v any) map[string]any { m := good(); m[k] = v; return m }
	cases := []struct {
		name                    string
		path, auth, contentType string
		body                    any
		status                  int
	}{
		{"wrong token", emulator.Path, "Bearer nope", "application/json", good(), 401},
		{"no bearer scheme", emulator.Path, "tok", "application/json", good(), 401},
		{"not JSON content", emulator.Path, "Bearer tok", "text/plain", good(), 400},
		{"unknown field", emulator.Path, "Bearer tok", "application/json", with("extra", 1), 400},
		{"a label name, not an id", emulator.Path, "Bearer tok", "application/json", with("question", "cars"), 400},
		{"image not base64", emulator.Path, "Bearer tok", "application/json", with("image", "@@@"), 400},
		{"image not a picture", emulator.Path, "Bearer tok", "application/json", with("image", base64.StdEncoding.EncodeToString([]byte("text"))), 400},
		{"image not a standard size", emulator.Path, "Bearer tok", "application/json",
			with("image", base64.StdEncoding.EncodeToString(testimage.Challenge{Grid: 3, Tile: 90, Label: cars}.PNG())), 400},
		{"body not an object", emulator.Path, "Bearer tok", "application/json", `[1]`, 400},
		{"wrong path", "/elsewhere", "Bearer tok", "application/json", good(), 404},
	}
	for _, c := range cases {
		status, doc := post(c.path, c.auth, c.contentType, c.body)
		errDoc, _ := doc["error"].(map[string]any)
		if status != c.status || doc["success"] != false || errDoc["code"] == nil || errDoc["message"] == "" {
			t.Errorf("%s: %d %v, want %d in the error shape", c.name, status, doc, c.status)
		}
	}
	status, doc := post(emulator.Path, "Bearer tok", "application/json; charset=utf-8", good())
	sol, _ := doc["solution"].(map[string]any)
	if status != 200 || sol == nil {
		t.Fatalf("a correct request: %d %v", status, doc)
	}
	var objects []int
	for _, o := range sol["objects"].([]any) {
		objects = append(objects, int(o.(float64)))
	}
	if !slices.Equal(objects, std.Targets) || sol["size"] != float64(300) || sol["label"] != cars || sol["type"] != "multi" {
		t.Fatalf("solution %v, want objects %v", sol, std.Targets)
	}
}
