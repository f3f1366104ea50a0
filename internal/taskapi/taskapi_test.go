package taskapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/taskapi"
)

const cars = "/m/0k4j"

var kinds = []taskapi.Kind{taskapi.CapSolver, taskapi.YesCaptcha, taskapi.CapMonster}

func setup(t *testing.T, kind taskapi.Kind) (*taskemu.Server, *taskapi.Client) {
	t.Helper()
	srv, err := taskemu.New(taskemu.Kind(kind), "key-1").Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := taskapi.New(kind, srv.URL, http.DefaultClient, secrets.Static("key-1"))
	c.PollInterval = 5 * time.Millisecond
	return srv, c
}

// Each provider's envelope, through its emulator: grids and a single tile come back as the
// tiles that show the label.
func TestRecognize(t *testing.T) {
	for _, kind := range kinds {
		for _, ch := range []testimage.Challenge{
			{Grid: 3, Tile: 100, Label: cars, Targets: []int{1, 4}},
			{Grid: 4, Tile: 112, Margin: 1, Label: cars, Targets: []int{0, 15}},
			{Grid: 1, Tile: 100, Label: cars, Targets: []int{0}},
			{Grid: 1, Tile: 100, Label: cars},
		} {
			_, c := setup(t, kind)
			size := map[int]int{1: 100, 3: 300, 4: 450}[ch.Grid]
			s, err := c.Recognize(context.Background(), ch.PNG(), cars, size)
			want := ch.Targets
			if want == nil {
				want = []int{}
			}
			if err != nil || !slices.Equal(s.Objects, want) || s.Size != size {
				t.Fatalf("%s %dx%d: %+v, %v; want %v", kind, ch.Grid, ch.Grid, s, err, want)
			}
		}
	}
}

// Each provider's errors, mapped to ours: an exhausted balance and an outage are the provider's
// failure (the chain moves on), a rate limit is a 429, a refused key an auth failure after one
// re-read, a refused task the caller's.
func TestErrorMapping(t *testing.T) {
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{1}}
	for _, kind := range kinds {
		for _, c := range []struct {
			fault taskemu.Fault
			code  apierr.Code
			kind  string
		}{
			{taskemu.Fault{ErrorCode: "ERROR_ZERO_BALANCE"}, apierr.CodeUpstreamError, providers.KindBalance},
			{taskemu.Fault{ErrorCode: "ERROR_RATE_LIMIT"}, apierr.CodeTooManyRequests, providers.KindRateLimited},
			{taskemu.Fault{ErrorCode: "ERROR_SERVICE_UNAVALIABLE"}, apierr.CodeUpstreamError, providers.KindError},
			{taskemu.Fault{ErrorCode: "ERROR_INVALID_TASK_DATA"}, apierr.CodeUpstreamRejected, providers.KindRefused},
			{taskemu.Fault{ErrorCode: "ERROR_CAPTCHA_UNSOLVABLE"}, apierr.CodeUpstreamError, providers.KindUnsolved},
			{taskemu.Fault{Status: 503, Body: "<html>"}, apierr.CodeUpstreamError, providers.KindError},
			{taskemu.Fault{Status: 429, Body: "{}"}, apierr.CodeTooManyRequests, providers.KindRateLimited},
			{taskemu.Fault{Body: `{"errorId":0,"status":"ready","solution":{"objects":[9]}}`}, apierr.CodeUpstreamBadResponse, providers.KindBadAnswer},
			{taskemu.Fault{Body: `{"errorId":1,"errorCode":"key-1 echoed"}`}, apierr.CodeUpstreamError, providers.KindError},
			{taskemu.Fault{Drop: true}, apierr.CodeUpstreamError, providers.KindError},
		} {
			srv, client := setup(t, kind)
			srv.Inject(c.fault)
			_, err := client.Recognize(context.Background(), ch.PNG(), cars, 300)
			e := apierr.As(err)
			if err == nil || e.Code != c.code || providers.Classify(err) != c.kind || bytes.Contains([]byte(e.Message), []byte("key-1")) {
				t.Errorf("%s %+v: got %v (%s), want %s %s", kind, c.fault, err, providers.Classify(err), c.code, c.kind)
			}
		}
	}
}

