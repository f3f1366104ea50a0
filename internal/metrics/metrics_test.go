package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEmitWritesValidEMF(t *testing.T) {
	var buf bytes.Buffer
	reads := int64(0)
	e := New(&buf, "api", func() int64 { return reads })
	e.now = func() time.Time { return time.UnixMilli(1700000000000) }
	reads = 1
	e.Emit(Sample{Code: "ok", Latency: 12500 * time.Microsecond, Normalize: time.Millisecond, Upstream: 9 * time.Millisecond})
	e.Emit(Sample{Code: "upstream_timeout", Latency: time.Second})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	aws := first["_aws"].(map[string]any)
	if aws["Timestamp"].(float64) != 1700000000000 {
		t.Fatalf("timestamp %v", aws["Timestamp"])
	}
	cwm := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if cwm["Namespace"] != Namespace {
		t.Fatal("namespace")
	}
	// Every declared metric and dimension has a value in the document, as EMF requires.
	for _, m := range cwm["Metrics"].([]any) {
		if _, ok := first[m.(map[string]any)["Name"].(string)]; !ok {
			t.Errorf("metric %v has no value", m)
		}
	}
	for _, set := range cwm["Dimensions"].([]any) {
		for _, d := range set.([]any) {
			if _, ok := first[d.(string)]; !ok {
				t.Errorf("dimension %v has no value", d)
			}
		}
	}
	if first["Latency"] != 12.5 || first["TokenCacheMisses"] != 1.0 || first["UpstreamErrors"] != 0.0 {
		t.Fatalf("first %v", first)
	}
	if second["TokenCacheMisses"] != 0.0 || second["UpstreamErrors"] != 1.0 || second["Code"] != "upstream_timeout" {
		t.Fatalf("second %v", second)
	}
	if _, ok := second["UpstreamLatency"]; ok {
		t.Fatal("an unmeasured latency was reported")
	}
}
