package protocols

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"sort"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/formscan"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// Limits of a legacy request's form: a picture and a dozen short fields. The count and every
// size are checked while the form is read (internal/formscan), before anything is allocated for
// a field over them.
const (
	maxParams     = 64
	maxParamBytes = 4096
)

// pictureParams may hold a picture (base64, or a multipart file); every other parameter is
// short.
var pictureParams = map[string]bool{"body": true, "file": true, "imginstructions": true}

// params are a legacy request's parameters, merged from the query string and the body (JSON
// whatever the content type, url-encoded or multipart); the body wins. Names are matched in any
// case, as the clients' own spelling varies; a name given twice in one place, in any spelling
// (key and KEY), is refused as ambiguous rather than one of them chosen.
type params struct {
	v    url.Values
	file []byte // a multipart file part
}

func (p params) get(name string) string { return strings.TrimSpace(p.v.Get(name)) }

func wantsJSON(v url.Values) bool {
	j := strings.TrimSpace(v.Get("json"))
	return j == "1" || strings.EqualFold(j, "true")
}

// parseParams merges the query and the body. maxImage bounds a picture parameter.
func parseParams(req wire.Request, maxImage int) (params, error) {
	if e := req.QueryRefusal(); e != nil {
		return params{}, fromError(e)
	}
	query := make([]formscan.Field, 0, len(req.Query))
	names := make([]string, 0, len(req.Query))
	for name := range req.Query {
		names = append(names, name)
	}
	sort.Strings(names) // so that the same query is refused the same way every time
	for _, name := range names {
		for _, v := range req.Query[name] {
			query = append(query, formscan.Field{Name: name, Value: v})
		}
	}
	if len(query) > maxParams {
		return params{}, badParams("the query has too many parameters")
	}
	p := params{v: url.Values{}}
	if err := p.add(query, "query"); err != nil {
		return params{}, err
	}
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return p, nil
	}
	limit := func(name string, file bool) int {
		if file || pictureParams[strings.ToLower(name)] {
			return maxImage * 2 // base64 of the largest picture fits, with line breaks
		}
		return maxParamBytes
	}
	mediaType, mtParams, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	var fields []formscan.Field
	var err error
	switch {
	case mediaType == "multipart/form-data":
		fields, err = formscan.Multipart(req.Body, mtParams["boundary"], maxParams, limit, func(name string, file bool) bool {
			return file || strings.EqualFold(name, "file")
		})
	case body[0] == '{':
		fields, err = formscan.Object(body, maxParams, limit)
	default:
		fields, err = formscan.Query(body, maxParams, limit)
	}
	if err != nil {
		return params{}, formFailure(err, mediaType, body[0] == '{')
	}
	return p, p.add(fields, "body") // over the query's
}

// add sets the fields of one place (the query or the body), refusing a name given twice there.
func (p *params) add(fields []formscan.Field, where string) error {
	seen := make(map[string]string, len(fields))
	for _, f := range fields {
		name := strings.ToLower(f.Name)
		if first, ok := seen[name]; ok {
			return badParams("parameter " + quoteName(first) + " is given twice in the " + where +
				" (as " + quoteName(first) + " and " + quoteName(f.Name) + "): send it once")
		}
		seen[name] = f.Name
		switch {
		case f.Bytes != nil:
			if p.file != nil {
				return badParams("the form has more than one file: send one picture")
			}
			p.file = f.Bytes
		case f.Kind == formscan.Bool:
			p.v.Set(name, map[string]string{"true": "1", "false": "0"}[f.Value])
		case f.Kind == formscan.Other:
			// null, an object or a list: no parameter of these methods is one
		default:
			p.v.Set(name, f.Value)
		}
	}
	return nil
}

func badParams(msg string) error {
	return fromError(apierr.New(apierr.CodeInvalidRequest, "%s", msg))
}

func quoteName(s string) string { return `"` + apierr.Clip(s, 64) + `"` }

// formFailure says what is wrong with a body formscan refused.
func formFailure(err error, mediaType string, isJSON bool) error {
	var tooMany *formscan.TooManyError
	var tooLarge *formscan.TooLargeError
	switch {
	case errors.As(err, &tooMany):
		return badParams("the body has too many fields")
	case errors.As(err, &tooLarge):
		if tooLarge.Limit > maxParamBytes {
			return fromError(apierr.New(apierr.CodeTooLarge, "form field %q is over %d bytes", apierr.Clip(tooLarge.Name, 64), tooLarge.Limit))
		}
		return badParams(fmt.Sprintf("parameter %s is over %d bytes", quoteName(tooLarge.Name), tooLarge.Limit))
	case mediaType == "multipart/form-data":
		return badParams("the multipart body does not parse (it needs a boundary)")
	case isJSON:
		return badParams("the body is not one JSON object")
	}
	return badParams("the body is neither JSON nor a url-encoded form")
}
