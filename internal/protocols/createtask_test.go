package protocols

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// Every task type is answered in its own shape, by createTask (ReCaptchaV2Classification) or by
// the first getTaskResult, which is ready at once.
func TestEveryTaskType(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name     string
		task     map[string]any
		solution string
		numeric  bool // taskId a JSON number
	}{
		{"ComplexImageTask text", map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64(carsPicture)},
			"metadata": map[string]any{"Grid": "3x3", "Task": "Select all images with cars"}},
			`{"answer":[true,false,false,false,true,false,false,false,true]}`, true},
		{"ComplexImageTask label id, any case", map[string]any{"type": "compleximagetask", "class": "ReCaptcha", "imagesBase64": []string{b64(carsPicture)},
			"metadata": map[string]any{"Grid": "3x3", "TaskDefinition": cars}, "websiteURL": "https://example.com", "userAgent": "x"},
			`{"answer":[true,false,false,false,true,false,false,false,true]}`, true},
		{"ComplexImageTask tile", map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64(tilePicture)},
			"metadata": map[string]any{"Grid": "1x1", "TaskDefinition": cars}}, `{"answer":[true]}`, true},
		{"ReCaptchaV2Classification", map[string]any{"type": "ReCaptchaV2Classification", "image": b64(carsPicture), "question": cars, "websiteUrl": "https://example.com"},
			`{"objects":[0,4,8],"size":3,"type":"multi"}`, false},
		{"ReCaptchaV2Classification German sentence", map[string]any{"type": "ReCaptchaV2Classification", "image": b64(carsPicture),
			"question": "Wählen Sie alle Bilder mit <strong>Autos</strong> aus."}, `{"objects":[0,4,8],"size":3,"type":"multi"}`, false},
		{"ReCaptchaV2Classification tile", map[string]any{"type": "ReCaptchaV2Classification", "image": b64(tilePicture), "question": "cars"},
			`{"hasObject":true,"size":1,"type":"single"}`, false},
		{"ReCaptchaV2Classification 4x4", map[string]any{"type": "ReCaptchaV2Classification", "image": b64(busesShot), "question": "buses"},
			`{"objects":[1,6],"size":4,"type":"multi"}`, false},
		{"GridTask", map[string]any{"type": "GridTask", "body": b64(carsPicture), "rows": 3, "columns": 3, "comment": "cars"},
			`{"click":[1,5,9]}`, true},
		{"GridTask data URL, no rows", map[string]any{"type": "GridTask", "body": "data:image/png;base64," + b64(carsPicture), "comment": "cars", "imgType": "recaptcha"},
			`{"click":[1,5,9]}`, true},
		{"ImageToCoordinatesTask", map[string]any{"type": "ImageToCoordinatesTask", "body": b64(carsPicture), "comment": "cars", "mode": "points"},
			`{"coordinates":[[50,50],[150,150],[250,250]]}`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, created := f.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": c.task, "softId": 54, "languagePool": "en"})
			if created["errorId"] != float64(0) {
				t.Fatalf("createTask: %v", created)
			}
			id := created["taskId"]
			if _, isNum := id.(float64); isNum != c.numeric {
				t.Fatalf("taskId %#v: want a JSON number: %v", id, c.numeric)
			}
			if !c.numeric { // its clients read the answer from createTask itself
				if created["status"] != "ready" || jsonOf(t, created["solution"]) != c.solution {
					t.Fatalf("createTask answered %v, want ready with %s", created, c.solution)
				}
				if _, err := strconv.ParseUint(id.(string), 10, 53); err != nil {
					t.Fatalf("taskId %q is not digits below 2^53", id)
				}
			} else if n := id.(float64); n <= 0 || n >= 1<<53 || n != float64(uint64(n)) {
				t.Fatalf("taskId %v is not a whole number in (0, 2^53)", n)
			}
			_, got := f.post(t, GetTaskResultPath, map[string]any{"clientKey": aliceKey, "taskId": id})
			if got["errorId"] != float64(0) || got["status"] != "ready" || jsonOf(t, got["solution"]) != c.solution {
				t.Fatalf("getTaskResult answered %v, want ready with %s", got, c.solution)
			}
		})
	}
}

