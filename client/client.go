// Package client calls the recognizer's HTTP API from Go: send a challenge picture (bytes, a
// file, or an object in S3) and its question, get the tiles to click and where to click them.
//
// The answer and error types are the service's own (package api), so a field the service adds
// reaches callers without a copy here to update. Failures the service reports come back as
// *Error, carrying its code, message and trace id; temporary ones (rate limits, upstream and AWS
// outages) are retried first, waiting as long as Retry-After asks.
//
//	c := &client.Client{BaseURL: "https://abcdef1234.execute-api.us-east-1.amazonaws.com", Key: key}
//	answer, err := c.Recognize(ctx, client.File("challenge.png"), "traffic lights")
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/recaptcha-recognizer/recognizer/api"
)

// MaxImageBytes is the service's limit on one picture. Larger pictures are refused before they
// are read; put them in S3 and use S3.
const MaxImageBytes = 10 << 20

// Client calls one deployment of the API. Set BaseURL and, unless the deployment runs without
// authentication (the local server), Key or Signer. A Client is safe for concurrent use.
type Client struct {
	// BaseURL is the API's address: the stack's ApiUrl output, or http://127.0.0.1:3000 for
	// make run. A path in it is kept ("https://example.com/v1").
	BaseURL string
	// Key is a client key (AuthMode=keys), sent as "authorization: Bearer <Key>".
	Key string
	// Signer signs each request with AWS Signature Version 4 (AuthMode=iam).
	Signer *SigV4
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxAttempts is how many times a request is sent when it fails temporarily; 0 means 3.
	MaxAttempts int
	// MaxWait is the longest the client waits before a retry; a Retry-After beyond it ends the
	// retries, and the error carries the wait asked for. 0 means 30 seconds.
	MaxWait time.Duration
}

// SigV4 signs requests for a deployment with AuthMode=iam: API Gateway checks the signature,
// and the caller needs execute-api:Invoke on the API.
type SigV4 struct {
	// Credentials are the caller's, for example from config.LoadDefaultConfig's Credentials.
	Credentials aws.CredentialsProvider
	// Region is the API's region.
	Region string
}

// Source is where the picture comes from: Bytes, File or S3.
type Source interface{ source() }

type bytesSource []byte
type fileSource string
type s3Source struct{ Bucket, Key string }

func (bytesSource) source() {}
func (fileSource) source()  {}
func (s3Source) source()    {}

// Bytes is a picture in memory: PNG, JPEG, GIF or WebP, up to MaxImageBytes.
func Bytes(image []byte) Source { return bytesSource(image) }

// File is a picture on disk, read when the request is made.
func File(path string) Source { return fileSource(path) }

// S3 is a picture in S3, read by the service itself: the way to send pictures over the
// synchronous size limit. The bucket must be one the deployment reads from (SOURCE_BUCKETS).
func S3(bucket, key string) Source { return s3Source{bucket, key} }

// Option changes one request.
type Option func(*call)

type call struct {
	grid          string
	store         bool
	path          string
	minConfidence *float64
	consensus     *bool
}

// Grid says how the picture is divided: "3x3", "4x4" or "1x1". Without it the service tells the
// grid from the picture's size or a widget screenshot's separators.
func Grid(grid string) Option { return func(c *call) { c.grid = grid } }

// Store asks the service to also write the answer to its results bucket; Answer.Result then
// says where.
func Store() Option { return func(c *call) { c.store = true } }

// MinConfidence is the request's threshold, 0 to 1: a chosen tile under it is not clicked and is
// listed in the solution's Uncertain (docs/accuracy.md). Without it the deployment's applies.
func MinConfidence(min float64) Option { return func(c *call) { c.minConfidence = &min } }

// Consensus asks (true) or not (false) a second provider when the answer is uncertain, and a
// third when two disagree. Without it the deployment's setting applies.
func Consensus(on bool) Option { return func(c *call) { c.consensus = &on } }

// UpstreamPath sends the request to the upstream's own path (/captcha/recognition/recaptcha2)
// instead of /recognize; the answer is the same.
func UpstreamPath() Option { return func(c *call) { c.path = api.UpstreamPath } }

