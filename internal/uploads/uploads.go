// Package uploads is the S3 entry point's domain: an image uploaded under the input prefix is
// recognized and its answer written under the results prefix, exactly once per object version.
//
// Permanent failures (not an image, unknown question, too large, object gone) become error
// results: retrying cannot help. Transient ones (upstream 429/5xx/timeout, S3 or Secrets Manager
// unavailable) are returned so Lambda retries the event and, after its retries, sends it to the
// on-failure destination; no final result is written for them.
package uploads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
)

// Store is the object storage the processor needs (S3, through the storage adapter).
type Store interface {
	Stat(ctx context.Context, bucket, key string) (*Object, error)
	Get(ctx context.Context, bucket, key string, maxBytes int) ([]byte, error)
	// WriteConditional writes only if the object does not exist (ifMatch "") or still has ETag
	// ifMatch; otherwise it returns ErrConflict.
	WriteConditional(ctx context.Context, bucket, key string, body []byte, metadata map[string]string, ifMatch string) error
}

// Object is what the store tells about an object without reading it.
type Object struct {
	Size      int64
	ETag      string
	VersionID string
	Metadata  map[string]string // user metadata, keys lower-case
}

// ErrConflict is WriteConditional's answer when someone else wrote the object first.
var ErrConflict = errors.New("the object changed or already exists")

// Config says where inputs and results live.
type Config struct {
	InputPrefix   string // default incoming/
	ResultsPrefix string // default results/
	ResultsBucket string // empty: the input's bucket
}

// Check refuses prefixes that would let a result trigger the function again: each must be a
// folder, and neither may contain the other.
func (c Config) Check() error {
	for _, p := range []string{c.InputPrefix, c.ResultsPrefix} {
		if err := s3scope.CheckPrefix(p); err != nil {
			return err
		}
	}
	if s3scope.Overlap(c.InputPrefix, c.ResultsPrefix) {
		return fmt.Errorf("input prefix %q and results prefix %q contain one another: results would trigger the function again", c.InputPrefix, c.ResultsPrefix)
	}
	return nil
}

// MaxKeyBytes is S3's limit on a key's length, in bytes of UTF-8.
const MaxKeyBytes = 1024

// hashedMark begins a result key named by digest; a key under the input prefix beginning with
// it is itself named by digest, so the two kinds of names never meet.
const hashedMark = "~"

// ResultKey is where the result for the upload InputPrefix+rest goes: ResultsPrefix+rest+".json"
// when that is a key S3 takes and it has no "." or ".." segment a path-normalizing tool would
// resolve elsewhere; otherwise ResultsPrefix+"~"+sha256(rest)+".json", and the result's
// source.key names the upload.
func (c Config) ResultKey(rest string) string {
	direct := c.ResultsPrefix + rest + ".json"
	if len(direct) <= MaxKeyBytes && !strings.HasPrefix(rest, hashedMark) && !hasDotSegment(rest) {
		return direct
	}
	sum := sha256.Sum256([]byte(rest))
	return c.ResultsPrefix + hashedMark + hex.EncodeToString(sum[:]) + ".json"
}

