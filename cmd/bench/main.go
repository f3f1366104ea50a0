// Command bench measures the service's own work against references in the same run and writes
// docs/performance.md (make bench). Normalization is timed in-process with testing.Benchmark;
// Pillow and libvips are timed over a batch inside one process each (pilbench.py, vipsbench.c),
// so start-up is excluded. Every output is checked: the emulator must find the same tiles.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

//go:embed ref/pilbench.py
var pilScript []byte

//go:embed ref/vipsbench.c
var vipsSource []byte

type benchCase struct {
	name   string
	ch     testimage.Challenge
	format string // png or jpeg
	grid   imaging.Grid
}

var cases = []benchCase{
	{"300×300 PNG, already standard (fast path)", testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4, 8}, Seed: 31}, "png", imaging.GridAuto},
	{"450×450 JPEG, already standard (fast path)", testimage.Challenge{Grid: 4, Tile: 112, Margin: 1, Label: "/m/0k4j", Targets: []int{1, 6, 11}, Seed: 32}, "jpeg", imaging.GridAuto},
	{"1000×1000 JPEG 4×4 → 450", testimage.Challenge{Grid: 4, Tile: 250, Label: "/m/0k4j", Targets: []int{0, 5, 10, 15}, Seed: 33}, "jpeg", imaging.Grid4x4},
	{"387×387 JPEG screenshot with separators → 450", testimage.Challenge{Grid: 4, Tile: 93, Separator: 5, Label: "/m/0k4j", Targets: []int{2, 7, 13}, Seed: 34}, "jpeg", imaging.GridAuto},
	{"1200×1200 PNG 3×3 → 300", testimage.Challenge{Grid: 3, Tile: 400, Label: "/m/0k4j", Targets: []int{3, 8}, Seed: 35}, "png", imaging.Grid3x3},
}

type row struct {
	name                  string
	ours                  testing.BenchmarkResult
	pillow, vips          float64 // ns/op
	tilesOK               bool
	inputBytes, outputLen int
}

func main() {
	out := flag.String("out", "docs/performance.md", "report to write")
	refSeconds := flag.Float64("ref-seconds", 2, "seconds each reference batch runs")
	hedgeOnly := flag.Bool("hedge", false, "measure only hedging across two heavy-tailed emulated providers, and print it")
	protocolsOnly := flag.Bool("protocols", false, "measure only the solver protocols against POST /recognize, and print it")
	consensusOnly := flag.Bool("consensus", false, "measure only the chain with consensus off against the plain chain, and print it")
	hedgeN := flag.Int("hedge-requests", 400, "requests per hedging row")
	costOnlyFlag := flag.Bool("cost", false, "measure only the decode budget's picture classes, and print them")
	managedOnly := flag.Bool("managed", false, "measure only many requests in one process (managed instances), and print it")
	flag.Parse()
	if *costOnlyFlag {
		dir, err := os.MkdirTemp("", "bench")
		check(err)
		defer os.RemoveAll(dir)
		fmt.Print(costOnly(dir))
		return
	}
	hedgeAfter := []time.Duration{1500 * time.Millisecond, 3 * time.Second}
	if *hedgeOnly {
		fmt.Print(hedgeFigures(*hedgeN, 50, hedgeAfter))
		return
	}
	if *protocolsOnly {
		fmt.Print(protocolFigures())
		return
	}
	if *consensusOnly {
		fmt.Print(consensusFigures())
		return
	}
	dir, err := os.MkdirTemp("", "bench")
	check(err)
	defer os.RemoveAll(dir)
	if *managedOnly {
		fmt.Print(managedFigures(dir))
		return
	}

	rows := normalizationRows(dir, *refSeconds)
	lambda := lambdaFigures(dir)
	load := loadFigures(dir)
	sizes := binarySizes(dir)
	deps := dependencySizes(dir)
	decode := decodeFigures(dir, cases[2].ch.JPEG(90))
	conns, calls := connections(cases[0].ch.PNG())
	hedge := hedgeFigures(*hedgeN, 50, hedgeAfter)
	protocols := protocolFigures() + consensusFigures()
	managed := managedFigures(dir)
	check(os.WriteFile(*out, []byte(numberSections(report(rows)+lambda+extras(sizes, deps, conns, calls)+decode+load+hedge+protocols+managed)), 0o644))
	fmt.Fprintln(os.Stderr, "wrote", *out)
}

