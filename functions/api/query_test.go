package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// invokeFast sends one payload 2.0 event through the handler in process.
func invokeFast(t *testing.T, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var out strings.Builder
	h := fastHandler(t, &testenv.MemStore{}, &out)
	ev.Version, ev.RouteKey = "2.0", "$default"
	ev.RequestContext.HTTP.Path = ev.RawPath
	payload, _ := json.Marshal(ev)
	raw, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// A query string with a pair that does not parse is refused: read without that pair, the
// request would be served without the caller's threshold or grid.
func TestQueryThatDoesNotParseIsRefused(t *testing.T) {
	for _, query := range []string{"question=cars&min_confidence=0.99%zz", "question=cars&grid=4x4%g", "question=cars;grid=4x4"} {
		resp := invokeFast(t, events.APIGatewayV2HTTPRequest{
			RawPath: "/recognize", RawQueryString: query,
			Headers:         map[string]string{"content-type": "image/png"},
			Body:            b64(std3x3Fast),
			IsBase64Encoded: true,
			RequestContext:  events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		})
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"code":"invalid_request"`) || !strings.Contains(resp.Body, "query string does not parse") {
			t.Errorf("?%s: %d %s, want 400 invalid_request", query, resp.StatusCode, resp.Body)
		}
	}
	resp := invokeFast(t, events.APIGatewayV2HTTPRequest{
		RawPath: "/res.php", RawQueryString: "action=getbalance&json=1&recaptcharows=4%zz",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}},
	})
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"request":"ERROR_BAD_PARAMETERS"`) || !strings.Contains(resp.Body, "query string does not parse") {
		t.Errorf("res.php: %d %s, want ERROR_BAD_PARAMETERS", resp.StatusCode, resp.Body)
	}
}
