package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/answerid"
	"github.com/recaptcha-recognizer/recognizer/internal/auth"
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/idempotency"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/protocols"
	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/storage"
	"github.com/recaptcha-recognizer/recognizer/internal/uploads"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// MaxBodyBytes is Lambda's synchronous payload limit: a request body can never be larger, and the
// local server holds to it too.
const MaxBodyBytes = 6 << 20

// NewLogger is the JSON logger every entry point uses: level, time, msg, and the Lambda
// requestId when there is one.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, nil)})
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// AWS builds the SDK configuration. It does no network I/O: credentials and the token are
// resolved on first use.
func AWS(ctx context.Context) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx)
}

// parts are the pieces both entry points share.
type parts struct {
	service *recognition.Service
	store   *storage.Store
	sm      *secretsmanager.Client
	metrics *metrics.Emitter
	// reports forwards callers' reports (FORWARD_REPORTS=on); nil when the deployment does not.
	reports recognition.Forwarder
}

// newParts wires the domain to its adapters, from a configuration already checked. It does no
// network I/O: the tokens and the client keys are read on first use. function names the metrics.
func newParts(cfg Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer, function string) parts {
	s3Client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.EndpointSet
		// Objects uploaded without a checksum are normal here; the SDK would log a plain-text
		// line for each among our JSON logs.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	sm := secretsmanager.NewFromConfig(awsCfg)
	var tokens secrets.Tokens
	var static map[string]string
	tokenReads := func() int64 { return 0 }
	if cfg.RecognitionToken != "" {
		static, _ = secrets.ParseTokens(cfg.RecognitionToken) // checked with the configuration
		tokens = secrets.StaticTokens(static)
	} else {
		src := secrets.NewSecretsManager(sm, cfg.TokenSecretID, secrets.DefaultTTL)
		src.RememberFailures(cfg.SecretFailureTTL)
		tokens, tokenReads = src, src.Reads
	}
	emitter := metrics.New(metricsOut, function, tokenReads)
	httpClient := acedata.NewHTTPClient()
	chain := &providers.Chain{HedgeAfter: cfg.HedgeAfter, Log: log, OnCall: func(ev providers.Event) {
		emitter.EmitProvider(metrics.ProviderSample{Provider: ev.Provider, Outcome: ev.Outcome, Latency: ev.Latency,
			Failover: ev.Failover, Hedge: ev.Hedge, Open: ev.Breaker == providers.Open})
	}}
	var names []string
	for _, p := range cfg.Providers {
		if static != nil && static[p.Name] == "" {
			log.Warn("recognition provider skipped: RECOGNITION_TOKEN holds no token for it", "provider", p.Name)
			continue
		}
		src := secrets.For(tokens, p.Name)
		adapter := providerKinds[p.Name].build(p.URL, httpClient, src, len(cfg.Providers) == 1)
		chain.Members = append(chain.Members, providers.Member{Provider: adapter,
			Breaker: providers.NewBreaker(providers.DefaultThreshold, providers.DefaultCooldown)})
		names = append(names, p.Name)
	}
	log.Info("recognition providers", "providers", strings.Join(names, ","), "hedge_after_ms", cfg.HedgeAfter.Milliseconds())
	return parts{
		service: &recognition.Service{
			Questions: question.Default,
			Limits:    imaging.DefaultLimits,
			Upstream:  chain,
			Defaults:  cfg.Accuracy.Defaults,
		},
		store:   storage.New(s3Client),
		sm:      sm,
		metrics: emitter,
		reports: newForwarding(cfg.Accuracy, chain, emitter, log),
	}
}

// clientKeysTTL bounds how long a new or revoked client key takes to count.
const clientKeysTTL = 5 * time.Minute

