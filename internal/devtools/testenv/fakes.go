package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"sync"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/uploads"
)

// FakeUpstream answers like the upstream emulator, in process: the tiles whose centre shows the
// label's signature colour. It is the fast tier's recognition API.
type FakeUpstream struct{}

// Recognize implements recognition.Upstream.
func (FakeUpstream) Recognize(_ context.Context, data []byte, labelID string, size int) (*recognition.Solution, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, apierr.Wrap(recognition.ErrRejected, apierr.CodeUpstreamError, "the upstream refused the request")
	}
	grid := map[int]int{100: 1, 300: 3, 450: 4}[size]
	conf, objects := emulator.Recognize(img, grid, labelID)
	kind := "multi"
	if grid == 1 {
		kind = "single"
	}
	fields := []recognition.Field{}
	for _, f := range []struct {
		k string
		v any
	}{{"size", size}, {"label", labelID}, {"confidences", conf}, {"objects", objects}, {"type", kind}} {
		b, _ := json.Marshal(f.v)
		fields = append(fields, recognition.Field{Key: f.k, Value: b})
	}
	return &recognition.Solution{Size: size, Label: labelID, Confidences: conf, Objects: objects, Type: kind, Fields: fields}, nil
}

var _ recognition.Upstream = FakeUpstream{}

// MemStore is an in-memory object store with the storage adapter's behaviour: a missing object
// is s3_object_not_found, a conditional write that loses is uploads.ErrConflict. Fallback, when
// set, is the body of any object not put explicitly (the fixtures' pictures).
type MemStore struct {
	mu       sync.Mutex
	objects  map[string]memObject
	Fallback []byte
}

type memObject struct {
	body     []byte
	metadata map[string]string
}

func (m *MemStore) get(bucket, key string) (memObject, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[bucket+"/"+key]
	if !ok && m.Fallback != nil && !isResult(key) {
		return memObject{body: m.Fallback}, true
	}
	return o, ok
}

// isResult keeps the fallback from answering for answers not yet written.
func isResult(key string) bool { return filepath.Ext(key) == ".json" }

// Objects lists the keys written or put, bucket/key.
func (m *MemStore) Objects() map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]byte{}
	for k, o := range m.objects {
		out[k] = o.body
	}
	return out
}

// Stat implements uploads.Store.
func (m *MemStore) Stat(_ context.Context, bucket, key string) (*uploads.Object, error) {
	o, ok := m.get(bucket, key)
	if !ok {
		return nil, apierr.New(apierr.CodeS3NotFound, "no such object")
	}
	return &uploads.Object{Size: int64(len(o.body)), ETag: `"etag"`, Metadata: o.metadata}, nil
}

// Get implements uploads.Store and the API's object store.
func (m *MemStore) Get(_ context.Context, bucket, key string, maxBytes int) ([]byte, error) {
	o, ok := m.get(bucket, key)
	if !ok {
		return nil, apierr.New(apierr.CodeS3NotFound, "no such object")
	}
	if len(o.body) > maxBytes {
		return nil, apierr.New(apierr.CodeTooLarge, "the object is over %d bytes", maxBytes)
	}
	return o.body, nil
}

// Write implements the API's object store.
func (m *MemStore) Write(ctx context.Context, bucket, key string, body []byte) error {
	return m.WriteConditional(ctx, bucket, key, body, nil, "*")
}

// WriteConditional implements uploads.Store.
func (m *MemStore) WriteConditional(_ context.Context, bucket, key string, body []byte, metadata map[string]string, ifMatch string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = map[string]memObject{}
	}
	if _, exists := m.objects[bucket+"/"+key]; exists && ifMatch == "" {
		return uploads.ErrConflict
	}
	m.objects[bucket+"/"+key] = memObject{body, metadata}
	return nil
}

var _ uploads.Store = (*MemStore)(nil)

// FixtureEnv is a function's variables from events/env.json (as `sam local invoke --env-vars`
// reads them), for logicalID (ApiFunction, S3EventFunction).
func FixtureEnv(eventsDir, logicalID string) (func(string) string, error) {
	b, err := os.ReadFile(filepath.Join(eventsDir, "env.json"))
	if err != nil {
		return nil, err
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	vars := all[logicalID]
	return func(k string) string { return vars[k] }, nil
}

// FastTierEnv is FixtureEnv for the fast tier, whose upstream is a fake: where env.json names no
// token (make invoke's emulator stands in for one), a placeholder does, so the configuration holds.
func FastTierEnv(eventsDir, logicalID string) (func(string) string, error) {
	fixture, err := FixtureEnv(eventsDir, logicalID)
	if err != nil {
		return nil, err
	}
	return func(k string) string {
		if v := fixture(k); v != "" || k != "RECOGNITION_TOKEN" {
			return v
		}
		return "fast-tier"
	}, nil
}
