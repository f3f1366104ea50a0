package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// ForLocalRun returns the environment lookup for a local run (`make run`, `make invoke`): when
// neither RECOGNITION_TOKEN nor TOKEN_SECRET_ID is set, it starts an emulator on a loopback port
// with a random token, says so plainly on w, and points the configuration at it. stop ends it.
func ForLocalRun(w io.Writer) (getenv func(string) string, stop func(), err error) {
	if os.Getenv("RECOGNITION_TOKEN") != "" || os.Getenv("TOKEN_SECRET_ID") != "" {
		return os.Getenv, func() {}, nil
	}
	var b [16]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	srv, err := New(tok).Start("127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("start the upstream emulator: %w", err)
	}
	fmt.Fprintf(w, "No RECOGNITION_TOKEN or TOKEN_SECRET_ID: using the built-in upstream EMULATOR at %s.\n"+
		"It is a development tool: answers are synthetic (it finds each label's signature colour, not real objects).\n"+
		"Set RECOGNITION_TOKEN to call the real recognition API.\n", srv.URL)
	return func(k string) string {
		switch k {
		case "RECOGNITION_TOKEN":
			return tok
		case "RECOGNITION_API_URL":
			return srv.URL
		}
		return os.Getenv(k)
	}, func() { srv.Close() }, nil
}
