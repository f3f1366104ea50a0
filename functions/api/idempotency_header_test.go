package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

var (
	b64        = base64.StdEncoding.EncodeToString
	std3x3Fast = testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4, 8}, Seed: 1}.PNG()
)

// API Gateway (payload 2.0) joins a header sent twice into one value with a comma: that value
// is the documented 400, never a key of its own.
func TestIdempotencyKeyHoldingACommaIsRefused(t *testing.T) {
	var out strings.Builder
	store := &testenv.MemStore{}
	h := fastHandler(t, store, &out)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/recognize",
		Headers: map[string]string{"content-type": "application/json", "idempotency-key": "8e03978e-40d5-43e8-bc93-6894a57f9324,8e03978e-40d5-43e8-bc93-6894a57f9325"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-comma",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/recognize"}},
		Body: `{"image":"` + b64(std3x3Fast) + `","question":"cars"}`,
	}
	payload, _ := json.Marshal(ev)
	raw, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"code":"invalid_idempotency_key"`) || !strings.Contains(resp.Body, "comma") {
		t.Fatalf("%d %s, want 400 invalid_idempotency_key", resp.StatusCode, resp.Body)
	}
	if len(store.Objects()) != 0 {
		t.Fatalf("a record was written: %v", store.Objects())
	}
}
