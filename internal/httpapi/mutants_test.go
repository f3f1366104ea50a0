package httpapi

import (
	"net/http"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// A JSON body names one picture: both image and s3 is a 400, never an answer for one of them.
// An S3 reference has the key form s3scope.CheckKey allows, in either spelling.
func TestJSONBodyReferencesOnePicture(t *testing.T) {
	for body, code := range map[string]apierr.Code{
		`{"image":"AAEC","s3":"s3://b/k.png","question":"bus"}`:               apierr.CodeInvalidRequest,
		`{"s3":{"bucket":"b","key":"k.png"},"image":"AAEC","question":"bus"}`: apierr.CodeInvalidRequest,
		`{"s3":"s3://b/in/../secret.png","question":"bus"}`:                   apierr.CodeInvalidS3Reference,
		`{"s3":{"bucket":"b","key":"in//x.png"},"question":"bus"}`:            apierr.CodeInvalidS3Reference,
		`{"s3":{"bucket":"b","key":"/x.png"},"question":"bus"}`:               apierr.CodeInvalidS3Reference,
		`{"s3":{"bucket":"b","key":"in/./x.png"},"question":"bus"}`:           apierr.CodeInvalidS3Reference,
	} {
		c, err := parse(wire.Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}, 1<<20)
		if e := apierr.As(err); err == nil || e.Code != code || e.Status() != 400 {
			t.Errorf("%s: %+v, %v; want 400 %s", body, c, err, code)
		}
	}
}

// An empty picture is refused as the picture's fault, in every form that can carry one, before
// anything reads the question or the grid.
func TestEmptyImageRefusedFirst(t *testing.T) {
	for ctype, body := range map[string]string{
		"application/json": `{"image":"","question":"no such label"}`,
		"image/png":        "",
		"multipart/form-data; boundary=b": "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n" +
			"Content-Type: image/png\r\n\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\ncars\r\n--b--\r\n",
	} {
		_, err := parse(wire.Request{Header: http.Header{"Content-Type": {ctype}}, Body: []byte(body)}, 1<<20)
		if e := apierr.As(err); err == nil || e.Code != apierr.CodeInvalidImage || e.Message != "image is empty" {
			t.Errorf("%s: %v; want invalid_image: image is empty", ctype, err)
		}
	}
}
