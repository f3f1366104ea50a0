package question

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

// widgetSentences is every name of every language in every widget sentence of that language.
func widgetSentences() []string {
	var qs []string
	for _, lang := range Default.Languages() {
		for _, l := range Default.Labels() {
			for _, n := range l.Names[lang.Code] {
				for _, f := range lang.Frames {
					qs = append(qs, fmt.Sprintf(f, n))
				}
			}
		}
	}
	return qs
}

// BenchmarkResolve resolves every widget sentence of every language in turn and reports the 50th
// and 99th percentile of one call (the budget is 50 µs at the 99th).
func BenchmarkResolve(b *testing.B) {
	qs := widgetSentences()
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := Default.Resolve(qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkResolveLongest is the most work a question can ask for: 2 KB of text in a script
// without spaces, where a name may start at every character.
func BenchmarkResolveLongest(b *testing.B) {
	for _, c := range []struct{ name, unit string }{
		{"ja", "自転車と"}, {"th", "รถจักรยานยนต์"}, {"de", "Fahrrädern "}, {"ar", "دراجات نارية "},
	} {
		q := strings.Repeat(c.unit, MaxBytes/len(c.unit))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Default.Resolve(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad is the table's start-up cost with every language: reading the embedded files,
// normalizing and sorting the names (the budget is 1 ms and 300 KB).
func BenchmarkLoad(b *testing.B) {
	sub, err := fs.Sub(langFiles, "lang")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	times := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := Load(sub); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	// The minimum is the cost on a quiet machine: the shared CI box makes the mean noisy.
	slices.Sort(times)
	b.ReportMetric(float64(times[0].Nanoseconds()), "min-ns")
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(len(Default.keys)), "names")
	b.ReportMetric(float64(len(Default.langs)), "languages")
}
