package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// reportingProvider is a chain member whose report method records what it was sent.
type reportingProvider struct {
	name     string
	err      error // what Report answers
	noMethod bool  // what HasReportMethod says, negated
	mu       sync.Mutex
	sent     []string
}

func (p *reportingProvider) Name() string { return p.name }

func (p *reportingProvider) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	return &recognition.Solution{Provider: p.name}, nil
}

func (p *reportingProvider) HasReportMethod(bool) bool { return !p.noMethod }

func (p *reportingProvider) Report(_ context.Context, taskID string, bad bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.sent = append(p.sent, taskID)
	}
	return p.err
}

func chainOf(ps ...*reportingProvider) *providers.Chain {
	c := &providers.Chain{}
	for _, p := range ps {
		c.Members = append(c.Members, providers.Member{Provider: p, Breaker: providers.NewBreaker(3, 0)})
	}
	return c
}

// Off, nothing exists: no forwarder for the fronts to offer.
func TestForwardingOff(t *testing.T) {
	if f := newForwarding(Accuracy{}, chainOf(&reportingProvider{name: "capsolver"}), metrics.New(io.Discard, "api", nil), nil); f != nil {
		t.Fatalf("FORWARD_REPORTS off built %T", f)
	}
}

// On: each answer's provider is sent the report once with its own task id; what became of it
// is answered per provider and counted; each verdict feeds the measured accuracy, a duplicate
// and a provider not in the deployment do not.
func TestForwarding(t *testing.T) {
	capsolver, capmonster := &reportingProvider{name: "capsolver"}, &reportingProvider{name: "capmonster", err: recognition.ErrNoReportMethod}
	var out bytes.Buffer
	f := newForwarding(Accuracy{ForwardReports: true}, chainOf(capsolver, capmonster), metrics.New(&out, "api", nil), nil)
	answers := []recognition.Answer{{Provider: "capsolver", TaskID: "t-1"}, {Provider: "capmonster", TaskID: "7"}, {Provider: "2captcha", TaskID: "9"}}
	got := f.Forward(context.Background(), "k\x00a-1", "/m/0k4j", answers, true)
	want := []recognition.Reported{{Provider: "capsolver", Outcome: "sent"}, {Provider: "capmonster", Outcome: "no_method"}, {Provider: "2captcha", Outcome: "no_provider"}}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("outcomes %+v, want %+v", got, want)
	}
	if again := f.Forward(context.Background(), "k\x00a-2", "/m/0k4j", answers[:1], true); again[0].Outcome != "duplicate" {
		t.Fatalf("the same answer again: %+v", again)
	}
	if len(capsolver.sent) != 1 || capsolver.sent[0] != "t-1" {
		t.Fatalf("capsolver was sent %v", capsolver.sent)
	}
	lines := out.String()
	if n := strings.Count(lines, `"ProviderReports":1`); n != 4 {
		t.Errorf("%d report lines, want 4:\n%s", n, lines)
	}
	if n := strings.Count(lines, `"ProviderWrongRate":`); n != 2 || !strings.Contains(lines, `"Label":"/m/0k4j","Provider":"capmonster","ProviderRateReports":1,"ProviderWrongRate":100`) {
		t.Errorf("%d accuracy lines, want capsolver's and capmonster's once each:\n%s", n, lines)
	}
}

// A caller's verdict counts once per answer it reports, however often it reports it: an answer
// with no task id (AceData's) is never "duplicate" at the provider, and a report whose send
// failed may be sent again, yet neither counts twice. Another answer counts again.
func TestVerdictCountsOncePerAnswer(t *testing.T) {
	acedata, capsolver := &reportingProvider{name: "acedata", noMethod: true}, &reportingProvider{name: "capsolver", err: errors.New("503")}
	var out bytes.Buffer
	f := newForwarding(Accuracy{ForwardReports: true}, chainOf(acedata, capsolver), metrics.New(&out, "api", nil), nil)
	f.(*forwarding).reports.Tries = 1
	answers := []recognition.Answer{{Provider: "acedata"}, {Provider: "capsolver", TaskID: "t-1"}}
	for i, want := range []string{"failed", "failed", "sent"} {
		if i == 2 {
			capsolver.err = nil
		}
		got := f.Forward(context.Background(), "k\x00answer-1", "/m/0k4j", answers, true)
		if got[0].Outcome != "no_method" || got[1].Outcome != want {
			t.Fatalf("report %d: %+v, want no_method and %s", i+1, got, want)
		}
	}
	if n := strings.Count(out.String(), `"ProviderWrongRate":`); n != 2 {
		t.Fatalf("three reports of one answer counted %d verdicts, want one per provider:\n%s", n, out.String())
	}
	f.Forward(context.Background(), "k\x00answer-2", "/m/0k4j", answers[:1], true)
	f.Forward(context.Background(), "other\x00answer-1", "/m/0k4j", answers[:1], true)
	if n := strings.Count(out.String(), `"Provider":"acedata","ProviderRateReports":`); n != 3 {
		t.Fatalf("acedata's verdicts on three answers counted %d times:\n%s", n, out.String())
	}
}

// PROVIDER_ORDER=auto: the verdicts reorder the chain once the measured provider is known to be
// wrong more often than the other.
func TestForwardingAutoOrder(t *testing.T) {
	a, b := &reportingProvider{name: "capsolver"}, &reportingProvider{name: "capmonster"}
	chain := chainOf(a, b)
	var logs bytes.Buffer
	f := newForwarding(Accuracy{ForwardReports: true, AutoOrder: true, Prices: map[string]float64{"capsolver": 1, "capmonster": 1}},
		chain, metrics.New(io.Discard, "api", nil), slog.New(slog.NewJSONHandler(&logs, nil)))
	for i := 0; i < providers.AutoMinReports; i++ {
		id := string(rune('a' + i))
		f.Forward(context.Background(), "k\x00"+id, "/m/0k4j", []recognition.Answer{{Provider: "capsolver", TaskID: id}, {Provider: "capmonster", TaskID: id}}, false)
		f.Forward(context.Background(), "k\x00"+id+"x", "/m/0k4j", []recognition.Answer{{Provider: "capsolver", TaskID: id + "x"}}, true)
	}
	var out bytes.Buffer
	f.(*forwarding).metrics = metrics.New(&out, "api", nil)
	f.Forward(context.Background(), "k\x00zz", "", []recognition.Answer{{Provider: "capmonster", TaskID: "zz"}}, true)
	if !strings.Contains(out.String(), `"Label":"unknown"`) {
		t.Fatalf("a verdict of unknown label: %s", out.String())
	}
	if names := chain.Reporters(); len(names) != 2 {
		t.Fatalf("reporters %v", names)
	}
	if !strings.Contains(logs.String(), `"order":"capmonster,capsolver"`) {
		t.Fatalf("no reorder logged:\n%s", logs.String())
	}
}
