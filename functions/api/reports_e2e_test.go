//go:build e2e

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// nativeAnswer is what these tests read of a native answer.
type nativeAnswer struct {
	Solution struct {
		Objects   []int    `json:"objects"`
		Uncertain []int    `json:"uncertain"`
		Agreed    []string `json:"agreed"`
		Provider  string   `json:"provider"`
	} `json:"solution"`
	AnswerID string `json:"answer_id"`
}

func recognizeCars(t *testing.T, f *fn, query string, extra map[string]any) nativeAnswer {
	t.Helper()
	doc := map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}
	for k, v := range extra {
		doc[k] = v
	}
	b, _ := json.Marshal(doc)
	resp := f.invoke(event("POST", "/recognize", query, "application/json", b, false))
	var a nativeAnswer
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &a) != nil {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	return a
}

type reportAnswer struct {
	Reports []struct{ Provider, Outcome string } `json:"reports"`
	TraceID string                               `json:"trace_id"`
}

func report(t *testing.T, f *fn, answerID, verdict string) (events.APIGatewayV2HTTPResponse, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"answer_id": answerID, "verdict": verdict})
	resp := f.invoke(event("POST", "/report", "", "application/json", b, false))
	var r reportAnswer
	json.Unmarshal([]byte(resp.Body), &r)
	var outcomes []string
	for _, p := range r.Reports {
		outcomes = append(outcomes, p.Provider+":"+p.Outcome)
	}
	return resp, strings.Join(outcomes, ",")
}

