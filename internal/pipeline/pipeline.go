// Package pipeline is the one server every front goes through. Each cross-cutting concern is
// written once here, in this order, for every wire alike:
//
//  1. recovery: a panic anywhere is the internal error, rendered in the request's wire;
//  2. the log unit: one trace id, one log line (entry) and one metrics sample per request;
//  3. the deadline margin: everything after runs on a context that ends ResponseMargin before
//     the caller's deadline, so the answer is sent in time;
//  4. the body limit;
//  5. the per-process memory budget: the request reserves its worst case (Footprint) or waits
//     its turn, and is refused server_busy in its wire's shape when none comes;
//  6. decoding, by the route's Protocol, which finds the credential the request carries;
//  7. authentication;
//  8. idempotency (Idempotency-Key on the routes the layer names);
//  9. the call itself, which the Protocol runs and encodes.
//
// A Protocol (the native API in internal/httpapi, the createTask envelope and in.php/res.php in
// internal/protocols) only decodes a request into a call to the service and encodes its answer
// or error: it never logs, authenticates or watches the clock. A new concern (a per-caller rate
// limit, a log field) is one step added here, and fronts_test.go holds every front to it.
package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/idempotency"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// Protocol is one wire: how its requests ask for a call and how its answers and errors look.
type Protocol interface {
	// Name names the protocol in the log line: "api", "task", "2captcha".
	Name() string
	// Decode reads what req asks for, calling nothing; its error is rendered by Fail.
	Decode(req wire.Request) (Call, error)
	// Fail renders err in the wire's shape. call is what Decode returned: nil when the request
	// failed before it was decoded, or while.
	Fail(req wire.Request, call Call, err error, traceID string) wire.Response
	// Footprint is what serving req may hold, as its wire states it, read from the route and
	// the headers alone (nothing is decoded before the reservation).
	Footprint(req wire.Request) Footprint
}

// Footprint is what a request's form costs, beyond its body as the runtime hands it over (the
// budget sets that aside for every invocation in flight).
type Footprint struct {
	// ParseFactor bounds what reading and serving the body allocates, as a multiple of its size
	// (each form's test holds its parse to it).
	ParseFactor int64
	// Picture: the request may carry a picture to decode (within the decode budget).
	Picture bool
}

// Call is one decoded request.
type Call interface {
	// Credential is the key the request carries, as an Authorization header value.
	Credential() string
	// Serve runs the call for the authenticated caller and encodes its answer. The record is
	// what the log line says of it, whether it failed or not; an error is rendered by Fail.
	Serve(ctx context.Context, caller, traceID string) (wire.Response, wire.Record, error)
}

// Coded is a failure that only a protocol has (no such task, a refused task type): it is
// logged under its code at info level, and rendered by its protocol.
type Coded interface {
	error
	Code() string
}

// Server answers every request through the pipeline.
type Server struct {
	Routes  map[string]Protocol // by path, without a trailing slash
	Default Protocol            // every other path
	Auth    wire.Authenticator
	// Idempotency keeps answers of requests sent with an Idempotency-Key; nil has none.
	Idempotency *idempotency.Layer
	Config      wire.Config
	Observe     *observe.Observer
	// Refusal, when set, is the answer to every request, in its wire's shape, before anything is
	// read: the configuration was refused at start (see Misconfigured).
	Refusal *apierr.Error
	// Budget is the process's memory budget, shared by the requests in flight; nil has none.
	Budget *membudget.Budget
	// PictureBytes is what decoding one picture may hold (the decode budget).
	PictureBytes int64
}

var _ wire.Server = (*Server)(nil)

// Misconfigured is the server of a function whose configuration was refused at start: every
// request is answered configuration_error in its own wire's shape, and nothing is read (the
// problems are in the start-up log, for operators; callers are told only that it is the
// service's fault).
func Misconfigured(routes map[string]Protocol, def Protocol, obs *observe.Observer) *Server {
	return &Server{Routes: routes, Default: def, Observe: obs,
		Refusal: apierr.New(apierr.CodeConfiguration, "the service is not configured correctly; its operators have been told in its logs")}
}

// entry is the request's one log line: each step returns its part and Serve writes it once.
type entry struct {
	protocol    string
	caller      string
	record      wire.Record
	idempotency string // idempotency.Replayed or Refused, when the layer answered itself
	err         error  // the failure answered, if any
}

