package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
	"github.com/recaptcha-recognizer/recognizer/internal/upstream"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"TOKEN_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
		"SOURCE_BUCKETS":  " a, b/refs/ ,,c",
		"RESULTS_BUCKET":  "out",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RecognitionAPIURL != upstream.DefaultURL || c.ResultsPrefix != "results/" || !slices.Equal(c.Sources, s3scope.Scopes{{Bucket: "a"}, {Bucket: "b", Prefix: "refs/"}, {Bucket: "c"}}) || c.EndpointSet {
		t.Fatalf("%+v", c)
	}
	c, _ = FromEnv(env(map[string]string{"RECOGNITION_TOKEN": "t", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}))
	if !c.EndpointSet {
		t.Fatal("AWS_ENDPOINT_URL must switch S3 to path style")
	}
	_, err = FromEnv(env(map[string]string{"RECOGNITION_API_URL": "ftp://x", "RESULTS_PREFIX": "/r"}))
	for _, want := range []string{"RECOGNITION_API_URL", "TOKEN_SECRET_ID", "RESULTS_PREFIX"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// A reference scope may not reach where answers are written, nor a malformed one pass.
func TestSourcesScope(t *testing.T) {
	base := map[string]string{"RECOGNITION_TOKEN": "t", "RESULTS_BUCKET": "stack"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	for _, bad := range []string{"stack", "stack/results/", "stack/stored/", "stack/results/x/", "stack/incoming/", "stack/refs", "stack/a//b/", "stack/../x/"} {
		if _, err := FromEnv(env(with("SOURCE_BUCKETS", bad))); err == nil || !strings.Contains(err.Error(), "SOURCE_BUCKETS") {
			t.Errorf("SOURCE_BUCKETS=%s: %v", bad, err)
		}
	}
	for _, good := range []string{"stack/references/", "other", "other/results/"} {
		if _, err := FromEnv(env(with("SOURCE_BUCKETS", good))); err != nil {
			t.Errorf("SOURCE_BUCKETS=%s: %v", good, err)
		}
	}
}

// The three areas are folders of their own: none contains another.
func TestPrefixesApart(t *testing.T) {
	for _, c := range []map[string]string{
		{"INPUT_PREFIX": "data/", "RESULTS_PREFIX": "data/out/"},
		{"INPUT_PREFIX": "data/out/", "RESULTS_PREFIX": "data/"},
		{"STORE_PREFIX": "incoming/"},
		{"STORE_PREFIX": "results/old/"},
		{"RESULTS_PREFIX": "results"},
		{"INPUT_PREFIX": "/incoming/"},
		{"INPUT_PREFIX": "in//coming/"},
		{"STORE_PREFIX": "../stored/"},
	} {
		c["RECOGNITION_TOKEN"] = "t"
		if _, err := FromEnv(env(c)); err == nil || !strings.Contains(err.Error(), "PREFIX") {
			t.Errorf("%v: %v", c, err)
		}
	}
	c, err := FromEnv(env(map[string]string{"RECOGNITION_TOKEN": "t", "INPUT_PREFIX": "data/in/", "RESULTS_PREFIX": "data/out/"}))
	if err != nil || c.StorePrefix != "stored/" {
		t.Fatalf("%+v %v", c, err)
	}
}
