package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// protocolCommand measures the same picture through POST /recognize and through each solver
// protocol's route in one run (internal/protocols' BenchmarkProtocolOverhead).
const protocolCommand = "go test -run '^$' -bench BenchmarkProtocolOverhead -benchtime 3000x -count 3 ./internal/protocols"

// protocolFigures runs protocolCommand and reports each route's p50, the median of its runs,
// against /recognize's from the same runs.
func protocolFigures() string {
	out, err := exec.Command("sh", "-c", protocolCommand).CombinedOutput()
	if err != nil {
		fail("protocol benchmark: " + string(out))
	}
	line := regexp.MustCompile(`BenchmarkProtocolOverhead/(\S+?)-\d+\s+\d+\s+\d+ ns/op(.*)`)
	metric := regexp.MustCompile(`(-?[0-9.]+) (p50-µs|p50-over-recognize-µs)`)
	p50s, over := map[string][]float64{}, map[string][]float64{}
	var order []string
	for _, l := range strings.Split(string(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if _, seen := p50s[m[1]]; !seen {
			order = append(order, m[1])
		}
		for _, mm := range metric.FindAllStringSubmatch(m[2], -1) {
			v, _ := strconv.ParseFloat(mm[1], 64)
			if mm[2] == "p50-µs" {
				p50s[m[1]] = append(p50s[m[1]], v)
			} else {
				over[m[1]] = append(over[m[1]], v)
			}
		}
	}
	var b strings.Builder
	b.WriteString("\n## Solver protocols: a task against POST /recognize\n\n")
	fmt.Fprintf(&b, "`%s` (also part of `make bench`). The same picture (events/images/cars-3x3.jpg, 300×300, forwarded as it is) and question through `POST /recognize` (JSON, bearer key) and through each protocol's route (docs/protocols.md), in process, with the same key check (keys mode) and a recognition API that answers at once, so the figures are what the service and the protocol cost. Each row is the median of 3 runs of 3000 requests; \"over /recognize\" is the p50 difference within the same run. Goal: under 500 µs.\n\n", protocolCommand)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(&b, "Load average when it ended: %s (other work shares the machine; the difference is taken within each run).\n\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	b.WriteString("| route | p50 | over /recognize |\n|---|---:|---:|\n")
	for _, name := range order {
		o := "reference"
		if len(over[name]) > 0 {
			o = fmt.Sprintf("%+.0f µs", median(over[name]))
		}
		fmt.Fprintf(&b, "| %s | %.0f µs | %s |\n", name, median(p50s[name]), o)
	}
	return b.String()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