// Error is a failure the API answered with. Code is one of the api.Code constants, or empty
// when the answer came from API Gateway itself (throttling, a refused signature) rather than
// from the service.
type Error struct {
	Status  int
	Code    api.Code
	Message string
	TraceID string
	// RetryAfter is the wait the answer asked for, when it did.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = "gateway"
	}
	s := fmt.Sprintf("recognizer: %d %s: %s", e.Status, code, e.Message)
	if e.TraceID != "" {
		s += " (trace id " + e.TraceID + ")"
	}
	return s
}

// Temporary reports whether the same request may succeed later: rate limits and outages of the
// upstream, Secrets Manager or S3. Everything the caller sent wrong, and configuration problems
// of the deployment, are not.
func (e *Error) Temporary() bool {
	if e.Code == "" { // API Gateway's own answer
		return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
	}
	return temporary[e.Code]
}

// temporary is the codes worth a retry; the rest (bad input, upstream_auth_failed,
// configuration_error, upstream_bad_response, internal_error) would fail again.
var temporary = map[api.Code]bool{
	api.CodeTooManyRequests:     true,
	api.CodeUpstreamError:       true,
	api.CodeUpstreamTimeout:     true,
	api.CodeUpstreamUnavailable: true,
	api.CodeTokenUnavailable:    true,
	api.CodeStorageUnavailable:  true,
	api.CodeServerBusy:          true,
}