// A refused key is re-read once, then an auth failure.
func TestKeyRefused(t *testing.T) {
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: cars}
	for _, kind := range kinds {
		srv, _ := setup(t, kind)
		c := taskapi.New(kind, srv.URL, http.DefaultClient, secrets.Static("wrong"))
		_, err := c.Recognize(context.Background(), ch.PNG(), cars, 300)
		if e := apierr.As(err); e.Code != apierr.CodeUpstreamAuth || srv.Requests() != 2 {
			t.Errorf("%s: %v after %d requests, want upstream_auth_failed after 2", kind, err, srv.Requests())
		}
	}
}

// The emulators hold callers to each provider's documentation: every malformed request is
// refused with errorId 1 and a code.
func TestEmulatorsAreStrict(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(testimage.Challenge{Grid: 3, Tile: 100, Label: cars}.PNG())
	odd := base64.StdEncoding.EncodeToString(testimage.Challenge{Grid: 3, Tile: 90, Label: cars}.PNG())
	cls := func(task map[string]any) map[string]any {
		t := map[string]any{"type": "ReCaptchaV2Classification", "image": img, "question": cars}
		for k, v := range task {
			t[k] = v
		}
		return map[string]any{"clientKey": "key-1", "task": t}
	}
	cplx := func(task map[string]any, meta map[string]any) map[string]any {
		m := map[string]any{"Grid": "3x3", "TaskDefinition": cars}
		for k, v := range meta {
			m[k] = v
		}
		t := map[string]any{"type": "ComplexImageTask", "class": "recaptcha", "imagesBase64": []string{img}, "metadata": m}
		for k, v := range task {
			t[k] = v
		}
		return map[string]any{"clientKey": "key-1", "task": t}
	}
	for kind, bad := range map[taskemu.Kind][]any{
		taskemu.CapSolver: {
			map[string]any{"clientKey": "nope", "task": cls(nil)["task"]}, cls(map[string]any{"type": "HCaptchaClassification"}),
			cls(map[string]any{"question": "cars"}), cls(map[string]any{"image": "@@"}), cls(map[string]any{"image": odd}),
			cls(map[string]any{"extra": 1}), `[1]`,
		},
		taskemu.YesCaptcha: {cls(map[string]any{"question": ""}), cls(map[string]any{"image": odd})},
		taskemu.CapMonster: {
			cplx(map[string]any{"class": "recognition"}, nil), cplx(nil, map[string]any{"Grid": "4x4"}),
			cplx(nil, map[string]any{"TaskDefinition": "cars"}), cplx(map[string]any{"imagesBase64": []string{img, img}}, nil),
			map[string]any{"clientKey": "nope", "task": cplx(nil, nil)["task"]},
		},
	} {
		srv, err := taskemu.New(kind, "key-1").Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		for i, body := range bad {
			b, _ := json.Marshal(body)
			if s, ok := body.(string); ok {
				b = []byte(s)
			}
			resp, err := http.Post(srv.URL+"/createTask", "application/json", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				ErrorID   int    `json:"errorId"`
				ErrorCode string `json:"errorCode"`
			}
			json.NewDecoder(resp.Body).Decode(&env)
			resp.Body.Close()
			if env.ErrorID != 1 || env.ErrorCode == "" {
				t.Errorf("%s request %d (%s): answered %d %+v, want a refusal", kind, i, b[:min(len(b), 80)], resp.StatusCode, env)
			}
		}
		if resp, err := http.Post(srv.URL+"/createTask", "text/plain", bytes.NewReader([]byte("{}"))); err != nil || resp.StatusCode == 200 && kind == taskemu.CapSolver {
			t.Errorf("%s: text/plain accepted", kind)
		}
	}
}