// FORWARD_REPORTS=on through the real bootstrap and the providers' emulators: under consensus a
// report of a wrong answer reaches each provider that agreed, with its own task id, exactly once
// (CapSolver takes it; YesCaptcha has no report method, and nothing is sent), and the answer says
// so; a report again is a duplicate and sends nothing. Each is counted per provider and outcome,
// and measured.
func TestNativeReportReachesTheProviders(t *testing.T) {
	ch := startChain(t, allKeys(), "PROVIDERS=capsolver,yescaptcha,capmonster", "CONSENSUS=on", "FORWARD_REPORTS=on")
	a := recognizeCars(t, ch.fn, "", nil)
	if a.AnswerID == "" || !slices.Equal(a.Solution.Agreed, []string{"capsolver", "yescaptcha"}) {
		t.Fatalf("answer %+v: no answer_id, or not the consensus expected", a)
	}
	resp, outcomes := report(t, ch.fn, a.AnswerID, "wrong")
	if resp.StatusCode != 200 || outcomes != "capsolver:sent,yescaptcha:no_method" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if ch.cs.Reports("") != 1 || ch.yc.Reports("") != 0 || ch.cm.Reports("") != 0 {
		t.Fatalf("reports accepted: capsolver %d, yescaptcha %d, capmonster %d", ch.cs.Reports(""), ch.yc.Reports(""), ch.cm.Reports(""))
	}
	if _, outcomes := report(t, ch.fn, a.AnswerID, "wrong"); outcomes != "capsolver:duplicate,yescaptcha:duplicate" || ch.cs.Reports("") != 1 {
		t.Fatalf("the same answer again: %s, capsolver took %d", outcomes, ch.cs.Reports(""))
	}
	out := ch.waitOutput(func(o string) bool { return strings.Count(o, `"ProviderReports":1`) >= 4 })
	for _, want := range []string{`"Outcome":"sent","Provider":"capsolver"`, `"Outcome":"no_method","Provider":"yescaptcha"`,
		`"Label":"/m/0k4j","Provider":"capsolver","ProviderRateReports":1,"ProviderWrongRate":100`, `"report_outcome":"sent,no_method"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in the output", want)
		}
	}
}

// CapMonster takes reports of wrong answers only: a right one is answered no_method and nothing
// is sent. Another caller's id, a made-up one and a bad verdict are refused in the API's shape.
func TestNativeReportCapMonster(t *testing.T) {
	ch := startChain(t, allKeys(), "PROVIDERS=capmonster", "FORWARD_REPORTS=on")
	right, wrong := recognizeCars(t, ch.fn, "", nil), recognizeCars(t, ch.fn, "", nil)
	if right.AnswerID == wrong.AnswerID {
		t.Fatal("two answers share an answer_id")
	}
	if _, outcomes := report(t, ch.fn, right.AnswerID, "right"); outcomes != "capmonster:no_method" || ch.cm.Reports("") != 0 {
		t.Fatalf("a right answer: %s, capmonster took %d", outcomes, ch.cm.Reports(""))
	}
	if _, outcomes := report(t, ch.fn, wrong.AnswerID, "wrong"); outcomes != "capmonster:sent" || ch.cm.Reports("") != 1 {
		t.Fatalf("a wrong answer: %s, capmonster took %d", outcomes, ch.cm.Reports(""))
	}
	resp, _ := report(t, ch.fn, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "wrong")
	wantError(t, resp, 404, "unknown_answer")
	resp, _ = report(t, ch.fn, wrong.AnswerID, "bad")
	wantError(t, resp, 400, "invalid_request")
	if ch.cm.Reports("") != 1 {
		t.Fatalf("a refused report reached capmonster")
	}
}

// Off (the default): no answer_id, and POST /report says the deployment does not forward.
func TestNativeReportOff(t *testing.T) {
	ch := startChain(t, allKeys(), "PROVIDERS=capsolver")
	if a := recognizeCars(t, ch.fn, "", nil); a.AnswerID != "" {
		t.Fatalf("answer_id %q with FORWARD_REPORTS off", a.AnswerID)
	}
	resp, _ := report(t, ch.fn, "AAAA", "wrong")
	wantError(t, resp, 400, "reports_not_configured")
	if ch.cs.Reports("") != 0 {
		t.Fatal("a report reached capsolver")
	}
}

// A request's own min_confidence and consensus, in the query and in the JSON body, over the
// deployment's (off); out of range, the documented error.
func TestNativeAccuracyChoices(t *testing.T) {
	ch := startChain(t, allKeys(), "PROVIDERS=capsolver,yescaptcha")
	if a := recognizeCars(t, ch.fn, "min_confidence=0.5", nil); len(a.Solution.Objects) != 0 || !slices.Equal(a.Solution.Uncertain, []int{0, 4, 8}) {
		t.Fatalf("query threshold over a provider without confidences: %+v", a.Solution)
	}
	a := recognizeCars(t, ch.fn, "", map[string]any{"consensus": true, "min_confidence": 0.9})
	if !slices.Equal(a.Solution.Objects, []int{0, 4, 8}) || !slices.Equal(a.Solution.Agreed, []string{"capsolver", "yescaptcha"}) || a.Solution.Uncertain == nil {
		t.Fatalf("JSON consensus and threshold: %+v", a.Solution)
	}
	if got := ch.requests(); !slices.Equal(got, []int{0, 2, 1, 0}) {
		t.Fatalf("provider requests %v: consensus asked for once only", got)
	}
	if a := recognizeCars(t, ch.fn, "", nil); a.Solution.Uncertain != nil || a.Solution.Agreed != nil {
		t.Fatalf("nothing asked, yet %+v", a.Solution)
	}
	for _, q := range []string{"min_confidence=1.5", "min_confidence=x", "consensus=maybe"} {
		doc, _ := json.Marshal(map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
		wantError(t, ch.invoke(event("POST", "/recognize", q, "application/json", doc, false)), 400, "invalid_request")
	}
}

// An answer_id is the deployment's (TASK_ID_SECRET_ID, from Secrets Manager): a fresh process of
// the same deployment reads it; a process of another deployment, or one with no id secret, does
// not know it.
func TestAnswerIDAcrossInstances(t *testing.T) {
	f := start(t)
	for name, value := range map[string]string{"answer-ids-one": "deployment one 5d1c8e0b7a2f4936", "answer-ids-two": "deployment two 93be0d6c1f4a7285"} {
		if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	f = restart(t, f, "FORWARD_REPORTS=on", "TASK_ID_SECRET_ID=answer-ids-one")
	a := recognizeCars(t, f, "", nil)
	for _, c := range []struct {
		name, secret string
		status       int
	}{
		{"another process of the deployment", "TASK_ID_SECRET_ID=answer-ids-one", 200},
		{"another deployment", "TASK_ID_SECRET_ID=answer-ids-two", 404},
		{"no id secret", "TASK_ID_SECRET_ID=", 404},
	} {
		f = restart(t, f, "FORWARD_REPORTS=on", c.secret)
		resp, outcomes := report(t, f, a.AnswerID, "wrong")
		if resp.StatusCode != c.status || (c.status == 200 && outcomes != "acedata:no_method") {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, resp.Body)
		}
		if c.status == 404 {
			wantError(t, resp, 404, "unknown_answer")
		}
	}
}
