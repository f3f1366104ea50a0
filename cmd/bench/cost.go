package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// costFigures sends every picture class of the decode budget to a fresh process of the real
// function (with the template's GOMEMLIMIT), after one standard request that reads the token, and
// reports the answer, its time, the CPU time the process spent on it and its peak resident set.
// The reference is the same standard request, sent again to a warm process in the same run.
func costFigures(ours program, std []byte) string {
	limit, err := testenv.TemplateMemoryLimit("template.yaml")
	check(err)
	ours.env = append(ours.env, "GOMEMLIMIT="+limit)
	stdEv := apiEvent("question=%2Fm%2F0k4j", "image/png", std, true)
	type result struct {
		d, cpu time.Duration
		status int
		code   string
		mb     float64
	}
	measure := func(body []byte) result {
		rt, proc := ours.start()
		defer rt.Close()
		defer proc.Kill()
		invoke(rt, stdEv)
		before := proc.CPUTime()
		d, resp := invokeAny(rt, apiEvent("question=cars&grid=3x3", "image/jpeg", body, true))
		r := result{d: d, cpu: proc.CPUTime() - before, status: resp.StatusCode}
		rss, err := proc.PeakRSS()
		check(err)
		if i := strings.Index(resp.Body, `"code":"`); i >= 0 {
			r.code = strings.SplitN(resp.Body[i+8:], `"`, 2)[0]
		}
		r.mb = float64(rss) / (1 << 20)
		return r
	}
	var refs, refCPUs []time.Duration
	for i := 0; i < 5; i++ {
		r := measure(std)
		refs, refCPUs = append(refs, r.d), append(refCPUs, r.cpu)
	}
	ref, refCPU := percentile(refs, 0.5), percentile(refCPUs, 0.5)
	var b strings.Builder
	b.WriteString("\n## Peak memory and time of every picture class\n\n")
	fmt.Fprintf(&b, "Each picture is sent as a raw body (`?question=cars&grid=3x3`) to a fresh process of the real `api` bootstrap with the template's `GOMEMLIMIT=%s`, after one standard request that reads the token; the time is invoke-to-answer at the harness, emulator included; the CPU time is the function process's own (every thread, from `/proc/<pid>/task/*/schedstat`), spent on that request; the peak is the process's VmHWM, runtime and SDK included. The reference is a 300×300 PNG already at the upstream's size, sent the same way: %.1f ms, %.2f ms of CPU (medians of 5). Budget: under 100 MB for every class, and under 0.5 s of CPU for every accepted picture: the rows answered 200 are the costliest accepted picture of each class (the decode budget's memory or work limit, or the pixel limit, stops the next size up). The end-to-end test `TestDecodeBudget` asserts every answer and peak.\n\n", limit, msOf(float64(ref)), msOf(float64(refCPU)))
	b.WriteString("| picture | bytes sent | answer | time | CPU | CPU ÷ reference | peak RSS |\n|---|---:|---|---:|---:|---:|---:|\n")
	for _, c := range testimage.CostClasses {
		body := c.Image()
		r := measure(body)
		answer := fmt.Sprintf("%d", r.status)
		if r.code != "" {
			answer += " `" + r.code + "`"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.1f ms | %.1f ms | %.1f× | %.1f MB |\n", c.Name, len(body), answer, msOf(float64(r.d)), msOf(float64(r.cpu)), float64(r.cpu)/float64(refCPU), r.mb)
		fmt.Fprintf(os.Stderr, "cost %-60s %s %8.1f ms %8.1f ms CPU %6.1f MB\n", c.Name, answer, msOf(float64(r.d)), msOf(float64(r.cpu)), r.mb)
	}
	return b.String()
}

// costOnly runs section 5 alone (bench -cost): the api function built for this machine, with
// moto_server for its token secret and the emulator as its upstream.
func costOnly(dir string) string {
	moto, err := testenv.StartMoto()
	check(err)
	defer moto.Close()
	ctx := context.Background()
	_, err = secretsmanager.NewFromConfig(testenv.AWSConfig(moto.URL)).CreateSecret(ctx,
		&secretsmanager.CreateSecretInput{Name: aws.String(benchSecret), SecretString: aws.String(benchToken)})
	check(err)
	emu, err := emulator.New(benchToken).Start("127.0.0.1:0")
	check(err)
	defer emu.Close()
	bin, err := testenv.Build(ctx, "github.com/recaptcha-recognizer/recognizer/functions/api", dir)
	check(err)
	env := append(testenv.AWSEnv(moto.URL), "TOKEN_SECRET_ID="+benchSecret, "RECOGNITION_API_URL="+emu.URL, "AUTH_MODE=off")
	std := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4, 8}, Seed: 51}.PNG()
	return costFigures(program{"ours", bin, env}, std)
}
