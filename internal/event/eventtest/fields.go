package eventtest

import (
	"encoding/json"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// Fields checks a schema file of event.Schemas() field by field against
// the Go type its records are marshalled from: with closed, every object
// closes its properties (additionalProperties false, as output topics do;
// input schemas let producers add fields); its property names are the
// type's JSON names, and a field is required exactly when its tag has no
// omitempty. Nested structs (and slices of them) are checked against the
// schema object they point to, through a local $ref or an array's items.
// A field added to a type without its schema fails here.
func Fields(t *testing.T, file string, typ reflect.Type, closed bool) {
	t.Helper()
	raw, err := fs.ReadFile(event.Schemas(), file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	defs, _ := doc["$defs"].(map[string]any)
	// resolve follows a local $ref and the items of an array.
	resolve := func(v any) map[string]any {
		m, _ := v.(map[string]any)
		if items, ok := m["items"]; ok {
			m, _ = items.(map[string]any)
		}
		if ref, ok := m["$ref"].(string); ok {
			m, _ = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		return m
	}
	var check func(path string, obj map[string]any, typ reflect.Type)
	check = func(path string, obj map[string]any, typ reflect.Type) {
		if ap, ok := obj["additionalProperties"].(bool); closed && (!ok || ap) {
			t.Errorf("%s: the schema allows properties the type does not write", path)
		}
		props, _ := obj["properties"].(map[string]any)
		var req []string
		reqs, _ := obj["required"].([]any)
		for _, r := range reqs {
			name, _ := r.(string)
			req = append(req, name)
		}
		var fields, required []string
		for f := range typ.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Fatalf("%s: field %s has no JSON name", path, f.Name)
			}
			fields = append(fields, name)
			if !slices.Contains(strings.Split(opts, ","), "omitempty") {
				required = append(required, name)
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
				check(path+"."+name, resolve(props[name]), ft)
			}
		}
		slices.Sort(fields)
		slices.Sort(required)
		slices.Sort(req)
		if got := slices.Sorted(maps.Keys(props)); !slices.Equal(got, fields) {
			t.Errorf("%s: schema properties %v\nwant the type's fields %v", path, got, fields)
		}
		if !slices.Equal(req, required) {
			t.Errorf("%s: schema requires %v\nwant the fields without omitempty %v", path, req, required)
		}
	}
	check(file, doc, typ)
}
