// Command mutants breaks the code on purpose, one listed mutation at a time, and reports which
// mutations the fast tests notice (killed) and which they do not (survived).
//
// Each mutation replaces one exact piece of a file's text. The mutated file is handed to
// `go test -overlay`, so the working tree is never written to, and only the package that owns the
// file is tested, with its fast tests (no build tags). A mutation whose text no longer occurs
// exactly once in its file is stale: the list must follow the code, so the run fails until it is
// fixed. Usage (from the module root, or via `make mutants`):
//
//	go run ./internal/devtools/mutants [-run regexp] [-j 2] [-timeout 2m] [-md]
//	go run ./internal/devtools/mutants -list   # which entries are stale, in a second
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Mutation is one deliberate fault.
type Mutation struct {
	ID   string // short and stable: package/what
	File string // path from the module root
	From string // the exact original text; must occur exactly once in File
	To   string // what it becomes
	Why  string // what a caller would suffer if it shipped
	// Equivalent, when set, says why no test can tell the mutant from the original (the code
	// behaves the same for every input); such a mutation is expected to survive.
	Equivalent string
}

// Package is the import path, relative to the module root, whose tests judge m.
func (m Mutation) Package() string { return "./" + filepath.ToSlash(filepath.Dir(m.File)) }

// Verdicts.
const (
	Killed   = "killed"   // some test failed (or the tests timed out)
	Survived = "survived" // every test passed
	Stale    = "stale"    // the original text is not in the file exactly once: fix the list
	Broken   = "broken"   // the mutant does not compile: fix the list
)

// Result is one mutation's verdict.
type Result struct {
	Mutation
	Verdict string
	Detail  string // the first failing test, or why stale or broken
	Elapsed time.Duration
}

// mutate returns src with m applied, or an error saying why m is stale.
func mutate(src string, m Mutation) (string, error) {
	switch n := strings.Count(src, m.From); n {
	case 0:
		return "", errors.New("original text not found")
	case 1:
		return strings.Replace(src, m.From, m.To, 1), nil
	default:
		return "", fmt.Errorf("original text occurs %d times; make it unique", n)
	}
}

// check finds the list's own mistakes: missing fields, repeated ids, no-op replacements.
func check(list []Mutation) error {
	var problems []string
	seen := map[string]bool{}
	for i, m := range list {
		switch {
		case m.ID == "" || m.File == "" || m.From == "" || m.Why == "":
			problems = append(problems, fmt.Sprintf("entry %d (%q): id, file, from and why are required", i, m.ID))
		case seen[m.ID]:
			problems = append(problems, fmt.Sprintf("id %q is used twice", m.ID))
		case m.From == m.To:
			problems = append(problems, fmt.Sprintf("%s: from and to are the same", m.ID))
		case filepath.IsAbs(m.File) || strings.HasPrefix(filepath.Clean(m.File), ".."):
			problems = append(problems, fmt.Sprintf("%s: file must be inside the module", m.ID))
		}
		seen[m.ID] = true
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// verdict reads a `go test` run's exit and output.
func verdict(err error, out []byte) (string, string) {
	switch {
	case err == nil:
		return Survived, ""
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return Broken, first
	case bytes.Contains(out, []byte("panic: test timed out")):
		return Killed, "timed out"
	}
	if m := failLine.FindSubmatch(out); m != nil {
		return Killed, string(m[1])
	}
	if bytes.Contains(out, []byte("panic:")) {
		return Killed, "panic"
	}
	return Killed, "tests failed"
}

type runner struct {
	root    string // module root
	tmp     string
	timeout time.Duration
	goCmd   string
}

// goTest runs the fast tests of pkg, with the files of overlay (a -overlay JSON file) if any.
func (r *runner) goTest(ctx context.Context, pkg, overlay string) ([]byte, error) {
	// The test binary's own -timeout makes a looping mutant fail with a stack; the context is a
	// backstop for a hung build.
	ctx, cancel := context.WithTimeout(ctx, r.timeout+time.Minute)
	defer cancel()
	args := []string{"test", "-count=1", "-vet=off", "-timeout=" + r.timeout.String()}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	cmd := exec.CommandContext(ctx, r.goCmd, append(args, pkg)...)
	cmd.Dir = r.root
	// Fast tier only: whatever GOFLAGS the caller has, no build tags reach these runs.
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	return out, err
}

func (r *runner) run(ctx context.Context, i int, m Mutation) Result {
	start := time.Now()
	res := Result{Mutation: m}
	src, err := os.ReadFile(filepath.Join(r.root, m.File))
	if err != nil {
		res.Verdict, res.Detail = Stale, "file is gone"
		return res
	}
	mutant, err := mutate(string(src), m)
	if err != nil {
		res.Verdict, res.Detail = Stale, err.Error()
		return res
	}
	dir := filepath.Join(r.tmp, fmt.Sprint(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Verdict, res.Detail = Broken, err.Error()
		return res
	}
	mutantFile := filepath.Join(dir, filepath.Base(m.File))
	overlay, _ := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(r.root, m.File): mutantFile},
	})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := errors.Join(os.WriteFile(mutantFile, []byte(mutant), 0o644), os.WriteFile(overlayFile, overlay, 0o644)); err != nil {
		res.Verdict, res.Detail = Broken, err.Error()
		return res
	}
	out, testErr := r.goTest(ctx, m.Package(), overlayFile)
	res.Verdict, res.Detail = verdict(testErr, out)
	res.Elapsed = time.Since(start)
	return res
}

