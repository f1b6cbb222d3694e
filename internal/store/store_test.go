package store_test

import (
	"errors"
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
)

func TestParamNames(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"SELECT 1", nil},
		{"SELECT {a:String}, {b:UInt8}, {a:String}", []string{"a", "b"}},
		{"SELECT { spaced : Int64 }", []string{"spaced"}},
		{"SELECT '{x:String}', \"{y:String}\", `{z:String}`", nil},
		{"SELECT 'it''s {x:String}' -- {y:String}\n, {real:String}", []string{"real"}},
		{"SELECT /* {x:String} */ {t:Identifier}", []string{"t"}},
		{"SELECT 'a\\'{x:String}', map('k', 1)", nil},
		{"SELECT {1:UInt8}", []string{"1"}},
		{"SELECT {}", nil},
	}
	for _, tc := range tests {
		if got := store.ParamNames(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("ParamNames(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestCheckParams(t *testing.T) {
	if err := store.CheckParams("SELECT {a:String}", []store.Param{{Name: "a"}}); err != nil {
		t.Error(err)
	}
	if err := store.CheckParams("SELECT {a:String}", nil); !errors.Is(err, store.ErrMissingParam) {
		t.Errorf("missing: %v", err)
	}
	if err := store.CheckParams("SELECT 1", []store.Param{{Name: "a; DROP"}}); err == nil {
		t.Error("bad parameter name accepted")
	}
}

func TestSplitStatements(t *testing.T) {
	text := "-- header comment\n\nCREATE TABLE a\n(\n    x UInt8 -- trailing; not the end\n);\n-- only a comment;\n\nSELECT 1;  \nSELECT 2\n"
	got := store.SplitStatements(text)
	want := []string{"-- header comment\n\nCREATE TABLE a\n(\n    x UInt8 -- trailing; not the end\n)", "SELECT 1", "SELECT 2"}
	if !slices.Equal(got, want) {
		t.Errorf("SplitStatements = %q, want %q", got, want)
	}
}

func TestQuoting(t *testing.T) {
	if got := store.QuoteString("a'b\\c\n\x00"); got != `'a\'b\\c\n\0'` {
		t.Errorf("QuoteString = %s", got)
	}
	if got := store.QuoteIdent("we`ird"); got != "`we\\`ird`" {
		t.Errorf("QuoteIdent = %s", got)
	}
	if got := store.StringParam("p", "a\tb\\").Value; got != `a\tb\\` {
		t.Errorf("StringParam = %s", got)
	}
	if got := store.ArrayParam("p", []string{"a", "b'c"}).Value; got != `['a','b\'c']` {
		t.Errorf("ArrayParam = %s", got)
	}
	if got := store.FormatTime(time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))); got != "2024-01-02 02:04:05.000000006" {
		t.Errorf("FormatTime = %s", got)
	}
	for _, ok := range []string{"sales", "_x1"} {
		if err := store.ValidIdent(ok); err != nil {
			t.Errorf("ValidIdent(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1a", "a-b", "a.b", "a b", "a`"} {
		if store.ValidIdent(bad) == nil {
			t.Errorf("ValidIdent(%q) accepted", bad)
		}
	}
	if store.ValidColumn("lines.sku") != nil || store.ValidColumn("lines.") == nil || store.ValidColumn("a..b") == nil {
		t.Error("ValidColumn dotted names")
	}
}

func TestSplitExceptionName(t *testing.T) {
	tests := []struct{ in, msg, name string }{
		{"Table x does not exist. (UNKNOWN_TABLE)", "Table x does not exist.", "UNKNOWN_TABLE"},
		{"Syntax error (at 3). (SYNTAX_ERROR) (version 26.7.2.1 (official build))", "Syntax error (at 3).", "SYNTAX_ERROR"},
		{"no name here", "no name here", ""},
		{"ends (with lower)", "ends (with lower)", ""},
	}
	for _, tc := range tests {
		msg, name := store.SplitExceptionName(tc.in)
		if msg != tc.msg || name != tc.name {
			t.Errorf("SplitExceptionName(%q) = %q, %q; want %q, %q", tc.in, msg, name, tc.msg, tc.name)
		}
	}
}

func TestAccessors(t *testing.T) {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &store.Result{
		Columns: []store.Column{{"i", "Int64"}, {"u", "UInt64"}, {"f", "Float64"}, {"s", "String"}, {"t", "DateTime64(3, 'UTC')"}, {"b", "Bool"}, {"a", "Array(String)"}},
		Rows:    [][]any{{int64(-1), uint64(math.MaxUint64), 1.5, "x", ts, true, []any{"p", "q"}}},
	}
	if v, err := r.Int64(0, 0); err != nil || v != -1 {
		t.Errorf("Int64 = %v, %v", v, err)
	}
	if v, err := r.Uint64(0, 1); err != nil || v != math.MaxUint64 {
		t.Errorf("Uint64 = %v, %v", v, err)
	}
	if _, err := r.Int64(0, 1); err == nil {
		t.Error("Int64 of MaxUint64 accepted")
	}
	if v, err := r.Float64(0, 2); err != nil || v != 1.5 {
		t.Errorf("Float64 = %v, %v", v, err)
	}
	if v, err := r.String(0, 3); err != nil || v != "x" {
		t.Errorf("String = %v, %v", v, err)
	}
	if v, err := r.Time(0, 4); err != nil || !v.Equal(ts) {
		t.Errorf("Time = %v, %v", v, err)
	}
	if v, err := r.Bool(0, 5); err != nil || !v {
		t.Errorf("Bool = %v, %v", v, err)
	}
	if v, err := r.Strings(0, 6); err != nil || !slices.Equal(v, []string{"p", "q"}) {
		t.Errorf("Strings = %v, %v", v, err)
	}
	if _, err := r.String(0, 0); err == nil {
		t.Error("String of an int accepted")
	}
	if _, err := r.Int64(1, 0); err == nil {
		t.Error("row out of range accepted")
	}
	if i := r.ColumnIndex("t"); i != 4 {
		t.Errorf("ColumnIndex = %d", i)
	}
	if m := r.Maps(); m[0]["s"] != "x" {
		t.Errorf("Maps = %v", m)
	}
	var ce *store.ConvertError
	if _, err := store.AsInt64("1"); !errors.As(err, &ce) {
		t.Errorf("AsInt64 error type %T", err)
	}
	if f := store.DecimalFloat(big.NewInt(-12345), 3); f != -12.345 {
		t.Errorf("DecimalFloat = %v", f)
	}
}

func TestBatchValidate(t *testing.T) {
	ok := &store.Batch{Table: "orders", Columns: []string{"lines.sku"}, Rows: [][]any{{[]string{"a"}}}}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	for _, b := range []*store.Batch{
		nil,
		{Table: "t"},
		{Table: "db.t", Columns: []string{"x"}},
		{Table: "t", Columns: []string{"x;"}},
		{Table: "t", Columns: []string{"x"}, Rows: [][]any{{}}},
	} {
		if b.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", b)
		}
	}
}
