package app

import (
	"strings"
	"testing"
	"time"
)

func TestIdempotencyConfig(t *testing.T) {
	base := func(kv ...string) map[string]string {
		m := map[string]string{"RECOGNITION_TOKEN": "t", "AUTH_MODE": "off"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	c, err := APIConfigFromEnv(env(base()), "us-east-1")
	if err != nil || c.Idempotency.Prefix != "idempotency/" || c.Idempotency.TTL != 24*time.Hour {
		t.Fatalf("defaults: %+v %v", c.Idempotency, err)
	}
	c, err = APIConfigFromEnv(env(base("IDEMPOTENCY_PREFIX", "keys/", "IDEMPOTENCY_TTL", "90m")), "us-east-1")
	if err != nil || c.Idempotency.Prefix != "keys/" || c.Idempotency.TTL != 90*time.Minute {
		t.Fatalf("set: %+v %v", c.Idempotency, err)
	}
	for _, bad := range [][]string{
		{"IDEMPOTENCY_TTL", "0s"}, {"IDEMPOTENCY_TTL", "721h"}, {"IDEMPOTENCY_TTL", "a day"}, {"IDEMPOTENCY_TTL", "-1h"},
		{"IDEMPOTENCY_PREFIX", "results/"}, {"IDEMPOTENCY_PREFIX", "stored/keys/"}, {"IDEMPOTENCY_PREFIX", "incoming/"},
		{"IDEMPOTENCY_PREFIX", "keys"}, {"IDEMPOTENCY_PREFIX", "../keys/"},
		{"INPUT_PREFIX", "idempotency/"}, {"RESULTS_BUCKET", "out", "SOURCE_BUCKETS", "out/idempotency/"},
	} {
		if _, err := APIConfigFromEnv(env(base(bad...)), "us-east-1"); err == nil || !strings.Contains(err.Error(), "IDEMPOTENCY_") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
