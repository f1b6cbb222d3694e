package api

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/chtype"
)

// arrowBatchRows is the number of rows per record batch of a stream.
const arrowBatchRows = 64 << 10

// ArrowType maps a ClickHouse type to the Arrow type its normalised
// values (store.Result) are written as: integers to Int64 or Uint64,
// floats and decimals to Float64, Bool to Boolean, dates and times to
// Timestamp(ms, UTC), arrays of those to lists, and everything else
// (strings, enums, UUIDs, wide integers, maps, tuples) to strings, maps
// and tuples as JSON. Every field is nullable.
func ArrowType(chType string) arrow.DataType {
	t, err := chtype.Parse(chType)
	if err != nil {
		return arrow.BinaryTypes.String
	}
	return arrowTypeOf(t)
}

func arrowTypeOf(t chtype.Type) arrow.DataType {
	t = t.Unwrap()
	if t.Name == "Nullable" && len(t.Elems) == 1 {
		return arrowTypeOf(t.Elems[0])
	}
	switch t.Name {
	case "Int8", "Int16", "Int32", "Int64":
		return arrow.PrimitiveTypes.Int64
	case "UInt8", "UInt16", "UInt32", "UInt64":
		return arrow.PrimitiveTypes.Uint64
	case "Float32", "Float64", "Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256":
		return arrow.PrimitiveTypes.Float64
	case "Bool":
		return arrow.FixedWidthTypes.Boolean
	case "Date", "Date32", "DateTime", "DateTime64":
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	case "Array":
		if len(t.Elems) == 1 {
			return arrow.ListOf(arrowTypeOf(t.Elems[0]))
		}
	}
	return arrow.BinaryTypes.String
}

// ArrowSchema is the schema WriteArrow writes res with.
func ArrowSchema(res *store.Result) *arrow.Schema {
	fields := make([]arrow.Field, len(res.Columns))
	for i, c := range res.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: ArrowType(c.Type), Nullable: true,
			Metadata: arrow.NewMetadata([]string{"clickhouse_type"}, []string{c.Type})}
	}
	return arrow.NewSchema(fields, nil)
}

// WriteArrow writes res to w as an Arrow IPC stream (schema, then record
// batches of up to 64Ki rows; an empty result is a schema and no batch).
// mem nil means the Go allocator.
func WriteArrow(w io.Writer, res *store.Result, mem memory.Allocator) error {
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	schema := ArrowSchema(res)
	iw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		if err := iw.Write(rec); err != nil {
			return fmt.Errorf("write arrow batch: %w", err)
		}
		return nil
	}
	n := 0
	for _, row := range res.Rows {
		for i := range res.Columns {
			var v any
			if i < len(row) {
				v = row[i]
			}
			if err := appendArrow(b.Field(i), v); err != nil {
				return fmt.Errorf("column %s: %w", res.Columns[i].Name, err)
			}
		}
		if n++; n == arrowBatchRows {
			if err := flush(); err != nil {
				return err
			}
			n = 0
		}
	}
	if n > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("close arrow stream: %w", err)
	}
	return nil
}

// appendArrow appends one normalised store value to a builder made by
// arrowTypeOf.
func appendArrow(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		x, err := store.AsInt64(v)
		if err != nil {
			return fmt.Errorf("as int64: %w", err)
		}
		b.Append(x)
	case *array.Uint64Builder:
		x, err := store.AsUint64(v)
		if err != nil {
			return fmt.Errorf("as uint64: %w", err)
		}
		b.Append(x)
	case *array.Float64Builder:
		x, err := store.AsFloat64(v)
		if err != nil {
			return fmt.Errorf("as float64: %w", err)
		}
		b.Append(x)
	case *array.BooleanBuilder:
		x, err := store.AsBool(v)
		if err != nil {
			return fmt.Errorf("as bool: %w", err)
		}
		b.Append(x)
	case *array.TimestampBuilder:
		x, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("%T is not a time", v)
		}
		b.Append(arrow.Timestamp(x.UnixMilli()))
	case *array.ListBuilder:
		xs, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%T is not an array", v)
		}
		b.Append(true)
		for _, x := range xs {
			if err := appendArrow(b.ValueBuilder(), x); err != nil {
				return err
			}
		}
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			b.Append(x)
		case *big.Int:
			b.Append(x.String())
		default:
			j, err := json.Marshal(jsonValue(v))
			if err != nil {
				return fmt.Errorf("encode %T: %w", v, err)
			}
			b.Append(string(j))
		}
	default:
		return fmt.Errorf("unsupported arrow builder %T", b)
	}
	return nil
}
