// Command invoke runs events through a function's real bootstrap, as `sam local invoke` does,
// without Docker or the SAM CLI: it builds the function, serves the Lambda Runtime API on a
// loopback port, hands the binary the event, and prints the function's whole output and its
// answer (or, for an S3 event, the results it wrote).
//
// It sets up what a fixture needs, and says so on stderr:
//   - the function's variables from env.json (-env), as `sam local invoke --env-vars` reads them
//     (by logical id: ApiFunction, S3EventFunction), with this shell's non-empty values winning;
//   - without RECOGNITION_TOKEN or TOKEN_SECRET_ID (in either), the upstream emulator;
//   - without AWS_REGION or AWS_DEFAULT_REGION, us-east-1;
//   - without AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), its own moto_server, with the buckets and
//     objects the fixture names (pictures from -images), stopped at the end; with AUTH_MODE=keys
//     and no CLIENT_KEYS_SECRET_ID, a client-keys secret there holding the fixtures' key;
//   - for the HTTPS function, AUTH_MODE=off when nothing sets it.
//
// A run fails unless every event ends in a 200, or in a solution written for each S3 record.
//
// With no event it runs every events/*.json fixture, each in a fresh process.
//
//	go run ./cmd/invoke events/api-json.json
//	go run ./cmd/invoke                          # every fixture
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/app"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// localRegion is the region of a local run when none is set.
const localRegion = "us-east-1"

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func main() {
	var cfg config
	flag.StringVar(&cfg.function, "function", "", "function under functions/ (api, s3event); default: from each event")
	event := flag.String("event", "", "event JSON file (or name them as arguments); none: every events/*.json")
	flag.StringVar(&cfg.envFile, "env", "events/env.json", `variables per function, as for sam local invoke --env-vars ("" for none)`)
	flag.StringVar(&cfg.images, "images", "events/images", "pictures to upload for the objects a fixture names")
	flag.StringVar(&cfg.template, "template", "template.yaml", "the SAM template: the variables it declares (and their literal values)")
	flag.DurationVar(&cfg.timeout, "timeout", 0, "the deadline the function sees; default the template's (api 29s, s3event 60s)")
	samCommand := flag.String("sam", "", "run each event through this SAM CLI command (up to the function's name) instead of the bootstrap: make sam-local")
	serveCommand := flag.String("serve", "", "run this command (sam local start-api and its flags) with the HTTPS function's local emulator and moto behind it, until it ends: make sam-api")
	flag.Parse()
	if f := strings.Fields(*serveCommand); len(f) > 0 {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := serve(ctx, cfg, f, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "invoke:", err)
			os.Exit(1)
		}
		return
	}
	if f := strings.Fields(*samCommand); len(f) > 0 {
		cfg.sam = &samRunner{command: f}
	}
	if *event != "" {
		cfg.events = append(cfg.events, *event)
	}
	cfg.events = append(cfg.events, flag.Args()...)
	if len(cfg.events) == 0 {
		all, err := fixtures("events")
		if err != nil {
			fmt.Fprintln(os.Stderr, "invoke:", err)
			os.Exit(1)
		}
		cfg.events = all
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	reports, err := run(ctx, cfg, os.Stdout, os.Stderr)
	failed := err != nil
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
	}
	for _, r := range reports {
		if r.problem != "" {
			failed = true
		}
	}
	if failed {
		stop()
		os.Exit(1)
	}
}

// fixtures are the event files in dir: every *.json but env.json.
func fixtures(dir string) ([]string, error) {
	all, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range all {
		if filepath.Base(f) != "env.json" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no event files in %s/", dir)
	}
	sort.Strings(out)
	return out, nil
}

// config is one run of the command.
type config struct {
	function string // api or s3event; "" reads it from each event
	envFile  string
	images   string
	template string
	events   []string
	timeout  time.Duration
	sam      *samRunner // nil: the bootstrap under this command's Runtime API
}

// report is how one fixture ended.
type report struct {
	fixture, function string
	status            int               // api: the answer's statusCode
	results           map[string][]byte // s3event: each result written, by s3:// URL
	problem           string            // why it is not a success (a 200, or a solution written for every record); "" if it is
}

// session holds what fixtures share: built binaries, the emulator, moto.
type session struct {
	cfg            config
	stdout, stderr io.Writer
	dir            string
	bins           map[string]string
	moto           *testenv.Moto
	emuEnv         func(string) string
	closers        []func()
	said           map[string]bool
}

