// Package chtype parses ClickHouse data type names such as
// "Array(Tuple(sku String, qty Int64))" or "DateTime64(3, 'UTC')" into a
// tree, so that both store implementations decode and normalise values by
// the same rules. It imports only the standard library.
package chtype

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is one parsed ClickHouse type.
type Type struct {
	// Name is the type constructor, e.g. "Array", "DateTime64", "String".
	Name string
	// Elems are the nested types of Array, Nullable, LowCardinality, Tuple,
	// Map (key, value), and the value type of SimpleAggregateFunction.
	Elems []Type
	// ElemNames holds the element names of a named Tuple (same length as
	// Elems), nil otherwise.
	ElemNames []string
	// Args are the non-type arguments as written: precision and time zone
	// of DateTime64 (time zones unquoted), N of FixedString, P and S of
	// Decimal, the "'name' = value" entries of Enum8/Enum16.
	Args []string
	// Raw is the type exactly as given.
	Raw string
}

// String returns the type as it was written.
func (t Type) String() string { return t.Raw }

// Parse parses a ClickHouse type name.
func Parse(s string) (Type, error) {
	t, err := parse(strings.TrimSpace(s))
	if err != nil {
		return Type{}, fmt.Errorf("parse clickhouse type %q: %w", s, err)
	}
	return t, nil
}

func parse(s string) (Type, error) {
	t := Type{Raw: s}
	open := strings.IndexByte(s, '(')
	if open < 0 {
		if s == "" {
			return t, fmt.Errorf("empty type")
		}
		t.Name = s
		return t, nil
	}
	if !strings.HasSuffix(s, ")") {
		return t, fmt.Errorf("unbalanced parentheses")
	}
	t.Name = strings.TrimSpace(s[:open])
	args, err := splitTop(s[open+1 : len(s)-1])
	if err != nil {
		return t, err
	}
	switch t.Name {
	case "Array", "Nullable", "LowCardinality", "Map":
		for _, a := range args {
			e, err := parse(a)
			if err != nil {
				return t, err
			}
			t.Elems = append(t.Elems, e)
		}
		want := 1
		if t.Name == "Map" {
			want = 2
		}
		if len(t.Elems) != want {
			return t, fmt.Errorf("%s takes %d type arguments, got %d", t.Name, want, len(t.Elems))
		}
	case "Tuple", "Nested":
		named := false
		for _, a := range args {
			name, typ := splitName(a)
			if name != "" {
				named = true
			}
			e, err := parse(typ)
			if err != nil {
				return t, err
			}
			t.Elems = append(t.Elems, e)
			t.ElemNames = append(t.ElemNames, name)
		}
		if !named {
			t.ElemNames = nil
		}
	case "SimpleAggregateFunction":
		if len(args) != 2 {
			return t, fmt.Errorf("SimpleAggregateFunction takes 2 arguments, got %d", len(args))
		}
		e, err := parse(args[1])
		if err != nil {
			return t, err
		}
		t.Args = []string{args[0]}
		t.Elems = []Type{e}
	default:
		for _, a := range args {
			if len(a) >= 2 && a[0] == '\'' && a[len(a)-1] == '\'' && !strings.Contains(t.Name, "Enum") {
				u, err := unquote(a)
				if err != nil {
					return t, err
				}
				a = u
			}
			t.Args = append(t.Args, a)
		}
	}
	return t, nil
}

// splitTop splits s at commas that are outside parentheses and quotes, and
// trims each part.
func splitTop(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '`', '"':
			j, err := skipQuoted(s, i)
			if err != nil {
				return nil, err
			}
			i = j
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced parentheses")
			}
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses")
	}
	if last := strings.TrimSpace(s[start:]); last != "" || len(parts) > 0 {
		parts = append(parts, last)
	}
	return parts, nil
}

// skipQuoted returns the index of the quote closing the one at s[i].
func skipQuoted(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j, nil
		}
	}
	return 0, fmt.Errorf("unterminated quote")
}

// splitName splits a tuple element "name Type" (or "`a b` Type") into its
// name and type; an unnamed element returns "" and the element.
func splitName(a string) (name, typ string) {
	if strings.HasPrefix(a, "`") || strings.HasPrefix(a, `"`) {
		j, err := skipQuoted(a, 0)
		if err != nil {
			return "", a
		}
		n, err := unquote(a[:j+1])
		if err != nil {
			return "", a
		}
		return n, strings.TrimSpace(a[j+1:])
	}
	sp := strings.IndexByte(a, ' ')
	paren := strings.IndexByte(a, '(')
	if sp < 0 || (paren >= 0 && paren < sp) {
		return "", a
	}
	return a[:sp], strings.TrimSpace(a[sp+1:])
}

// unquote removes ClickHouse quotes ('…', `…` or "…") with backslash escapes
// and doubled quotes.
func unquote(s string) (string, error) {
	if len(s) < 2 {
		return "", fmt.Errorf("bad quoted string %q", s)
	}
	q := s[0]
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(body[i])
			}
		case c == q && i+1 < len(body) && body[i+1] == q:
			b.WriteByte(q)
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Unwrap strips LowCardinality and SimpleAggregateFunction wrappers, which
// do not change how values are represented.
func (t Type) Unwrap() Type {
	for (t.Name == "LowCardinality" || t.Name == "SimpleAggregateFunction") && len(t.Elems) == 1 {
		t = t.Elems[0]
	}
	return t
}

// Enum returns the value → name mapping of an Enum8 or Enum16 type.
func (t Type) Enum() (map[int64]string, error) {
	m := make(map[int64]string, len(t.Args))
	for _, a := range t.Args {
		eq := strings.LastIndexByte(a, '=')
		if eq < 0 {
			return nil, fmt.Errorf("enum entry %q has no value", a)
		}
		name, err := unquote(strings.TrimSpace(a[:eq]))
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseInt(strings.TrimSpace(a[eq+1:]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("enum entry %q: %w", a, err)
		}
		m[v] = name
	}
	return m, nil
}

// Scale returns the decimal scale of a Decimal type (Decimal(P, S),
// Decimal32(S) …), and the precision in digits of DateTime64.
func (t Type) Scale() (int, error) {
	var arg string
	switch {
	case t.Name == "Decimal" && len(t.Args) == 2:
		arg = t.Args[1]
	case (strings.HasPrefix(t.Name, "Decimal") || t.Name == "DateTime64") && len(t.Args) >= 1:
		arg = t.Args[0]
	default:
		return 0, fmt.Errorf("type %s has no scale", t.Raw)
	}
	return strconv.Atoi(strings.TrimSpace(arg))
}