func hasDotSegment(key string) bool {
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// Processor handles uploaded objects.
type Processor struct {
	Service *recognition.Service
	Store   Store
	Config  Config
}

// RecordProcessor handles one uploaded object's record.
type RecordProcessor interface {
	Process(ctx context.Context, r Record, traceID string) Outcome
}

var (
	_ RecordProcessor = (*Processor)(nil)
	_ RecordProcessor = Misconfigured{}
)

// Misconfigured is the processor of a function whose configuration was refused at start: every
// record fails (Lambda retries it, then sends it to the dead-letter queue) and nothing is read
// or written, since with a wrong configuration even an error result could feed a loop.
type Misconfigured struct{ Cause error }

// Process fails the record.
func (m Misconfigured) Process(_ context.Context, r Record, _ string) Outcome {
	return retry(Outcome{}, errConfiguration(m.Cause))
}

// errConfiguration is every record's outcome while the configuration is broken.
func errConfiguration(cause error) error {
	return apierr.Wrap(cause, apierr.CodeConfiguration,
		"the S3 function is not configured correctly; nothing was written")
}

// Record is one object named by an event, key already URL-decoded.
type Record struct {
	Bucket, Key string
	ETag        string // from the event; may be empty
	VersionID   string
	Size        int64
}

// Status is how one upload ended.
type Status string

const (
	Done      Status = "done"      // the solution is written
	Failed    Status = "failed"    // an error result is written: the input can never succeed
	Skipped   Status = "skipped"   // not an input of ours (our own output, a folder marker)
	Duplicate Status = "duplicate" // a redelivery: the result is already there
	Retry     Status = "retry"     // a transient failure: the event is delivered again
)

// Outcome is what happened to one record.
type Outcome struct {
	Status    Status
	ResultKey string
	Code      apierr.Code // error code, for failed and retry
	Label     string
	Grid      string
	Err       error // for retry: why the event must be retried
}

// sourceTag is the result object's metadata naming the input version it answers.
const sourceTag = "source-tag"

type source struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	ETag      string `json:"etag,omitempty"`
}

type timing struct {
	TotalMS     float64 `json:"total_ms"`
	NormalizeMS float64 `json:"normalize_ms,omitempty"`
	UpstreamMS  float64 `json:"upstream_ms,omitempty"`
}

// result is the stored document: the body the HTTPS path would answer, plus source and timing.
type result struct {
	Solution json.RawMessage `json:"solution,omitempty"`
	Success  *bool           `json:"success,omitempty"`
	Error    *errorField     `json:"error,omitempty"`
	TraceID  string          `json:"trace_id"`
	Source   source          `json:"source"`
	Timing   timing          `json:"timing"`
}

type errorField struct {
	Code    apierr.Code `json:"code"`
	Message string      `json:"message"`
}

// Process handles one record. It never panics on input; a non-nil Outcome.Err means the event
// must be retried.
func (p *Processor) Process(ctx context.Context, r Record, traceID string) Outcome {
	start := time.Now()
	// Fail closed: the event is retried, then parked in the dead-letter queue, and nothing is
	// written that could trigger this function again.
	if err := p.Config.Check(); err != nil {
		return retry(Outcome{}, errConfiguration(err))
	}
	rest, ok := strings.CutPrefix(r.Key, p.Config.InputPrefix)
	if !ok || rest == "" || strings.HasSuffix(rest, "/") || !utf8.ValidString(r.Key) {
		// Not ours (our own output included), a folder marker, or not an S3 key at all: S3 keys
		// are UTF-8, so an event naming anything else names no object.
		return Outcome{Status: Skipped}
	}
	bucket := p.Config.ResultsBucket
	if bucket == "" {
		bucket = r.Bucket
	}
	out := Outcome{ResultKey: p.Config.ResultKey(rest)}

	obj, err := p.Store.Stat(ctx, r.Bucket, r.Key)
	if err != nil {
		e := apierr.As(err)
		if e.Retryable() {
			return retry(out, e)
		}
		// Gone before we read it: say so in an error result tagged with the event's version.
		obj = &Object{ETag: r.ETag, VersionID: r.VersionID}
		return p.finish(ctx, r, obj, bucket, out, nil, e, traceID, start)
	}
	tag := versionTag(obj)
	if prev, err := p.Store.Stat(ctx, bucket, out.ResultKey); err == nil && prev.Metadata[sourceTag] == tag {
		out.Status = Duplicate // a redelivery: the answer is already there
		return out
	} else if err != nil && !noAnswerYet(err) {
		return retry(out, err)
	}

	res, recErr := p.recognize(ctx, r, obj)
	if recErr != nil {
		if e := apierr.As(recErr); e.Retryable() {
			return retry(out, e)
		}
	}
	return p.finish(ctx, r, obj, bucket, out, res, recErr, traceID, start)
}

