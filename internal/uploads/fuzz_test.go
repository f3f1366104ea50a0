package uploads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// memStore is an in-memory bucket for unit tests of Process alone: every key under incoming/
// holds the same small challenge, with an ETag of its own; results keep the metadata they were
// written with, so a redelivery is recognized only if Process tagged its result correctly.
type memStore struct {
	image   []byte
	meta    map[string]string // every input's user metadata
	results map[string]memObject
	writes  []string
}

type memObject struct {
	body     []byte
	metadata map[string]string
}

func inputETag(key string) string { return fmt.Sprintf(`"%08x"`, crc32.ChecksumIEEE([]byte(key))) }

func (m *memStore) Stat(_ context.Context, _, key string) (*Object, error) {
	if strings.HasPrefix(key, "incoming/") {
		return &Object{Size: int64(len(m.image)), ETag: inputETag(key), Metadata: m.meta}, nil
	}
	if r, ok := m.results[key]; ok {
		return &Object{ETag: `"r1"`, Metadata: r.metadata}, nil
	}
	return nil, apierr.New(apierr.CodeS3NotFound, "no such object")
}

func (m *memStore) Get(context.Context, string, string, int) ([]byte, error) { return m.image, nil }

func (m *memStore) WriteConditional(_ context.Context, _, key string, body []byte, metadata map[string]string, ifMatch string) error {
	if _, exists := m.results[key]; exists && ifMatch == "" {
		return ErrConflict
	}
	m.results[key] = memObject{body, metadata}
	m.writes = append(m.writes, key)
	return nil
}

type fixedAnswer struct{}

func (fixedAnswer) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	return &recognition.Solution{Size: 300, Label: "/m/0k4j", Confidences: make([]float64, 9), Objects: []int{4},
		Fields: []recognition.Field{{Key: "size", Value: json.RawMessage("300")}}}, nil
}

func newTestProcessor(store *memStore) *Processor {
	return &Processor{
		Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: fixedAnswer{}},
		Store:   store,
		Config:  Config{InputPrefix: "incoming/", ResultsPrefix: "results/"},
	}
}

// FuzzRecord: whatever the key, Process writes nothing outside results/ (a write under incoming/
// would trigger the function again), at most one result, and that result names the record's own
// key and answers to it alone: mapped back, its key is the record's key (or, for a key named by
// digest, the digest is the record's), and its document's source is that key. Every result key
// fits S3's 1024 bytes and has no . or .. segment. A key that is not UTF-8 (no S3 key is) is
// skipped. A redelivery of an answered record writes nothing. (Which keys are ours is held by a
// table of examples in TestKeyRules, not restated here.)
func FuzzRecord(f *testing.F) {
	for _, key := range []string{"incoming/cars/x.png", "incoming/", "incoming/x.png", "results/cars/x.png.json",
		"incoming/../incoming/cars/a", "incoming/cars/%zz", "incoming/cars//", "incoming/cars/ü x+y.jpg",
		"incoming/\xff", "incoming/cars/\x00\n.png", "incoming/cars/" + strings.Repeat("x", 1007), "incoming/~x", "incoming/cars/./a"} {
		f.Add(key)
	}
	image := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{4}}.PNG()
	f.Fuzz(func(t *testing.T, key string) {
		store := &memStore{image: image, results: map[string]memObject{}}
		p := newTestProcessor(store)
		r := Record{Bucket: "b", Key: key}
		out := p.Process(context.Background(), r, "trace")
		if len(store.writes) > 1 {
			t.Fatalf("key %q: %d writes %q", key, len(store.writes), store.writes)
		}
		for _, w := range store.writes {
			inner, ok := strings.CutPrefix(w, "results/")
			sum := sha256.Sum256([]byte(strings.TrimPrefix(key, "incoming/")))
			direct := "incoming/"+strings.TrimSuffix(inner, ".json") == key
			if !ok || !strings.HasSuffix(inner, ".json") || !direct && inner != "~"+hex.EncodeToString(sum[:])+".json" {
				t.Fatalf("key %q: wrote %q, which does not answer to it", key, w)
			}
			if len(w) > MaxKeyBytes || slices.Contains(strings.Split(w, "/"), "..") || slices.Contains(strings.Split(w, "/"), ".") {
				t.Fatalf("key %q: wrote %q", key, w)
			}
			var doc result
			if err := json.Unmarshal(store.results[w].body, &doc); err != nil || doc.Source.Key != key {
				t.Fatalf("key %q: result %s, %v", key, store.results[w].body, err)
			}
		}
		if !utf8.ValidString(key) && out.Status != "skipped" {
			t.Fatalf("key %q is not UTF-8: %+v", key, out)
		}
		if len(store.writes) == 0 {
			if out.Status != "skipped" && out.Status != Retry {
				t.Fatalf("key %q: outcome %+v without a write", key, out)
			}
			return
		}
		store.writes = nil
		if again := p.Process(context.Background(), r, "trace"); again.Status != Duplicate || len(store.writes) != 0 {
			t.Fatalf("key %q: redelivery %+v wrote %q", key, again, store.writes)
		}
	})
}
