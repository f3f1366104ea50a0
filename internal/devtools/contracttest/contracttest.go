//go:build e2e

// Package contracttest checks HTTP answers against the OpenAPI document in package api, with
// libopenapi-validator (a development tool: only end-to-end tests import it, and it builds only
// with their e2e tag, so neither a Lambda nor the fast tier compiles the validator). The
// end-to-end suites pass every answer they get through Check.
package contracttest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/recaptcha-recognizer/recognizer/api"
)

// Contract is the parsed document and its validator.
type Contract struct {
	mu      sync.Mutex // the validator's caches are not documented as safe for concurrent use
	model   *v3.Document
	v       validator.Validator
	schemas schema_validation.SchemaValidator
}

var (
	once   sync.Once
	shared *Contract
	errNew error
)

// Load parses api.OpenAPI once per process.
func Load() (*Contract, error) {
	once.Do(func() { shared, errNew = New(api.OpenAPI) })
	return shared, errNew
}

// New parses an OpenAPI document and checks it against the OpenAPI 3.1 schema.
func New(doc []byte) (*Contract, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, err
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("the OpenAPI document does not build: %w", err)
	}
	// Security is checked by the service's own tests; here only the answers' shape is.
	v := validator.NewValidatorFromV3Model(&m.Model, config.WithoutSecurityValidation())
	c := &Contract{model: &m.Model, v: v, schemas: schema_validation.NewSchemaValidator()}
	if dv, errs := validator.NewValidator(d); len(errs) > 0 {
		return nil, errors.Join(errs...)
	} else if ok, verrs := dv.ValidateDocument(); !ok {
		return nil, joinValidation("the OpenAPI document is not valid OpenAPI 3.1", verrs)
	}
	return c, nil
}

// Answer is one request and the answer to it, as a test saw them.
type Answer struct {
	Method, Path, RawQuery, ContentType string
	Status                              int
	Header                              http.Header
	Body                                []byte
}

// Check validates an answer: its status must be one the operation declares, its content type
// and body must match that response's schema (which ties each error code to its status), and
// the headers it requires must be there. An answer to a path the document does not have, or to
// another method on a local page, must be the documented not_found error; another method on an
// API route must be method_not_allowed.
func (c *Contract) Check(a Answer) error {
	req := &http.Request{Method: a.Method, URL: &url.URL{Path: a.Path, RawQuery: a.RawQuery}, Header: http.Header{}}
	if a.ContentType != "" {
		req.Header.Set("Content-Type", a.ContentType)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if fallback := c.undeclared(a.Method, a.Path); fallback != "" {
		return c.checkComponent(fallback, a)
	}
	resp := &http.Response{StatusCode: a.Status, Header: a.Header, Body: io.NopCloser(bytes.NewReader(a.Body)), Request: req}
	if ok, errs := c.v.ValidateHttpResponse(req, resp); !ok {
		return joinValidation(fmt.Sprintf("%s %s answered %d %.300s", a.Method, a.Path, a.Status, a.Body), errs)
	}
	return nil
}

// undeclared names the component response that must answer a request the document has no
// operation for, or "" when it has one.
func (c *Contract) undeclared(method, path string) string {
	item, ok := c.model.Paths.PathItems.Get(path)
	if !ok {
		item, ok = c.model.Paths.PathItems.Get(strings.TrimSuffix(path, "/"))
	}
	if !ok {
		return "NotFound"
	}
	switch {
	case item.GetOperations().GetOrZero(strings.ToLower(method)) != nil:
		return ""
	case item.Post != nil:
		return "MethodNotAllowed" // the API's routes take POST only
	}
	return "NotFound" // a local page: any other method reaches the API, which has no such route

}

func (c *Contract) checkComponent(name string, a Answer) error {
	what := fmt.Sprintf("%s %s (undeclared, so %s) answered %d %.300s", a.Method, a.Path, name, a.Status, a.Body)
	want := map[string]int{"NotFound": http.StatusNotFound, "MethodNotAllowed": http.StatusMethodNotAllowed}[name]
	if a.Status != want {
		return fmt.Errorf("%s: want status %d", what, want)
	}
	r := c.model.Components.Responses.GetOrZero(name)
	mt := r.Content.GetOrZero("application/json")
	if ct := a.Header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("%s: content-type %q", what, ct)
	}
	for k, h := range r.Headers.FromOldest() {
		if h.Required && a.Header.Get(k) == "" {
			return fmt.Errorf("%s: no %s header", what, k)
		}
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(mt.Schema.Schema(), a.Body); !ok {
		return joinValidation(what, errs)
	}
	return nil
}

// CheckHTTP validates a net/http answer whose body the caller has already read.
func (c *Contract) CheckHTTP(req *http.Request, resp *http.Response, body []byte) error {
	return c.Check(Answer{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery,
		ContentType: req.Header.Get("Content-Type"), Status: resp.StatusCode, Header: resp.Header, Body: body})
}

func joinValidation[E error](what string, errs []E) error {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return fmt.Errorf("%s: does not match the OpenAPI document:\n  %s", what, strings.Join(msgs, "\n  "))
}

// CheckSchema validates a JSON document against one of the document's component schemas (the
// S3 path's result, which is no HTTP answer, is S3Result).
func (c *Contract) CheckSchema(name string, doc []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.model.Components.Schemas.GetOrZero(name)
	if s == nil {
		return fmt.Errorf("the document has no schema %q", name)
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(s.Schema(), doc); !ok {
		return joinValidation(fmt.Sprintf("%s %.300s", name, doc), errs)
	}
	return nil
}
