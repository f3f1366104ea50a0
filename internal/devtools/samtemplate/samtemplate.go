// Package samtemplate reads what the development tools need of template.yaml (the functions'
// environment variables and timeouts, the HTTP API's routes) with goformation's intrinsics processor, which parses YAML in any style
// (block, flow, anchors) and understands CloudFormation's tags and intrinsic functions.
package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
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
		Condition  string
		Properties properties
	}
}

// properties are a resource's properties the tools read: a function's, or a route's.
type properties struct {
	function
	RouteKey          string
	AuthorizationType any
}

type function struct {
	Timeout     any
	Environment struct {
		Variables map[string]any
	}
}

// Open parses the template at path. Intrinsic functions are not resolved: a value written as
// `!Ref AuthMode` reads "!Ref AuthMode", a condition of plain words such as
// `!If [UseIam, AWS_IAM, NONE]` reads as written, and any other function reads as its tag
// ("!Sub", "!If", ...), since only a deployment knows their values.
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
	tag := "!" + strings.TrimPrefix(name, "Fn::")
	if args, ok := input.([]any); ok && name == "Fn::If" && len(args) == 3 {
		words := make([]string, 0, 3)
		for _, a := range args {
			if w, ok := a.(string); ok && w != "" && !strings.ContainsAny(w, " ,[]") {
				words = append(words, w)
			}
		}
		if len(words) == 3 {
			return tag + " [" + strings.Join(words, ", ") + "]"
		}
	}
	return tag
}

// Route is an AWS::ApiGatewayV2::Route of the template, with its values as written.
type Route struct {
	LogicalID string
	// Key is the route key: "POST /recognize".
	Key string
	// Condition names the condition the route exists under; empty when it always exists.
	Condition string
	// Authorization is its AuthorizationType: "NONE", or "!If [UseIam, AWS_IAM, NONE]".
	Authorization string
}

// Routes are the template's routes, sorted by key.
func (t *Template) Routes() []Route {
	var out []Route
	for id, r := range t.Resources {
		if r.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		out = append(out, Route{LogicalID: id, Key: r.Properties.RouteKey, Condition: r.Condition,
			Authorization: fmt.Sprint(r.Properties.AuthorizationType)})
	}
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.Key, b.Key) })
	return out
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
