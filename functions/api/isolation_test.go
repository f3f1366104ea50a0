//go:build e2e

package main

// Callers see only what is theirs: each test is one row of docs/reliability.md, tried as a key
// holder would, through the real bootstrap and moto.

import (
	"context"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
)

// stackEnv configures the function as the template does: one bucket, references readable only
// under references/, answers stored under their own prefix.
func stackEnv() []string {
	return []string{"SOURCE_BUCKETS=" + inBucket + "/references/", "RESULTS_BUCKET=" + inBucket}
}

func refEvent(ref string) events.APIGatewayV2HTTPRequest {
	return jsonEvent("/recognize", map[string]any{"s3": ref, "question": "cars"})
}

// Row: a reference to someone else's upload in the stack's bucket.
func TestReferenceToAnotherUploadIsForbidden(t *testing.T) {
	f := start(t, stackEnv()...)
	f.put(inBucket, "incoming/cars/someone-elses.png", std3x3.PNG())
	f.put(inBucket, "references/mine.png", std3x3.PNG())

	before := f.aws.S3Requests.Load()
	wantError(t, f.invoke(refEvent("s3://"+inBucket+"/incoming/cars/someone-elses.png")), 403, "s3_forbidden")
	if n := f.aws.S3Requests.Load() - before; n != 0 {
		t.Fatalf("a reference outside the scope made %d S3 requests", n)
	}
	if f.emu.Requests() != 0 {
		t.Fatal("a reference outside the scope reached the upstream")
	}
	// Inside the scope the same picture is recognized.
	wantSolved(t, f.invoke(refEvent("s3://"+inBucket+"/references/mine.png")), std3x3)
}

var traceIDField = regexp.MustCompile(`"trace_id":"[^"]*"`)

// Row: outside the scope, an existing key, a missing key and an 11 MB object get the same
// answer, and nothing is read; inside it, 404 and 413 stay.
func TestOutsideTheScopeNothingLeaks(t *testing.T) {
	f := start(t, stackEnv()...)
	f.put(inBucket, "incoming/cars/exists.png", std3x3.PNG())
	f.put(inBucket, "elsewhere/big.bin", make([]byte, 11_000_000))
	f.put(inBucket, "references/big.bin", make([]byte, 11_000_000))

	before := f.aws.S3Requests.Load()
	var bodies []string
	for _, key := range []string{"incoming/cars/exists.png", "incoming/cars/missing.png", "elsewhere/big.bin"} {
		resp := f.invoke(refEvent("s3://" + inBucket + "/" + key))
		wantError(t, resp, 403, "s3_forbidden")
		bodies = append(bodies, traceIDField.ReplaceAllString(resp.Body, ""))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("the answers differ, so they tell something:\n%s", bodies)
	}
	if n := f.aws.S3Requests.Load() - before; n != 0 {
		t.Fatalf("references outside the scope made %d S3 requests", n)
	}

	wantError(t, f.invoke(refEvent("s3://"+inBucket+"/references/missing.png")), 404, "s3_object_not_found")
	wantError(t, f.invoke(refEvent("s3://"+inBucket+"/references/big.bin")), 413, "payload_too_large")

	before = f.aws.S3Requests.Load()
	for _, key := range []string{"references/../incoming/cars/exists.png", "references//x.png", "references/./x.png", "/references/x.png", "references/"} {
		wantError(t, f.invoke(refEvent("s3://"+inBucket+"/"+key)), 400, "invalid_s3_reference")
	}
	if n := f.aws.S3Requests.Load() - before; n != 0 {
		t.Fatalf("invalid references made %d S3 requests", n)
	}
}

// Row: an upstream (or a proxy in front of it) answering 400 with our Authorization header as
// its error code: the caller gets our own code and message, never the upstream's text.
func TestUpstreamEchoIsNotPassedOn(t *testing.T) {
	f := start(t)
	header := "Bearer " + token
	ev := func() events.APIGatewayV2HTTPRequest {
		return jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
	}
	f.emu.Inject(emulator.Fault{Status: 400, Body: `{"success":false,"error":{"code":"` + header + `","message":"` + header + `"}}`})
	a := wantError(t, f.invoke(ev()), 502, "upstream_rejected") // wantError refuses the token in the message
	if !strings.Contains(a.Error.Message, "status 400") {
		t.Errorf("message %q", a.Error.Message)
	}
	// A documented code is passed on, its message never.
	f.emu.Inject(emulator.Fault{Status: 400, Body: `{"success":false,"error":{"code":"token_mismatched","message":"` + header + `"}}`})
	a = wantError(t, f.invoke(ev()), 502, "upstream_rejected")
	if !strings.Contains(a.Error.Message, `"token_mismatched"`) {
		t.Errorf("message %q does not pass on the documented code", a.Error.Message)
	}
	// In a 200, only the contract's checked fields reach the caller.
	f.emu.Inject(emulator.Fault{Body: `{"solution":{"size":300,"label":"` + cars + `","confidences":[1,0,0,0,1,0,0,0,1],"objects":[0,4,8],"type":"multi","debug":"` + header + `"}}`})
	resp := f.invoke(ev())
	wantSolved(t, resp, std3x3)
	if strings.Contains(resp.Body, token) || strings.Contains(resp.Body, "debug") {
		t.Fatalf("the answer passes on what the upstream echoed: %s", resp.Body)
	}
	// A label that is not the one asked (here our header echoed) is a broken answer now
	// (docs/providers.md §1): refused, and not quoted.
	f.emu.Inject(emulator.Fault{Body: `{"solution":{"size":300,"label":"` + header + `","confidences":[1,0,0,0,1,0,0,0,1],"objects":[0,4,8],"type":"multi"}}`})
	wantError(t, f.invoke(ev()), 502, "upstream_bad_response")
	// The deferred check in start looks for the token in every log line.
}

