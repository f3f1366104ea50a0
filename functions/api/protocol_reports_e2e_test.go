//go:build e2e

package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/protocolcases"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// taskPost sends one createTask-protocol request and decodes its JSON answer.
func (c *chainFn) taskPost(t *testing.T, path string, doc map[string]any) map[string]any {
	t.Helper()
	doc["clientKey"] = "any-key"
	b, _ := json.Marshal(doc)
	a := c.sendEvent(t, protocolcases.Request{Method: "POST", Path: path, ContentType: "application/json", Body: b})
	var out map[string]any
	if a.Status != 200 || json.Unmarshal(a.Body, &out) != nil {
		t.Fatalf("%s: %d %s", path, a.Status, a.Body)
	}
	return out
}

// otherCars is a challenge whose answer differs from std3x3's: the protocols' ids of two tasks
// with the same answer for the same key are the same id.
var otherCars = testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{1, 2}, Seed: 2}

func (c *chainFn) solveTask(t *testing.T, ch testimage.Challenge) float64 {
	t.Helper()
	out := c.taskPost(t, "/createTask", map[string]any{"task": map[string]any{"type": "ComplexImageTask", "class": "recaptcha",
		"imagesBase64": []string{base64.StdEncoding.EncodeToString(ch.PNG())}, "metadata": map[string]any{"Grid": "3x3", "Task": "cars"}}})
	id, ok := out["taskId"].(float64)
	if out["errorId"] != 0.0 || !ok {
		t.Fatalf("createTask: %v", out)
	}
	return id
}

// createTask's report routes with FORWARD_REPORTS=on, through the real bootstrap: a report of a
// wrong answer reaches CapMonster's emulator with CapMonster's own task id exactly once, and
// the answer's message says what became of it; a right one is not sent (CapMonster has no
// method for it), and the message says so. Off, nothing is sent and the message is "ok".
func TestCreateTaskReportsReachCapMonster(t *testing.T) {
	ch := startChain(t, allKeys(), "PROVIDERS=capmonster", "FORWARD_REPORTS=on")
	wrong, right := ch.solveTask(t, std3x3), ch.solveTask(t, otherCars)
	if wrong == right {
		t.Fatal("two answers share a task id")
	}
	out := ch.taskPost(t, "/reportIncorrectImageCaptcha", map[string]any{"taskId": wrong})
	if out["errorId"] != 0.0 || out["status"] != "success" || out["message"] != "capmonster: sent" || ch.cm.Reports("") != 1 {
		t.Fatalf("report: %v; capmonster took %d", out, ch.cm.Reports(""))
	}
	if out := ch.taskPost(t, "/reportIncorrectRecaptcha", map[string]any{"taskId": wrong}); out["message"] != "capmonster: duplicate" || ch.cm.Reports("") != 1 {
		t.Fatalf("the same answer again: %v; capmonster took %d", out, ch.cm.Reports(""))
	}
	if out := ch.taskPost(t, "/reportCorrectRecaptcha", map[string]any{"taskId": right}); out["message"] != "capmonster: no_method" || ch.cm.Reports("") != 1 {
		t.Fatalf("a right answer: %v; capmonster took %d", out, ch.cm.Reports(""))
	}
	ch.waitOutput(func(o string) bool { return strings.Contains(o, `"report_outcome":"no_method"`) })

	off := startChain(t, allKeys(), "PROVIDERS=capmonster")
	id := off.solveTask(t, std3x3)
	if out := off.taskPost(t, "/reportIncorrectImageCaptcha", map[string]any{"taskId": id}); out["message"] != "ok" || off.cm.Reports("") != 0 {
		t.Fatalf("FORWARD_REPORTS off: %v; capmonster took %d", out, off.cm.Reports(""))
	}
}

// CapSolver's feedbackTask and 2Captcha's reportbad, with FORWARD_REPORTS=on: each reaches
// CapSolver's emulator once, with CapSolver's own task id, after a failed try too; res.php still
// answers its one word.
func TestProtocolReportsReachCapSolver(t *testing.T) {
	ch := startChain(t, allKeys(), "PROVIDERS=capsolver", "FORWARD_REPORTS=on")
	id := ch.solveTask(t, std3x3)
	// CapSolver fails the first try: the report is sent again, and taken once.
	ch.cs.InjectReport(taskemu.Fault{Status: 503})
	out := ch.taskPost(t, "/feedbackTask", map[string]any{"taskId": id, "result": map[string]any{"invalid": true}})
	if out["message"] != "capsolver: sent" || ch.cs.Reports("") != 1 {
		t.Fatalf("feedbackTask: %v; capsolver took %d", out, ch.cs.Reports(""))
	}
	q := url.Values{"key": {"any-key"}, "method": {"base64"}, "body": {b64Tile()}, "recaptcha": {"1"}, "textinstructions": {"cars"}}
	a := ch.sendEvent(t, protocolcases.Request{Method: "POST", Path: "/in.php", ContentType: "application/x-www-form-urlencoded", Body: []byte(q.Encode())})
	legacyID, ok := strings.CutPrefix(string(a.Body), "OK|")
	if !ok {
		t.Fatalf("in.php: %s", a.Body)
	}
	for i := 0; i < 2; i++ {
		a = ch.sendEvent(t, protocolcases.Request{Method: "GET", Path: "/res.php", Query: "key=any-key&action=reportbad&id=" + legacyID})
		if string(a.Body) != "OK_REPORT_RECORDED" || ch.cs.Reports("") != 2 {
			t.Fatalf("reportbad %d: %s; capsolver took %d", i+1, a.Body, ch.cs.Reports(""))
		}
	}
	ch.waitOutput(func(o string) bool { return strings.Contains(o, `"report_outcome":"duplicate"`) })
}
