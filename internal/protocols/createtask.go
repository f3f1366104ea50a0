package protocols

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// The task types served, as clients spell them (matched in any case).
const (
	typeComplexImage   = "ComplexImageTask"
	typeClassification = "ReCaptchaV2Classification"
	typeGrid           = "GridTask"
	typeCoordinates    = "ImageToCoordinatesTask"
)

// envelope is every createTask-protocol request. encoding/json matches names in any case, so
// clientKey, clientkey and ClientKey are one; other top-level keys (softId, callbackUrl,
// languagePool, ...) are ignored, and callbackUrl is never called.
type envelope struct {
	ClientKey *string         `json:"clientKey"`
	Task      *taskDoc        `json:"task"`
	TaskID    json.RawMessage `json:"taskId"`
	// feedbackTask's verdict.
	Result *struct {
		Invalid bool `json:"invalid"`
	} `json:"result"`
}

// taskDoc is the union of the task types' fields. websiteURL, websiteKey, userAgent, confidence
// and the like are ignored.
type taskDoc struct {
	Type         string          `json:"type"`
	Class        string          `json:"class"`
	ImagesBase64 []string        `json:"imagesBase64"`
	Metadata     json.RawMessage `json:"metadata"`
	Image        string          `json:"image"`
	Question     string          `json:"question"`
	Body         string          `json:"body"`
	Rows         json.RawMessage `json:"rows"`
	Columns      json.RawMessage `json:"columns"`
	Comment      string          `json:"comment"`
	ImgInstr     string          `json:"imgInstructions"`
	Mode         string          `json:"mode"`
	// Fetch-by-URL fields: refused, never fetched.
	ImageURLs json.RawMessage `json:"imageUrls"`
	ImageURL  json.RawMessage `json:"imageUrl"`
	BodyURL   json.RawMessage `json:"bodyUrl"`
}

type metadataDoc struct {
	Grid           json.RawMessage `json:"Grid"`
	Task           string          `json:"Task"`
	TaskDefinition string          `json:"TaskDefinition"`
}

func (c *call) serveTask(ctx context.Context, path string) httpapi.Response {
	resp, f := c.task(ctx, path)
	if f != nil {
		c.fail = f
		return c.taskFailure(*f)
	}
	return resp
}

func (c *call) task(ctx context.Context, path string) (httpapi.Response, *failure) {
	c.add("action", strings.TrimPrefix(path, "/"))
	if c.req.Method != http.MethodPost {
		f := fromError(apierr.New(apierr.CodeMethodNotAllowed, "use POST with a JSON body"))
		return httpapi.Response{}, &f
	}
	if len(c.req.Body) > c.h.Config.MaxBodyBytes {
		f := fromError(apierr.New(apierr.CodeTooLarge, "the body is over the limit of %d bytes", c.h.Config.MaxBodyBytes))
		return httpapi.Response{}, &f
	}
	// JSON whatever the content type says: clients send text/plain, json/application or none.
	var env envelope
	if err := json.Unmarshal(c.req.Body, &env); err != nil {
		return httpapi.Response{}, jsonFailure(err, "the body is not one JSON object {\"clientKey\", ...}")
	}
	key := ""
	if env.ClientKey != nil {
		key = *env.ClientKey
	}
	if f := c.authenticate(ctx, key); f != nil {
		return httpapi.Response{}, f
	}
	switch path {
	case CreateTaskPath:
		return c.createTask(ctx, env.Task)
	case GetTaskResultPath:
		a, f := c.readTask(env.TaskID)
		if f != nil {
			return httpapi.Response{}, f
		}
		return taskJSON(resultBody(a, c.taskID)), nil
	case GetBalancePath:
		return taskJSON(map[string]any{"errorId": 0, "balance": Balance}), nil
	}
	bad, ok := reportPaths[path]
	if !ok {
		f := fromError(apierr.New(apierr.CodeNotFound, "no such method"))
		return httpapi.Response{}, &f
	}
	a, f := c.readTask(env.TaskID)
	if f != nil {
		return httpapi.Response{}, f
	}
	if path == "/feedbackTask" {
		bad = env.Result != nil && env.Result.Invalid
	}
	c.report(a, bad)
	return taskJSON(map[string]any{"errorId": 0, "status": "success", "message": "ok"}), nil
}

