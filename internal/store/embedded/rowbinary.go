package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/chtype"
)

// resultFormat is the output format of queries: a header of column names and
// types, then rows of exact binary values.
const resultFormat = "RowBinaryWithNamesAndTypes"

// UnsupportedTypeError names a result column type the decoder cannot read.
type UnsupportedTypeError struct {
	Column, Type string
}

func (e *UnsupportedTypeError) Error() string {
	return fmt.Sprintf("embedded clickhouse: column %s: type %s is not supported in results", e.Column, e.Type)
}

var errShort = errors.New("truncated RowBinary data")

type reader struct {
	b   []byte
	off int
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || r.off+n > len(r.b) {
		return nil, errShort
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, errShort
	}
	r.off += n
	return v, nil
}

func (r *reader) str() (string, error) {
	n, err := r.uvarint()
	if err != nil {
		return "", err
	}
	if n > uint64(len(r.b)) {
		return "", errShort
	}
	p, err := r.take(int(n))
	return string(p), err
}

func (r *reader) fixed(n int) (uint64, error) {
	p, err := r.take(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(p)), nil
	default:
		return binary.LittleEndian.Uint64(p), nil
	}
}

type decoder func(r *reader) (any, error)

// decodeRowBinary parses RowBinaryWithNamesAndTypes output.
func decodeRowBinary(data []byte) (*store.Result, error) {
	res := &store.Result{}
	if len(data) == 0 {
		return res, nil
	}
	r := &reader{b: data}
	n, err := r.uvarint()
	if err != nil || n > uint64(len(data)) {
		return nil, fmt.Errorf("read result header: %w", errShort)
	}
	res.Columns = make([]store.Column, n)
	for i := range res.Columns {
		if res.Columns[i].Name, err = r.str(); err != nil {
			return nil, fmt.Errorf("read result header: %w", err)
		}
	}
	decs := make([]decoder, n)
	for i := range res.Columns {
		if res.Columns[i].Type, err = r.str(); err != nil {
			return nil, fmt.Errorf("read result header: %w", err)
		}
		t, err := chtype.Parse(res.Columns[i].Type)
		if err != nil {
			return nil, err
		}
		if decs[i], err = newDecoder(t); err != nil {
			return nil, &UnsupportedTypeError{Column: res.Columns[i].Name, Type: res.Columns[i].Type}
		}
	}
	for r.off < len(r.b) {
		row := make([]any, n)
		for i, d := range decs {
			if row[i], err = d(r); err != nil {
				return nil, fmt.Errorf("read row %d, column %s: %w", len(res.Rows), res.Columns[i].Name, err)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

var errUnsupported = errors.New("unsupported type")

func newDecoder(t chtype.Type) (decoder, error) {
	t = t.Unwrap()
	switch t.Name {
	case "UInt8", "UInt16", "UInt32", "UInt64":
		size := intSize(t.Name)
		return func(r *reader) (any, error) { return r.fixed(size) }, nil
	case "Int8", "Int16", "Int32", "Int64", "IntervalSecond", "IntervalMillisecond", "IntervalMicrosecond",
		"IntervalNanosecond", "IntervalMinute", "IntervalHour", "IntervalDay", "IntervalWeek",
		"IntervalMonth", "IntervalQuarter", "IntervalYear":
		size := intSize(t.Name)
		return func(r *reader) (any, error) {
			v, err := r.fixed(size)
			return signExtend(v, size), err
		}, nil
	case "Int128", "Int256", "UInt128", "UInt256":
		size := intSize(t.Name)
		signed := t.Name[0] == 'I'
		return func(r *reader) (any, error) {
			p, err := r.take(size)
			if err != nil {
				return nil, err
			}
			return bigFromLE(p, signed), nil
		}, nil
	case "Float32":
		return func(r *reader) (any, error) {
			v, err := r.fixed(4)
			return float64(math.Float32frombits(uint32(v))), err
		}, nil
	case "Float64":
		return func(r *reader) (any, error) {
			v, err := r.fixed(8)
			return math.Float64frombits(v), err
		}, nil
	case "BFloat16":
		return func(r *reader) (any, error) {
			v, err := r.fixed(2)
			return float64(math.Float32frombits(uint32(v) << 16)), err
		}, nil
	case "Bool":
		return func(r *reader) (any, error) {
			v, err := r.fixed(1)
			return v != 0, err
		}, nil
	case "String":
		return func(r *reader) (any, error) { return r.str() }, nil
	case "FixedString":
		if len(t.Args) != 1 {
			return nil, errUnsupported
		}
		n, err := strconv.Atoi(t.Args[0])
		if err != nil {
			return nil, errUnsupported
		}
		return func(r *reader) (any, error) {
			p, err := r.take(n)
			return string(p), err
		}, nil
	case "Date":
		return func(r *reader) (any, error) {
			v, err := r.fixed(2)
			return time.Unix(int64(v)*86400, 0).UTC(), err
		}, nil
	case "Date32":
		return func(r *reader) (any, error) {
			v, err := r.fixed(4)
			return time.Unix(signExtend(v, 4)*86400, 0).UTC(), err
		}, nil
	case "DateTime":
		return func(r *reader) (any, error) {
			v, err := r.fixed(4)
			return time.Unix(int64(v), 0).UTC(), err
		}, nil
	case "DateTime64":
		p, err := t.Scale()
		if err != nil || p < 0 || p > 9 {
			return nil, errUnsupported
		}
		div := int64(math.Pow10(p))
		return func(r *reader) (any, error) {
			v, err := r.fixed(8)
			ticks := int64(v)
			sec, frac := ticks/div, ticks%div
			if frac < 0 {
				sec, frac = sec-1, frac+div
			}
			return time.Unix(sec, frac*(1e9/div)).UTC(), err
		}, nil
	case "UUID":
		return func(r *reader) (any, error) {
			p, err := r.take(16)
			if err != nil {
				return nil, err
			}
			var b [16]byte // two little-endian UInt64 halves, high half first
			for i := range 8 {
				b[i] = p[7-i]
				b[8+i] = p[15-i]
			}
			return formatUUID(b), nil
		}, nil
	case "IPv4":
		return func(r *reader) (any, error) {
			v, err := r.fixed(4)
			return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String(), err
		}, nil
	case "IPv6":
		return func(r *reader) (any, error) {
			p, err := r.take(16)
			if err != nil {
				return nil, err
			}
			return netip.AddrFrom16([16]byte(p)).String(), nil
		}, nil
	case "Enum8", "Enum16":
		names, err := t.Enum()
		if err != nil {
			return nil, errUnsupported
		}
		size := intSize(t.Name)
		return func(r *reader) (any, error) {
			v, err := r.fixed(size)
			if err != nil {
				return nil, err
			}
			name, ok := names[signExtend(v, size)]
			if !ok {
				return nil, fmt.Errorf("enum value %d not in %s", signExtend(v, size), t.Raw)
			}
			return name, nil
		}, nil
	case "Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256":
		return decimalDecoder(t)
	case "Nullable":
		inner, err := newDecoder(t.Elems[0])
		if err != nil {
			return nil, err
		}
		return func(r *reader) (any, error) {
			isNull, err := r.fixed(1)
			if err != nil || isNull != 0 {
				return nil, err
			}
			return inner(r)
		}, nil
	case "Nothing":
		return func(*reader) (any, error) { return nil, nil }, nil
	case "Array":
		inner, err := newDecoder(t.Elems[0])
		if err != nil {
			return nil, err
		}
		return arrayDecoder(inner), nil
	case "Tuple", "Point":
		elems := t.Elems
		if t.Name == "Point" {
			elems = []chtype.Type{{Name: "Float64"}, {Name: "Float64"}}
		}
		decs, err := decoders(elems)
		if err != nil {
			return nil, err
		}
		return tupleDecoder(decs), nil
	case "Nested":
		decs, err := decoders(t.Elems)
		if err != nil {
			return nil, err
		}
		return arrayDecoder(tupleDecoder(decs)), nil
	case "Map":
		kd, err := newDecoder(t.Elems[0])
		if err != nil {
			return nil, err
		}
		vd, err := newDecoder(t.Elems[1])
		if err != nil {
			return nil, err
		}
		return func(r *reader) (any, error) {
			n, err := r.uvarint()
			if err != nil || n > uint64(len(r.b)) {
				return nil, errShort
			}
			m := make(map[string]any, n)
			for range n {
				k, err := kd(r)
				if err != nil {
					return nil, err
				}
				v, err := vd(r)
				if err != nil {
					return nil, err
				}
				m[store.MapKey(k)] = v
			}
			return m, nil
		}, nil
	}
	return nil, errUnsupported
}

func decoders(ts []chtype.Type) ([]decoder, error) {
	out := make([]decoder, len(ts))
	for i, e := range ts {
		d, err := newDecoder(e)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func arrayDecoder(inner decoder) decoder {
	return func(r *reader) (any, error) {
		n, err := r.uvarint()
		if err != nil || n > uint64(len(r.b)) {
			return nil, errShort
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = inner(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

func tupleDecoder(decs []decoder) decoder {
	return func(r *reader) (any, error) {
		out := make([]any, len(decs))
		var err error
		for i, d := range decs {
			if out[i], err = d(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

func decimalDecoder(t chtype.Type) (decoder, error) {
	scale, err := t.Scale()
	if err != nil {
		return nil, errUnsupported
	}
	var size int
	switch t.Name {
	case "Decimal32":
		size = 4
	case "Decimal64":
		size = 8
	case "Decimal128":
		size = 16
	case "Decimal256":
		size = 32
	default:
		p, err := strconv.Atoi(t.Args[0])
		if err != nil {
			return nil, errUnsupported
		}
		switch {
		case p <= 9:
			size = 4
		case p <= 18:
			size = 8
		case p <= 38:
			size = 16
		default:
			size = 32
		}
	}
	return func(r *reader) (any, error) {
		p, err := r.take(size)
		if err != nil {
			return nil, err
		}
		return store.DecimalFloat(bigFromLE(p, true), scale), nil
	}, nil
}

func intSize(name string) int {
	switch {
	case strings.HasSuffix(name, "256"):
		return 32
	case strings.HasSuffix(name, "128"):
		return 16
	case strings.HasSuffix(name, "64"), strings.HasPrefix(name, "Interval"):
		return 8
	case strings.HasSuffix(name, "32"):
		return 4
	case strings.HasSuffix(name, "16"):
		return 2
	default:
		return 1
	}
}

func signExtend(v uint64, size int) int64 {
	shift := 64 - 8*size
	return int64(v<<shift) >> shift
}

// bigFromLE reads a little-endian (two's complement when signed) integer.
func bigFromLE(p []byte, signed bool) *big.Int {
	be := make([]byte, len(p))
	for i := range p {
		be[len(p)-1-i] = p[i]
	}
	v := new(big.Int).SetBytes(be)
	if signed && len(p) > 0 && p[len(p)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(p))))
	}
	return v
}

func formatUUID(b [16]byte) string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0xf])
	}
	return string(out)
}
