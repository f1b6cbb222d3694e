package chtype

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Type
	}{
		{"String", Type{Name: "String", Raw: "String"}},
		{"DateTime64(3, 'UTC')", Type{Name: "DateTime64", Args: []string{"3", "UTC"}, Raw: "DateTime64(3, 'UTC')"}},
		{"LowCardinality(Nullable(String))", Type{Name: "LowCardinality", Raw: "LowCardinality(Nullable(String))", Elems: []Type{
			{Name: "Nullable", Raw: "Nullable(String)", Elems: []Type{{Name: "String", Raw: "String"}}}}}},
		{"Tuple(sku String, qty Int64)", Type{Name: "Tuple", Raw: "Tuple(sku String, qty Int64)", ElemNames: []string{"sku", "qty"},
			Elems: []Type{{Name: "String", Raw: "String"}, {Name: "Int64", Raw: "Int64"}}}},
		{"Tuple(\n    `a b` Array(UInt8),\n    c Map(String, UInt8))", Type{Name: "Tuple", Raw: "Tuple(\n    `a b` Array(UInt8),\n    c Map(String, UInt8))",
			ElemNames: []string{"a b", "c"}, Elems: []Type{
				{Name: "Array", Raw: "Array(UInt8)", Elems: []Type{{Name: "UInt8", Raw: "UInt8"}}},
				{Name: "Map", Raw: "Map(String, UInt8)", Elems: []Type{{Name: "String", Raw: "String"}, {Name: "UInt8", Raw: "UInt8"}}},
			}}},
		{"Enum8('a,b' = 1, 'c''d' = -2)", Type{Name: "Enum8", Args: []string{"'a,b' = 1", "'c''d' = -2"}, Raw: "Enum8('a,b' = 1, 'c''d' = -2)"}},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) =\n %#v\nwant\n %#v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "Array(", "Array(String", "Map(String)", "Array()"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	e, _ := Parse("Enum8('a,b' = 1, 'c''d' = -2)")
	m, err := e.Enum()
	if err != nil || m[1] != "a,b" || m[-2] != "c'd" {
		t.Errorf("Enum() = %v, %v", m, err)
	}
	for in, want := range map[string]int{"Decimal(18, 3)": 3, "Decimal64(4)": 4, "DateTime64(6, 'UTC')": 6} {
		typ, _ := Parse(in)
		if s, err := typ.Scale(); err != nil || s != want {
			t.Errorf("Scale(%s) = %d, %v", in, s, err)
		}
	}
}