// A screenshot's coordinates are the service's own clicks (its separators are found), which the
// id cannot carry: the instance that solved the task answers them.
func TestCoordinatesOfAScreenshot(t *testing.T) {
	f := newFixture(t)
	res, err := f.solver.Service.Recognize(context.Background(), recognition.Input{Image: busesShot, Question: "buses"})
	if err != nil {
		t.Fatal(err)
	}
	want := "["
	for i, o := range res.Objects {
		x, y := res.Image.Tiles[o].Center()
		if i > 0 {
			want += ","
		}
		want += "[" + strconv.Itoa(x) + "," + strconv.Itoa(y) + "]"
	}
	want += "]"
	if want == jsonOf(t, evenClicks(res.Grid, res.Objects)) {
		t.Fatalf("the screenshot's clicks %s are those of an even split: the test shows nothing", want)
	}
	_, created := f.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "ImageToCoordinatesTask", "body": b64(busesShot), "comment": "buses"}})
	_, got := f.post(t, GetTaskResultPath, map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]})
	if jsonOf(t, got["solution"]) != `{"coordinates":`+want+`}` {
		t.Fatalf("got %v, want the coordinates %s", got, want)
	}
	// Another instance has no record of it: no such task, never a wrong answer.
	other := newFixture(t)
	_, got = other.post(t, GetTaskResultPath, map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]})
	if got["errorCode"] != "ERROR_NO_SUCH_CAPCHA_ID" {
		t.Fatalf("another instance answered %v", got)
	}
}

// Any instance answers getTaskResult: a fresh handler reads an id another one issued.
func TestAnyInstanceAnswers(t *testing.T) {
	a, b := newFixture(t), newFixture(t)
	_, created := a.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "GridTask", "body": b64(carsPicture), "comment": "cars"}})
	_, got := b.post(t, GetTaskResultPath, map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]})
	if jsonOf(t, got["solution"]) != `{"click":[1,5,9]}` {
		t.Fatalf("the other instance answered %v", got)
	}
}

func TestBalanceAndReports(t *testing.T) {
	f := newFixture(t)
	_, bal := f.post(t, GetBalancePath, map[string]any{"clientKey": aliceKey})
	if bal["errorId"] != float64(0) || bal["balance"] != float64(Balance) {
		t.Fatalf("getBalance: %v", bal)
	}
	_, created := f.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "ImageToCoordinatesTask", "body": b64(carsPicture), "comment": "cars"}})
	for path, bad := range reportPaths {
		doc := map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]}
		if path == "/feedbackTask" {
			doc["result"] = map[string]any{"invalid": true}
			bad = true
		}
		f.reports.list = nil
		_, got := f.post(t, path, doc)
		if got["errorId"] != float64(0) || got["status"] != "success" {
			t.Fatalf("%s: %v", path, got)
		}
		if want := map[bool]string{true: "bad:", false: "good:"}[bad] + "capsolver"; len(f.reports.list) != 1 || f.reports.list[0] != want {
			t.Fatalf("%s counted %v, want %s", path, f.reports.list, want)
		}
		_, got = f.post(t, path, map[string]any{"clientKey": aliceKey, "taskId": 12345})
		if got["errorCode"] != "ERROR_NO_SUCH_CAPCHA_ID" {
			t.Fatalf("%s of an unknown task: %v", path, got)
		}
	}
	// feedbackTask with invalid false says the answer was right.
	f.reports.list = nil
	f.post(t, "/feedbackTask", map[string]any{"clientKey": aliceKey, "taskId": created["taskId"], "result": map[string]any{"invalid": false}})
	if len(f.reports.list) != 1 || f.reports.list[0] != "good:capsolver" {
		t.Fatalf("feedbackTask invalid false counted %v, want good:capsolver", f.reports.list)
	}
	if !strings.Contains(f.log.String(), `"report":"bad"`) || !strings.Contains(f.log.String(), `"task_id":"`+strconv.FormatUint(uint64(created["taskId"].(float64)), 10)+`"`) {
		t.Fatalf("the reports are not logged with their task id:\n%s", f.log)
	}
}

