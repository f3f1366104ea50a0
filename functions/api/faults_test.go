//go:build e2e

package main

import (
	"encoding/base64"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// internals is what an error message must never show a caller: source paths, stack traces,
// addresses, the SDK's own error text, the token.
var internals = regexp.MustCompile(`\.go\b|goroutine|panic|/tmp/|/work/|127\.0\.0\.1|localhost|RequestID|StatusCode|operation error|api error|` + token)

// No feature fetches what a caller names: an image given as a URL is refused as not base64, and
// nothing connects to the URL.
func TestNoURLFetch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var connections atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	url := "http://" + ln.Addr().String() + "/challenge.png"
	f := start(t)
	for _, ev := range []events.APIGatewayV2HTTPRequest{
		jsonEvent("/recognize", map[string]any{"image": url, "question": "cars"}),
		jsonEvent("/recognize", map[string]any{"image": "data:image/png;base64," + url, "question": "cars"}),
		multipartEvent(map[string]string{"question": "cars", "image": url}, nil),
	} {
		wantError(t, f.invoke(ev), 400, "invalid_image")
	}
	wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": url, "question": "cars"})), 400, "invalid_s3_reference")
	if n := connections.Load(); n != 0 || f.emu.Requests() != 0 {
		t.Fatalf("%d connections to the caller's URL, %d upstream requests", n, f.emu.Requests())
	}
}