// normalizationRows times Normalize on every case against Pillow and libvips doing the same.
func normalizationRows(dir string, refSeconds float64) []row {
	vipsBin := filepath.Join(dir, "vipsbench")
	check(os.WriteFile(vipsBin+".c", vipsSource, 0o644))
	check(os.WriteFile(filepath.Join(dir, "pilbench.py"), pilScript, 0o644))
	cflags, err := exec.Command("pkg-config", "--cflags", "--libs", "vips").Output()
	if err != nil {
		fail("libvips is needed for the reference: apt-get install libvips-dev (pkg-config vips failed)")
	}
	args := append([]string{"-O2", "-o", vipsBin, vipsBin + ".c"}, strings.Fields(string(cflags))...)
	if b, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		fail("compile vipsbench.c: " + string(b))
	}

	var rows []row
	for i, c := range cases {
		var data []byte
		if c.format == "png" {
			data = c.ch.PNG()
		} else {
			data = c.ch.JPEG(90)
		}
		file := filepath.Join(dir, fmt.Sprintf("case%d.%s", i, c.format))
		check(os.WriteFile(file, data, 0o644))
		size := c.grid.Size()
		if size == 0 {
			size = 450
			if c.ch.Grid == 3 {
				size = 300
			}
		}
		r := row{name: c.name, inputBytes: len(data)}
		n, err := imaging.Normalize(data, c.grid, imaging.DefaultLimits)
		check(err)
		img, _, err := image.Decode(bytes.NewReader(n.Image))
		check(err)
		_, objects := emulator.Recognize(img, int(n.Grid), c.ch.Label)
		r.tilesOK, r.outputLen = slices.Equal(objects, c.ch.Targets), len(n.Image)
		r.ours = testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := imaging.Normalize(data, c.grid, imaging.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
		})
		r.pillow = reference("/usr/bin/python3", filepath.Join(dir, "pilbench.py"), file, size, refSeconds)
		r.vips = reference(vipsBin, "", file, size, refSeconds)
		fmt.Fprintf(os.Stderr, "%-50s ours %8.3f ms  Pillow %8.3f ms  libvips %8.3f ms  tiles ok: %v\n",
			c.name, msOf(float64(r.ours.NsPerOp())), msOf(r.pillow), msOf(r.vips), r.tilesOK)
		rows = append(rows, r)
	}
	return rows
}

func reference(bin, script, file string, size int, seconds float64) float64 {
	args := []string{file, strconv.Itoa(size), fmt.Sprint(seconds)}
	if script != "" {
		args = append([]string{script}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "VIPS_CONCURRENCY=1")
	b, err := cmd.Output()
	if err != nil {
		fail(fmt.Sprintf("%s %v: %v (is python3-pil installed?)", bin, args, err))
	}
	ns, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	check(err)
	return ns
}

func msOf(ns float64) float64 { return ns / 1e6 }

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func report(rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Performance\n\nWritten by `make bench` (`go run ./cmd/bench`) on %s.\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %d cores (%s), %s, %s/%s. Pillow %s (Debian python3-pil), libvips %s (Debian libvips).\n\n",
		runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, version("/usr/bin/python3", "-c", "import PIL; print(PIL.__version__)"), version("pkg-config", "--modversion", "vips"))
	b.WriteString("## Normalization per image\n\n")
	b.WriteString("Ours: `imaging.Normalize` (header checks, decode, grid, per-tile resize, JPEG q90 encode), timed with `testing.Benchmark` in-process. ")
	b.WriteString("References do the nearest job each offers, timed over a batch inside one process (start-up excluded), single-threaded like a one-vCPU Lambda: ")
	b.WriteString("Pillow decodes with JPEG draft mode (shrink-on-load), resizes bilinear, saves JPEG 90; libvips runs `vips_thumbnail_buffer` (shrink-on-load) to the size and `jpegsave` Q90, with its operation cache off and `VIPS_CONCURRENCY=1`. ")
	b.WriteString("Neither reference cuts out screenshot separators or skips work for an image already at the upstream's size: those are ours. ")
	b.WriteString("\"Tiles ok\": the emulator finds exactly the drawn tiles in our output.\n\n")
	b.WriteString("| image | ours ms/op | allocs/op | KB/op | Pillow ms/op | Pillow ÷ ours | libvips ms/op | libvips ÷ ours | tiles ok |\n|---|---:|---:|---:|---:|---:|---:|---:|:-:|\n")
	for _, r := range rows {
		ours := float64(r.ours.NsPerOp())
		fmt.Fprintf(&b, "| %s (%d KB) | %.3f | %d | %d | %.3f | %.1f× | %.3f | %.1f× | %s |\n",
			r.name, r.inputBytes/1024, msOf(ours), r.ours.AllocsPerOp(), r.ours.AllocedBytesPerOp()/1024,
			msOf(r.pillow), r.pillow/ours, msOf(r.vips), r.vips/ours, map[bool]string{true: "yes", false: "**NO**"}[r.tilesOK])
	}
	b.WriteString("\nA ratio above 1 means we are faster than the reference by that factor.\n")
	return b.String()
}

