package main

import (
	"os"
	"regexp"
	"strings"
)

// declaredVariables are the environment variables template.yaml declares for a function (its
// own and the Globals'), with their values as written ("!Ref AuthMode" stays as it is).
// `sam local invoke --env-vars` sets only these, so a name env.json adds beyond them would be
// ignored there. A line-based reading is enough for this template's plain block style and keeps
// a YAML dependency (and CloudFormation's tags) out of the module.
func declaredVariables(templatePath, logicalID string) (map[string]string, error) {
	raw, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(raw), "\n")
	out := map[string]string{}
	for _, start := range []*regexp.Regexp{regexp.MustCompile(`^Globals:\s*$`), regexp.MustCompile(`^  ` + regexp.QuoteMeta(logicalID) + `:\s*$`)} {
		for i, l := range lines {
			if start.MatchString(l) {
				variables(lines[i+1:], indent(l), out)
				break
			}
		}
	}
	return out, nil
}

var keyLine = regexp.MustCompile(`^(\s*)([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*(#.*)?$`)

// variables reads the Environment.Variables mapping from the block of lines indented deeper than
// base.
func variables(lines []string, base int, out map[string]string) {
	envAt, varsAt := -1, -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		n := indent(l)
		if n <= base {
			return
		}
		m := keyLine.FindStringSubmatch(l)
		switch {
		case varsAt >= 0 && n <= varsAt:
			return
		case varsAt >= 0:
			if m != nil {
				out[m[2]] = strings.Trim(m[3], `"'`)
			}
		case envAt >= 0 && n <= envAt:
			envAt = -1
		case envAt >= 0 && m != nil && m[2] == "Variables":
			varsAt = n
		case m != nil && m[2] == "Environment":
			envAt = n
		}
	}
}

func indent(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
