package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// dependencySizes attributes the api function's code and read-only data (go tool nm -size, on a
// build without -s -w) to the modules listed by go version -m: roughly what each dependency adds.
// The pclntab is not a symbol of any package, so it is left out of the shares.
func dependencySizes(dir string) string {
	bin := filepath.Join(dir, "api-symbols")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, "./functions/api")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if b, err := cmd.CombinedOutput(); err != nil {
		fail("build api with symbols: " + string(b))
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	check(err)
	var modules []string
	for _, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "mod" || f[0] == "dep") {
			modules = append(modules, f[1])
		}
	}
	sort.Slice(modules, func(i, j int) bool { return len(modules[i]) > len(modules[j]) }) // longest prefix first
	nm, err := exec.Command("go", "tool", "nm", "-size", bin).Output()
	check(err)
	bytesBy := map[string]int64{}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(nm))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.ContainsAny(f[2], "TRr") { // code and read-only data: what fills the file
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		owner := "standard library and runtime"
		name := strings.Join(f[3:], " ")
		if strings.HasPrefix(name, "go:func.") || strings.HasPrefix(name, "runtime.") && !strings.Contains(name, "(") && size > 100_000 {
			owner = "tables no package owns (funcdata)"
		}
		for _, prefix := range []string{"type:", "go:itab.", "*"} {
			name = strings.TrimPrefix(name, prefix)
		}
		for _, m := range modules {
			if strings.HasPrefix(name, m+".") || strings.HasPrefix(name, m+"/") {
				owner = m
				break
			}
		}
		bytesBy[owner] += size
		total += size
	}
	st, err := os.Stat(bin)
	check(err)
	owners := make([]string, 0, len(bytesBy))
	for o := range bytesBy {
		owners = append(owners, o)
	}
	sort.Slice(owners, func(i, j int) bool { return bytesBy[owners[i]] > bytesBy[owners[j]] })
	var b strings.Builder
	fmt.Fprintf(&b, "\nWhat each module adds to the api function: the sizes of its symbols (`go tool nm -size` on the same build without `-s -w`, %.1f MB, code and read-only data symbols: %.1f MB; the rest is mostly the line table, the symbol table and DWARF, the last two of which the shipped binary drops). Modules under 50 KB are summed in the last row.\n\n| module | KB | share |\n|---|---:|---:|\n",
		float64(st.Size())/1e6, float64(total)/1e6)
	var small int64
	for _, o := range owners {
		if bytesBy[o] < 50_000 {
			small += bytesBy[o]
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f%% |\n", o, bytesBy[o]/1000, 100*float64(bytesBy[o])/float64(total))
	}
	fmt.Fprintf(&b, "| (others) | %d | %.0f%% |\n", small/1000, 100*float64(small)/float64(total))
	return b.String()
}
