package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The testdata layout, by directory:
//
//	valid/<type>/<name>.json              schema accepts, decoder accepts, Checker accepts
//	invalid/<type>/<reason>__<name>.json  schema rejects, decoder rejects with reason
//	stricter/<type>/<reason>__<name>.json schema accepts (it cannot express the rule),
//	                                      decoder rejects with reason
//	context/<type>/<reason>__<name>.json  schema and decoder accept, Checker rejects
//
// <type> is Type.String(). The Checker for valid/ and context/ is
// testChecker at testNow.

// testNow is the clock of the context examples.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testChecker knows the warehouses used by the examples.
func testChecker() *Checker {
	return &Checker{Warehouses: map[WarehouseID]struct{}{"WH-BER": {}, "WH-HAM": {}, "WH-MUC": {}}}
}

// example is one testdata file.
type example struct {
	name   string // file name without .json
	typ    Type
	reason Reason // from the file name; "" under valid/
	data   []byte
}

// examples reads testdata/<dir>/<type>/*.json.
func examples(t testing.TB, dir string) []example {
	t.Helper()
	var out []example
	for _, typ := range types {
		files, err := filepath.Glob(filepath.Join("testdata", dir, typ.String(), "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(filepath.Base(f), ".json")
			var reason Reason
			if dir != "valid" {
				r, _, ok := strings.Cut(name, "__")
				if !ok {
					t.Fatalf("%s: name is not <reason>__<name>.json", f)
				}
				reason = Reason(r)
			}
			out = append(out, example{name: typ.String() + "/" + name, typ: typ, reason: reason, data: b})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no examples in testdata/%s", dir)
	}
	return out
}

// compileSchemas compiles the embedded schema of every input type, with
// format assertions on (date-time is checked).
func compileSchemas(t testing.TB) map[Type]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := make(map[Type]*jsonschema.Schema)
	for topic, file := range SchemaFiles() {
		f, err := Schemas().Open(file)
		if err != nil {
			t.Fatalf("open schema %s: %v", file, err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		if cerr := f.Close(); cerr != nil {
			t.Fatalf("close schema %s: %v", file, cerr)
		}
		if err != nil {
			t.Fatalf("parse schema %s: %v", file, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if !strings.HasSuffix(id, "/"+file) {
			t.Fatalf("schema %s: $id %q does not end in its file name", file, id)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("add schema %s: %v", file, err)
		}
		sch, err := c.Compile(id) // also validates the schema against the 2020-12 metaschema
		if err != nil {
			t.Fatalf("compile schema %s: %v", file, err)
		}
		out[TypeOf(topic)] = sch
	}
	return out
}

// schemaCheck validates a record against a schema. A record that is not a
// JSON text (RFC 8259: well-formed and UTF-8) fails before the schema.
func schemaCheck(sch *jsonschema.Schema, b []byte) error {
	if !utf8.Valid(b) || !json.Valid(b) {
		return errors.New("not a JSON text")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func TestSchemaFiles(t *testing.T) {
	files := SchemaFiles()
	if len(files) != len(types) {
		t.Fatalf("SchemaFiles has %d topics, want %d", len(files), len(types))
	}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			if got := TypeOf(typ.Topic()); got != typ {
				t.Errorf("TypeOf(%q) = %v, want %v", typ.Topic(), got, typ)
			}
			file, ok := files[typ.Topic()]
			if !ok {
				t.Fatalf("no schema file for topic %s", typ.Topic())
			}
			if _, err := fs.Stat(Schemas(), file); err != nil {
				t.Errorf("schema file %s: %v", file, err)
			}
		})
	}
	if _, err := fs.Stat(Schemas(), "dlq.v1.md"); err != nil {
		t.Errorf("DLQ description: %v", err)
	}
	if TypeOf("stockflow.unknown.v1") != TypeUnknown || TypeUnknown.Topic() != "" {
		t.Error("unknown topic or type maps to something")
	}
}

// TestDLQDoc checks that the DLQ description names every header and reason.
func TestDLQDoc(t *testing.T) {
	doc, err := fs.ReadFile(Schemas(), "dlq.v1.md")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{HeaderSourceTopic, HeaderSourcePartition, HeaderSourceOffset, HeaderReason, HeaderMessage, HeaderEventType}
	for _, r := range Reasons() {
		names = append(names, string(r))
	}
	for _, n := range names {
		if !bytes.Contains(doc, []byte("`"+n+"`")) {
			t.Errorf("dlq.v1.md does not mention `%s`", n)
		}
	}
}

// TestSchemaAgreement proves that the schema files and the decoders agree,
// in both directions, on every example in testdata.
func TestSchemaAgreement(t *testing.T) {
	schemas := compileSchemas(t)
	check := testChecker()

	t.Run("valid", func(t *testing.T) {
		for _, ex := range examples(t, "valid") {
			t.Run(ex.name, func(t *testing.T) {
				if err := schemaCheck(schemas[ex.typ], ex.data); err != nil {
					t.Errorf("schema rejects a valid example: %v", err)
				}
				v, err := Decode(ex.typ, ex.data)
				if err != nil {
					t.Fatalf("decoder rejects a valid example: %v", err)
				}
				if err := checkEvent(check, v, testNow); err != nil {
					t.Errorf("checker rejects a valid example: %v", err)
				}
			})
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, ex := range examples(t, "invalid") {
			t.Run(ex.name, func(t *testing.T) {
				if err := schemaCheck(schemas[ex.typ], ex.data); err == nil {
					t.Errorf("schema accepts an invalid example (%s)", ex.reason)
				}
				_, err := Decode(ex.typ, ex.data)
				if got := ReasonOf(err); got != ex.reason {
					t.Errorf("decoder: reason %q (%v), want %q", got, err, ex.reason)
				}
			})
		}
	})
	t.Run("stricter", func(t *testing.T) {
		for _, ex := range examples(t, "stricter") {
			t.Run(ex.name, func(t *testing.T) {
				if err := schemaCheck(schemas[ex.typ], ex.data); err != nil {
					t.Errorf("schema now rejects this example, move it to invalid/: %v", err)
				}
				_, err := Decode(ex.typ, ex.data)
				if got := ReasonOf(err); got != ex.reason {
					t.Errorf("decoder: reason %q (%v), want %q", got, err, ex.reason)
				}
			})
		}
	})
	t.Run("context", func(t *testing.T) {
		for _, ex := range examples(t, "context") {
			t.Run(ex.name, func(t *testing.T) {
				if err := schemaCheck(schemas[ex.typ], ex.data); err != nil {
					t.Errorf("schema rejects a context example: %v", err)
				}
				v, err := Decode(ex.typ, ex.data)
				if err != nil {
					t.Fatalf("decoder rejects a context example: %v", err)
				}
				err = checkEvent(check, v, testNow)
				if got := ReasonOf(err); got != ex.reason {
					t.Errorf("checker: reason %q (%v), want %q", got, err, ex.reason)
				}
			})
		}
	})
}

// checkEvent runs the Checker method for a decoded event.
func checkEvent(c *Checker, v any, now time.Time) error {
	switch e := v.(type) {
	case *Sale:
		return c.CheckSale(e, now)
	case *Stock:
		return c.CheckStock(e, now)
	case *Order:
		return c.CheckOrder(e, now)
	case *Campaign:
		return c.CheckCampaign(e, now)
	}
	return errors.New("checkEvent: not an event")
}

// TestSchemaAcceptsGenerated checks that what encoding/json writes from
// random valid events passes the schemas.
func TestSchemaAcceptsGenerated(t *testing.T) {
	schemas := compileSchemas(t)
	r := newRand(t)
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			for range 300 {
				b, err := json.Marshal(gen(r, typ))
				if err != nil {
					t.Fatal(err)
				}
				if err := schemaCheck(schemas[typ], b); err != nil {
					t.Fatalf("schema rejects %s: %v", b, err)
				}
			}
		})
	}
}

// TestStockKinds checks that the schema's kinds are exactly the Go kinds.
func TestStockKinds(t *testing.T) {
	b, err := fs.ReadFile(Schemas(), "stock.v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Properties struct {
			Kind struct {
				Enum []StockKind `json:"enum"`
			} `json:"kind"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Properties.Kind.Enum
	if len(enum) != len(kinds) {
		t.Fatalf("schema kinds %v, Go kinds %v", enum, kinds)
	}
	for i, k := range enum {
		if k != kinds[i] || !k.Valid() {
			t.Errorf("schema kind %d is %q, Go kind %q (valid %v)", i, k, kinds[i], k.Valid())
		}
	}
	if StockKind("Receipt").Valid() {
		t.Error("kinds are case-sensitive")
	}
}
