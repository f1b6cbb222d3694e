package export

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// nativeDecoder turns ClickHouse's Native output format into Arrow record
// batches of a dataset's query schema. The embedded engine writes Native
// at a fraction of the cost of ArrowStream (it is its own in-memory
// layout), and Native is simple to read: per block, the column and row
// counts (unsigned LEB128), then per column its name, its type and its
// values; fixed-width values little-endian, strings as length and bytes,
// Nullable(T) as a byte per row (1 = NULL) followed by T's values.
//
// Only the types the datasets use are accepted, each for the one Arrow
// type it fills: String and LowCardinality(String) (utf8), Int64,
// Float64, Bool or UInt8 (bool), DateTime64(3, 'UTC') (timestamp[ms,
// UTC]), Date or Date32 (date32), and Nullable of them for nullable
// columns. A block without rows carries no column data.
type nativeDecoder struct {
	dataset string
	schema  *arrow.Schema
	mem     memory.Allocator
	fn      func(arrow.RecordBatch) error
	pending []byte // the start of a block split across chunks
	need    int    // pending is not a block before it has this many bytes
}

// shortError says a block continues in the next chunk, and how long it
// is at least.
type shortError struct{ need int }

func (e *shortError) Error() string {
	return fmt.Sprintf("native block continues (%d bytes at least)", e.need)
}

// write decodes the blocks of chunk, keeping an incomplete one for the
// next call.
func (d *nativeDecoder) write(chunk []byte) error {
	data := chunk
	if len(d.pending) > 0 {
		d.pending = append(d.pending, chunk...)
		if len(d.pending) < d.need {
			return nil
		}
		data = d.pending
	}
	for len(data) > 0 {
		rec, n, err := d.block(data)
		if short := (*shortError)(nil); errors.As(err, &short) {
			if len(d.pending) == 0 || &data[0] != &d.pending[0] {
				d.pending = append(d.pending[:0], data...)
			}
			d.need = short.need
			return nil
		}
		if err != nil {
			return err
		}
		data = data[n:]
		if rec == nil {
			continue
		}
		err = d.fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	d.pending, d.need = d.pending[:0], 0
	return nil
}

// close reports a stream that ended inside a block.
func (d *nativeDecoder) close() error {
	if len(d.pending) > 0 {
		return fmt.Errorf("export %s: native stream ends inside a block (%d bytes)", d.dataset, len(d.pending))
	}
	return nil
}

// nativeReader reads the fields of one block.
type nativeReader struct {
	b   []byte
	off int
}

func (r *nativeReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	switch {
	case n == 0:
		return 0, &shortError{need: len(r.b) + 1}
	case n < 0:
		return 0, errors.New("native: bad varint")
	}
	r.off += n
	return v, nil
}

func (r *nativeReader) fixed64() (uint64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *nativeReader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, &shortError{need: r.off + int(min(n, 1<<40))}
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *nativeReader) string() (string, error) {
	n, err := r.uvarint()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	return string(b), err
}

// block decodes the block at the start of data: its record batch (nil
// for a block without rows) and its length.
func (d *nativeDecoder) block(data []byte) (arrow.RecordBatch, int, error) {
	r := &nativeReader{b: data}
	ncols, err := r.uvarint()
	if err != nil {
		return nil, 0, err
	}
	nrows, err := r.uvarint()
	if err != nil {
		return nil, 0, err
	}
	if ncols != uint64(d.schema.NumFields()) {
		return nil, 0, &SchemaMismatchError{Dataset: d.dataset, Column: -1, Want: fmt.Sprintf("%d columns", d.schema.NumFields()), Got: fmt.Sprintf("%d columns", ncols)}
	}
	if nrows > 1<<31 {
		return nil, 0, fmt.Errorf("export %s: native block of %d rows", d.dataset, nrows)
	}
	cols := make([]arrow.Array, 0, ncols)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for i, f := range d.schema.Fields() {
		name, err := r.string()
		if err != nil {
			return nil, 0, err
		}
		typ, err := r.string()
		if err != nil {
			return nil, 0, err
		}
		base, lowCard := strings.CutPrefix(typ, "LowCardinality(")
		if lowCard {
			base = strings.TrimSuffix(base, ")")
		}
		base, nullable := strings.CutPrefix(base, "Nullable(")
		if nullable {
			base = strings.TrimSuffix(base, ")")
		}
		if name != f.Name || !nativeTypeFits(base, f.Type) || (nullable && !f.Nullable) || (lowCard && base != "String") {
			return nil, 0, &SchemaMismatchError{Dataset: d.dataset, Column: i, Want: fieldString(f), Got: name + " " + typ}
		}
		var arr arrow.Array
		if lowCard {
			arr, err = d.lowCardinality(r, f.Type, nullable, int(nrows))
		} else {
			arr, err = d.column(r, f.Type, base, nullable, int(nrows))
		}
		if err != nil {
			if short := (*shortError)(nil); !errors.As(err, &short) {
				err = fmt.Errorf("export %s: column %s: %w", d.dataset, f.Name, err)
			}
			return nil, 0, err
		}
		cols = append(cols, arr)
	}
	if nrows == 0 {
		return nil, r.off, nil
	}
	return array.NewRecordBatch(d.schema, cols, int64(nrows)), r.off, nil
}

// nativeTypeFits reports whether ClickHouse type base fills Arrow type t.
func nativeTypeFits(base string, t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING:
		return base == "String"
	case arrow.INT64:
		return base == "Int64"
	case arrow.FLOAT64:
		return base == "Float64"
	case arrow.BOOL:
		return base == "Bool" || base == "UInt8"
	case arrow.TIMESTAMP:
		ts, ok := t.(*arrow.TimestampType)
		return ok && ts.Unit == arrow.Millisecond && ts.TimeZone == "UTC" && base == "DateTime64(3, 'UTC')"
	case arrow.DATE32:
		return base == "Date" || base == "Date32"
	}
	return false
}

