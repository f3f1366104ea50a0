// Package app is the composition shared by the entry points: configuration from the environment,
// AWS clients, and the wiring of the domain into a ready handler.
package app

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/auth"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/s3scope"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/taskapi"
)

// Config is what both functions read from the environment: how to reach the recognition API and
// where objects live. Each function's own configuration embeds it.
type Config struct {
	RecognitionAPIURL string        // ACEDATA_API_URL, or its alias RECOGNITION_API_URL
	Providers         []Provider    // PROVIDERS (default acedata), each with its base URL
	HedgeAfter        time.Duration // HEDGE_AFTER_MS: also ask the next provider after this long (0: never)
	TokenSecretID     string        // TOKEN_SECRET_ID: secret holding the token (string or {"token": ...})
	RecognitionToken  string        // RECOGNITION_TOKEN: fixed token, overriding the secret (local use)
	ResultsBucket     string        // RESULTS_BUCKET: where results are stored
	ResultsPrefix     string        // RESULTS_PREFIX: key prefix for the S3 path's results (default results/)
	StorePrefix       string        // STORE_PREFIX: key prefix for the HTTPS path's stored answers (default stored/)
	InputPrefix       string        // INPUT_PREFIX: key prefix the S3 path reads (default incoming/)
	EndpointSet       bool          // AWS_ENDPOINT_URL(_S3) is set: an emulator, so path-style S3
	SecretFailureTTL  time.Duration // SECRET_FAILURE_TTL: how long a missing or malformed secret is remembered (default 30s)
	Accuracy          Accuracy      // MIN_CONFIDENCE, CONSENSUS, PROVIDER_ORDER, PROVIDER_PRICES
}

// Provider is one recognition provider of the chain, in PROVIDERS order.
type Provider struct {
	Name string // acedata, capsolver, yescaptcha, capmonster
	URL  string // <NAME>_API_URL, or the provider's public endpoint
}

// providerKind is what the composition root needs to know of one provider: its base URL variable
// and default, and how to build its adapter. alone is true when it is the chain's only member.
type providerKind struct {
	env, def string
	build    func(url string, hc *http.Client, tokens secrets.Source, alone bool) recognition.Provider
}

// providerKinds holds every provider PROVIDERS may name.
var providerKinds = map[string]providerKind{
	"acedata":    {"ACEDATA_API_URL", acedata.DefaultURL, newAceData},
	"capsolver":  {"CAPSOLVER_API_URL", taskapi.DefaultURL[taskapi.CapSolver], newTaskAPI(taskapi.CapSolver)},
	"yescaptcha": {"YESCAPTCHA_API_URL", taskapi.DefaultURL[taskapi.YesCaptcha], newTaskAPI(taskapi.YesCaptcha)},
	"capmonster": {"CAPMONSTER_API_URL", taskapi.DefaultURL[taskapi.CapMonster], newTaskAPI(taskapi.CapMonster)},
}

func newAceData(url string, hc *http.Client, tokens secrets.Source, alone bool) recognition.Provider {
	c := acedata.New(url, hc, tokens)
	if !alone {
		c.MaxAttempts = 1 // the next provider is the retry, and the breaker counts each failure
	}
	return c
}

func newTaskAPI(kind taskapi.Kind) func(string, *http.Client, secrets.Source, bool) recognition.Provider {
	return func(url string, hc *http.Client, tokens secrets.Source, _ bool) recognition.Provider {
		return taskapi.New(kind, url, hc, tokens)
	}
}

// APIConfig is the HTTPS function's configuration.
type APIConfig struct {
	Config
	Sources          s3scope.Scopes // SOURCE_BUCKETS: "bucket" or "bucket/prefix/" entries s3 references may read
	AuthMode         string         // AUTH_MODE: keys, iam or off (required, no default)
	ClientKeysSecret string         // CLIENT_KEYS_SECRET_ID: secret of client keys, for AUTH_MODE=keys
	// TASK_ID_SECRET_ID: the secret the solver protocols' task ids are enciphered under; unset,
	// each process draws its own and reads only the ids it issued (make run).
	TaskIDSecret string
	Idempotency  IdempotencyConfig
}

// UploadsConfig is the S3 function's configuration.
type UploadsConfig struct {
	Config
}

