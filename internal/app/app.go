package app

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/auth"
	"github.com/recaptcha-recognizer/recognizer/internal/httpapi"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/storage"
	"github.com/recaptcha-recognizer/recognizer/internal/uploads"
	"github.com/recaptcha-recognizer/recognizer/internal/upstream"
)

// Lambda's synchronous payload limit is 6 MB; a request body can never be larger.
const maxBodyBytes = 6 << 20

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
	service    *recognition.Service
	store      *storage.Store
	sm         *secretsmanager.Client
	tokenReads func() int64 // Secrets Manager reads of the token so far, for cache metrics
}

// newParts wires the domain. A configuration error does not stop the function: every request
// then gets a 500 configuration_error, and the cause is logged once here.
func newParts(cfg Config, cfgErr error, awsCfg aws.Config, log *slog.Logger) parts {
	if cfgErr != nil {
		log.Error("invalid configuration", "error", cfgErr.Error())
	}
	s3Client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.EndpointSet
		// Objects uploaded without a checksum are normal here; the SDK would log a plain-text
		// line for each among our JSON logs.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	smClient := secretsmanager.NewFromConfig(awsCfg)
	var tokens secrets.Source = secrets.Static(cfg.RecognitionToken)
	tokenReads := func() int64 { return 0 }
	if cfg.RecognitionToken == "" {
		sm := secrets.NewSecretsManager(smClient, cfg.TokenSecretID, secrets.DefaultTTL)
		sm.RememberFailures(cfg.SecretFailureTTL)
		tokens, tokenReads = sm, sm.Reads
	}
	if cfgErr != nil {
		tokens = brokenConfig{}
	}
	return parts{
		service: &recognition.Service{
			Questions: question.Default,
			Limits:    imaging.DefaultLimits,
			Upstream:  upstream.New(cfg.RecognitionAPIURL, upstream.NewHTTPClient(), tokens),
		},
		store:      storage.New(s3Client),
		sm:         smClient,
		tokenReads: tokenReads,
	}
}

// clientKeysTTL bounds how long a new or revoked client key takes to count.
const clientKeysTTL = 5 * time.Minute

// newAuth builds the caller check. Anything but a valid, explicit AUTH_MODE fails closed: every
// request is refused with a configuration error.
func newAuth(cfg Config, reader secrets.SecretReader, log *slog.Logger) httpapi.Authenticator {
	var keys *secrets.Secret
	if cfg.ClientKeysSecret != "" {
		keys = secrets.NewSecret(reader, cfg.ClientKeysSecret, clientKeysTTL)
		keys.RememberFailures(cfg.SecretFailureTTL)
	}
	c, err := auth.New(cfg.AuthMode, keys)
	if err != nil {
		log.Error("invalid configuration: every request will be refused", "error", err.Error())
		return brokenConfig{}
	}
	return c
}

// NewAPIHandler wires the HTTPS API; metrics go to metricsOut as EMF lines.
func NewAPIHandler(cfg Config, cfgErr error, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) *httpapi.Handler {
	p := newParts(cfg, cfgErr, awsCfg, log)
	return &httpapi.Handler{
		Service: p.service,
		Auth:    newAuth(cfg, p.sm, log),
		Store:   p.store,
		Config: httpapi.Config{
			Sources:        cfg.Sources,
			ResultsBucket:  cfg.ResultsBucket,
			StorePrefix:    cfg.StorePrefix,
			MaxBodyBytes:   maxBodyBytes,
			ResponseMargin: 300 * time.Millisecond,
			DefaultTimeout: 29 * time.Second, // API Gateway's integration limit is 30 s
		},
		Observe: &observe.Observer{Log: log, Metrics: metrics.New(metricsOut, "api", p.tokenReads)},
	}
}

// NewUploadsProcessor wires the S3 path, with the observer of its records.
func NewUploadsProcessor(cfg Config, cfgErr error, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) (*uploads.Processor, *observe.Observer) {
	p := newParts(cfg, cfgErr, awsCfg, log)
	return &uploads.Processor{
		Service: p.service,
		Store:   p.store,
		Config:  uploads.Config{InputPrefix: cfg.InputPrefix, ResultsPrefix: cfg.ResultsPrefix, ResultsBucket: cfg.ResultsBucket},
		Broken:  cfgErr,
	}, &observe.Observer{Log: log, Metrics: metrics.New(metricsOut, "s3event", p.tokenReads)}
}

// brokenConfig answers every token request with a configuration error.
type brokenConfig struct{}

func (brokenConfig) Token(context.Context) (string, error) {
	return "", apierr.New(apierr.CodeConfiguration,
		"the service is not configured correctly; its operators have been told in its logs")
}

func (brokenConfig) Refused(string) {}

func (b brokenConfig) Authenticate(ctx context.Context, _, _ string) (string, error) {
	_, err := b.Token(ctx)
	return "", err
}
