package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/taskapi"
)

// heavyTail draws latencies from a log-normal distribution with the given median and 99th
// percentile (p99 = median·e^(2.326σ)), from a fixed seed so runs compare.
func heavyTail(seed uint64, median, p99 time.Duration) func() time.Duration {
	sigma := math.Log(float64(p99)/float64(median)) / 2.3263
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
	}
}

type hedgeRun struct {
	label      string
	p50, p99   time.Duration
	calls      int // provider calls in all
	requests   int
	failures   int
	secondWins int
}

// hedgeFigures measures the chain end to end (adapters over HTTP to two emulated providers, each
// with a heavy-tailed latency, p50 1 s and p99 8 s) without hedging and with hedging after each
// of hedgeAfter, n requests each, conc at a time.
func hedgeFigures(n, conc int, hedgeAfter []time.Duration) string {
	img := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1, 4}, Seed: 41}.PNG()
	runs := []hedgeRun{runHedge("no hedging", 0, n, conc, img)}
	for _, h := range hedgeAfter {
		runs = append(runs, runHedge(fmt.Sprintf("hedge after %v", h), h, n, conc, img))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Providers: hedging a heavy tail\n\n`go run ./cmd/bench -hedge` (also part of `make bench`). Two emulated providers (CapSolver's and YesCaptcha's envelopes, internal/devtools/taskemu), each answering after a log-normal delay with p50 1 s and p99 8 s, independently; the chain (internal/providers) in front of them, through the real adapters over loopback HTTP; %d requests per row, %d at a time. \"Extra calls\" is what hedging pays for: provider calls beyond one per request (a cancelled call may still be billed).\n\n| chain | p50 | p99 | calls per request | extra calls | answered by the second | failed |\n|---|---:|---:|---:|---:|---:|---:|\n", n, conc)
	for _, r := range runs {
		fmt.Fprintf(&b, "| %s | %.2f s | %.2f s | %.2f | %+.0f%% | %d%% | %d |\n", r.label, r.p50.Seconds(), r.p99.Seconds(),
			float64(r.calls)/float64(r.requests), 100*float64(r.calls-r.requests)/float64(r.requests), 100*r.secondWins/r.requests, r.failures)
	}
	return b.String()
}

func runHedge(label string, hedgeAfter time.Duration, n, conc int, img []byte) hedgeRun {
	a, err := taskemu.New(taskemu.CapSolver, "k").Start("127.0.0.1:0")
	check(err)
	defer a.Close()
	b, err := taskemu.New(taskemu.YesCaptcha, "k").Start("127.0.0.1:0")
	check(err)
	defer b.Close()
	a.SetLatency(heavyTail(1, time.Second, 8*time.Second))
	b.SetLatency(heavyTail(2, time.Second, 8*time.Second))
	hc := acedata.NewHTTPClient()
	member := func(kind taskapi.Kind, url string) providers.Member {
		c := taskapi.New(kind, url, hc, secrets.Static("k"))
		c.AttemptTimeout = 29 * time.Second // the measurement is of the tail, not of a cut-off
		// The breaker stays closed: a slow answer is not a failure.
		return providers.Member{Provider: c, Breaker: providers.NewBreaker(providers.DefaultThreshold, providers.DefaultCooldown)}
	}
	chain := &providers.Chain{HedgeAfter: hedgeAfter,
		Members: []providers.Member{member(taskapi.CapSolver, a.URL), member(taskapi.YesCaptcha, b.URL)}}
	var mu sync.Mutex
	var took []time.Duration
	run := hedgeRun{label: label, requests: n}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 29*time.Second)
			defer cancel()
			start := time.Now()
			sol, err := chain.Recognize(ctx, img, "/m/0k4j", 300)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			took = append(took, d)
			switch {
			case err != nil:
				run.failures++
			case sol.Provider == "yescaptcha":
				run.secondWins++
			}
		}()
	}
	wg.Wait()
	hc.CloseIdleConnections()
	slices.Sort(took)
	run.p50, run.p99 = percentile(took, 0.50), percentile(took, 0.99)
	run.calls = a.Requests() + b.Requests()
	return run
}
