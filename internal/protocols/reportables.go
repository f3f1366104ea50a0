package protocols

import (
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// reportables keeps, when the deployment forwards reports, what a report of each answer this
// instance gave is forwarded with: the label and each answering provider's own task id, which a
// 53-bit task id has no room for. Kept by the instance that solved the task, for
// reportableTTL, at most maxReportables (the oldest go first): a report that reaches another
// instance, or comes later, still names the provider (the id carries it) but no task id, and
// its answer says the report was not sent.
type reportables struct {
	mu    sync.Mutex
	now   func() time.Time
	byKey map[reportKey]reportable
	order []reportKey // oldest first
}

type reportKey struct {
	caller string
	id     uint64
}

type reportable struct {
	expires time.Time
	label   string
	answers []recognition.Answer
}

// reportableTTL: clients report within the minute after their answer.
const reportableTTL = 10 * time.Minute

// maxReportables bounds the memory: an instance answers one request at a time, a few a second at
// most, so ten minutes of answers fit well inside it (about 200 bytes each, some 3 MB in all).
const maxReportables = 1 << 14

func newReportables() *reportables {
	return &reportables{now: time.Now, byKey: map[reportKey]reportable{}}
}

// put keeps what a report of the answer caller got under task id id is forwarded with.
func (r *reportables) put(caller string, id uint64, label string, answers []recognition.Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for len(r.order) > 0 && (len(r.order) >= maxReportables || !now.Before(r.byKey[r.order[0]].expires)) {
		delete(r.byKey, r.order[0])
		r.order = r.order[1:]
	}
	k := reportKey{caller, id}
	if _, again := r.byKey[k]; !again {
		r.order = append(r.order, k)
	}
	answers = append([]recognition.Answer(nil), answers...)
	for i := range answers {
		answers[i].Objects = nil // a report needs only who and which task
	}
	r.byKey[k] = reportable{expires: now.Add(reportableTTL), label: label, answers: answers}
}

// get returns what was kept for caller's task id, if this instance keeps it still.
func (r *reportables) get(caller string, id uint64) (string, []recognition.Answer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byKey[reportKey{caller, id}]
	if !ok || !r.now().Before(e.expires) {
		return "", nil, false
	}
	return e.label, e.answers, true
}