func (p *Processor) recognize(ctx context.Context, r Record, obj *Object) (*recognition.Result, error) {
	limit := p.Service.Limits.MaxBytes
	if obj.Size > int64(limit) {
		return nil, apierr.New(apierr.CodeTooLarge,
			"the object is %d bytes; the limit is %d", obj.Size, limit)
	}
	question, grid := obj.Metadata["question"], obj.Metadata["grid"]
	if question == "" {
		question = firstFolder(strings.TrimPrefix(r.Key, p.Config.InputPrefix))
	}
	if question == "" {
		return nil, apierr.New(apierr.CodeUnsupportedQuestion,
			"no question: set the object's metadata \"question\", or upload under a folder named for the label (%scars/...)", p.Config.InputPrefix)
	}
	// A bad question must not cost a download.
	if _, err := p.Service.Questions.Resolve(question); err != nil {
		return nil, err
	}
	data, err := p.Store.Get(ctx, r.Bucket, r.Key, limit)
	if err != nil {
		return nil, err
	}
	return p.Service.Recognize(ctx, recognition.Input{Image: data, Question: question, Grid: grid})
}

// finish writes the final result (a solution or a permanent error) with a conditional put.
func (p *Processor) finish(ctx context.Context, r Record, obj *Object, bucket string, out Outcome,
	res *recognition.Result, failure error, traceID string, start time.Time) Outcome {
	doc := result{TraceID: traceID, Source: source{Bucket: r.Bucket, Key: r.Key, VersionID: obj.VersionID, ETag: strings.Trim(obj.ETag, `"`)}}
	if failure != nil {
		e := apierr.As(failure)
		f := false
		doc.Success, doc.Error = &f, &errorField{e.Code, e.Text()}
		out.Status, out.Code = Failed, e.Code
	} else {
		doc.Solution = res.Solution
		doc.Timing.NormalizeMS, doc.Timing.UpstreamMS = clock.Millis(res.Timings.Normalize), clock.Millis(res.Timings.Upstream)
		out.Status, out.Label, out.Grid = Done, res.Label.ID, res.Grid.String()
	}
	doc.Timing.TotalMS = clock.Millis(time.Since(start))
	body, _ := json.Marshal(doc)

	ifMatch := ""
	if prev, err := p.Store.Stat(ctx, bucket, out.ResultKey); err == nil {
		ifMatch = prev.ETag // an answer for an older version of the object: replace exactly that one
	}
	err := p.Store.WriteConditional(ctx, bucket, out.ResultKey, body, map[string]string{sourceTag: versionTag(obj)}, ifMatch)
	if errors.Is(err, ErrConflict) {
		out.Status = Duplicate // a concurrent delivery wrote first
		return out
	}
	if err != nil {
		return retry(out, err)
	}
	return out
}

// noAnswerYet reads a failed look at the result as "not written yet". S3 answers a missing key
// with 404 only when the role's s3:ListBucket counts, and the template limits that grant with an
// s3:prefix condition whose effect on a HEAD could not be checked without AWS; a 403 here is
// taken as missing too. A real denial still ends in a retry: the conditional write fails.
func noAnswerYet(err error) bool {
	c := apierr.As(err).Code
	return c == apierr.CodeS3NotFound || c == apierr.CodeS3Forbidden
}

func retry(out Outcome, err error) Outcome {
	out.Status, out.Code, out.Err = Retry, apierr.As(err).Code, err
	return out
}

// versionTag identifies the input version a result answers: the version id when the bucket is
// versioned, else the ETag.
func versionTag(o *Object) string {
	if o.VersionID != "" && o.VersionID != "null" {
		return "v:" + o.VersionID
	}
	return "e:" + strings.Trim(o.ETag, `"`)
}

func firstFolder(rest string) string {
	dir, _, found := strings.Cut(rest, "/")
	if !found {
		return ""
	}
	return path.Clean(dir)
}
