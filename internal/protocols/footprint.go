package protocols

import (
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// What reading each protocol's bodies allocates at most, as a multiple of the body
// (TestFootprintHolds measures the worst body of each form): the createTask envelope decodes
// its JSON into values (an array of 2 million empty strings is the worst), in.php/res.php merges
// the query, a form or JSON into parameters (700 thousand JSON keys are the worst).
const (
	taskParseFactor   = 30
	legacyParseFactor = 21
)

// Footprint: createTask carries a picture; polls, balances and reports do not.
func (Task) Footprint(req wire.Request) pipeline.Footprint {
	return pipeline.Footprint{ParseFactor: taskParseFactor, Picture: strings.TrimSuffix(req.Path, "/") == CreateTaskPath}
}

// Footprint: in.php carries a picture; res.php does not.
func (Legacy) Footprint(req wire.Request) pipeline.Footprint {
	return pipeline.Footprint{ParseFactor: legacyParseFactor, Picture: strings.TrimSuffix(req.Path, "/") == InPath}
}