// The fault matrix: every way the upstream, Secrets Manager and S3 misbehave, through the real
// bootstrap, the real SDK and moto, each with its documented answer (docs/reliability.md).
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	closed, err := testenv.FreeAddr() // nothing listens there: connections are refused
	if err != nil {
		t.Fatal(err)
	}
	inline := func() events.APIGatewayV2HTTPRequest {
		return jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
	}
	fromS3 := func() events.APIGatewayV2HTTPRequest {
		return jsonEvent("/recognize", map[string]any{"s3": "s3://" + inBucket + "/in/x.png", "question": "cars"})
	}
	stored := func() events.APIGatewayV2HTTPRequest {
		return jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars", "store": true})
	}
	empty := ""
	noToken := `{"other": "x"}`
	rows := []struct {
		name     string
		env      []string
		upstream []emulator.Fault
		aws      []testenv.AWSFault
		ev       func() events.APIGatewayV2HTTPRequest
		deadline time.Duration
		status   int    // 200: solved
		code     string // error code
		calls    int    // upstream requests; -1 when the row does not pin them
	}{
		{name: "upstream 429 with Retry-After, then ok", upstream: []emulator.Fault{{Status: 429, RetryAfter: "1"}}, status: 200, calls: 2},
		{name: "upstream 429 throughout", upstream: []emulator.Fault{{Status: 429, RetryAfter: "7"}, {Status: 429, RetryAfter: "7"}, {Status: 429, RetryAfter: "7"}}, status: 429, code: "too_many_requests", calls: 3},
		{name: "upstream 500 throughout", upstream: []emulator.Fault{{Status: 500}, {Status: 500}, {Status: 500}}, status: 502, code: "upstream_error", calls: 3},
		{name: "upstream 502 once", upstream: []emulator.Fault{{Status: 502}}, status: 200, calls: 2},
		{name: "upstream 502 throughout", upstream: []emulator.Fault{{Status: 502}, {Status: 502}, {Status: 502}}, status: 502, code: "upstream_error", calls: 3},
		{name: "upstream 503 throughout", upstream: []emulator.Fault{{Status: 503}, {Status: 503}, {Status: 503}}, status: 502, code: "upstream_error", calls: 3},
		{name: "upstream 504 throughout", upstream: []emulator.Fault{{Status: 504}, {Status: 504}, {Status: 504}}, status: 502, code: "upstream_error", calls: 3},
		{name: "upstream 400 (a request it refuses)", upstream: []emulator.Fault{{Status: 400}}, status: 502, code: "upstream_rejected", calls: 1},
		{name: "upstream connection refused", env: []string{"RECOGNITION_API_URL=http://" + closed + emulator.Path}, status: 502, code: "upstream_error", calls: 0},
		{name: "upstream drops the connection", upstream: []emulator.Fault{{Drop: true}, {Drop: true}, {Drop: true}}, status: 502, code: "upstream_error", calls: 3},
		{name: "upstream resets mid-body once", upstream: []emulator.Fault{{CutBody: true}}, status: 200, calls: 2},
		{name: "upstream resets mid-body throughout", upstream: []emulator.Fault{{CutBody: true}, {CutBody: true}, {CutBody: true}}, status: 502, code: "upstream_error", calls: 3},
		{name: "upstream slow headers (1.5 s)", upstream: []emulator.Fault{{Delay: 1500 * time.Millisecond, Status: 200, Body: `{"solution":{"size":300,"label":"/m/0k4j","confidences":[1,0,0,0,1,0,0,0,1],"objects":[0,4,8],"type":"multi"}}`}}, status: 200, calls: 1},
		{name: "upstream slow body (1.5 s stall)", upstream: []emulator.Fault{{StallBody: 1500 * time.Millisecond}}, status: 200, calls: 1},
		{name: "upstream body stalls past the deadline", upstream: []emulator.Fault{{StallBody: time.Minute}, {StallBody: time.Minute}, {StallBody: time.Minute}}, deadline: 3 * time.Second, status: 504, code: "upstream_timeout", calls: -1},
		{name: "upstream malformed JSON", upstream: []emulator.Fault{{Body: `{"solution": {"size": 300,`}}, status: 502, code: "upstream_bad_response", calls: 1},
		{name: "upstream JSON of the wrong shape", upstream: []emulator.Fault{{Body: `{"solution": "yes", "objects": [1]}`}}, status: 502, code: "upstream_bad_response", calls: 1},
		{name: "upstream objects out of range", upstream: []emulator.Fault{{Body: `{"solution":{"size":300,"label":"/m/0k4j","confidences":[0,0,0,0,0,0,0,0,0],"objects":[9],"type":"multi"}}`}}, status: 502, code: "upstream_bad_response", calls: 1},
		{name: "upstream enormous body", upstream: []emulator.Fault{{Body: `{"solution":{"size":300,"pad":"` + strings.Repeat("x", 3<<20) + `"}}`}}, status: 502, code: "upstream_bad_response", calls: 1},
		{name: "Secrets Manager unreachable", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", Refuse: true}}, status: 503, code: "token_unavailable", calls: 0},
		{name: "Secrets Manager throttling", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", Status: 400, Code: "ThrottlingException"}}, status: 503, code: "token_unavailable", calls: 0},
		{name: "Secrets Manager access denied", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", Status: 400, Code: "AccessDeniedException"}}, status: 500, code: "configuration_error", calls: 0},
		{name: "secret missing", env: []string{"TOKEN_SECRET_ID=recognizer/none"}, status: 500, code: "configuration_error", calls: 0},
		{name: "secret JSON without the token", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", SecretString: &noToken}}, status: 500, code: "configuration_error", calls: 0},
		{name: "secret empty", aws: []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", SecretString: &empty}}, status: 500, code: "configuration_error", calls: 0},
		{name: "S3 object missing", ev: func() events.APIGatewayV2HTTPRequest {
			return jsonEvent("/recognize", map[string]any{"s3": "s3://" + inBucket + "/in/none.png", "question": "cars"})
		}, status: 404, code: "s3_object_not_found", calls: 0},
		{name: "S3 access denied", ev: fromS3, aws: []testenv.AWSFault{{Op: "s3.GetObject", Status: 403, Code: "AccessDenied"}}, status: 403, code: "s3_forbidden", calls: 0},
		{name: "S3 slow read (1.5 s stall)", ev: fromS3, aws: []testenv.AWSFault{{Op: "s3.GetObject", StallBody: 1500 * time.Millisecond}}, status: 200, calls: 1},
		{name: "S3 read stalls past the deadline", ev: fromS3, aws: []testenv.AWSFault{{Op: "s3.GetObject", StallBody: time.Minute}}, deadline: 3 * time.Second, status: 504, code: "storage_unavailable", calls: 0},
		{name: "S3 unavailable", ev: fromS3, aws: []testenv.AWSFault{{Op: "s3.GetObject", Status: 503, Code: "ServiceUnavailable"}}, status: 503, code: "storage_unavailable", calls: 0},
		{name: "S3 result write fails", ev: stored, aws: []testenv.AWSFault{{Op: "s3.PutObject", Status: 500, Code: "InternalError"}}, status: 503, code: "storage_unavailable", calls: 1},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			f := start(t, row.env...)
			f.put(inBucket, "in/x.png", std3x3.PNG())
			f.emu.Inject(row.upstream...)
			f.aws.Inject(row.aws...)
			ev := inline
			if row.ev != nil {
				ev = row.ev
			}
			deadline := row.deadline
			if deadline == 0 {
				deadline = 20 * time.Second
			}
			began := time.Now()
			resp := f.invokeTimeout(ev(), deadline)
			if row.status == 200 {
				wantSolved(t, resp, std3x3)
			} else {
				wantError(t, resp, row.status, row.code) // which also looks for internals
			}
			if took := time.Since(began); row.deadline > 0 && took > row.deadline+runtimeapi.Grace {
				t.Errorf("answered after %v, past the %v deadline", took, row.deadline)
			}
			for _, line := range strings.Split(f.proc.Output(), "\n") {
				if line != "" && !strings.HasPrefix(line, "{") {
					t.Errorf("a log line is not JSON: %q", line)
				}
			}
			if row.calls >= 0 && f.emu.Requests() != row.calls {
				t.Errorf("%d upstream requests, want %d", f.emu.Requests(), row.calls)
			}
		})
	}
}

// A PNG of the upstream's size whose ends are intact but whose middle is broken fails its chunk
// checksums before it is forwarded: the caller hears it as a bad image, and no provider is asked.
func TestCorruptStandardImage(t *testing.T) {
	f := start(t)
	png := std3x3.PNG()
	for i := len(png) / 3; i < len(png)/3+64; i++ {
		png[i] ^= 0x5a
	}
	a := wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(png), "question": "cars"})), 400, "invalid_image")
	if f.emu.Requests() != 0 || !strings.Contains(a.Error.Message, "checksum") {
		t.Fatalf("%d upstream requests, %q; want none: a forwarded PNG's chunks are checked first", f.emu.Requests(), a.Error.Message)
	}
}
