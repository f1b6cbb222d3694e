package api

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/sql"
)

// registeredPatterns reads the package's sources and returns the string
// literal patterns passed to mux.HandleFunc and mux.Handle, plus the query
// routes (registered in a loop).
func registeredPatterns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true // the query routes' loop; added below
			}
			p, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
			return true
		})
	}
	for _, r := range QueryRoutes {
		out = append(out, "GET "+r.Path)
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	b, err := json.Marshal(OpenAPI("v-test"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	var documented []string
	ids := map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q empty or repeated", method, path, id)
			}
			ids[id] = true
		}
	}
	slices.Sort(documented)
	registered := registeredPatterns(t)
	for _, p := range registered {
		if !slices.Contains(documented, p) {
			t.Errorf("route %q is registered but not in the OpenAPI description (add it to staticOps)", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(registered, p) {
			t.Errorf("the OpenAPI description has %q, but no such route is registered", p)
		}
	}
}

func TestQueryRoutes(t *testing.T) {
	names := map[string]bool{}
	paths := map[string]bool{}
	for _, r := range QueryRoutes {
		t.Run(r.Name, func(t *testing.T) {
			if names[r.Name] || paths[r.Path] {
				t.Fatalf("name %q or path %q repeated", r.Name, r.Path)
			}
			names[r.Name], paths[r.Path] = true, true
			if !strings.HasPrefix(r.Path, "/api/v1/") || r.Shape != ShapeTable && r.Shape != ShapeTimeSeries || r.Summary == "" {
				t.Fatalf("incomplete route %+v", r)
			}
			q, err := sql.Query(r.Query)
			if err != nil {
				t.Fatal(err)
			}
			// Every placeholder has a URL parameter, so binding never fails
			// for a request without parameters.
			ps, err := bindParams(r, nil, fixtureNow)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.CheckParams(q, ps); err != nil {
				t.Fatal(err)
			}
			if r.Shape == ShapeTimeSeries && !strings.Contains(q, "AS time") {
				t.Errorf("time series query %s has no time column", r.Query)
			}
			for k := range maps.Keys(r.Fixed) {
				if !slices.ContainsFunc(routeParams(r), func(n string) bool { return params[n].URL == k }) {
					t.Errorf("fixed parameter %s is not used by %s", k, r.Query)
				}
			}
		})
	}
	// Every api_*.sql file is served.
	for _, n := range sql.QueryNames() {
		if strings.HasPrefix(n, "api_") && !slices.ContainsFunc(QueryRoutes, func(r QueryRoute) bool { return r.Query == n }) {
			t.Errorf("query %s has no route", n)
		}
	}
}

func TestBindParams(t *testing.T) {
	r, _ := QueryRouteByName("reorders")
	tests := []struct {
		name    string
		values  map[string][]string
		want    map[string]string
		wantErr string
	}{
		{name: "defaults", want: map[string]string{"skus": "[]", "kind": "", "status": "", "limit": "1000",
			"from": "2025-12-21 12:00:00.000000000", "to": "2026-01-20 12:00:00.000000000"}},
		{name: "lists, repeated and comma-separated", values: map[string][]string{"sku": {"A,B", "C"}, "warehouse": {" W1 "}},
			want: map[string]string{"skus": "['A','B','C']", "warehouses": "['W1']"}},
		{name: "quotes are escaped", values: map[string][]string{"sku": {`x'y\z`}}, want: map[string]string{"skus": `['x\'y\\z']`}},
		{name: "date", values: map[string][]string{"from": {"2026-01-02"}}, want: map[string]string{"from": "2026-01-02 00:00:00.000000000"}},
		{name: "rfc3339 with zone", values: map[string][]string{"to": {"2026-01-02T03:00:00+02:00"}}, want: map[string]string{"to": "2026-01-02 01:00:00.000000000"}},
		{name: "not a number", values: map[string][]string{"limit": {"ten"}}, wantErr: "limit"},
		{name: "not an integer", values: map[string][]string{"limit": {"1.5"}}, wantErr: "limit"},
		{name: "bad time", values: map[string][]string{"to": {"soon"}}, wantErr: "to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := bindParams(r, tc.values, fixtureNow)
			if tc.wantErr != "" {
				pe := (*ParamError)(nil)
				if !errors.As(err, &pe) || pe.Param != tc.wantErr {
					t.Fatalf("error %v, want a ParamError for %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, p := range ps {
				got[p.Name] = p.Value
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
