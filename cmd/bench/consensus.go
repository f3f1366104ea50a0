package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// consensusCommand measures the chain with consensus off against the plain chain, in one run
// (internal/providers' BenchmarkConsensusOff).
const consensusCommand = "go test -run '^$' -bench BenchmarkConsensusOff -benchmem -count 6 ./internal/providers"

// consensusFigures runs consensusCommand and reports each case's median time and its ratio to
// the plain chain's from the same run.
func consensusFigures() string {
	out, err := exec.Command("sh", "-c", consensusCommand).CombinedOutput()
	if err != nil {
		fail("consensus benchmark: " + string(out))
	}
	line := regexp.MustCompile(`BenchmarkConsensusOff/(\S+?)-\d+\s+\d+\s+([0-9.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)
	ns, allocs := map[string][]float64{}, map[string]string{}
	var order []string
	for _, l := range strings.Split(string(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if _, seen := ns[m[1]]; !seen {
			order = append(order, m[1])
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		ns[m[1]] = append(ns[m[1]], v)
		allocs[m[1]] = m[3] + " B, " + m[4] + " allocs"
	}
	var b strings.Builder
	b.WriteString("\n## Consensus off\n\n")
	fmt.Fprintf(&b, "`%s` (also part of `make bench`). The chain of two providers that answer at once (internal/providers), asked with `Recognize` (the plain chain), with `RecognizeOptions` and consensus off (what every request pays when the option is not used), and with consensus on for an answer sure enough to stand alone (docs/accuracy.md §2). Median of 6 runs; the ratio is to the plain chain's median in the same run. Goal: consensus off costs nothing.\n\n", consensusCommand)
	b.WriteString("| call | median | ÷ plain chain | per call |\n|---|---:|---:|---:|\n")
	ref := median(ns["Recognize"])
	for _, name := range order {
		fmt.Fprintf(&b, "| %s | %.0f ns | %.2f× | %s |\n", name, median(ns[name]), median(ns[name])/ref, allocs[name])
	}
	return b.String()
}
