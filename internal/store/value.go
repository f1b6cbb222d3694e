package store

import (
	"fmt"
	"math"
	"math/big"
	"time"
)

// ConvertError says a result value does not have the Go type asked for.
type ConvertError struct {
	Want  string
	Value any
}

func (e *ConvertError) Error() string {
	return fmt.Sprintf("cannot read %T value %v as %s", e.Value, e.Value, e.Want)
}

// AsInt64 reads a normalised integer value (int64, or uint64 up to MaxInt64).
func AsInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
	}
	return 0, &ConvertError{Want: "int64", Value: v}
}

// AsUint64 reads a normalised non-negative integer value.
func AsUint64(v any) (uint64, error) {
	switch x := v.(type) {
	case uint64:
		return x, nil
	case int64:
		if x >= 0 {
			return uint64(x), nil
		}
	case int:
		if x >= 0 {
			return uint64(x), nil
		}
	case *big.Int:
		if x.IsUint64() {
			return x.Uint64(), nil
		}
	}
	return 0, &ConvertError{Want: "uint64", Value: v}
}

// AsFloat64 reads a float or integer value as float64.
func AsFloat64(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	}
	return 0, &ConvertError{Want: "float64", Value: v}
}

// AsString reads a string value.
func AsString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", &ConvertError{Want: "string", Value: v}
}

// AsTime reads a time value (always UTC in results).
func AsTime(v any) (time.Time, error) {
	if x, ok := v.(time.Time); ok {
		return x.UTC(), nil
	}
	return time.Time{}, &ConvertError{Want: "time.Time", Value: v}
}

// AsBool reads a Bool value (or a UInt8 0/1).
func AsBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case uint64:
		if x <= 1 {
			return x == 1, nil
		}
	}
	return false, &ConvertError{Want: "bool", Value: v}
}

// AsStrings reads an Array(String) value.
func AsStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case []string:
		return x, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, err := AsString(e)
			if err != nil {
				return nil, &ConvertError{Want: "[]string", Value: v}
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, &ConvertError{Want: "[]string", Value: v}
}

// ColumnIndex returns the index of the named column, or -1.
func (r *Result) ColumnIndex(name string) int {
	for i, c := range r.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Value returns the value at (row, col) or an error naming what is out of
// range.
func (r *Result) Value(row, col int) (any, error) {
	if row < 0 || row >= len(r.Rows) {
		return nil, fmt.Errorf("row %d out of range (%d rows)", row, len(r.Rows))
	}
	if col < 0 || col >= len(r.Rows[row]) {
		return nil, fmt.Errorf("column %d out of range (%d columns)", col, len(r.Rows[row]))
	}
	return r.Rows[row][col], nil
}

func cell[T any](r *Result, row, col int, as func(any) (T, error)) (T, error) {
	v, err := r.Value(row, col)
	if err != nil {
		var zero T
		return zero, err
	}
	out, err := as(v)
	if err != nil && col < len(r.Columns) {
		return out, fmt.Errorf("column %s: %w", r.Columns[col].Name, err)
	}
	return out, err
}

// Int64 reads (row, col) with AsInt64.
func (r *Result) Int64(row, col int) (int64, error) { return cell(r, row, col, AsInt64) }

// Uint64 reads (row, col) with AsUint64.
func (r *Result) Uint64(row, col int) (uint64, error) { return cell(r, row, col, AsUint64) }

// Float64 reads (row, col) with AsFloat64.
func (r *Result) Float64(row, col int) (float64, error) { return cell(r, row, col, AsFloat64) }

// String reads (row, col) with AsString.
func (r *Result) String(row, col int) (string, error) { return cell(r, row, col, AsString) }

// Time reads (row, col) with AsTime.
func (r *Result) Time(row, col int) (time.Time, error) { return cell(r, row, col, AsTime) }

// Bool reads (row, col) with AsBool.
func (r *Result) Bool(row, col int) (bool, error) { return cell(r, row, col, AsBool) }

// Strings reads (row, col) with AsStrings.
func (r *Result) Strings(row, col int) ([]string, error) { return cell(r, row, col, AsStrings) }

// Maps returns the rows as maps from column name to value.
func (r *Result) Maps() []map[string]any {
	out := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		m := make(map[string]any, len(r.Columns))
		for j, c := range r.Columns {
			if j < len(row) {
				m[c.Name] = row[j]
			}
		}
		out[i] = m
	}
	return out
}

// MapKey renders a normalised Map key as the key of the map[string]any a
// Map value is normalised to.
func MapKey(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case time.Time:
		return FormatTime(x)
	case float64:
		return FormatFloat(x)
	default:
		return fmt.Sprint(x)
	}
}

// DecimalFloat returns unscaled·10^-scale as the nearest float64.
func DecimalFloat(unscaled *big.Int, scale int) float64 {
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	f, _ := new(big.Rat).SetFrac(unscaled, den).Float64()
	return f
}
