// Package idempotency keeps the answer of a request sent with an Idempotency-Key
// (draft-ietf-httpapi-idempotency-key-header), so a retry gets it again without a second
// provider call: Layer, the records it keeps in S3, the key's syntax and the request's
// fingerprint.
package idempotency

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
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header) and the header that
// marks an answer given again from what was kept.
const (
	KeyHeader      = "Idempotency-Key"
	ReplayedHeader = "Idempotent-Replayed"
)

// RecordStore is the conditional S3 access the idempotency layer needs (storage.Store).
type RecordStore interface {
	// GetWithETag reads an object and its ETag; a missing one is apierr.CodeS3NotFound.
	GetWithETag(ctx context.Context, bucket, key string, maxBytes int) ([]byte, string, error)
	// PutIf writes only where nothing is (ifMatch "") or over the version ifMatch names;
	// written is false when another writer came first.
	PutIf(ctx context.Context, bucket, key string, body []byte, ifMatch string) (etag string, written bool, err error)
}

// Layer serves requests that carry an Idempotency-Key on Routes: the first is answered by the
// wire and its final answer kept for TTL; a repeat with the same key and the same request gets
// that answer again without reaching the wire. The pipeline runs it after authentication, inside
// the response margin, for every front alike.
//
// Each key is one S3 object under Prefix, named from the caller and the key, so one caller's
// key never reaches another's answer. The object goes through three states, each written with a
// condition on what was read, so of two writers exactly one wins:
//
//	(none) --create (If-None-Match)--> running --answered, final--> done (kept until expires)
//	                                           --answered, worth a retry--> released
//	released, an expired done, or running past its lease --replace (If-Match)--> running
//
// A running record holds a lease to the end of the request's deadline (plus leaseGrace): a
// function that crashed mid-request leaves it behind, and once it lapses the key is free again.
type Layer struct {
	Store  RecordStore
	Bucket string // where records are kept; empty refuses keys (store_not_configured)
	Prefix string // records' folder, apart from every other
	TTL    time.Duration
	Routes []string // POST paths the layer applies to; a key on any other request is ignored
	// WriteGrace is how far past the request's deadline the record's last write may run: the
	// deadline is already the margin-reduced one, and a kept answer is what makes a retry free.
	// It must stay well inside the response margin.
	WriteGrace time.Duration
	// DefaultTimeout is the lease of a request that arrives with no deadline (the local server).
	DefaultTimeout time.Duration
	Log            *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Outcomes, for the request's log line.
const (
	Replayed = "replayed"
	Refused  = "refused"
)

const (
	// leaseGrace covers the record's last write after the answer, and clocks a little apart.
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

func (l *Layer) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Applies reports whether the layer handles req: a POST to one of Routes with the header.
func (l *Layer) Applies(req wire.Request) bool {
	return l != nil && len(req.Header.Values(KeyHeader)) > 0 && req.Method == http.MethodPost &&
		slices.Contains(l.Routes, strings.TrimSuffix(req.Path, "/"))
}

// Serve answers req for caller through answer, unless a kept answer or a running request says
// otherwise. It returns the answer to send and what the layer did (Replayed, or "" when the
// answer is answer's own), or a refusal to render in the request's wire. Where it does not apply
// it is answer alone: nothing is read or written.
func (l *Layer) Serve(ctx context.Context, req wire.Request, caller string, answer func(context.Context) wire.Response) (wire.Response, string, error) {
	if !l.Applies(req) {
		return answer(ctx), "", nil
	}
	key, err := ParseKey(req.Header.Values(KeyHeader))
	if err == nil && l.Bucket == "" {
		err = apierr.New(apierr.CodeStoreNotConfigured, "Idempotency-Key is not available: this deployment has no RESULTS_BUCKET to keep answers in")
	}
	if err != nil {
		return wire.Response{}, Refused, err
	}
	fp := Fingerprint(req)
	name := l.Prefix + scopedName(caller, key) + ".json"
	owner := apierr.NewTraceID()
	running, _ := json.Marshal(record{State: stateRunning, Fingerprint: fp, Owner: owner, LeaseUntil: l.leaseUntil(ctx)})
	ifMatch := ""
	for range maxClaims {
		etag, won, err := l.Store.PutIf(ctx, l.Bucket, name, running, ifMatch)
		if err != nil {
			return wire.Response{}, Refused, storageFailure(err)
		}
		if won {
			return l.run(ctx, name, etag, record{Fingerprint: fp, Owner: owner}, answer), "", nil
		}
		data, etag, err := l.Store.GetWithETag(ctx, l.Bucket, name, maxRecordBytes)
		if apierr.As(err).Code == apierr.CodeS3NotFound {
			ifMatch = "" // expired and deleted between the two calls
			continue
		}
		if err != nil {
			return wire.Response{}, Refused, storageFailure(err)
		}
		var r record
		if json.Unmarshal(data, &r) != nil {
			r = record{} // unreadable: free, like a released key
		}
		switch decide(r, fp, l.now()) {
		case replay:
			return replayOf(r), Replayed, nil
		case inUse:
			return wire.Response{}, Refused, l.inUse(r.LeaseUntil)
		case reused:
			return wire.Response{}, Refused, apierr.New(apierr.CodeIdempotencyKeyReused,
				"this Idempotency-Key was already used for a different request; send a new key with a new request")
		}
		ifMatch = etag
	}
	return wire.Response{}, Refused, l.inUse(l.now().Add(time.Second))
}

// run answers as the key's owner, then keeps the answer or releases the key.
func (l *Layer) run(ctx context.Context, name, etag string, r record, answer func(context.Context) wire.Response) wire.Response {
	resp := answer(ctx)
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
	// for), within the request's deadline and WriteGrace.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.DefaultTimeout)
	if d, ok := ctx.Deadline(); ok {
		wctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), d.Add(l.WriteGrace))
	}
	defer cancel()
	_, won, err := l.Store.PutIf(wctx, l.Bucket, name, body, etag)
	if err != nil || !won {
		// The answer still goes to the caller; a repeat finds the lease and, once it lapses, runs again.
		cause := "the lease was taken over"
		if err != nil {
			cause = err.Error()
		}
		l.Log.WarnContext(ctx, "idempotency record not written", "state", r.State, "cause", cause)
	}
	return resp
}

func replayOf(r record) wire.Response {
	hdr := http.Header{}
	for k, v := range r.Header {
		hdr.Set(k, v)
	}
	hdr.Set(ReplayedHeader, "true")
	return wire.Response{Status: r.Status, Header: hdr, Body: r.Body}
}

// inUse is the 409 for a key whose first request holds its lease until leaseUntil.
func (l *Layer) inUse(leaseUntil time.Time) *apierr.Error {
	e := apierr.New(apierr.CodeIdempotencyKeyInUse,
		"a request with this Idempotency-Key is still being answered; send it again after Retry-After seconds to get its answer")
	e.RetryAfter = min(max(leaseUntil.Sub(l.now()), time.Second), maxRetryAfter)
	return e
}

func (l *Layer) leaseUntil(ctx context.Context) time.Time {
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
		return e.AtDeadline()
	}
	return e
}

// scopedName names a caller's key: the same key from two callers is two records. The key has
// no NUL (ParseKey), so caller and key cannot be shifted into another pair.
func scopedName(caller, key string) string {
	sum := sha256.Sum256([]byte(caller + "\x00" + key))
	return hex.EncodeToString(sum[:])
}
