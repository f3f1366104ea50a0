// Package samtemplate reads what the development tools need of template.yaml (the functions'
// environment variables) with goformation's intrinsics processor, which parses YAML in any style
// (block, flow, anchors) and understands CloudFormation's tags and intrinsic functions.
package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is a parsed SAM template: what of it the tools read. Properties are kept loosely
// typed, so a value the template takes from a parameter reads as written.
type Template struct {
	path    string
	Globals struct {
		Function function
	}
	Resources map[string]struct {
		Type       string
		Properties function
	}
}

type function struct {
	Timeout     any
	Environment struct {
		Variables map[string]any
	}
}

// Open parses the template at path. Intrinsic functions are not resolved: a value written as
// `!Ref AuthMode` reads "!Ref AuthMode", and any other function reads as its tag ("!Sub",
// "!If", ...), since only a deployment knows their values.
func Open(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	overrides := map[string]intrinsics.IntrinsicHandler{}
	for _, name := range []string{"Fn::Base64", "Fn::And", "Fn::Equals", "Fn::If", "Fn::Not", "Fn::Or",
		"Fn::FindInMap", "Fn::GetAtt", "Fn::GetAZs", "Fn::ImportValue", "Fn::Join", "Fn::Select",
		"Fn::Split", "Fn::Sub", "Fn::Cidr", "Fn::Transform", "Ref"} {
		overrides[name] = unresolved
	}
	doc, err := intrinsics.ProcessYAML(raw, &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: overrides})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &Template{path: path}
	if err := json.Unmarshal(doc, t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func unresolved(name string, input, _ any) any {
	if name == "Ref" {
		if s, ok := input.(string); ok {
			return "!Ref " + s
		}
	}
	return "!" + strings.TrimPrefix(name, "Fn::")
}

// Variables are the environment variables the template declares for the function logicalID:
// the Globals' and its own, its own winning, with their values as written.
func (t *Template) Variables(logicalID string) (map[string]string, error) {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::Serverless::Function" {
		return nil, fmt.Errorf("%s: no AWS::Serverless::Function %s", t.path, logicalID)
	}
	out := t.GlobalVariables()
	for k, v := range r.Properties.Environment.Variables {
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

// GlobalVariables are the variables of the Globals section's Function entry.
func (t *Template) GlobalVariables() map[string]string {
	out := map[string]string{}
	for k, v := range t.Globals.Function.Environment.Variables {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// Timeout is the function's timeout: its own, or the Globals'.
func (t *Template) Timeout(logicalID string) (time.Duration, error) {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::Serverless::Function" {
		return 0, fmt.Errorf("%s: no AWS::Serverless::Function %s", t.path, logicalID)
	}
	v := r.Properties.Timeout
	if v == nil {
		v = t.Globals.Function.Timeout
	}
	seconds, ok := v.(float64)
	if !ok || seconds <= 0 {
		return 0, fmt.Errorf("%s: %s has no timeout in seconds (%v)", t.path, logicalID, v)
	}
	return time.Duration(seconds) * time.Second, nil
}
