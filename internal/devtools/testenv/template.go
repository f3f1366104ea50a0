package testenv

import (
	"fmt"
	"os"
	"regexp"
)

// TemplateMemoryLimit is the GOMEMLIMIT that template.yaml gives the functions, so that tests and
// benchmarks run the bootstrap as Lambda would.
func TemplateMemoryLimit(templatePath string) (string, error) {
	b, err := os.ReadFile(templatePath)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s+GOMEMLIMIT: (\S+)`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s sets no GOMEMLIMIT", templatePath)
	}
	return string(m[1]), nil
}
