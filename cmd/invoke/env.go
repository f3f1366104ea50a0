package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// logicalIDs are the functions' names in template.yaml, which key their variables in env.json.
var logicalIDs = map[string]string{"api": "ApiFunction", "s3event": "S3EventFunction"}

// envFile reads the variables env.json gives the function, as `sam local invoke --env-vars`
// does: the "Parameters" object applies to every function, the function's own object (by logical
// id) overrides it. Values may be JSON strings, numbers or booleans.
func envFile(path, function string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v (want {\"LogicalId\": {\"VARIABLE\": \"value\"}})", path, err)
	}
	id, ok := logicalIDs[function]
	if !ok {
		return nil, fmt.Errorf("unknown function %q (api, s3event)", function)
	}
	for _, section := range []string{"Parameters", id} {
		for k, v := range doc[section] {
			switch v := v.(type) {
			case string:
				out[k] = v
			case nil:
				out[k] = ""
			default:
				b, _ := json.Marshal(v)
				out[k] = string(b)
			}
		}
	}
	return out, nil
}

// env is the function process's environment, one value per name.
type env map[string]string

// merge is this shell's environment over file: a variable set to a non-empty value here wins, so
// `AUTH_MODE=keys make invoke` works; an empty one does not blank what env.json says. Lambda's own
// AWS_LAMBDA_* variables come from the Runtime API harness, never from here.
func merge(file map[string]string, environ []string) env {
	e := env{}
	for k, v := range file {
		e[k] = v
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_LAMBDA_") {
			continue
		}
		if _, inFile := file[k]; !inFile || v != "" {
			e[k] = v
		}
	}
	return e
}

func (e env) get(k string) string { return e[k] }

// list is the environment for exec, sorted so that runs are reproducible.
func (e env) list() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
