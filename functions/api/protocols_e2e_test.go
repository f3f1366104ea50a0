//go:build e2e

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/protocolcases"
)

const (
	protocolKeysSecret = "github.com/recaptcha-recognizer/recognizer/protocol-client-keys"
	protocolKey        = "proto-key-5b1e9d0c7a2f4e36"
)

// sendEvent runs one request through the real bootstrap as API Gateway's payload 2.0 event
// (a body that is not text arrives base64-encoded, as API Gateway sends it).
func (f *fn) sendEvent(t *testing.T, r protocolcases.Request) protocolcases.Answer {
	t.Helper()
	binary := !strings.HasPrefix(r.ContentType, "application/json") && !strings.HasPrefix(r.ContentType, "text/")
	ev := event(r.Method, r.Path, r.Query, r.ContentType, r.Body, binary && len(r.Body) > 0)
	if r.Authorization != "" {
		ev.Headers["authorization"] = r.Authorization
	}
	payload, _ := json.Marshal(ev)
	res, err := f.rt.Invoke(context.Background(), payload, 20*time.Second)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if res.Error != nil {
		t.Fatalf("the function failed instead of answering: %s", res.Error)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return protocolcases.Answer{Status: resp.StatusCode, Header: h, Body: []byte(resp.Body)}
}

func startWithKeys(t *testing.T) *fn {
	t.Helper()
	f := start(t)
	if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(protocolKeysSecret),
		SecretString: aws.String(`{"proto": "` + protocolKey + `"}`)}); err != nil {
		t.Fatal(err)
	}
	return restart(t, f, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID="+protocolKeysSecret)
}

// Every task type, legacy action, answer encoding and error of the table, through the real
// bootstrap in keys mode, the key in the body or the parameters.
func TestProtocols(t *testing.T) {
	f := startWithKeys(t)
	protocolcases.Run(t, f.sendEvent, protocolcases.Options{Events: "../../events", Key: protocolKey, KeyChecked: true})
	out := f.waitOutput(func(o string) bool { return strings.Contains(o, `"report":"bad"`) })
	if strings.Contains(out, protocolKey) {
		t.Fatal("a client key appears in the function's output")
	}
	// One request line per task, with its trace id and task id; reports counted per provider.
	var solved, reports int
	for _, line := range strings.Split(out, "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		if l["msg"] == "request" && l["action"] == "createTask" && l["code"] == nil && l["task_id"] != nil && l["trace_id"] != "" && l["provider"] == "acedata" {
			solved++
		}
		if l["Reports"] == 1.0 && l["Provider"] == "acedata" {
			reports++
		}
	}
	if solved < 7 || reports < 21 {
		t.Fatalf("%d createTask lines with trace_id, task_id and provider (want 7), %d report metrics (want 21):\n%s", solved, reports, out)
	}
}

// The provider's and the service's faults reach a protocol client as the table's codes, as
// HTTP 200.
func TestProtocolFaults(t *testing.T) {
	t.Parallel()
	f := startWithKeys(t)
	for _, c := range []struct {
		name   string
		faults []emulator.Fault
		task   string
		legacy string
	}{
		{"upstream_error", []emulator.Fault{{Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}}, "ERROR_CAPTCHA_UNSOLVABLE", "ERROR_CAPTCHA_UNSOLVABLE"},
		{"too_many_requests", []emulator.Fault{{Status: 429, RetryAfter: "1"}, {Status: 429, RetryAfter: "1"}, {Status: 429, RetryAfter: "1"}, {Status: 429, RetryAfter: "1"}, {Status: 429, RetryAfter: "1"}, {Status: 429, RetryAfter: "1"}}, "ERROR_TOO_MUCH_REQUESTS", "ERROR_NO_SLOT_AVAILABLE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.emu.ClearFaults()
			f.emu.Inject(c.faults...)
			body := []byte(`{"clientKey":"` + protocolKey + `","task":{"type":"ReCaptchaV2Classification","image":"` + b64Tile() + `","question":"cars"}}`)
			a := f.sendEvent(t, protocolcases.Request{Method: "POST", Path: "/createTask", ContentType: "application/json", Body: body})
			if a.Status != 200 || !strings.Contains(string(a.Body), `"errorCode":"`+c.task+`"`) {
				t.Fatalf("createTask: %d %s, want %s", a.Status, a.Body, c.task)
			}
			a = f.sendEvent(t, protocolcases.Request{Method: "GET", Path: "/in.php", Query: "key=" + protocolKey + "&method=base64&recaptcha=1&textinstructions=cars&body=" + strings.ReplaceAll(b64Tile(), "+", "%2B")})
			if a.Status != 200 || string(a.Body) != c.legacy {
				t.Fatalf("in.php: %d %s, want %s", a.Status, a.Body, c.legacy)
			}
		})
	}
	f.emu.ClearFaults()
	// configuration_error: the client-keys secret is gone.
	g := restart(t, f, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID=no-such-secret")
	a := g.sendEvent(t, protocolcases.Request{Method: "POST", Path: "/getBalance", Body: []byte(`{"clientKey":"` + protocolKey + `"}`)})
	if a.Status != 200 || !strings.Contains(string(a.Body), `"errorCode":"ERROR_SERVICE_UNAVALIABLE"`) {
		t.Fatalf("getBalance with the keys secret missing: %d %s", a.Status, a.Body)
	}
}

func b64Tile() string { return base64.StdEncoding.EncodeToString(std3x3.PNG()) }

// In IAM mode the protocols are not served: their paths are the API's 404.
func TestProtocolsNotServedInIAMMode(t *testing.T) {
	f := start(t, "AUTH_MODE=iam")
	for _, path := range []string{"/createTask", "/getTaskResult", "/in.php", "/res.php"} {
		ev := jsonEvent(path, map[string]any{"clientKey": "k"})
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/ci"}}
		wantError(t, f.invoke(ev), 404, "not_found")
	}
}
