package taskemu

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

func post(t *testing.T, e *Emulator, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	raw, _ := io.ReadAll(w.Body)
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	return w.Code, doc
}

// solved answers one task and returns its id as the provider wrote it.
func solved(t *testing.T, e *Emulator) string {
	img := base64.StdEncoding.EncodeToString(testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG())
	if e.kind == CapMonster {
		_, doc := post(t, e, "/createTask", `{"clientKey":"k","task":{"type":"ComplexImageTask","class":"recaptcha","imagesBase64":["`+img+`"],"metadata":{"Grid":"3x3","TaskDefinition":"/m/0k4j"}}}`)
		id, _ := json.Marshal(doc["taskId"])
		if _, res := post(t, e, "/getTaskResult", `{"clientKey":"k","taskId":`+string(id)+`}`); res["status"] != "processing" {
			t.Fatalf("%v", res)
		}
		if _, res := post(t, e, "/getTaskResult", `{"clientKey":"k","taskId":`+string(id)+`}`); res["status"] != "ready" {
			t.Fatalf("%v", res)
		}
		return string(id)
	}
	_, doc := post(t, e, "/createTask", `{"clientKey":"k","task":{"type":"ReCaptchaV2Classification","image":"`+img+`","question":"/m/0k4j"}}`)
	return doc["taskId"].(string)
}

// Reports are taken as each provider documents them, for tasks it answered, and counted; any
// other shape, key or task is refused with the provider's code.
func TestReports(t *testing.T) {
	cm := New(CapMonster, "k")
	id := solved(t, cm)
	cs := New(CapSolver, "k")
	sid := solved(t, cs)
	for _, c := range []struct {
		e    *Emulator
		path string
		body string
		code string // errorCode; "" accepted
	}{
		{cm, "/reportIncorrectImageCaptcha", `{"clientKey":"k","taskId":` + id + `}`, ""},
		{cm, "/reportIncorrectImageCaptcha", `{"clientKey":"k","taskId":"` + id + `"}`, "ERROR_INVALID_TASK_DATA"},
		{cm, "/reportIncorrectImageCaptcha", `{"clientKey":"k","taskId":` + id + `,"extra":1}`, "ERROR_INVALID_TASK_DATA"},
		{cm, "/reportIncorrectImageCaptcha", `{"clientKey":"x","taskId":` + id + `}`, "ERROR_KEY_DOES_NOT_EXIST"},
		{cm, "/reportIncorrectImageCaptcha", `{"clientKey":"k","taskId":99}`, "ERROR_NO_SUCH_CAPCHA_ID"},
		{cm, "/feedbackTask", `{"clientKey":"k","taskId":` + id + `}`, "ERROR_BAD_REQUEST"},
		{cs, "/feedbackTask", `{"clientKey":"k","taskId":"` + sid + `","result":{"invalid":true}}`, ""},
		{cs, "/feedbackTask", `{"clientKey":"k","taskId":"` + sid + `","result":{}}`, "ERROR_INVALID_TASK_DATA"},
		{cs, "/feedbackTask", `{"clientKey":"k","taskId":"` + sid + `"}`, "ERROR_INVALID_TASK_DATA"},
		{cs, "/feedbackTask", `{"clientKey":"k","taskId":"emulated-x","result":{"invalid":true}}`, "ERROR_NO_SUCH_CAPCHA_ID"},
		{cs, "/reportIncorrectImageCaptcha", `{"clientKey":"k","taskId":1}`, "ERROR_BAD_REQUEST"},
		{New(YesCaptcha, "k"), "/feedbackTask", `{"clientKey":"k","taskId":"a","result":{"invalid":true}}`, "ERROR_BAD_REQUEST"},
	} {
		_, doc := post(t, c.e, c.path, c.body)
		got, _ := doc["errorCode"].(string)
		if got != c.code || (c.code == "" && doc["errorId"] != 0.0) {
			t.Errorf("%s %s %s: %v, want %q", c.e.kind, c.path, c.body, doc, c.code)
		}
	}
	if cm.Reports(id) != 1 || cs.Reports(sid) != 1 || cm.Reports("") != 1 {
		t.Errorf("accepted: capmonster %d, capsolver %d", cm.Reports(id), cs.Reports(sid))
	}
}
