package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// costFigures sends every picture class of the decode budget to a fresh process of the real
// function (with the template's GOMEMLIMIT), after one standard request that reads the token, and
// reports the answer, its time and the process's peak resident set. The reference is the same
// standard request, sent again to a warm process in the same run.
func costFigures(ours program, std []byte) string {
	limit, err := testenv.TemplateMemoryLimit("template.yaml")
	check(err)
	ours.env = append(ours.env, "GOMEMLIMIT="+limit)
	stdEv := apiEvent("question=%2Fm%2F0k4j", "image/png", std, true)
	measure := func(body []byte) (time.Duration, int, string, float64) {
		rt, proc := ours.start()
		defer rt.Close()
		defer proc.Kill()
		invoke(rt, stdEv)
		d, resp := invokeAny(rt, apiEvent("question=cars&grid=3x3", "image/jpeg", body, true))
		rss, err := proc.PeakRSS()
		check(err)
		code := ""
		if i := strings.Index(resp.Body, `"code":"`); i >= 0 {
			code = strings.SplitN(resp.Body[i+8:], `"`, 2)[0]
		}
		return d, resp.StatusCode, code, float64(rss) / (1 << 20)
	}
	var refs []time.Duration
	for i := 0; i < 5; i++ {
		d, _, _, _ := measure(std)
		refs = append(refs, d)
	}
	ref := percentile(refs, 0.5)
	var b strings.Builder
	b.WriteString("\n## Peak memory and time of every picture class\n\n")
	fmt.Fprintf(&b, "Each picture is sent as a raw body (`?question=cars&grid=3x3`) to a fresh process of the real `api` bootstrap with the template's `GOMEMLIMIT=%s`, after one standard request that reads the token; the time is invoke-to-answer at the harness, emulator included, and the peak is the process's VmHWM, runtime and SDK included. The reference is a 300×300 PNG already at the upstream's size, sent the same way: %.1f ms (median of 5). Budget: under 100 MB and 2 s for every class. The end-to-end test `TestDecodeBudget` asserts every answer and peak.\n\n", limit, msOf(float64(ref)))
	b.WriteString("| picture | bytes sent | answer | time | ÷ reference | peak RSS |\n|---|---:|---|---:|---:|---:|\n")
	for _, c := range testimage.CostClasses {
		body := c.Image()
		d, status, code, mb := measure(body)
		answer := fmt.Sprintf("%d", status)
		if code != "" {
			answer += " `" + code + "`"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.1f ms | %.1f× | %.1f MB |\n", c.Name, len(body), answer, msOf(float64(d)), float64(d)/float64(ref), mb)
		fmt.Fprintf(os.Stderr, "cost %-60s %s %8.1f ms %6.1f MB\n", c.Name, answer, msOf(float64(d)), mb)
	}
	return b.String()
}
