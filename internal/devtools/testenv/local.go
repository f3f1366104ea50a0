package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Local is a running `make run` binary (cmd/local): the API, the contract and the playground on
// a loopback port, with the upstream emulator.
type Local struct {
	URL string
	Log *SyncBuffer
	cmd *exec.Cmd
}

// BuildLocal compiles cmd/local into dir.
func BuildLocal(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "local")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/recaptcha-recognizer/recognizer/cmd/local").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/local: %v\n%s", err, out)
	}
	return bin, nil
}

// StartLocal starts bin with only PATH, HOME and env in its environment, as a user would start
// it, and waits until it listens.
func StartLocal(bin string, env ...string) (*Local, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	l := &Local{URL: "http://" + addr, Log: &SyncBuffer{}}
	l.cmd = exec.Command(bin, "-addr", addr)
	l.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
	l.cmd.Stderr = l.Log
	if err := l.cmd.Start(); err != nil {
		return nil, err
	}
	if err := WaitListening(addr, 20*time.Second); err != nil {
		l.Close()
		return nil, fmt.Errorf("the local server did not start: %v\n%s", err, l.Log.String())
	}
	return l, nil
}

// Close stops the server.
func (l *Local) Close() {
	l.cmd.Process.Kill()
	l.cmd.Wait()
}
