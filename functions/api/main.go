// Command api is the HTTPS entry point: a Lambda behind an API Gateway HTTP API (payload format
// 2.0) serving POST /recognize and POST /captcha/recognition/recaptcha2.
//
// Input: a challenge as JSON (base64 or data URL image, or an S3 reference), multipart form, or a
// raw image body. Output: 200 with the solution and click coordinates, or the upstream's error
// shape with a precise code and status. Every failure is an answer; the function itself only
// fails on a bug, which API Gateway turns into a bare 500.
package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"recognizer/internal/app"
	"recognizer/internal/httpapi"
)

func main() {
	log := app.NewLogger(os.Stdout)
	cfg, cfgErr := app.FromEnv(os.Getenv)
	awsCfg, err := app.AWS(context.Background())
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	h := handler{api: app.NewAPIHandler(cfg, cfgErr, awsCfg, log, os.Stdout)}
	lambda.Start(h.Handle)
}

type handler struct{ api *httpapi.Handler }

// Handle translates an API Gateway event to the API's request and the answer back.
func (h handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp := h.api.Serve(ctx, toRequest(ev))
	out := events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Body: string(resp.Body), Headers: map[string]string{}}
	for k, v := range resp.Header {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return out, nil
}

func toRequest(ev events.APIGatewayV2HTTPRequest) httpapi.Request {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			body = nil // unreachable from API Gateway; an empty body answers 400
		} else {
			body = decoded
		}
	}
	header := http.Header{}
	for k, v := range ev.Headers {
		header.Set(k, v)
	}
	query, _ := url.ParseQuery(ev.RawQueryString)
	iamCaller := ""
	if a := ev.RequestContext.Authorizer; a != nil && a.IAM != nil {
		iamCaller = a.IAM.UserARN
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	return httpapi.Request{
		Method:    ev.RequestContext.HTTP.Method,
		Path:      path,
		Header:    header,
		Query:     query,
		Body:      body,
		RequestID: ev.RequestContext.RequestID,
		IAMCaller: iamCaller,
	}
}