// run invokes each event of cfg in turn. An error is a failure to set up; how each fixture ended
// is in its report.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) ([]report, error) {
	if len(cfg.events) == 0 {
		return nil, errors.New("no event file: name one (see events/)")
	}
	var fs []fixture
	for _, path := range cfg.events {
		f, err := readFixture(path, cfg.function)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	dir, err := os.MkdirTemp("", "invoke")
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, stdout: stdout, stderr: stderr, dir: dir, bins: map[string]string{}, said: map[string]bool{}}
	defer s.close()
	var reports []report
	for _, f := range fs {
		if len(fs) > 1 {
			fmt.Fprintf(stderr, "\n== %s (%s)\n", f.path, logicalIDs[f.function])
		}
		r, err := s.invoke(ctx, f)
		if err != nil {
			return reports, fmt.Errorf("%s: %w", f.path, err)
		}
		if r.problem != "" {
			fmt.Fprintf(stderr, "invoke: %s: %s\n", f.path, r.problem)
		}
		reports = append(reports, r)
	}
	if len(fs) > 1 {
		fmt.Fprintln(stderr, "\n== summary")
		for _, r := range reports {
			verdict := "ok"
			if r.problem != "" {
				verdict = "FAILED: " + r.problem
			}
			fmt.Fprintf(stderr, "%-32s %-16s %s\n", r.fixture, logicalIDs[r.function], verdict)
		}
	}
	return reports, nil
}

func (s *session) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	os.RemoveAll(s.dir)
}

func (s *session) note(format string, args ...any) {
	fmt.Fprintf(s.stderr, "invoke: "+format+"\n", args...)
}

// noteOnce says something that holds for the whole run only the first time.
func (s *session) noteOnce(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if !s.said[line] {
		s.said[line] = true
		s.note("%s", line)
	}
}

// binary builds the function once per session.
func (s *session) binary(ctx context.Context, function string) (string, error) {
	if b, ok := s.bins[function]; ok {
		return b, nil
	}
	dir := filepath.Join(s.dir, function)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	b, err := testenv.Build(ctx, "github.com/recaptcha-recognizer/recognizer/functions/"+function, dir)
	if err != nil {
		return "", err
	}
	s.bins[function] = b
	return b, nil
}

// environment is the function's environment for f, with every local stand-in f needs running.
func (s *session) environment(ctx context.Context, f fixture) (env, error) {
	id := logicalIDs[f.function]
	file, err := envFile(s.cfg.envFile, f.function)
	if err != nil {
		return nil, err
	}
	base := map[string]string{}
	if s.cfg.template != "" {
		declared, err := declaredVariables(s.cfg.template, id)
		if err != nil {
			return nil, err
		}
		// sam local invoke starts from the template's values and lets env.json override only
		// what the template declares. Values it would resolve (!Ref a parameter) are left to
		// env.json here.
		for k, v := range declared {
			if !strings.HasPrefix(v, "!") {
				base[k] = v
			}
		}
		for _, k := range sortedKeys(file) {
			if _, ok := declared[k]; !ok {
				s.note("%s sets %s for %s, which %s does not declare: ignored, as sam local invoke would", s.cfg.envFile, k, id, s.cfg.template)
				delete(file, k)
			}
		}
	}
	for k, v := range file {
		base[k] = v
	}
	e := merge(base, os.Environ())
	if s.cfg.envFile != "" {
		s.note("%s's variables from %s (non-empty ones set in this shell win)", id, s.cfg.envFile)
	}
	if e.get("RECOGNITION_TOKEN") == "" && e.get("TOKEN_SECRET_ID") == "" {
		if s.emuEnv == nil {
			// Neither is set in this shell either (it would have won), so this starts the emulator.
			getenv, stop, err := emulator.ForLocalRun(s.stderr)
			if err != nil {
				return nil, err
			}
			s.emuEnv, s.closers = getenv, append(s.closers, stop)
		}
		e["RECOGNITION_TOKEN"], e["RECOGNITION_API_URL"] = s.emuEnv("RECOGNITION_TOKEN"), s.emuEnv("RECOGNITION_API_URL")
	}
	if region(e) == "" {
		e["AWS_REGION"], e["AWS_DEFAULT_REGION"] = localRegion, localRegion
		s.noteOnce("AWS_REGION and AWS_DEFAULT_REGION are unset: using %s", localRegion)
	}
	if e.get("AWS_ENDPOINT_URL") != "" || e.get("AWS_ENDPOINT_URL_S3") != "" {
		s.note("AWS endpoint set (%s): using it as it is; what this event names must be there already:%s", firstSet(e, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), listObjects(f))
	} else if err := s.localAWS(ctx, f, e); err != nil {
		return nil, err
	}
	if f.function == "api" {
		if e.get("AUTH_MODE") == "" {
			e["AUTH_MODE"] = "off"
			s.note("AUTH_MODE is unset: set to off for this local run")
		}
		if e.get("AUTH_MODE") == "off" {
			s.note("AUTH_MODE=off: callers are NOT authenticated in this run (the event's authorization header is ignored); AUTH_MODE=keys CLIENT_KEYS_SECRET_ID=... checks keys")
		}
	}
	return e, nil
}

