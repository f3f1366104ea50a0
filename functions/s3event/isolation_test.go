//go:build e2e

package main

// Issue 12: each test is one row of docs/reliability.md §7, through the real bootstraps and moto.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

func (f *fn) object(key string) ([]byte, bool) {
	f.t.Helper()
	out, err := f.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, false
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return b, true
}

// Row: an upload to incoming/<trace id> used to overwrite the HTTPS path's stored answer
// results/<trace id>.json. Both functions run here, configured as the template configures them
// (one bucket, default prefixes).
func TestUploadCannotOverwriteStoredAnswer(t *testing.T) {
	f := start(t)
	api, err := testenv.Build(context.Background(), "github.com/recaptcha-recognizer/recognizer/functions/api", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtimeapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	proc, err := rt.StartProcess(api, append(f.env, "AUTH_MODE=off", "SOURCE_BUCKETS="+bucket+"/references/", "RESULTS_BUCKET="+bucket))
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Kill()

	body, _ := json.Marshal(map[string]any{"image": base64.StdEncoding.EncodeToString(cars3.PNG()), "question": "cars", "store": true})
	ev, _ := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: "/recognize", Headers: map[string]string{"content-type": "application/json"}, Body: string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "trace-0001",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/recognize"}},
	})
	res, err := rt.Invoke(context.Background(), ev, 20*time.Second)
	if err != nil || res.Error != nil {
		t.Fatalf("api: %v %v\n%s", err, res, proc.Output())
	}
	var resp events.APIGatewayV2HTTPResponse
	json.Unmarshal(res.Payload, &resp)
	var answer struct{ Result, TraceID string }
	json.Unmarshal([]byte(resp.Body), &answer)
	if resp.StatusCode != 200 || answer.Result != "s3://"+bucket+"/stored/trace-0001.json" {
		t.Fatalf("api answered %d %s", resp.StatusCode, resp.Body)
	}
	stored, ok := f.object("stored/trace-0001.json")
	if !ok {
		t.Fatal("no stored answer")
	}

	// The attacker uploads under the trace id, at the top and in a folder, with a question.
	a := f.put("incoming/trace-0001", bus3.PNG(), map[string]string{"question": "bus"})
	b := f.put("incoming/cars/trace-0001", bus3.PNG(), nil)
	if f.invoke(a, b) {
		t.Fatal("the invocation failed")
	}
	f.wantSolved("results/trace-0001.json", "incoming/trace-0001", bus3)
	after, _ := f.object("stored/trace-0001.json")
	if !bytes.Equal(after, stored) {
		t.Fatalf("the stored answer changed:\n%s\n%s", stored, after)
	}
	if keys := f.resultKeys(); len(keys) != 2 {
		t.Fatalf("results %v", keys)
	}
}

func (f *fn) allKeys() []string {
	f.t.Helper()
	out, err := f.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		f.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// Row: INPUT_PREFIX=data/, RESULTS_PREFIX=data/out/, then an upload under data/out/. It used to
// write data/out/out/x.json.json and so on, about 110 invocations per upload. Now every
// delivery (the first and Lambda's two retries) fails and writes nothing; so does any other
// configuration error, even for a record that would otherwise be a permanent error result.
func TestLoopGuardFailsClosed(t *testing.T) {
	for name, env := range map[string][]string{
		"overlapping prefixes": {"INPUT_PREFIX=data/", "RESULTS_PREFIX=data/out/"},
		"another error":        {"INPUT_PREFIX=data/", "RESULTS_PREFIX=results/", "RECOGNITION_API_URL=ftp://nowhere"},
	} {
		t.Run(name, func(t *testing.T) {
			f := start(t, env...)
			recs := []events.S3EventRecord{
				f.put("data/out/x.json", []byte(`{"not":"an image"}`), nil),
				f.put("data/cars/x.png", cars3.PNG(), nil),
				f.put("data/giraffes/x.png", cars3.PNG(), nil),
			}
			for delivery := 1; delivery <= 3; delivery++ {
				if !f.invoke(recs...) {
					t.Fatalf("delivery %d succeeded; a configuration error must fail the invocation", delivery)
				}
			}
			if keys := f.allKeys(); len(keys) != 3 {
				t.Fatalf("the bucket holds %v: something was written", keys)
			}
			if f.emu.Requests() != 0 {
				t.Fatal("the upstream was called")
			}
			out := f.proc.Output()
			if !bytes.Contains([]byte(out), []byte("configuration_error")) || !bytes.Contains([]byte(out), []byte("invalid configuration")) {
				t.Fatalf("the log does not say the configuration is wrong:\n%s", out)
			}
		})
	}
}
