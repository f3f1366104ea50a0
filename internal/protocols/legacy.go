package protocols

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// noMatch is 2Captcha's answer when no tile matches (its grid method's can_no_answer).
const noMatch = "No_matching_images"

// Limits of a legacy request's form: a picture and a dozen short fields.
const (
	maxParams     = 64
	maxParamBytes = 4096
)

// params are a legacy request's parameters, merged from the query string and the body (JSON
// whatever the content type, url-encoded or multipart); the body wins. Names are matched in any
// case.
type params struct {
	v    url.Values
	file []byte // a multipart file part
}

func (p params) get(name string) string { return strings.TrimSpace(p.v.Get(name)) }

func wantsJSON(v url.Values) bool {
	j := strings.TrimSpace(v.Get("json"))
	return j == "1" || strings.EqualFold(j, "true")
}

func lowerKeys(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[strings.ToLower(k)] = vs
	}
	return out
}

// parseParams merges the query and the body. maxImage bounds a multipart file part.
func parseParams(req wire.Request, maxImage int) (params, error) {
	p := params{v: lowerKeys(req.Query)}
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return p, nil
	}
	mediaType, mtParams, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	var err error
	switch {
	case mediaType == "multipart/form-data":
		err = p.addMultipart(req.Body, mtParams["boundary"], maxImage)
	case body[0] == '{':
		err = p.addJSON(body)
	default:
		err = p.addForm(body)
	}
	return p, err
}

func badParams(msg string) error {
	return fromError(apierr.New(apierr.CodeInvalidRequest, "%s", msg))
}

func (p *params) addMultipart(body []byte, boundary string, maxImage int) error {
	if boundary == "" {
		return badParams("multipart/form-data needs a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return badParams("the multipart body does not parse")
		}
		if n >= maxParams {
			return badParams("the multipart body has too many parts")
		}
		name := strings.ToLower(part.FormName())
		isFile := part.FileName() != "" || name == "file"
		limit := maxParamBytes
		if isFile || name == "body" {
			limit = maxImage * 2 // base64 of the largest picture fits
		}
		data, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
		if err != nil {
			return badParams("the multipart body does not parse")
		}
		if len(data) > limit {
			return fromError(apierr.New(apierr.CodeTooLarge, "form field %q is over %d bytes", apierr.Clip(name, 64), limit))
		}
		if isFile {
			if p.file != nil {
				return badParams("the form has more than one file: send one picture")
			}
			p.file = data
			continue
		}
		p.v.Set(name, string(data))
	}
}

func (p *params) addJSON(body []byte) error {
	// One pass over the body (the picture is most of it); numbers keep their text.
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return badParams("the body is not one JSON object")
	}
	if len(doc) > maxParams {
		return badParams("the body has too many fields")
	}
	for k, v := range doc {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = map[bool]string{true: "1", false: "0"}[v]
		default:
			continue // null, or an object or a list: no parameter of this method is one
		}
		p.v.Set(strings.ToLower(k), s)
	}
	return nil
}

func (p *params) addForm(body []byte) error {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return badParams("the body is neither JSON nor a url-encoded form")
	}
	if len(form) > maxParams {
		return badParams("the body has too many fields")
	}
	for k, vs := range lowerKeys(form) {
		p.v[k] = vs
	}
	return nil
}

// Legacy is 2Captcha's in.php/res.php protocol: GET or POST, its parameters in the query and
// the body (JSON, url-encoded or multipart), the key in key.
type Legacy struct{ s *Solver }

var _ pipeline.Protocol = Legacy{}

// Name names the protocol in logs.
func (Legacy) Name() string { return "2captcha" }

// Decode merges the request's parameters.
func (l Legacy) Decode(req wire.Request) (pipeline.Call, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodPost {
		return nil, fromError(apierr.New(apierr.CodeMethodNotAllowed, "use GET or POST"))
	}
	p, err := parseParams(req, l.s.Service.Limits.MaxBytes)
	if err != nil {
		return nil, err
	}
	return legacyCall{keyed: keyed(p.get("key")), s: l.s, in: strings.TrimSuffix(req.Path, "/") == InPath, p: p}, nil
}

