package moneypath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/bankbot/bankbot/"

// scope is a part of the code that handles money: a whole package, one file
// of a package, or some functions of one file.
type scope struct {
	pkg   string   // relative to the module: "bankhooks"
	file  string   // "" = every non-test file of pkg
	funcs []string // nil = the whole file (or package)
}

// moneyPaths are the scopes that must not use floating point.
var moneyPaths = []scope{
	{pkg: "bankhooks"},       // every provider's amount parsing, ParseMajor, FormatMajor, Exponent
	{pkg: "bot/render"},      // FormatAmount, FormatMoney, digest totals
	{pkg: "store"},           // amount columns, amount search
	{pkg: "bot/eventsearch"}, // amounts typed in searches
	{pkg: "bot/chatops"},     // today / summary totals, amounts in replies
	{pkg: "bot/confirm"},     // amounts compared with the provider's API
	{pkg: "bot/config", file: "minamount.go"},
	{pkg: "bot/config", file: "validate.go", funcs: []string{"checkMinAmount"}},
	{pkg: "bot", file: "digest.go"}, // burst digests
	{pkg: "bot", file: "runtime.go", funcs: []string{"atLeastMin", "mentionAmount", "atLeast"}},
	{pkg: "bot", file: "confirmflow.go", funcs: []string{"money"}},
}

// allowed are the functions inside moneyPaths that may name a float type,
// each with the reason. A float anywhere else fails the test.
var allowed = []struct{ file, fn, reason string }{
	{"bot/config/minamount.go", "amountText",
		"Viper decodes a YAML number as float64 before bankbot sees it. Parse has already replaced every min_amount float by the text written in the file (exactAmounts); this fallback (YAML merge keys) prints the float in its shortest round-trip form and refuses one with more than 15 significant digits instead of guessing. No arithmetic."},
	{"bot/config/minamount.go", "isScalar",
		"names float64 in a type switch to accept what Viper decoded; no arithmetic."},
	{"bot/config/minamount.go", "exactAmount",
		"finds the float64 values Viper decoded in order to replace them by the number's text from the YAML node; no arithmetic."},
}

// listed is one package as go list -export -json describes it.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
}

// goList runs go list -export -deps on pkgs from the module root and returns
// every package by import path (export data of the dependencies comes from
// the build cache).
func goList(t *testing.T, pkgs ...string) map[string]listed {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go") // go test found a go, if not on PATH
	}
	cmd := exec.Command(goCmd, append([]string{"list", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export"}, pkgs...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	all := map[string]listed{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		all[p.ImportPath] = p
	}
	return all
}

// checker type-checks source files against the export data go list found.
type checker struct {
	fset *token.FileSet
	imp  types.Importer
}

func newChecker(all map[string]listed) *checker {
	fset := token.NewFileSet()
	lookup := func(path string) (io.ReadCloser, error) {
		p, ok := all[path]
		if !ok || p.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(p.Export)
	}
	return &checker{fset: fset, imp: importer.ForCompiler(fset, "gc", lookup)}
}

// finding is one expression or declaration of a float type.
type finding struct {
	file, fn string // fn is "" outside a function
	pos      token.Position
	what     string
}

// floats type-checks files (one package) and returns every expression and
// declared object whose type involves floating point.
func (c *checker) floats(path string, files []*ast.File) ([]finding, error) {
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: c.imp}
	if _, err := conf.Check(path, c.fset, files, info); err != nil {
		return nil, err
	}
	var out []finding
	add := func(n ast.Node, what string) {
		pos := c.fset.Position(n.Pos())
		out = append(out, finding{file: pos.Filename, fn: funcAt(files, n.Pos()), pos: pos, what: what})
	}
	for e, tv := range info.Types {
		if tv.Type != nil && hasFloat(tv.Type, 0) {
			add(e, fmt.Sprintf("%s has type %s", types.ExprString(e), tv.Type))
		}
	}
	for id, obj := range info.Defs {
		if obj != nil && hasFloat(obj.Type(), 0) {
			add(id, fmt.Sprintf("%s declared as %s", id.Name, obj.Type()))
		}
	}
	return out, nil
}

// hasFloat reports whether t is or directly holds a floating-point or
// complex number, or a math/big.Float: a basic type, or a pointer, slice,
// array, map, channel, tuple, function signature or unnamed struct built
// from one. A named struct type is not looked into (a *App is not a float
// because its metrics hold some).
func hasFloat(t types.Type, depth int) bool {
	if depth > 8 {
		return false
	}
	switch t := t.(type) {
	case *types.Basic:
		return t.Info()&(types.IsFloat|types.IsComplex) != 0
	case *types.Named:
		if o := t.Obj(); o.Pkg() != nil && o.Pkg().Path() == "math/big" && o.Name() == "Float" {
			return true
		}
		if b, ok := t.Underlying().(*types.Basic); ok {
			return hasFloat(b, depth+1)
		}
		return false
	case *types.Alias:
		return hasFloat(types.Unalias(t), depth+1)
	case *types.Pointer:
		return hasFloat(t.Elem(), depth+1)
	case *types.Slice:
		return hasFloat(t.Elem(), depth+1)
	case *types.Array:
		return hasFloat(t.Elem(), depth+1)
	case *types.Chan:
		return hasFloat(t.Elem(), depth+1)
	case *types.Map:
		return hasFloat(t.Key(), depth+1) || hasFloat(t.Elem(), depth+1)
	case *types.Tuple:
		for i := range t.Len() {
			if hasFloat(t.At(i).Type(), depth+1) {
				return true
			}
		}
	case *types.Signature:
		return hasFloat(t.Params(), depth+1) || hasFloat(t.Results(), depth+1)
	case *types.Struct:
		for i := range t.NumFields() {
			if hasFloat(t.Field(i).Type(), depth+1) {
				return true
			}
		}
	}
	return false
}

