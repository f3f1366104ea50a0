// Command funcsize reports each function's length and cyclomatic complexity, the largest first,
// and fails when a function is longer than -max lines: what no one can hold in their head is
// split before it lands. make lint runs it over every package.
//
//	go run ./cmd/funcsize [-max 80] [-top 15] [dir ...]
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type fn struct {
	name       string
	pos        token.Position
	lines, cyc int
}

func main() {
	max := flag.Int("max", 80, "longest function allowed, in lines")
	top := flag.Int("top", 15, "how many of the most complex functions to list")
	tests := flag.Bool("tests", false, "include _test.go files")
	flag.Parse()
	dirs := flag.Args()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var fns []fn
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != dir || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || (!*tests && strings.HasSuffix(path, "_test.go")) {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			fns = append(fns, measure(fset, f)...)
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "funcsize:", err)
			os.Exit(2)
		}
	}
	sort.Slice(fns, func(i, j int) bool {
		return fns[i].cyc > fns[j].cyc || fns[i].cyc == fns[j].cyc && fns[i].lines > fns[j].lines
	})
	fmt.Printf("funcsize: %d functions; the %d most complex (cyclomatic complexity, lines):\n", len(fns), min(*top, len(fns)))
	for _, f := range fns[:min(*top, len(fns))] {
		fmt.Printf("  %3d %4d  %s  %s:%d\n", f.cyc, f.lines, f.name, f.pos.Filename, f.pos.Line)
	}
	long := 0
	for _, f := range fns {
		if f.lines > *max {
			fmt.Printf("funcsize: %s (%s:%d) is %d lines, over %d: split it\n", f.name, f.pos.Filename, f.pos.Line, f.lines, *max)
			long++
		}
	}
	if long > 0 {
		os.Exit(1)
	}
}

// measure returns every function and method declared in f, with function literals counted as
// part of the function that holds them.
func measure(fset *token.FileSet, f *ast.File) []fn {
	var out []fn
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) == 1 {
			name = "(" + exprString(fd.Recv.List[0].Type) + ")." + name
		}
		start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
		out = append(out, fn{name: name, pos: start, lines: end.Line - start.Line + 1, cyc: complexity(fd.Body)})
	}
	return out
}

// complexity is 1 plus one for each branch: if, for, range, case, select case, && and ||.
func complexity(body ast.Node) int {
	c := 1
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if n.List != nil {
				c++
			}
		case *ast.CommClause:
			if n.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if n.Op == token.LAND || n.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return "*" + exprString(e.X)
	case *ast.Ident:
		return e.Name
	case *ast.IndexExpr:
		return exprString(e.X)
	case *ast.IndexListExpr:
		return exprString(e.X)
	}
	return "?"
}
