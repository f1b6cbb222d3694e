package export

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

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
//
// Each column has an encoder goroutine of its own (Workers of them run at
// once) that turns Arrow values into Parquet pages as batches arrive:
// Write hands a batch to every encoder and returns, so the caller reads
// the next batch while this one is encoded, and a slow column holds back
// the others only at the end of a row group, where every column must be
// complete. A batch is retained until each column has encoded it; the
// encoders' queues are short, so memory stays bounded by a few batches
// and one row group of encoded pages.
type FileWriter struct {
	ds      *Dataset
	schema  *arrow.Schema
	opts    WriterOptions
	pw      *parquet.GenericWriter[any]
	enc     []*columnEncoder
	sem     chan struct{} // Workers tokens: columns encoding at once
	failed  atomic.Bool   // an encoder has failed; the next Write reports it
	inGroup int64
	rows    int64
	closed  bool
}

// encoderQueue is the number of batch slices an encoder holds before
// Write blocks.
const encoderQueue = 4

// NewFileWriter starts a Parquet file of dataset ds on out. The caller
// must Close it, also after an error, to stop its encoders.
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
	cws := pw.ColumnWriters()
	if len(cws) != len(ds.Columns) {
		return nil, fmt.Errorf("export %s: parquet schema has %d columns, want %d", ds.Name, len(cws), len(ds.Columns))
	}
	w := &FileWriter{ds: ds, schema: ds.ArrowSchema(), opts: opts, pw: pw, sem: make(chan struct{}, opts.Workers)}
	for i, c := range ds.Columns {
		e := &columnEncoder{dataset: ds.Name, col: c, index: i, cw: cws[i], sem: w.sem, failed: &w.failed,
			jobs: make(chan encodeJob, encoderQueue), done: make(chan struct{})}
		if c.Nullable {
			e.def = 1
		}
		w.enc = append(w.enc, e)
		go e.run()
	}
	return w, nil
}

// Rows is the number of rows written so far.
func (w *FileWriter) Rows() int64 { return w.rows }

// Write appends the rows of rec, which must have the dataset's Arrow
// schema (Dataset.ArrowSchema). It retains rec until its rows are
// encoded, which may be after Write returns.
func (w *FileWriter) Write(rec arrow.RecordBatch) error {
	if w.closed {
		return errors.New("export: write to a closed parquet file")
	}
	if err := checkSchema(w.ds.Name, w.schema, rec.Schema()); err != nil {
		return err
	}
	if w.failed.Load() {
		return w.barrier(false)
	}
	n := rec.NumRows()
	for off := int64(0); off < n; {
		take := min(n-off, w.opts.RowGroupRows-w.inGroup)
		for i, e := range w.enc {
			rec.Retain()
			e.jobs <- encodeJob{arr: rec.Column(i), rec: rec, lo: int(off), hi: int(off + take)}
		}
		off += take
		w.inGroup += take
		w.rows += take
		if w.inGroup >= w.opts.RowGroupRows {
			if err := w.barrier(true); err != nil {
				return err
			}
			if err := w.pw.Flush(); err != nil {
				return fmt.Errorf("write parquet row group: %w", err)
			}
			w.inGroup = 0
		}
	}
	return nil
}

// barrier waits until every encoder has encoded what it was given and,
// with flush, has written its last page, and returns their errors.
func (w *FileWriter) barrier(flush bool) error {
	var wg sync.WaitGroup
	wg.Add(len(w.enc))
	for _, e := range w.enc {
		e.jobs <- encodeJob{sync: &wg, flush: flush}
	}
	wg.Wait()
	errs := make([]error, len(w.enc))
	for i, e := range w.enc {
		errs[i] = e.err
	}
	return errors.Join(errs...)
}

// stop ends the encoders; the batches they hold are released.
func (w *FileWriter) stop() {
	for _, e := range w.enc {
		close(e.jobs)
	}
	for _, e := range w.enc {
		<-e.done
	}
}

// abort stops the encoders without finishing the file.
func (w *FileWriter) abort() {
	if !w.closed {
		w.closed = true
		w.stop()
	}
}

// Close flushes the last row group and writes the footer; it does not
// close the underlying writer. After a failed Write it only stops the
// encoders. Close is idempotent.
func (w *FileWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.barrier(true)
	w.stop()
	if err != nil {
		return err
	}
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("close parquet file: %w", err)
	}
	return nil
}

