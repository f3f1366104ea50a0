package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// listen takes the address before anything else starts, so a second `make run` says at once
// that the port is taken, and by what, instead of announcing a server it cannot be.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	_, port, _ := net.SplitHostPort(addr)
	holder := "another program"
	if p, _ := strconv.Atoi(port); p > 0 {
		if who := listenerOf(p); who != "" {
			holder = who
		}
	}
	return nil, fmt.Errorf("cannot listen on %s: %s already listens there (is another make run going?); stop it, or serve elsewhere: go run ./cmd/local -addr 127.0.0.1:3001", addr, holder)
}

// listenerOf names the process listening on a TCP port, from /proc (Linux); "" when it cannot
// tell (another system, or a process of another user).
func listenerOf(port int) string {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is hex ip:port; state 0A is LISTEN; field 9 is the socket's inode.
			if len(f) > 9 && f[3] == "0A" && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && inodes[target] {
			pid := strings.Split(fd, "/")[2]
			cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
			name := strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")
			return fmt.Sprintf("process %s (%s)", pid, name)
		}
	}
	return ""
}
