package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/formscan"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// parsed is what a request's body asks for, whatever form it came in.
type parsed struct {
	form     string // json, data-url, multipart, binary, s3 (for logs and metrics)
	image    []byte
	s3       *objectRef
	question string
	grid     string
	store    bool
	opts     accuracyOptions
}

type objectRef struct{ Bucket, Key string }

func (o objectRef) String() string { return "s3://" + o.Bucket + "/" + o.Key }

func badRequest(format string, args ...any) *apierr.Error {
	return apierr.New(apierr.CodeInvalidRequest, format, args...)
}

// parse reads the body by its content type. Query parameters question, grid, store,
// min_confidence and consensus apply to every form (a raw image body has nowhere else to put
// them); body fields win.
func parse(req wire.Request, maxImageBytes int) (*parsed, error) {
	if e := req.QueryRefusal(); e != nil {
		return nil, e
	}
	for _, name := range fieldNames {
		if n := len(req.Query[name]); n > 1 {
			return nil, badRequest("%s is given %d times in the query: send it once", name, n)
		}
	}
	c := &parsed{question: req.Query.Get("question"), grid: req.Query.Get("grid")}
	if v := req.Query.Get("store"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badRequest("store must be true or false, not %q", apierr.Clip(v, 64))
		}
		c.store = b
	}
	if err := c.opts.fromQuery(req.Query); err != nil {
		return nil, err
	}
	ct := req.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ct)
	if ct == "" && len(bytes.TrimSpace(req.Body)) > 0 && bytes.TrimSpace(req.Body)[0] == '{' {
		mediaType, err = "application/json", nil
	}
	if err != nil && ct != "" {
		return nil, apierr.New(apierr.CodeUnsupportedMedia, "content-type %q does not parse", apierr.Clip(ct, 64))
	}
	switch {
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		err = c.parseJSON(req.Body, maxImageBytes)
	case mediaType == "multipart/form-data":
		err = c.parseMultipart(req.Body, params["boundary"], maxImageBytes)
	case strings.HasPrefix(mediaType, "image/") || mediaType == "application/octet-stream":
		c.form, c.image = "binary", req.Body
	case ct == "" && len(req.Body) == 0:
		return nil, badRequest("the body is empty: send JSON {\"image\", \"question\"}, a multipart form, or an image")
	default:
		return nil, apierr.New(apierr.CodeUnsupportedMedia,
			"content-type %q is not accepted: send application/json, multipart/form-data or image/*", apierr.Clip(mediaType, 64))
	}
	if err != nil {
		return nil, err
	}
	if c.image == nil && c.s3 == nil {
		return nil, badRequest("image is required (or s3, a reference to an image in S3)")
	}
	if c.image != nil && len(c.image) == 0 {
		return nil, apierr.New(apierr.CodeInvalidImage, "image is empty")
	}
	return c, nil
}

// fieldNames are the parameters read from the query and from a form. Each is read once: given
// twice in one place it is refused rather than one of the values chosen.
var fieldNames = []string{"question", "grid", "store", "min_confidence", "consensus"}

// requestDoc is the JSON request body.
type requestDoc struct {
	Image    *string         `json:"image"`
	Question *string         `json:"question"`
	Grid     json.RawMessage `json:"grid"`
	S3       json.RawMessage `json:"s3"`
	Store    *bool           `json:"store"`
	// MinConfidence and Consensus are the request's accuracy choices (docs/accuracy.md).
	MinConfidence *float64 `json:"min_confidence"`
	Consensus     *bool    `json:"consensus"`
}

func (c *parsed) parseJSON(body []byte, maxImageBytes int) error {
	var doc requestDoc
	if err := unmarshalRequest(body, &doc); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return badRequest("field %q has the wrong type", typeErr.Field)
		}
		return badRequest("the body is not one JSON object")
	}
	c.form = "json"
	if doc.Question != nil {
		c.question = *doc.Question
	}
	if doc.Store != nil {
		c.store = *doc.Store
	}
	if doc.MinConfidence != nil {
		if err := c.opts.setMinConfidenceNumber(*doc.MinConfidence); err != nil {
			return err
		}
	}
	if doc.Consensus != nil {
		c.opts.consensus = doc.Consensus
	}
	if len(doc.Grid) > 0 && string(doc.Grid) != "null" {
		var s string
		if json.Unmarshal(doc.Grid, &s) != nil {
			s = string(doc.Grid) // a bare number: 3, 4, 1
		}
		c.grid = s
	}
	if doc.Image != nil && len(doc.S3) > 0 {
		return badRequest("send image or s3, not both")
	}
	if len(doc.S3) > 0 {
		ref, err := parseObjectRef(doc.S3)
		if err != nil {
			return err
		}
		c.form, c.s3 = "s3", ref
		return nil
	}
	if doc.Image != nil {
		img, dataURL, err := imaging.DecodeImageString(*doc.Image, maxImageBytes)
		if err != nil {
			return err
		}
		if dataURL {
			c.form = "data-url"
		}
		c.image = img
	}
	return nil
}

