package main

import (
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/samtemplate"
)

// declaredVariables are the environment variables template.yaml declares for a function (its
// own and the Globals'), with their values as written ("!Ref AuthMode" stays as it is).
// `sam local invoke --env-vars` sets only these, so a name env.json adds beyond them would be
// ignored there.
func declaredVariables(templatePath, logicalID string) (map[string]string, error) {
	t, err := samtemplate.Open(templatePath)
	if err != nil {
		return nil, err
	}
	return t.Variables(logicalID)
}

// templateTimeout is the function's timeout in template.yaml: the deadline each invocation gets
// unless -timeout says otherwise.
func templateTimeout(templatePath, logicalID string) (time.Duration, error) {
	t, err := samtemplate.Open(templatePath)
	if err != nil {
		return 0, err
	}
	return t.Timeout(logicalID)
}
