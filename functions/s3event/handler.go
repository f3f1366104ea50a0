package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/uploads"
)

// handler translates an S3 event into records for the processor, and the outcomes into one
// invocation result: it fails the invocation (so Lambda retries the event) if any record needs it.
type handler struct {
	proc    uploads.RecordProcessor
	observe *observe.Observer
}

// Handle processes every record, then fails the invocation if any record needs a retry.
func (h handler) Handle(ctx context.Context, ev events.S3Event) error {
	var retry []error
	for i, rec := range ev.Records {
		traceID := ""
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			traceID = fmt.Sprintf("%s-%d", lc.AwsRequestID, i)
		}
		if err := h.record(ctx, recordOf(rec), traceID); err != nil {
			retry = append(retry, err)
		}
	}
	if len(retry) > 0 {
		return fmt.Errorf("%d of %d records need a retry: %w", len(retry), len(ev.Records), errors.Join(retry...))
	}
	return nil
}

// record handles one record under observation; it returns an error when the record needs a retry.
func (h handler) record(ctx context.Context, r uploads.Record, traceID string) (retry error) {
	unit := h.observe.Start(ctx, "record", traceID)
	var out uploads.Outcome
	defer func() {
		var failure *apierr.Error
		if p := recover(); p != nil {
			failure = unit.Recovered(p)
			out = uploads.Outcome{Status: uploads.Retry, Code: failure.Code, Err: failure}
			retry = fmt.Errorf("%s: %s", r.Key, failure.Code)
		}
		unit.Add("bucket", r.Bucket, "key", r.Key, "outcome", out.Status, "result", out.ResultKey,
			"label", out.Label, "grid", out.Grid)
		level, code := slog.LevelInfo, metricCode(out)
		if out.Err != nil {
			level, failure = slog.LevelWarn, apierr.As(out.Err)
		} else if out.Code != "" {
			unit.Add("code", out.Code)
		}
		unit.Finish(level, code, failure)
	}()
	out = h.proc.Process(ctx, r, unit.TraceID)
	if out.Err != nil {
		return fmt.Errorf("%s: %s", r.Key, apierr.As(out.Err).Code)
	}
	return nil
}

// metricCode is the record's metrics code: none for a record that was not ours.
func metricCode(out uploads.Outcome) string {
	switch {
	case out.Status == uploads.Skipped:
		return ""
	case out.Code != "":
		return string(out.Code)
	case out.Status == uploads.Duplicate:
		return "duplicate"
	}
	return "ok"
}

// recordOf reads one record of an S3 event notification, its key URL-decoded.
func recordOf(rec events.S3EventRecord) uploads.Record {
	r := uploads.Record{
		Bucket:    rec.S3.Bucket.Name,
		Key:       rec.S3.Object.URLDecodedKey,
		ETag:      rec.S3.Object.ETag,
		VersionID: rec.S3.Object.VersionID,
		Size:      rec.S3.Object.Size,
	}
	if r.Key == "" && rec.S3.Object.Key != "" {
		r.Key = rec.S3.Object.Key // an event not decoded by the library (hand-written fixtures)
	}
	return r
}