// encodeJob is rows [lo, hi) of arr (a column of rec) to encode, or, with
// sync set, a barrier.
type encodeJob struct {
	arr    arrow.Array
	rec    arrow.RecordBatch
	lo, hi int
	sync   *sync.WaitGroup
	flush  bool
}

// columnEncoder encodes one column. Its fields other than jobs are its
// goroutine's; err is read by the writer after a barrier.
type columnEncoder struct {
	dataset string
	col     Column
	index   int
	def     int // the column's max definition level: 1 when nullable
	cw      *parquet.ColumnWriter
	jobs    chan encodeJob
	done    chan struct{}
	sem     chan struct{}
	failed  *atomic.Bool
	vals    []parquet.Value
	err     error
}

// encodeChunk is the number of values converted at once.
const encodeChunk = 4096

func (e *columnEncoder) run() {
	defer close(e.done)
	for j := range e.jobs {
		if j.rec != nil {
			if e.err == nil {
				e.sem <- struct{}{}
				e.err = e.encode(j.arr, j.lo, j.hi)
				<-e.sem
			}
			j.rec.Release()
		}
		if j.sync != nil {
			if j.flush && e.err == nil {
				e.sem <- struct{}{}
				if err := e.cw.Flush(); err != nil {
					e.err = fmt.Errorf("write parquet column %s: %w", e.col.Name, err)
				}
				<-e.sem
			}
			j.sync.Done()
		}
		if e.err != nil {
			e.failed.Store(true)
		}
	}
}

// encode converts rows [lo, hi) of arr to Parquet values and writes them
// to the column, a chunk at a time. Strings are referenced, not copied:
// the column buffer copies them before WriteRowValues returns.
func (e *columnEncoder) encode(arr arrow.Array, lo, hi int) error {
	if e.vals == nil {
		e.vals = make([]parquet.Value, encodeChunk)
	}
	for ; lo < hi; lo += encodeChunk {
		n := min(hi-lo, encodeChunk)
		vals := e.vals[:n]
		if err := e.convert(vals, arr, lo); err != nil {
			return err
		}
		if _, err := e.cw.WriteRowValues(vals); err != nil {
			return fmt.Errorf("write parquet column %s: %w", e.col.Name, err)
		}
	}
	return nil
}

// convert fills vals with rows [lo, lo+len(vals)) of arr. Values of
// required columns need no levels; those of nullable ones carry their
// definition level, 0 for a null.
func (e *columnEncoder) convert(vals []parquet.Value, arr arrow.Array, lo int) error {
	n := len(vals)
	switch a := arr.(type) {
	case *array.String:
		offs := a.ValueOffsets()[lo : lo+n+1]
		data := a.ValueBytes()
		base := a.ValueOffsets()[0]
		for j := range vals {
			vals[j] = parquet.ByteArrayValue(data[offs[j]-base : offs[j+1]-base : offs[j+1]-base])
		}
	case *array.Int64:
		for j, x := range a.Int64Values()[lo : lo+n] {
			vals[j] = parquet.Int64Value(x)
		}
	case *array.Float64:
		for j, x := range a.Float64Values()[lo : lo+n] {
			vals[j] = parquet.DoubleValue(x)
		}
	case *array.Boolean:
		for j := range vals {
			vals[j] = parquet.BooleanValue(a.Value(lo + j))
		}
	case *array.Timestamp:
		for j, x := range a.TimestampValues()[lo : lo+n] {
			vals[j] = parquet.Int64Value(int64(x))
		}
	case *array.Date32:
		for j, x := range a.Date32Values()[lo : lo+n] {
			vals[j] = parquet.Int32Value(int32(x))
		}
	default:
		return fmt.Errorf("export %s: column %s: unsupported arrow array %T", e.dataset, e.col.Name, arr)
	}
	if e.def == 0 {
		return nil
	}
	nulls := arr.NullN() > 0
	for j := range vals {
		if nulls && arr.IsNull(lo+j) {
			vals[j] = parquet.NullValue().Level(0, 0, e.index)
		} else {
			vals[j] = vals[j].Level(0, e.def, e.index)
		}
	}
	return nil
}
