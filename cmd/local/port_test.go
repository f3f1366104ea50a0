package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// A second server on a taken port fails at once and names the process holding it.
func TestListenNamesWhatHoldsThePort(t *testing.T) {
	first, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = listen(first.Addr().String())
	if err == nil {
		t.Fatal("a second listen on a taken port succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "already listens there") || !strings.Contains(msg, "-addr") {
		t.Errorf("message %q does not say the port is taken and how to serve elsewhere", msg)
	}
	if _, statErr := os.Stat("/proc/net/tcp"); statErr == nil && !strings.Contains(msg, "process "+strconv.Itoa(os.Getpid())+" ") {
		t.Errorf("message %q does not name this process (%d), which holds the port", msg, os.Getpid())
	}
}
