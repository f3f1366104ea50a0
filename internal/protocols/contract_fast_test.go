//go:build !e2e

package protocols

import (
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// checkContract is contract_e2e_test.go's in the e2e tier; the fast tier does without the
// OpenAPI validator.
func checkContract(testing.TB, wire.Request, wire.Response) {}
