//go:build e2e

package main

// Decode budget, end to end: small, well-formed pictures that are expensive to decode, each sent
// to a fresh bootstrap process (with the template's GOMEMLIMIT) as a raw body; the answer and the
// process's peak resident memory are both checked. Times are measured by `make bench`, not here.

import (
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// rssBudget is the most a function process may hold, runtime and SDK included, so that a
// 128 MB Lambda is safe.
const rssBudget = 100 << 20

func TestDecodeBudget(t *testing.T) {
	t.Parallel()
	limit, err := testenv.TemplateMemoryLimit("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range testimage.CostClasses {
		t.Run(c.Name, func(t *testing.T) {
			img := c.Image()
			f := start(t, "GOMEMLIMIT="+limit)
			resp := f.invoke(event("POST", "/recognize", "question=cars&grid=3x3", "image/jpeg", img, true))
			rss, err := f.proc.PeakRSS()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes sent, peak RSS %.1f MB", len(img), float64(rss)/(1<<20))
			if rss > rssBudget {
				t.Errorf("peak RSS %.1f MB, over the %d MB budget", float64(rss)/(1<<20), rssBudget>>20)
			}
			if c.Status == 200 {
				if a := decode(t, resp); resp.StatusCode != 200 || a.Solution.Grid != "3x3" {
					t.Fatalf("got %d %s, want an answer", resp.StatusCode, resp.Body)
				}
				return
			}
			a := wantError(t, resp, c.Status, c.Code)
			t.Logf("%s", a.Error.Message)
		})
	}
}