// Recognize sends the picture and its question (a label id, a label's name in any language, or
// the widget's whole sentence) and returns the answer. A failure the API answered is an *Error.
func (c *Client) Recognize(ctx context.Context, src Source, question string, opts ...Option) (*api.Answer, error) {
	cl := call{path: api.RecognizePath}
	for _, o := range opts {
		o(&cl)
	}
	body, contentType, query, err := cl.encode(src, question)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSuffix(c.BaseURL, "/") + cl.path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("recognizer: BaseURL %q is not an http(s) URL", c.BaseURL)
	}
	u.RawQuery = query.Encode()
	var a api.Answer
	if err := c.do(ctx, u.String(), contentType, body, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Report tells the service whether the answer with answerID (Answer.AnswerID, present when the
// deployment forwards reports) passed the challenge (wrong false) or not, and returns what became
// of the report at each provider whose answer it was. A report is sent once per answer: a retry
// after a lost answer is answered "duplicate".
func (c *Client) Report(ctx context.Context, answerID string, wrong bool) (*api.ReportAnswer, error) {
	verdict := api.VerdictRight
	if wrong {
		verdict = api.VerdictWrong
	}
	body, _ := json.Marshal(api.ReportRequest{AnswerID: answerID, Verdict: verdict})
	u, err := url.Parse(strings.TrimSuffix(c.BaseURL, "/") + api.ReportPath)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("recognizer: BaseURL %q is not an http(s) URL", c.BaseURL)
	}
	var r api.ReportAnswer
	if err := c.do(ctx, u.String(), "application/json", body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// encode builds the request: a raw image body with the rest in the query string (the smallest
// request: no base64), or JSON for an S3 reference.
func (cl call) encode(src Source, question string) (body []byte, contentType string, query url.Values, err error) {
	query = url.Values{}
	switch s := src.(type) {
	case s3Source:
		doc := map[string]any{"s3": map[string]string{"bucket": s.Bucket, "key": s.Key}, "question": question}
		if cl.grid != "" {
			doc["grid"] = cl.grid
		}
		if cl.store {
			doc["store"] = true
		}
		if cl.minConfidence != nil {
			doc["min_confidence"] = *cl.minConfidence
		}
		if cl.consensus != nil {
			doc["consensus"] = *cl.consensus
		}
		body, err = json.Marshal(doc)
		return body, "application/json", query, err
	case fileSource:
		if body, err = readFile(string(s)); err != nil {
			return nil, "", nil, err
		}
	case bytesSource:
		body = s
	default:
		return nil, "", nil, errors.New("recognizer: use client.Bytes, client.File or client.S3 as the source")
	}
	if len(body) > MaxImageBytes {
		return nil, "", nil, fmt.Errorf("recognizer: the picture is %d bytes, over the service's %d: put it in S3 and use client.S3", len(body), MaxImageBytes)
	}
	query.Set("question", question)
	if cl.grid != "" {
		query.Set("grid", cl.grid)
	}
	if cl.store {
		query.Set("store", "true")
	}
	if cl.minConfidence != nil {
		query.Set("min_confidence", strconv.FormatFloat(*cl.minConfidence, 'f', -1, 64))
	}
	if cl.consensus != nil {
		query.Set("consensus", strconv.FormatBool(*cl.consensus))
	}
	contentType = http.DetectContentType(body)
	if !strings.HasPrefix(contentType, "image/") {
		contentType = "application/octet-stream" // the service reads the format from the bytes
	}
	return body, contentType, query, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recognizer: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("recognizer: %w", err)
	}
	return b, nil
}

// do sends the request, retrying what may succeed later, and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, target, contentType string, body []byte, out any) error {
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	maxWait := c.MaxWait
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, target, contentType, body, out)
		if err == nil {
			return nil
		}
		var apiErr *Error
		wait := backoff(attempt)
		switch {
		case ctx.Err() != nil, errors.Is(err, ErrForeignRedirect):
			return err
		case errors.As(err, &apiErr):
			if !apiErr.Temporary() {
				return err
			}
			if apiErr.RetryAfter > 0 {
				wait = apiErr.RetryAfter
			}
		}
		// A network error is retried too: recognizing is safe to repeat (with Store, a repeat
		// writes one more result under its own trace id).
		if attempt >= attempts || wait > maxWait {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err // the answer now rather than a wait that cannot end in time
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// backoff is full jitter over 200 ms·2^(attempt-1), capped at 5 s.
func backoff(attempt int) time.Duration {
	d := 200 * time.Millisecond << min(attempt-1, 5)
	return time.Duration(rand.Int64N(int64(min(d, 5*time.Second)))) + time.Millisecond
}

func (c *Client) once(ctx context.Context, target, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("recognizer: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	switch {
	case c.Signer != nil:
		if err := c.Signer.sign(ctx, req, body); err != nil {
			return err
		}
	case c.Key != "":
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("recognizer: %w", err)
	}
	defer resp.Body.Close()
	// An answer is a few hundred bytes; an error page is small too.
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("recognizer: reading the answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("recognizer: the answer is not the documented JSON: %w", err)
		}
		return nil
	}
	return decodeError(resp, data)
}

// ErrForeignRedirect is the error (wrapped) when the service answers with a redirect to another
// scheme, host or port: it is not followed, since a 307 or 308 would re-send the picture and the
// credentials (Authorization, X-Amz-Security-Token) there, and not retried.
var ErrForeignRedirect = errors.New("recognizer: redirected to another host; not followed")

// httpClient is HTTPClient (or http.DefaultClient) refusing redirects that leave the origin of
// the request; within it, the client's own redirect policy applies.
func (c *Client) httpClient() *http.Client {
	hc := http.DefaultClient
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	guarded := *hc
	guarded.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		from := via[0].URL
		if req.URL.Scheme != from.Scheme || req.URL.Host != from.Host {
			return fmt.Errorf("%w (%s to %s://%s)", ErrForeignRedirect, from.Host, req.URL.Scheme, req.URL.Host)
		}
		if hc.CheckRedirect != nil {
			return hc.CheckRedirect(req, via)
		}
		if len(via) >= 10 {
			return errors.New("recognizer: stopped after 10 redirects")
		}
		return nil
	}
	return &guarded
}

func decodeError(resp *http.Response, data []byte) *Error {
	e := &Error{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var body api.ErrorBody
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.TraceID = body.Error.Code, body.Error.Message, body.TraceID
		return e
	}
	var gateway struct{ Message string } // API Gateway's own {"message": "..."}
	if json.Unmarshal(data, &gateway) == nil && gateway.Message != "" {
		e.Message = gateway.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.TraceID = resp.Header.Get("Apigw-Requestid")
	return e
}

// retryAfter reads delay-seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func (s *SigV4) sign(ctx context.Context, req *http.Request, body []byte) error {
	if s.Credentials == nil || s.Region == "" {
		return errors.New("recognizer: SigV4 needs Credentials and Region")
	}
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("recognizer: AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", s.Region, time.Now())
}
