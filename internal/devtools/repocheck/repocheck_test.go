// Package repocheck holds rules about the repository itself rather than about the code.
package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedBytes is the largest file the repository keeps: pictures for tests are generated in
// test code, and build outputs are never committed.
const maxTrackedBytes = 1 << 20

// executableMagic are the first bytes of the executable formats Go builds.
var executableMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'},    // Linux
	{0xcf, 0xfa, 0xed, 0xfe}, // macOS, 64-bit
	{'M', 'Z'},               // Windows
	{0xca, 0xfe, 0xba, 0xbe}, // macOS universal
	{0xfe, 0xed, 0xfa, 0xcf}, // macOS, big-endian
}

func TestNoBuildOutputsOrLargeFilesTracked(t *testing.T) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not a git checkout: nothing tracked to check")
	}
	top := strings.TrimSpace(string(root))
	out, err := exec.Command("git", "-C", top, "ls-files", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if problem := checkTracked(filepath.Join(top, name)); problem != "" {
			t.Errorf("%s: %s", name, problem)
		}
	}
}

// checkTracked says what is wrong with keeping the file at path in git, or "".
func checkTracked(path string) string {
	info, err := os.Stat(path)
	if err != nil {
		return "" // deleted in the work tree: git status shows it
	}
	if info.Size() > maxTrackedBytes {
		return "over 1 MB: generate it in test code, or keep it out of git"
	}
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := f.Read(head)
	for _, magic := range executableMagic {
		if bytes.HasPrefix(head[:n], magic) {
			return "an executable binary: a build output, to be ignored rather than committed"
		}
	}
	return ""
}

func TestCheckTracked(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := write("elf", append([]byte{0x7f, 'E', 'L', 'F'}, make([]byte, 100)...)); checkTracked(p) == "" {
		t.Error("an ELF binary passed")
	}
	if p := write("big.txt", bytes.Repeat([]byte("a"), maxTrackedBytes+1)); checkTracked(p) == "" {
		t.Error("a file over 1 MB passed")
	}
	if p := write("ok.go", []byte("package ok\n")); checkTracked(p) != "" {
		t.Error("a small source file was refused")
	}
	if p := write("limit.txt", bytes.Repeat([]byte("a"), maxTrackedBytes)); checkTracked(p) != "" {
		t.Error("a file of exactly 1 MB was refused")
	}
}
