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

// Handle translates an API Gateway event to the API's request and the answer back. The event's
// body is dropped once the request holds its own copy: the runtime keeps the event until the
// answer, and every invocation in flight would otherwise hold its body twice.
func (h handler) Handle(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	req := toRequest(*ev)
	ev.Body = ""
	resp := h.api.Serve(ctx, req)
	out := events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Body: string(resp.Body), Headers: map[string]string{}}
	for k, v := range resp.Header {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return out, nil
}

func toRequest(ev events.APIGatewayV2HTTPRequest) wire.Request {
	var body []byte
	if ev.IsBase64Encoded {
		// An error is unreachable from API Gateway; the empty body it leaves answers 400.
		body, _ = base64.StdEncoding.DecodeString(ev.Body)
	} else {
		body = []byte(ev.Body)
	}
	header := http.Header{}
	for k, v := range ev.Headers {
		header.Set(k, v)
	}
	query, queryErr := url.ParseQuery(ev.RawQueryString)
	iamCaller := ""
	if a := ev.RequestContext.Authorizer; a != nil && a.IAM != nil {
		iamCaller = a.IAM.UserARN
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	return wire.Request{
		Method:     ev.RequestContext.HTTP.Method,
		Path:       path,
		Header:     header,
		Query:      query,
		QueryError: queryErr,
		Body:       body,
		RequestID:  ev.RequestContext.RequestID,
		IAMCaller:  iamCaller,
	}
}