// binarySizes builds each function as Lambda runs it (linux/arm64, stripped) and returns bytes.
func binarySizes(dir string) map[string]int64 {
	sizes := map[string]int64{}
	for _, fn := range []string{"api", "s3event"} {
		bin := filepath.Join(dir, fn)
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bin, "./functions/"+fn)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if b, err := cmd.CombinedOutput(); err != nil {
			fail("build " + fn + ": " + string(b))
		}
		st, err := os.Stat(bin)
		check(err)
		sizes[fn] = st.Size()
	}
	return sizes
}

// connections sends 100 sequential requests through the service's upstream client to the
// emulator and returns how many TCP connections they used.
func connections(img []byte) (conns, calls int) {
	srv, err := emulator.New("bench-token").Start("127.0.0.1:0")
	check(err)
	defer srv.Close()
	c := acedata.New(srv.URL, acedata.NewHTTPClient(), secrets.Static("bench-token"))
	for i := 0; i < 100; i++ {
		_, err := c.Recognize(context.Background(), img, "/m/0k4j", 300)
		check(err)
	}
	return srv.Connections(), srv.Requests()
}

func extras(sizes map[string]int64, deps string, conns, calls int) string {
	var b strings.Builder
	b.WriteString("\n## Binary size\n\n`CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -tags lambda.norpc -ldflags \"-s -w\"` (what `sam build` ships). Goal: under 12 MB.\n\n| function | size |\n|---|---:|\n")
	for _, fn := range []string{"api", "s3event"} {
		fmt.Fprintf(&b, "| %s | %.1f MB |\n", fn, float64(sizes[fn])/1e6)
	}
	b.WriteString(deps)
	b.WriteString("\nThe SDK's config module brings STS, SSO, SSO-OIDC and sign-in clients for credential sources a Lambda never uses (it reads its role from the environment); they are about 430 KB. Loading credentials by hand would drop them, and the goal says not to hand-write what the SDK does.\n")
	fmt.Fprintf(&b, "\n## Connections to the upstream\n\n%d sequential requests through `acedata.Client` to the emulator used **%d** TCP connection(s) (goal: one; keep-alive holds).\n", calls, conns)
	b.WriteString(gaps)
	return b.String()
}

