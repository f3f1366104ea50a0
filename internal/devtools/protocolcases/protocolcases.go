//go:build e2e

// Package protocolcases is a development tool: the end-to-end cases of the solver protocols
// (docs/protocols.md), run the same way through every transport that serves them: the Lambda
// function's real bootstrap (functions/api) and make run's server (cmd/local). Each transport
// gives Run a way to send one request; Run sends every task type, every legacy action, both
// answer encodings and the error table, checks each answer against the protocol and against
// api/openapi.json, and compares the answers with POST /recognize's for the same pictures.
package protocolcases

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/contracttest"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// Request is one HTTP request.
type Request struct {
	Method, Path, Query, ContentType, Authorization string
	Body                                            []byte
}

// Answer is what came back.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Sender sends one request through a transport.
type Sender func(t *testing.T, r Request) Answer

// Options say what the transport under test can show.
type Options struct {
	Events     string // the events/ folder (its images/)
	Key        string // a client key the service accepts
	KeyChecked bool   // keys mode: a wrong key must be refused
}

type run struct {
	t    *testing.T
	send Sender
	o    Options
	cars []byte
	shot []byte
}

// Run sends every case through send.
func Run(t *testing.T, send Sender, o Options) {
	r := &run{t: t, send: send, o: o}
	var err error
	if r.cars, err = os.ReadFile(filepath.Join(o.Events, "images", "cars-3x3.jpg")); err != nil {
		t.Fatal(err)
	}
	if r.shot, err = os.ReadFile(filepath.Join(o.Events, "images", "buses-screenshot.jpg")); err != nil {
		t.Fatal(err)
	}
	t.Run("task types", r.taskTypes)
	t.Run("legacy actions", r.legacyActions)
	t.Run("task errors", r.taskErrors)
	t.Run("legacy errors", r.legacyErrors)
}

func (r *run) do(t *testing.T, req Request) Answer {
	t.Helper()
	a := r.send(t, req)
	if a.Status != http.StatusOK {
		t.Fatalf("%s %s answered %d %.300s: the protocols answer 200", req.Method, req.Path, a.Status, a.Body)
	}
	if err := contracttest.CheckHTTP(&http.Request{Method: req.Method, URL: &url.URL{Path: req.Path, RawQuery: req.Query},
		Header: http.Header{"Content-Type": {req.ContentType}}}, &http.Response{StatusCode: a.Status, Header: a.Header}, a.Body); err != nil {
		t.Error(err)
	}
	return a
}

func (r *run) post(t *testing.T, path string, doc any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(doc)
	a := r.do(t, Request{Method: "POST", Path: path, ContentType: "application/json", Body: body})
	if a.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("content-type %q", a.Header.Get("Content-Type"))
	}
	var out map[string]any
	if err := json.Unmarshal(a.Body, &out); err != nil {
		t.Fatalf("%s: %v", a.Body, err)
	}
	return out
}