func moduleRoot(goCmd string) (string, error) {
	out, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

func main() {
	runRE := flag.String("run", "", "only mutations whose id matches this regular expression")
	jobs := flag.Int("j", 2, "mutations tested at once")
	timeout := flag.Duration("timeout", 2*time.Minute, "per-mutation test timeout")
	md := flag.Bool("md", false, "print the results as a Markdown table")
	listOnly := flag.Bool("list", false, "print the mutations and whether each still applies (stale), without testing")
	flag.Parse()
	os.Exit(mainErr(os.Stdout, *runRE, *jobs, *timeout, *md, *listOnly))
}

func mainErr(w io.Writer, runRE string, jobs int, timeout time.Duration, md, listOnly bool) int {
	if err := check(List); err != nil {
		fmt.Fprintln(w, "mutants: the list has mistakes:\n"+err.Error())
		return 2
	}
	re, err := regexp.Compile(runRE)
	if err != nil {
		fmt.Fprintln(w, "mutants: -run:", err)
		return 2
	}
	var chosen []Mutation
	for _, m := range List {
		if re.MatchString(m.ID) {
			chosen = append(chosen, m)
		}
	}
	r := &runner{timeout: timeout, goCmd: "go"}
	if r.root, err = moduleRoot(r.goCmd); err != nil {
		fmt.Fprintln(w, "mutants:", err)
		return 2
	}
	if listOnly {
		return list(w, r.root, chosen)
	}
	if r.tmp, err = os.MkdirTemp("", "mutants-"); err != nil {
		fmt.Fprintln(w, "mutants:", err)
		return 2
	}
	defer os.RemoveAll(r.tmp)
	ctx := context.Background()
	begin := time.Now()

	// The unmutated tests must pass, or every mutation would look killed.
	var pkgs []string
	for _, m := range chosen {
		if !slices.Contains(pkgs, m.Package()) {
			pkgs = append(pkgs, m.Package())
		}
	}
	fmt.Fprintf(w, "mutants: %d mutations in %d packages; checking the unmutated tests pass\n", len(chosen), len(pkgs))
	if err := r.baseline(ctx, w, pkgs, jobs); err != nil {
		fmt.Fprintln(w, "mutants:", err)
		return 2
	}

	results := make([]Result, len(chosen))
	var mu sync.Mutex
	done := 0
	forEach(len(chosen), jobs, func(i int) {
		res := r.run(ctx, i, chosen[i])
		mu.Lock()
		defer mu.Unlock()
		results[i] = res
		done++
		fmt.Fprintf(w, "[%2d/%d] %-8s %-38s %5.1fs  %s\n", done, len(chosen), res.Verdict, res.ID, res.Elapsed.Seconds(), res.Detail)
	})
	code := report(w, results, md)
	fmt.Fprintf(w, "mutants: %s in all, -j %d\n", time.Since(begin).Round(time.Second), jobs)
	return code
}

// list prints each mutation and whether it still applies, without running any test.
func list(w io.Writer, root string, ms []Mutation) int {
	stale := 0
	for _, m := range ms {
		state := "ok"
		src, err := os.ReadFile(filepath.Join(root, m.File))
		if err == nil {
			_, err = mutate(string(src), m)
		}
		if err != nil {
			state, stale = "stale: "+err.Error(), stale+1
		}
		fmt.Fprintf(w, "%-38s %-40s %s\n", m.ID, m.File, state)
	}
	fmt.Fprintf(w, "mutants: %d listed, %d stale\n", len(ms), stale)
	if stale > 0 {
		return 1
	}
	return 0
}

func (r *runner) baseline(ctx context.Context, w io.Writer, pkgs []string, jobs int) error {
	var mu sync.Mutex
	var failed []string
	forEach(len(pkgs), jobs, func(i int) {
		if out, err := r.goTest(ctx, pkgs[i], ""); err != nil {
			mu.Lock()
			failed = append(failed, pkgs[i]+":\n"+string(out))
			mu.Unlock()
		}
	})
	if len(failed) > 0 {
		return fmt.Errorf("the unmutated tests fail; fix them first:\n%s", strings.Join(failed, "\n"))
	}
	return nil
}

// forEach calls f(0..n-1) on at most jobs goroutines.
func forEach(n, jobs int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(jobs, 1) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// report prints the survivors and the kill rate, and returns the exit code: 0 when every
// mutation is killed or an expected (equivalent) survivor, 1 otherwise.
func report(w io.Writer, results []Result, md bool) int {
	count := map[string]int{}
	var unexpected []Result
	equivalentSurvivors := 0
	for _, r := range results {
		count[r.Verdict]++
		switch {
		case r.Verdict == Survived && r.Equivalent != "":
			equivalentSurvivors++
		case r.Verdict == Survived || r.Verdict == Stale || r.Verdict == Broken:
			unexpected = append(unexpected, r)
		}
	}
	if md {
		fmt.Fprintln(w, "\n| Mutation | File | Verdict | Killed by / why it survives |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, r := range results {
			detail := r.Detail
			if r.Verdict == Survived {
				detail = r.Equivalent
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.ID, r.File, r.Verdict, strings.ReplaceAll(detail, "|", `\|`))
		}
	}
	if len(unexpected) > 0 {
		fmt.Fprintln(w, "\nNeeds attention:")
		for _, r := range unexpected {
			fmt.Fprintf(w, "  %-8s %s (%s): %s\n", r.Verdict, r.ID, r.File, r.Why)
			if r.Detail != "" {
				fmt.Fprintf(w, "           %s\n", r.Detail)
			}
		}
	}
	judged := count[Killed] + count[Survived]
	rate := 0.0
	if judged > 0 {
		rate = 100 * float64(count[Killed]) / float64(judged)
	}
	fmt.Fprintf(w, "\nmutants: %d killed, %d survived (%d equivalent), %d stale, %d broken: kill rate %d/%d = %.1f%%\n",
		count[Killed], count[Survived], equivalentSurvivors, count[Stale], count[Broken], count[Killed], judged, rate)
	if len(unexpected) > 0 {
		return 1
	}
	return 0
}
