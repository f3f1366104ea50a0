// Command local serves the HTTPS API on a loopback port with no AWS account and no Docker: the
// same handler as the Lambda, behind net/http. Without RECOGNITION_TOKEN or TOKEN_SECRET_ID it
// starts the upstream emulator (a development tool) in-process and says so.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/app"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	allowHosts := flag.String("allow-hosts", "", "comma-separated host names accepted in Host and Origin besides localhost and the listening address (* for any): the server spends a real token, so pages and names it does not know are refused")
	concurrent := flag.Int("concurrent", runtime.NumCPU(), "requests served at once; more wait their turn, so a burst of costly pictures cannot take all the memory")
	memoryMB := flag.Int("memory-mb", 2048, "memory the server's memory budget is sized from, as a Lambda function's (AWS_LAMBDA_FUNCTION_MEMORY_SIZE): three quarters of it, less 18 MB for each request served at once")
	flag.Parse()
	log := app.NewLogger(os.Stderr)
	ln, err := listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	getenv, stopEmulator, err := emulator.ForLocalRun(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer stopEmulator()
	if os.Getenv("AUTH_MODE") == "" {
		fmt.Fprintln(os.Stderr, "Caller authentication is OFF for this local run (AUTH_MODE=off); set AUTH_MODE=keys and CLIENT_KEYS_SECRET_ID to try it.")
		withAuth := getenv
		getenv = func(k string) string {
			if k == "AUTH_MODE" {
				return "off"
			}
			return withAuth(k)
		}
	}
	getenv = asLambda(getenv, *memoryMB, *concurrent)
	awsCfg, err := app.AWS(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "aws configuration:", err)
		os.Exit(1)
	}
	server := app.NewAPI(getenv, awsCfg, log, io.Discard) // no CloudWatch locally
	srv := &http.Server{
		Addr:              *addr,
		Handler:           newGuard(routes(server), *addr, strings.Split(*allowHosts, ","), *concurrent),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(os.Stderr, "Serving POST http://%s%s (and %s); the playground at http://%s/ and the contract at /openapi.json\n", *addr, api.RecognizePath, api.UpstreamPath, *addr)
	if getenv("AUTH_MODE") != "iam" {
		fmt.Fprintf(os.Stderr, "Solver protocol clients (createTask, in.php/res.php): give them http://%s as their base URL\n", *addr)
	}
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// adapter serves the API through net/http.
type adapter struct{ api wire.Server }

func (a adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read one byte past the limit so the API can answer 413 itself.
	body, err := readBody(r.Body, r.ContentLength, int64(app.MaxBodyBytes)+1)
	if err != nil {
		body = nil
	}
	query, queryErr := url.ParseQuery(r.URL.RawQuery)
	resp := a.api.Serve(r.Context(), wire.Request{
		Method: r.Method, Path: r.URL.Path, Header: asGateway(r.Header), Query: query, QueryError: queryErr, Body: body,
	})
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// asGateway is the request's header as API Gateway hands it to the function: a header sent twice
// is one value, joined with a comma. Read any other way, the local server would take the first
// of two Authorization or Content-Type headers where the function refuses the joined value.
func asGateway(h http.Header) http.Header {
	joined := make(http.Header, len(h))
	for name, values := range h {
		joined[name] = []string{strings.Join(values, ",")}
	}
	return joined
}

// readBody reads at most limit bytes; with a Content-Length (sizeHint) the buffer is allocated
// once at its size, where io.ReadAll would grow it by doubling.
func readBody(r io.Reader, sizeHint, limit int64) ([]byte, error) {
	if sizeHint < 0 || sizeHint >= limit {
		sizeHint = 0
	}
	// ReadFrom grows the buffer only when less than MinRead bytes are free.
	buf := bytes.NewBuffer(make([]byte, 0, sizeHint+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(r, limit)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// asLambda is getenv with the memory and the requests served at once that size the memory
// budget, as Lambda sets them for a function.
func asLambda(getenv func(string) string, memoryMB, concurrent int) func(string) string {
	return func(k string) string {
		switch k {
		case "AWS_LAMBDA_FUNCTION_MEMORY_SIZE":
			return strconv.Itoa(memoryMB)
		case "AWS_LAMBDA_MAX_CONCURRENCY":
			return strconv.Itoa(max(1, concurrent))
		}
		return getenv(k)
	}
}