// gaps says what this report does not yet show, so nobody reads silence as success.
const gaps = `
## Not met, and why

- **Normalization against Pillow (goal 2×) and libvips (goal 1×), on images that need
  decoding.** Pillow's goal is met only on the fast path. In three earlier runs of this report
  (2026-11-24), Pillow ÷ ours was 1.4–1.5× for the PNG, 0.9–1.2× for the
  screenshot and 0.7× for the 1000×1000 JPEG; libvips ÷ ours was 0.8–1.0× for the PNG, 0.9–1.0×
  for the JPEG and 1.0–1.2× for the screenshot: at libvips' speed within this machine's noise,
  not reliably above it. Where pixels must be decoded, most of our time is Go's standard
  decoders and encoder, not our code: of Normalize's CPU profile for the 1000×1000 JPEG,
  decoding is 65%, the JPEG encode 20%, the resize 12% and separator detection 3%; for the
  1200×1200 PNG, decoding is 77% (zlib inflate alone 51%), the resize 13% and the encode 6%
  (` + "`go test -run '^$' -bench Normalize/jpeg1000 -cpuprofile cpu.out ./internal/imaging/`" + `).
  Pillow (draft mode) and libvips (shrink-on-load) decode that JPEG at half size through
  libjpeg-turbo, whose entropy decoding and IDCT are SIMD C; "the decode alone", below, measures
  that decode against ours. A scaled decode in Go was tried (below) and does not close the gap;
  what would is cgo with a bundled libjpeg-turbo and zlib-ng, which would give up the static,
  dependency-free bootstrap and put C decoders in front of untrusted pictures.
- **Overhead (2)** is now within noise of the floor for every form (see the table; a few tenths
  of a millisecond either way between runs on this machine).

What paid:
- JSON bodies: the image string is read straight from the body and kept out of encoding/json's
  byte-at-a-time scan (` + "`imageSpan`" + `, held to encoding/json's reading by a differential fuzz
  target), and standard base64 is decoded without a clean-up pass: parsing a JSON body with a
  300×300 PNG went from 0.81 ms and 474 KB to 0.17 ms and 214 KB
  (` + "`go test -run '^$' -bench ParseJSON -benchmem ./internal/httpapi/`" + `). The JSON form went from
  +2.0 ms above the floor (p50) to within noise of it.
- S3 references: one GetObject whose Content-Length refuses a large object before its body is read,
  instead of a HeadObject and then a GetObject: from +4.1 ms above the floor to within noise.
- The upstream request is built in one allocation of its size instead of through encoding/json;
  the local server reads a body with a Content-Length into one buffer: 468 → 349 KB per request
  through ` + "`cmd/local`" + ` (` + "`go test -run '^$' -bench Serve -benchmem ./cmd/local/`" + `).
- Skipping the rune-by-rune clean-up of base64 when the string has no whitespace and no URL-safe
  characters: 1.17 → 0.97 ms for the same JSON body.
- In separator detection, rejecting on the luma plane before reading chroma made the 1000×1000
  JPEG about 25% faster (33 → 25.6 ms on an idle machine), with identical results.
- The resize runs its vertical pass first, over whole source rows (the cheapest access there is),
  then the horizontal pass over only the output's rows; every pixel reads a fixed number of taps;
  R, G and B of an RGBA picture go through in one pass; and no clamping, as the weights are never
  negative and sum to one. Instructions in the resize over the three decoded benchmark images
  went from 3.91 G to 1.90 G (` + "`valgrind --tool=callgrind`" + ` on the Normalize benchmarks,
  GODEBUG=asyncpreemptoff=1); the 1200×1200 RGBA → 300 resize from 11.1 to 4.9–6.2 ms
  (` + "`go test -run '^$' -bench Resample ./internal/imaging/`" + `). The PNG went from 0.7–0.8× libvips
  to about 1×, and an RGB picture needs no separate output planes.
- Resizing RGBA straight from the decoder's interleaved buffer, instead of copying it into three
  planes, cut the peak for a 16-megapixel PNG that compresses to 58 KB from 129 MB (over a 128 MB
  Lambda) to 81 MB.

What did not pay:
- A scaled JPEG decode: image/jpeg's decoder forked with a reduced IDCT (each 8×8 block straight
  to 4×4 pixels, as libjpeg does), within 2 grey levels of the full decode shrunk. Decoding the
  1000×1000 JPEG went from 17.7 to 15.6 ms (` + "`go test -bench Decode`" + ` on the fork, same run): Huffman
  decoding, which no scale avoids, is most of it. With the smaller resize that follows, about a
  fifth of the 30 ms at best, for 1,600 lines of forked decoder to keep; not kept.
- Profile-guided optimization (a CPU profile of the Normalize benchmarks given to ` + "`go build -pgo`" + `):
  the 1000×1000 JPEG 26.2 → 24.9 ms (−5%, p=0.04), the screenshot and the PNG within noise
  (benchstat over 8 alternating runs of the two test binaries). Not adopted: the profile would
  have to live in every main package, be regenerated as the code changes, and slow every build,
  for 5% on one image.
- Resizing with four source rows a sweep instead of two: −7% on the PNG's resize, nothing on the
  others, within noise; not kept.

The 1000×1000 JPEG between b8cecbd and c649291 (reported +4% p50 and +25% p99 end to end, three
wall-clock runs each): counted in instructions, which a loaded machine does not change, the two
commits do the same work. ` + "`BenchmarkServeJPEG1000`" + ` (cmd/local: one request at a time of that
picture, 4×4, as a binary body through net/http, the handler, Normalize and the provider client,
against an upstream that answers at once) was built from each commit and run under callgrind at
5 and 15 iterations; a request's cost is the difference over 10:

    git worktree add /tmp/old-b8cecbd b8cecbd
    cp cmd/local/jpegbench_test.go /tmp/old-b8cecbd/cmd/local/
    (cd /tmp/old-b8cecbd && go test -c -o /tmp/srv-old.test ./cmd/local) && go test -c -o /tmp/srv-new.test ./cmd/local
    cd cmd/local && for n in 5 15; do for v in old new; do GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 \
      valgrind --tool=callgrind --callgrind-out-file=/tmp/cgsrv-$v-$n.out /tmp/srv-$v.test \
      -test.run '^$' -test.bench ServeJPEG1000 -test.cpu 1 -test.benchtime ${n}x; done; done

| | instructions per request | allocations per request | bytes allocated per request |
|---|---:|---:|---:|
| b8cecbd | 318.3 M (two runs: 318.30, 318.27) | 627 | 2.514 MiB |
| c649291 | 319.2 M (+0.29%) | 646 (+3%) | 2.518 MiB (+0.15%) |
| branch hardening (task ids, redirects) | 320.8 M (two runs: 321.10, 320.42; +0.8%) | 649 | 2.523 MiB |

(Allocations and bytes: the benchmark's own figures in the 15-iteration runs.)

Normalize alone (` + "`BenchmarkNormalize/jpeg1000-to-450`" + `, 10 iterations under callgrind, both
binaries): 5,803,072,827 against 5,803,591,464 instructions in all, +52 thousand a call (+0.02% of
about 315 million): the structure walk every JPEG now passes before it is decoded (readJPEG:
markers, scans and the entropy-coded data scanned for the next marker), with 10 more
allocations. Both are far inside 3%, so nothing was changed; the benchmark keeps it measurable.
Two callgrind runs of one binary differ by up to 0.2% (the collector runs at slightly different
points), so differences under about half a percent are not resolved by one run.
Wall-clock timing on this machine could not tell them apart: benchstat over 10 alternating runs of
the two binaries (` + "`-test.cpu 1 -test.benchtime 20x`" + `, load average about 10 on 2 cores) gave
70.9 ms ± 24% against 73.6 ms ± 41%, p=0.74, and 12 alternating Normalize runs 92 ms ± 68% against
117 ms ± 58%, p=0.93. A p99 of 50 invocations is their second-largest, which such a machine moves
by far more than 25%; the reported difference is within that noise.
`

func version(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	os.Exit(1)
}

var sectionHeading = regexp.MustCompile(`(?m)^## (?:[0-9]+(?:–[0-9]+)?\. )?(.*)$`)

// numberSections numbers the report's sections in the order they appear, so a section added
// anywhere keeps the numbering whole.
func numberSections(doc string) string {
	n := 0
	return sectionHeading.ReplaceAllStringFunc(doc, func(h string) string {
		n++
		return fmt.Sprintf("## %d. %s", n, sectionHeading.FindStringSubmatch(h)[1])
	})
}