// Row: 20 requests with a junk key while the client-keys secret is malformed make one Secrets
// Manager read and one ERROR line: the failure is remembered (SECRET_FAILURE_TTL, 30 s deployed,
// 1 s here), every request is still refused, and the operator's fix counts once the period is over.
// A loaded machine may take longer than a period for the 20: each period they span allows one
// more read (and ERROR line), so the bound holds however slow the machine; a function that read
// the secret for every request would need 19 s for them to pass.
func TestMalformedKeysSecretIsReadOncePerPeriod(t *testing.T) {
	const keysSecret = "github.com/recaptcha-recognizer/recognizer/client-keys"
	const failureTTL = time.Second
	f := start(t)
	if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(keysSecret),
		SecretString: aws.String(`{"alice": "short"}`)}); err != nil {
		t.Fatal(err)
	}
	f = restart(t, f, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID="+keysSecret, "SECRET_FAILURE_TTL="+failureTTL.String())
	f.aws.SecretReads.Store(0)
	began := time.Now()
	for i := 0; i < 20; i++ {
		ev := withHeader(jsonEvent("/recognize", map[string]any{"image": "x", "question": "cars"}), "authorization", "Bearer junk-key-000000000000")
		wantError(t, f.invoke(ev), 500, "configuration_error")
	}
	periods := 1 + int(time.Since(began)/failureTTL)
	reads := int(f.aws.SecretReads.Load())
	if reads < 1 || reads > periods {
		t.Fatalf("20 requests over %d failure period(s) made %d Secrets Manager reads, want 1..%d", periods, reads, periods)
	}
	out := f.waitOutput(func(o string) bool { return strings.Count(o, `"msg":"request"`) >= 20 })
	if n := strings.Count(out, `"level":"ERROR","msg":"request"`); n != reads {
		t.Fatalf("%d ERROR request lines, want one per read (%d):\n%s", n, reads, out)
	}
	if n := strings.Count(out, `"level":"WARN","msg":"request"`); n != 20-reads {
		t.Fatalf("%d WARN request lines, want %d", n, 20-reads)
	}

	const aliceKey = "alice-0f3b9c2d7e4a1f68"
	if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(keysSecret),
		SecretString: aws.String(`{"alice": "` + aliceKey + `"}`)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(failureTTL + 100*time.Millisecond) // the remembered failure's period ends
	ev := withHeader(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}), "authorization", "Bearer "+aliceKey)
	wantSolved(t, f.invoke(ev), std3x3)
	if strings.Contains(f.proc.Output(), aliceKey) {
		t.Fatal("a client key appears in the function's output")
	}
}

// Row: "Authorization: BEARER <valid key>" is accepted: schemes are case-insensitive
// (RFC 7235). And a stored key with white space around it, which could never match, makes the
// secret refused when it is read.
func TestBearerSchemeAnyCase(t *testing.T) {
	const keysSecret = "github.com/recaptcha-recognizer/recognizer/client-keys"
	const aliceKey = "alice-0f3b9c2d7e4a1f68"
	f := start(t)
	if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(keysSecret),
		SecretString: aws.String(`{"alice": "` + aliceKey + `"}`)}); err != nil {
		t.Fatal(err)
	}
	f = restart(t, f, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID="+keysSecret)
	body := map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}
	for _, scheme := range []string{"BEARER", "bearer", "Bearer", "bEaReR"} {
		wantSolved(t, f.invoke(withHeader(jsonEvent("/recognize", body), "authorization", scheme+" "+aliceKey)), std3x3)
	}
	for _, header := range []string{"BEARERX " + aliceKey, "Basic " + aliceKey, aliceKey} {
		wantError(t, f.invoke(withHeader(jsonEvent("/recognize", body), "authorization", header)), 401, "invalid_token")
	}

	if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(keysSecret),
		SecretString: aws.String(`{"alice": "` + aliceKey + `", "bob": " bob-7d1e0c9a4b3f2e85 "}`)}); err != nil {
		t.Fatal(err)
	}
	f = restart(t, f, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID="+keysSecret)
	wantError(t, f.invoke(withHeader(jsonEvent("/recognize", body), "authorization", "Bearer "+aliceKey)), 500, "configuration_error")
	out := f.waitOutput(func(o string) bool { return strings.Contains(o, "white space") })
	if !strings.Contains(out, `client key \"bob\" has leading or trailing white space`) {
		t.Fatalf("the log does not say which key is wrong:\n%s", out)
	}
	if strings.Contains(out, "bob-7d1e0c9a4b3f2e85") || strings.Contains(out, aliceKey) {
		t.Fatal("a client key appears in the function's output")
	}
}
