package protocols

import (
	"errors"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// codes is the one table from each of the service's error codes to the code the createTask
// protocol (errorCode) and the in.php/res.php protocol (ERROR_...) answer with. docs/protocols.md
// shows the same table; TestCodesComplete holds both to every apierr code.
var codes = map[apierr.Code]struct{ task, legacy string }{
	apierr.CodeInvalidToken:          {"ERROR_KEY_DOES_NOT_EXIST", "ERROR_KEY_DOES_NOT_EXIST"},
	apierr.CodeInvalidRequest:        {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeInvalidImage:          {"ERROR_IMAGE_TYPE_NOT_SUPPORTED", "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
	apierr.CodeUnsupportedQuestion:   {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeInvalidGrid:           {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeGridRequired:          {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeTooLarge:              {"ERROR_TOO_BIG_CAPTCHA_FILESIZE", "ERROR_TOO_BIG_CAPTCHA_FILESIZE"},
	apierr.CodeTooComplex:            {"ERROR_TOO_BIG_CAPTCHA_FILESIZE", "ERROR_TOO_BIG_CAPTCHA_FILESIZE"},
	apierr.CodeUnsupportedMedia:      {"ERROR_INVALID_TASK_DATA", "ERROR_UPLOAD"},
	apierr.CodeInvalidS3Reference:    {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeS3Forbidden:           {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeS3NotFound:            {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeStoreNotConfigured:    {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeReportsNotConfigured:  {"ERROR_NO_SUCH_METHOD", "ERROR_BAD_PARAMETERS"},
	apierr.CodeUnknownAnswer:         {"ERROR_NO_SUCH_CAPCHA_ID", "ERROR_WRONG_CAPTCHA_ID"},
	apierr.CodeNotFound:              {"ERROR_NO_SUCH_METHOD", "ERROR_EMPTY_ACTION"},
	apierr.CodeMethodNotAllowed:      {"ERROR_NO_SUCH_METHOD", "ERROR_EMPTY_ACTION"},
	apierr.CodeTooManyRequests:       {"ERROR_TOO_MUCH_REQUESTS", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeUpstreamError:         {"ERROR_CAPTCHA_UNSOLVABLE", "ERROR_CAPTCHA_UNSOLVABLE"},
	apierr.CodeUpstreamBadResponse:   {"ERROR_CAPTCHA_UNSOLVABLE", "ERROR_CAPTCHA_UNSOLVABLE"},
	apierr.CodeUpstreamRejected:      {"ERROR_CAPTCHA_UNSOLVABLE", "ERROR_CAPTCHA_UNSOLVABLE"},
	apierr.CodeUpstreamTimeout:       {"ERROR_CAPTCHA_UNSOLVABLE", "ERROR_CAPTCHA_UNSOLVABLE"},
	apierr.CodeUpstreamUnavailable:   {"ERROR_NO_SLOT_AVAILABLE", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeUpstreamAuth:          {"ERROR_SERVICE_UNAVALIABLE", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeTokenUnavailable:      {"ERROR_SERVICE_UNAVALIABLE", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeStorageUnavailable:    {"ERROR_SERVICE_UNAVALIABLE", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeServerBusy:            {"ERROR_NO_SLOT_AVAILABLE", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeConfiguration:         {"ERROR_SERVICE_UNAVALIABLE", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeInvalidIdempotencyKey: {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeIdempotencyKeyInUse:   {"ERROR_NO_SLOT_AVAILABLE", "ERROR_NO_SLOT_AVAILABLE"},
	apierr.CodeIdempotencyKeyReused:  {"ERROR_INVALID_TASK_DATA", "ERROR_BAD_PARAMETERS"},
	apierr.CodeInternal:              {"ERROR_SERVICE_UNAVALIABLE", "ERROR_NO_SLOT_AVAILABLE"},
}

// failure is an error answered in a protocol's shape: one of the service's codes, or one that
// only the protocols have.
type failure struct {
	code    string // for logs and metrics: an apierr code, or one of the protocol-only codes below
	task    string
	legacy  string
	message string
	cause   *apierr.Error // when it is one of the service's errors
}

// The protocol-only failures.
var (
	errNoSuchTask = failure{code: "no_such_task", task: "ERROR_NO_SUCH_CAPCHA_ID", legacy: "ERROR_WRONG_CAPTCHA_ID",
		message: "no such task: the id is not one this service issued to this key (or its answer has expired)"}
	errTaskNotSupported = failure{code: "task_not_supported", task: "ERROR_TASK_NOT_SUPPORTED", legacy: "ERROR_BAD_PARAMETERS"}
	errURLRefused       = failure{code: "url_refused", task: "ERROR_IMAGE_URL_NOT_ALLOWED", legacy: "ERROR_IMAGE_URL_NOT_ALLOWED"}
	errPictureQuestion  = failure{code: "question_as_picture", task: "ERROR_IMGINSTRUCTIONS_NOT_SUPPORTED", legacy: "ERROR_IMGINSTRUCTIONS_NOT_SUPPORTED"}
)

func (f failure) with(message string) failure { f.message = message; return f }

func (f failure) Error() string { return f.message }

// Code is the failure's code in logs and metrics (pipeline.Coded).
func (f failure) Code() string { return f.code }

// Unwrap is the service's error the failure renders, if it is one.
func (f failure) Unwrap() error {
	if f.cause == nil {
		return nil
	}
	return f.cause
}

// fromError renders one of the service's errors (anything else is an internal error); a
// failure already rendered stays as it is.
func fromError(err error) failure {
	var f failure
	if errors.As(err, &f) {
		return f
	}
	e := apierr.As(err)
	c, ok := codes[e.Code]
	if !ok {
		c = codes[apierr.CodeInternal]
	}
	message := e.Message
	if hint, ok := hints[e.Code]; ok && e.Hint != "" {
		message += "; " + hint
	}
	return failure{code: string(e.Code), task: c.task, legacy: c.legacy, message: message, cause: e}
}

// hints say, in the protocols' own terms, what the native API's hints say in its: a protocol's
// caller sends no S3 reference, and names the grid in its task's or in.php's parameters. A hint
// with no counterpart here is left out.
var hints = map[apierr.Code]string{
	apierr.CodeGridRequired: "name it 3x3, 4x4 or 1x1 (createTask: metadata.Grid, or rows and columns; in.php: recaptcharows and recaptchacols), or send an image of 300x300, 450x450 or 100x100 pixels",
}
