package embedded

import (
	"fmt"
	"math"
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
	// written.
	sb.WriteString(") SETTINGS session_timezone = 'UTC'")
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
		buf = append(buf, '"')
		buf = x.UTC().AppendFormat(buf, "2006-01-02 15:04:05.000000000")
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
	return nil, fmt.Errorf("unsupported value type %T", v)
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
