package acedata_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

const cars = "/m/0k4j"

var challenge = testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{1, 4}}

func setup(t *testing.T) (*emulator.Server, *acedata.Client) {
	t.Helper()
	srv, err := emulator.New("secret-token").Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := acedata.New(srv.URL, acedata.NewHTTPClient(), secrets.Static("secret-token"))
	c.BaseBackoff, c.MaxBackoff = time.Millisecond, 5*time.Millisecond
	return srv, c
}

func TestRecognize(t *testing.T) {
	srv, c := setup(t)
	s, err := c.Recognize(context.Background(), challenge.PNG(), cars, 300)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Objects, []int{1, 4}) || s.Size != 300 || s.Label != cars || s.Type != "multi" || len(s.Confidences) != 9 {
		t.Fatalf("solution %+v", s)
	}
	var keys []string
	for _, f := range s.Fields {
		keys = append(keys, f.Key)
	}
	if want := []string{"size", "label", "confidences", "objects", "type"}; !slices.Equal(keys, want) {
		t.Fatalf("fields %v, want %v in the upstream's order", keys, want)
	}
	if srv.Requests() != 1 {
		t.Fatalf("%d requests", srv.Requests())
	}
}

func TestKeepAlive(t *testing.T) {
	srv, c := setup(t)
	img := challenge.PNG()
	for i := 0; i < 20; i++ {
		if _, err := c.Recognize(context.Background(), img, cars, 300); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Connections() != 1 {
		t.Fatalf("20 sequential requests used %d connections, want 1", srv.Connections())
	}
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name       string
		faults     []emulator.Fault
		wantStatus int // 200: success
		wantCode   apierr.Code
		requests   int
	}{
		{"429 then success", []emulator.Fault{{Status: 429}}, 200, "", 2},
		{"500 then 503 then success", []emulator.Fault{{Status: 500}, {Status: 503}}, 200, "", 3},
		{"dropped connection then success", []emulator.Fault{{Drop: true}}, 200, "", 2},
		{"429 every time", []emulator.Fault{{Status: 429, RetryAfter: "0"}, {Status: 429}, {Status: 429, RetryAfter: "7"}}, 429, apierr.CodeTooManyRequests, 3},
		{"500 every time", []emulator.Fault{{Status: 500}, {Status: 502}, {Status: 504}}, 502, apierr.CodeUpstreamError, 3},
		{"400 is not retried", []emulator.Fault{{Status: 400}}, 502, apierr.CodeUpstreamRejected, 1},
		{"malformed JSON", []emulator.Fault{{Body: `{"solution": {`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"wrong shape", []emulator.Fault{{Body: `{"result": []}`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"wrong size", []emulator.Fault{{Body: `{"solution":{"size":450,"confidences":[0,0,0,0,0,0,0,0,0],"objects":[]}}`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"object out of range", []emulator.Fault{{Body: `{"solution":{"size":300,"confidences":[0,0,0,0,0,0,0,0,0],"objects":[9]}}`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"repeated object", []emulator.Fault{{Body: `{"solution":{"size":300,"confidences":[0,0,0,0,0,0,0,0,0],"objects":[1,1]}}`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"short confidences", []emulator.Fault{{Body: `{"solution":{"size":300,"confidences":[0,1],"objects":[1]}}`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"confidence above 1", []emulator.Fault{{Body: `{"solution":{"size":300,"confidences":[0,2,0,0,0,0,0,0,0],"objects":[1]}}`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"enormous body", []emulator.Fault{{Body: `{"solution":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`}}, 502, apierr.CodeUpstreamBadResponse, 1},
		{"token refused", []emulator.Fault{{Status: 401}, {Status: 401}}, 502, apierr.CodeUpstreamAuth, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, client := setup(t)
			srv.Inject(c.faults...)
			s, err := client.Recognize(context.Background(), challenge.PNG(), cars, 300)
			if c.wantStatus == 200 {
				if err != nil || !slices.Equal(s.Objects, []int{1, 4}) {
					t.Fatalf("got %v, %v", s, err)
				}
			} else {
				e := apierr.As(err)
				if e.Status() != c.wantStatus || e.Code != c.wantCode {
					t.Fatalf("got %v, want %d %s", err, c.wantStatus, c.wantCode)
				}
				if c.wantCode == apierr.CodeTooManyRequests && e.RetryAfter != 7*time.Second {
					t.Fatalf("Retry-After %v not passed on", e.RetryAfter)
				}
			}
			if srv.Requests() != c.requests {
				t.Fatalf("%d requests, want %d", srv.Requests(), c.requests)
			}
		})
	}
}

// A hung upstream must not hold the caller past its deadline: the answer is a 504 in time.
func TestHungUpstreamAnswersBeforeDeadline(t *testing.T) {
	srv, c := setup(t)
	srv.Inject(emulator.Fault{Delay: time.Minute}, emulator.Fault{Delay: time.Minute}, emulator.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Recognize(ctx, challenge.PNG(), cars, 300)
	if e := apierr.As(err); e.Status() != http.StatusGatewayTimeout || e.Code != apierr.CodeUpstreamTimeout {
		t.Fatalf("got %v, want 504", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answered after %v, far past the deadline", d)
	}
}

// A Retry-After longer than the time left is not waited for: the 429 goes back at once.
func TestRetryAfterBeyondDeadline(t *testing.T) {
	srv, c := setup(t)
	srv.Inject(emulator.Fault{Status: 429, RetryAfter: "20"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.Recognize(ctx, challenge.PNG(), cars, 300)
	if e := apierr.As(err); e.Status() != 429 || e.RetryAfter != 20*time.Second {
		t.Fatalf("got %v, want 429 with Retry-After 20s", err)
	}
	if srv.Requests() != 1 {
		t.Fatalf("%d requests, want 1", srv.Requests())
	}
}

// A short Retry-After is honoured: the second try waits at least that long.
func TestRetryAfterHonoured(t *testing.T) {
	srv, c := setup(t)
	srv.Inject(emulator.Fault{Status: 503, RetryAfter: "1"})
	start := time.Now()
	if _, err := c.Recognize(context.Background(), challenge.PNG(), cars, 300); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Fatalf("retried after %v, before Retry-After's 1s", time.Since(start))
	}
}

// Whatever the upstream writes, a caller sees only the contract's checked fields and documented
// codes: never a header of ours echoed back (a proxy doing so, say), never its message.
func TestNothingEchoedUnfiltered(t *testing.T) {
	const tok = "secret-token"
	for name, c := range map[string]struct {
		status int
		body   string
		want   string // in the error message, if an error
	}{
		"code is our header":      {400, `{"success":false,"error":{"code":"Bearer ` + tok + `","message":"Bearer ` + tok + `"}}`, "status 400)"},
		"documented code":         {400, `{"success":false,"error":{"code":"token_mismatched","message":"Bearer ` + tok + `"}}`, `status 400, "token_mismatched")`},
		"message only":            {418, `{"error":{"message":"Authorization: Bearer ` + tok + `"}}`, "status 418)"},
		"label is our header":     {200, `{"solution":{"size":300,"label":"Bearer ` + tok + `","confidences":[0,0,0,0,0,0,0,0,0],"objects":[],"type":"multi"}}`, "label is not the one asked"},
		"extra field":             {200, `{"solution":{"size":300,"label":"/m/0k4j","confidences":[0,0,0,0,0,0,0,0,0],"objects":[],"type":"multi","echo":"Bearer ` + tok + `"}}`, ""},
		"type is our header":      {200, `{"solution":{"size":300,"confidences":[0,0,0,0,0,0,0,0,0],"objects":[],"type":"` + tok + `"}}`, ""},
		"repeated key, first bad": {200, `{"solution":{"size":300,"label":"` + tok + `","label":"/m/0k4j","confidences":[0,0,0,0,0,0,0,0,0],"objects":[]}}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c2 := acedata.New("http://upstream.invalid/", &http.Client{Transport: fixedAnswer{c.status, c.body}}, secrets.Static(tok))
			c2.MaxAttempts = 1
			s, err := c2.Recognize(context.Background(), []byte("img"), cars, 300)
			if c.status != 200 || c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), tok) {
					t.Fatalf("error %v, want %q and no token", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, f := range s.Fields {
				keys = append(keys, f.Key)
				if strings.Contains(string(f.Value), tok) {
					t.Fatalf("field %s passes on %s", f.Key, f.Value)
				}
			}
			for _, k := range keys {
				if !slices.Contains([]string{"size", "label", "confidences", "objects", "type"}, k) {
					t.Fatalf("fields %v", keys)
				}
			}
		})
	}
}

type fixedAnswer struct {
	status int
	body   string
}

func (a fixedAnswer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(a.body))}, nil
}

// The shapes the engine answers in (docs/providers.md): each accepted one gives the objects a
// click needs; each that would make a wrong click is a 502 upstream_bad_response.
func TestAnswerShapes(t *testing.T) {
	for _, c := range []struct {
		name    string
		size    int
		body    string
		objects []int  // when accepted
		keys    string // the fields kept, in order
		bad     string // in the error message, when refused
	}{
		{name: "seed shape", size: 300, body: `{"solution":{"size":300,"label":"/m/0k4j","confidences":[0,1,0,0,1,0,0,0,0],"objects":[1,4],"type":"multi"}}`,
			objects: []int{1, 4}, keys: "size label confidences objects type"},
		{name: "tile with an object", size: 100, body: `{"solution":{"type":"single","hasObject":true,"size":100}}`,
			objects: []int{0}, keys: "type hasObject size objects"},
		{name: "tile without", size: 100, body: `{"solution":{"type":"single","hasObject":false,"size":100,"label":"/m/0k4j"}}`,
			objects: []int{}, keys: "type hasObject size label objects"},
		{name: "tile with both, agreeing", size: 100, body: `{"solution":{"hasObject":true,"objects":[0],"size":100}}`,
			objects: []int{0}, keys: "hasObject objects size"},
		{name: "grid without confidences", size: 450, body: `{"solution":{"objects":[0,15],"type":"multi","size":450}}`,
			objects: []int{0, 15}, keys: "objects type size"},
		{name: "tile without confidences, objects", size: 100, body: `{"solution":{"objects":[],"size":100}}`,
			objects: []int{}, keys: "objects size"},
		{name: "hasObject on a grid", size: 300, body: `{"solution":{"hasObject":true,"size":300}}`, bad: "hasObject on a 9-tile grid"},
		{name: "hasObject and objects disagree", size: 100, body: `{"solution":{"hasObject":false,"objects":[0],"size":100}}`, bad: "disagree"},
		{name: "hasObject not a boolean", size: 100, body: `{"solution":{"hasObject":"yes","size":100}}`, bad: "wrong types"},
		{name: "neither objects nor hasObject", size: 100, body: `{"solution":{"type":"single","size":100}}`, bad: "no objects"},
		{name: "object outside the grid", size: 300, body: `{"solution":{"objects":[9],"size":300}}`, bad: "not a tile"},
		{name: "object repeated", size: 300, body: `{"solution":{"objects":[2,2],"size":300}}`, bad: "repeated"},
		{name: "size not the one sent", size: 300, body: `{"solution":{"objects":[1],"size":450}}`, bad: "size is not 300"},
		{name: "size missing", size: 100, body: `{"solution":{"hasObject":true}}`, bad: "size is not 100"},
		{name: "label not the one asked", size: 100, body: `{"solution":{"hasObject":true,"size":100,"label":"/m/015qff"}}`, bad: "label is not the one asked"},
		{name: "confidences of the wrong count", size: 300, body: `{"solution":{"objects":[1],"confidences":[1],"size":300}}`, bad: "1 confidences for 9 tiles"},
		{name: "confidence out of range", size: 100, body: `{"solution":{"hasObject":true,"confidences":[2],"size":100}}`, bad: "outside [0, 1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := acedata.New("http://upstream.invalid/", &http.Client{Transport: fixedAnswer{200, c.body}}, secrets.Static("tok"))
			client.MaxAttempts = 1
			s, err := client.Recognize(context.Background(), []byte("img"), cars, c.size)
			if c.bad != "" {
				e := apierr.As(err)
				if err == nil || e.Code != apierr.CodeUpstreamBadResponse || e.Status() != 502 || !strings.Contains(e.Message, c.bad) {
					t.Fatalf("got %v, %v; want 502 upstream_bad_response saying %q", s, err, c.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, f := range s.Fields {
				keys = append(keys, f.Key)
			}
			if !slices.Equal(s.Objects, c.objects) || strings.Join(keys, " ") != c.keys {
				t.Fatalf("objects %v fields %v, want %v and %q", s.Objects, keys, c.objects, c.keys)
			}
			if got := string(s.Fields[slices.Index(keys, "objects")].Value); got != mustJSON(c.objects) {
				t.Fatalf("objects field %s, want %s", got, mustJSON(c.objects))
			}
		})
	}
}

// The emulator answers in the resellers' shape when asked to, and the client reads it.
func TestResellerShapeFromEmulator(t *testing.T) {
	srv, c := setup(t)
	srv.SetShape(emulator.ShapeReseller)
	tile := testimage.Challenge{Grid: 1, Tile: 100, Label: cars, Targets: []int{0}}
	s, err := c.Recognize(context.Background(), tile.PNG(), cars, 100)
	if err != nil || !slices.Equal(s.Objects, []int{0}) || s.Confidences != nil {
		t.Fatalf("single tile: %+v, %v", s, err)
	}
	s, err = c.Recognize(context.Background(), challenge.PNG(), cars, 300)
	if err != nil || !slices.Equal(s.Objects, []int{1, 4}) || s.Confidences != nil {
		t.Fatalf("grid: %+v, %v", s, err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
