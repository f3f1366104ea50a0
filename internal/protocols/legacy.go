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
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
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
func parseParams(req httpapi.Request, maxImage int) (params, *failure) {
	p := params{v: lowerKeys(req.Query)}
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return p, nil
	}
	mediaType, mtParams, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	var f *failure
	switch {
	case mediaType == "multipart/form-data":
		f = p.addMultipart(req.Body, mtParams["boundary"], maxImage)
	case body[0] == '{':
		f = p.addJSON(body)
	default:
		f = p.addForm(body)
	}
	return p, f
}

func badParams(msg string) *failure {
	f := fromError(apierr.New(apierr.CodeInvalidRequest, "%s", msg))
	return &f
}

func (p *params) addMultipart(body []byte, boundary string, maxImage int) *failure {
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
			f := fromError(apierr.New(apierr.CodeTooLarge, "form field %q is over %d bytes", clip(name), limit))
			return &f
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

func (p *params) addJSON(body []byte) *failure {
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

func (p *params) addForm(body []byte) *failure {
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

func (c *call) serveLegacy(ctx context.Context, path string) httpapi.Response {
	p, f := c.legacy(ctx, path)
	asJSON := wantsJSON(p.v)
	if p.v == nil {
		asJSON = wantsJSON(c.req.Query)
	}
	var resp httpapi.Response
	if f != nil {
		c.fail = f
		resp = c.legacyFailure(*f, asJSON)
	} else {
		resp = legacyAnswer(c.reply, asJSON)
	}
	if p.get("header_acao") == "1" || (p.v == nil && strings.TrimSpace(c.req.Query.Get("header_acao")) == "1") {
		resp.Header.Set("Access-Control-Allow-Origin", "*")
	}
	return resp
}

func (c *call) legacy(ctx context.Context, path string) (params, *failure) {
	if c.req.Method != http.MethodGet && c.req.Method != http.MethodPost {
		f := fromError(apierr.New(apierr.CodeMethodNotAllowed, "use GET or POST"))
		return params{}, &f
	}
	if len(c.req.Body) > c.h.Config.MaxBodyBytes {
		f := fromError(apierr.New(apierr.CodeTooLarge, "the body is over the limit of %d bytes", c.h.Config.MaxBodyBytes))
		return params{}, &f
	}
	p, f := parseParams(c.req, c.h.Service.Limits.MaxBytes)
	if f != nil {
		return params{}, f
	}
	if f := c.authenticate(ctx, p.get("key")); f != nil {
		return p, f
	}
	if path == InPath {
		c.add("action", "in")
		return p, c.submit(ctx, p)
	}
	action := strings.ToLower(p.get("action"))
	c.add("action", action)
	switch action {
	case "get", "get2":
		return p, c.get(p)
	case "getbalance":
		c.reply = strconv.Itoa(Balance)
		return p, nil
	case "reportbad", "reportgood":
		a, f := c.readLegacyID(p.get("id"))
		if f != nil {
			return p, f
		}
		c.report(a, action == "reportbad")
		c.reply = "OK_REPORT_RECORDED"
		return p, nil
	case "":
		f := fromError(apierr.New(apierr.CodeNotFound, "action is required: get, getbalance, reportbad or reportgood"))
		return p, &f
	}
	unknown := fromError(apierr.New(apierr.CodeNotFound, "action %q is not served: get, getbalance, reportbad or reportgood", clip(action)))
	return p, &unknown
}

// submit is in.php: the grid method, solved at once.
func (c *call) submit(ctx context.Context, p params) *failure {
	c.taskType = "in.php"
	method := strings.ToLower(p.get("method"))
	if method == "" {
		method = map[bool]string{true: "post", false: "base64"}[p.file != nil]
	}
	grid := p.get("recaptcha") == "1" || strings.EqualFold(p.get("img_type"), "recaptcha") || strings.EqualFold(p.get("imgtype"), "recaptcha")
	if (method != "base64" && method != "post") || !(grid || p.get("textinstructions") != "") {
		f := errTaskNotSupported.with("only the grid method is served: method=base64 (body) or method=post (file), with recaptcha=1 and textinstructions")
		return &f
	}
	question := p.get("textinstructions")
	if question == "" && (p.get("imginstructions") != "" || p.get("instructions_image") != "") {
		f := errPictureQuestion.with("the question was given only as a picture (imginstructions): send it as text in textinstructions (a label id, a name or the widget's sentence)")
		return &f
	}
	rows, cols := p.get("recaptcharows"), p.get("recaptchacols")
	if rows != "" && cols != "" && rows != cols {
		f := fromError(apierr.New(apierr.CodeInvalidGrid, "recaptcharows %s and recaptchacols %s differ: reCAPTCHA grids are 3x3, 4x4 or 1x1", clip(rows), clip(cols)))
		return &f
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
		img, _, err := httpapi.DecodeImageString(strings.ReplaceAll(p.get("body"), " ", "+"), c.h.Service.Limits.MaxBytes)
		if err != nil {
			f := fromError(err)
			return &f
		}
		in.Image = img
	default:
		f := fromError(apierr.New(apierr.CodeInvalidImage, "no picture: send body (method=base64) or a file part named file (method=post)"))
		return &f
	}
	if len(in.Image) == 0 {
		f := fromError(apierr.New(apierr.CodeInvalidImage, "image is empty"))
		return &f
	}
	res, f := c.recognize(ctx, in)
	if f != nil {
		return f
	}
	c.taskID = c.ids.issue(answerOf(kindLegacy, res), c.h.recs)
	c.reply = "OK|" + formatID(c.taskID)
	return nil
}

// get is res.php's action=get: one id, or several (ids=1,2,3) answered in order, '|' apart.
func (c *call) get(p params) *failure {
	if ids := p.get("ids"); ids != "" && p.get("id") == "" {
		list := strings.Split(ids, ",")
		if len(list) > 100 {
			f := fromError(apierr.New(apierr.CodeInvalidRequest, "ids lists more than 100 tasks"))
			return &f
		}
		out := make([]string, 0, len(list))
		for _, s := range list {
			a, f := c.readLegacyID(s)
			if f != nil {
				out = append(out, f.legacy)
				continue
			}
			out = append(out, clickAnswer(a))
		}
		c.reply = "OK|" + strings.Join(out, "|")
		return nil
	}
	a, f := c.readLegacyID(p.get("id"))
	if f != nil {
		return f
	}
	c.reply = "OK|" + clickAnswer(a)
	return nil
}

func (c *call) readLegacyID(s string) (answer, *failure) {
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
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
	return a, nil
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
func legacyAnswer(answer string, asJSON bool) httpapi.Response {
	if asJSON {
		b, _ := json.Marshal(map[string]any{"status": 1, "request": strings.TrimPrefix(answer, "OK|")})
		return httpapi.Response{Status: http.StatusOK, Header: header("application/json"), Body: b}
	}
	return httpapi.Response{Status: http.StatusOK, Header: header("text/plain; charset=utf-8"), Body: []byte(answer)}
}

// legacyFailure is the in.php/res.php error: HTTP 200, the ERROR_ code alone, or with json=1
// {"status": 0, "request": "ERROR_...", "error_text": "..."}.
func (c *call) legacyFailure(f failure, asJSON bool) httpapi.Response {
	if asJSON {
		b, _ := json.Marshal(map[string]any{"status": 0, "request": f.legacy, "error_text": f.message})
		return httpapi.Response{Status: http.StatusOK, Header: header("application/json"), Body: b}
	}
	return httpapi.Response{Status: http.StatusOK, Header: header("text/plain; charset=utf-8"), Body: []byte(f.legacy)}
}
