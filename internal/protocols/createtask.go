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
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
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

// Task is the createTask envelope's protocol: POST with a JSON body, the key in clientKey.
type Task struct{ s *Solver }

var _ pipeline.Protocol = Task{}

// Name names the protocol in logs.
func (Task) Name() string { return "task" }

// Decode reads the envelope: JSON whatever the content type says (clients send text/plain,
// json/application or none), in one pass over the body (the picture is most of it).
func (t Task) Decode(req wire.Request) (pipeline.Call, error) {
	if req.Method != http.MethodPost {
		return nil, fromError(apierr.New(apierr.CodeMethodNotAllowed, "use POST with a JSON body"))
	}
	var env envelope
	if err := json.Unmarshal(req.Body, &env); err != nil {
		return nil, jsonFailure(err, "the body is not one JSON object {\"clientKey\", ...}")
	}
	key := ""
	if env.ClientKey != nil {
		key = *env.ClientKey
	}
	return taskCall{keyed: keyed(key), s: t.s, path: strings.TrimSuffix(req.Path, "/"), env: env}, nil
}

// Fail is the createTask protocol's error: HTTP 200, errorId 1.
func (Task) Fail(_ wire.Request, _ pipeline.Call, err error, traceID string) wire.Response {
	f := fromError(err)
	return taskJSON(map[string]any{"errorId": 1, "errorCode": f.task, "errorDescription": f.message, "trace_id": traceID})
}

// taskCall is one request of the createTask protocol.
type taskCall struct {
	keyed
	s    *Solver
	path string
	env  envelope
	ids  sealer // the caller's, once authenticated
}

// Serve answers the method the path names.
func (c taskCall) Serve(ctx context.Context, caller, _ string) (wire.Response, wire.Record, error) {
	rec := wire.Record{Attrs: []any{"action", strings.TrimPrefix(c.path, "/")}}
	ids, err := c.s.sealer(ctx, caller, c.keyed)
	if err != nil {
		return wire.Response{}, rec, err
	}
	c.ids = ids
	switch c.path {
	case CreateTaskPath:
		return c.createTask(ctx, caller, rec)
	case GetTaskResultPath:
		a, id, rec, err := c.readTask(rec)
		if err != nil {
			return wire.Response{}, rec, err
		}
		return taskJSON(resultBody(a, id)), rec, nil
	case GetBalancePath:
		return taskJSON(map[string]any{"errorId": 0, "balance": Balance}), rec, nil
	}
	bad, ok := reportPaths[c.path]
	if !ok {
		return wire.Response{}, rec, fromError(apierr.New(apierr.CodeNotFound, "no such method"))
	}
	a, id, rec, err := c.readTask(rec)
	if err != nil {
		return wire.Response{}, rec, err
	}
	if c.path == "/feedbackTask" {
		bad = c.env.Result != nil && c.env.Result.Invalid
	}
	attrs, said := c.s.report(ctx, caller, id, a, bad)
	if said == "" {
		said = "ok"
	}
	return taskJSON(map[string]any{"errorId": 0, "status": "success", "message": said}), rec.With(attrs...), nil
}

// readTask reads the taskId, given as a number or a string of digits.
func (c taskCall) readTask(rec wire.Record) (answer, uint64, wire.Record, error) {
	s := strings.Trim(strings.TrimSpace(string(c.env.TaskID)), `"`)
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return answer{}, 0, rec, errNoSuchTask
	}
	rec = rec.With("task_id", formatID(id))
	a, ok := c.ids.read(id, c.s.records())
	if !ok {
		return answer{}, id, rec, errNoSuchTask
	}
	taskType := map[kind]string{kindComplexImage: typeComplexImage, kindClassification: typeClassification,
		kindGrid: typeGrid, kindCoordinates: typeCoordinates, kindRecord: typeCoordinates, kindLegacy: "in.php"}[a.kind]
	return a, id, rec.With("task_type", taskType), nil
}

// createTask solves the task.
func (c taskCall) createTask(ctx context.Context, caller string, rec wire.Record) (wire.Response, wire.Record, error) {
	if c.env.Task == nil {
		return wire.Response{}, rec, fromError(apierr.New(apierr.CodeInvalidRequest, "task is required: {\"clientKey\", \"task\": {\"type\", ...}}"))
	}
	t := *c.env.Task
	rec = rec.With("task_type", taskTypeOf(t.Type))
	for _, u := range []struct {
		name string
		v    json.RawMessage
	}{{"imageUrls", t.ImageURLs}, {"imageUrl", t.ImageURL}, {"bodyUrl", t.BodyURL}} {
		if len(u.v) > 0 && string(u.v) != "null" && string(u.v) != "[]" && string(u.v) != `""` {
			return wire.Response{}, rec, errURLRefused.with(u.name + " is refused: this service never fetches a picture from an address; send the picture itself, base64-encoded")
		}
	}
	in, k, err := taskInput(t, c.s.Service.Limits.MaxBytes)
	if err != nil {
		return wire.Response{}, rec, err
	}
	res, err := c.s.Service.Recognize(ctx, in)
	rec.Result = res
	if err != nil {
		return wire.Response{}, rec, fromError(err)
	}
	a := answerOf(k, res)
	id := c.ids.issue(a, c.s.records())
	c.s.keep(caller, id, res)
	rec = rec.With("task_id", formatID(id))
	if k == kindClassification { // its clients read the answer from createTask itself
		body := resultBody(a, id)
		body["taskId"] = formatID(id)
		body["errorCode"], body["errorDescription"] = "", ""
		return taskJSON(body), rec, nil
	}
	return taskJSON(map[string]any{"errorId": 0, "taskId": id}), rec, nil
}

