// Command invoke runs one event through a function's real bootstrap, as `sam local invoke` does,
// without Docker or the SAM CLI: it builds the function, serves the Lambda Runtime API on a
// loopback port, hands the binary the event, and prints the answer. Without RECOGNITION_TOKEN or
// TOKEN_SECRET_ID it starts the upstream emulator, as `make run` does.
//
//	go run ./cmd/invoke -function api -event events/api-json.json
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

func main() {
	function := flag.String("function", "api", "function under functions/ (api, s3event)")
	eventFile := flag.String("event", "", "event JSON file")
	timeout := flag.Duration("timeout", 29*time.Second, "the deadline the function sees")
	flag.Parse()
	if err := run(*function, *eventFile, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(function, eventFile string, timeout time.Duration) error {
	if eventFile == "" {
		return fmt.Errorf("-event is required (see events/)")
	}
	event, err := os.ReadFile(eventFile)
	if err != nil {
		return err
	}
	if !json.Valid(event) {
		return fmt.Errorf("%s is not JSON", eventFile)
	}
	dir, err := os.MkdirTemp("", "invoke")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := testenv.Build(context.Background(), "github.com/recaptcha-recognizer/recognizer/functions/"+function, dir)
	if err != nil {
		return err
	}
	getenv, stop, err := emulator.ForLocalRun(os.Stderr)
	if err != nil {
		return err
	}
	defer stop()
	rt, err := runtimeapi.Start()
	if err != nil {
		return err
	}
	defer rt.Close()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_LAMBDA_") {
			env = append(env, kv)
		}
	}
	if os.Getenv("AUTH_MODE") == "" {
		env = append(env, "AUTH_MODE=off") // a local invoke, like sam local invoke with events/env.json
	}
	env = append(env, "RECOGNITION_TOKEN="+getenv("RECOGNITION_TOKEN"), "RECOGNITION_API_URL="+getenv("RECOGNITION_API_URL"))
	proc, err := rt.StartProcess(bin, env)
	if err != nil {
		return err
	}
	defer proc.Kill()
	res, err := rt.Invoke(context.Background(), event, timeout)
	fmt.Fprint(os.Stderr, proc.Output())
	if err != nil {
		return err
	}
	if res.Error != nil {
		fmt.Printf("%s\n", res.Error)
		return fmt.Errorf("the function reported an error (Lambda would retry an asynchronous event)")
	}
	var out bytes.Buffer
	if json.Indent(&out, res.Payload, "", "  ") != nil {
		out.Write(res.Payload)
	}
	fmt.Println(out.String())
	return nil
}
