package export

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// WriterOptions tunes the Parquet encoding; zero fields take the defaults.
type WriterOptions struct {
	// RowGroupRows is the number of rows per row group (default
	// DefaultRowGroupRows): large enough for analytics scans, small
	// enough that a row group's encoded pages stay a few tens of MB in
	// memory while it is written.
	RowGroupRows int64
	// PageBytes is the target size of a data page before compression
	// (default 1 MiB).
	PageBytes int
	// Workers is the number of columns encoded in parallel (default
	// GOMAXPROCS).
	Workers int
	// CreatedBy names the writer in the file metadata.
	CreatedBy string
}

// DefaultRowGroupRows is the default row group size.
const DefaultRowGroupRows = 1 << 20

// Validate checks the options.
func (o WriterOptions) Validate() error {
	if o.RowGroupRows < 0 || o.PageBytes < 0 || o.Workers < 0 {
		return errors.New("export writer options: sizes must not be negative")
	}
	return nil
}

func (o WriterOptions) withDefaults() WriterOptions {
	if o.RowGroupRows == 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.PageBytes == 0 {
		o.PageBytes = 1 << 20
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.CreatedBy == "" {
		o.CreatedBy = "stockflow"
	}
	return o
}

// zstdCodec is the compression of every column: zstd at its fastest
// level, the level pyarrow and ClickHouse use by default.
var zstdCodec = &zstd.Codec{Level: zstd.SpeedFastest}

// orderedGroup is a Parquet group whose fields keep the dataset's column
// order (parquet.Group sorts them by name).
type orderedGroup struct {
	parquet.Group
	order []string
}

func (g orderedGroup) Fields() []parquet.Field {
	fields := g.Group.Fields()
	rank := func(name string) int { return slices.Index(g.order, name) }
	slices.SortStableFunc(fields, func(a, b parquet.Field) int { return rank(a.Name()) - rank(b.Name()) })
	return fields
}

// ParquetSchema is the Parquet schema of the dataset's files: the columns
// in order, REQUIRED or OPTIONAL, zstd-compressed, dictionary-encoded
// where Dict is set.
func (d *Dataset) ParquetSchema() *parquet.Schema {
	g := orderedGroup{Group: parquet.Group{}}
	for _, c := range d.Columns {
		var n parquet.Node
		switch c.Kind {
		case String:
			n = parquet.String()
		case Int64:
			n = parquet.Int(64)
		case Float64:
			n = parquet.Leaf(parquet.DoubleType)
		case Bool:
			n = parquet.Leaf(parquet.BooleanType)
		case Timestamp:
			n = parquet.Timestamp(parquet.Millisecond)
		case Date:
			n = parquet.Date()
		}
		if c.Dict {
			n = parquet.Encoded(n, &parquet.RLEDictionary)
		}
		n = parquet.Compressed(n, zstdCodec)
		if c.Nullable {
			n = parquet.Optional(n)
		} else {
			n = parquet.Required(n)
		}
		g.Group[c.Name] = n
		g.order = append(g.order, c.Name)
	}
	return parquet.NewSchema(d.Name, g)
}

// SchemaMismatchError says a record batch does not have the dataset's
// schema: the query and the column list in dataset.go disagree.
type SchemaMismatchError struct {
	Dataset string
	Column  int
	Want    string
	Got     string
}

func (e *SchemaMismatchError) Error() string {
	return fmt.Sprintf("export %s: column %d: got %s, want %s", e.Dataset, e.Column, e.Got, e.Want)
}

// checkSchema verifies that s has exactly the fields of want.
func checkSchema(dataset string, want, s *arrow.Schema) error {
	if s.NumFields() != want.NumFields() {
		return &SchemaMismatchError{Dataset: dataset, Column: -1, Want: fmt.Sprintf("%d columns", want.NumFields()), Got: fmt.Sprintf("%d columns", s.NumFields())}
	}
	for i, f := range s.Fields() {
		w := want.Field(i)
		if f.Name != w.Name || !arrow.TypeEqual(f.Type, w.Type) || (f.Nullable && !w.Nullable) {
			return &SchemaMismatchError{Dataset: dataset, Column: i, Want: fieldString(w), Got: fieldString(f)}
		}
	}
	return nil
}

func fieldString(f arrow.Field) string {
	s := f.Name + " " + f.Type.String()
	if f.Nullable {
		s += " nullable"
	}
	return s
}

// FileWriter encodes record batches of one dataset into one Parquet file.
// It buffers one row group at most.
type FileWriter struct {
	ds      *Dataset
	schema  *arrow.Schema
	opts    WriterOptions
	pw      *parquet.GenericWriter[any]
	cols    []*parquet.ColumnWriter
	vals    [][]parquet.Value
	inGroup int64
	rows    int64
	closed  bool
}

// NewFileWriter starts a Parquet file of dataset ds on out.
func NewFileWriter(out io.Writer, ds *Dataset, opts WriterOptions) (*FileWriter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	sorting := make([]parquet.SortingColumn, len(ds.SortedBy))
	for i, c := range ds.SortedBy {
		sorting[i] = parquet.Ascending(c)
	}
	cfg, err := parquet.NewWriterConfig(
		ds.ParquetSchema(),
		parquet.Compression(zstdCodec),
		parquet.PageBufferSize(opts.PageBytes),
		parquet.CreatedBy(opts.CreatedBy, "", ""),
		parquet.KeyValueMetadata("stockflow.dataset", ds.Name),
		parquet.SortingWriterConfig(parquet.SortingColumns(sorting...)),
	)
	if err != nil {
		return nil, fmt.Errorf("parquet writer config: %w", err)
	}
	pw := parquet.NewGenericWriter[any](out, cfg)
	w := &FileWriter{ds: ds, schema: ds.ArrowSchema(), opts: opts, pw: pw, cols: pw.ColumnWriters()}
	if len(w.cols) != len(ds.Columns) {
		return nil, fmt.Errorf("export %s: parquet schema has %d columns, want %d", ds.Name, len(w.cols), len(ds.Columns))
	}
	w.vals = make([][]parquet.Value, len(ds.Columns))
	return w, nil
}

// Rows is the number of rows written so far.
func (w *FileWriter) Rows() int64 { return w.rows }

// Write appends the rows of rec, which must have the dataset's Arrow
// schema (Dataset.ArrowSchema). It does not retain rec.
func (w *FileWriter) Write(rec arrow.RecordBatch) error {
	if w.closed {
		return errors.New("export: write to a closed parquet file")
	}
	if err := checkSchema(w.ds.Name, w.schema, rec.Schema()); err != nil {
		return err
	}
	n := rec.NumRows()
	for off := int64(0); off < n; {
		take := min(n-off, w.opts.RowGroupRows-w.inGroup)
		if err := w.writeColumns(rec, off, off+take); err != nil {
			return err
		}
		off += take
		w.inGroup += take
		w.rows += take
		if w.inGroup >= w.opts.RowGroupRows {
			if err := w.pw.Flush(); err != nil {
				return fmt.Errorf("write parquet row group: %w", err)
			}
			w.inGroup = 0
		}
	}
	return nil
}

// writeColumns encodes rows [lo, hi) of every column, several columns at
// once (each ColumnWriter is independent until the row group is flushed).
func (w *FileWriter) writeColumns(rec arrow.RecordBatch, lo, hi int64) error {
	ncol := len(w.cols)
	errs := make([]error, ncol)
	next := make(chan int, ncol)
	for i := range ncol {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(w.opts.Workers, ncol) {
		wg.Go(func() {
			for i := range next {
				errs[i] = w.writeColumn(i, rec.Column(i), int(lo), int(hi))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeColumn converts rows [lo, hi) of arr to Parquet values and writes
// them to column i. Strings are referenced, not copied: the column buffer
// copies them before the call returns.
func (w *FileWriter) writeColumn(i int, arr arrow.Array, lo, hi int) error {
	c := w.ds.Columns[i]
	vals := w.vals[i]
	if cap(vals) < hi-lo {
		vals = make([]parquet.Value, hi-lo)
	}
	vals = vals[:hi-lo]
	w.vals[i] = vals
	var def int
	if c.Nullable {
		def = 1
	}
	switch a := arr.(type) {
	case *array.String:
		for j := lo; j < hi; j++ {
			s := a.Value(j)
			vals[j-lo] = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s))).Level(0, def, i)
		}
	case *array.Int64:
		for j, x := range a.Int64Values()[lo:hi] {
			vals[j] = parquet.Int64Value(x).Level(0, def, i)
		}
	case *array.Float64:
		for j, x := range a.Float64Values()[lo:hi] {
			vals[j] = parquet.DoubleValue(x).Level(0, def, i)
		}
	case *array.Boolean:
		for j := lo; j < hi; j++ {
			vals[j-lo] = parquet.BooleanValue(a.Value(j)).Level(0, def, i)
		}
	case *array.Timestamp:
		for j, x := range a.TimestampValues()[lo:hi] {
			vals[j] = parquet.Int64Value(int64(x)).Level(0, def, i)
		}
	case *array.Date32:
		for j, x := range a.Date32Values()[lo:hi] {
			vals[j] = parquet.Int32Value(int32(x)).Level(0, def, i)
		}
	default:
		return fmt.Errorf("export %s: column %s: unsupported arrow array %T", w.ds.Name, c.Name, arr)
	}
	if arr.NullN() > 0 {
		for j := lo; j < hi; j++ {
			if arr.IsNull(j) {
				vals[j-lo] = parquet.NullValue().Level(0, 0, i)
			}
		}
	}
	if _, err := w.cols[i].WriteRowValues(vals); err != nil {
		return fmt.Errorf("write parquet column %s: %w", c.Name, err)
	}
	return nil
}

// Close flushes the last row group and writes the footer; it does not
// close the underlying writer. Close is idempotent.
func (w *FileWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("close parquet file: %w", err)
	}
	return nil
}
