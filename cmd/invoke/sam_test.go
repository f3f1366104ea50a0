package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The SAM CLI prints an error the function reported as {"errorMessage", "errorType"} (with
// "stackTrace" at most); an HTTP API answer that happens to hold those names is still an answer.
func TestFunctionError(t *testing.T) {
	for _, c := range []struct {
		payload string
		want    bool
	}{
		{`{"errorMessage": "boom", "errorType": "errorString"}`, true},
		{`{"errorMessage": "boom", "errorType": "Runtime.ExitError", "stackTrace": []}`, true},
		{`{"errorMessage": "boom"}`, false},
		{`{"statusCode": 500, "body": "{}", "errorMessage": "x", "errorType": "y", "headers": {}}`, false},
		{`{"statusCode": 200, "body": "{}"}`, false},
		{`null`, false},
		{`not json`, false},
	} {
		if got := functionError([]byte(c.payload)); got != c.want {
			t.Errorf("functionError(%s) = %v, want %v", c.payload, got, c.want)
		}
	}
}

// The --env-vars file holds, under the function's logical id, exactly the variables the template
// declares for it, with this run's values: the SAM CLI would drop any other, so a variable the
// function needs from outside the template (AWS_ENDPOINT_URL) must not be expected from it.
func TestSamEnvVars(t *testing.T) {
	dir := t.TempDir()
	s := &session{cfg: config{template: "../../template.yaml"}, dir: dir}
	e := env{"AUTH_MODE": "off", "RECOGNITION_TOKEN": "t", "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "UNDECLARED": "x"}
	path, err := s.samEnvVars(fixture{path: "events/api-json.json", function: "api"}, e)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir {
		t.Errorf("written to %s, not the session's folder %s", path, dir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]string
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{"ApiFunction": {"AUTH_MODE": "off", "RECOGNITION_TOKEN": "t"}}
	if len(doc) != 1 || len(doc["ApiFunction"]) != 2 || doc["ApiFunction"]["AUTH_MODE"] != "off" || doc["ApiFunction"]["RECOGNITION_TOKEN"] != "t" {
		t.Errorf("env vars file %s, want %v", b, want)
	}
}

// The SAM CLI's own environment carries the run's region, credentials and endpoint, and none of
// the shell's other AWS_* variables (a profile would send its session elsewhere).
func TestSamShell(t *testing.T) {
	t.Setenv("AWS_PROFILE", "someone")
	t.Setenv("AWS_ENDPOINT_URL", "http://elsewhere")
	t.Setenv("KEEP_ME", "1")
	got := samShell(env{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
	for _, want := range []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=test", "AWS_ENDPOINT_URL=http://127.0.0.1:9", "KEEP_ME=1", "SAM_CLI_TELEMETRY=0"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s missing from %v", want, got)
		}
	}
	for _, banned := range []string{"AWS_PROFILE=someone", "AWS_ENDPOINT_URL=http://elsewhere"} {
		if slices.Contains(got, banned) {
			t.Errorf("%s passed on", banned)
		}
	}
}