// localAWS points e at this session's own moto_server (started on first use, emptied for each
// fixture) and creates there the buckets and objects f names.
func (s *session) localAWS(ctx context.Context, f fixture, e env) error {
	if e.get("TOKEN_SECRET_ID") != "" && e.get("RECOGNITION_TOKEN") == "" {
		return errors.New("TOKEN_SECRET_ID is set but AWS_ENDPOINT_URL is not: the secret would be read from this run's own moto_server, where it does not exist. Set RECOGNITION_TOKEN instead, or AWS_ENDPOINT_URL to an emulator that holds the secret")
	}
	if s.moto == nil {
		// moto_server inherits this process's environment, and a profile (even an empty one)
		// that its own boto session cannot find makes its Secrets Manager answer 500.
		for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
			if _, set := os.LookupEnv(k); set {
				os.Unsetenv(k)
				s.note("%s unset for this run's moto_server and functions: a local moto has no profiles", k)
			}
		}
		m, err := testenv.StartMoto()
		if err != nil {
			return err
		}
		s.moto, s.closers = m, append(s.closers, m.Close)
		s.note("AWS_ENDPOINT_URL is unset: started moto_server at %s for this run (stopped at the end)", m.URL)
	} else if err := s.moto.Reset(); err != nil {
		return err
	}
	e["AWS_ENDPOINT_URL"], e["AWS_ACCESS_KEY_ID"], e["AWS_SECRET_ACCESS_KEY"] = s.moto.URL, "test", "test"
	delete(e, "AWS_SESSION_TOKEN")
	delete(e, "AWS_PROFILE")
	delete(e, "AWS_DEFAULT_PROFILE")
	c := s3At(e)
	for _, b := range f.buckets(e) {
		if err := createBucket(ctx, c, b); err != nil {
			return fmt.Errorf("create bucket %s on moto: %w", b, err)
		}
		s.note("created bucket s3://%s", b)
	}
	for _, o := range f.objects {
		pic := sampleFor(s.cfg.images, o.question)
		n, err := putFile(ctx, c, o.bucket, o.key, pic)
		if err != nil {
			return fmt.Errorf("put s3://%s/%s on moto: %w", o.bucket, o.key, err)
		}
		s.note("put s3://%s/%s (%s, %d bytes)", o.bucket, o.key, pic, n)
	}
	if f.function == "api" && e.get("AUTH_MODE") == "keys" {
		if e.get("CLIENT_KEYS_SECRET_ID") != "" {
			s.note("CLIENT_KEYS_SECRET_ID=%s is read from this run's own moto_server, where it does not exist: expect 500 configuration_error (leave it unset for an example key)", e.get("CLIENT_KEYS_SECRET_ID"))
			return nil
		}
		if err := createSecret(ctx, e, localKeysSecret, localKeys); err != nil {
			return fmt.Errorf("create secret %s on moto: %w", localKeysSecret, err)
		}
		e["CLIENT_KEYS_SECRET_ID"] = localKeysSecret
		s.note("AUTH_MODE=keys: created secret %s on moto, %s (the key the fixtures send)", localKeysSecret, localKeys)
	}
	return nil
}

// localKeysSecret holds the client keys of AUTH_MODE=keys on a run's own moto_server: the key
// the fixtures send, so that keys mode can be tried locally (and a changed key is refused).
const (
	localKeysSecret = "local-client-keys"
	localKeys       = `{"example": "example-client-key"}`
)

func firstSet(e env, keys ...string) string {
	for _, k := range keys {
		if v := e.get(k); v != "" {
			return v
		}
	}
	return ""
}

func listObjects(f fixture) string {
	if len(f.objects) == 0 {
		return " nothing"
	}
	var b strings.Builder
	for _, o := range f.objects {
		fmt.Fprintf(&b, " s3://%s/%s", o.bucket, o.key)
	}
	return b.String()
}

// outcome is what one invocation handed back: an answer, an error the function reported, a
// failure to start, or no answer at all.
type outcome struct {
	payload, fnError, initError []byte
	err                         error  // no answer
	output                      string // the function's whole output
}

// runner runs one event through a function: its bootstrap under this command's Runtime API, or
// `sam local invoke` (samRunner). What counts as a success is judged the same for both, in
// session.invoke.
type runner interface {
	invoke(ctx context.Context, s *session, f fixture, e env) (outcome, error)
}

// bootstrapRunner runs the function's bootstrap, built here, in a fresh process per event.
type bootstrapRunner struct{}

