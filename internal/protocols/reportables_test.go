package protocols

import (
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// What a report is forwarded with is kept per caller and task id, for ten minutes, for at most
// maxReportables answers, the oldest going first.
func TestReportables(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := newReportables()
	r.now = func() time.Time { return now }
	answers := []recognition.Answer{{Provider: "capsolver", TaskID: "cs-1", Objects: []int{0, 4}}, {Provider: "capmonster", TaskID: "77"}}
	r.put("alice", 42, "/m/0k4j", answers)
	label, got, ok := r.get("alice", 42)
	if !ok || label != "/m/0k4j" || len(got) != 2 || got[0].TaskID != "cs-1" || got[1].Provider != "capmonster" || got[0].Objects != nil {
		t.Fatalf("kept: %q %+v %v", label, got, ok)
	}
	if _, _, ok := r.get("bob", 42); ok {
		t.Fatal("another caller's task id reads alice's answer")
	}
	now = now.Add(reportableTTL - time.Second)
	if _, _, ok := r.get("alice", 42); !ok {
		t.Fatal("forgotten before ten minutes")
	}
	now = now.Add(time.Second)
	if _, _, ok := r.get("alice", 42); ok {
		t.Fatal("kept past ten minutes")
	}
	r.put("alice", 43, "/m/0k4j", answers) // the expired one goes
	if len(r.byKey) != 1 || len(r.order) != 1 {
		t.Fatalf("%d kept, %d in order: the expired answer stayed", len(r.byKey), len(r.order))
	}
	for i := uint64(0); i < maxReportables; i++ {
		r.put("carol", i, "/m/0k4j", answers)
	}
	if _, _, ok := r.get("alice", 43); ok || len(r.byKey) != maxReportables {
		t.Fatalf("%d kept (bound %d); the oldest kept: %v", len(r.byKey), maxReportables, ok)
	}
	if _, _, ok := r.get("carol", maxReportables-1); !ok {
		t.Fatal("the newest answer is not kept")
	}
}
