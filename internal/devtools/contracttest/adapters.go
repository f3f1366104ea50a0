//go:build e2e

package contracttest

import (
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// CheckEvent validates a Lambda function's answer to an API Gateway (payload 2.0) event against
// the document in package api.
func CheckEvent(ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	c, err := Load()
	if err != nil {
		return err
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	return c.Check(Answer{Method: ev.RequestContext.HTTP.Method, Path: path, RawQuery: ev.RawQueryString,
		ContentType: ev.Headers["content-type"], Status: resp.StatusCode, Header: header, Body: []byte(resp.Body)})
}

// CheckHTTP validates a server's answer, whose body the caller has read, against the document
// in package api.
func CheckHTTP(req *http.Request, resp *http.Response, body []byte) error {
	c, err := Load()
	if err != nil {
		return err
	}
	return c.CheckHTTP(req, resp, body)
}

// CheckSchema validates doc against the named component schema of the document in package api.
func CheckSchema(name string, doc []byte) error {
	c, err := Load()
	if err != nil {
		return err
	}
	return c.CheckSchema(name, doc)
}
