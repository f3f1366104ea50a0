// Package observe is how both entry points watch one unit of work (an HTTPS request, an S3
// record): a trace id, one log line with its outcome and timings, one metrics sample, and a panic
// turned into an internal error instead of a crash.
package observe

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
)

// Observer writes the log lines and metrics of one function.
type Observer struct {
	Log     *slog.Logger
	Metrics *metrics.Emitter
}

// Unit is one unit of work being observed. It is used by one goroutine.
type Unit struct {
	o         *Observer
	ctx       context.Context
	msg       string
	start     time.Time
	TraceID   string
	attrs     []any
	normalize time.Duration
	upstream  time.Duration
}

// Start begins a unit whose log line will have msg ("request", "record"). An empty traceID gets
// a new one.
func (o *Observer) Start(ctx context.Context, msg, traceID string) *Unit {
	if traceID == "" {
		traceID = apierr.NewTraceID()
	}
	return &Unit{o: o, ctx: ctx, msg: msg, start: time.Now(), TraceID: traceID}
}

// Add adds attributes to the unit's log line.
func (u *Unit) Add(attrs ...any) { u.attrs = append(u.attrs, attrs...) }

// Timings records where the unit's time went.
func (u *Unit) Timings(normalize, upstream time.Duration) {
	u.normalize, u.upstream = normalize, upstream
}

// Recovered turns a recovered panic into the internal error a caller sees, and logs it.
func (u *Unit) Recovered(p any) *apierr.Error {
	u.o.Log.ErrorContext(u.ctx, "panic", "trace_id", u.TraceID, "panic", p)
	return apierr.New(apierr.CodeInternal, "internal error")
}

// Level is the log level of a unit that ended with failure: a fault (5xx) is an error, unless it
// is a failure remembered from moments ago, which was logged as an error then, or a request the
// memory budget had no room for (the process is full, not broken).
func Level(failure *apierr.Error) slog.Level {
	switch {
	case failure == nil || failure.Status() < 500:
		return slog.LevelInfo
	case errors.Is(failure, apierr.ErrRemembered), failure.Code == apierr.CodeServerBusy:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// Finish writes the unit's log line at level, with failure's code and, for a fault, its cause,
// and a metrics sample under code (none when code is empty: nothing was done).
func (u *Unit) Finish(level slog.Level, code string, failure *apierr.Error) {
	total := time.Since(u.start)
	attrs := append([]any{"trace_id", u.TraceID}, u.attrs...)
	attrs = append(attrs, "total_ms", clock.Millis(total))
	if u.normalize > 0 || u.upstream > 0 {
		attrs = append(attrs, "normalize_ms", clock.Millis(u.normalize), "upstream_ms", clock.Millis(u.upstream))
	}
	if failure != nil {
		attrs = append(attrs, "code", failure.Code)
		if cause := failure.Unwrap(); cause != nil && level > slog.LevelInfo {
			attrs = append(attrs, "cause", cause.Error())
		}
	}
	u.o.Log.Log(u.ctx, level, u.msg, attrs...)
	if code != "" && u.o.Metrics != nil {
		u.o.Metrics.Emit(metrics.Sample{Code: code, Latency: total, Normalize: u.normalize, Upstream: u.upstream})
	}
}
