package httpapi

import (
	"net/http"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// parseFactor bounds what reading a request of any form allocates, as a multiple of its body:
// JSON is read in place and its image string decoded once, a multipart form copies its parts
// (TestFootprintHolds measures the worst body of each form).
const parseFactor = 3

// Footprint: every POST to a recognition route may carry a picture.
func (*API) Footprint(req wire.Request) pipeline.Footprint {
	path := strings.TrimSuffix(req.Path, "/")
	picture := req.Method == http.MethodPost && (path == api.RecognizePath || path == api.UpstreamPath)
	return pipeline.Footprint{ParseFactor: parseFactor, Picture: picture}
}
