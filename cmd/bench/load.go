package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

type wrkRun struct {
	rps, p50, p99 string
	non2xx        int
	summary       string
}

// loadFigures runs the local server (make run's binary) under wrk: 32 connections for 10 s, each
// request a 300×300 PNG as a binary body. The reference is the same emulator the server calls,
// loaded directly with the request the server sends it, so the ratio is what our layer costs.
func loadFigures(dir string) string {
	head := "\n## `make run` under load\n\n"
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return head + "Not measured: wrk is not installed (apt-get install wrk).\n"
	}
	const tok = "bench-load-token"
	emu, err := emulator.New(tok).Start("127.0.0.1:0")
	check(err)
	defer emu.Close()

	bin := filepath.Join(dir, "local")
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/local").CombinedOutput(); err != nil {
		fail("build cmd/local: " + string(b))
	}
	addr, err := testenv.FreeAddr()
	check(err)
	srv := exec.Command(bin, "-addr", addr)
	srv.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RECOGNITION_TOKEN=" + tok, "RECOGNITION_API_URL=" + emu.URL}
	check(srv.Start())
	defer func() { srv.Process.Kill(); srv.Wait() }()
	check(testenv.WaitListening(addr, 20*time.Second))

	png := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1}, Seed: 61}.PNG()
	upstreamBody, err := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(png), "question": "/m/0k4j"})
	check(err)
	ours := runWrk(wrk, dir, "ours", "http://"+addr+"/recognize?question=cars", "image/png", "", png)
	ref := runWrk(wrk, dir, "emulator", emu.URL, "application/json", "Bearer "+tok, upstreamBody)
	fmt.Fprintf(os.Stderr, "load: ours %s req/s p50 %s p99 %s non-2xx %d; emulator alone %s req/s p99 %s\n",
		ours.rps, ours.p50, ours.p99, ours.non2xx, ref.rps, ref.p99)

	ratio := "n/a"
	if a, err1 := strconv.ParseFloat(ours.rps, 64); err1 == nil {
		if b, err2 := strconv.ParseFloat(ref.rps, 64); err2 == nil && b > 0 {
			ratio = fmt.Sprintf("%.2f×", a/b)
		}
	}
	return head + fmt.Sprintf("`wrk -t2 -c32 -d10s --latency` on this machine, wrk sharing its cores. Ours: the local server "+
		"(`cmd/local`, as `make run` builds it) taking a 300×300 PNG as a binary body (the fast path), calling the emulator. "+
		"Reference: that same emulator loaded directly with the JSON request our server sends it. Both answer every request "+
		"with a full recognition, so the ratio is the throughput left once our layer is added; on two cores shared by wrk, "+
		"the server and the emulator, every CPU millisecond our layer spends is taken from the emulator. Our layer's own cost "+
		"per request, against an upstream that answers at once: `go test -run '^$' -bench Serve -benchmem ./cmd/local/`.\n\n"+
		"| | requests/s | p50 | p99 | non-2xx |\n|---|---:|---:|---:|---:|\n"+
		"| ours (server + emulator) | %s | %s | %s | %d |\n| emulator alone | %s | %s | %s | %d |\n| ratio ours / emulator | %s | | | |\n\n"+
		"wrk's summary for ours:\n\n```\n%s\n```\n",
		ours.rps, ours.p50, ours.p99, ours.non2xx, ref.rps, ref.p50, ref.p99, ref.non2xx, ratio, ours.summary)
}

func runWrk(wrk, dir, name, url, contentType, authorization string, body []byte) wrkRun {
	bodyFile := filepath.Join(dir, name+".body")
	check(os.WriteFile(bodyFile, body, 0o644))
	auth := ""
	if authorization != "" {
		auth = fmt.Sprintf("wrk.headers[\"Authorization\"] = %q\n", authorization)
	}
	script := filepath.Join(dir, name+".lua")
	check(os.WriteFile(script, []byte(fmt.Sprintf(`local f = io.open(%q, "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = %q
%s`, bodyFile, contentType, auth)), 0o644))
	out, err := exec.Command(wrk, "-t2", "-c32", "-d10s", "--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		fail("wrk: " + string(out))
	}
	text := string(out)
	find := func(pattern string) string {
		m := regexp.MustCompile(pattern).FindStringSubmatch(text)
		if m == nil {
			fail("cannot read wrk's output:\n" + text)
		}
		return m[1]
	}
	r := wrkRun{rps: find(`Requests/sec:\s+([\d.]+)`), p50: find(`\s50%\s+(\S+)`), p99: find(`\s99%\s+(\S+)`), summary: strings.TrimSpace(text)}
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindStringSubmatch(text); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	return r
}
