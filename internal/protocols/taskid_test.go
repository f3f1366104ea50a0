package protocols

import (
	"slices"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// Every answer of every grid and kind comes back from its id, which stays below 2^53.
func TestIDRoundTrip(t *testing.T) {
	s := newSigner(aliceKey)
	recs := newRecords()
	for _, grid := range []imaging.Grid{imaging.GridSingle, imaging.Grid3x3, imaging.Grid4x4} {
		for mask := 0; mask < 1<<grid.Tiles(); mask += 1 + mask/97 {
			objects := []int{}
			for i := 0; i < grid.Tiles(); i++ {
				if mask&(1<<i) != 0 {
					objects = append(objects, i)
				}
			}
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
	if len(recs.m) != 0 {
		t.Fatalf("%d answers were recorded: every one fits its id", len(recs.m))
	}
}

// An id altered in any bit, made up, or read with another key is no task.
func TestIDForgery(t *testing.T) {
	s, other := newSigner(aliceKey), newSigner(bobKey)
	recs := newRecords()
	id := s.issue(answer{kind: kindGrid, provider: "acedata", grid: imaging.Grid3x3, objects: []int{0, 4, 8}}, recs)
	if _, ok := other.read(id, recs); ok {
		t.Fatal("another key read the id")
	}
	for bit := 0; bit < 64; bit++ {
		if _, ok := s.read(id^1<<bit, recs); ok {
			t.Fatalf("the id with bit %d flipped was read", bit)
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

func TestRecordsExpireAndStayBounded(t *testing.T) {
	s := newSigner(aliceKey)
	recs := newRecords()
	clock := recs.now()
	recs.now = func() time.Time { return clock }
	a := answer{kind: kindCoordinates, grid: imaging.Grid4x4, objects: []int{1}, clicks: [][2]int{{1, 2}}}
	id := s.issue(a, recs)
	if got, ok := s.read(id, recs); !ok || !slices.Equal(got.clicks, a.clicks) {
		t.Fatalf("record: %+v %v", got, ok)
	}
	clock = clock.Add(recordTTL + time.Second)
	if _, ok := s.read(id, recs); ok {
		t.Fatal("an expired record was read")
	}
	for i := 0; i < 3*maxRecords; i++ {
		s.issue(a, recs)
	}
	if len(recs.m) > maxRecords {
		t.Fatalf("%d records kept, the bound is %d", len(recs.m), maxRecords)
	}
}
