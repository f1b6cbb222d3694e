package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
)

// nativeEngine opens the process's embedded engine, the one TestMain
// started (chDB allows one per process; its EngineInUseError names it).
func nativeEngine(t *testing.T) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(t.Context(), embedded.Options{})
	if inUse := (*embedded.EngineInUseError)(nil); errors.As(err, &inUse) {
		s, err = embedded.Open(t.Context(), embedded.Options{Path: inUse.Open})
	}
	if err != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so, STOCKFLOW_CHDB_LIB): %v", err)
	}
	t.Cleanup(func() { _ = s.Close() }) // the engine outlives the store
	return s
}

// nativeTestQuery has a column of every type the decoder reads, nulls in
// the nullable ones, strings of 0 to 40 bytes and two dictionaries.
const nativeTestQuery = `SELECT
    toDate('2026-01-01') + number % 40                                  AS d,
    toDate32('1960-01-01') + number % 400                               AS d32,
    toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 37) AS ts,
    repeat('x', number % 41)                                            AS s,
    toLowCardinality(concat('SKU-', toString(number % 13)))             AS lc,
    toLowCardinality(if(number % 5 = 0, NULL, concat('W', toString(number % 3)))) AS lcn,
    toInt64(number) - 5000                                              AS i,
    number / 7                                                          AS f,
    toBool(number % 3 = 1)                                              AS b,
    if(number % 4 = 0, NULL, number / 3)                                AS nf,
    if(number % 6 = 0, NULL, toInt64(number))                           AS ni,
    if(number % 2 = 0, NULL, toString(number))                          AS ns
FROM numbers({rows:UInt64})
ORDER BY number
SETTINGS max_block_size = {block:UInt64}, output_format_arrow_string_as_string = 1`

