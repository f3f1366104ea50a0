package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// samRunner hands events to `sam local invoke` instead of the bootstrap: command is the SAM CLI
// and its flags up to the function's name (make sam-local gives python3 .ci/sam.py local invoke
// with the local image and network flags), to which each run adds the logical id, -e and
// --env-vars. The function then runs in a container, on what `sam build` built.
type samRunner struct {
	command []string
}

// samEnvVars writes the --env-vars file of one run: e's values of the variables the template
// declares for the function, the only ones `sam local invoke` passes to it.
func (s *session) samEnvVars(f fixture, e env) (string, error) {
	id := logicalIDs[f.function]
	declared, err := declaredVariables(s.cfg.template, id)
	if err != nil {
		return "", err
	}
	vars := map[string]string{}
	for k := range declared {
		if v, ok := e[k]; ok {
			vars[k] = v
		}
	}
	b, err := json.MarshalIndent(map[string]map[string]string{id: vars}, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.dir, strings.TrimSuffix(filepath.Base(f.path), ".json")+"-env.json")
	return path, os.WriteFile(path, b, 0o600)
}

// samShell is the SAM CLI's own environment for a run: this shell's, with e's region,
// credentials and endpoints, which the SAM CLI hands the function (its AWS_* variables come from
// the SAM CLI's session, and .ci/sam.py passes AWS_ENDPOINT_URL* on in the host's network).
func samShell(e env) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		if v := e.get(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return append(out, "SAM_CLI_TELEMETRY=0")
}

// invoke runs f through the SAM CLI. The answer is what it prints on stdout; everything else
// (its own lines, the function's logs) is the output.
func (r samRunner) invoke(ctx context.Context, s *session, f fixture, e env) (outcome, error) {
	envVars, err := s.samEnvVars(f, e)
	if err != nil {
		return outcome{}, err
	}
	args := append(append([]string{}, r.command[1:]...), logicalIDs[f.function], "-e", f.path, "--env-vars", envVars)
	s.note("running: %s %s", r.command[0], strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, r.command[0], args...)
	cmd.Env = samShell(e)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	o := outcome{output: stderr.String()}
	payload := bytes.TrimSpace(stdout.Bytes())
	switch {
	case runErr != nil:
		o.err = fmt.Errorf("%s: %v", r.command[0], runErr)
	case len(payload) == 0:
		o.err = fmt.Errorf("%s printed no answer", r.command[0])
	case functionError(payload):
		o.fnError = payload
	default:
		o.payload = payload
	}
	return o, nil
}

// functionError tells the SAM CLI's print of an error the function reported
// ({"errorMessage", "errorType"}) from an answer.
func functionError(payload []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(payload, &doc) != nil {
		return false
	}
	_, typ := doc["errorType"]
	_, msg := doc["errorMessage"]
	return typ && msg && len(doc) <= 3
}

// serve runs command (make sam-api: the SAM CLI's local start-api and its flags) with the HTTPS
// function's local stand-ins behind it, as a run of one of its events would have them (the
// emulator, moto with the buckets env.json names, AUTH_MODE off unless set), until command exits
// or this process is interrupted; then it stops them.
func serve(ctx context.Context, cfg config, command []string, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "invoke")
	if err != nil {
		return err
	}
	s := &session{cfg: cfg, stdout: stdout, stderr: stderr, dir: dir, bins: map[string]string{}, said: map[string]bool{}}
	defer s.close()
	f := fixture{path: "start-api", function: "api"}
	e, err := s.environment(ctx, f)
	if err != nil {
		return err
	}
	envVars, err := s.samEnvVars(f, e)
	if err != nil {
		return err
	}
	args := append(append([]string{}, command[1:]...), "--env-vars", envVars)
	s.note("running: %s %s", command[0], strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, command[0], args...)
	cmd.Env = samShell(e)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// The SAM CLI stops its containers when interrupted, not when killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil
	}
	return err
}
