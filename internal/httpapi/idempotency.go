package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
)

// The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header) and the header that
// marks an answer given again from what was kept.
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	ReplayedHeader       = "Idempotent-Replayed"
)

// RecordStore is the conditional S3 access the idempotency layer needs (storage.Store).
type RecordStore interface {
	// GetWithETag reads an object and its ETag; a missing one is apierr.CodeS3NotFound.
	GetWithETag(ctx context.Context, bucket, key string, maxBytes int) ([]byte, string, error)
	// PutIf writes only where nothing is (ifMatch "") or over the version ifMatch names;
	// written is false when another writer came first.
	PutIf(ctx context.Context, bucket, key string, body []byte, ifMatch string) (etag string, written bool, err error)
}

// Idempotency serves requests that carry an Idempotency-Key on Routes: the first is answered by
// Next and its final answer kept for TTL; a repeat with the same key and the same request gets
// that answer again without reaching Next. It wraps any Server, so any POST route can have it.
//
// Each key is one S3 object under Prefix, named from the caller and the key, so one caller's
// key never reaches another's answer. The object goes through three states, each written with a
// condition on what was read, so of two writers exactly one wins:
//
//	(none) --create (If-None-Match)--> running --Next answered, final--> done (kept until expires)
//	                                           --Next answered, worth a retry--> released
//	released, an expired done, or running past its lease --replace (If-Match)--> running
//
// A running record holds a lease to the end of the request's deadline (plus leaseGrace): a
// function that crashed mid-request leaves it behind, and once it lapses the key is free again.
type Idempotency struct {
	Next Server
	Auth Authenticator
	// Caller names who sent a request, for routes whose callers identify themselves elsewhere
	// than in the Authorization header (a key in the body); nil is Auth on that header.
	Caller func(ctx context.Context, req Request) (string, error)
	Store  RecordStore
	Bucket string // where records are kept; empty refuses keys (store_not_configured)
	Prefix string // records' folder, apart from every other
	TTL    time.Duration
	Routes []string // POST paths the layer applies to; a key on any other request is ignored
	// MaxBodyBytes: a larger body is refused by Next, so it is neither fingerprinted nor kept.
	MaxBodyBytes int
	// DefaultTimeout is the lease of a request that arrives with no deadline (the local server).
	DefaultTimeout time.Duration
	Observe        *observe.Observer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

var _ Server = (*Idempotency)(nil)

const (
	// leaseGrace covers the record's last write after Next answers, and clocks a little apart.
	leaseGrace = 2 * time.Second
	// maxRetryAfter bounds the wait a 409 asks for: answers usually come within two seconds.
	maxRetryAfter = 2 * time.Second
	// maxRecordBytes bounds a record read back: an answer and its headers.
	maxRecordBytes = 1 << 20
	// maxClaims bounds the create/read/replace rounds of one request; each lost round means
	// another request made progress.
	maxClaims = 4
)

// Record states.
const (
	stateRunning  = "running"
	stateDone     = "done"
	stateReleased = "released"
)

// record is the object kept for one caller's key.
type record struct {
	State       string `json:"state"`
	Fingerprint string `json:"fingerprint"`
	// Owner is random per request: two records never have the same bytes, so never the same
	// ETag, and a replace can only succeed over the version it read.
	Owner      string            `json:"owner"`
	LeaseUntil time.Time         `json:"lease_until,omitzero"`
	Expires    time.Time         `json:"expires,omitzero"`
	Status     int               `json:"status,omitempty"`
	Header     map[string]string `json:"header,omitempty"`
	Body       []byte            `json:"body,omitempty"`
}

// verdict is what a request with a key does, given the record found under it.
type verdict int

const (
	claim  verdict = iota // the key is free: take it over
	replay                // answer what was kept
	inUse                 // the first request is still running: 409
	reused                // the key belongs to another request: 422
)

// decide is the state machine's reading of a record for a request with fingerprint fp.
func decide(r record, fp string, now time.Time) verdict {
	switch {
	case r.State == stateDone && now.Before(r.Expires):
		if r.Fingerprint != fp {
			return reused
		}
		return replay
	case r.State == stateRunning && now.Before(r.LeaseUntil):
		if r.Fingerprint != fp {
			return reused
		}
		return inUse
	}
	return claim // released, kept past its TTL, a lapsed lease, or unreadable
}

// kept reports whether an answer is final for its request, so a repeat gets it again: a success,
// or a refusal of the request itself. Failures worth retrying (the upstream's, the service's, a
// rate limit) release the key, so a retry runs again.
func kept(status int) bool {
	switch {
	case status >= 200 && status < 300:
		return true
	case status >= 500:
		return false
	}
	switch status {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return status >= 400
}

func (l *Idempotency) caller(ctx context.Context, req Request) (string, error) {
	if l.Caller != nil {
		return l.Caller(ctx, req)
	}
	return l.Auth.Authenticate(ctx, req.Header.Get("Authorization"), req.IAMCaller)
}

func (l *Idempotency) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Serve answers req, through Next unless a kept answer or a running request says otherwise.
// Without the header, or on another route, it is Next alone: nothing is read or written.
func (l *Idempotency) Serve(ctx context.Context, req Request) Response {
	values := req.Header.Values(IdempotencyKeyHeader)
	if len(values) == 0 || req.Method != http.MethodPost || !slices.Contains(l.Routes, strings.TrimSuffix(req.Path, "/")) {
		return l.Next.Serve(ctx, req)
	}
	caller, err := l.caller(ctx, req)
	if err != nil || len(req.Body) > l.MaxBodyBytes {
		return l.Next.Serve(ctx, req) // which refuses it the same way; nothing is kept
	}
	unit := l.Observe.Start(ctx, "request", req.RequestID)
	unit.Add("method", req.Method, "path", req.Path, "caller", caller)
	key, err := ParseIdempotencyKey(values)
	if err == nil && l.Bucket == "" {
		err = apierr.New(apierr.CodeStoreNotConfigured, "Idempotency-Key is not available: this deployment has no RESULTS_BUCKET to keep answers in")
	}
	if err != nil {
		return l.refuse(unit, apierr.As(err))
	}
	fp := Fingerprint(req)
	name := l.Prefix + scopedName(caller, key) + ".json"
	owner := apierr.NewTraceID()
	running, _ := json.Marshal(record{State: stateRunning, Fingerprint: fp, Owner: owner, LeaseUntil: l.leaseUntil(ctx)})
	ifMatch := ""
	for range maxClaims {
		etag, won, err := l.Store.PutIf(ctx, l.Bucket, name, running, ifMatch)
		if err != nil {
			return l.refuse(unit, storageFailure(err))
		}
		if won {
			return l.run(ctx, req, name, etag, record{Fingerprint: fp, Owner: owner})
		}
		data, etag, err := l.Store.GetWithETag(ctx, l.Bucket, name, maxRecordBytes)
		if apierr.As(err).Code == apierr.CodeS3NotFound {
			ifMatch = "" // expired and deleted between the two calls
			continue
		}
		if err != nil {
			return l.refuse(unit, storageFailure(err))
		}
		var r record
		if json.Unmarshal(data, &r) != nil {
			r = record{} // unreadable: free, like a released key
		}
		switch decide(r, fp, l.now()) {
		case replay:
			return l.replay(unit, r)
		case inUse:
			return l.refuse(unit, l.inUse(r.LeaseUntil))
		case reused:
			return l.refuse(unit, apierr.New(apierr.CodeIdempotencyKeyReused,
				"this Idempotency-Key was already used for a different request; send a new key with a new request"))
		}
		ifMatch = etag
	}
	return l.refuse(unit, l.inUse(l.now().Add(time.Second)))
}

// run answers through Next as the key's owner, then keeps the answer or releases the key.
func (l *Idempotency) run(ctx context.Context, req Request, name, etag string, r record) Response {
	resp := l.Next.Serve(ctx, req)
	if kept(resp.Status) {
		r.State, r.Expires, r.Status, r.Body = stateDone, l.now().Add(l.TTL), resp.Status, resp.Body
		r.Header = map[string]string{}
		for k, v := range resp.Header {
			r.Header[k] = strings.Join(v, ",")
		}
	} else {
		r.State = stateReleased
	}
	body, _ := json.Marshal(r)
	// The answer is kept even if the caller has gone (a dropped connection is what the key is
	// for), within the function's own deadline.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.DefaultTimeout)
	if d, ok := ctx.Deadline(); ok {
		wctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), d)
	}
	defer cancel()
	_, won, err := l.Store.PutIf(wctx, l.Bucket, name, body, etag)
	if err != nil || !won {
		// The answer still goes to the caller; a repeat finds the lease and, once it lapses, runs again.
		cause := "the lease was taken over"
		if err != nil {
			cause = err.Error()
		}
		l.Observe.Log.WarnContext(ctx, "idempotency record not written", "state", r.State, "cause", cause)
	}
	return resp
}

