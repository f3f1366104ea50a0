//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// invokeWithin sends an event with a deadline; failed is true when the function reported an
// error or ran out of time: either way Lambda retries the event, then sends it to the DLQ.
func (f *fn) invokeWithin(timeout time.Duration, recs ...events.S3EventRecord) (failed bool) {
	f.t.Helper()
	payload, _ := json.Marshal(events.S3Event{Records: recs})
	res, err := f.rt.Invoke(context.Background(), payload, timeout)
	if errors.Is(err, runtimeapi.ErrTimeout) {
		return true
	}
	if err != nil {
		f.t.Fatalf("invoke: %v", err)
	}
	return res.Error != nil
}

// resultKeys lists every object under results/.
func (f *fn) resultKeys() []string {
	f.t.Helper()
	out, err := f.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("results/")})
	if err != nil {
		f.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// The S3 path's fault matrix: every row ends with a result, an error result, or a failed
// invocation whose retry (the fault gone) ends with exactly one result. Never silence.
func TestFaultMatrix(t *testing.T) {
	closed, err := testenv.FreeAddr() // nothing listens there: connections are refused
	if err != nil {
		t.Fatal(err)
	}
	empty, noToken := "", `{"other": "x"}`
	three := func(f emulator.Fault) []emulator.Fault { return []emulator.Fault{f, f, f} }
	const (
		solved = "result"
		retry  = "failed invocation, then a result on retry"
	)
	rows := []struct {
		name     string
		env      []string
		upstream []emulator.Fault
		aws      []testenv.AWSFault
		missing  bool // the event names an object that is not there
		deadline time.Duration
		outcome  string // solved, retry, or an error result's code
	}{
		{name: "upstream 429 with Retry-After, then ok", upstream: []emulator.Fault{{Status: 429, RetryAfter: "1"}}, outcome: solved},
		{name: "upstream 429 throughout", upstream: three(emulator.Fault{Status: 429}), outcome: retry},
		{name: "upstream 500 throughout", upstream: three(emulator.Fault{Status: 500}), outcome: retry},
		{name: "upstream 502 throughout", upstream: three(emulator.Fault{Status: 502}), outcome: retry},
		{name: "upstream 503 throughout", upstream: three(emulator.Fault{Status: 503}), outcome: retry},
		{name: "upstream 504 throughout", upstream: three(emulator.Fault{Status: 504}), outcome: retry},
		{name: "upstream connection refused", env: []string{"RECOGNITION_API_URL=http://" + closed + emulator.Path}, outcome: retry},
		{name: "upstream resets mid-body throughout", upstream: three(emulator.Fault{CutBody: true}), outcome: retry},
		{name: "upstream slow headers (1.5 s)", upstream: []emulator.Fault{{StallBody: 0, Delay: 1500 * time.Millisecond, Body: `{"solution":{"size":300,"label":"/m/0k4j","confidences":[0,1,0,0,0,1,0,0,0],"objects":[1,5],"type":"multi"}}`}}, outcome: solved},
		{name: "upstream slow body (1.5 s stall)", upstream: []emulator.Fault{{StallBody: 1500 * time.Millisecond}}, outcome: solved},
		{name: "upstream body stalls past the deadline", upstream: three(emulator.Fault{StallBody: time.Minute}), deadline: 3 * time.Second, outcome: retry},
		{name: "upstream refuses the picture (400)", upstream: []emulator.Fault{{Status: 400}}, outcome: "upstream_rejected"},
		{name: "upstream malformed JSON", upstream: []emulator.Fault{{Body: `{"solution":`}}, outcome: retry},
		{name: "upstream JSON of the wrong shape", upstream: []emulator.Fault{{Body: `{"solution":"yes"}`}}, outcome: retry},
		{name: "upstream objects out of range", upstream: []emulator.Fault{{Body: `{"solution":{"size":300,"confidences":[0,0,0,0,0,0,0,0,0],"objects":[-1]}}`}}, outcome: retry},
		{name: "upstream enormous body", upstream: []emulator.Fault{{Body: `{"solution":{"pad":"` + strings.Repeat("x", 3<<20) + `"}}`}}, outcome: retry},
		{name: "Secrets Manager unreachable", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", Refuse: true}}, outcome: retry},
		{name: "Secrets Manager access denied", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", Status: 400, Code: "AccessDeniedException"}}, outcome: retry},
		{name: "secret missing", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", Status: 400, Code: "ResourceNotFoundException"}}, outcome: retry},
		{name: "secret JSON without the token", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", SecretString: &noToken}}, outcome: retry},
		{name: "secret empty", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", SecretString: &empty}}, outcome: retry},
		{name: "S3 object missing", missing: true, outcome: "s3_object_not_found"},
		{name: "S3 access denied", aws: []testenv.AWSFault{{Op: "s3.HeadObject", Status: 403, Times: 1}}, outcome: "s3_forbidden"},
		{name: "S3 read denied after the head", aws: []testenv.AWSFault{{Op: "s3.GetObject", Status: 403, Code: "AccessDenied"}}, outcome: "s3_forbidden"},
		{name: "S3 unavailable", aws: []testenv.AWSFault{{Op: "s3.HeadObject", Status: 503}}, outcome: retry},
		{name: "S3 slow read (1.5 s stall)", aws: []testenv.AWSFault{{Op: "s3.GetObject", StallBody: 1500 * time.Millisecond}}, outcome: solved},
		{name: "S3 read stalls past the deadline", aws: []testenv.AWSFault{{Op: "s3.GetObject", StallBody: time.Minute}}, deadline: 3 * time.Second, outcome: retry},
		{name: "S3 result write fails", aws: []testenv.AWSFault{{Op: "s3.PutObject", Status: 500, Code: "InternalError"}}, outcome: retry},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			f := start(t, row.env...)
			rec := f.put("incoming/cars/x.png", cars3.PNG(), nil)
			if row.missing {
				rec = record("incoming/cars/gone.png", "0123", 10)
			}
			f.emu.Inject(row.upstream...)
			awsProxy.Inject(row.aws...)
			deadline := row.deadline
			if deadline == 0 {
				deadline = 20 * time.Second
			}
			failed := f.invokeWithin(deadline, rec)
			resultKey := "results/cars/x.png.json"
			switch row.outcome {
			case solved:
				if failed {
					t.Fatal("the invocation failed")
				}
				f.wantSolved(resultKey, "incoming/cars/x.png", cars3)
			case retry:
				if !failed {
					t.Fatal("the invocation succeeded; a transient fault must fail it so Lambda retries")
				}
				if keys := f.resultKeys(); len(keys) != 0 {
					t.Fatalf("a failed invocation left results %v", keys)
				}
				// Lambda's retry, the fault over (a new process when the configuration was wrong),
				// after the remembered secret failure has been forgotten.
				time.Sleep(secretFailureTTL + 100*time.Millisecond)
				awsProxy.Clear()
				f.emu.ClearFaults()
				if row.env != nil {
					f.proc.Kill()
					if f.proc, err = f.rt.StartProcess(bootstrap, f.env[:len(f.env)-len(row.env)]); err != nil {
						t.Fatal(err)
					}
				}
				if f.invokeWithin(20*time.Second, rec) {
					t.Fatal("the retry failed")
				}
				f.wantSolved(resultKey, "incoming/cars/x.png", cars3)
			default:
				if failed {
					t.Fatal("the invocation failed; a permanent fault must leave an error result")
				}
				if row.missing {
					resultKey = "results/cars/gone.png.json"
				}
				f.wantFailed(resultKey, row.outcome)
			}
			if keys := f.resultKeys(); len(keys) != 1 {
				t.Fatalf("results %v, want exactly one", keys)
			}
		})
	}
}
