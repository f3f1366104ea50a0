package contracttest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"recognizer/api"
)

// documentCodes reads, from the document, every error code and the codes each status may carry.
func documentCodes(t *testing.T) (all []string, byStatus map[int][]string) {
	t.Helper()
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct{ AllOf []json.RawMessage }
				}
			}
			Schemas struct {
				ErrorCode struct{ OneOf []struct{ Const string } }
			}
		}
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Components.Schemas.ErrorCode.OneOf {
		all = append(all, c.Const)
	}
	var op struct {
		Responses map[string]struct {
			Ref string `json:"$ref"`
		}
	}
	if err := json.Unmarshal(doc.Paths[api.RecognizePath]["post"], &op); err != nil {
		t.Fatal(err)
	}
	byStatus = map[int][]string{}
	for status, r := range op.Responses {
		n, _ := strconv.Atoi(status)
		if n < 400 {
			continue
		}
		resp := doc.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
		allOf := resp.Content["application/json"].Schema.AllOf
		if len(allOf) != 2 {
			t.Fatalf("response %s: want allOf [Error, codes]", status)
		}
		var codes struct {
			Properties struct {
				Error struct {
					Properties struct{ Code struct{ Enum []string } }
				}
			}
		}
		json.Unmarshal(allOf[1], &codes)
		byStatus[n] = codes.Properties.Error.Properties.Code.Enum
	}
	return all, byStatus
}

// The document lists exactly the codes package api defines (which apierr uses).
func TestDocumentHasEveryCode(t *testing.T) {
	all, byStatus := documentCodes(t)
	defined := constants(t, "../../api/api.go", "Code")
	slices.Sort(all)
	if !slices.Equal(all, sortedValues(defined)) {
		t.Fatalf("the document's codes %v\nare not package api's %v", all, sortedValues(defined))
	}
	for status, codes := range byStatus {
		for _, c := range codes {
			if !slices.Contains(all, c) {
				t.Errorf("status %d lists %q, which is no code", status, c)
			}
		}
	}
}

// Every error the service's source can make, apierr.New or apierr.Wrap with a status and a code,
// is documented under that status: a new code or a code moved to another status fails here
// until the document says so.
func TestDocumentHasEveryStatusOfEveryCode(t *testing.T) {
	_, byStatus := documentCodes(t)
	codes := constants(t, "../../internal/apierr/apierr.go", "Code")
	apiCodes := constants(t, "../../api/api.go", "Code")
	found := 0
	for _, root := range []string{"../../internal", "../../functions", "../../cmd"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
				strings.Contains(path, "emulator") || strings.Contains(path, "testenv") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !isIdent(sel.X, "apierr") || (sel.Sel.Name != "New" && sel.Sel.Name != "Wrap") {
					return true
				}
				args := call.Args
				if sel.Sel.Name == "Wrap" {
					args = args[1:]
				}
				status := statusOf(args[0])
				code := codeOf(args[1], codes, apiCodes)
				if status == 0 || code == "" {
					t.Errorf("%s: cannot read the status and code of %s(...): write them as http.StatusX and apierr.CodeX", path, sel.Sel.Name)
					return true
				}
				found++
				if !slices.Contains(byStatus[status], code) {
					t.Errorf("%s makes %d %s, which the document's %d response does not list", path, status, code, status)
				}
				return true
			})
			return nil
		})
	}
	if found < 20 {
		t.Fatalf("found only %d errors in the source: the scan is broken", found)
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// statuses are the net/http names the service uses; an unknown one fails the scan loudly.
var statuses = map[string]int{
	"StatusBadRequest": 400, "StatusUnauthorized": 401, "StatusForbidden": 403, "StatusNotFound": 404,
	"StatusMethodNotAllowed": 405, "StatusRequestEntityTooLarge": 413, "StatusUnsupportedMediaType": 415,
	"StatusTooManyRequests": 429, "StatusInternalServerError": 500, "StatusBadGateway": 502,
	"StatusServiceUnavailable": 503, "StatusGatewayTimeout": 504,
}

func statusOf(e ast.Expr) int {
	if sel, ok := e.(*ast.SelectorExpr); ok && isIdent(sel.X, "http") {
		if n := statuses[sel.Sel.Name]; n != 0 && http.StatusText(n) != "" {
			return n
		}
	}
	return 0
}

func codeOf(e ast.Expr, codes, apiCodes map[string]string) string {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	switch {
	case isIdent(sel.X, "apierr"):
		return codes[sel.Sel.Name]
	case isIdent(sel.X, "api"):
		return apiCodes[sel.Sel.Name]
	}
	return ""
}

// constants reads the string constants named prefix* in a Go file, resolving `= api.X`.
func constants(t *testing.T, path, prefix string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var apiCodes map[string]string
	out := map[string]string{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				switch v := vs.Values[i].(type) {
				case *ast.BasicLit:
					out[name.Name], _ = strconv.Unquote(v.Value)
				case *ast.SelectorExpr:
					if apiCodes == nil {
						apiCodes = constants(t, "../../api/api.go", prefix)
					}
					out[name.Name] = apiCodes[v.Sel.Name]
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s constants in %s", prefix, path)
	}
	return out
}

func sortedValues(m map[string]string) []string {
	var v []string
	for _, s := range m {
		v = append(v, s)
	}
	slices.Sort(v)
	return v
}
