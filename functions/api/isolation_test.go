package main

// Issue 12, "callers see only what is theirs": each test is one row of docs/reliability.md §7,
// tried as a key holder would, through the real bootstrap and moto.

import (
	"regexp"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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

	before := awsProxy.S3Requests.Load()
	wantError(t, f.invoke(refEvent("s3://"+inBucket+"/incoming/cars/someone-elses.png")), 403, "s3_forbidden")
	if n := awsProxy.S3Requests.Load() - before; n != 0 {
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

	before := awsProxy.S3Requests.Load()
	var bodies []string
	for _, key := range []string{"incoming/cars/exists.png", "incoming/cars/missing.png", "elsewhere/big.bin"} {
		resp := f.invoke(refEvent("s3://" + inBucket + "/" + key))
		wantError(t, resp, 403, "s3_forbidden")
		bodies = append(bodies, traceIDField.ReplaceAllString(resp.Body, ""))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("the answers differ, so they tell something:\n%s", bodies)
	}
	if n := awsProxy.S3Requests.Load() - before; n != 0 {
		t.Fatalf("references outside the scope made %d S3 requests", n)
	}

	wantError(t, f.invoke(refEvent("s3://"+inBucket+"/references/missing.png")), 404, "s3_object_not_found")
	wantError(t, f.invoke(refEvent("s3://"+inBucket+"/references/big.bin")), 413, "payload_too_large")

	before = awsProxy.S3Requests.Load()
	for _, key := range []string{"references/../incoming/cars/exists.png", "references//x.png", "references/./x.png", "/references/x.png", "references/"} {
		wantError(t, f.invoke(refEvent("s3://"+inBucket+"/"+key)), 400, "invalid_s3_reference")
	}
	if n := awsProxy.S3Requests.Load() - before; n != 0 {
		t.Fatalf("invalid references made %d S3 requests", n)
	}
}
