//go:build e2e

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
)

// Keys of the other providers; each must stay out of every log line and answer.
const (
	capsolverKey  = "cs-key-81f2a7"
	yescaptchaKey = "yc-key-4d09be"
	capmonsterKey = "cm-key-c3e551"
)

// chainFn is one running function with all four providers in PROVIDERS order.
type chainFn struct {
	*fn
	cs, yc, cm *taskemu.Server
}

func startChain(t *testing.T, secret string, extraEnv ...string) *chainFn {
	t.Helper()
	c := &chainFn{}
	var err error
	for _, s := range []struct {
		srv  **taskemu.Server
		kind taskemu.Kind
		key  string
	}{{&c.cs, taskemu.CapSolver, capsolverKey}, {&c.yc, taskemu.YesCaptcha, yescaptchaKey}, {&c.cm, taskemu.CapMonster, capmonsterKey}} {
		if *s.srv, err = taskemu.New(s.kind, s.key).Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		srv := *s.srv
		t.Cleanup(func() { srv.Close() })
	}
	env := append([]string{"PROVIDERS=acedata,capsolver,yescaptcha,capmonster",
		"CAPSOLVER_API_URL=" + c.cs.URL, "YESCAPTCHA_API_URL=" + c.yc.URL, "CAPMONSTER_API_URL=" + c.cm.URL}, extraEnv...)
	c.fn = start(t, env...)
	// The secret is read on the first request: replace start's with the JSON of every provider.
	if _, err := c.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), SecretString: aws.String(secret)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, k := range []string{capsolverKey, yescaptchaKey, capmonsterKey} {
			if strings.Contains(c.proc.Output(), k) {
				t.Errorf("a provider's key appears in the function's output")
			}
		}
	})
	return c
}

func allKeys() string {
	b, _ := json.Marshal(map[string]string{"acedata": token, "capsolver": capsolverKey, "yescaptcha": yescaptchaKey, "capmonster": capmonsterKey})
	return string(b)
}

func (c *chainFn) requests() []int {
	return []int{c.emu.Requests(), c.cs.Requests(), c.yc.Requests(), c.cm.Requests()}
}

