package protocols

import (
	"context"
	"github.com/recaptcha-recognizer/recognizer/internal/auth"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// sealerFor is the sealer of a caller of the deployment whose secret is secret.
func sealerFor(t testing.TB, secret, name, key string) sealer {
	t.Helper()
	var k idKeys
	c, err := k.get(context.Background(), idSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	return newSealer(c, name, key)
}

func objectsOf(grid imaging.Grid, mask int) []int {
	objects := []int{}
	for i := 0; i < grid.Tiles(); i++ {
		if mask&(1<<i) != 0 {
			objects = append(objects, i)
		}
	}
	return objects
}

// Every answer of every grid and kind comes back from its id, which stays below 2^53.
func TestIDRoundTrip(t *testing.T) {
	s := sealerFor(t, "one", "alice", aliceKey)
	recs := newRecords()
	for _, grid := range []imaging.Grid{imaging.GridSingle, imaging.Grid3x3, imaging.Grid4x4} {
		for mask := 0; mask < 1<<grid.Tiles(); mask += 1 + mask/97 {
			objects := objectsOf(grid, mask)
			for k := kindComplexImage; k <= kindLegacy; k++ {
				for _, p := range providerNames {
					a := answer{kind: k, provider: p, grid: grid, objects: objects}
					if k == kindCoordinates {
						a.clicks = evenClicks(grid, objects)
					}
					id := s.issue(a, recs)
					if id == 0 || id >= 1<<53 {
						t.Fatalf("id %d out of range", id)
					}
					got, ok := s.read(id, recs)
					if !ok || got.kind != k || got.provider != p || got.grid != grid || !slices.Equal(got.objects, objects) || !slices.Equal(got.clicks, a.clicks) {
						t.Fatalf("%+v came back as %+v (%v)", a, got, ok)
					}
				}
			}
		}
	}
	if recs.total != 0 {
		t.Fatalf("%d answers were recorded: every one fits its id", recs.total)
	}
}

// An id altered in any bit, made up, read by another caller (by key or by name) or by another
// deployment is no task.
func TestIDForgery(t *testing.T) {
	s := sealerFor(t, "one", "alice", aliceKey)
	recs := newRecords()
	grid := answer{kind: kindGrid, provider: "acedata", grid: imaging.Grid3x3, objects: []int{0, 4, 8}}
	record := answer{kind: kindCoordinates, grid: imaging.Grid4x4, objects: []int{1}, clicks: [][2]int{{1, 2}}}
	for _, a := range []answer{grid, record} {
		id := s.issue(a, recs)
		for _, other := range []sealer{sealerFor(t, "one", "alice", bobKey), sealerFor(t, "one", "bob", aliceKey), sealerFor(t, "two", "alice", aliceKey)} {
			if _, ok := other.read(id, recs); ok {
				t.Fatalf("%+v: read by another caller or deployment", a)
			}
		}
		for bit := 0; bit < 64; bit++ {
			if _, ok := s.read(id^1<<bit, recs); ok {
				t.Fatalf("%+v: the id with bit %d flipped was read", a, bit)
			}
		}
	}
	accepted := 0
	for guess := uint64(1); guess < 200000; guess++ {
		if _, ok := s.read(guess*43980465111+7, recs); ok {
			accepted++
		}
	}
	if accepted > 0 {
		t.Fatalf("%d of 200000 made-up ids were read", accepted)
	}
}

// Without the secret an id says nothing of its answer: the ids of one answer differ between
// deployments, and the ids of one kind and grid spread over the whole range instead of sharing
// their leading bits.
func TestIDOpaque(t *testing.T) {
	one, two := sealerFor(t, "one", "alice", aliceKey), sealerFor(t, "two", "alice", aliceKey)
	a := answer{kind: kindGrid, provider: "capsolver", grid: imaging.Grid3x3, objects: []int{0, 4, 8}}
	if one.issue(a, nil) == two.issue(a, nil) {
		t.Fatal("two deployments give one answer the same id")
	}
	tops := map[uint64]bool{}
	for mask := 0; mask < 512; mask++ {
		id := one.issue(answer{kind: kindGrid, provider: "capsolver", grid: imaging.Grid3x3, objects: objectsOf(imaging.Grid3x3, mask)}, nil)
		tops[id>>47] = true
	}
	if len(tops) < 50 {
		t.Fatalf("512 ids of one kind share their leading 6 bits: only %d values", len(tops))
	}
}

// screenshotAnswer is the i-th distinct answer that its id cannot carry.
func screenshotAnswer(i int) answer {
	return answer{kind: kindCoordinates, provider: "capmonster", grid: imaging.Grid4x4, objects: []int{i % 16},
		clicks: [][2]int{{i % 1000, i / 1000}}}
}

// 10^5 live records of one caller: every id is distinct and answers its own task.
func TestRecordIDsUnique(t *testing.T) {
	s := sealerFor(t, "one", "alice", aliceKey)
	recs := newRecords()
	const n = 100000
	ids := make([]uint64, n)
	seen := make(map[uint64]bool, n)
	for i := range ids {
		ids[i] = s.issue(screenshotAnswer(i), recs)
		if seen[ids[i]] {
			t.Fatalf("task %d got an id already issued", i)
		}
		seen[ids[i]] = true
	}
	for i, id := range ids {
		got, ok := s.read(id, recs)
		if !ok || !slices.Equal(got.clicks, screenshotAnswer(i).clicks) {
			t.Fatalf("task %d read %+v (%v)", i, got, ok)
		}
	}
}

// A handle that another instance of the deployment also issued to the caller is no task there,
// never that instance's answer.
func TestRecordOfAnotherInstance(t *testing.T) {
	s := sealerFor(t, "one", "alice", aliceKey)
	here, there := newRecords(), newRecords()
	wrong := 0
	for i := 0; i < 1000; i++ {
		id := s.issue(screenshotAnswer(i), here)
		s.issue(screenshotAnswer(i+1), there) // the same handle, another answer
		if _, ok := s.read(id, there); ok {
			wrong++
		}
	}
	if wrong > 0 {
		t.Fatalf("%d of 1000 ids answered with another instance's record", wrong)
	}
}

// A caller fills and evicts only its own share: another caller's records outlive any burst;
// the process holds at most maxRecords; an evicted or expired record is no task.
func TestRecordsPerCaller(t *testing.T) {
	alice, bob := sealerFor(t, "one", "alice", aliceKey), sealerFor(t, "one", "bob", bobKey)
	recs := newRecords()
	clock := time.Now()
	recs.now = func() time.Time { return clock }
	var bobs []uint64
	for i := 0; i < 50; i++ {
		bobs = append(bobs, bob.issue(screenshotAnswer(i), recs))
	}
	first := alice.issue(screenshotAnswer(0), recs)
	for i := 1; i < 2*maxRecords; i++ {
		alice.issue(screenshotAnswer(i), recs)
		if recs.total > maxRecords {
			t.Fatalf("%d records kept, the bound is %d", recs.total, maxRecords)
		}
	}
	// With the process full, bob's next task takes room from alice, who holds the most.
	bobs = append(bobs, bob.issue(screenshotAnswer(50), recs))
	for i, id := range bobs {
		if got, ok := bob.read(id, recs); !ok || !slices.Equal(got.clicks, screenshotAnswer(i).clicks) {
			t.Fatalf("bob's record %d is gone after alice's burst: %+v %v", i, got, ok)
		}
	}
	if recs.total > maxRecords {
		t.Fatalf("%d records kept, the bound is %d", recs.total, maxRecords)
	}
	if _, ok := alice.read(first, recs); ok {
		t.Fatal("alice's oldest record outlived twice the bound of her records")
	}
	clock = clock.Add(recordTTL + time.Second)
	if _, ok := bob.read(bobs[0], recs); ok {
		t.Fatal("an expired record was read")
	}
	// Expired records make room before anyone's live ones go.
	carol := sealerFor(t, "one", "carol", "carol-key-0123456789ab")
	id := carol.issue(screenshotAnswer(7), recs)
	if _, ok := carol.read(id, recs); !ok || recs.total != 1 {
		t.Fatalf("after expiry: carol's record %v, %d records kept", ok, recs.total)
	}
}

// The bound in memory: maxRecords records of screenshot answers (four clicks each).
func TestRecordsMemory(t *testing.T) {
	s := sealerFor(t, "one", "alice", aliceKey)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	recs := newRecords()
	for i := 0; i < maxRecords; i++ {
		a := screenshotAnswer(i)
		a.objects = []int{0, 5, 10, 15}
		a.clicks = [][2]int{{i, 1}, {i, 2}, {i, 3}, {i, 4}}
		s.issue(a, recs)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d records: %.1f MB", maxRecords, float64(used)/1e6)
	if used > 32<<20 {
		t.Fatalf("%d records hold %d MB", maxRecords, used>>20)
	}
	runtime.KeepAlive(recs)
}

// Through both protocols: an instance of the same deployment reads an id; an instance of another
// deployment (another id secret) answers the protocol's own "no such id", for the same key.
func TestIDOfAnotherDeployment(t *testing.T) {
	one, sameDeployment, other := newFixture(t), newFixture(t), newFixture(t)
	other.solver.IDSecret = idSecret("deployment two's task-id secret")
	_, created := one.post(t, CreateTaskPath, map[string]any{"clientKey": aliceKey, "task": map[string]any{"type": "GridTask", "body": b64(carsPicture), "comment": "cars"}})
	if _, got := sameDeployment.post(t, GetTaskResultPath, map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]}); jsonOf(t, got["solution"]) != `{"click":[1,5,9]}` {
		t.Fatalf("another instance of the deployment answered %v", got)
	}
	if _, got := other.post(t, GetTaskResultPath, map[string]any{"clientKey": aliceKey, "taskId": created["taskId"]}); got["errorCode"] != "ERROR_NO_SUCH_CAPCHA_ID" {
		t.Fatalf("another deployment answered %v", got)
	}
	id := strconv.FormatFloat(created["taskId"].(float64), 'f', 0, 64)
	query := url.Values{"key": {aliceKey}, "action": {"get"}, "id": {id}}
	if resp, _ := sameDeployment.legacy(t, "GET", ResPath, query, "", nil); string(resp.Body) != "OK|click:1/5/9" {
		t.Fatalf("res.php of the deployment answered %s", resp.Body)
	}
	if resp, _ := other.legacy(t, "GET", ResPath, query, "", nil); string(resp.Body) != "ERROR_WRONG_CAPTCHA_ID" {
		t.Fatalf("res.php of another deployment answered %s", resp.Body)
	}
}

// The cost of an id: issuing and reading one (FF1 is 10 rounds of 4 AES blocks each way).
func BenchmarkTaskID(b *testing.B) {
	s := sealerFor(b, "one", "alice", aliceKey)
	a := answer{kind: kindGrid, provider: "capsolver", grid: imaging.Grid3x3, objects: []int{0, 4, 8}}
	for b.Loop() {
		if _, ok := s.read(s.issue(a, nil), nil); !ok {
			b.Fatal("not read")
		}
	}
}

// With authentication off every caller is "anonymous": the key a client sends still keeps its
// task ids its own, as the key is part of the tweak.
func TestIDsOfAnotherKeyWithAuthOff(t *testing.T) {
	f := newFixture(t)
	off, err := auth.New(auth.ModeOff, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.h.Auth = off
	_, created := f.post(t, CreateTaskPath, map[string]any{"clientKey": "first-key", "task": map[string]any{"type": "GridTask", "body": b64(carsPicture), "comment": "cars"}})
	if created["errorId"] != float64(0) {
		t.Fatalf("createTask with authentication off: %v", created)
	}
	if _, got := f.post(t, GetTaskResultPath, map[string]any{"clientKey": "first-key", "taskId": created["taskId"]}); got["errorId"] != float64(0) {
		t.Fatalf("the same key read %v", got)
	}
	if _, got := f.post(t, GetTaskResultPath, map[string]any{"clientKey": "second-key", "taskId": created["taskId"]}); got["errorCode"] != "ERROR_NO_SUCH_CAPCHA_ID" {
		t.Fatalf("another key read the task: %v", got)
	}
}