var nativeTestSchema = arrow.NewSchema([]arrow.Field{
	{Name: "d", Type: arrow.FixedWidthTypes.Date32},
	{Name: "d32", Type: arrow.FixedWidthTypes.Date32},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "s", Type: arrow.BinaryTypes.String},
	{Name: "lc", Type: arrow.BinaryTypes.String},
	{Name: "lcn", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "i", Type: arrow.PrimitiveTypes.Int64},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "nf", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ni", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ns", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// TestNativeDecoder decodes the engine's Native output and compares it
// with the engine's own ArrowStream output of the same query, value by
// value: one block and many, no rows, and the bytes cut into chunks at
// every size, so that blocks and values straddle chunks.
func TestNativeDecoder(t *testing.T) {
	st := nativeEngine(t)
	tests := []struct {
		name        string
		rows, block int
		chunk       int // feed the Native bytes in pieces of this size; 0: as the engine sent them
	}{
		{"one block", 1000, 65536, 0},
		{"many blocks", 5000, 777, 0},
		{"no rows", 0, 65536, 0},
		{"chunks of 1 byte", 600, 250, 1},
		{"chunks of 7 bytes", 3000, 999, 7},
		{"chunks of 4 KiB", 5000, 777, 4096},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			params := []store.Param{store.IntParam("rows", int64(tc.rows)), store.IntParam("block", int64(tc.block))}
			want := engineArrow(t, st, mem, params)
			defer want.Release()

			var chunks [][]byte
			if err := st.QueryStream(t.Context(), nativeTestQuery, "Native", func(c []byte) error {
				chunks = append(chunks, c)
				return nil
			}, params...); err != nil {
				t.Fatal(err)
			}
			if tc.chunk > 0 {
				all := bytes.Join(chunks, nil)
				chunks = nil
				for len(all) > 0 {
					n := min(tc.chunk, len(all))
					chunks = append(chunks, all[:n])
					all = all[n:]
				}
			}
			var got []arrow.RecordBatch
			d := &nativeDecoder{dataset: "test", schema: nativeTestSchema, mem: mem, fn: func(rec arrow.RecordBatch) error {
				rec.Retain()
				got = append(got, rec)
				return nil
			}}
			for _, c := range chunks {
				if err := d.write(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.close(); err != nil {
				t.Fatal(err)
			}
			gotAll := concatRecords(t, mem, nativeTestSchema, got)
			defer gotAll.Release()
			for _, r := range got {
				r.Release()
			}
			if gotAll.NumRows() != int64(tc.rows) || want.NumRows() != int64(tc.rows) {
				t.Fatalf("decoded %d rows, the engine's Arrow has %d, want %d", gotAll.NumRows(), want.NumRows(), tc.rows)
			}
			for i := range nativeTestSchema.NumFields() {
				if !array.Equal(gotAll.Column(i), want.Column(i)) {
					t.Errorf("column %s differs from the engine's Arrow output", nativeTestSchema.Field(i).Name)
				}
			}
		})
	}
}

// TestNativeDecoderRefuses: a column that is not the one expected is a
// *SchemaMismatchError naming it, and a stream that stops inside a block
// is an error.
func TestNativeDecoderRefuses(t *testing.T) {
	st := nativeEngine(t)
	var native []byte
	if err := st.QueryStream(t.Context(), nativeTestQuery, "Native", func(c []byte) error {
		native = append(native, c...)
		return nil
	}, store.IntParam("rows", 10), store.IntParam("block", 100)); err != nil {
		t.Fatal(err)
	}
	mismatch := func(i int, f arrow.Field) *arrow.Schema {
		fields := nativeTestSchema.Fields()
		fields[i] = f
		return arrow.NewSchema(fields, nil)
	}
	tests := []struct {
		name   string
		schema *arrow.Schema
		column int
	}{
		{"other name", mismatch(0, arrow.Field{Name: "day", Type: arrow.FixedWidthTypes.Date32}), 0},
		{"other type", mismatch(6, arrow.Field{Name: "i", Type: arrow.PrimitiveTypes.Float64}), 6},
		{"nullable into required", mismatch(9, arrow.Field{Name: "nf", Type: arrow.PrimitiveTypes.Float64}), 9},
		{"LowCardinality of nulls into required", mismatch(5, arrow.Field{Name: "lcn", Type: arrow.BinaryTypes.String}), 5},
		{"fewer columns", arrow.NewSchema(nativeTestSchema.Fields()[:3], nil), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			d := &nativeDecoder{dataset: "test", schema: tc.schema, mem: mem, fn: func(arrow.RecordBatch) error { return nil }}
			err := d.write(native)
			var sm *SchemaMismatchError
			if !errors.As(err, &sm) || sm.Column != tc.column {
				t.Fatalf("got %v, want a schema mismatch at column %d", err, tc.column)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		d := &nativeDecoder{dataset: "test", schema: nativeTestSchema, mem: mem, fn: func(arrow.RecordBatch) error { return nil }}
		if err := d.write(native[:len(native)-3]); err != nil {
			t.Fatal(err)
		}
		if err := d.close(); err == nil {
			t.Fatal("a stream cut inside a block closed without error")
		}
	})
}

// engineArrow runs the test query as ArrowStream (a stream per block, one
// after the other) and returns its rows as one record of
// nativeTestSchema.
func engineArrow(t *testing.T, st *embedded.Store, mem memory.Allocator, params []store.Param) arrow.RecordBatch {
	t.Helper()
	var b []byte
	if err := st.QueryStream(t.Context(), nativeTestQuery, "ArrowStream", func(c []byte) error {
		b = append(b, c...)
		return nil
	}, params...); err != nil {
		t.Fatal(err)
	}
	var recs []arrow.RecordBatch
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		rdr, err := ipc.NewReader(r, ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		rdr.Release()
	}
	rec := concatRecords(t, mem, nativeTestSchema, recs)
	for _, r := range recs {
		r.Release()
	}
	return rec
}

// concatRecords joins batches into one record of schema; the columns
// are compared by value, so the batches' own nullability flags do not
// matter.
func concatRecords(t *testing.T, mem memory.Allocator, schema *arrow.Schema, recs []arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, schema.NumFields())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for i := range cols {
		var parts []arrow.Array
		for _, r := range recs {
			if !arrow.TypeEqual(r.Column(i).DataType(), schema.Field(i).Type) {
				t.Fatalf("column %s: %s, want %s", schema.Field(i).Name, r.Column(i).DataType(), schema.Field(i).Type)
			}
			parts = append(parts, r.Column(i))
		}
		if len(parts) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, schema.Field(i).Type, 0)
			continue
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			t.Fatal(fmt.Errorf("column %s: %w", schema.Field(i).Name, err))
		}
		cols[i] = c
	}
	rec := array.NewRecordBatch(schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec
}
