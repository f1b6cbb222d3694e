// Package eventtest helps tests of other packages check records against
// the event contract's embedded JSON Schema files. It imports the event
// package and the schema validator; only tests import it.
package eventtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/stockflow/stockflow/internal/event"
)

// Schema compiles one file of event.Schemas() (draft 2020-12, formats
// asserted) and fails t when it cannot, or when its $id does not end in its
// file name.
func Schema(t testing.TB, file string) *jsonschema.Schema {
	t.Helper()
	f, err := event.Schemas().Open(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	if cerr := f.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatalf("parse schema %s: %v", file, err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	if !strings.HasSuffix(id, "/"+file) {
		t.Fatalf("schema %s: $id %q does not end in its file name", file, id)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile schema %s: %v", file, err)
	}
	return sch
}

// Validate checks that b is a JSON text (well-formed, UTF-8) that sch
// accepts.
func Validate(sch *jsonschema.Schema, b []byte) error {
	if !utf8.Valid(b) || !json.Valid(b) {
		return errors.New("not a JSON text")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