// taskTypeOf is a task type as the log line names it: the served ones in their own spelling.
func taskTypeOf(t string) string {
	for _, served := range []string{typeComplexImage, typeClassification, typeGrid, typeCoordinates} {
		if strings.EqualFold(t, served) {
			return served
		}
	}
	return apierr.Clip(t, 64)
}

// taskInput reads one task into the service's input.
func taskInput(t taskDoc, maxImageBytes int) (recognition.Input, kind, error) {
	bad := func(format string, args ...any) (recognition.Input, kind, error) {
		return recognition.Input{}, 0, fromError(apierr.New(apierr.CodeInvalidRequest, format, args...))
	}
	var in recognition.Input
	var k kind
	var picture string
	switch {
	case strings.EqualFold(t.Type, typeComplexImage):
		k = kindComplexImage
		if !strings.EqualFold(t.Class, "recaptcha") {
			return in, 0, errTaskNotSupported.with(fmt.Sprintf("ComplexImageTask of class %q is not served: only class recaptcha", apierr.Clip(t.Class, 64)))
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
		k = kindClassification
		picture, in.Question = t.Image, t.Question
	case strings.EqualFold(t.Type, typeGrid):
		k = kindGrid
		picture, in.Question = t.Body, t.Comment
		rows, cols := gridValue(t.Rows), gridValue(t.Columns)
		switch {
		case rows != "" && cols != "" && rows != cols:
			return in, 0, fromError(apierr.New(apierr.CodeInvalidGrid, "rows %s and columns %s differ: reCAPTCHA grids are 3x3, 4x4 or 1x1", apierr.Clip(rows, 64), apierr.Clip(cols, 64)))
		case rows != "":
			in.Grid = rows
		default:
			in.Grid = cols
		}
		if strings.TrimSpace(in.Question) == "" && strings.TrimSpace(t.ImgInstr) != "" {
			return in, 0, errPictureQuestion.with("the question was given only as a picture (imgInstructions): send it as text in comment (a label id, a name or the widget's sentence)")
		}
	case strings.EqualFold(t.Type, typeCoordinates):
		k = kindCoordinates
		if t.Mode != "" && !strings.EqualFold(t.Mode, "points") {
			return in, 0, errTaskNotSupported.with(fmt.Sprintf("ImageToCoordinatesTask mode %q is not served: only points", apierr.Clip(t.Mode, 64)))
		}
		picture, in.Question = t.Body, t.Comment
	case t.Type == "":
		return bad("task.type is required: ComplexImageTask (class recaptcha), ReCaptchaV2Classification, GridTask or ImageToCoordinatesTask")
	default:
		return in, 0, errTaskNotSupported.with(fmt.Sprintf("task type %q is not served: this service recognizes reCAPTCHA grid pictures (ComplexImageTask class recaptcha, ReCaptchaV2Classification, GridTask, ImageToCoordinatesTask)", apierr.Clip(t.Type, 64)))
	}
	if picture == "" {
		return bad("the task has no picture: send it base64-encoded (%s)", map[kind]string{kindComplexImage: "imagesBase64",
			kindClassification: "image", kindGrid: "body", kindCoordinates: "body"}[k])
	}
	img, _, err := imaging.DecodeImageString(picture, maxImageBytes)
	if err != nil {
		return in, 0, fromError(err)
	}
	if len(img) == 0 {
		return in, 0, fromError(apierr.New(apierr.CodeInvalidImage, "image is empty"))
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

func taskJSON(body map[string]any) wire.Response {
	b, _ := json.Marshal(body)
	return wire.Response{Status: http.StatusOK, Header: header("application/json"), Body: b}
}

// jsonFailure says what is wrong with a body encoding/json refused.
func jsonFailure(err error, otherwise string) failure {
	var typeErr *json.UnmarshalTypeError
	msg := otherwise
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		msg = fmt.Sprintf("field %q has the wrong type", apierr.Clip(typeErr.Field, 64))
	}
	return fromError(apierr.New(apierr.CodeInvalidRequest, "%s", msg))
}
