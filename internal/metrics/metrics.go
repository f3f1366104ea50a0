// Package metrics writes CloudWatch metrics as Embedded Metric Format lines
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// one JSON document per request or record on stdout, which CloudWatch Logs turns into metrics
// with no API call and no library (AWS ships none for Go).
package metrics

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/clock"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "Recognizer"

// Sample is what one request or record measured.
type Sample struct {
	Code      string        // "ok", or the error code the caller got
	Latency   time.Duration // the whole request or record
	Normalize time.Duration // zero when not reached
	Upstream  time.Duration // zero when not reached
}

// Emitter writes samples for one function.
type Emitter struct {
	mu         sync.Mutex
	w          io.Writer
	function   string
	tokenReads func() int64
	lastReads  int64
	now        func() time.Time
}

// New returns an Emitter writing to w. tokenReads, if not nil, counts Secrets Manager reads so
// far; each sample reports the reads since the last one as TokenCacheMisses.
func New(w io.Writer, function string, tokenReads func() int64) *Emitter {
	return &Emitter{w: w, function: function, tokenReads: tokenReads, now: time.Now}
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Emit writes one EMF line. Dimensions: Function, and Function×Code, so errors can be read by code.
func (e *Emitter) Emit(s Sample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	misses := int64(0)
	if e.tokenReads != nil {
		reads := e.tokenReads()
		misses, e.lastReads = reads-e.lastReads, reads
	}
	upstreamError := 0
	if strings.HasPrefix(s.Code, "upstream_") || s.Code == "too_many_requests" {
		upstreamError = 1
	}
	defs := []metricDef{
		{"Requests", "Count"}, {"Latency", "Milliseconds"}, {"UpstreamErrors", "Count"}, {"TokenCacheMisses", "Count"},
	}
	doc := map[string]any{
		"Function": e.function, "Code": s.Code,
		"Requests": 1, "Latency": clock.Millis(s.Latency), "UpstreamErrors": upstreamError, "TokenCacheMisses": misses,
	}
	if s.Normalize > 0 {
		defs = append(defs, metricDef{"NormalizeLatency", "Milliseconds"})
		doc["NormalizeLatency"] = clock.Millis(s.Normalize)
	}
	if s.Upstream > 0 {
		defs = append(defs, metricDef{"UpstreamLatency", "Milliseconds"})
		doc["UpstreamLatency"] = clock.Millis(s.Upstream)
	}
	doc["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"Function"}, {"Function", "Code"}},
			"Metrics":    defs,
		}},
	}
	line, _ := json.Marshal(doc)
	e.w.Write(append(line, '\n'))
}

// ProviderSample is one call to a recognition provider (or one provider passed over).
type ProviderSample struct {
	Provider string
	Outcome  string        // ok, or the kind of failure, or why it was passed over
	Latency  time.Duration // zero when passed over
	Failover bool          // started because an earlier provider failed
	Hedge    bool          // started because an earlier provider was slow
	Open     bool          // the provider's breaker is open after this call
}

// EmitProvider writes one EMF line for a provider call. Dimensions: Function×Provider, and
// Function×Provider×Outcome, so errors can be read by kind.
func (e *Emitter) EmitProvider(s ProviderSample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b2i := map[bool]int{false: 0, true: 1}
	called := b2i[s.Latency > 0]
	doc := map[string]any{
		"Function": e.function, "Provider": s.Provider, "Outcome": s.Outcome,
		"ProviderCalls": called, "ProviderErrors": b2i[s.Outcome != "ok" && s.Outcome != "cancelled" && called == 1],
		"Failovers": b2i[s.Failover], "Hedges": b2i[s.Hedge], "BreakerOpen": b2i[s.Open],
	}
	defs := []metricDef{{"ProviderCalls", "Count"}, {"ProviderErrors", "Count"}, {"Failovers", "Count"}, {"Hedges", "Count"}, {"BreakerOpen", "Count"}}
	if called == 1 {
		defs = append(defs, metricDef{"ProviderLatency", "Milliseconds"})
		doc["ProviderLatency"] = clock.Millis(s.Latency)
	}
	doc["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"Function", "Provider"}, {"Function", "Provider", "Outcome"}},
			"Metrics":    defs,
		}},
	}
	line, _ := json.Marshal(doc)
	e.w.Write(append(line, '\n'))
}

// EmitReport writes one EMF line for a caller's report of a wrong (bad) or right answer, by the
// provider that answered (empty when not known). Dimensions: Function×Provider, and
// Function×Provider×Verdict.
func (e *Emitter) EmitReport(provider string, bad bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if provider == "" {
		provider = "unknown"
	}
	verdict, wrong := "good", 0
	if bad {
		verdict, wrong = "bad", 1
	}
	doc := map[string]any{
		"Function": e.function, "Provider": provider, "Verdict": verdict,
		"Reports": 1, "WrongAnswerReports": wrong,
		"_aws": map[string]any{
			"Timestamp": e.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": [][]string{{"Function", "Provider"}, {"Function", "Provider", "Verdict"}},
				"Metrics":    []metricDef{{"Reports", "Count"}, {"WrongAnswerReports", "Count"}},
			}},
		},
	}
	line, _ := json.Marshal(doc)
	e.w.Write(append(line, '\n'))
}

// EmitProviderReport writes one EMF line for a report forwarded to a provider: its verdict and
// what became of it (sent, no_method, duplicate, refused, failed, no_provider). Dimensions:
// Function×Provider, and Function×Provider×Outcome.
func (e *Emitter) EmitProviderReport(provider string, bad bool, outcome string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b2i := map[bool]int{false: 0, true: 1}
	doc := map[string]any{
		"Function": e.function, "Provider": provider, "Outcome": outcome,
		"ProviderReports": 1, "ProviderReportsSent": b2i[outcome == "sent"], "ProviderWrongReports": b2i[bad],
		"_aws": map[string]any{
			"Timestamp": e.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": [][]string{{"Function", "Provider"}, {"Function", "Provider", "Outcome"}},
				"Metrics":    []metricDef{{"ProviderReports", "Count"}, {"ProviderReportsSent", "Count"}, {"ProviderWrongReports", "Count"}},
			}},
		},
	}
	line, _ := json.Marshal(doc)
	e.w.Write(append(line, '\n'))
}

// EmitAccuracy writes one EMF line of a provider's measured wrong-answer rate for a label (in
// percent) over its recent reports, and how many reports it rests on. Dimensions:
// Function×Provider, and Function×Provider×Label.
func (e *Emitter) EmitAccuracy(provider, label string, wrongRate float64, reports int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	doc := map[string]any{
		"Function": e.function, "Provider": provider, "Label": label,
		"ProviderWrongRate": 100 * wrongRate, "ProviderRateReports": reports,
		"_aws": map[string]any{
			"Timestamp": e.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": [][]string{{"Function", "Provider"}, {"Function", "Provider", "Label"}},
				"Metrics":    []metricDef{{"ProviderWrongRate", "Percent"}, {"ProviderRateReports", "Count"}},
			}},
		},
	}
	line, _ := json.Marshal(doc)
	e.w.Write(append(line, '\n'))
}