func (bootstrapRunner) invoke(ctx context.Context, s *session, f fixture, e env) (outcome, error) {
	bin, err := s.binary(ctx, f.function)
	if err != nil {
		return outcome{}, err
	}
	rt, err := runtimeapi.Start()
	if err != nil {
		return outcome{}, err
	}
	defer rt.Close()
	proc, err := rt.StartProcess(bin, e.list())
	if err != nil {
		return outcome{}, err
	}
	timeout := s.cfg.timeout
	if timeout == 0 {
		if timeout, err = templateTimeout(s.cfg.template, logicalIDs[f.function]); err != nil {
			return outcome{}, err
		}
	}
	res, invokeErr := rt.Invoke(ctx, f.event, timeout)
	// The answer can arrive before the process's last lines have left its pipe: its whole output
	// is known only once it has exited.
	proc.Kill()
	o := outcome{output: proc.Output(), initError: rt.InitError(), err: invokeErr}
	if invokeErr == nil {
		o.payload, o.fnError = res.Payload, res.Error
	}
	return o, nil
}

// invoke runs f through the session's runner and reports how it ended.
func (s *session) invoke(ctx context.Context, f fixture) (report, error) {
	r := report{fixture: f.path, function: f.function}
	e, err := s.environment(ctx, f)
	if err != nil {
		return r, err
	}
	var run runner = bootstrapRunner{}
	if s.cfg.sam != nil {
		run = *s.cfg.sam
	}
	o, err := run.invoke(ctx, s, f, e)
	if err != nil {
		return r, err
	}
	fmt.Fprint(s.stderr, o.output)
	if o.initError != nil {
		r.problem = "the function failed to start: " + string(o.initError)
		return r, nil
	}
	switch {
	case o.err != nil:
		r.problem = "no answer: " + o.err.Error()
	case o.fnError != nil:
		fmt.Fprintf(s.stdout, "%s\n", o.fnError)
		r.problem = "the function reported an error (Lambda would retry an asynchronous event): " + string(o.fnError)
	case f.function == "api":
		s.checkAnswer(ctx, &r, o.payload, e)
	default:
		fmt.Fprintf(s.stdout, "%s\n", o.payload)
		s.checkResults(ctx, &r, f, e)
	}
	return r, nil
}

// checkAnswer prints an HTTP API answer; a success is a 200, and the stored answer when it says
// it stored one ("store": true).
func (s *session) checkAnswer(ctx context.Context, r *report, payload []byte, e env) {
	var out bytes.Buffer
	if json.Indent(&out, payload, "", "  ") != nil {
		out.Write(payload)
	}
	fmt.Fprintln(s.stdout, out.String())
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode == 0 {
		r.problem = "the answer is not an HTTP API response"
		return
	}
	r.status = resp.StatusCode
	if resp.StatusCode != 200 {
		r.problem = fmt.Sprintf("answered %d %s", resp.StatusCode, errorCode([]byte(resp.Body)))
		return
	}
	var body struct{ Result string }
	json.Unmarshal([]byte(resp.Body), &body)
	bucket, key, ok := strings.Cut(strings.TrimPrefix(body.Result, "s3://"), "/")
	if !ok {
		return
	}
	stored, found, err := getObject(ctx, s3At(e), bucket, key)
	switch {
	case err != nil:
		r.problem = err.Error()
	case !found:
		r.problem = "the answer names " + body.Result + ", which does not exist"
	default:
		r.results = map[string][]byte{body.Result: stored}
		fmt.Fprintf(s.stdout, "%s:\n%s\n", body.Result, stored)
	}
}

// checkResults reads and prints the result the S3 function wrote for each record under its
// input prefix; a success is a solution for every one (not an error result).
func (s *session) checkResults(ctx context.Context, r *report, f fixture, e env) {
	cfg, err := app.UploadsConfigFromEnv(e.get, "local") // the region is not what is checked here
	if err != nil {
		r.problem = err.Error()
		return
	}
	c := s3At(e)
	r.results = map[string][]byte{}
	var problems []string
	for _, rec := range f.records {
		rest, ok := strings.CutPrefix(rec.Key, cfg.InputPrefix)
		if !ok {
			continue // the function skips it, as it must
		}
		bucket := cfg.ResultsBucket
		if bucket == "" {
			bucket = rec.Bucket
		}
		key := cfg.ResultsPrefix + rest + ".json"
		url := "s3://" + bucket + "/" + key
		body, found, err := getObject(ctx, c, bucket, key)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
			continue
		case !found:
			problems = append(problems, "no result at "+url)
			continue
		}
		r.results[url] = body
		fmt.Fprintf(s.stdout, "%s:\n%s\n", url, body)
		var doc struct {
			Solution json.RawMessage `json:"solution"`
		}
		if json.Unmarshal(body, &doc) != nil || len(doc.Solution) == 0 || string(doc.Solution) == "null" {
			problems = append(problems, "error result at "+url+": "+errorCode(body))
		}
	}
	r.problem = strings.Join(problems, "; ")
}

// errorCode is the code of an error body in the service's shape.
func errorCode(body []byte) string {
	var doc struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(body, &doc)
	return doc.Error.Code
}
