package app

import (
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// The accuracy settings: off by default; each one read; every mistake named.
func TestAccuracyConfig(t *testing.T) {
	base := map[string]string{"TOKEN_SECRET_ID": "x", "AUTH_MODE": "off", "PROVIDERS": "capsolver,capmonster"}
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
	if err != nil || c.Accuracy.Defaults != (recognition.Options{}) || c.Accuracy.AutoOrder || c.Accuracy.ForwardReports || c.Accuracy.Prices["capsolver"] != 1 {
		t.Fatalf("default: %+v, %v", c.Accuracy, err)
	}
	c, err = APIConfigFromEnv(with("MIN_CONFIDENCE", "0.8", "CONSENSUS", "On", "PROVIDER_ORDER", "auto", "FORWARD_REPORTS", "on",
		"PROVIDER_PRICES", "capsolver:0.0008, capmonster:0.0004"), "us-east-1")
	if err != nil || c.Accuracy.Defaults != (recognition.Options{MinConfidence: 0.8, Consensus: true}) || !c.Accuracy.AutoOrder || !c.Accuracy.ForwardReports ||
		c.Accuracy.Prices["capsolver"] != 0.0008 || c.Accuracy.Prices["capmonster"] != 0.0004 {
		t.Fatalf("set: %+v, %v", c.Accuracy, err)
	}
	for _, bad := range [][]string{
		{"MIN_CONFIDENCE", "1.5"}, {"MIN_CONFIDENCE", "high"}, {"CONSENSUS", "yes"}, {"PROVIDER_ORDER", "cheapest"},
		{"FORWARD_REPORTS", "yes"}, {"PROVIDER_ORDER", "auto"},
		{"PROVIDER_PRICES", "2captcha:0.001"}, {"PROVIDER_PRICES", "capsolver"}, {"PROVIDER_PRICES", "capsolver:-1"},
	} {
		if _, err := APIConfigFromEnv(with(bad...), "us-east-1"); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: error %v", bad, err)
		}
	}
}
