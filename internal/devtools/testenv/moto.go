// Package testenv starts the real servers the end-to-end tests run against: moto_server for S3
// and Secrets Manager, and a freshly built function binary.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Moto is a running moto_server.
type Moto struct {
	URL string
	cmd *exec.Cmd
}

// StartMoto runs moto_server on a free loopback port and waits until it answers.
func StartMoto() (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH: install it with pip install 'moto[server]>=5,<6' (.ci/run does)")
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	// moto reads the caller's AWS profile; a profile set in a developer's shell (even empty)
	// makes its Secrets Manager answer 500.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_PROFILE=") && !strings.HasPrefix(kv, "AWS_DEFAULT_PROFILE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &Moto{URL: "http://" + addr, cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(m.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return m, nil
		}
	}
	m.Close()
	return nil, fmt.Errorf("moto_server did not start on port %s within 30s", port)
}

// Reset clears every resource.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Close stops moto_server.
func (m *Moto) Close() {
	m.cmd.Process.Kill()
	m.cmd.Wait()
}

// AWSConfig is an SDK configuration for endpoint with dummy credentials.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// AWSEnv is the environment a function needs to reach endpoint as moto.
func AWSEnv(endpoint string) []string {
	return []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL=" + endpoint}
}

// Build compiles the function in pkg (an import path below the module) as a bootstrap binary in
// dir, the way the Makefile builds it for Lambda but for this machine's architecture.
func Build(ctx context.Context, pkg, dir string) (string, error) {
	return build(ctx, pkg, dir, "CGO_ENABLED=0")
}

// BuildRace is Build with the race detector (which needs cgo): a data race in the function is
// printed on its stderr ("WARNING: DATA RACE") when it happens.
func BuildRace(ctx context.Context, pkg, dir string) (string, error) {
	return build(ctx, pkg, dir, "CGO_ENABLED=1", "-race")
}

func build(ctx context.Context, pkg, dir, cgo string, flags ...string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	args := append([]string{"build", "-trimpath", "-tags", "lambda.norpc", "-o", out}, flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), cgo, "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// Main is TestMain for a function's end-to-end tests: it builds pkg as a bootstrap, starts
// moto_server and an AWSProxy in front of it, runs the tests, and cleans up. A missing
// moto_server fails loudly.
func Main(m interface{ Run() int }, pkg string, bootstrap *string, moto **Moto, proxy **AWSProxy) int {
	dir, err := os.MkdirTemp("", "e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bootstrap, err = Build(context.Background(), pkg, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *moto, err = StartMoto(); err != nil {
		fmt.Fprintln(os.Stderr, "end-to-end tests need moto_server:", err)
		return 1
	}
	defer (*moto).Close()
	*proxy = StartAWSProxy((*moto).URL)
	defer (*proxy).Close()
	return m.Run()
}
