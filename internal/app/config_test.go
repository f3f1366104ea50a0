package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAPIConfigFromEnv(t *testing.T) {
	c, err := APIConfigFromEnv(env(map[string]string{
		"TOKEN_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
		"SOURCE_BUCKETS":  " a, b/refs/ ,,c",
		"RESULTS_BUCKET":  "out",
		"AUTH_MODE":       "iam",
	}), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.RecognitionAPIURL != acedata.DefaultURL || c.ResultsPrefix != "results/" || !slices.Equal(c.Sources, s3scope.Scopes{{Bucket: "a"}, {Bucket: "b", Prefix: "refs/"}, {Bucket: "c"}}) || c.EndpointSet {
		t.Fatalf("%+v", c)
	}
	c, _ = APIConfigFromEnv(env(map[string]string{"RECOGNITION_TOKEN": "t", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AUTH_MODE": "off"}), "us-east-1")
	if !c.EndpointSet {
		t.Fatal("AWS_ENDPOINT_URL must switch S3 to path style")
	}
	_, err = APIConfigFromEnv(env(map[string]string{"RECOGNITION_API_URL": "ftp://x", "RESULTS_PREFIX": "/r"}), "us-east-1")
	for _, want := range []string{"RECOGNITION_API_URL", "TOKEN_SECRET_ID", "RESULTS_PREFIX"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// A reference scope may not reach where answers are written, nor a malformed one pass.
func TestSourcesScope(t *testing.T) {
	base := map[string]string{"RECOGNITION_TOKEN": "t", "RESULTS_BUCKET": "stack", "AUTH_MODE": "off"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	for _, bad := range []string{"stack", "stack/results/", "stack/stored/", "stack/results/x/", "stack/incoming/", "stack/refs", "stack/a//b/", "stack/../x/"} {
		if _, err := APIConfigFromEnv(env(with("SOURCE_BUCKETS", bad)), "us-east-1"); err == nil || !strings.Contains(err.Error(), "SOURCE_BUCKETS") {
			t.Errorf("SOURCE_BUCKETS=%s: %v", bad, err)
		}
	}
	for _, good := range []string{"stack/references/", "other", "other/results/"} {
		if _, err := APIConfigFromEnv(env(with("SOURCE_BUCKETS", good)), "us-east-1"); err != nil {
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
		c["RECOGNITION_TOKEN"], c["AUTH_MODE"] = "t", "off"
		if _, err := APIConfigFromEnv(env(c), "us-east-1"); err == nil || !strings.Contains(err.Error(), "PREFIX") {
			t.Errorf("%v: %v", c, err)
		}
	}
	c, err := APIConfigFromEnv(env(map[string]string{"RECOGNITION_TOKEN": "t", "INPUT_PREFIX": "data/in/", "RESULTS_PREFIX": "data/out/", "AUTH_MODE": "off"}), "us-east-1")
	if err != nil || c.StorePrefix != "stored/" {
		t.Fatalf("%+v %v", c, err)
	}
}

// Each function's configuration is checked whole at start, and every problem is named: AUTH_MODE
// with the rest, and the region when a setting reaches AWS.
func TestPerFunctionConfiguration(t *testing.T) {
	_, err := APIConfigFromEnv(env(map[string]string{"TOKEN_SECRET_ID": "s", "AUTH_MODE": "Keys"}), "")
	for _, want := range []string{"AUTH_MODE must be keys, iam or off", "AWS_REGION"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := APIConfigFromEnv(env(map[string]string{"TOKEN_SECRET_ID": "s", "AUTH_MODE": "keys"}), "us-east-1"); err == nil || !strings.Contains(err.Error(), "CLIENT_KEYS_SECRET_ID") {
		t.Errorf("keys without a keys secret: %v", err)
	}
	// make run: a fixed token and no S3 reaches no AWS, so needs no region.
	if _, err := APIConfigFromEnv(env(map[string]string{"RECOGNITION_TOKEN": "t", "AUTH_MODE": "off"}), ""); err != nil {
		t.Errorf("a local run without AWS: %v", err)
	}
	// The S3 function always reaches S3, and AUTH_MODE is none of its business.
	if _, err := UploadsConfigFromEnv(env(map[string]string{"RECOGNITION_TOKEN": "t"}), ""); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("uploads without a region: %v", err)
	}
	if _, err := UploadsConfigFromEnv(env(map[string]string{"TOKEN_SECRET_ID": "s"}), "eu-west-1"); err != nil {
		t.Errorf("uploads: %v", err)
	}
}

// The providers' operator contract (docs/providers.md §4): PROVIDERS in order, each base URL
// defaulting to the provider's public endpoint, RECOGNITION_API_URL as ACEDATA_API_URL's alias,
// HEDGE_AFTER_MS; every mistake named.
func TestProvidersConfig(t *testing.T) {
	base := map[string]string{"TOKEN_SECRET_ID": "x", "AUTH_MODE": "off"}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return env(m)
	}
	c, err := APIConfigFromEnv(with(), "us-east-1")
	if err != nil || len(c.Providers) != 1 || c.Providers[0] != (Provider{"acedata", acedata.DefaultURL}) || c.HedgeAfter != 0 {
		t.Fatalf("default: %+v, %v", c.Providers, err)
	}
	c, err = APIConfigFromEnv(with("PROVIDERS", " CapMonster, acedata ,capsolver,yescaptcha", "RECOGNITION_API_URL", "http://127.0.0.1:1/a",
		"CAPSOLVER_API_URL", "http://127.0.0.1:2", "HEDGE_AFTER_MS", "1500"), "us-east-1")
	want := []Provider{{"capmonster", "https://api.capmonster.cloud"}, {"acedata", "http://127.0.0.1:1/a"},
		{"capsolver", "http://127.0.0.1:2"}, {"yescaptcha", "https://api.yescaptcha.com"}}
	if err != nil || !slices.Equal(c.Providers, want) || c.HedgeAfter.Milliseconds() != 1500 {
		t.Fatalf("got %+v hedge %v, %v", c.Providers, c.HedgeAfter, err)
	}
	if c, err = APIConfigFromEnv(with("ACEDATA_API_URL", "http://127.0.0.1:3/x"), "us-east-1"); err != nil || c.Providers[0].URL != "http://127.0.0.1:3/x" {
		t.Fatalf("ACEDATA_API_URL: %+v, %v", c.Providers, err)
	}
	for _, bad := range []struct{ kv []string }{
		{[]string{"PROVIDERS", "acedata,2captcha"}},
		{[]string{"PROVIDERS", "acedata,acedata"}},
		{[]string{"PROVIDERS", " , "}},
		{[]string{"ACEDATA_API_URL", "http://a", "RECOGNITION_API_URL", "http://b"}},
		{[]string{"PROVIDERS", "capsolver", "CAPSOLVER_API_URL", "ftp://x"}},
		{[]string{"HEDGE_AFTER_MS", "-1"}},
		{[]string{"HEDGE_AFTER_MS", "30000"}},
		{[]string{"HEDGE_AFTER_MS", "1s"}},
		{[]string{"RECOGNITION_TOKEN", `{"other": "x"}`}},
	} {
		_, err := APIConfigFromEnv(with(bad.kv...), "us-east-1")
		if err == nil || !strings.Contains(err.Error(), strings.SplitN(bad.kv[len(bad.kv)-2], "_", 2)[0]) {
			t.Errorf("%v: error %v", bad.kv, err)
		}
	}
}
