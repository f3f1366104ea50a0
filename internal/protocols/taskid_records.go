package protocols

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// recordTTL is how long an instance keeps the coordinates an id cannot carry: clients poll for
// seconds, and report within a minute.
const recordTTL = 10 * time.Minute

// maxRecords bounds the records of the process: every handle of one caller, about 28 MB at most
// (TestRecordsMemory).
const maxRecords = 1 << handleBits

// records are the answers too large for an id, kept by the instance that made them, per caller.
// A caller's records go oldest first when it holds its share; when the process holds maxRecords,
// the caller holding the most gives up its oldest, so no caller loses a record to another while
// it holds no more than an equal share.
type records struct {
	mu      sync.Mutex
	now     func() time.Time
	callers map[[32]byte]*callerRecords
	total   int
}

type callerRecords struct {
	live  map[uint32]record
	order []uint32 // handles, oldest first
	next  uint32   // the next handle to try
}

// record is an answer packed small (the bound above is in records): the clicks as int32 pairs,
// the tiles as a mask.
type record struct {
	expires  int64 // Unix nanoseconds
	check    uint64
	clicks   []int32
	mask     uint16
	kind     kind
	provider uint8
	grid     imaging.Grid
}

func pack(a answer, expires time.Time, check uint64) record {
	r := record{expires: expires.UnixNano(), check: check, kind: a.kind,
		provider: uint8(providerIndex(a.provider)), grid: a.grid, clicks: make([]int32, 0, 2*len(a.clicks))}
	for _, o := range a.objects {
		r.mask |= 1 << o
	}
	for _, c := range a.clicks {
		r.clicks = append(r.clicks, int32(c[0]), int32(c[1]))
	}
	return r
}

func (r record) unpack() answer {
	a := answer{kind: r.kind, provider: providerNames[r.provider], grid: r.grid, objects: []int{}}
	for i := 0; i < r.grid.Tiles(); i++ {
		if r.mask&(1<<i) != 0 {
			a.objects = append(a.objects, i)
		}
	}
	for i := 0; i+1 < len(r.clicks); i += 2 {
		a.clicks = append(a.clicks, [2]int{int(r.clicks[i]), int(r.clicks[i+1])})
	}
	return a
}

func newRecords() *records {
	return &records{now: time.Now, callers: map[[32]byte]*callerRecords{}}
}

// put keeps a for caller and returns its handle, unique among the caller's records, and check.
func (r *records) put(caller [32]byte, a answer) (uint32, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	c := r.callers[caller]
	if c == nil {
		c = &callerRecords{live: map[uint32]record{}}
	}
	r.dropExpired(c, now)
	if len(c.live) >= maxRecords {
		r.dropOldest(c)
	} else if r.total >= maxRecords {
		for k, other := range r.callers {
			if r.dropExpired(other, now); len(other.live) == 0 {
				delete(r.callers, k)
			}
		}
		if r.total >= maxRecords {
			r.dropOldest(r.largest())
		}
	}
	r.callers[caller] = c
	handle := c.next
	for _, used := c.live[handle]; used; _, used = c.live[handle] {
		handle = (handle + 1) % (1 << handleBits)
	}
	c.next = (handle + 1) % (1 << handleBits)
	var b [8]byte
	rand.Read(b[:])
	check := binary.BigEndian.Uint64(b[:]) % (1 << checkBits)
	c.live[handle] = pack(a, now.Add(recordTTL), check)
	c.order = append(c.order, handle)
	r.total++
	return handle, check
}

// get returns the caller's live record of handle, if its check is check.
func (r *records) get(caller [32]byte, handle uint32, check uint64) (answer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.callers[caller]
	if c == nil {
		return answer{}, false
	}
	rec, ok := c.live[handle]
	if !ok || rec.check != check || r.now().UnixNano() > rec.expires {
		return answer{}, false
	}
	return rec.unpack(), true
}

func (r *records) dropExpired(c *callerRecords, now time.Time) {
	for len(c.order) > 0 && now.UnixNano() > c.live[c.order[0]].expires {
		r.dropOldest(c)
	}
}

func (r *records) dropOldest(c *callerRecords) {
	delete(c.live, c.order[0])
	c.order = c.order[1:]
	r.total--
}

func (r *records) largest() *callerRecords {
	var most *callerRecords
	for _, c := range r.callers {
		if most == nil || len(c.live) > len(most.live) {
			most = c
		}
	}
	return most
}
