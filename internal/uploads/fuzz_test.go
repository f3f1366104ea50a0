package uploads

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"recognizer/internal/apierr"
	"recognizer/internal/imaging"
	"recognizer/internal/question"
	"recognizer/internal/recognition"
	"recognizer/internal/storage"
	"recognizer/internal/testimage"
	"recognizer/internal/upstream"
)

// memStore is an in-memory bucket for unit tests of Process alone: every key under incoming/
// holds the same small challenge.
type memStore struct {
	image   []byte
	results map[string][]byte
	writes  []string
}

func (m *memStore) Stat(_ context.Context, _, key string) (*storage.Object, error) {
	if strings.HasPrefix(key, "incoming/") {
		return &storage.Object{Size: int64(len(m.image)), ETag: `"e1"`}, nil
	}
	if _, ok := m.results[key]; ok {
		return &storage.Object{ETag: `"r1"`, Metadata: map[string]string{sourceTag: "e:e1"}}, nil
	}
	return nil, apierr.New(apierr.CodeS3NotFound, "no such object")
}

func (m *memStore) Get(context.Context, string, string, int) ([]byte, error) { return m.image, nil }

func (m *memStore) WriteConditional(_ context.Context, _, key string, body []byte, _ map[string]string, _ string) error {
	m.results[key] = body
	m.writes = append(m.writes, key)
	return nil
}

type fixedAnswer struct{}

func (fixedAnswer) Recognize(context.Context, []byte, string, int) (*upstream.Solution, error) {
	return &upstream.Solution{Size: 300, Label: "/m/0k4j", Confidences: make([]float64, 9), Objects: []int{4},
		Fields: []upstream.Field{{Key: "size", Value: json.RawMessage("300")}}}, nil
}

// FuzzEvent: any S3 event the library decodes gives, for each record, either nothing (a key
// outside incoming/ or a folder) or exactly one result under results/ for that very key, never
// a write under incoming/ (which would trigger us again); a redelivery writes nothing.
func FuzzEvent(f *testing.F) {
	files, _ := filepath.Glob("../../events/s3-*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, key := range []string{"incoming%2Fcars%2Fx.png", "incoming/", "incoming/x.png", "results/cars/x.png.json", "incoming/../incoming/cars/a", "incoming/cars/%zz", "incoming/cars//"} {
		f.Add([]byte(`{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"` + key + `","eTag":"e1","size":10}}}]}`))
	}
	image := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{4}}.PNG()
	f.Fuzz(func(t *testing.T, event []byte) {
		var ev events.S3Event
		if json.Unmarshal(event, &ev) != nil {
			return // the runtime fails the invocation before our handler runs
		}
		store := &memStore{image: image, results: map[string][]byte{}}
		p := &Processor{
			Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: fixedAnswer{}},
			Store:   store,
			Config:  Config{InputPrefix: "incoming/", ResultsPrefix: "results/"},
		}
		for _, rec := range ev.Records {
			r := RecordOf(rec)
			store.writes = nil
			out := p.Process(context.Background(), r, "trace")
			rest, ours := strings.CutPrefix(r.Key, "incoming/")
			if !ours || rest == "" || strings.HasSuffix(rest, "/") {
				if out.Status != "skipped" || len(store.writes) != 0 {
					t.Fatalf("key %q: %+v, writes %q; want it skipped", r.Key, out, store.writes)
				}
				continue
			}
			if out.Status != "done" && out.Status != "failed" && out.Status != "duplicate" {
				t.Fatalf("key %q: outcome %+v", r.Key, out)
			}
			want := "results/" + rest + ".json"
			if out.Status != "duplicate" && (len(store.writes) != 1 || store.writes[0] != want) {
				t.Fatalf("key %q: writes %q, want exactly %q", r.Key, store.writes, want)
			}
			var doc result
			if err := json.Unmarshal(store.results[want], &doc); err != nil || doc.Source.Key != r.Key {
				t.Fatalf("key %q: result %s, %v", r.Key, store.results[want], err)
			}
			store.writes = nil
			if again := p.Process(context.Background(), r, "trace"); again.Status != "duplicate" || len(store.writes) != 0 {
				t.Fatalf("key %q: redelivery %+v wrote %q", r.Key, again, store.writes)
			}
		}
	})
}
