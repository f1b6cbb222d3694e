package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/store"
	sqlfs "github.com/stockflow/stockflow/sql"
)

// Streamer is a store that streams a query's output in a ClickHouse
// output format, chunk by chunk (embedded.Store does). Export reads such a
// store as one stream in the Native format, in bounded memory; other
// stores are read in pages of PageRows rows, one day at a time.
type Streamer interface {
	QueryStream(ctx context.Context, query, format string, fn func(chunk []byte) error, params ...store.Param) error
}

// Query selects what to export.
type Query struct {
	Dataset *Dataset
	// From and To are the first and last UTC days, inclusive.
	From, To time.Time
	// SKUs, Warehouses and Regions restrict the rows; empty means all.
	SKUs, Warehouses, Regions []string
	// Categories maps SKUs to their catalogue category, for the campaigns
	// that target a category (features only); nil is no catalogue.
	Categories map[string]string
	// Holidays is the holiday calendar of the features (nil: the
	// default calendar, see Holidays).
	Holidays []Holiday
}

// Validate checks the query.
func (q Query) Validate() error {
	switch {
	case q.Dataset == nil:
		return errors.New("export: no dataset")
	case q.From.IsZero() || q.To.IsZero():
		return errors.New("export: from and to are required")
	case q.To.Before(q.From):
		return fmt.Errorf("export: to %s is before from %s", day(q.To), day(q.From))
	}
	return nil
}

// day formats t's UTC day.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// truncDay is t's UTC day at midnight.
func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// holidays is the query's calendar, the default one when none is set.
func (q Query) holidays() []Holiday {
	if q.Holidays != nil {
		return q.Holidays
	}
	// A year either side, so that days to and since a holiday are known
	// at the edges of the range.
	return Holidays(q.From.AddDate(-1, 0, 0), q.To.AddDate(1, 0, 0))
}

// params are the named query's parameters for the days from to to.
func (q Query) params(from, to time.Time) []store.Param {
	ps := []store.Param{
		{Name: "from", Value: day(from)},
		{Name: "to", Value: day(to)},
		store.ArrayParam("skus", q.SKUs),
		store.ArrayParam("warehouses", q.Warehouses),
		store.ArrayParam("regions", q.Regions),
	}
	if q.Dataset.Name == featuresDataset.Name {
		var skus, cats []string
		for s, c := range q.Categories {
			skus = append(skus, s)
			cats = append(cats, c)
		}
		var hs []string
		for _, h := range q.holidays() {
			hs = append(hs, day(h.Date))
		}
		ps = append(ps, store.ArrayParam("category_skus", skus), store.ArrayParam("category_names", cats), store.ArrayParam("holidays", hs))
	}
	return ps
}

// DefaultPageRows is the page size of stores that do not stream.
const DefaultPageRows = 100_000

// readRecords runs the query and calls fn with its record batches, in
// order, each with the partition key first (Dataset.queryArrowSchema). A
// batch is valid during the call only (fn retains it to keep it).
func readRecords(ctx context.Context, st store.Store, q Query, mem memory.Allocator, pageRows int, fn func(arrow.RecordBatch) error) error {
	text, err := sqlfs.Query(q.Dataset.Query)
	if err != nil {
		return err
	}
	if s, ok := st.(Streamer); ok {
		return streamRecords(ctx, s, text, q, mem, fn)
	}
	return pageRecords(ctx, st, text, q, mem, pageRows, fn)
}

// readAhead is the number of record batches the reader may decode ahead
// of the writer.
const readAhead = 4

// pipeRecords is readRecords with the reading and fn in two goroutines
// (see pipe).
func pipeRecords(ctx context.Context, st store.Store, q Query, mem memory.Allocator, pageRows int, fn func(arrow.RecordBatch) error) error {
	return pipe(ctx, func(ctx context.Context, fn func(arrow.RecordBatch) error) error {
		return readRecords(ctx, st, q, mem, pageRows, fn)
	}, fn)
}

// source calls fn with record batches, in order, each valid during the
// call only.
type source func(ctx context.Context, fn func(arrow.RecordBatch) error) error

// pipe runs read and fn in two goroutines: read (the store's query and
// the Arrow decoding) runs ahead of fn by up to readAhead batches, so
// reading and encoding overlap in bounded memory. fn gets each batch in
// order and must retain it to keep it past the call. An error of either
// side stops both.
func pipe(ctx context.Context, read source, fn func(arrow.RecordBatch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan arrow.RecordBatch, readAhead)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- read(ctx, func(rec arrow.RecordBatch) error {
			rec.Retain()
			select {
			case batches <- rec:
				return nil
			case <-ctx.Done():
				rec.Release()
				return ctx.Err()
			}
		})
	}()
	var err error
	for rec := range batches {
		if err == nil {
			if err = fn(rec); err != nil {
				cancel() // stop the reader; drain what it sent
			}
		}
		rec.Release()
	}
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return err
}