// funcAt names the top-level function or method declaration holding pos,
// "" when none does.
func funcAt(files []*ast.File, pos token.Pos) string {
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Pos() <= pos && pos < fd.End() {
				return fd.Name.Name
			}
		}
	}
	return ""
}

// TestNoFloatsOnMoneyPaths: no expression or declaration in a money path
// has a floating-point type (float32, float64, complex, big.Float, or a
// function, slice, map … of one), apart from the allowed table.
func TestNoFloatsOnMoneyPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks several packages")
	}
	var pkgs []string
	for _, s := range moneyPaths {
		if !slices.Contains(pkgs, "./"+s.pkg) {
			pkgs = append(pkgs, "./"+s.pkg)
		}
	}
	all := goList(t, pkgs...)
	c := newChecker(all)
	used := map[string]bool{}
	checked := 0
	for _, pkg := range pkgs {
		p, ok := all[module+strings.TrimPrefix(pkg, "./")]
		require.True(t, ok, pkg)
		// Listing the directory through package os makes go test's cache
		// depend on it: a file added to a money-path package reruns this.
		_, err := os.ReadDir(p.Dir)
		require.NoError(t, err)
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(c.fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			require.NoError(t, err)
			files = append(files, f)
		}
		found, err := c.floats(p.ImportPath, files)
		require.NoError(t, err, "type-check %s", pkg)
		rel := strings.TrimPrefix(pkg, "./")
		// Every named scope must exist, so a rename cannot quietly shrink
		// what is checked.
		for _, s := range moneyPaths {
			if s.pkg != rel {
				continue
			}
			checked++
			if s.file != "" {
				require.Contains(t, p.GoFiles, s.file, "%s/%s: no such file", s.pkg, s.file)
			}
			for _, fn := range s.funcs {
				require.True(t, declares(files, c.fset, s.file, fn), "%s/%s: no function %s", s.pkg, s.file, fn)
			}
		}
		slices.SortFunc(found, func(a, b finding) int {
			return strings.Compare(a.pos.String()+a.what, b.pos.String()+b.what)
		})
		for _, f := range found {
			file := rel + "/" + filepath.Base(f.file)
			if !inScope(rel, filepath.Base(f.file), f.fn) {
				continue
			}
			if i := slices.IndexFunc(allowed, func(a struct{ file, fn, reason string }) bool { return a.file == file && a.fn == f.fn }); i >= 0 {
				used[allowed[i].file+" "+allowed[i].fn] = true
				continue
			}
			t.Errorf("%s (in %s): floating point on a money path: %s", f.pos, orTop(f.fn), f.what)
		}
	}
	require.Equal(t, len(moneyPaths), checked)
	for _, a := range allowed {
		require.True(t, used[a.file+" "+a.fn], "allowed exception %s %s is no longer needed: remove it", a.file, a.fn)
	}
}

// inScope reports whether a finding in pkg's file, inside function fn, is
// on a money path.
func inScope(pkg, file, fn string) bool {
	for _, s := range moneyPaths {
		if s.pkg != pkg || (s.file != "" && s.file != file) {
			continue
		}
		if s.funcs == nil || slices.Contains(s.funcs, fn) {
			return true
		}
	}
	return false
}

// declares reports whether file (any file when "") declares function fn.
func declares(files []*ast.File, fset *token.FileSet, file, fn string) bool {
	for _, f := range files {
		if file != "" && filepath.Base(fset.Position(f.Pos()).Filename) != file {
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == fn {
				return true
			}
		}
	}
	return false
}

func orTop(fn string) string {
	if fn == "" {
		return "package level"
	}
	return fn
}

// TestFloatChecker_Catches proves the checker finds floats in the forms a
// money path could pick them up: a conversion, strconv.ParseFloat's result,
// a float literal, a big.Float, a []float64 field, and none in
// integer-only code.
func TestFloatChecker_Catches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	c := newChecker(goList(t, "strconv", "math/big"))
	for _, tc := range []struct {
		name, src string
		want      bool
	}{
		{"conversion", "func f(m int64) int64 { return int64(float64(m) * 1.1) }", true},
		{"parse float", `func f(s string) int64 { v, _ := strconv.ParseFloat(s, 64); _ = v; return 0 }`, true},
		{"float literal", "func f() int64 { r := 0.5; _ = r; return 0 }", true},
		{"integer written with an exponent", "func f(m int64) bool { return m > 1e3 }", false}, // exactly int64 1000
		{"big float", "func f() { var x big.Float; _ = x }", true},
		{"field", "type T struct{ Rates []float64 }", true},
		{"integers only", `func f(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v * 100 }
func g(a, b int64) *big.Int { return new(big.Int).Add(big.NewInt(a), big.NewInt(b)) }`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "package x\nimport (\n\"strconv\"\n\"math/big\"\n)\nvar _ = strconv.Itoa\nvar _ big.Int\n" + tc.src + "\n"
			f, err := parser.ParseFile(c.fset, tc.name+".go", src, 0)
			require.NoError(t, err)
			found, err := c.floats("x", []*ast.File{f})
			require.NoError(t, err)
			require.Equal(t, tc.want, len(found) > 0, "%v", found)
		})
	}
}
