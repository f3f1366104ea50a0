package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// handler translates API Gateway HTTP API events (payload 2.0) to the API and back.
type handler struct{ api wire.Server }

// Handle translates an API Gateway event to the API's request and the answer back.
func (h handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp := h.api.Serve(ctx, toRequest(ev))
	out := events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Body: string(resp.Body), Headers: map[string]string{}}
	for k, v := range resp.Header {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return out, nil
}

func toRequest(ev events.APIGatewayV2HTTPRequest) wire.Request {
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
	return wire.Request{
		Method:    ev.RequestContext.HTTP.Method,
		Path:      path,
		Header:    header,
		Query:     query,
		Body:      body,
		RequestID: ev.RequestContext.RequestID,
		IAMCaller: iamCaller,
	}
}
