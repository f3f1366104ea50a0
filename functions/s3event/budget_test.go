//go:build e2e

package main

import (
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// The decode budget on the S3 path: in one fresh process with the template's GOMEMLIMIT, a batch
// of the most expensive accepted picture, three refused ones (too many scans, a lossless WebP of
// 2,600 groups of prefix codes, a progressive JPEG of 62 refinement scans) and an object just
// under the 10 MB limit ends with a result for each (the refusals are permanent: error results,
// no retry) and a peak resident set under 100 MB.
func TestDecodeBudgetOnUploads(t *testing.T) {
	limit, err := testenv.TemplateMemoryLimit("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := start(t, "GOMEMLIMIT="+limit)
	cmyk := testimage.FlatJPEG{Width: 2448, Height: 2448, Components: 4}.Bytes()
	scans := testimage.FlatJPEG{Width: 4096, Height: 4096, Components: 3, Subsampled: true, Progressive: true, ExtraScans: 7000}.Bytes()
	groups := testimage.LosslessWebPGroups(204, 204, 2600, 11)
	refinements := testimage.FlatJPEG{Width: 3072, Height: 3072, Components: 1, Progressive: true, Refinements: 62}.Bytes()
	// Noise at JPEG quality 100 is nearly incompressible: close to the byte limit.
	big := testimage.Challenge{Grid: 3, Tile: 1000, Label: cars3.Label, Targets: []int{4}, Seed: 5}.JPEG(100)
	if len(big) < 6<<20 || len(big) > 10<<20 {
		t.Fatalf("the large upload is %d bytes; it should be between 6 and 10 MB", len(big))
	}
	a := f.put("incoming/cars/cmyk.jpg", cmyk, map[string]string{"grid": "3x3"})
	b := f.put("incoming/cars/scans.jpg", scans, map[string]string{"grid": "3x3"})
	c := f.put("incoming/cars/big.jpg", big, map[string]string{"grid": "3x3"})
	d := f.put("incoming/cars/groups.webp", groups, map[string]string{"grid": "3x3"})
	e := f.put("incoming/cars/refinements.jpg", refinements, map[string]string{"grid": "3x3"})
	// Pictures whose structure made the service panic: each an error result too.
	g := f.put("incoming/cars/empty.gif", testimage.GIFEmptyFrame(), map[string]string{"grid": "3x3"})
	h := f.put("incoming/cars/short.jpg", testimage.JPEGShortSegment(0), map[string]string{"grid": "3x3"})
	if f.invoke(a, b, c, d, e, g, h) {
		t.Fatal("the invocation failed; a refusal is permanent")
	}
	if s, ok := f.result("results/cars/cmyk.jpg.json"); !ok || s.Solution == nil {
		t.Errorf("cmyk.jpg: %+v, want a solution", s)
	}
	f.wantFailed("results/cars/scans.jpg.json", "image_too_complex")
	f.wantFailed("results/cars/groups.webp.json", "image_too_complex")
	f.wantFailed("results/cars/refinements.jpg.json", "image_too_complex")
	f.wantFailed("results/cars/empty.gif.json", "invalid_image")
	f.wantFailed("results/cars/short.jpg.json", "invalid_image")
	if s, ok := f.result("results/cars/big.jpg.json"); !ok || s.Solution == nil || len(s.Solution.Objects) != 1 || s.Solution.Objects[0] != 4 {
		t.Errorf("big.jpg: %+v, want tile 4", s)
	}
	rss, err := f.proc.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes uploaded, peak RSS %.1f MB", len(cmyk)+len(scans)+len(big)+len(groups)+len(refinements), float64(rss)/(1<<20))
	if rss > 100<<20 {
		t.Errorf("peak RSS %.1f MB, over the 100 MB budget", float64(rss)/(1<<20))
	}
}