func parseObjectRef(raw json.RawMessage) (*objectRef, error) {
	var ref objectRef
	var s string
	if json.Unmarshal(raw, &s) == nil {
		rest, ok := strings.CutPrefix(s, "s3://")
		bucket, key, found := strings.Cut(rest, "/")
		if !ok || !found {
			return nil, apierr.New(apierr.CodeInvalidS3Reference, "s3 must look like s3://bucket/key")
		}
		ref = objectRef{bucket, key}
	} else {
		var obj struct{ Bucket, Key string }
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, apierr.New(apierr.CodeInvalidS3Reference, `s3 must be "s3://bucket/key" or {"bucket": ..., "key": ...}`)
		}
		ref = objectRef(obj)
	}
	if ref.Bucket == "" || ref.Key == "" || len(ref.Key) > 1024 || strings.ContainsAny(ref.Bucket, "/ ") {
		return nil, apierr.New(apierr.CodeInvalidS3Reference, "s3 needs a bucket name and a key")
	}
	if err := s3scope.CheckKey(ref.Key); err != nil {
		return nil, apierr.New(apierr.CodeInvalidS3Reference, "s3 key: %v", err)
	}
	return &ref, nil
}

// Multipart limits: a form has an image and three short fields.
const (
	maxParts      = 16
	maxFieldBytes = 4096
)

func (c *parsed) parseMultipart(body []byte, boundary string, maxImageBytes int) error {
	if boundary == "" {
		return badRequest("multipart/form-data needs a boundary")
	}
	c.form = "multipart"
	seen := map[string]bool{}
	n := 0
	err := formscan.Parts(body, boundary, func(part *multipart.Part, name string, file bool) error {
		if n++; n > maxParts {
			return badRequest("the multipart body has more than %d parts", maxParts)
		}
		if name == "file" { // the name most upload forms and HTTP clients give a file part
			name = "image"
		}
		limit := maxFieldBytes
		if name == "image" {
			limit = maxImageBytes
		}
		data, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
		if err != nil {
			return badRequest("the multipart body does not parse")
		}
		if len(data) > limit {
			if name == "image" {
				return apierr.New(apierr.CodeTooLarge, "image is over %d bytes", maxImageBytes)
			}
			return badRequest("form field %q is over %d bytes", apierr.Clip(name, 64), maxFieldBytes)
		}
		if name != "image" && slices.Contains(fieldNames, name) {
			if seen[name] {
				return badRequest("form field %q is given twice: send it once", name)
			}
			seen[name] = true
		}
		return c.setField(name, file, data, maxImageBytes)
	})
	if errors.Is(err, formscan.ErrSyntax) {
		return badRequest("the multipart body does not parse")
	}
	return err
}

// setField takes one part of a form; parts of other names are ignored.
func (c *parsed) setField(name string, file bool, data []byte, maxImageBytes int) error {
	switch name {
	case "image":
		if c.image != nil {
			return badRequest("the form has more than one image part (image or file): send one")
		}
		if !file { // a text field: base64 or a data URL
			img, _, err := imaging.DecodeImageString(string(data), maxImageBytes)
			if err != nil {
				return err
			}
			data = img
		}
		c.image = data
	case "question":
		c.question = string(data)
	case "grid":
		c.grid = string(data)
	case "store":
		b, err := strconv.ParseBool(strings.TrimSpace(string(data)))
		if err != nil {
			return badRequest("store must be true or false")
		}
		c.store = b
	case "min_confidence":
		return c.opts.setMinConfidence(string(data))
	case "consensus":
		return c.opts.setConsensus(string(data))
	}
	return nil
}