// native is POST /recognize's solution for a picture and a question.
func (r *run) native(t *testing.T, picture []byte, question string) (objects []int, clicks [][2]int) {
	t.Helper()
	body, ct := testenv.MultipartForm(map[string]string{"question": question}, "p.jpg", picture)
	a := r.send(t, Request{Method: "POST", Path: "/recognize", ContentType: ct, Body: body, Authorization: "Bearer " + r.o.Key})
	var doc struct {
		Solution struct {
			Objects []int
			Clicks  []struct{ X, Y int }
		}
	}
	if a.Status != 200 || json.Unmarshal(a.Body, &doc) != nil {
		t.Fatalf("POST /recognize answered %d %s", a.Status, a.Body)
	}
	for _, c := range doc.Solution.Clicks {
		clicks = append(clicks, [2]int{c.X, c.Y})
	}
	return doc.Solution.Objects, clicks
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

func (r *run) taskTypes(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	carsObjects, carsClicks := r.native(t, r.cars, "cars")
	busObjects, busClicks := r.native(t, r.shot, "buses")
	if !slices.Equal(carsObjects, []int{0, 4, 8}) || !slices.Equal(busObjects, []int{1, 6}) {
		t.Fatalf("the emulator's answers are not the fixtures': %v, %v", carsObjects, busObjects)
	}
	bools := func(n int, objects []int) []bool {
		out := make([]bool, n)
		for _, o := range objects {
			out[o] = true
		}
		return out
	}
	for _, c := range []struct {
		name     string
		task     map[string]any
		solution any
		inline   bool
	}{
		{"ComplexImageTask 3x3 text", map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64(r.cars)},
			"metadata": map[string]any{"Grid": "3x3", "Task": "Select all images with cars"}}, map[string]any{"answer": bools(9, carsObjects)}, false},
		{"ComplexImageTask 4x4 label id", map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64(r.shot)},
			"metadata": map[string]any{"Grid": "4x4", "TaskDefinition": "/m/01bjv"}}, map[string]any{"answer": bools(16, busObjects)}, false},
		{"ReCaptchaV2Classification", map[string]any{"type": "ReCaptchaV2Classification", "image": b64(r.cars), "question": "/m/0k4j"},
			map[string]any{"type": "multi", "objects": carsObjects, "size": 3}, true},
		{"ReCaptchaV2Classification screenshot", map[string]any{"type": "ReCaptchaV2Classification", "image": b64(r.shot), "question": "Выберите все изображения с автобусами"},
			map[string]any{"type": "multi", "objects": busObjects, "size": 4}, true},
		{"GridTask", map[string]any{"type": "GridTask", "body": b64(r.cars), "rows": 3, "columns": 3, "comment": "Select all images with cars"},
			map[string]any{"click": []int{1, 5, 9}}, false},
		{"ImageToCoordinatesTask", map[string]any{"type": "ImageToCoordinatesTask", "body": b64(r.cars), "comment": "cars", "mode": "points"},
			map[string]any{"coordinates": carsClicks}, false},
		{"ImageToCoordinatesTask screenshot", map[string]any{"type": "ImageToCoordinatesTask", "body": b64(r.shot), "comment": "buses"},
			map[string]any{"coordinates": busClicks}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			created := r.post(t, "/createTask", map[string]any{"clientKey": r.o.Key, "task": c.task, "softId": 0, "callbackUrl": "http://127.0.0.1:1/never"})
			if created["errorId"] != float64(0) {
				t.Fatalf("createTask: %v", created)
			}
			if c.inline && (created["status"] != "ready" || jsonText(created["solution"]) != jsonText(c.solution)) {
				t.Fatalf("createTask answered %v, want ready with %s", created, jsonText(c.solution))
			}
			got := r.post(t, "/getTaskResult", map[string]any{"clientKey": r.o.Key, "taskId": created["taskId"]})
			if got["status"] != "ready" || jsonText(got["solution"]) != jsonText(c.solution) {
				t.Fatalf("getTaskResult answered %v, want ready with %s", got, jsonText(c.solution))
			}
			for _, path := range []string{"/reportIncorrectImageCaptcha", "/reportCorrectRecaptcha", "/feedbackTask"} {
				if rep := r.post(t, path, map[string]any{"clientKey": r.o.Key, "taskId": created["taskId"], "result": map[string]any{"invalid": true}}); rep["errorId"] != float64(0) {
					t.Errorf("%s: %v", path, rep)
				}
			}
		})
	}
	if bal := r.post(t, "/getBalance", map[string]any{"clientKey": r.o.Key}); bal["balance"] != float64(100) {
		t.Errorf("getBalance: %v", bal)
	}
}

func (r *run) legacy(t *testing.T, method, path string, q url.Values, contentType string, body []byte) (string, map[string]any) {
	t.Helper()
	a := r.do(t, Request{Method: method, Path: path, Query: q.Encode(), ContentType: contentType, Body: body})
	if strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") {
		var doc map[string]any
		if err := json.Unmarshal(a.Body, &doc); err != nil {
			t.Fatalf("%s: %v", a.Body, err)
		}
		return "", doc
	}
	if !strings.HasPrefix(a.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("content-type %q", a.Header.Get("Content-Type"))
	}
	return string(a.Body), nil
}

