package app

import (
	"slices"
	"strings"
	"testing"

	"recognizer/internal/upstream"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"TOKEN_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
		"SOURCE_BUCKETS":  " a, b ,,c",
		"RESULTS_BUCKET":  "out",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RecognitionAPIURL != upstream.DefaultURL || c.ResultsPrefix != "results/" || !slices.Equal(c.SourceBuckets, []string{"a", "b", "c"}) || c.EndpointSet {
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
