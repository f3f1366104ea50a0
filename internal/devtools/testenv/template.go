package testenv

import (
	"fmt"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/samtemplate"
)

// TemplateMemoryLimit is the GOMEMLIMIT that template.yaml gives the functions, so that tests and
// benchmarks run the bootstrap as Lambda would.
func TemplateMemoryLimit(templatePath string) (string, error) {
	t, err := samtemplate.Open(templatePath)
	if err != nil {
		return "", err
	}
	limit := t.GlobalVariables()["GOMEMLIMIT"]
	if limit == "" {
		return "", fmt.Errorf("%s sets no GOMEMLIMIT for every function", templatePath)
	}
	return limit, nil
}
