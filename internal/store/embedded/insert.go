package embedded

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/store"
)

// insertStatement renders a batch as one INSERT … FORMAT JSONEachRow
// statement with the rows inline. Strings are written byte for byte (only
// quote, backslash and control characters are escaped), so values that are
// not valid UTF-8, such as dead-lettered raw records, survive unchanged.
func insertStatement(b *store.Batch) (string, error) {
	var sb strings.Builder
	sb.Grow(64 + len(b.Rows)*len(b.Columns)*24)
	sb.WriteString("INSERT INTO ")
	sb.WriteString(store.QuoteIdent(b.Table))
	sb.WriteString(" (")
	keys := make([]string, len(b.Columns))
	for i, c := range b.Columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(store.QuoteIdent(c))
		keys[i] = jsonString(c) + ":"
	}
	// DateTime values without an explicit zone are read in UTC, as they are
	// written. A block dropped as a replay is dropped in the targets of
	// materialized views too (store.SettingDedupViews).
	sb.WriteString(") SETTINGS session_timezone = 'UTC', ")
	sb.WriteString(store.SettingDedupViews)
	sb.WriteString(" = 1")
	if b.DedupToken != "" {
		sb.WriteString(", insert_deduplication_token = ")
		sb.WriteString(store.QuoteString(b.DedupToken))
	}
	sb.WriteString(" FORMAT JSONEachRow\n")
	buf := make([]byte, 0, 256)
	for i, row := range b.Rows {
		buf = append(buf[:0], '{')
		for j, v := range row {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, keys[j]...)
			var err error
			if buf, err = appendJSON(buf, v); err != nil {
				return "", fmt.Errorf("row %d, column %s: %w", i, b.Columns[j], err)
			}
		}
		buf = append(buf, '}', '\n')
		sb.Write(buf)
	}
	return sb.String(), nil
}

// appendJSON appends v as a JSON value ClickHouse reads exactly.
func appendJSON(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return appendJSONString(buf, x), nil
	case []byte:
		return appendJSONString(buf, string(x)), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(buf, x, 10), nil
	case uint32:
		return strconv.AppendUint(buf, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(buf, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(buf, uint64(x), 10), nil
	case uint:
		return strconv.AppendUint(buf, uint64(x), 10), nil
	case float64:
		return appendFloat(buf, x), nil
	case float32:
		return appendFloat(buf, float64(x)), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case time.Time:
		if x.IsZero() {
			x = time.Unix(0, 0) // as the native protocol stores a zero time
		}
		buf = append(buf, '"')
		if u := x.UTC(); u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0 && u.Year() >= 0 && u.Year() <= 9999 {
			// A UTC midnight as a bare date: Date and Date32 columns
			// parse nothing else, and DateTime columns read it as midnight.
			buf = u.AppendFormat(buf, time.DateOnly)
		} else {
			buf = appendTime(buf, x)
		}
		return append(buf, '"'), nil
	case []string:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, e)
		}
		return append(buf, ']'), nil
	case []int64:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, e, 10)
		}
		return append(buf, ']'), nil
	case []uint64:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendUint(buf, e, 10)
		}
		return append(buf, ']'), nil
	case []float64:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendFloat(buf, e)
		}
		return append(buf, ']'), nil
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendJSON(buf, e); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	return appendReflect(buf, v)
}

// appendReflect handles named types (type SKU string, type Qty int64 …),
// pointers and other slices by their kind.
func appendReflect(buf []byte, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return appendJSONString(buf, rv.String()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(buf, rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(buf, rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(buf, rv.Float()), nil
	case reflect.Bool:
		return strconv.AppendBool(buf, rv.Bool()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return append(buf, "null"...), nil
		}
		return appendJSON(buf, rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return appendJSONString(buf, string(rv.Bytes())), nil
		}
		buf = append(buf, '[')
		for i := range rv.Len() {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendJSON(buf, rv.Index(i).Interface()); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// appendTime appends t in UTC as "2006-01-02 15:04:05.000000000", a faster
// equivalent of time.AppendFormat for the one layout inserts use.
func appendTime(buf []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(buf, "2006-01-02 15:04:05.000000000")
	}
	buf = appendDigits(buf, y, 4)
	buf = append(buf, '-')
	buf = appendDigits(buf, int(mo), 2)
	buf = append(buf, '-')
	buf = appendDigits(buf, d, 2)
	buf = append(buf, ' ')
	buf = appendDigits(buf, h, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, mi, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, sec, 2)
	buf = append(buf, '.')
	return appendDigits(buf, t.Nanosecond(), 9)
}

func appendDigits(buf []byte, v, width int) []byte {
	var tmp [9]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(buf, tmp[:width]...)
}

func appendFloat(buf []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		buf = append(buf, '"')
		buf = append(buf, store.FormatFloat(f)...)
		return append(buf, '"')
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

func jsonString(s string) string { return string(appendJSONString(nil, s)) }

// appendJSONString quotes s for JSON, escaping only '"', '\\' and control
// bytes; every other byte, valid UTF-8 or not, is copied as it is.
func appendJSONString(buf []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