// Serve answers one request. It never panics and never returns an internal error's text.
func (s *Server) Serve(ctx context.Context, req wire.Request) (resp wire.Response) {
	proto := s.protocol(req.Path)
	unit := s.Observe.Start(ctx, "request", req.RequestID)
	e := entry{protocol: proto.Name()}
	defer func() {
		if p := recover(); p != nil {
			e.err = unit.Recovered(p)
			resp = proto.Fail(req, nil, e.err, unit.TraceID)
		}
		write(unit, req, resp, e)
	}()
	resp, e = s.serve(ctx, req, proto, unit.TraceID)
	return resp
}

func (s *Server) protocol(path string) Protocol {
	if p, ok := s.Routes[strings.TrimSuffix(path, "/")]; ok {
		return p
	}
	return s.Default
}

// serve runs the steps after the log unit, each on what the one before found.
func (s *Server) serve(ctx context.Context, req wire.Request, proto Protocol, traceID string) (wire.Response, entry) {
	e := entry{protocol: proto.Name()}
	fail := func(call Call, err error) (wire.Response, entry) {
		e.err = err
		return proto.Fail(req, call, err, traceID), e
	}
	if s.Refusal != nil {
		return fail(nil, s.Refusal)
	}
	// Everything that can wait on AWS (the client keys' secret, the idempotency record, the
	// picture in S3, the provider) runs inside the margin.
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	if len(req.Body) > s.Config.MaxBodyBytes {
		return fail(nil, apierr.New(apierr.CodeTooLarge,
			"the body is over the limit of %d bytes", s.Config.MaxBodyBytes).WithHint("send larger images by S3 reference"))
	}
	// The body's size is known and bounded, and nothing has been decoded yet.
	reservation, err := s.Budget.Reserve(ctx, s.cost(proto.Footprint(req), len(req.Body)))
	if err != nil {
		return fail(nil, err)
	}
	defer reservation.Release()
	ctx = membudget.With(ctx, reservation)
	call, err := proto.Decode(req)
	if err != nil {
		return fail(call, err)
	}
	caller, err := s.Auth.Authenticate(ctx, call.Credential(), req.IAMCaller)
	if err != nil {
		return fail(call, err)
	}
	e.caller = caller
	var rec wire.Record
	var callErr error
	resp, outcome, err := s.Idempotency.Serve(ctx, req, caller, func(ctx context.Context) wire.Response {
		var resp wire.Response
		resp, rec, callErr = call.Serve(ctx, caller, traceID)
		if callErr != nil {
			return proto.Fail(req, call, callErr, traceID)
		}
		return resp
	})
	e.record, e.idempotency = rec, outcome
	if err != nil {
		return fail(call, err)
	}
	e.err = callErr
	return resp, e
}

// cost is a request's worst case: what its form's parse makes of its body, and for a picture the
// decode budget and twice the picture's size normalizing may add (the picture is at most
// the body).
func (s *Server) cost(f Footprint, body int) membudget.Cost {
	n := int64(body)
	c := membudget.Cost{Held: n * f.ParseFactor}
	if f.Picture {
		c.Picture = s.PictureBytes + 2*n
	}
	return c
}

func (s *Server) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-s.Config.ResponseMargin))
	}
	return context.WithTimeout(ctx, s.Config.DefaultTimeout)
}

// write writes the request's log line and metrics sample.
func write(unit *observe.Unit, req wire.Request, resp wire.Response, e entry) {
	unit.Add("method", req.Method, "path", req.Path, "status", resp.Status, "protocol", e.protocol, "caller", e.caller)
	unit.Add(e.record.Attrs...)
	if e.idempotency != "" {
		unit.Add("idempotency", e.idempotency)
	}
	if r := e.record.Result; r != nil {
		unit.Add("label", r.Label.ID, "grid", r.Grid.String(), "width", r.Image.Width, "height", r.Image.Height,
			"passthrough", r.Image.Passthrough, "objects", len(r.Objects), "provider", r.Provider)
		unit.Timings(r.Timings.Normalize, r.Timings.Upstream)
	}
	var coded Coded
	var failure *apierr.Error
	switch {
	case e.err == nil && e.idempotency == idempotency.Replayed:
		unit.Finish(slog.LevelInfo, idempotency.Replayed, nil)
	case e.err == nil:
		unit.Finish(slog.LevelInfo, "ok", nil)
	case errors.As(e.err, &failure):
		unit.Finish(observe.Level(failure), string(failure.Code), failure)
	case errors.As(e.err, &coded):
		unit.Add("code", coded.Code())
		unit.Finish(slog.LevelInfo, coded.Code(), nil)
	default:
		failure = apierr.As(e.err)
		unit.Finish(observe.Level(failure), string(failure.Code), failure)
	}
}