// streamRecords reads the whole range as one stream of the engine's
// Native format, decoded into record batches as the chunks arrive: at
// most a chunk and a batch are held at once.
func streamRecords(ctx context.Context, s Streamer, text string, q Query, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	d := &nativeDecoder{dataset: q.Dataset.Name, schema: q.Dataset.queryArrowSchema(), mem: mem, fn: fn}
	var decodeErr error
	err := s.QueryStream(ctx, text, "Native", func(chunk []byte) error {
		decodeErr = d.write(chunk)
		return decodeErr
	}, q.params(q.From, q.To)...)
	switch {
	case decodeErr != nil:
		return decodeErr
	case err != nil:
		return fmt.Errorf("export %s: query: %w", q.Dataset.Name, err)
	}
	return d.close()
}

// pageQuery wraps a named query into pages; the text is fixed, the
// values are parameters.
const pageQuery = "SELECT * FROM (%s) LIMIT {export_limit:UInt64} OFFSET {export_offset:UInt64}"

// pageRecords reads one day at a time, in pages of pageRows rows, and
// builds record batches from the decoded rows.
func pageRecords(ctx context.Context, st store.Store, text string, q Query, mem memory.Allocator, pageRows int, fn func(arrow.RecordBatch) error) error {
	if pageRows <= 0 {
		pageRows = DefaultPageRows
	}
	paged := fmt.Sprintf(pageQuery, text)
	schema := q.Dataset.queryArrowSchema()
	for d := truncDay(q.From); !d.After(q.To); d = d.AddDate(0, 0, 1) {
		for off := 0; ; off += pageRows {
			ps := append(q.params(d, d), store.IntParam("export_limit", int64(pageRows)), store.IntParam("export_offset", int64(off)))
			res, err := st.Query(ctx, paged, ps...)
			if err != nil {
				return fmt.Errorf("export %s: query %s: %w", q.Dataset.Name, day(d), err)
			}
			if len(res.Rows) == 0 {
				break
			}
			rec, err := resultRecord(schema, res, mem)
			if err != nil {
				return fmt.Errorf("export %s: %w", q.Dataset.Name, err)
			}
			err = fn(rec)
			rec.Release()
			if err != nil {
				return err
			}
			if len(res.Rows) < pageRows {
				break
			}
		}
	}
	return nil
}

// resultRecord builds a record batch of schema from a decoded result.
func resultRecord(schema *arrow.Schema, res *store.Result, mem memory.Allocator) (arrow.RecordBatch, error) {
	if len(res.Columns) != schema.NumFields() {
		return nil, &SchemaMismatchError{Column: -1, Want: fmt.Sprintf("%d columns", schema.NumFields()), Got: fmt.Sprintf("%d columns", len(res.Columns))}
	}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, f := range schema.Fields() {
		if res.Columns[i].Name != f.Name {
			return nil, &SchemaMismatchError{Column: i, Want: f.Name, Got: res.Columns[i].Name}
		}
		if err := appendColumn(b.Field(i), res, i); err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
	}
	return b.NewRecordBatch(), nil
}

func appendColumn(fb array.Builder, res *store.Result, col int) error {
	for _, row := range res.Rows {
		v := row[col]
		if v == nil {
			fb.AppendNull()
			continue
		}
		var err error
		switch b := fb.(type) {
		case *array.StringBuilder:
			var s string
			if s, err = store.AsString(v); err == nil {
				b.Append(s)
			}
		case *array.Int64Builder:
			var x int64
			if x, err = store.AsInt64(v); err == nil {
				b.Append(x)
			}
		case *array.Float64Builder:
			var x float64
			if x, err = store.AsFloat64(v); err == nil {
				b.Append(x)
			}
		case *array.BooleanBuilder:
			var x bool
			if x, err = store.AsBool(v); err == nil {
				b.Append(x)
			}
		case *array.TimestampBuilder:
			var t time.Time
			if t, err = store.AsTime(v); err == nil {
				b.Append(arrow.Timestamp(t.UnixMilli()))
			}
		case *array.Date32Builder:
			var t time.Time
			if t, err = store.AsTime(v); err == nil {
				b.Append(arrow.Date32FromTime(t))
			}
		default:
			return fmt.Errorf("unsupported builder %T", fb)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
