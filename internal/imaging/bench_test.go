package imaging_test

import (
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// The benchmark images; make bench compares them with Pillow and libvips.
func BenchmarkNormalize(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
		grid imaging.Grid
	}{
		{"png300-standard", testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Seed: 31}.PNG(), imaging.GridAuto},
		{"jpeg450-standard", testimage.Challenge{Grid: 4, Tile: 112, Margin: 1, Label: cars, Seed: 32}.JPEG(90), imaging.GridAuto},
		{"jpeg1000-to-450", testimage.Challenge{Grid: 4, Tile: 250, Label: cars, Seed: 33}.JPEG(90), imaging.Grid4x4},
		{"jpeg387-screenshot-to-450", testimage.Challenge{Grid: 4, Tile: 93, Separator: 5, Label: cars, Seed: 34}.JPEG(90), imaging.GridAuto},
		{"png1200-to-300", testimage.Challenge{Grid: 3, Tile: 400, Label: cars, Seed: 35}.PNG(), imaging.Grid3x3},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := imaging.Normalize(c.data, c.grid, imaging.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// How long refusing each bomb takes (TestBombs and TestDecodeBudgetRefusesBeforeDecoding check
// the answers and the memory).
func BenchmarkRefuseBomb(b *testing.B) {
	type bomb struct {
		name string
		data []byte
	}
	bombs := []bomb{
		{"png-header-100000x100000", testimage.PNGHeader(100000, 100000)},
		{"jpeg-header-65535x65535", testimage.JPEGHeader(65535, 65535)},
	}
	for _, c := range testimage.CostClasses {
		if c.Status != 200 {
			bombs = append(bombs, bomb{c.Name, c.Image()})
		}
	}
	for _, c := range bombs {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := imaging.Normalize(c.data, imaging.Grid3x3, imaging.DefaultLimits); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
