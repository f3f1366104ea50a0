package protocols

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// A task id is a number below 2^53 (JavaScript clients read it as a double, so larger ones
// would come back changed) that carries the whole answer, signed:
//
//	kind (3 bits) | provider (3 bits) | answer (17 bits) | MAC (30 bits)
//
// Any instance of the function can therefore answer getTaskResult, res.php and the reports with no
// shared store: the id is checked and read, nothing is looked up. The MAC is HMAC-SHA256 keyed by
// the caller's own key (checked like the bearer key on every call), so an id made up, altered, or
// issued to another key is "no such task". A caller forging ids for its own key could only read
// answers it wrote itself.
//
// The one answer that does not fit is the coordinates of a picture whose tiles are not the even
// split of an engine-size square (a widget screenshot): those ids are kind kindRecord, a random
// handle to a record kept by the instance that solved the task (see records).
type kind uint8

const (
	kindComplexImage   kind = 1 // ComplexImageTask class recaptcha: answer booleans
	kindClassification kind = 2 // ReCaptchaV2Classification: objects / hasObject
	kindGrid           kind = 3 // GridTask: 1-based clicks
	kindCoordinates    kind = 4 // ImageToCoordinatesTask on an engine-size picture
	kindLegacy         kind = 5 // in.php: click:1/5/9
	kindRecord         kind = 6 // ImageToCoordinatesTask answered from an instance's record
)

const (
	macBits    = 30
	answerBits = 17
	idLimit    = 1 << 53
)

// providerNames gives each provider a number for the id; 0 is "not known".
var providerNames = []string{"", "acedata", "capsolver", "yescaptcha", "capmonster"}

// answer is what every protocol's solution is derived from.
type answer struct {
	kind     kind
	provider string
	grid     imaging.Grid
	objects  []int // tile indices from 0, ascending
	// clicks are the tile centres in the caller's pixels (coordinates tasks only).
	clicks [][2]int
}

// encodeAnswer packs grid and objects into 17 bits: 1x1 is 0..1, 3x3 is 2+mask (9 bits),
// 4x4 is 514+mask (16 bits).
func encodeAnswer(grid imaging.Grid, objects []int) uint64 {
	var mask uint64
	for _, o := range objects {
		mask |= 1 << o
	}
	switch grid {
	case imaging.GridSingle:
		return mask & 1
	case imaging.Grid3x3:
		return 2 + mask&0x1ff
	}
	return 514 + mask&0xffff
}

func decodeAnswer(v uint64) (imaging.Grid, []int, bool) {
	var grid imaging.Grid
	var mask uint64
	switch {
	case v < 2:
		grid, mask = imaging.GridSingle, v
	case v < 514:
		grid, mask = imaging.Grid3x3, v-2
	case v < 514+1<<16:
		grid, mask = imaging.Grid4x4, v-514
	default:
		return 0, nil, false
	}
	objects := []int{}
	for i := 0; i < grid.Tiles(); i++ {
		if mask&(1<<i) != 0 {
			objects = append(objects, i)
		}
	}
	return grid, objects, true
}

func providerIndex(name string) uint64 {
	if i := slices.Index(providerNames, name); i > 0 {
		return uint64(i)
	}
	return 0
}

// signer makes and checks the ids of one caller key.
type signer struct{ key []byte }

func newSigner(callerKey string) signer {
	k := sha256.Sum256([]byte("recaptcha-recognizer task id v1\x00" + callerKey))
	return signer{key: k[:]}
}

func (s signer) mac(payload uint64) uint64 {
	m := hmac.New(sha256.New, s.key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], payload)
	m.Write(b[:])
	return binary.BigEndian.Uint64(m.Sum(nil)) >> (64 - macBits)
}

// sign makes the id of payload (kind, provider, answer: 23 bits).
func (s signer) sign(payload uint64) uint64 {
	return payload<<macBits | s.mac(payload)
}

// open checks an id and returns its payload.
func (s signer) open(id uint64) (uint64, bool) {
	if id >= idLimit || id == 0 {
		return 0, false
	}
	payload := id >> macBits
	return payload, subtle.ConstantTimeEq(int32(s.mac(payload)), int32(id&(1<<macBits-1))) == 1
}

// issue makes the id of an answer. Coordinates that the id cannot carry are recorded.
func (s signer) issue(a answer, recs *records) uint64 {
	if a.kind == kindCoordinates && !slices.Equal(a.clicks, evenClicks(a.grid, a.objects)) {
		var r [3]byte
		rand.Read(r[:])
		nonce := uint64(r[0])<<16 | uint64(r[1])<<8 | uint64(r[2])
		id := s.sign(uint64(kindRecord)<<(3+answerBits) | nonce&(1<<(3+answerBits)-1))
		recs.put(id, a)
		return id
	}
	return s.sign(uint64(a.kind)<<(3+answerBits) | providerIndex(a.provider)<<answerBits | encodeAnswer(a.grid, a.objects))
}

// read returns the answer an id carries, if it is one of ours for this key.
func (s signer) read(id uint64, recs *records) (answer, bool) {
	payload, ok := s.open(id)
	if !ok {
		return answer{}, false
	}
	k := kind(payload >> (3 + answerBits))
	if k == kindRecord {
		return recs.get(id)
	}
	p := int(payload >> answerBits & 7)
	grid, objects, ok := decodeAnswer(payload & (1<<answerBits - 1))
	if !ok || k < kindComplexImage || k > kindLegacy || p >= len(providerNames) {
		return answer{}, false
	}
	a := answer{kind: k, provider: providerNames[p], grid: grid, objects: objects}
	if k == kindCoordinates {
		a.clicks = evenClicks(grid, objects)
	}
	return a, true
}

// evenClicks are the tile centres of an engine-size picture (grid.Size() pixels square, split
// evenly), computed as imaging computes them.
func evenClicks(grid imaging.Grid, objects []int) [][2]int {
	n, size := int(grid), grid.Size()
	out := make([][2]int, 0, len(objects))
	for _, o := range objects {
		col, row := o%n, o/n
		r := imaging.Rect{X0: float64(col*size) / float64(n), X1: float64((col+1)*size) / float64(n),
			Y0: float64(row*size) / float64(n), Y1: float64((row+1)*size) / float64(n)}
		x, y := r.Center()
		out = append(out, [2]int{x, y})
	}
	return out
}

func formatID(id uint64) string { return strconv.FormatUint(id, 10) }

// recordTTL is how long an instance keeps the coordinates an id cannot carry: clients poll for
// seconds, and report within a minute.
const (
	recordTTL  = 10 * time.Minute
	maxRecords = 4096
)

// records are the answers too large for an id, kept by the instance that made them.
type records struct {
	mu  sync.Mutex
	m   map[uint64]record
	now func() time.Time
}

type record struct {
	a       answer
	expires time.Time
}

func newRecords() *records { return &records{m: map[uint64]record{}, now: time.Now} }

func (r *records) put(id uint64, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.m) >= maxRecords {
		for k, v := range r.m {
			if now.After(v.expires) || len(r.m) >= maxRecords {
				delete(r.m, k)
			}
		}
	}
	r.m[id] = record{a: a, expires: now.Add(recordTTL)}
}

func (r *records) get(id uint64) (answer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.m[id]
	if !ok || r.now().After(rec.expires) {
		return answer{}, false
	}
	return rec.a, true
}
