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

// A provider call's line: counted by provider and outcome; a provider passed over (breaker
// open) is no call, and a hedge that lost is no error.
func TestEmitProvider(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "api", nil)
	e.EmitProvider(ProviderSample{Provider: "capsolver", Outcome: "balance", Latency: 40 * time.Millisecond, Failover: true})
	e.EmitProvider(ProviderSample{Provider: "acedata", Outcome: "breaker_open", Open: true})
	e.EmitProvider(ProviderSample{Provider: "acedata", Outcome: "cancelled", Latency: time.Second})
	var docs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	want := []map[string]any{
		{"Provider": "capsolver", "Outcome": "balance", "ProviderCalls": 1.0, "ProviderErrors": 1.0, "Failovers": 1.0, "BreakerOpen": 0.0, "ProviderLatency": 40.0},
		{"Provider": "acedata", "Outcome": "breaker_open", "ProviderCalls": 0.0, "ProviderErrors": 0.0, "BreakerOpen": 1.0, "ProviderLatency": nil},
		{"Provider": "acedata", "Outcome": "cancelled", "ProviderCalls": 1.0, "ProviderErrors": 0.0},
	}
	for i, w := range want {
		for k, v := range w {
			if docs[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, docs[i][k], v)
			}
		}
		dims := docs[i]["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"]
		if b, _ := json.Marshal(dims); string(b) != `[["Function","Provider"],["Function","Provider","Outcome"]]` {
			t.Errorf("dimensions %s", b)
		}
	}
}

// A forwarded report is counted per provider and outcome, and a provider's measured rate per
// label is a gauge; every declared metric is present.
func TestEmitProviderReport(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "api", nil)
	e.EmitProviderReport("capmonster", true, "sent")
	e.EmitProviderReport("yescaptcha", true, "no_method")
	e.EmitAccuracy("capmonster", "/m/0k4j", 0.125, 40)
	var docs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		for _, m := range d["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any) {
			if _, ok := d[m.(map[string]any)["Name"].(string)]; !ok {
				t.Errorf("metric %v declared without a value", m)
			}
		}
		docs = append(docs, d)
	}
	if len(docs) != 3 || docs[2]["ProviderWrongRate"] != 12.5 || docs[2]["Label"] != "/m/0k4j" || docs[2]["ProviderRateReports"] != 40.0 ||
		docs[0]["Provider"] != "capmonster" || docs[0]["ProviderReportsSent"] != 1.0 ||
		docs[1]["Outcome"] != "no_method" || docs[1]["ProviderReportsSent"] != 0.0 || docs[1]["ProviderWrongReports"] != 1.0 {
		t.Fatalf("%v", docs)
	}
}
