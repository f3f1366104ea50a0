package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/samtemplate"
	"github.com/recaptcha-recognizer/recognizer/internal/protocols"
)

// The deployed routes are written three times, each where its reader looks: template.yaml's
// route resources, the contract's paths, and the code's route table (this package's paths and
// protocols.Paths()). They cannot disagree: the same route keys in the template and the contract,
// the same paths in the template and the code, the API's own routes signed in IAM mode, and the
// solver protocols' in keys mode only.
func TestRoutesAgreeInTemplateContractAndCode(t *testing.T) {
	tpl, err := samtemplate.Open("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes := tpl.Routes()
	if len(routes) == 0 {
		t.Fatal("template.yaml declares no route")
	}
	for _, p := range routeProblems(routes, deployedOperations(t, api.OpenAPI), ownPaths, protocols.Paths()) {
		t.Error(p)
	}
}

var ownPaths = []string{api.RecognizePath, api.UpstreamPath, api.ReportPath}

// The check fails for each way the three could drift apart.
func TestRouteCheckCatchesEachDisagreement(t *testing.T) {
	tpl, err := samtemplate.Open("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	contract := deployedOperations(t, api.OpenAPI)
	edit := func(key string, change func(*samtemplate.Route)) []samtemplate.Route {
		routes := slices.Clone(tpl.Routes())
		i := slices.IndexFunc(routes, func(r samtemplate.Route) bool { return r.Key == key })
		if i < 0 {
			t.Fatalf("template.yaml has no route %s", key)
		}
		change(&routes[i])
		return routes
	}
	without := func(key string) []samtemplate.Route {
		return slices.DeleteFunc(slices.Clone(tpl.Routes()), func(r samtemplate.Route) bool { return r.Key == key })
	}
	for name, c := range map[string]struct {
		routes   []samtemplate.Route
		contract map[string]bool
		solver   []string
		want     string
	}{
		"a route the template lost":          {routes: without("GET /res.php"), want: "api/openapi.json has GET /res.php, which template.yaml does not route"},
		"a route only the template has":      {routes: append(tpl.Routes(), samtemplate.Route{Key: "POST /getBalance2", Condition: "UseKeys", Authorization: "NONE"}), want: "which the code does not serve"},
		"an operation only the contract has": {contract: union(contract, "PUT /recognize"), want: "api/openapi.json has PUT /recognize"},
		"a path only the code serves":        {solver: append(protocols.Paths(), "/reportWrong"), want: "the code serves /reportWrong"},
		"a protocol route in IAM mode":       {routes: edit("POST /createTask", func(r *samtemplate.Route) { r.Condition = "" }), want: "in keys mode only"},
		"the API's route open in IAM mode":   {routes: edit("POST /recognize", func(r *samtemplate.Route) { r.Authorization = "NONE" }), want: "signed in IAM mode"},
		"the API's route in keys mode only":  {routes: edit("POST /captcha/recognition/recaptcha2", func(r *samtemplate.Route) { r.Condition = "UseKeys" }), want: "signed in IAM mode"},
		"a method the contract lacks":        {routes: edit("POST /in.php", func(r *samtemplate.Route) { r.Key = "PUT /in.php" }), want: "template.yaml routes PUT /in.php, which api/openapi.json does not describe"},
	} {
		routes, ops, solver := c.routes, c.contract, c.solver
		if routes == nil {
			routes = tpl.Routes()
		}
		if ops == nil {
			ops = contract
		}
		if solver == nil {
			solver = protocols.Paths()
		}
		problems := routeProblems(routes, ops, ownPaths, solver)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
			t.Errorf("%s: no problem says %q: %q", name, c.want, problems)
		}
	}
}

func union(m map[string]bool, key string) map[string]bool {
	out := maps.Clone(m)
	out[key] = true
	return out
}

// routeProblems are the disagreements between the template's routes, the contract's deployed
// operations ("POST /recognize") and the code's paths: own (in both auth modes) and solver
// (the protocols', keys mode only).
func routeProblems(routes []samtemplate.Route, contract map[string]bool, own, solver []string) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	keys := map[string]bool{}
	for _, r := range routes {
		keys[r.Key] = true
		_, path, _ := strings.Cut(r.Key, " ")
		switch {
		case slices.Contains(own, path):
			if r.Condition != "" || r.Authorization != "!If [UseIam, AWS_IAM, NONE]" {
				report("%s (%s): condition %q, authorization %q; the API's own routes exist in both modes and are signed in IAM mode",
					r.LogicalID, r.Key, r.Condition, r.Authorization)
			}
		case slices.Contains(solver, path):
			if r.Condition != "UseKeys" || r.Authorization != "NONE" {
				report("%s (%s): condition %q, authorization %q; a solver protocol's route exists in keys mode only, the function checking the key",
					r.LogicalID, r.Key, r.Condition, r.Authorization)
			}
		default:
			report("%s routes %s, which the code does not serve", r.LogicalID, r.Key)
		}
	}
	for _, k := range sortedKeys(contract) {
		if !keys[k] {
			report("api/openapi.json has %s, which template.yaml does not route", k)
		}
	}
	for _, k := range sortedKeys(keys) {
		if !contract[k] {
			report("template.yaml routes %s, which api/openapi.json does not describe for a deployed stack", k)
		}
	}
	for _, p := range append(slices.Clone(own), solver...) {
		if !slices.ContainsFunc(routes, func(r samtemplate.Route) bool { return strings.HasSuffix(r.Key, " "+p) }) {
			report("the code serves %s, which template.yaml does not route", p)
		}
	}
	return problems
}

// deployedOperations are the contract's operations a deployed stack serves, as route keys: every
// path's methods, except a path whose own servers name no deployed stack (the local server's
// pages).
func deployedOperations(t *testing.T, doc []byte) map[string]bool {
	t.Helper()
	var spec struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for path, item := range spec.Paths {
		if servers, ok := item["servers"]; ok && !strings.Contains(string(servers), "execute-api") {
			continue
		}
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				out[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