// readTask reads a taskId given as a number or a string of digits.
func (c *call) readTask(raw json.RawMessage) (answer, *failure) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		f := errNoSuchTask
		return answer{}, &f
	}
	c.taskID = id
	a, ok := c.ids.read(id, c.h.recs)
	if !ok {
		f := errNoSuchTask
		return answer{}, &f
	}
	c.taskType = map[kind]string{kindComplexImage: typeComplexImage, kindClassification: typeClassification,
		kindGrid: typeGrid, kindCoordinates: typeCoordinates, kindRecord: typeCoordinates, kindLegacy: "in.php"}[a.kind]
	return a, nil
}

// createTask solves the task (decoded with the envelope, in one pass over the body: the picture
// is most of it).
func (c *call) createTask(ctx context.Context, task *taskDoc) (httpapi.Response, *failure) {
	if task == nil {
		f := fromError(apierr.New(apierr.CodeInvalidRequest, "task is required: {\"clientKey\", \"task\": {\"type\", ...}}"))
		return httpapi.Response{}, &f
	}
	t := *task
	for _, u := range []struct {
		name string
		v    json.RawMessage
	}{{"imageUrls", t.ImageURLs}, {"imageUrl", t.ImageURL}, {"bodyUrl", t.BodyURL}} {
		if len(u.v) > 0 && string(u.v) != "null" && string(u.v) != "[]" && string(u.v) != `""` {
			f := errURLRefused.with(u.name + " is refused: this service never fetches a picture from an address; send the picture itself, base64-encoded")
			return httpapi.Response{}, &f
		}
	}
	in, k, f := c.taskInput(t)
	if f != nil {
		return httpapi.Response{}, f
	}
	res, f := c.recognize(ctx, in)
	if f != nil {
		return httpapi.Response{}, f
	}
	a := answerOf(k, res)
	c.taskID = c.ids.issue(a, c.h.recs)
	if k == kindClassification { // its clients read the answer from createTask itself
		body := resultBody(a, c.taskID)
		body["taskId"] = formatID(c.taskID)
		body["errorCode"], body["errorDescription"] = "", ""
		return taskJSON(body), nil
	}
	return taskJSON(map[string]any{"errorId": 0, "taskId": c.taskID}), nil
}

// taskInput reads one task into the service's input.
func (c *call) taskInput(t taskDoc) (recognition.Input, kind, *failure) {
	bad := func(format string, args ...any) (recognition.Input, kind, *failure) {
		f := fromError(apierr.New(apierr.CodeInvalidRequest, format, args...))
		return recognition.Input{}, 0, &f
	}
	var in recognition.Input
	var k kind
	var picture string
	switch {
	case strings.EqualFold(t.Type, typeComplexImage):
		c.taskType, k = typeComplexImage, kindComplexImage
		if !strings.EqualFold(t.Class, "recaptcha") {
			f := errTaskNotSupported.with(fmt.Sprintf("ComplexImageTask of class %q is not served: only class recaptcha", clip(t.Class)))
			return in, 0, &f
		}
		if len(t.ImagesBase64) != 1 {
			return bad("imagesBase64 must hold exactly one picture (the whole challenge), not %d", len(t.ImagesBase64))
		}
		picture = t.ImagesBase64[0]
		var m metadataDoc
		if len(t.Metadata) > 0 && string(t.Metadata) != "null" {
			if err := json.Unmarshal(t.Metadata, &m); err != nil {
				return recognition.Input{}, 0, jsonFailure(err, "metadata is not a JSON object {\"Grid\", \"Task\" or \"TaskDefinition\"}")
			}
		}
		in.Grid = gridValue(m.Grid)
		in.Question = m.TaskDefinition
		if strings.TrimSpace(in.Question) == "" {
			in.Question = m.Task
		}
	case strings.EqualFold(t.Type, typeClassification):
		c.taskType, k = typeClassification, kindClassification
		picture, in.Question = t.Image, t.Question
	case strings.EqualFold(t.Type, typeGrid):
		c.taskType, k = typeGrid, kindGrid
		picture, in.Question = t.Body, t.Comment
		rows, cols := gridValue(t.Rows), gridValue(t.Columns)
		switch {
		case rows != "" && cols != "" && rows != cols:
			f := fromError(apierr.New(apierr.CodeInvalidGrid, "rows %s and columns %s differ: reCAPTCHA grids are 3x3, 4x4 or 1x1", clip(rows), clip(cols)))
			return in, 0, &f
		case rows != "":
			in.Grid = rows
		default:
			in.Grid = cols
		}
		if strings.TrimSpace(in.Question) == "" && strings.TrimSpace(t.ImgInstr) != "" {
			f := errPictureQuestion.with("the question was given only as a picture (imgInstructions): send it as text in comment (a label id, a name or the widget's sentence)")
			return in, 0, &f
		}
	case strings.EqualFold(t.Type, typeCoordinates):
		c.taskType, k = typeCoordinates, kindCoordinates
		if t.Mode != "" && !strings.EqualFold(t.Mode, "points") {
			f := errTaskNotSupported.with(fmt.Sprintf("ImageToCoordinatesTask mode %q is not served: only points", clip(t.Mode)))
			return in, 0, &f
		}
		picture, in.Question = t.Body, t.Comment
	case t.Type == "":
		return bad("task.type is required: ComplexImageTask (class recaptcha), ReCaptchaV2Classification, GridTask or ImageToCoordinatesTask")
	default:
		c.taskType = clip(t.Type)
		f := errTaskNotSupported.with(fmt.Sprintf("task type %q is not served: this service recognizes reCAPTCHA grid pictures (ComplexImageTask class recaptcha, ReCaptchaV2Classification, GridTask, ImageToCoordinatesTask)", clip(t.Type)))
		return in, 0, &f
	}
	if picture == "" {
		return bad("the task has no picture: send it base64-encoded (%s)", map[kind]string{kindComplexImage: "imagesBase64",
			kindClassification: "image", kindGrid: "body", kindCoordinates: "body"}[k])
	}
	img, _, err := httpapi.DecodeImageString(picture, c.h.Service.Limits.MaxBytes)
	if err != nil {
		f := fromError(err)
		return in, 0, &f
	}
	if len(img) == 0 {
		f := fromError(apierr.New(apierr.CodeInvalidImage, "image is empty"))
		return in, 0, &f
	}
	in.Image = img
	return in, k, nil
}