// The body's key is checked like the bearer key: a wrong or missing key is the protocol's key
// error, and a task id issued to one key is no task for another.
func TestKeys(t *testing.T) {
	f := newFixture(t)
	for _, doc := range []map[string]any{
		{"clientKey": "wrong-key-0123456789abcdef", "task": map[string]any{"type": "GridTask"}},
		{"task": map[string]any{"type": "GridTask"}},
		{"clientKey": ""},
	} {
		for _, path := range []string{CreateTaskPath, GetTaskResultPath, GetBalancePath, "/reportIncorrectRecaptcha"} {
			_, got := f.post(t, path, doc)
			if got["errorId"] != float64(1) || got["errorCode"] != "ERROR_KEY_DOES_NOT_EXIST" {
				t.Errorf("%s %v: %v", path, doc, got)
			}
		}
	}
	_, created := f.post(t, CreateTaskPath, map[string]any{"CLIENTKEY": aliceKey, "task": map[string]any{"type": "GridTask", "body": b64(carsPicture), "comment": "cars"}})
	if created["errorId"] != float64(0) {
		t.Fatalf("clientKey in another case: %v", created)
	}
	_, got := f.post(t, GetTaskResultPath, map[string]any{"clientKey": bobKey, "taskId": created["taskId"]})
	if got["errorCode"] != "ERROR_NO_SUCH_CAPCHA_ID" {
		t.Fatalf("bob read alice's task: %v", got)
	}
	if strings.Contains(f.log.String(), aliceKey) {
		t.Fatal("a key is in the log")
	}
}

// Every malformed request is the protocol's error, as HTTP 200, with the code of the table.
func TestTaskErrors(t *testing.T) {
	f := newFixture(t)
	task := func(m map[string]any) string { return jsonOf(t, map[string]any{"clientKey": aliceKey, "task": m}) }
	for _, c := range []struct {
		name, method, path, body, code string
	}{
		{"not JSON", "POST", CreateTaskPath, "clientKey=x", "ERROR_INVALID_TASK_DATA"},
		{"empty", "POST", CreateTaskPath, "", "ERROR_INVALID_TASK_DATA"},
		{"JSON list", "POST", CreateTaskPath, "[1,2]", "ERROR_INVALID_TASK_DATA"},
		{"GET", "GET", CreateTaskPath, "", "ERROR_NO_SUCH_METHOD"},
		{"no task", "POST", CreateTaskPath, task(nil), "ERROR_INVALID_TASK_DATA"},
		{"no type", "POST", CreateTaskPath, task(map[string]any{"body": "x"}), "ERROR_INVALID_TASK_DATA"},
		{"token task", "POST", CreateTaskPath, task(map[string]any{"type": "RecaptchaV2TaskProxyless", "websiteURL": "https://x", "websiteKey": "k"}), "ERROR_TASK_NOT_SUPPORTED"},
		{"other class", "POST", CreateTaskPath, task(map[string]any{"type": "ComplexImageTask", "class": "hcaptcha", "imagesBase64": []string{b64(carsPicture)}}), "ERROR_TASK_NOT_SUPPORTED"},
		{"imageUrls", "POST", CreateTaskPath, task(map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imageUrls": []string{"http://169.254.169.254/"}, "metadata": map[string]any{"Grid": "3x3", "Task": "cars"}}), "ERROR_IMAGE_URL_NOT_ALLOWED"},
		{"imageUrl", "POST", CreateTaskPath, task(map[string]any{"type": "GridTask", "imageUrl": "http://127.0.0.1/", "comment": "cars"}), "ERROR_IMAGE_URL_NOT_ALLOWED"},
		{"two pictures", "POST", CreateTaskPath, task(map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64(tilePicture), b64(tilePicture)}, "metadata": map[string]any{"Grid": "1x1", "Task": "cars"}}), "ERROR_INVALID_TASK_DATA"},
		{"no picture", "POST", CreateTaskPath, task(map[string]any{"type": "ReCaptchaV2Classification", "question": "cars"}), "ERROR_INVALID_TASK_DATA"},
		{"not a picture", "POST", CreateTaskPath, task(map[string]any{"type": "ReCaptchaV2Classification", "image": "bm90IGEgcGljdHVyZQ==", "question": "cars"}), "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"not base64", "POST", CreateTaskPath, task(map[string]any{"type": "ReCaptchaV2Classification", "image": "%%%", "question": "cars"}), "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"unknown question", "POST", CreateTaskPath, task(map[string]any{"type": "ReCaptchaV2Classification", "image": b64(carsPicture), "question": "llamas"}), "ERROR_INVALID_TASK_DATA"},
		{"no question", "POST", CreateTaskPath, task(map[string]any{"type": "ImageToCoordinatesTask", "body": b64(carsPicture)}), "ERROR_INVALID_TASK_DATA"},
		{"picture question", "POST", CreateTaskPath, task(map[string]any{"type": "GridTask", "body": b64(carsPicture), "imgInstructions": b64(tilePicture)}), "ERROR_IMGINSTRUCTIONS_NOT_SUPPORTED"},
		{"rows and columns differ", "POST", CreateTaskPath, task(map[string]any{"type": "GridTask", "body": b64(carsPicture), "rows": 3, "columns": 4, "comment": "cars"}), "ERROR_INVALID_TASK_DATA"},
		{"bad grid", "POST", CreateTaskPath, task(map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{b64(carsPicture)}, "metadata": map[string]any{"Grid": "5x5", "Task": "cars"}}), "ERROR_INVALID_TASK_DATA"},
		{"rectangles", "POST", CreateTaskPath, task(map[string]any{"type": "ImageToCoordinatesTask", "body": b64(carsPicture), "comment": "cars", "mode": "rectangles"}), "ERROR_TASK_NOT_SUPPORTED"},
		{"wrong field type", "POST", CreateTaskPath, task(map[string]any{"type": "GridTask", "body": 12}), "ERROR_INVALID_TASK_DATA"},
		{"unknown id", "POST", GetTaskResultPath, `{"clientKey":"` + aliceKey + `","taskId":987654321}`, "ERROR_NO_SUCH_CAPCHA_ID"},
		{"id not a number", "POST", GetTaskResultPath, `{"clientKey":"` + aliceKey + `","taskId":"abc"}`, "ERROR_NO_SUCH_CAPCHA_ID"},
		{"no id", "POST", GetTaskResultPath, `{"clientKey":"` + aliceKey + `"}`, "ERROR_NO_SUCH_CAPCHA_ID"},
		{"id over 2^53", "POST", GetTaskResultPath, `{"clientKey":"` + aliceKey + `","taskId":18014398509481984}`, "ERROR_NO_SUCH_CAPCHA_ID"},
		{"too large", "POST", CreateTaskPath, `{"clientKey":"` + aliceKey + `","task":{"body":"` + strings.Repeat("A", 6<<20) + `"}}`, "ERROR_TOO_BIG_CAPTCHA_FILESIZE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, got := f.send(t, wire.Request{Method: c.method, Path: c.path, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(c.body)})
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content-type %q", resp.Header.Get("Content-Type"))
			}
			if got["errorId"] != float64(1) || got["errorCode"] != c.code || got["errorDescription"] == "" || got["trace_id"] == "" {
				t.Fatalf("got %v, want errorId 1 and %s with a description", got, c.code)
			}
		})
	}
}

