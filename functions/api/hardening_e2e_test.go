//go:build e2e

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// invokeLate invokes with a deadline of timeout and returns the answer and how long after the
// deadline it arrived (0: in time).
func (f *fn) invokeLate(ev events.APIGatewayV2HTTPRequest, timeout time.Duration) (events.APIGatewayV2HTTPResponse, time.Duration) {
	f.t.Helper()
	payload, _ := json.Marshal(ev)
	res, err := f.rt.Invoke(context.Background(), payload, timeout)
	if err != nil || res.Error != nil {
		f.t.Fatalf("invoke: %v %s", err, res.Error)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		f.t.Fatalf("response %s: %v", res.Payload, err)
	}
	return resp, res.Late
}

func picture() events.APIGatewayV2HTTPRequest {
	return jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
}

// Whatever AWS does, the answer arrives before the Lambda deadline: a hung Secrets Manager (the
// client keys' secret, or the token's) and a hung S3 read are each cut at the deadline's margin
// and answered in the documented shape. On Lambda a late answer is lost ("Task timed out").
func TestAnswersBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	const keysSecret = "github.com/recaptcha-recognizer/recognizer/client-keys-deadline"
	const key = "alice-0f3b9c2d7e4a1f68"
	hung := []testenv.AWSFault{{Op: "secretsmanager.GetSecretValue", StallBody: time.Minute}}
	for _, c := range []struct {
		name   string
		keys   bool
		ev     func() events.APIGatewayV2HTTPRequest
		aws    []testenv.AWSFault
		status int
		code   string
	}{
		{name: "client keys' secret hung", keys: true, ev: picture, aws: hung, status: 504, code: "token_unavailable"},
		{name: "token secret hung", ev: picture, aws: hung, status: 504, code: "token_unavailable"},
		{name: "S3 reference read hung", ev: func() events.APIGatewayV2HTTPRequest {
			return jsonEvent("/recognize", map[string]any{"s3": "s3://" + inBucket + "/in/x.png", "question": "cars"})
		}, aws: []testenv.AWSFault{{Op: "s3.GetObject", StallBody: time.Minute}}, status: 504, code: "storage_unavailable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := start(t)
			f.put(inBucket, "in/x.png", std3x3.PNG())
			if c.keys {
				if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(keysSecret),
					SecretString: aws.String(`{"alice": "` + key + `"}`)}); err != nil {
					t.Fatal(err)
				}
				f = restart(t, f, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID="+keysSecret)
			}
			f.aws.Inject(c.aws...)
			resp, late := f.invokeLate(withHeader(c.ev(), "authorization", "Bearer "+key), 1500*time.Millisecond)
			wantError(t, resp, c.status, c.code)
			if late > 0 {
				t.Fatalf("answered %v after the deadline", late)
			}
		})
	}
}

// One caller cannot open the breaker for the others: five pictures on which the provider hangs
// past the deadline (as it did on the 70,000-scan JPEGs), then five it refuses, and another
// request still reaches the provider and is answered 200.
func TestHostilePicturesDoNotOpenBreaker(t *testing.T) {
	t.Parallel()
	f := start(t)
	for i := 0; i < 5; i++ {
		f.emu.Inject(emulator.Fault{Delay: time.Minute})
	}
	for i := 0; i < 5; i++ {
		resp, _ := f.invokeLate(picture(), 1500*time.Millisecond)
		wantError(t, resp, 504, "upstream_timeout")
	}
	for i := 0; i < 5; i++ {
		f.emu.Inject(emulator.Fault{Status: 400})
		wantError(t, f.invoke(picture()), 502, "upstream_rejected")
	}
	wantSolved(t, f.invoke(picture()), std3x3)
	if n := f.emu.Requests(); n != 11 {
		t.Fatalf("%d upstream requests, want 11 (every request reached the provider)", n)
	}
}

// A provider keeping its task processing is given up at its attempt budget (10 s), within its
// worst case of calls (a createTask and 20 polls), and the next provider answers inside the
// deadline.
func TestPollingProviderFailsOverInTime(t *testing.T) {
	t.Parallel()
	c := startChain(t, allKeys(), "PROVIDERS=capmonster,capsolver")
	c.cm.SetPolls(-1)
	began := time.Now()
	resp, late := c.invokeLate(picture(), 29*time.Second)
	t.Logf("answered by capsolver after %v; capmonster saw %d calls", time.Since(began).Round(time.Millisecond), c.cm.Requests())
	wantAnsweredBy(t, resp.Body, resp.Headers, resp.StatusCode, "capsolver")
	if n := c.cm.Requests(); n < 2 || n > 22 || late > 0 {
		t.Fatalf("capmonster saw %d calls (want 2..22), answer %v late", n, late)
	}
}

// Bad S3 keys are the caller's mistake: 400, and nothing is read.
func TestS3KeysWithControlCharacters(t *testing.T) {
	f := start(t)
	for _, key := range []string{"in/x\x00.png", "in/x\n.png", "in/\r"} {
		before := f.aws.S3Requests.Load()
		wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": map[string]string{"bucket": inBucket, "key": key}, "question": "cars"})), 400, "invalid_s3_reference")
		if f.aws.S3Requests.Load() != before {
			t.Fatalf("key %q reached S3", key)
		}
	}
	if strings.Contains(f.proc.Output(), `"level":"ERROR"`) {
		t.Fatal("a caller's bad key was logged as an error")
	}
}

// A token secret that is JSON but not a token (an array, a quoted string, null) is a
// configuration error, and the log says what is wrong; the provider is never called.
func TestMalformedTokenSecret(t *testing.T) {
	for value, named := range map[string]string{`["` + token + `"]`: "a JSON array", `"` + token + `"`: "a quoted JSON string", "null": "JSON null"} {
		f := start(t)
		if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.invoke(picture()), 500, "configuration_error")
		if out := f.waitOutput(func(o string) bool { return strings.Contains(o, named) }); !strings.Contains(out, named) || f.emu.Requests() != 0 {
			t.Fatalf("secret %s: the log does not name %q, or %d upstream calls", value, named, f.emu.Requests())
		}
	}
}

// Questions in decomposed Unicode (as macOS writes folder names) or fullwidth letters match.
func TestQuestionsNormalized(t *testing.T) {
	f := start(t)
	for q, label := range map[string]string{"Fahrra\u0308der": "/m/0199g", "Ｃａｒｓ": "/m/0k4j", "ｃａｒ": "/m/0k4j"} {
		ch := withLabel(std3x3, label)
		wantSolved(t, f.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(ch.PNG()), "question": q})), ch)
	}
}
