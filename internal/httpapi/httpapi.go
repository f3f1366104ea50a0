// Package httpapi is the native API's protocol: POST /recognize and the upstream's path, in
// JSON, multipart, a data URL, a bare picture or an S3 reference, answered in the upstream's
// shapes. It only decodes and encodes: the pipeline (internal/pipeline) recovers, logs, keeps
// the deadline margin, the body limit, authentication and idempotency for it.
package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/answerid"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// ProviderHeader names the recognition provider who answered (also the solution's provider field).
const ProviderHeader = "X-Recognition-Provider"

// ObjectStore is the S3 access the API needs.
type ObjectStore interface {
	Get(ctx context.Context, bucket, key string, maxBytes int) ([]byte, error)
	Write(ctx context.Context, bucket, key string, body []byte) error
}

// Config is the native API's own share of the service configuration.
type Config struct {
	Sources       s3scope.Scopes // where an s3 reference may point
	ResultsBucket string         // where store=true writes; empty disables store
	StorePrefix   string         // where store=true writes; no upload or S3 result can land there
}

// API is the native protocol.
type API struct {
	Service *recognition.Service
	Store   ObjectStore
	Config  Config
	// Reports forwards callers' reports (FORWARD_REPORTS=on): then every answer carries an
	// answer_id, sealed by AnswerIDs, and POST /report takes it. Nil: no answer_id, and
	// POST /report is reports_not_configured.
	Reports   recognition.Forwarder
	AnswerIDs *answerid.Codec
}

var _ pipeline.Protocol = (*API)(nil)

// Name names the protocol in logs.
func (*API) Name() string { return "api" }

// Decode checks the route and the method; the body is read once the caller is known.
func (a *API) Decode(req wire.Request) (pipeline.Call, error) {
	path := strings.TrimSuffix(req.Path, "/")
	if path != api.RecognizePath && path != api.UpstreamPath && path != api.ReportPath {
		return nil, apierr.New(apierr.CodeNotFound, "no such route: POST %s, %s or %s", api.RecognizePath, api.UpstreamPath, api.ReportPath)
	}
	if req.Method != http.MethodPost {
		return nil, apierr.New(apierr.CodeMethodNotAllowed, "use POST")
	}
	if path == api.ReportPath {
		return reportCall{api: a, req: req}, nil
	}
	return recognizeCall{api: a, req: req}, nil
}

// Fail renders err in the upstream's error shape, with the status its code maps to.
func (*API) Fail(_ wire.Request, _ pipeline.Call, err error, traceID string) wire.Response {
	e := apierr.As(err)
	hdr := wire.JSONHeader()
	if e.Status() == http.StatusMethodNotAllowed {
		hdr.Set("Allow", http.MethodPost)
	}
	if e.Status() == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", "Bearer")
	}
	if e.RetryAfter > 0 {
		hdr.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	return wire.Response{Status: e.Status(), Header: hdr, Body: wire.ErrorBody(e, traceID)}
}

// recognizeCall is one POST to a recognition route.
type recognizeCall struct {
	api *API
	req wire.Request
}

func (c recognizeCall) Credential() string { return c.req.Header.Get("Authorization") }

// Serve reads the body, recognizes, and writes the answer (and keeps it, with store=true).
func (c recognizeCall) Serve(ctx context.Context, caller, traceID string) (wire.Response, wire.Record, error) {
	a := c.api
	p, err := parse(c.req, a.Service.Limits.MaxBytes)
	if err != nil {
		return wire.Response{}, wire.Record{}, err
	}
	rec := wire.Record{Attrs: []any{"form", p.form}}
	if p.store && a.Config.ResultsBucket == "" {
		return wire.Response{}, rec, apierr.New(apierr.CodeStoreNotConfigured, "store is not available: this deployment has no RESULTS_BUCKET")
	}
	image := p.image
	if p.s3 != nil {
		if image, err = a.fetch(ctx, *p.s3, p.question); err != nil {
			return wire.Response{}, rec, err
		}
	}
	rec = rec.With("image_bytes", len(image))
	res, err := a.Service.Recognize(ctx, recognition.Input{Image: image, Question: p.question, Grid: p.grid,
		MinConfidence: p.opts.minConfidence, Consensus: p.opts.consensus})
	rec.Result = res
	if err != nil {
		return wire.Response{}, rec, err
	}
	answer := api.Answer{Solution: api.Solution{Raw: res.Solution}, TraceID: traceID}
	if a.Reports != nil {
		if answer.AnswerID, err = a.AnswerIDs.Seal(ctx, caller, res.Label.ID, res.Reportable()); err != nil {
			return wire.Response{}, rec, err
		}
	}
	if p.store {
		key := a.Config.StorePrefix + traceID + ".json"
		stored, _ := json.Marshal(answer)
		if err := a.Store.Write(ctx, a.Config.ResultsBucket, key, stored); err != nil {
			return wire.Response{}, rec, err
		}
		answer.Result = "s3://" + a.Config.ResultsBucket + "/" + key
	}
	body, _ := json.Marshal(answer)
	hdr := wire.JSONHeader()
	if res.Provider != "" {
		hdr.Set(ProviderHeader, res.Provider)
	}
	return wire.Response{Status: http.StatusOK, Header: hdr, Body: body}, rec, nil
}

// errOutsideScope is the one answer for every reference outside the scopes, whether the object
// exists or not: nothing is read for it, so nothing about it can show.
var errOutsideScope = apierr.New(apierr.CodeS3Forbidden,
	"this s3 reference is outside the locations this service reads from")

// fetch reads the image an s3 reference names, if the reference is inside the scopes.
func (a *API) fetch(ctx context.Context, ref objectRef, question string) ([]byte, error) {
	if !a.Config.Sources.Allows(ref.Bucket, ref.Key) {
		return nil, errOutsideScope
	}
	// Resolve the question first: a bad question must not cost a download.
	if _, err := a.Service.Questions.Resolve(question); err != nil {
		return nil, err
	}
	// The picture is not in the body the request reserved for: hold room for the largest it may
	// be, and for what normalizing it may add (twice its size).
	if err := membudget.From(ctx).Grow(ctx, 3*int64(a.Service.Limits.MaxBytes)); err != nil {
		return nil, err
	}
	return a.Store.Get(ctx, ref.Bucket, ref.Key, a.Service.Limits.MaxBytes)
}