// APIConfigFromEnv reads and checks the HTTPS function's configuration, whole: every problem is
// named in the one error. region is the SDK's; it is needed only when a setting reaches AWS.
func APIConfigFromEnv(getenv func(string) string, region string) (APIConfig, error) {
	c, problems := readCommon(getenv)
	a := APIConfig{Config: c,
		AuthMode:         strings.TrimSpace(getenv("AUTH_MODE")),
		ClientKeysSecret: strings.TrimSpace(getenv("CLIENT_KEYS_SECRET_ID")),
		TaskIDSecret:     strings.TrimSpace(getenv("TASK_ID_SECRET_ID")),
	}
	sources, err := s3scope.Parse(getenv("SOURCE_BUCKETS"))
	if err != nil {
		problems = append(problems, "SOURCE_BUCKETS: "+err.Error())
	}
	a.Sources = sources
	var idem []string
	a.Idempotency, idem = readIdempotency(getenv, c)
	problems = append(problems, idem...)
	switch a.AuthMode {
	case auth.ModeKeys:
		if a.ClientKeysSecret == "" {
			problems = append(problems, "AUTH_MODE=keys needs CLIENT_KEYS_SECRET_ID")
		}
	case auth.ModeIAM, auth.ModeOff:
	default:
		problems = append(problems, fmt.Sprintf("AUTH_MODE must be keys, iam or off, not %q", a.AuthMode))
	}
	// A reference scope over the bucket where answers are written would let any caller read
	// other callers' answers (and the S3 path's inputs).
	for _, sc := range a.Sources {
		if sc.Bucket != c.ResultsBucket {
			continue
		}
		for _, p := range append(c.prefixes(), namedPrefix{"IDEMPOTENCY_PREFIX", a.Idempotency.Prefix}) {
			if s3scope.Overlap(sc.Prefix, p.value) {
				problems = append(problems, fmt.Sprintf("SOURCE_BUCKETS entry %s overlaps %s of RESULTS_BUCKET: name a prefix of its own (%s/references/)", sc, p.name, sc.Bucket))
			}
		}
	}
	needsAWS := c.RecognitionToken == "" || len(a.Sources) > 0 || c.ResultsBucket != "" || a.ClientKeysSecret != "" || a.TaskIDSecret != ""
	return a, finish(problems, needsAWS, region)
}

// UploadsConfigFromEnv reads and checks the S3 function's configuration, whole.
func UploadsConfigFromEnv(getenv func(string) string, region string) (UploadsConfig, error) {
	c, problems := readCommon(getenv)
	return UploadsConfig{Config: c}, finish(problems, true, region)
}

// finish adds the region's problem, if AWS is needed, and joins every problem into one error.
func finish(problems []string, needsAWS bool, region string) error {
	if needsAWS && region == "" {
		problems = append(problems, "AWS_REGION is not set: Lambda sets it; for a local run, export AWS_REGION (for example us-east-1)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("configuration: %w", errors.New(strings.Join(problems, "; ")))
	}
	return nil
}

type namedPrefix struct{ name, value string }

func (c Config) prefixes() []namedPrefix {
	return []namedPrefix{{"INPUT_PREFIX", c.InputPrefix}, {"RESULTS_PREFIX", c.ResultsPrefix}, {"STORE_PREFIX", c.StorePrefix}}
}

// readCommon reads the settings both functions share and lists what is wrong with them.
func readCommon(getenv func(string) string) (Config, []string) {
	c := Config{
		TokenSecretID:    strings.TrimSpace(getenv("TOKEN_SECRET_ID")),
		RecognitionToken: strings.TrimSpace(getenv("RECOGNITION_TOKEN")),
		ResultsBucket:    strings.TrimSpace(getenv("RESULTS_BUCKET")),
		ResultsPrefix:    orDefault(getenv("RESULTS_PREFIX"), "results/"),
		InputPrefix:      orDefault(getenv("INPUT_PREFIX"), "incoming/"),
		StorePrefix:      orDefault(getenv("STORE_PREFIX"), "stored/"),
		EndpointSet:      getenv("AWS_ENDPOINT_URL") != "" || getenv("AWS_ENDPOINT_URL_S3") != "",
		SecretFailureTTL: secrets.DefaultFailureTTL,
	}
	var problems []string
	c.RecognitionAPIURL, problems = readAceDataURL(getenv)
	var more []string
	c.Providers, more = readProviders(getenv, c.RecognitionAPIURL)
	problems = append(problems, more...)
	problems = append(problems, c.readTimings(getenv)...)
	c.Accuracy, more = readAccuracy(getenv, c.Providers)
	problems = append(problems, more...)
	switch {
	case c.TokenSecretID == "" && c.RecognitionToken == "":
		problems = append(problems, "TOKEN_SECRET_ID (or RECOGNITION_TOKEN, for local use) must be set")
	case c.RecognitionToken != "":
		if _, err := secrets.ParseTokens(c.RecognitionToken); err != nil {
			problems = append(problems, "RECOGNITION_TOKEN must be a token, or a JSON object of tokens by provider name")
		}
	}
	return c, append(problems, c.checkPrefixes()...)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// readAceDataURL reads ACEDATA_API_URL, or RECOGNITION_API_URL, its alias, which deployments
// made for one provider set; both set differently is a problem.
func readAceDataURL(getenv func(string) string) (string, []string) {
	u := strings.TrimSpace(getenv("ACEDATA_API_URL"))
	var problems []string
	if alias := strings.TrimSpace(getenv("RECOGNITION_API_URL")); alias != "" {
		if u != "" && u != alias {
			problems = append(problems, "ACEDATA_API_URL and RECOGNITION_API_URL (its alias) are both set, differently: set one")
		}
		u = alias
	}
	return orDefault(u, acedata.DefaultURL), problems
}

// readProviders reads PROVIDERS (default acedata) and each named provider's base URL.
func readProviders(getenv func(string) string, aceDataURL string) ([]Provider, []string) {
	var providers []Provider
	var problems []string
	seen := map[string]bool{}
	for _, n := range strings.Split(orDefault(strings.TrimSpace(getenv("PROVIDERS")), "acedata"), ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		kind, known := providerKinds[n]
		switch {
		case !known:
			problems = append(problems, fmt.Sprintf("PROVIDERS: %q is not one of acedata, capsolver, yescaptcha, capmonster", apierr.Clip(n, 40)))
			continue
		case seen[n]:
			problems = append(problems, fmt.Sprintf("PROVIDERS names %s twice", n))
			continue
		}
		seen[n] = true
		p, variable := Provider{Name: n, URL: orDefault(strings.TrimSpace(getenv(kind.env)), kind.def)}, kind.env
		if n == "acedata" {
			p.URL, variable = aceDataURL, "ACEDATA_API_URL (or its alias RECOGNITION_API_URL)"
		}
		if pu, err := url.Parse(p.URL); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			problems = append(problems, variable+" must be an http(s) URL")
		}
		providers = append(providers, p)
	}
	return providers, problems
}

// readTimings reads HEDGE_AFTER_MS and SECRET_FAILURE_TTL.
func (c *Config) readTimings(getenv func(string) string) []string {
	var problems []string
	if v := strings.TrimSpace(getenv("HEDGE_AFTER_MS")); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 || ms > 29000 {
			problems = append(problems, "HEDGE_AFTER_MS must be a whole number of milliseconds from 0 (off) to 29000")
		}
		c.HedgeAfter = time.Duration(ms) * time.Millisecond
	}
	if v := strings.TrimSpace(getenv("SECRET_FAILURE_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Minute {
			problems = append(problems, "SECRET_FAILURE_TTL must be a duration from 0s to 5m, such as 30s")
		}
		c.SecretFailureTTL = d
	}
	return problems
}

