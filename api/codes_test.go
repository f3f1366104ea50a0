package api_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
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

// The document lists exactly the codes of the service's table (apierr, over package api's codes).
func TestDocumentHasEveryCode(t *testing.T) {
	all, byStatus := documentCodes(t)
	var defined []string
	for _, c := range apierr.Codes() {
		defined = append(defined, string(c))
	}
	slices.Sort(all)
	if !slices.Equal(all, defined) {
		t.Fatalf("the document's codes %v\nare not the table's %v", all, defined)
	}
	for status, codes := range byStatus {
		for _, c := range codes {
			if !slices.Contains(all, c) {
				t.Errorf("status %d lists %q, which is no code", status, c)
			}
		}
	}
}

// Every code is documented under the status the table gives it, and under 504 too where the
// source can answer it at the deadline (apierr.X(...).AtDeadline()): a new code, or a code moved
// to another status, fails here until the document says so.
func TestDocumentHasEveryStatusOfEveryCode(t *testing.T) {
	_, byStatus := documentCodes(t)
	for _, c := range apierr.Codes() {
		if status := apierr.StatusOf(c); !slices.Contains(byStatus[status], string(c)) {
			t.Errorf("the table answers %s with %d, which the document's %d response does not list", c, status, status)
		}
	}
	atDeadline := 0
	for _, root := range []string{"../internal", "../functions", "../cmd"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
				strings.Contains(path, "devtools") {
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
				if !ok || sel.Sel.Name != "AtDeadline" {
					return true
				}
				atDeadline++
				inner, ok := sel.X.(*ast.CallExpr)
				if !ok { // a variable: its code is not known here; the 504 response lists the chain's
					return true
				}
				code := ""
				for _, arg := range inner.Args {
					if s, ok := arg.(*ast.SelectorExpr); ok && isIdent(s.X, "apierr") && strings.HasPrefix(s.Sel.Name, "Code") {
						code = codeNamed(s.Sel.Name)
					}
				}
				if code == "" || !slices.Contains(byStatus[504], code) {
					t.Errorf("%s answers %q at the deadline (504), which the document's 504 response does not list", path, code)
				}
				return true
			})
			return nil
		})
	}
	if atDeadline == 0 {
		t.Fatal("found no AtDeadline in the source: the scan is broken")
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// codeNamed is the value of apierr's constant name, read from the table through package api's
// constants, which apierr's are.
func codeNamed(name string) string {
	f, err := parser.ParseFile(token.NewFileSet(), "api.go", nil, 0)
	if err != nil {
		return ""
	}
	for _, decl := range f.Decls {
		if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.CONST {
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && n.Name == name {
						v, _ := strconv.Unquote(lit.Value)
						return v
					}
				}
			}
		}
	}
	return ""
}