// wantAnsweredBy checks a solved answer (tiles, clicks) and who answered, in the body and header.
func wantAnsweredBy(t *testing.T, body string, header map[string]string, status int, provider string) {
	t.Helper()
	var doc struct {
		Solution struct {
			Objects  []int  `json:"objects"`
			Provider string `json:"provider"`
			Clicks   []any  `json:"clicks"`
		} `json:"solution"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if !slices.Equal(doc.Solution.Objects, std3x3.Targets) || len(doc.Solution.Clicks) != 3 {
		t.Fatalf("solution %s", body)
	}
	if doc.Solution.Provider != provider || header["x-recognition-provider"] != provider {
		t.Fatalf("answered by %q (header %q), want %s", doc.Solution.Provider, header["x-recognition-provider"], provider)
	}
}

// The fault matrix across providers, through the real bootstrap: each provider down, slow,
// refusing, out of balance; the next one answers within the same deadline, except for a refusal
// of the caller's picture, which is answered once. All down: one clear error naming each.
func TestProviderFaultMatrix(t *testing.T) {
	t.Parallel()
	down := []emulator.Fault{{Status: 503}}
	rows := []struct {
		name     string
		acedata  []emulator.Fault
		cs, yc   []taskemu.Fault
		cm       []taskemu.Fault
		slow     time.Duration // every CapSolver answer takes this long
		status   int
		provider string // who answers, when 200
		code     string
		msg      string
		calls    []int // requests per emulator (CapMonster: createTask + polls)
	}{
		{name: "all up: the first answers", status: 200, provider: "acedata", calls: []int{1, 0, 0, 0}},
		{name: "acedata down", acedata: down, status: 200, provider: "capsolver", calls: []int{1, 1, 0, 0}},
		{name: "acedata rate limiting", acedata: []emulator.Fault{{Status: 429, RetryAfter: "5"}}, status: 200, provider: "capsolver", calls: []int{1, 1, 0, 0}},
		{name: "acedata connection dropped", acedata: []emulator.Fault{{Drop: true}}, status: 200, provider: "capsolver", calls: []int{1, 1, 0, 0}},
		{name: "acedata slow past its attempt timeout", acedata: []emulator.Fault{{Delay: time.Minute}}, status: 200, provider: "capsolver", calls: []int{1, 1, 0, 0}},
		{name: "acedata refuses the picture: answered once", acedata: []emulator.Fault{{Status: 400}}, status: 502, code: "upstream_rejected", calls: []int{1, 0, 0, 0}},
		{name: "acedata and capsolver out of balance", acedata: down, cs: []taskemu.Fault{{ErrorCode: "ERROR_ZERO_BALANCE"}}, status: 200, provider: "yescaptcha", calls: []int{1, 1, 1, 0}},
		{name: "capsolver slow, then yescaptcha down", acedata: down, cs: []taskemu.Fault{{Status: 500, Body: "{}", Delay: 1500 * time.Millisecond}},
			yc: []taskemu.Fault{{Status: 502, Body: "<html>"}}, status: 200, provider: "capmonster", calls: []int{1, 1, 1, 3}},
		{name: "yescaptcha rate limiting", acedata: down, cs: []taskemu.Fault{{ErrorCode: "ERROR_SERVICE_UNAVALIABLE"}}, yc: []taskemu.Fault{{ErrorCode: "ERROR_RATE_LIMIT"}},
			status: 200, provider: "capmonster", calls: []int{1, 1, 1, 3}},
		{name: "acedata down, capsolver slow (1.5 s) but answering", acedata: down, slow: 1500 * time.Millisecond, status: 200, provider: "capsolver", calls: []int{1, 1, 0, 0}},
		{name: "yescaptcha refuses the task: answered once", acedata: down, cs: []taskemu.Fault{{ErrorCode: "ERROR_ZERO_BALANCE"}}, yc: []taskemu.Fault{{ErrorCode: "ERROR_INVALID_TASK_DATA"}},
			status: 502, code: "upstream_rejected", calls: []int{1, 1, 1, 0}},
		{name: "capmonster out of balance after the others failed", acedata: down, cs: []taskemu.Fault{{ErrorCode: "ERROR_SERVICE_UNAVALIABLE"}}, yc: []taskemu.Fault{{Drop: true}},
			cm: []taskemu.Fault{{ErrorCode: "ERROR_ZERO_BALANCE"}}, status: 502, code: "upstream_error",
			msg: "every recognition provider failed (acedata: failed; capsolver: failed; yescaptcha: failed; capmonster: balance exhausted)", calls: []int{1, 1, 1, 1}},
		{name: "capsolver refuses the task: answered once", acedata: down, cs: []taskemu.Fault{{Status: 400, ErrorCode: "ERROR_INVALID_TASK_DATA"}},
			status: 502, code: "upstream_rejected", calls: []int{1, 1, 0, 0}},
		{name: "all down", acedata: down, cs: []taskemu.Fault{{ErrorCode: "ERROR_ZERO_BALANCE"}}, yc: []taskemu.Fault{{Status: 503, Body: ""}},
			cm: []taskemu.Fault{{ErrorCode: "ERROR_NO_SLOT_AVAILABLE"}}, status: 502, code: "upstream_error",
			msg: "every recognition provider failed (acedata: failed; capsolver: balance exhausted; yescaptcha: failed; capmonster: failed)", calls: []int{1, 1, 1, 1}},
		{name: "all rate limiting", acedata: []emulator.Fault{{Status: 429}}, cs: []taskemu.Fault{{ErrorCode: "ERROR_RATE_LIMIT"}}, yc: []taskemu.Fault{{ErrorCode: "ERROR_RATE_LIMIT"}},
			cm: []taskemu.Fault{{Status: 429, Body: "{}"}}, status: 503, code: "upstream_unavailable", calls: []int{1, 1, 1, 1}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			c := startChain(t, allKeys())
			c.emu.Inject(row.acedata...)
			c.cs.Inject(row.cs...)
			c.yc.Inject(row.yc...)
			c.cm.Inject(row.cm...)
			if row.slow > 0 {
				c.cs.SetLatency(func() time.Duration { return row.slow })
			}
			resp := c.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}))
			if row.status == 200 {
				wantAnsweredBy(t, resp.Body, resp.Headers, resp.StatusCode, row.provider)
			} else {
				a := wantError(t, resp, row.status, row.code)
				if row.msg != "" && a.Error.Message != row.msg {
					t.Errorf("message %q, want %q", a.Error.Message, row.msg)
				}
			}
			if got := c.requests(); !slices.Equal(got, row.calls) {
				t.Errorf("requests per provider %v, want %v", got, row.calls)
			}
		})
	}
}

// A dead provider costs nothing per request once its breaker opens: after five failures in a row
// AceData is not called again, and every request is answered by the next provider.
func TestBreakerEndToEnd(t *testing.T) {
	c := startChain(t, allKeys())
	for i := 0; i < 20; i++ {
		c.emu.Inject(emulator.Fault{Status: 503})
	}
	for i := 0; i < 8; i++ {
		resp := c.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}))
		wantAnsweredBy(t, resp.Body, resp.Headers, resp.StatusCode, "capsolver")
	}
	if c.emu.Requests() != 5 || c.cs.Requests() != 8 {
		t.Fatalf("acedata called %d times, capsolver %d; want 5 and 8", c.emu.Requests(), c.cs.Requests())
	}
	out := c.waitOutput(func(o string) bool { return strings.Contains(o, `"Outcome":"breaker_open"`) })
	if !strings.Contains(out, `"BreakerOpen":1`) {
		t.Fatal("no metric of the open breaker")
	}
}

// A provider without a token in the secret is skipped, and said so once; a secret of only other
// providers' tokens still serves.
func TestProviderWithoutTokenIsSkipped(t *testing.T) {
	c := startChain(t, `{"capmonster": "`+capmonsterKey+`"}`)
	for i := 0; i < 2; i++ {
		resp := c.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}))
		wantAnsweredBy(t, resp.Body, resp.Headers, resp.StatusCode, "capmonster")
	}
	if got := c.requests(); got[0]+got[1]+got[2] != 0 {
		t.Fatalf("providers without a token were called: %v", got)
	}
	out := c.waitOutput(func(o string) bool { return strings.Count(o, "no token for it") >= 3 })
	if n := strings.Count(out, "no token for it"); n != 3 {
		t.Fatalf("%d skip lines, want one per provider without a token:\n%s", n, out)
	}
}

// Hedging through the real bootstrap: AceData slow, CapSolver asked after HEDGE_AFTER_MS, whose
// answer wins well before AceData's.
func TestHedgingEndToEnd(t *testing.T) {
	c := startChain(t, allKeys(), "HEDGE_AFTER_MS=200")
	c.emu.Inject(emulator.Fault{Delay: time.Minute})
	began := time.Now()
	resp := c.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}))
	wantAnsweredBy(t, resp.Body, resp.Headers, resp.StatusCode, "capsolver")
	if time.Since(began) > 30*time.Second {
		t.Fatal("the slow provider was waited for")
	}
	out := c.waitOutput(func(o string) bool { return strings.Contains(o, `"Outcome":"cancelled"`) })
	if !strings.Contains(out, `"Hedges":1`) || !strings.Contains(out, `"Outcome":"cancelled"`) {
		t.Fatalf("no hedge or cancellation in the metrics:\n%s", out)
	}
}
