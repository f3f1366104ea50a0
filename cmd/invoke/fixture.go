package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
	"github.com/recaptcha-recognizer/recognizer/internal/uploads"
)

// fixture is one event file and what it needs in S3 before it can work.
type fixture struct {
	path     string
	event    []byte
	function string           // api or s3event
	records  []uploads.Record // s3event: the objects the event announces
	objects  []object         // objects the function will read (S3 uploads, s3 references)
}

// object is an S3 object a fixture names, with the question it is asked about (to pick a
// sample picture that answers it).
type object struct {
	bucket, key, question string
}

// readFixture reads an event file and tells which function it is for: an S3 notification has
// Records, an HTTP API event a requestContext. function, when set, is used as given.
func readFixture(path, function string) (fixture, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fixture{}, err
	}
	if !json.Valid(raw) {
		return fixture{}, fmt.Errorf("%s is not JSON", path)
	}
	f := fixture{path: path, event: raw, function: function}
	var probe struct {
		Records        []json.RawMessage `json:"Records"`
		RequestContext json.RawMessage   `json:"requestContext"`
	}
	json.Unmarshal(raw, &probe)
	if f.function == "" {
		switch {
		case probe.Records != nil:
			f.function = "s3event"
		case probe.RequestContext != nil:
			f.function = "api"
		default:
			return fixture{}, fmt.Errorf("%s is neither an S3 event (Records) nor an HTTP API event (requestContext): say which with FUNCTION=api or FUNCTION=s3event", path)
		}
	}
	if _, ok := logicalIDs[f.function]; !ok {
		return fixture{}, fmt.Errorf("unknown function %q (api, s3event)", f.function)
	}
	switch {
	case probe.Records != nil:
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fixture{}, fmt.Errorf("%s: %v", path, err)
		}
		for _, rec := range ev.Records {
			// The events package decodes the key when it reads the event.
			r := uploads.Record{Bucket: rec.S3.Bucket.Name, Key: rec.S3.Object.URLDecodedKey}
			f.records = append(f.records, r)
			f.objects = append(f.objects, object{bucket: r.Bucket, key: r.Key, question: questionFolder(r.Key)})
		}
	case probe.RequestContext != nil:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fixture{}, fmt.Errorf("%s: %v", path, err)
		}
		if o, ok := reference(ev); ok {
			f.objects = append(f.objects, o)
		}
	}
	return f, nil
}

// questionFolder is the first folder of an upload's key under its top-level prefix, which the S3
// function reads as the question (incoming/cars/x.jpg: cars).
func questionFolder(key string) string {
	parts := strings.Split(key, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[1]
}

// reference is the object an HTTP API event's JSON body names in "s3", if any.
func reference(ev events.APIGatewayV2HTTPRequest) (object, bool) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return object{}, false
		}
	}
	var doc struct {
		S3       json.RawMessage `json:"s3"`
		Question string          `json:"question"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &doc) != nil || doc.S3 == nil {
		return object{}, false
	}
	var uri string
	var parts struct{ Bucket, Key string }
	switch {
	case json.Unmarshal(doc.S3, &uri) == nil:
		rest, ok := strings.CutPrefix(uri, "s3://")
		if !ok {
			return object{}, false
		}
		parts.Bucket, parts.Key, _ = strings.Cut(rest, "/")
	case json.Unmarshal(doc.S3, &parts) != nil:
		return object{}, false
	}
	if parts.Bucket == "" || parts.Key == "" {
		return object{}, false
	}
	return object{bucket: parts.Bucket, key: parts.Key, question: doc.Question}, true
}

// buckets are the buckets a run of f needs: those its objects are in, RESULTS_BUCKET, and those
// SOURCE_BUCKETS names.
func (f fixture) buckets(e env) []string {
	set := map[string]bool{}
	for _, o := range f.objects {
		set[o.bucket] = true
	}
	if b := strings.TrimSpace(e.get("RESULTS_BUCKET")); b != "" {
		set[b] = true
	}
	if scopes, err := s3scope.Parse(e.get("SOURCE_BUCKETS")); err == nil {
		for _, s := range scopes {
			set[s.Bucket] = true
		}
	}
	var out []string
	for b := range set {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// sampleFor is the picture in dir (events/images) for a question: the one whose name starts with
// the question's first word (buses: buses-screenshot.jpg), else cars-3x3.jpg. The emulator
// answers every label from colours, so any picture gets a solution; these give known ones.
func sampleFor(dir, question string) string {
	word, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(question)), " ")
	if word != "" {
		matches, _ := filepath.Glob(filepath.Join(dir, word+"-*"))
		sort.Strings(matches)
		if len(matches) > 0 {
			return matches[0]
		}
	}
	return filepath.Join(dir, "cars-3x3.jpg")
}
