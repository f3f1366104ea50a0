package protocols

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"sync"
)

// IDSecret is where the deployment's task-id secret comes from: the same value on every instance
// of a deployment (a Secrets Manager secret), another on every other deployment.
type IDSecret interface {
	Value(ctx context.Context) (string, error)
}

// idKeys turns the deployment's secret into the ids' cipher, once per value of the secret.
type idKeys struct {
	mu     sync.Mutex
	secret string
	cipher *ff1
}

// processSecret stands in for the deployment's secret when none is configured (make run, tests):
// random, so an id is read only by the process that issued it.
var processSecret = sync.OnceValue(func() string {
	b := make([]byte, 32)
	rand.Read(b)
	return string(b)
})

func (k *idKeys) get(ctx context.Context, src IDSecret) (*ff1, error) {
	secret := processSecret()
	if src != nil {
		s, err := src.Value(ctx)
		if err != nil {
			return nil, err
		}
		secret = s
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cipher == nil || k.secret != secret {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("recaptcha-recognizer task id key v2"))
		c, err := newFF1(m.Sum(nil), 2, idBits)
		if err != nil {
			return nil, err
		}
		k.secret, k.cipher = secret, c
	}
	return k.cipher, nil
}

// sealer makes and reads the ids of one caller.
type sealer struct {
	cipher *ff1
	caller [32]byte // the tweak: who the caller is, by name and key
	tweak  *ff1Tweak
}

func newSealer(c *ff1, callerName, callerKey string) sealer {
	s := sealer{cipher: c, caller: sha256.Sum256([]byte("caller\x00" + callerName + "\x00" + callerKey))}
	t := c.prepare(s.caller[:])
	s.tweak = &t
	return s
}

func (s sealer) seal(plain uint64) uint64 { return s.cipher.encrypt(plain, s.tweak) }
func (s sealer) open(id uint64) uint64    { return s.cipher.decrypt(id, s.tweak) }

func fields(v uint64, shift, bits int) uint64 { return v >> shift & (1<<bits - 1) }

// issue makes the id of an answer. Coordinates that the id cannot carry are recorded.
func (s sealer) issue(a answer, recs *records) uint64 {
	if a.kind == kindCoordinates && !slices.Equal(a.clicks, evenClicks(a.grid, a.objects)) {
		handle, check := recs.put(s.caller, a)
		return s.seal(uint64(kindRecord)<<kindShift | uint64(handle)<<checkBits | check)
	}
	return s.seal(uint64(a.kind)<<kindShift | providerIndex(a.provider)<<(answerBits+zeroBits) |
		encodeAnswer(a.grid, a.objects)<<zeroBits)
}

// read returns the answer an id carries or names, if it is one this deployment issued to this
// caller.
func (s sealer) read(id uint64, recs *records) (answer, bool) {
	if id >= 1<<idBits {
		return answer{}, false
	}
	plain := s.open(id)
	k := kind(plain >> kindShift)
	if k == kindRecord {
		return recs.get(s.caller, uint32(fields(plain, checkBits, handleBits)), fields(plain, 0, checkBits))
	}
	p := int(fields(plain, answerBits+zeroBits, 3))
	grid, objects, ok := decodeAnswer(fields(plain, zeroBits, answerBits))
	if !ok || fields(plain, 0, zeroBits) != 0 || k < kindComplexImage || k > kindLegacy || p >= len(providerNames) {
		return answer{}, false
	}
	a := answer{kind: k, provider: providerNames[p], grid: grid, objects: objects}
	if k == kindCoordinates {
		a.clicks = evenClicks(grid, objects)
	}
	return a, true
}