// A task kept processing for ever ends at the attempt budget, within MaxCalls calls, as a
// timeout: the chain then asks the next provider inside the caller's deadline. The budget runs on
// a fake clock that moves only while the client waits between polls, so the count is exact
// however long createTask takes on a loaded machine: 300 ms of 20 ms waits is 15 waits, the
// 15th of which ends the budget, so createTask and 14 polls.
func TestPollingStaysInAttemptBudget(t *testing.T) {
	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{2}}
	cm, c := setup(t, taskapi.CapMonster)
	cm.SetPolls(-1)
	clk := &clock.Fake{}
	c.Clock = clk
	c.AttemptTimeout = 300 * time.Millisecond
	c.PollInterval = 20 * time.Millisecond
	if c.MaxCalls() != 2+15 {
		t.Fatalf("MaxCalls %d, want 17", c.MaxCalls())
	}
	cs, next := setup(t, taskapi.CapSolver)
	chain := &providers.Chain{Members: []providers.Member{
		{Provider: c, Breaker: providers.NewBreaker(providers.DefaultThreshold, providers.DefaultCooldown)},
		{Provider: next, Breaker: providers.NewBreaker(providers.DefaultThreshold, providers.DefaultCooldown)},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sol, err := chain.Recognize(ctx, ch.PNG(), cars, 300)
	if err != nil || sol.Provider != "capsolver" || !slices.Equal(sol.Objects, []int{2}) {
		t.Fatalf("got %+v, %v; want capsolver's answer", sol, err)
	}
	const calls = 1 + 14
	if n := cm.Requests(); n != calls || n > c.MaxCalls() {
		t.Fatalf("capmonster saw %d calls, want %d (MaxCalls %d)", n, calls, c.MaxCalls())
	}
	if clk.Now() != c.AttemptTimeout {
		t.Fatalf("the attempt took %v of the clock, want its budget %v", clk.Now(), c.AttemptTimeout)
	}
	if cs.Requests() != 1 {
		t.Fatalf("capsolver saw %d calls", cs.Requests())
	}
	// Alone, the same provider answers the caller a timeout at its budget, long before the
	// caller's own deadline.
	_, err = c.Recognize(ctx, ch.PNG(), cars, 300)
	if providers.Classify(err) != providers.KindTimeout || ctx.Err() != nil {
		t.Fatalf("alone: %v (%s)", err, providers.Classify(err))
	}
	if n := cm.Requests(); n != 2*calls || clk.Now() != 2*c.AttemptTimeout {
		t.Fatalf("alone: capmonster saw %d calls in all and the clock is at %v, want %d and %v", n, clk.Now(), 2*calls, 2*c.AttemptTimeout)
	}
}

// A classification answer that names another size or another label is for another task: it is
// not trusted, and the same answer with the asked size and label is.
func TestClassificationAnswerOfAnotherTask(t *testing.T) {
	png := testimage.Challenge{Grid: 3, Tile: 100, Label: cars}.PNG()
	for _, c := range []struct {
		solution string
		ok       bool
	}{
		{`{"objects":[1],"size":300,"label":"` + cars + `","type":"multi"}`, true},
		{`{"objects":[1],"size":450,"label":"` + cars + `","type":"multi"}`, false},
		{`{"objects":[1],"size":300,"label":"/m/01bjv","type":"multi"}`, false},
	} {
		client := taskapi.New(taskapi.CapSolver, scripted(t, 200, map[string]string{"/createTask": `{"errorId":0,"status":"ready","solution":` + c.solution + `}`}),
			http.DefaultClient, &countingKey{})
		s, err := client.Recognize(context.Background(), png, cars, 300)
		if c.ok != (err == nil) || (!c.ok && apierr.As(err).Code != apierr.CodeUpstreamBadResponse) {
			t.Errorf("solution %s: %+v, %v; want trusted %v", c.solution, s, err, c.ok)
		}
	}
}
