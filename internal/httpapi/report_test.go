package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/answerid"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// min_confidence and consensus in each form a request has: the query, a JSON field, a form
// field; body fields win; absent, nothing is chosen (the deployment's apply).
func TestAccuracyChoices(t *testing.T) {
	jsonReq := func(body string, q url.Values) wire.Request {
		return wire.Request{Header: http.Header{"Content-Type": {"application/json"}}, Query: q, Body: []byte(body)}
	}
	c, err := parse(jsonReq(`{"image":"AAEC","question":"bus"}`, nil), 1<<20)
	if err != nil || c.opts.minConfidence != nil || c.opts.consensus != nil {
		t.Fatalf("none: %+v %v", c.opts, err)
	}
	c, err = parse(jsonReq(`{"image":"AAEC","question":"bus"}`, url.Values{"min_confidence": {"0.7"}, "consensus": {"true"}}), 1<<20)
	if err != nil || *c.opts.minConfidence != 0.7 || !*c.opts.consensus {
		t.Fatalf("query: %+v %v", c.opts, err)
	}
	c, err = parse(jsonReq(`{"image":"AAEC","question":"bus","min_confidence":1,"consensus":false}`, url.Values{"min_confidence": {"0.7"}, "consensus": {"true"}}), 1<<20)
	if err != nil || *c.opts.minConfidence != 1 || *c.opts.consensus {
		t.Fatalf("json over query: %+v %v", c.opts, err)
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("image", "AAEC")
	w.WriteField("min_confidence", "0")
	w.WriteField("consensus", "1")
	w.Close()
	c, err = parse(wire.Request{Header: http.Header{"Content-Type": {w.FormDataContentType()}}, Body: b.Bytes()}, 1<<20)
	if err != nil || *c.opts.minConfidence != 0 || !*c.opts.consensus {
		t.Fatalf("form: %+v %v", c.opts, err)
	}
	for name, req := range map[string]wire.Request{
		"query over 1":      jsonReq(`{"image":"AAEC"}`, url.Values{"min_confidence": {"1.5"}}),
		"query negative":    jsonReq(`{"image":"AAEC"}`, url.Values{"min_confidence": {"-0.1"}}),
		"query NaN":         jsonReq(`{"image":"AAEC"}`, url.Values{"min_confidence": {"NaN"}}),
		"query word":        jsonReq(`{"image":"AAEC"}`, url.Values{"min_confidence": {"high"}}),
		"query consensus":   jsonReq(`{"image":"AAEC"}`, url.Values{"consensus": {"maybe"}}),
		"json over 1":       jsonReq(`{"image":"AAEC","min_confidence":2}`, nil),
		"json string":       jsonReq(`{"image":"AAEC","min_confidence":"0.5"}`, nil),
		"json consensus on": jsonReq(`{"image":"AAEC","consensus":"on"}`, nil),
	} {
		_, err := parse(req, 1<<20)
		if e := apierr.As(err); err == nil || e.Code != apierr.CodeInvalidRequest || (!strings.Contains(e.Message, "min_confidence") && !strings.Contains(e.Message, "consensus")) {
			t.Errorf("%s: %v, want invalid_request naming the field", name, err)
		}
	}
}

// forwarder records what it was asked to forward and answers sent for each.
type forwarder struct {
	label   string
	answers []recognition.Answer
	bad     bool
}

func (f *forwarder) Forward(_ context.Context, _, label string, answers []recognition.Answer, bad bool) []recognition.Reported {
	f.label, f.answers, f.bad = label, answers, bad
	out := []recognition.Reported{}
	for _, a := range answers {
		out = append(out, recognition.Reported{Provider: a.Provider, Outcome: "sent"})
	}
	return out
}

func reportReq(body string) wire.Request {
	return wire.Request{Method: http.MethodPost, Path: api.ReportPath, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func serveReport(t *testing.T, a *API, caller string, req wire.Request) (wire.Response, error) {
	t.Helper()
	call, err := a.Decode(req)
	if err != nil {
		return wire.Response{}, err
	}
	resp, _, err := call.Serve(context.Background(), caller, "trace-1")
	return resp, err
}

// POST /report: the answer id's answers are forwarded with its label and the verdict, and the
// answer says what became of the report at each provider.
func TestReport(t *testing.T) {
	f := &forwarder{}
	a := &API{Reports: f, AnswerIDs: &answerid.Codec{}}
	answers := []recognition.Answer{{Provider: "capsolver", TaskID: "cs-1"}, {Provider: "yescaptcha", TaskID: "yc-2"}}
	id, _ := a.AnswerIDs.Seal(context.Background(), "alice", "/m/0k4j", answers)
	resp, err := serveReport(t, a, "alice", reportReq(`{"answer_id":"`+id+`","verdict":"wrong"}`))
	var got api.ReportAnswer
	if err != nil || resp.Status != 200 || json.Unmarshal(resp.Body, &got) != nil {
		t.Fatalf("%d %s %v", resp.Status, resp.Body, err)
	}
	if !f.bad || f.label != "/m/0k4j" || len(f.answers) != 2 || f.answers[1].TaskID != "yc-2" ||
		len(got.Reports) != 2 || got.Reports[0] != (api.ProviderReport{Provider: "capsolver", Outcome: "sent"}) || got.TraceID != "trace-1" {
		t.Fatalf("forwarded %+v, answered %s", f, resp.Body)
	}
	if _, err := serveReport(t, a, "alice", reportReq(`{"answer_id":"`+id+`","verdict":"right"}`)); err != nil || f.bad {
		t.Fatalf("a right answer was forwarded as wrong: %v", err)
	}
}

// Every refusal in the documented shape: no forwarding in this deployment first, then the body,
// then the id.
func TestReportRefusals(t *testing.T) {
	codec := &answerid.Codec{}
	id, _ := codec.Seal(context.Background(), "alice", "/m/0k4j", []recognition.Answer{{Provider: "capsolver", TaskID: "cs-1"}})
	old := &answerid.Codec{Now: func() time.Time { return time.Now().Add(-2 * answerid.MaxAge) }}
	oldID, _ := old.Seal(context.Background(), "alice", "/m/0k4j", nil)
	on := &API{Reports: &forwarder{}, AnswerIDs: codec}
	for name, c := range map[string]struct {
		api    *API
		caller string
		req    wire.Request
		code   apierr.Code
	}{
		"forwarding off":  {&API{}, "alice", reportReq(`{"answer_id":"` + id + `","verdict":"wrong"}`), apierr.CodeReportsNotConfigured},
		"another caller":  {on, "bob", reportReq(`{"answer_id":"` + id + `","verdict":"wrong"}`), apierr.CodeUnknownAnswer},
		"made up":         {on, "alice", reportReq(`{"answer_id":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","verdict":"wrong"}`), apierr.CodeUnknownAnswer},
		"over an hour":    {on, "alice", reportReq(`{"answer_id":"` + oldID + `","verdict":"wrong"}`), apierr.CodeUnknownAnswer},
		"no id":           {on, "alice", reportReq(`{"verdict":"wrong"}`), apierr.CodeInvalidRequest},
		"no verdict":      {on, "alice", reportReq(`{"answer_id":"` + id + `"}`), apierr.CodeInvalidRequest},
		"other verdict":   {on, "alice", reportReq(`{"answer_id":"` + id + `","verdict":"bad"}`), apierr.CodeInvalidRequest},
		"unknown field":   {on, "alice", reportReq(`{"answer_id":"` + id + `","verdict":"wrong","taskId":1}`), apierr.CodeInvalidRequest},
		"two objects":     {on, "alice", reportReq(`{"answer_id":"` + id + `","verdict":"wrong"} {}`), apierr.CodeInvalidRequest},
		"not JSON":        {on, "alice", reportReq(`answer_id=x`), apierr.CodeInvalidRequest},
		"form":            {on, "alice", wire.Request{Method: "POST", Path: "/report", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte("answer_id=x")}, apierr.CodeUnsupportedMedia},
		"too large":       {on, "alice", reportReq(`{"answer_id":"` + strings.Repeat("A", maxReportBytes) + `","verdict":"wrong"}`), apierr.CodeTooLarge},
		"GET":             {on, "alice", wire.Request{Method: "GET", Path: "/report"}, apierr.CodeMethodNotAllowed},
		"trailing slash":  {on, "alice", wire.Request{Method: "POST", Path: "/report/", Header: http.Header{}, Body: []byte(`{}`)}, apierr.CodeInvalidRequest},
		"no content type": {on, "alice", wire.Request{Method: "POST", Path: "/report", Header: http.Header{}, Body: []byte(`{"verdict":"wrong"}`)}, apierr.CodeInvalidRequest},
	} {
		_, err := serveReport(t, c.api, c.caller, c.req)
		if e := apierr.As(err); err == nil || e.Code != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
}

// A native answer carries an answer_id only when reports are forwarded; it names the answering
// provider's task id and the label, for the caller it was given to.
func TestAnswerID(t *testing.T) {
	img := testimageCars()
	body, _ := json.Marshal(map[string]string{"image": img, "question": "cars"})
	req := wire.Request{Method: http.MethodPost, Path: api.RecognizePath, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	svc := &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: instantUpstream{}}
	for _, on := range []bool{false, true} {
		a := &API{Service: svc, AnswerIDs: &answerid.Codec{}} // wired whether or not reports are on
		if on {
			a.Reports = &forwarder{}
		}
		call, _ := a.Decode(req)
		resp, _, err := call.Serve(context.Background(), "alice", "trace-1")
		var got api.Answer
		if err != nil || json.Unmarshal(resp.Body, &got) != nil {
			t.Fatalf("%v %s", err, resp.Body)
		}
		if !on {
			if got.AnswerID != "" || strings.Contains(string(resp.Body), "answer_id") {
				t.Fatalf("reports off, yet %s", resp.Body)
			}
			continue
		}
		label, answers, err := a.AnswerIDs.Open(context.Background(), "alice", got.AnswerID)
		if err != nil || label != "/m/0k4j" || len(answers) != 1 || answers[0].Provider != "acedata" {
			t.Fatalf("answer_id %q opens to %q %+v %v", got.AnswerID, label, answers, err)
		}
	}
}

func testimageCars() string {
	return base64.StdEncoding.EncodeToString(testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4, 8}, Seed: 52}.PNG())
}
