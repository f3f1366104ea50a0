package imaging_test

import (
	"bytes"
	"image"
	"syscall"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// workClasses are pictures whose decoding time is set by different parts of the work model.
func workClasses() []struct {
	name string
	data []byte
} {
	return []struct {
		name string
		data []byte
	}{
		{"greyscale progressive JPEG, 62 refinement scans, 1536x1536", testimage.FlatJPEG{Width: 1536, Height: 1536, Components: 1, Progressive: true, Refinements: 62}.Bytes()},
		{"progressive JPEG 4:2:0, 60 empty scans, 2048x2048", testimage.FlatJPEG{Width: 2048, Height: 2048, Components: 3, Subsampled: true, Progressive: true, ExtraScans: 60}.Bytes()},
		{"baseline JPEG 4:2:0, 2048x2048", testimage.FlatJPEG{Width: 2048, Height: 2048, Components: 3, Subsampled: true}.Bytes()},
		{"baseline CMYK JPEG, 1536x1536", testimage.FlatJPEG{Width: 1536, Height: 1536, Components: 4}.Bytes()},
		{"photo-like baseline JPEG, 1200x1200", testimage.Challenge{Grid: 3, Tile: 400, Label: cars, Targets: []int{4}}.JPEG(95)},
		{"8-bit RGBA PNG, 1536x1536", testimage.FlatPNG{Width: 1536, Height: 1536, Depth: 8, ColorType: 6}.Bytes()},
		{"16-bit RGBA PNG, 1536x1536", testimage.FlatPNG{Width: 1536, Height: 1536, Depth: 16, ColorType: 6}.Bytes()},
		{"photo-like PNG, 1200x1200", testimage.Challenge{Grid: 3, Tile: 400, Label: cars, Targets: []int{4}}.PNG()},
		{"lossy WebP", testimage.WebPLossy300.Bytes()},
		{"lossless WebP", testimage.WebPLossless387.Bytes()},
		{"GIF", testimage.Challenge{Grid: 3, Tile: 300, Label: cars}.GIF()},
	}
}

// BenchmarkDecodeWork decodes each class and reports the model's units and the nanoseconds each
// took: the constants of the model are set so that ns/unit stays at or under about 1 for every
// class, which makes the work limit a bound on time.
func BenchmarkDecodeWork(b *testing.B) {
	for _, c := range workClasses() {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(c.data))
		if err != nil {
			b.Fatal(err)
		}
		work := imaging.DecodeWork(c.data, format, cfg.Width, cfg.Height)
		b.Run(c.name, func(b *testing.B) {
			start := cpuTime()
			for b.Loop() {
				if _, err := imaging.Normalize(c.data, imaging.Grid3x3, imaging.Limits{MaxBytes: 10 << 20, MaxPixels: 16 << 20}); err != nil {
					b.Fatal(err)
				}
			}
			cpu := float64(cpuTime()-start) / float64(b.N)
			b.ReportMetric(float64(work)/1e6, "Mwork")
			b.ReportMetric(cpu/1e6, "cpu-ms/op")
			b.ReportMetric(cpu/float64(work), "cpu-ns/work")
		})
	}
}

// cpuTime is the CPU time the process has used, in nanoseconds: user and system, every thread,
// the collector's included.
func cpuTime() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		panic(err)
	}
	return u.Utime.Nano() + u.Stime.Nano()
}