// gridValue reads a grid given as "3x3", 3 or "3".
func gridValue(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(string(raw))
}

// resultBody is getTaskResult's answer for a, in the shape of the task type it was made by.
func resultBody(a answer, id uint64) map[string]any {
	var sol any
	switch a.kind {
	case kindComplexImage:
		bools := make([]bool, a.grid.Tiles())
		for _, o := range a.objects {
			bools[o] = true
		}
		sol = map[string]any{"answer": bools}
	case kindClassification:
		if a.grid == imaging.GridSingle {
			sol = map[string]any{"type": "single", "hasObject": len(a.objects) == 1, "size": 1}
		} else {
			sol = map[string]any{"type": "multi", "objects": a.objects, "size": int(a.grid)}
		}
	case kindGrid:
		sol = map[string]any{"click": oneBased(a.objects)}
	case kindCoordinates, kindRecord:
		sol = map[string]any{"coordinates": a.clicks}
	default: // an in.php task read through getTaskResult: 2Captcha's v2 shape
		sol = map[string]any{"click": oneBased(a.objects)}
	}
	return map[string]any{"errorId": 0, "status": "ready", "solution": sol}
}

func oneBased(objects []int) []int {
	out := make([]int, len(objects))
	for i, o := range objects {
		out[i] = o + 1
	}
	return out
}

func taskJSON(body map[string]any) httpapi.Response {
	b, _ := json.Marshal(body)
	return httpapi.Response{Status: http.StatusOK, Header: header("application/json"), Body: b}
}

// taskFailure is the createTask protocol's error: HTTP 200, errorId 1.
func (c *call) taskFailure(f failure) httpapi.Response {
	return taskJSON(map[string]any{"errorId": 1, "errorCode": f.task, "errorDescription": f.message, "trace_id": c.unit.TraceID})
}

// jsonFailure says what is wrong with a body encoding/json refused.
func jsonFailure(err error, otherwise string) *failure {
	var typeErr *json.UnmarshalTypeError
	msg := otherwise
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		msg = fmt.Sprintf("field %q has the wrong type", clip(typeErr.Field))
	}
	f := fromError(apierr.New(apierr.CodeInvalidRequest, "%s", msg))
	return &f
}

func clip(s string) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