func (l *Idempotency) replay(unit *observe.Unit, r record) Response {
	hdr := http.Header{}
	for k, v := range r.Header {
		hdr.Set(k, v)
	}
	hdr.Set(ReplayedHeader, "true")
	unit.Add("status", r.Status, "idempotency", "replayed")
	unit.Finish(slog.LevelInfo, "replayed", nil)
	return Response{Status: r.Status, Header: hdr, Body: r.Body}
}

func (l *Idempotency) refuse(unit *observe.Unit, failure *apierr.Error) Response {
	unit.Add("status", failure.Status(), "idempotency", "refused")
	unit.Finish(observe.Level(failure), string(failure.Code), failure)
	return errorResponse(failure, unit.TraceID)
}

// inUse is the 409 for a key whose first request holds its lease until leaseUntil.
func (l *Idempotency) inUse(leaseUntil time.Time) *apierr.Error {
	e := apierr.New(apierr.CodeIdempotencyKeyInUse,
		"a request with this Idempotency-Key is still being answered; send it again after Retry-After seconds to get its answer")
	e.RetryAfter = min(max(leaseUntil.Sub(l.now()), time.Second), maxRetryAfter)
	return e
}

func (l *Idempotency) leaseUntil(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d.Add(leaseGrace)
	}
	return l.now().Add(l.DefaultTimeout + leaseGrace)
}

// storageFailure fails closed: without its record a key cannot promise a single charge, so the
// request is not recognized at all.
func storageFailure(err error) *apierr.Error {
	e := apierr.Wrap(err, apierr.CodeStorageUnavailable,
		"the Idempotency-Key's record could not be read or written, so nothing was recognized; try again")
	if errors.Is(err, context.DeadlineExceeded) {
		e.AtDeadline()
	}
	return e
}

// scopedName names a caller's key: the same key from two callers is two records. The key has
// no NUL (ParseIdempotencyKey), so caller and key cannot be shifted into another pair.
func scopedName(caller, key string) string {
	sum := sha256.Sum256([]byte(caller + "\x00" + key))
	return hex.EncodeToString(sum[:])
}