// checkPrefixes holds each area to a folder of its own. Results written under the input prefix
// would trigger the S3 function again (a loop); an upload or a result landing among the stored
// answers would overwrite one.
func (c Config) checkPrefixes() []string {
	var problems []string
	prefixes := c.prefixes()
	for i, p := range prefixes {
		if err := s3scope.CheckPrefix(p.value); err != nil {
			problems = append(problems, p.name+": "+err.Error())
		}
		for _, q := range prefixes[i+1:] {
			if s3scope.Overlap(p.value, q.value) {
				problems = append(problems, fmt.Sprintf("%s (%s) and %s (%s) must not contain one another", p.name, p.value, q.name, q.value))
			}
		}
	}
	return problems
}

// IdempotencyConfig is where and how long the HTTPS function keeps answers to requests with an
// Idempotency-Key.
type IdempotencyConfig struct {
	Prefix string        // IDEMPOTENCY_PREFIX: the records' folder in RESULTS_BUCKET (default idempotency/)
	TTL    time.Duration // IDEMPOTENCY_TTL: how long an answer is kept for a repeat (default 24h)
}

// readIdempotency reads the Idempotency-Key settings. Its folder is apart from every other: a
// record under the input prefix would trigger the S3 function, and one among results or stored
// answers could overwrite them.
func readIdempotency(getenv func(string) string, c Config) (IdempotencyConfig, []string) {
	ic := IdempotencyConfig{Prefix: getenv("IDEMPOTENCY_PREFIX"), TTL: 24 * time.Hour}
	var problems []string
	if ic.Prefix == "" {
		ic.Prefix = "idempotency/"
	}
	if err := s3scope.CheckPrefix(ic.Prefix); err != nil {
		problems = append(problems, "IDEMPOTENCY_PREFIX: "+err.Error())
	}
	for _, p := range c.prefixes() {
		if s3scope.Overlap(ic.Prefix, p.value) {
			problems = append(problems, fmt.Sprintf("IDEMPOTENCY_PREFIX (%s) and %s (%s) must not contain one another", ic.Prefix, p.name, p.value))
		}
	}
	if v := strings.TrimSpace(getenv("IDEMPOTENCY_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 30*24*time.Hour {
			problems = append(problems, "IDEMPOTENCY_TTL must be a duration from 1s to 720h, such as 24h")
		}
		ic.TTL = d
	}
	return ic, problems
}
