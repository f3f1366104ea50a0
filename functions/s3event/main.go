// Command s3event is the S3 entry point: a Lambda triggered by ObjectCreated events under
// INPUT_PREFIX (default incoming/). For incoming/<rest> it writes results/<rest>.json holding
// the body the HTTPS path would answer, plus source and timing.
//
// The question comes from the object's metadata "question" (and optional "grid"), else from the
// first folder under the prefix (incoming/cars/x.jpg). Every record is handled; a permanent
// failure is written as an error result and the invocation succeeds; a transient one fails the
// invocation so Lambda retries it (and then sends the event to the on-failure destination).
// Redeliveries of an object version already answered cost nothing. With any configuration error
// every record fails the invocation and nothing is read or written (a result must never feed a
// loop), so the event ends in the dead-letter queue.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"recognizer/internal/apierr"
	"recognizer/internal/app"
	"recognizer/internal/metrics"
	"recognizer/internal/uploads"
)

func main() {
	log := app.NewLogger(os.Stdout)
	cfg, cfgErr := app.FromEnv(os.Getenv)
	awsCfg, err := app.AWS(context.Background())
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	proc, emitter := app.NewUploadsProcessor(cfg, cfgErr, awsCfg, log, os.Stdout)
	h := handler{proc: proc, log: log, metrics: emitter}
	lambda.Start(h.Handle)
}

type handler struct {
	proc    *uploads.Processor
	log     *slog.Logger
	metrics *metrics.Emitter
}

// Handle processes every record, then fails the invocation if any record needs a retry.
func (h handler) Handle(ctx context.Context, ev events.S3Event) error {
	var retry []error
	for i, rec := range ev.Records {
		start := time.Now()
		r := uploads.RecordOf(rec)
		traceID := apierr.NewTraceID()
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			traceID = fmt.Sprintf("%s-%d", lc.AwsRequestID, i)
		}
		out := h.proc.Process(ctx, r, traceID)
		level := slog.LevelInfo
		attrs := []any{"bucket", r.Bucket, "key", r.Key, "outcome", out.Status, "result", out.ResultKey,
			"label", out.Label, "grid", out.Grid, "code", out.Code, "trace_id", traceID, "total_ms", float64(time.Since(start).Microseconds()) / 1000}
		if out.Err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, "cause", out.Err.Error())
			retry = append(retry, fmt.Errorf("%s: %s", r.Key, apierr.As(out.Err).Code))
		}
		h.log.Log(ctx, level, "record", attrs...)
		if out.Status != "skipped" {
			code := string(out.Code)
			if code == "" {
				code = map[string]string{"done": "ok", "duplicate": "duplicate"}[out.Status]
			}
			h.metrics.Emit(metrics.Sample{Code: code, Latency: time.Since(start)})
		}
	}
	if len(retry) > 0 {
		return fmt.Errorf("%d of %d records need a retry: %w", len(retry), len(ev.Records), errors.Join(retry...))
	}
	return nil
}