// column decodes n values of ClickHouse type base (Nullable when
// nullable) into an array of Arrow type t.
func (d *nativeDecoder) column(r *nativeReader, t arrow.DataType, base string, nullable bool, n int) (arrow.Array, error) {
	var validity *memory.Buffer
	nulls := 0
	if nullable {
		nullMap, err := r.bytes(uint64(n))
		if err != nil {
			return nil, err
		}
		for _, b := range nullMap {
			nulls += int(b)
		}
		if nulls > 0 {
			validity = d.alloc(int(bitutil.BytesForBits(int64(n))), true)
			bits := validity.Bytes()
			for i, b := range nullMap {
				if b == 0 {
					bitutil.SetBit(bits, i)
				}
			}
		}
	}
	buffers := []*memory.Buffer{validity}
	defer func() {
		for _, b := range buffers {
			if b != nil {
				b.Release()
			}
		}
	}()
	switch base {
	case "String":
		offsets, values, err := d.strings(r, n)
		if err != nil {
			return nil, err
		}
		buffers = append(buffers, offsets, values)
	case "Int64", "Float64", "DateTime64(3, 'UTC')", "Date32":
		width := 8
		if base == "Date32" {
			width = 4
		}
		src, err := r.bytes(uint64(n * width))
		if err != nil {
			return nil, err
		}
		buf := d.alloc(len(src), false)
		copy(buf.Bytes(), src)
		buffers = append(buffers, buf)
	case "Date":
		src, err := r.bytes(uint64(n * 2))
		if err != nil {
			return nil, err
		}
		buf := d.alloc(n*4, false)
		days := arrow.Int32Traits.CastFromBytes(buf.Bytes())
		for i := range days {
			days[i] = int32(binary.LittleEndian.Uint16(src[2*i:]))
		}
		buffers = append(buffers, buf)
	case "Bool", "UInt8":
		src, err := r.bytes(uint64(n))
		if err != nil {
			return nil, err
		}
		buf := d.alloc(int(bitutil.BytesForBits(int64(n))), true)
		bits := buf.Bytes()
		for i, b := range src {
			if b != 0 {
				bitutil.SetBit(bits, i)
			}
		}
		buffers = append(buffers, buf)
	default:
		return nil, fmt.Errorf("unsupported native type %s", base)
	}
	data := array.NewData(t, n, buffers, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// The bits of a LowCardinality column's index type (ClickHouse's
// SerializationLowCardinality): the width of the indexes in the low
// byte, then flags.
const (
	lcIndexWidth     = 0xff
	lcGlobalDict     = 1 << 8
	lcAdditionalKeys = 1 << 9
)

// lowCardinality decodes n values of LowCardinality(String) (or of
// LowCardinality(Nullable(String)), where index 0 is NULL) into a utf8
// array: a serialization version, then groups of an index type, the
// group's dictionary (count and strings) and its indexes (count and
// values of 1, 2, 4 or 8 bytes).
func (d *nativeDecoder) lowCardinality(r *nativeReader, t arrow.DataType, nullable bool, n int) (arrow.Array, error) {
	if n == 0 { // a block without rows has no column data
		data := array.NewData(t, 0, []*memory.Buffer{nil, d.alloc(4, true), nil}, nil, 0, 0)
		defer data.Release()
		defer data.Buffers()[1].Release()
		return array.MakeFromData(data), nil
	}
	ver, err := r.fixed64()
	if err != nil {
		return nil, err
	}
	if ver != 1 {
		return nil, fmt.Errorf("unsupported LowCardinality serialization version %d", ver)
	}
	var (
		keys    [][]byte
		indexes = make([]uint32, 0, n)
	)
	for len(indexes) < n {
		typ, err := r.fixed64()
		if err != nil {
			return nil, err
		}
		if typ&lcGlobalDict != 0 {
			return nil, errors.New("LowCardinality with a global dictionary is not supported")
		}
		if typ&lcAdditionalKeys != 0 {
			nkeys, err := r.fixed64()
			if err != nil {
				return nil, err
			}
			if nkeys > uint64(1<<31) {
				return nil, fmt.Errorf("LowCardinality dictionary of %d keys", nkeys)
			}
			keys = keys[:0]
			for range nkeys {
				l, err := r.uvarint()
				if err != nil {
					return nil, err
				}
				k, err := r.bytes(l)
				if err != nil {
					return nil, err
				}
				keys = append(keys, k)
			}
		}
		count, err := r.fixed64()
		if err != nil {
			return nil, err
		}
		if count > uint64(n-len(indexes)) {
			return nil, fmt.Errorf("LowCardinality has %d more indexes than rows", count-uint64(n-len(indexes)))
		}
		width := 1 << (typ & lcIndexWidth)
		if typ&lcIndexWidth > 3 {
			return nil, fmt.Errorf("unsupported LowCardinality index type %d", typ&lcIndexWidth)
		}
		raw, err := r.bytes(count * uint64(width))
		if err != nil {
			return nil, err
		}
		for i := range int(count) {
			var x uint64
			switch width {
			case 1:
				x = uint64(raw[i])
			case 2:
				x = uint64(binary.LittleEndian.Uint16(raw[2*i:]))
			case 4:
				x = uint64(binary.LittleEndian.Uint32(raw[4*i:]))
			default:
				x = binary.LittleEndian.Uint64(raw[8*i:])
			}
			if x >= uint64(len(keys)) {
				return nil, fmt.Errorf("LowCardinality index %d out of a dictionary of %d", x, len(keys))
			}
			indexes = append(indexes, uint32(x))
		}
	}
	var validity *memory.Buffer
	nulls := 0
	if nullable {
		for _, x := range indexes {
			if x == 0 {
				nulls++
			}
		}
		if nulls > 0 {
			validity = d.alloc(int(bitutil.BytesForBits(int64(n))), true)
			bits := validity.Bytes()
			for i, x := range indexes {
				if x != 0 {
					bitutil.SetBit(bits, i)
				}
			}
		}
	}
	offsets := d.alloc((n+1)*4, false)
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	total := 0
	for i, x := range indexes {
		offs[i] = int32(total)
		if !nullable || x != 0 {
			total += len(keys[x])
		}
		if total > 1<<31-1 {
			offsets.Release()
			if validity != nil {
				validity.Release()
			}
			return nil, errors.New("more than 2 GiB of strings in a block")
		}
	}
	offs[n] = int32(total)
	values := d.alloc(total, false)
	dst := values.Bytes()
	for i, x := range indexes {
		copy(dst[offs[i]:offs[i+1]], keys[x])
	}
	buffers := []*memory.Buffer{validity, offsets, values}
	data := array.NewData(t, n, buffers, nil, nulls, 0)
	defer data.Release()
	for _, b := range buffers {
		if b != nil {
			b.Release()
		}
	}
	return array.MakeFromData(data), nil
}

// strings decodes n length-prefixed strings into Arrow offsets and
// values: one pass to find their lengths, one to copy them.
func (d *nativeDecoder) strings(r *nativeReader, n int) (offsets, values *memory.Buffer, err error) {
	start := r.off
	offsets = d.alloc((n+1)*4, false)
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	total := 0
	for i := range n {
		l, err := r.uvarint()
		if err == nil {
			_, err = r.bytes(l)
		}
		if err != nil {
			offsets.Release()
			return nil, nil, err
		}
		offs[i] = int32(total)
		total += int(l)
		if total > 1<<31-1 {
			offsets.Release()
			return nil, nil, errors.New("native: more than 2 GiB of strings in a block")
		}
	}
	offs[n] = int32(total)
	values = d.alloc(total, false)
	dst := values.Bytes()
	r.off = start
	for i := range n {
		l, _ := r.uvarint() // read above
		b, _ := r.bytes(l)
		copy(dst[offs[i]:], b)
	}
	return offsets, values, nil
}

// alloc is a buffer of n bytes from the decoder's allocator; bitmaps
// (bitmap set) start zeroed, other buffers are overwritten whole.
func (d *nativeDecoder) alloc(n int, bitmap bool) *memory.Buffer {
	buf := memory.NewResizableBuffer(d.mem)
	buf.Resize(n)
	if bitmap {
		clear(buf.Bytes())
	}
	return buf
}
