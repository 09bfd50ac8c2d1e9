package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the most lines a function of the module's code may
// span, from its func keyword to its closing brace. The house aims at 80;
// this bound is where a function has clearly become several.
const maxFuncLines = 100

// tableFuncs are functions that are tables (one case per entry), exempt
// from maxFuncLines: splitting them would only scatter the table.
var tableFuncs = map[string]bool{
	"internal/errpage/status.go StatusText": true, // RFC 9110 §15 reason phrases
}

// TestNoLongFunctions walks internal/ and cmd/ (test files left out: their
// long functions are table tests) and fails for each function longer than
// maxFuncLines lines that is not a table.
func TestNoLongFunctions(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Body == nil || tableFuncs[filepath.ToSlash(rel)+" "+fd.Name.Name] {
					continue
				}
				start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
				if n := end.Line - start.Line + 1; n > maxFuncLines {
					t.Errorf("%s:%d: %s is %d lines, over %d: split it", filepath.ToSlash(rel), start.Line, fd.Name.Name, n, maxFuncLines)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
