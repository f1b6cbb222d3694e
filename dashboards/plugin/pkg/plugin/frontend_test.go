package plugin

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/stockflow/stockflow/internal/api"
)

// frontendQueryType is an entry of the frontend's query type list,
// dashboards/plugin/src/queryTypes.json, which the query editor's
// dropdown and per-type fields are built from.
type frontendQueryType struct {
	Value       string   `json:"value"`
	Label       string   `json:"label"`
	Description string   `json:"description"`
	Shape       string   `json:"shape"`
	Params      []string `json:"params"`
}

// TestFrontendQueryTypes keeps the frontend's query types in step with
// the API: every route is offered under its name, with its shape (the
// editor offers wide/long for time series) and exactly the URL parameters
// the route takes (the editor shows a field for each), and nothing else
// is offered as a backend query type.
func TestFrontendQueryTypes(t *testing.T) {
	b, err := os.ReadFile("../../src/queryTypes.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var types []frontendQueryType
	if err := dec.Decode(&types); err != nil {
		t.Fatalf("decode queryTypes.json: %v", err)
	}
	params := routeParams(t)

	byName := map[string]frontendQueryType{}
	for _, qt := range types {
		if _, dup := byName[qt.Value]; dup {
			t.Errorf("queryTypes.json lists %q twice", qt.Value)
		}
		byName[qt.Value] = qt
		if _, ok := api.QueryRouteByName(qt.Value); !ok {
			t.Errorf("queryTypes.json offers %q, which is not an API query route (internal/api QueryRoutes)", qt.Value)
		}
	}
	for _, r := range api.QueryRoutes {
		t.Run(r.Name, func(t *testing.T) {
			qt, ok := byName[r.Name]
			if !ok {
				t.Fatalf("queryTypes.json does not offer the API route %q", r.Name)
			}
			if qt.Label == "" || qt.Description == "" {
				t.Errorf("label %q, description %q: want both", qt.Label, qt.Description)
			}
			if qt.Shape != string(r.Shape) {
				t.Errorf("shape %q, want %q", qt.Shape, r.Shape)
			}
			got, want := slices.Sorted(slices.Values(qt.Params)), params[r.Path]
			if !slices.Equal(got, want) {
				t.Errorf("params %v, want the route's URL parameters %v", got, want)
			}
		})
	}
}

// routeParams are the sorted URL query parameters of each GET route in
// the API's OpenAPI description, by path.
func routeParams(t *testing.T) map[string][]string {
	t.Helper()
	b, err := json.Marshal(api.OpenAPI("test"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for path, ops := range doc.Paths {
		for _, p := range ops["get"].Parameters {
			if p.In == "query" {
				out[path] = append(out[path], p.Name)
			}
		}
		slices.Sort(out[path])
	}
	return out
}
