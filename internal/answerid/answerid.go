// Package answerid makes the native API's answer ids, what POST /report names an answer by:
// opaque (AES-256-GCM under a key drawn from the deployment's task-id secret, so only this
// deployment reads them and any of its instances does), bound to the caller they were issued to,
// and carrying what a report is forwarded with: the label and each answering provider's name and
// own task id. Nothing is kept on the server.
package answerid

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// Secret is where the deployment's secret comes from: the same value on every instance of a
// deployment, another on every other deployment.
type Secret interface {
	Value(ctx context.Context) (string, error)
}

// MaxAge is how long an id is taken: a report comes within the minutes after the answer.
const MaxAge = time.Hour

// maxIDLen bounds what Open reads: three answers' task ids of 64 bytes and a label, sealed, fit
// well inside it.
const maxIDLen = 600

// version is an id's first byte, so another format can be told apart.
const version = 1

// Errors of Open: the id is not one this deployment issued to this caller (or it was altered),
// or it is older than MaxAge.
var (
	ErrInvalid = errors.New("answer id: not an id this deployment issued to this caller")
	ErrExpired = errors.New("answer id: older than an hour")
)

// Codec seals and opens answer ids.
type Codec struct {
	// Secret is the deployment's secret; nil draws one for the process, so only the process that
	// issued an id reads it (make run, tests).
	Secret Secret
	Now    func() time.Time // time.Now when nil

	mu     sync.Mutex
	secret string
	aead   cipher.AEAD
}

// processSecret stands in for the deployment's secret when none is configured.
var processSecret = sync.OnceValue(func() string {
	b := make([]byte, 32)
	rand.Read(b)
	return string(b)
})

func (c *Codec) cipher(ctx context.Context) (cipher.AEAD, error) {
	secret := processSecret()
	if c.Secret != nil {
		s, err := c.Secret.Value(ctx)
		if err != nil {
			return nil, err
		}
		secret = s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aead == nil || c.secret != secret {
		// A key of its own, drawn from the secret: the task ids' cipher never shares it.
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("recaptcha-recognizer answer id key v1"))
		block, _ := aes.NewCipher(m.Sum(nil)) // 32 bytes: always a valid key
		aead, _ := cipher.NewGCM(block)
		c.secret, c.aead = secret, aead
	}
	return c.aead, nil
}

func (c *Codec) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// callerData binds an id to its caller: the AEAD's associated data.
func callerData(caller string) []byte {
	return append([]byte{version, 0}, caller...)
}

// Seal makes the id of an answer for label given to caller by answers (provider and own task
// id; at most recognition.MaxConsensusCalls). A field over 255 bytes is carried empty: a task id
// cut short would name another task, and no provider's is that long.
func (c *Codec) Seal(ctx context.Context, caller, label string, answers []recognition.Answer) (string, error) {
	aead, err := c.cipher(ctx)
	if err != nil {
		return "", err
	}
	plain := binary.BigEndian.AppendUint32(nil, uint32(c.now().Unix()))
	plain = appendShort(plain, label)
	answers = answers[:min(len(answers), recognition.MaxConsensusCalls)]
	plain = append(plain, byte(len(answers)))
	for _, a := range answers {
		plain = appendShort(appendShort(plain, a.Provider), a.TaskID)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = version
	rand.Read(out[1:])
	out = aead.Seal(out, out[1:], plain, callerData(caller))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func appendShort(b []byte, s string) []byte {
	if len(s) > 255 {
		s = ""
	}
	return append(append(b, byte(len(s))), s...)
}

// Open reads an id issued to caller: the label and the answers it carries.
func (c *Codec) Open(ctx context.Context, caller, id string) (string, []recognition.Answer, error) {
	aead, err := c.cipher(ctx)
	if err != nil {
		return "", nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if len(id) > maxIDLen || err != nil || len(raw) < 1+aead.NonceSize()+aead.Overhead() || raw[0] != version {
		return "", nil, ErrInvalid
	}
	nonce := raw[1 : 1+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, raw[1+aead.NonceSize():], callerData(caller))
	if err != nil {
		return "", nil, ErrInvalid
	}
	r := reader{b: plain}
	issued := time.Unix(int64(r.uint32()), 0)
	label := r.short()
	answers := make([]recognition.Answer, r.byte())
	for i := range answers {
		answers[i] = recognition.Answer{Provider: r.short(), TaskID: r.short()}
	}
	if r.bad || len(r.b) != 0 {
		return "", nil, ErrInvalid // sealed by this key, so only a bug makes it
	}
	if age := c.now().Sub(issued); age > MaxAge || age < -time.Minute {
		return "", nil, ErrExpired
	}
	return label, answers, nil
}

// reader reads what Seal wrote, noting a short read instead of failing at each step.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if n > len(r.b) {
		r.bad, r.b = true, nil
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() int {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (r *reader) uint32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) short() string { return string(r.take(r.byte())) }
