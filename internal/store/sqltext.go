package store

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ValidIdent reports whether name is a plain identifier ([A-Za-z_] then
// [A-Za-z0-9_]*), the form stockflow uses for databases and tables. Column
// names may also contain dots, for Nested sub-columns such as lines.sku.
func ValidIdent(name string) error {
	return validName(name, false)
}

func validName(name string, dots bool) error {
	if name == "" {
		return fmt.Errorf("empty identifier")
	}
	if len(name) > 200 {
		return fmt.Errorf("identifier %.20q… longer than 200 bytes", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && c >= '0' && c <= '9':
		case i > 0 && dots && c == '.' && name[i-1] != '.' && i < len(name)-1:
		default:
			return fmt.Errorf("identifier %q: character %q at %d not allowed", name, c, i)
		}
	}
	return nil
}

// ValidColumn is ValidIdent that also admits dotted Nested sub-columns.
func ValidColumn(name string) error { return validName(name, true) }

// QuoteIdent quotes an identifier with backticks.
func QuoteIdent(name string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(name) + "`"
}

// quoteEscaper escapes a string for a single-quoted ClickHouse literal. The
// same rules are what clickhouse-go applies to parameter values, so a value
// written through QuoteString reads back byte for byte.
var quoteEscaper = strings.NewReplacer(
	`\`, `\\`,
	`'`, `\'`,
	"\n", `\n`,
	"\r", `\r`,
	"\t", `\t`,
	"\x00", `\0`,
)

// QuoteString returns s as a single-quoted ClickHouse string literal.
func QuoteString(s string) string { return "'" + quoteEscaper.Replace(s) + "'" }

// escapedText escapes s for ClickHouse's "escaped" text format (TSV rules),
// the format parameter values are parsed in.
var escapedText = strings.NewReplacer(
	`\`, `\\`,
	"\t", `\t`,
	"\n", `\n`,
	"\r", `\r`,
	"\x00", `\0`,
)

// StringParam builds a parameter for a String placeholder whose value is
// taken literally (backslashes, tabs and newlines included).
func StringParam(name, value string) Param {
	return Param{Name: name, Value: escapedText.Replace(value)}
}

// IntParam builds a parameter for an integer placeholder.
func IntParam(name string, v int64) Param {
	return Param{Name: name, Value: strconv.FormatInt(v, 10)}
}

// TimeParam builds a parameter for a DateTime64 placeholder (UTC, with
// nanoseconds; the placeholder's type decides the precision kept).
func TimeParam(name string, t time.Time) Param {
	return Param{Name: name, Value: FormatTime(t)}
}

// ArrayParam builds a parameter for an Array(String) placeholder.
func ArrayParam(name string, values []string) Param {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(QuoteString(v))
	}
	b.WriteByte(']')
	return Param{Name: name, Value: b.String()}
}

// FormatTime renders t in UTC as ClickHouse's text form of DateTime64(9):
// "2006-01-02 15:04:05.000000000". Columns of lower precision truncate the
// extra digits, as the native protocol does.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000000000")
}

// FormatFloat renders f the way ClickHouse reads it back exactly, with
// nan/inf spelled as ClickHouse spells them.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// ParamNames lists the distinct {name:Type} placeholders of query, in order
// of first use, skipping string literals, quoted identifiers and comments.
func ParamNames(query string) []string {
	var names []string
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(query, i)
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			i = skipTo(query, i, "\n")
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			i = skipTo(query, i+2, "*/") + 1
		case c == '{':
			name, ok := placeholder(query[i+1:])
			if ok && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

// CheckParams returns an error wrapping ErrMissingParam when query uses a
// placeholder that params do not supply, and an error for a parameter whose
// name is not an identifier.
func CheckParams(query string, params []Param) error {
	for _, p := range params {
		if err := ValidIdent(p.Name); err != nil {
			return fmt.Errorf("query parameter: %w", err)
		}
	}
	for _, n := range ParamNames(query) {
		if !slices.ContainsFunc(params, func(p Param) bool { return p.Name == n }) {
			return fmt.Errorf("{%s:…}: %w", n, ErrMissingParam)
		}
	}
	return nil
}

func skipQuoted(s string, i int) int {
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
			return j
		}
	}
	return len(s)
}

func skipTo(s string, i int, end string) int {
	j := strings.Index(s[i:], end)
	if j < 0 {
		return len(s)
	}
	return i + j
}

// placeholder parses "name:" at the start of s (spaces allowed around the
// name), as in {name:Type}.
func placeholder(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t\n")
	end := 0
	for end < len(s) && (s[end] == '_' || s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z' || s[end] >= '0' && s[end] <= '9') {
		end++
	}
	if end == 0 {
		return "", false
	}
	rest := strings.TrimLeft(s[end:], " \t\n")
	if rest == "" || rest[0] != ':' {
		return "", false
	}
	return s[:end], true
}