// Fail is the in.php/res.php error: HTTP 200, the ERROR_ code alone, or with json=1
// {"status": 0, "request": "ERROR_...", "error_text": "..."}. A request whose parameters did
// not parse is answered as its query asks.
func (Legacy) Fail(req wire.Request, call pipeline.Call, err error, _ string) wire.Response {
	f := fromError(err)
	p := params{v: req.Query}
	if c, ok := call.(legacyCall); ok {
		p = c.p
	}
	var resp wire.Response
	if wantsJSON(p.v) {
		b, _ := json.Marshal(map[string]any{"status": 0, "request": f.legacy, "error_text": f.message})
		resp = wire.Response{Status: http.StatusOK, Header: header("application/json"), Body: b}
	} else {
		resp = wire.Response{Status: http.StatusOK, Header: header("text/plain; charset=utf-8"), Body: []byte(f.legacy)}
	}
	return withACAO(resp, p)
}

// withACAO lets a page read the answer when the request asks (header_acao=1).
func withACAO(resp wire.Response, p params) wire.Response {
	if strings.TrimSpace(p.v.Get("header_acao")) == "1" {
		resp.Header.Set("Access-Control-Allow-Origin", "*")
	}
	return resp
}

// legacyCall is one in.php or res.php request.
type legacyCall struct {
	keyed
	s   *Solver
	in  bool // in.php; otherwise res.php
	p   params
	ids sealer // the caller's, once authenticated
}

// Serve answers in.php's submission or res.php's action.
func (c legacyCall) Serve(ctx context.Context, caller, _ string) (wire.Response, wire.Record, error) {
	ids, err := c.s.sealer(ctx, caller, c.keyed)
	if err != nil {
		return wire.Response{}, wire.Record{}, err
	}
	c.ids = ids
	reply, rec, err := c.answer(ctx, caller)
	if err != nil {
		return wire.Response{}, rec, err
	}
	return withACAO(legacyAnswer(reply, wantsJSON(c.p.v)), c.p), rec, nil
}

func (c legacyCall) answer(ctx context.Context, caller string) (string, wire.Record, error) {
	if c.in {
		return c.submit(ctx, caller, wire.Record{Attrs: []any{"action", "in", "task_type", "in.php"}})
	}
	action := strings.ToLower(c.p.get("action"))
	rec := wire.Record{Attrs: []any{"action", action}}
	switch action {
	case "get", "get2":
		return c.get(rec)
	case "getbalance":
		return strconv.Itoa(Balance), rec, nil
	case "reportbad", "reportgood":
		a, rec, err := c.readID(c.p.get("id"), rec)
		if err != nil {
			return "", rec, err
		}
		// The answer is 2Captcha's one word, whatever became of the report: its clients compare it.
		id, _ := strconv.ParseUint(strings.TrimSpace(c.p.get("id")), 10, 64)
		attrs, _ := c.s.report(ctx, caller, id, a, action == "reportbad")
		return "OK_REPORT_RECORDED", rec.With(attrs...), nil
	case "":
		return "", rec, fromError(apierr.New(apierr.CodeNotFound, "action is required: get, getbalance, reportbad or reportgood"))
	}
	return "", rec, fromError(apierr.New(apierr.CodeNotFound, "action %q is not served: get, getbalance, reportbad or reportgood", apierr.Clip(action, 64)))
}

// submit is in.php: the grid method, solved at once.
func (c legacyCall) submit(ctx context.Context, caller string, rec wire.Record) (string, wire.Record, error) {
	in, err := submission(c.p, c.s.Service.Limits.MaxBytes)
	if err != nil {
		return "", rec, err
	}
	res, err := c.s.Service.Recognize(ctx, in)
	rec.Result = res
	if err != nil {
		return "", rec, fromError(err)
	}
	id := c.ids.issue(answerOf(kindLegacy, res), c.s.records())
	c.s.keep(caller, id, res)
	return "OK|" + formatID(id), rec.With("task_id", formatID(id)), nil
}

