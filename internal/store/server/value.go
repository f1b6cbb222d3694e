package server

import (
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/chtype"
)

// normalize converts a value scanned by the driver into the form
// store.Result documents, guided by the column's ClickHouse type, so that
// both modes return identical values.
func normalize(t chtype.Type, v any) (any, error) {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return nil, nil
		}
		if _, ok := rv.Interface().(*big.Int); ok {
			break
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil, nil
	}
	v = rv.Interface()
	t = t.Unwrap()
	switch t.Name {
	case "Nullable":
		return normalize(t.Elems[0], v)
	case "Nothing":
		return nil, nil
	case "Int8", "Int16", "Int32", "Int64":
		if rv.CanInt() {
			return rv.Int(), nil
		}
	case "UInt8", "UInt16", "UInt32", "UInt64":
		if rv.CanUint() {
			return rv.Uint(), nil
		}
		if b, ok := v.(bool); ok { // some driver versions scan UInt8 as bool
			if b {
				return uint64(1), nil
			}
			return uint64(0), nil
		}
	case "Int128", "Int256", "UInt128", "UInt256":
		switch x := v.(type) {
		case *big.Int:
			return new(big.Int).Set(x), nil
		case big.Int:
			return new(big.Int).Set(&x), nil
		}
	case "Float32", "Float64", "BFloat16":
		if rv.CanFloat() {
			return rv.Float(), nil
		}
	case "Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256":
		if d, ok := v.(interface {
			Coefficient() *big.Int
			Exponent() int32
		}); ok {
			coef, exp := d.Coefficient(), int(d.Exponent())
			if exp > 0 {
				coef = new(big.Int).Mul(coef, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
				exp = 0
			}
			return store.DecimalFloat(coef, -exp), nil
		}
	case "Bool":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "String", "FixedString", "Enum8", "Enum16":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case "UUID":
		if s, ok := v.(fmt.Stringer); ok {
			return s.String(), nil
		}
	case "IPv4", "IPv6":
		var a netip.Addr
		switch x := v.(type) {
		case net.IP:
			a, _ = netip.AddrFromSlice(x) // an invalid slice leaves the zero Addr
		case netip.Addr:
			a = x
		}
		if a.IsValid() {
			if t.Name == "IPv4" {
				return a.Unmap().String(), nil
			}
			return netip.AddrFrom16(a.As16()).String(), nil
		}
	case "Date", "Date32":
		if tm, ok := v.(time.Time); ok {
			y, m, d := tm.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
	case "DateTime", "DateTime64":
		if tm, ok := v.(time.Time); ok {
			return tm.UTC(), nil
		}
	case "Array":
		if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
			return normalizeSlice(t.Elems[0], rv)
		}
	case "Nested":
		if rv.Kind() == reflect.Slice {
			return normalizeSlice(chtype.Type{Name: "Tuple", Elems: t.Elems, ElemNames: t.ElemNames}, rv)
		}
	case "Tuple", "Point":
		elems := t.Elems
		if t.Name == "Point" {
			elems = []chtype.Type{{Name: "Float64"}, {Name: "Float64"}}
		}
		switch rv.Kind() {
		case reflect.Slice, reflect.Array:
			if rv.Len() != len(elems) {
				break
			}
			out := make([]any, len(elems))
			for i := range out {
				var err error
				if out[i], err = normalize(elems[i], rv.Index(i).Interface()); err != nil {
					return nil, err
				}
			}
			return out, nil
		case reflect.Map: // named tuple: put the elements in declared order
			out := make([]any, len(elems))
			for i, name := range t.ElemNames {
				ev := rv.MapIndex(reflect.ValueOf(name))
				if !ev.IsValid() {
					return nil, fmt.Errorf("named tuple lacks element %s", name)
				}
				var err error
				if out[i], err = normalize(elems[i], ev.Interface()); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
	case "Map":
		if rv.Kind() == reflect.Map {
			out := make(map[string]any, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				k, err := normalize(t.Elems[0], it.Key().Interface())
				if err != nil {
					return nil, err
				}
				val, err := normalize(t.Elems[1], it.Value().Interface())
				if err != nil {
					return nil, err
				}
				out[store.MapKey(k)] = val
			}
			return out, nil
		}
	case "IntervalSecond", "IntervalMillisecond", "IntervalMicrosecond", "IntervalNanosecond", "IntervalMinute",
		"IntervalHour", "IntervalDay", "IntervalWeek", "IntervalMonth", "IntervalQuarter", "IntervalYear":
		if rv.CanInt() {
			return rv.Int(), nil
		}
	}
	return nil, fmt.Errorf("cannot normalise %T for type %s", v, t.Raw)
}

func normalizeSlice(elem chtype.Type, rv reflect.Value) (any, error) {
	out := make([]any, rv.Len())
	for i := range out {
		var err error
		if out[i], err = normalize(elem, rv.Index(i).Interface()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// goType is the Go type the driver appends for a ClickHouse type, or nil
// when values pass to the driver unchanged.
func goType(t chtype.Type) reflect.Type {
	t = t.Unwrap()
	switch t.Name {
	case "Int8":
		return reflect.TypeFor[int8]()
	case "Int16":
		return reflect.TypeFor[int16]()
	case "Int32":
		return reflect.TypeFor[int32]()
	case "Int64":
		return reflect.TypeFor[int64]()
	case "UInt8":
		return reflect.TypeFor[uint8]()
	case "UInt16":
		return reflect.TypeFor[uint16]()
	case "UInt32":
		return reflect.TypeFor[uint32]()
	case "UInt64":
		return reflect.TypeFor[uint64]()
	case "Float32":
		return reflect.TypeFor[float32]()
	case "Float64":
		return reflect.TypeFor[float64]()
	case "Bool":
		return reflect.TypeFor[bool]()
	case "String", "FixedString":
		return reflect.TypeFor[string]()
	case "Date", "Date32", "DateTime", "DateTime64":
		return reflect.TypeFor[time.Time]()
	case "Nullable":
		if e := goType(t.Elems[0]); e != nil {
			return reflect.PointerTo(e)
		}
	case "Array":
		if e := goType(t.Elems[0]); e != nil {
			return reflect.SliceOf(e)
		}
	}
	return nil
}

// coerce converts a Batch value to the exact Go type the driver's column
// expects (the driver does not widen or narrow integers), checking ranges.
// A zero time.Time is stored as the Unix epoch in both modes.
func coerce(t chtype.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	t = t.Unwrap()
	if t.Name == "Nullable" {
		return coerce(t.Elems[0], v)
	}
	gt := goType(t)
	if gt == nil {
		return v, nil
	}
	return convert(gt, t, reflect.ValueOf(v))
}

func convert(gt reflect.Type, t chtype.Type, rv reflect.Value) (any, error) {
	if rv.Kind() == reflect.Interface || rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Zero(gt).Interface(), nil
		}
		rv = rv.Elem()
	}
	bad := func() (any, error) {
		return nil, fmt.Errorf("cannot store %s in a %s column", rv.Type(), t.Raw)
	}
	switch gt.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var x int64
		switch {
		case rv.CanInt():
			x = rv.Int()
		case rv.CanUint() && rv.Uint() <= math.MaxInt64:
			x = int64(rv.Uint())
		default:
			return bad()
		}
		out := reflect.New(gt).Elem()
		if out.OverflowInt(x) {
			return nil, fmt.Errorf("%d overflows %s", x, t.Raw)
		}
		out.SetInt(x)
		return out.Interface(), nil
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var x uint64
		switch {
		case rv.CanUint():
			x = rv.Uint()
		case rv.CanInt() && rv.Int() >= 0:
			x = uint64(rv.Int())
		case rv.Kind() == reflect.Bool && t.Name == "UInt8":
			if rv.Bool() {
				x = 1
			}
		default:
			return bad()
		}
		out := reflect.New(gt).Elem()
		if out.OverflowUint(x) {
			return nil, fmt.Errorf("%d overflows %s", x, t.Raw)
		}
		out.SetUint(x)
		return out.Interface(), nil
	case reflect.Float32, reflect.Float64:
		out := reflect.New(gt).Elem()
		switch {
		case rv.CanFloat():
			out.SetFloat(rv.Float())
		case rv.CanInt():
			out.SetFloat(float64(rv.Int()))
		case rv.CanUint():
			out.SetFloat(float64(rv.Uint()))
		default:
			return bad()
		}
		return out.Interface(), nil
	case reflect.Bool:
		if rv.Kind() == reflect.Bool {
			return rv.Bool(), nil
		}
		return bad()
	case reflect.String:
		switch {
		case rv.Kind() == reflect.String:
			return rv.String(), nil
		case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8:
			return string(rv.Bytes()), nil
		}
		return bad()
	case reflect.Pointer: // Nullable element inside an Array
		inner, err := convert(gt.Elem(), t.Unwrap().Elems[0], rv)
		if err != nil {
			return nil, err
		}
		p := reflect.New(gt.Elem())
		p.Elem().Set(reflect.ValueOf(inner))
		return p.Interface(), nil
	case reflect.Slice:
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return bad()
		}
		elem := t.Unwrap().Elems[0]
		out := reflect.MakeSlice(gt, rv.Len(), rv.Len())
		for i := range rv.Len() {
			ev := rv.Index(i)
			if (ev.Kind() == reflect.Interface || ev.Kind() == reflect.Pointer) && ev.IsNil() {
				continue // zero value, or a NULL of a Nullable element
			}
			x, err := convert(gt.Elem(), elem, ev)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out.Index(i).Set(reflect.ValueOf(x))
		}
		return out.Interface(), nil
	}
	if tm, ok := rv.Interface().(time.Time); ok && gt == reflect.TypeFor[time.Time]() {
		if tm.IsZero() {
			return time.Unix(0, 0).UTC(), nil
		}
		return tm.UTC(), nil
	}
	if gt == reflect.TypeFor[time.Time]() {
		return bad()
	}
	return rv.Interface(), nil
}