// NewAPI wires the HTTPS function from its environment; metrics go to metricsOut as EMF lines.
// With any configuration error it logs every problem once and returns the misconfigured server,
// which answers every request configuration_error in its wire's shape and reads nothing: a
// function that fails to start would only show callers a bare 502, and operators nothing.
func NewAPI(getenv func(string) string, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) wire.Server {
	refuse := func(authMode string, err error) wire.Server {
		log.Error("invalid configuration: every request will be refused", "error", err.Error())
		obs := &observe.Observer{Log: log, Metrics: metrics.New(metricsOut, "api", nil)}
		return pipeline.Misconfigured(routes(authMode, &protocols.Solver{}), &httpapi.API{}, obs)
	}
	cfg, err := APIConfigFromEnv(getenv, awsCfg.Region)
	if err != nil {
		return refuse(strings.TrimSpace(getenv("AUTH_MODE")), err)
	}
	p := newParts(cfg.Config, awsCfg, log, metricsOut, "api")
	var keys *secrets.Secret
	if cfg.ClientKeysSecret != "" {
		keys = secrets.NewSecret(p.sm, cfg.ClientKeysSecret, clientKeysTTL)
		keys.RememberFailures(cfg.SecretFailureTTL)
	}
	checker, err := auth.New(cfg.AuthMode, keys)
	if err != nil { // APIConfigFromEnv checked the mode; this is a bug if it happens
		return refuse(cfg.AuthMode, err)
	}
	obs := &observe.Observer{Log: log, Metrics: p.metrics}
	solver := &protocols.Solver{Service: p.service, Reported: p.metrics.EmitReport, Reports: p.reports}
	answerIDs := &answerid.Codec{}
	if cfg.TaskIDSecret != "" {
		ids := secrets.NewSecret(p.sm, cfg.TaskIDSecret, taskIDSecretTTL)
		ids.RememberFailures(cfg.SecretFailureTTL)
		solver.IDSecret = ids
		answerIDs.Secret = ids // the same deployment secret; answerid draws a key of its own from it
	}
	return Pipeline(cfg, Fronts{
		API: &httpapi.API{Service: p.service, Store: p.store, Config: httpapi.Config{Sources: cfg.Sources, ResultsBucket: cfg.ResultsBucket, StorePrefix: cfg.StorePrefix},
			Reports: p.reports, AnswerIDs: answerIDs},
		Solver: solver,
		Auth:   checker,
		Store:  p.store,
		Budget: MemoryBudget(getenv, log),
	}, obs)
}

// taskIDSecretTTL: the secret is generated once per stack; read again hourly so a replaced one
// counts without a deployment.
const taskIDSecretTTL = time.Hour

// ResponseMargin is kept back from every request's deadline to send its answer in time.
const ResponseMargin = 300 * time.Millisecond

// Fronts are the protocols and ports the pipeline is built around.
type Fronts struct {
	API    *httpapi.API
	Solver *protocols.Solver
	Auth   wire.Authenticator
	Store  idempotency.RecordStore
	Budget *membudget.Budget // nil: none
}

// Pipeline is the API function's one server: every front through the same steps.
func Pipeline(cfg APIConfig, f Fronts, obs *observe.Observer) *pipeline.Server {
	defaultTimeout := 29 * time.Second // API Gateway's integration limit is 30 s
	return &pipeline.Server{
		Routes: routes(cfg.AuthMode, f.Solver), Default: f.API, Auth: f.Auth, Observe: obs,
		Budget: f.Budget, PictureBytes: f.API.Service.Limits.MaxDecodeBytes,
		Config: wire.Config{MaxBodyBytes: MaxBodyBytes, ResponseMargin: ResponseMargin, DefaultTimeout: defaultTimeout},
		Idempotency: &idempotency.Layer{
			Store: f.Store, Bucket: cfg.ResultsBucket, Prefix: cfg.Idempotency.Prefix, TTL: cfg.Idempotency.TTL,
			Routes:     []string{api.RecognizePath, api.UpstreamPath},
			WriteGrace: ResponseMargin / 2, DefaultTimeout: defaultTimeout, Log: obs.Log,
		},
	}
}

// routes are the solver protocols' routes beside the API's own, except in IAM mode: their
// clients send a key and cannot sign requests, and the template does not route them.
func routes(authMode string, solver *protocols.Solver) map[string]pipeline.Protocol {
	if authMode == auth.ModeIAM {
		return nil
	}
	return solver.Routes()
}

// NewUploads wires the S3 function from its environment, with the observer of its records. With
// any configuration error it returns the misconfigured processor, which fails every record
// without a read or a write: with a wrong configuration even an error result could feed a loop.
func NewUploads(getenv func(string) string, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) (uploads.RecordProcessor, *observe.Observer) {
	cfg, err := UploadsConfigFromEnv(getenv, awsCfg.Region)
	if err != nil {
		log.Error("invalid configuration: every record will fail, nothing will be written", "error", err.Error())
		return uploads.Misconfigured{Cause: err}, &observe.Observer{Log: log, Metrics: metrics.New(metricsOut, "s3event", nil)}
	}
	p := newParts(cfg.Config, awsCfg, log, metricsOut, "s3event")
	return &uploads.Processor{
		Service: p.service,
		Store:   p.store,
		Config:  uploads.Config{InputPrefix: cfg.InputPrefix, ResultsPrefix: cfg.ResultsPrefix, ResultsBucket: cfg.ResultsBucket},
	}, &observe.Observer{Log: log, Metrics: p.metrics}
}