// An empty address field (an empty list, an empty string, null) is no address: the picture sent
// with it is recognized. A filled one is refused, never fetched.
func TestEmptyAddressFieldsAreNoAddress(t *testing.T) {
	f := newFixture(t)
	task := func(field string, v any) map[string]any {
		return map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "ComplexImageTask", "class": "recaptcha",
			"imagesBase64": []string{b64(carsPicture)}, "metadata": map[string]any{"Grid": "3x3", "TaskDefinition": cars}, field: v}}
	}
	for _, c := range []struct {
		field string
		v     any
		code  string
	}{
		{"imageUrls", []string{}, ""},
		{"imageUrl", "", ""},
		{"bodyUrl", nil, ""},
		{"imageUrls", []string{"https://example.com/a.png"}, "ERROR_IMAGE_URL_NOT_ALLOWED"},
		{"imageUrl", "https://example.com/a.png", "ERROR_IMAGE_URL_NOT_ALLOWED"},
	} {
		_, got := f.post(t, CreateTaskPath, task(c.field, c.v))
		if c.code == "" && got["errorId"] != 0.0 || c.code != "" && got["errorCode"] != c.code {
			t.Errorf("%s %v: %v, want error code %q", c.field, c.v, got, c.code)
		}
	}
}

type failingUpstream struct{}

func (failingUpstream) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	return nil, errors.New("connection reset")
}

// A fault behind a protocol's answer is logged as the service's fault (an error, with its
// cause), not as the protocol's refusal of a request.
func TestProtocolFaultsAreLoggedAsFaults(t *testing.T) {
	f := newFixture(t)
	f.solver.Service.Upstream = failingUpstream{}
	_, got := f.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "GridTask", "body": b64(carsPicture), "comment": "cars"}})
	if got["errorId"] != 1.0 {
		t.Fatalf("%v", got)
	}
	if !strings.Contains(f.log.String(), `"level":"ERROR","msg":"request"`) || !strings.Contains(f.log.String(), `"cause":"`) {
		t.Fatalf("the fault is not logged as an error with its cause:\n%s", f.log)
	}
}