// submission reads in.php's parameters into the service's input.
func submission(p params, maxImageBytes int) (recognition.Input, error) {
	method := strings.ToLower(p.get("method"))
	if method == "" {
		method = map[bool]string{true: "post", false: "base64"}[p.file != nil]
	}
	grid := p.get("recaptcha") == "1" || strings.EqualFold(p.get("img_type"), "recaptcha") || strings.EqualFold(p.get("imgtype"), "recaptcha")
	if (method != "base64" && method != "post") || !(grid || p.get("textinstructions") != "") {
		return recognition.Input{}, errTaskNotSupported.with("only the grid method is served: method=base64 (body) or method=post (file), with recaptcha=1 and textinstructions")
	}
	question := p.get("textinstructions")
	if question == "" && (p.get("imginstructions") != "" || p.get("instructions_image") != "") {
		return recognition.Input{}, errPictureQuestion.with("the question was given only as a picture (imginstructions): send it as text in textinstructions (a label id, a name or the widget's sentence)")
	}
	rows, cols := p.get("recaptcharows"), p.get("recaptchacols")
	if rows != "" && cols != "" && rows != cols {
		return recognition.Input{}, fromError(apierr.New(apierr.CodeInvalidGrid, "recaptcharows %s and recaptchacols %s differ: reCAPTCHA grids are 3x3, 4x4 or 1x1", apierr.Clip(rows, 64), apierr.Clip(cols, 64)))
	}
	in := recognition.Input{Question: question, Grid: rows}
	if in.Grid == "" {
		in.Grid = cols
	}
	switch {
	case method == "post" && p.file != nil:
		in.Image = p.file
	case method == "base64" && p.get("body") != "":
		// A form decodes an unescaped '+' of the base64 as a space.
		img, _, err := imaging.DecodeImageString(strings.ReplaceAll(p.get("body"), " ", "+"), maxImageBytes)
		if err != nil {
			return recognition.Input{}, fromError(err)
		}
		in.Image = img
	default:
		return recognition.Input{}, fromError(apierr.New(apierr.CodeInvalidImage, "no picture: send body (method=base64) or a file part named file (method=post)"))
	}
	if len(in.Image) == 0 {
		return recognition.Input{}, fromError(apierr.New(apierr.CodeInvalidImage, "image is empty"))
	}
	return in, nil
}

// get is res.php's action=get: one id, or several (ids=1,2,3) answered in order, '|' apart.
func (c legacyCall) get(rec wire.Record) (string, wire.Record, error) {
	if ids := c.p.get("ids"); ids != "" && c.p.get("id") == "" {
		list := strings.Split(ids, ",")
		if len(list) > maxIDs {
			return "", rec, fromError(apierr.New(apierr.CodeInvalidRequest, "ids lists more than %d tasks", maxIDs))
		}
		out := make([]string, 0, len(list))
		for _, s := range list {
			a, _, err := c.readID(s, rec)
			if err != nil {
				out = append(out, fromError(err).legacy)
				continue
			}
			out = append(out, clickAnswer(a))
		}
		return "OK|" + strings.Join(out, "|"), rec, nil
	}
	a, rec, err := c.readID(c.p.get("id"), rec)
	if err != nil {
		return "", rec, err
	}
	return "OK|" + clickAnswer(a), rec, nil
}

// maxIDs bounds the ids one res.php get asks for.
const maxIDs = 100

func (c legacyCall) readID(s string, rec wire.Record) (answer, wire.Record, error) {
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return answer{}, rec, errNoSuchTask
	}
	rec = rec.With("task_id", formatID(id))
	a, ok := c.ids.read(id, c.s.records())
	if !ok {
		return answer{}, rec, errNoSuchTask
	}
	return a, rec, nil
}

// clickAnswer is the grid method's answer: click:1/5/9, tiles from 1 at the top left.
func clickAnswer(a answer) string {
	if len(a.objects) == 0 {
		return noMatch
	}
	parts := make([]string, len(a.objects))
	for i, o := range oneBased(a.objects) {
		parts[i] = strconv.Itoa(o)
	}
	return "click:" + strings.Join(parts, "/")
}

// legacyAnswer renders a success: "OK|..." as plain text, or {"status": 1, "request": "..."}
// (without the "OK|", as 2Captcha's JSON answers have it).
func legacyAnswer(answer string, asJSON bool) wire.Response {
	if asJSON {
		b, _ := json.Marshal(map[string]any{"status": 1, "request": strings.TrimPrefix(answer, "OK|")})
		return wire.Response{Status: http.StatusOK, Header: header("application/json"), Body: b}
	}
	return wire.Response{Status: http.StatusOK, Header: header("text/plain; charset=utf-8"), Body: []byte(answer)}
}