func (r *run) legacyActions(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(r.cars)
	form := url.Values{"key": {r.o.Key}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"cars"}, "recaptcharows": {"3"}, "recaptchacols": {"3"}, "body": {b64}}
	multi, multiType := testenv.MultipartForm(map[string]string{"key": r.o.Key, "method": "post", "recaptcha": "1", "textinstructions": "buses"}, "captcha.jpg", r.shot)
	var ids []string
	for _, c := range []struct {
		name, method, contentType string
		query                     url.Values
		body                      []byte
		json                      bool
		want                      string
	}{
		{"url-encoded, plain", "POST", "application/x-www-form-urlencoded", nil, []byte(form.Encode()), false, "click:1/5/9"},
		{"JSON numbers, json=1", "POST", "application/json", nil, []byte(`{"key":"` + r.o.Key + `","json":1,"header_acao":1,"soft_id":4587,"method":"base64","recaptcha":1,"recaptcharows":3,"recaptchacols":3,"textinstructions":"Select all images with <strong>cars</strong>","body":"` + b64 + `"}`), true, "click:1/5/9"},
		{"query and JSON as text/plain, json=1", "POST", "text/plain;charset=UTF-8", url.Values{"key": {r.o.Key}, "json": {"1"}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"/m/0k4j"}}, []byte(`{"body":"` + b64 + `"}`), true, "click:1/5/9"},
		{"multipart file, plain", "POST", multiType, nil, multi, false, "click:2/7"},
		{"GET, plain", "GET", "", form, nil, false, "click:1/5/9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain, doc := r.legacy(t, c.method, "/in.php", c.query, c.contentType, c.body)
			var id string
			if c.json {
				if doc["status"] != float64(1) {
					t.Fatalf("in.php: %v", doc)
				}
				id = doc["request"].(string)
			} else {
				if !strings.HasPrefix(plain, "OK|") {
					t.Fatalf("in.php: %q", plain)
				}
				id = strings.TrimPrefix(plain, "OK|")
			}
			ids = append(ids, id)
			if got, _ := r.legacy(t, "GET", "/res.php", url.Values{"key": {r.o.Key}, "action": {"get"}, "id": {id}}, "", nil); got != "OK|"+c.want {
				t.Fatalf("res.php get: %q, want OK|%s", got, c.want)
			}
			if _, doc := r.legacy(t, "POST", "/res.php", url.Values{"key": {r.o.Key}, "action": {"get"}, "id": {id}, "json": {"1"}}, "", nil); doc["status"] != float64(1) || doc["request"] != c.want {
				t.Fatalf("res.php get json=1: %v, want %s", doc, c.want)
			}
		})
	}
	for _, c := range []struct {
		q          url.Values
		plain      string
		jsonStatus float64
	}{
		{url.Values{"action": {"get"}, "ids": {strings.Join(ids[:2], ",") + ",12345"}}, "OK|click:1/5/9|click:1/5/9|ERROR_WRONG_CAPTCHA_ID", 1},
		{url.Values{"action": {"getbalance"}}, "100", 1},
		{url.Values{"action": {"reportbad"}, "id": {ids[0]}}, "OK_REPORT_RECORDED", 1},
		{url.Values{"action": {"reportgood"}, "id": {ids[0]}}, "OK_REPORT_RECORDED", 1},
	} {
		c.q.Set("key", r.o.Key)
		if got, _ := r.legacy(t, "GET", "/res.php", c.q, "", nil); got != c.plain {
			t.Errorf("%v: %q, want %q", c.q, got, c.plain)
		}
		c.q.Set("json", "1")
		c.q.Set("header_acao", "1")
		a := r.do(t, Request{Method: "GET", Path: "/res.php", Query: c.q.Encode()})
		var doc map[string]any
		json.Unmarshal(a.Body, &doc)
		if doc["status"] != c.jsonStatus || doc["request"] != strings.TrimPrefix(c.plain, "OK|") || a.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%v: %v (ACAO %q)", c.q, doc, a.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

// taskErrors is the error table through the createTask protocol: errorId 1 and the code.
func (r *run) taskErrors(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(r.cars)
	task := func(m map[string]any) map[string]any { return map[string]any{"clientKey": r.o.Key, "task": m} }
	cases := []struct {
		name, path string
		doc        any
		code       string
	}{
		{"invalid_request: no task", "/createTask", map[string]any{"clientKey": r.o.Key}, "ERROR_INVALID_TASK_DATA"},
		{"invalid_image", "/createTask", task(map[string]any{"type": "ReCaptchaV2Classification", "image": "bm90IGEgcGljdHVyZQ==", "question": "cars"}), "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"unsupported_question", "/createTask", task(map[string]any{"type": "ReCaptchaV2Classification", "image": b64, "question": "llamas"}), "ERROR_INVALID_TASK_DATA"},
		{"invalid_grid", "/createTask", task(map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64}, "metadata": map[string]any{"Grid": "5x5", "Task": "cars"}}), "ERROR_INVALID_TASK_DATA"},
		{"grid_required", "/createTask", task(map[string]any{"type": "GridTask", "comment": "cars", "body": base64.StdEncoding.EncodeToString(grayPNG(200, 120))}), "ERROR_INVALID_TASK_DATA"},
		{"no such task", "/getTaskResult", map[string]any{"clientKey": r.o.Key, "taskId": 987654321}, "ERROR_NO_SUCH_CAPCHA_ID"},
		{"task not supported", "/createTask", task(map[string]any{"type": "RecaptchaV2TaskProxyless", "websiteURL": "https://example.com", "websiteKey": "k"}), "ERROR_TASK_NOT_SUPPORTED"},
		{"url refused", "/createTask", task(map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imageUrls": []string{"http://169.254.169.254/latest/meta-data/"}, "metadata": map[string]any{"Grid": "3x3", "Task": "cars"}}), "ERROR_IMAGE_URL_NOT_ALLOWED"},
		{"question as a picture", "/createTask", task(map[string]any{"type": "GridTask", "body": b64, "imgInstructions": b64}), "ERROR_IMGINSTRUCTIONS_NOT_SUPPORTED"},
	}
	if r.o.KeyChecked {
		cases = append(cases, struct {
			name, path string
			doc        any
			code       string
		}{"invalid_token", "/createTask", map[string]any{"clientKey": "wrong-key-0123456789abcdef", "task": map[string]any{"type": "GridTask"}}, "ERROR_KEY_DOES_NOT_EXIST"},
			struct {
				name, path string
				doc        any
				code       string
			}{"invalid_token getBalance", "/getBalance", map[string]any{"clientKey": ""}, "ERROR_KEY_DOES_NOT_EXIST"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.post(t, c.path, c.doc)
			if got["errorId"] != float64(1) || got["errorCode"] != c.code || got["errorDescription"] == "" {
				t.Fatalf("got %v, want %s", got, c.code)
			}
		})
	}
	if r.o.KeyChecked {
		t.Run("a key only as a bearer", func(t *testing.T) {
			a := r.do(t, Request{Method: "POST", Path: "/getBalance", ContentType: "application/json", Authorization: "Bearer " + r.o.Key, Body: []byte(`{}`)})
			var got map[string]any
			json.Unmarshal(a.Body, &got)
			if d, _ := got["errorDescription"].(string); got["errorCode"] != "ERROR_KEY_DOES_NOT_EXIST" || !strings.Contains(d, "clientKey") || strings.Contains(d, "Bearer") {
				t.Fatalf("%s: want ERROR_KEY_DOES_NOT_EXIST naming clientKey", a.Body)
			}
		})
	}
	t.Run("method_not_allowed", func(t *testing.T) {
		a := r.send(t, Request{Method: "GET", Path: "/createTask"})
		if a.Status != 200 || !strings.Contains(string(a.Body), `"errorCode":"ERROR_NO_SUCH_METHOD"`) {
			t.Fatalf("GET /createTask: %d %s", a.Status, a.Body)
		}
	})
}

// legacyErrors is the error table through in.php/res.php, plain and json=1.
func (r *run) legacyErrors(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(r.cars)
	good := func(k, v string) url.Values {
		q := url.Values{"key": {r.o.Key}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"cars"}, "body": {b64}}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	cases := []struct {
		name, path string
		q          url.Values
		code       string
	}{
		{"invalid_image", "/in.php", good("body", "bm90IGEgcGljdHVyZQ=="), "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"unsupported_question", "/in.php", good("textinstructions", "llamas"), "ERROR_BAD_PARAMETERS"},
		{"question as a picture", "/in.php", func() url.Values { q := good("textinstructions", ""); q.Set("imginstructions", b64); return q }(), "ERROR_IMGINSTRUCTIONS_NOT_SUPPORTED"},
		{"not the grid method", "/in.php", good("method", "userrecaptcha"), "ERROR_BAD_PARAMETERS"},
		{"no such task", "/res.php", url.Values{"key": {r.o.Key}, "action": {"get"}, "id": {"987654321"}}, "ERROR_WRONG_CAPTCHA_ID"},
		{"unknown action", "/res.php", url.Values{"key": {r.o.Key}, "action": {"userinfo"}}, "ERROR_EMPTY_ACTION"},
		{"a parameter given twice (key and KEY)", "/in.php", func() url.Values { q := good("key", r.o.Key); q.Set("KEY", "wrong-key-0123456789abcdef"); return q }(), "ERROR_BAD_PARAMETERS"},
	}
	if r.o.KeyChecked {
		cases = append(cases, struct {
			name, path string
			q          url.Values
			code       string
		}{"invalid_token", "/in.php", good("key", "wrong-key-0123456789abcdef"), "ERROR_KEY_DOES_NOT_EXIST"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, _ := r.legacy(t, "POST", c.path, nil, "application/x-www-form-urlencoded", []byte(c.q.Encode())); got != c.code {
				t.Fatalf("plain: %q, want %s", got, c.code)
			}
			c.q.Set("json", "1")
			if _, doc := r.legacy(t, "GET", c.path, c.q, "", nil); doc["status"] != float64(0) || doc["request"] != c.code || doc["error_text"] == "" {
				t.Fatalf("json=1: %v, want %s", doc, c.code)
			}
		})
	}
	t.Run("the same ambiguous body, 40 times", func(t *testing.T) {
		body := []byte(`{"key":"` + r.o.Key + `","KEY":"wrong-key-0123456789abcdef","method":"base64","recaptcha":1,"textinstructions":"cars","body":"` + b64 + `"}`)
		for range 40 {
			if got, _ := r.legacy(t, "POST", "/in.php", nil, "application/json", body); got != "ERROR_BAD_PARAMETERS" {
				t.Fatalf("%q, want ERROR_BAD_PARAMETERS every time", got)
			}
		}
	})
	if r.o.KeyChecked {
		t.Run("a key only as a bearer", func(t *testing.T) {
			a := r.do(t, Request{Method: "GET", Path: "/res.php", Query: "action=getbalance&json=1", Authorization: "Bearer " + r.o.Key})
			if body := string(a.Body); !strings.Contains(body, `"request":"ERROR_KEY_DOES_NOT_EXIST"`) || !strings.Contains(body, "key=") || strings.Contains(body, "Bearer") {
				t.Fatalf("%s: want ERROR_KEY_DOES_NOT_EXIST naming key", body)
			}
		})
	}
}

// grayPNG is a picture of no grid: not an engine size, no separators.
func grayPNG(w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(60 + i%97)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
