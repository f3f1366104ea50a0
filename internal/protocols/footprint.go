package protocols

import (
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// What reading each protocol's bodies allocates at most, as a multiple of the body
// (TestFootprintHolds measures the worst body of each form). Counts and sizes are checked while
// the forms are read (internal/formscan), so a body of many small values costs next to nothing;
// the worst is a picture string that needs unescaping: made twice, then decoded (createTask),
// and in in.php its spaces read back as '+' once more.
const (
	taskParseFactor   = 3
	legacyParseFactor = 4
)

// Footprint: createTask carries a picture; polls, balances and reports do not.
func (Task) Footprint(req wire.Request) pipeline.Footprint {
	return pipeline.Footprint{ParseFactor: taskParseFactor, Picture: strings.TrimSuffix(req.Path, "/") == CreateTaskPath}
}

// Footprint: in.php carries a picture; res.php does not.
func (Legacy) Footprint(req wire.Request) pipeline.Footprint {
	return pipeline.Footprint{ParseFactor: legacyParseFactor, Picture: strings.TrimSuffix(req.Path, "/") == InPath}
}
