package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/store"
)

// Options configures an export to a directory.
type Options struct {
	Query
	// Out is the export directory (created if missing): the dataset's
	// partitions go to Out/<dataset>/, and README.md and _schema.json in
	// Out describe every dataset exported there.
	Out    string
	Writer WriterOptions
	// Allocator holds the Arrow buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator
	// PageRows is the page size for stores that do not stream.
	PageRows int
	// Progress, if set, is called after each record batch with the rows
	// and partitions written so far.
	Progress func(rows int64, partitions int)
	// Version names the stockflow build in _schema.json.
	Version string
}

// Validate checks the options.
func (o Options) Validate() error {
	if err := o.Query.Validate(); err != nil {
		return err
	}
	if o.Out == "" {
		return errors.New("export: no output directory")
	}
	return o.Writer.Validate()
}

// Partition is one written partition file.
type Partition struct {
	Date  string `json:"date"`
	Path  string `json:"path"` // relative to the export directory (Result.Out)
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Result reports an export.
type Result struct {
	Dataset string `json:"dataset"`
	From    string `json:"from"`
	To      string `json:"to"`
	Out     string `json:"out"`
	// Dir is the dataset's directory, Out/<dataset>: what Parquet
	// readers open.
	Dir        string      `json:"dir"`
	Rows       int64       `json:"rows"`
	Bytes      int64       `json:"bytes"`
	Partitions []Partition `json:"partitions"`
	// Removed lists the partitions of the range that an earlier export
	// left and that have no rows now.
	Removed []string `json:"removed,omitempty"`
	Seconds float64  `json:"seconds"`
}

// PartitionFile is the file name inside each date=YYYY-MM-DD directory.
const PartitionFile = "part-00000.parquet"

// Export writes the dataset's rows of the range as Hive-partitioned
// Parquet under opts.Out/<dataset>/, one file per UTC day, each replaced
// atomically (written to a temporary file in its directory, then
// renamed), and rewrites README.md and _schema.json in opts.Out.
// Partitions of the range that have no rows any more are removed;
// partitions outside it are left alone. The dataset directory holds
// nothing but Parquet, so every reader opens it with no options. Two
// exports of one dataset into one directory at once: the second fails
// (errLocked); exports of different datasets may run side by side.
func Export(ctx context.Context, st store.Store, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return export(ctx, opts, func(ctx context.Context, fn func(arrow.RecordBatch) error) error {
		return readRecords(ctx, st, opts.Query, mem, opts.PageRows, fn)
	})
}

// export writes the batches of read (the query's schema: the partition
// key first) as Export does.
func export(ctx context.Context, opts Options, read source) (*Result, error) {
	started := time.Now()
	ds := opts.Dataset
	dir := filepath.Join(opts.Out, ds.Name)
	if err := checkMetadataFiles(opts.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: create output directory: %w", err)
	}
	unlock, err := lockDir(dir, false)
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("export: another export of %s into %s is running", ds.Name, opts.Out)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer unlock()
	if err := removeLeftovers(dir); err != nil {
		return nil, err
	}
	res := &Result{Dataset: ds.Name, From: day(opts.From), To: day(opts.To), Out: opts.Out, Dir: dir}
	pw := &partitionWriter{out: dir, ds: ds, wopts: opts.Writer}
	defer pw.abort()
	schema := ds.ArrowSchema()
	err = pipe(ctx, read, func(rec arrow.RecordBatch) error {
		dates, ok := rec.Column(0).(*array.Date32)
		if !ok {
			return fmt.Errorf("export %s: partition key is %s, not date32", ds.Name, rec.Column(0).DataType())
		}
		cols := rec.Columns()[1:]
		body := array.NewRecordBatch(schema, cols, rec.NumRows())
		defer body.Release()
		vals := dates.Date32Values()
		for lo := 0; lo < len(vals); {
			hi := lo + 1
			for hi < len(vals) && vals[hi] == vals[lo] {
				hi++
			}
			if err := pw.switchTo(vals[lo], res); err != nil {
				return err
			}
			part := body.NewSlice(int64(lo), int64(hi))
			err := pw.cur.fw.Write(part)
			part.Release()
			if err != nil {
				return err
			}
			res.Rows += int64(hi - lo)
			lo = hi
		}
		if opts.Progress != nil {
			opts.Progress(res.Rows, len(res.Partitions)+1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := pw.finish(res); err != nil {
		return nil, err
	}
	removed, err := removeStale(dir, opts.From, opts.To, res.Partitions)
	if err != nil {
		return nil, err
	}
	res.Removed = removed
	for _, p := range res.Partitions {
		res.Bytes += p.Bytes
	}
	if err := writeMetadata(opts, res); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(started).Seconds()
	return res, nil
}

// partitionWriter writes the partition files one after the other. A
// finished partition is closed (its last row group, footer, rename) in
// the background while the next one is written; one at most.
type partitionWriter struct {
	out   string // the dataset directory
	ds    *Dataset
	wopts WriterOptions

	cur     *partitionFile
	closing chan closedPartition // the previous partition's close, or nil
}

// partitionFile is a partition being written to its temporary file.
type partitionFile struct {
	date arrow.Date32
	tmp  *os.File
	buf  *bufio.Writer
	cw   *countingWriter
	fw   *FileWriter
}

type closedPartition struct {
	part Partition
	err  error
}

// switchTo makes d the current partition, finishing the previous one.
// Rows arrive sorted by date, so a date seen before is an error.
func (p *partitionWriter) switchTo(d arrow.Date32, res *Result) error {
	if p.cur != nil && d == p.cur.date {
		return nil
	}
	if p.cur != nil && d < p.cur.date {
		return fmt.Errorf("export %s: rows out of date order (%s after %s)", p.ds.Name, d.FormattedString(), p.cur.date.FormattedString())
	}
	if err := p.wait(res); err != nil {
		return err
	}
	if f := p.cur; f != nil {
		p.cur = nil
		done := make(chan closedPartition, 1)
		p.closing = done
		go func() {
			part, err := f.finish(p.out)
			done <- closedPartition{part: part, err: err}
		}()
	}
	f, err := p.create(d)
	if err != nil {
		return err
	}
	p.cur = f
	return nil
}

// create starts the temporary file of partition d.
func (p *partitionWriter) create(d arrow.Date32) (*partitionFile, error) {
	dir := filepath.Join(p.out, PartitionKey+"="+d.FormattedString())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: create partition: %w", err)
	}
	// A leading dot: pyarrow and pandas skip it while it is being
	// written (polars does not, but only sees it for that moment).
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("export: create partition file: %w", err)
	}
	f := &partitionFile{date: d, tmp: tmp, cw: &countingWriter{w: tmp}}
	if err := tmp.Chmod(0o644); err != nil {
		f.abort()
		return nil, fmt.Errorf("export: create partition file: %w", err)
	}
	f.buf = bufio.NewWriterSize(f.cw, 1<<20)
	if f.fw, err = NewFileWriter(f.buf, p.ds, p.wopts); err != nil {
		f.abort()
		return nil, err
	}
	return f, nil
}

// wait waits for the previous partition's close and records it.
func (p *partitionWriter) wait(res *Result) error {
	if p.closing == nil {
		return nil
	}
	c := <-p.closing
	p.closing = nil
	if c.err != nil {
		return c.err
	}
	p.record(res, c.part)
	return nil
}

// record adds a written partition to the result, its path relative to
// the export directory.
func (p *partitionWriter) record(res *Result, part Partition) {
	part.Path = filepath.Join(p.ds.Name, part.Path)
	res.Partitions = append(res.Partitions, part)
}

// finish closes the last partitions, in order.
func (p *partitionWriter) finish(res *Result) error {
	if err := p.wait(res); err != nil {
		return err
	}
	if f := p.cur; f != nil {
		p.cur = nil
		part, err := f.finish(p.out)
		if err != nil {
			return err
		}
		p.record(res, part)
	}
	return nil
}

// abort drops the unfinished partition files.
func (p *partitionWriter) abort() {
	if p.closing != nil {
		<-p.closing // a failed close has removed its file
		p.closing = nil
	}
	if p.cur != nil {
		p.cur.abort()
		p.cur = nil
	}
}

// finish closes the file and renames it into place in the dataset
// directory out; on failure it removes it. The partition's path is
// relative to out.
func (f *partitionFile) finish(out string) (Partition, error) {
	name := f.date.FormattedString()
	rows := f.fw.Rows()
	err := f.fw.Close()
	if err == nil {
		err = f.buf.Flush()
	}
	if err == nil {
		err = f.tmp.Close()
	}
	if err != nil {
		f.abort()
		return Partition{}, fmt.Errorf("export: write partition %s: %w", name, err)
	}
	rel := filepath.Join(PartitionKey+"="+name, PartitionFile)
	if err := os.Rename(f.tmp.Name(), filepath.Join(out, rel)); err != nil {
		f.abort()
		return Partition{}, fmt.Errorf("export: replace partition: %w", err)
	}
	return Partition{Date: name, Path: rel, Rows: rows, Bytes: f.cw.n}, nil
}

// abort stops the file's encoders and removes it.
func (f *partitionFile) abort() {
	if f.fw != nil {
		f.fw.abort()
	}
	_ = f.tmp.Close() // already failed, or closed; the file goes away
	_ = os.Remove(f.tmp.Name())
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// tmpPrefix starts the name of a partition file being written.
const tmpPrefix = "." + PartitionFile + ".tmp-"

// removeLeftovers removes the partition files that an export killed while
// writing them left in the dataset directory dir (the caller holds the
// dataset's lock, so no export is writing them now).
func removeLeftovers(dir string) error {
	left, err := filepath.Glob(filepath.Join(dir, PartitionKey+"=*", tmpPrefix+"*"))
	if err != nil {
		return fmt.Errorf("export: list leftovers: %w", err)
	}
	for _, f := range left {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("export: remove a killed export's file: %w", err)
		}
	}
	return nil
}

// removeStale removes the date= directories of [from, to] that this
// export did not write: an earlier export's partitions of days that have
// no rows now.
func removeStale(out string, from, to time.Time, written []Partition) ([]string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, fmt.Errorf("export: list output: %w", err)
	}
	keep := map[string]bool{}
	for _, p := range written {
		keep[p.Date] = true
	}
	var removed []string
	for _, e := range entries {
		ds, ok := strings.CutPrefix(e.Name(), PartitionKey+"=")
		if !ok || !e.IsDir() || keep[ds] {
			continue
		}
		d, err := time.Parse(time.DateOnly, ds)
		if err != nil || d.Before(truncDay(from)) || d.After(truncDay(to)) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
			return removed, fmt.Errorf("export: remove stale partition: %w", err)
		}
		removed = append(removed, ds)
	}
	return removed, nil
}

// WriteFile writes the dataset's rows of the range as one Parquet file on
// w (no partitioning), and returns the rows written.
func WriteFile(ctx context.Context, st store.Store, q Query, w io.Writer, wopts WriterOptions, mem memory.Allocator) (int64, error) {
	if err := q.Validate(); err != nil {
		return 0, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	fw, err := NewFileWriter(w, q.Dataset, wopts)
	if err != nil {
		return 0, err
	}
	defer fw.abort()
	schema := q.Dataset.ArrowSchema()
	err = pipeRecords(ctx, st, q, mem, 0, func(rec arrow.RecordBatch) error {
		body := array.NewRecordBatch(schema, rec.Columns()[1:], rec.NumRows())
		defer body.Release()
		return fw.Write(body)
	})
	if err != nil {
		return fw.Rows(), err
	}
	return fw.Rows(), fw.Close()
}

// writeAtomic writes b to path through a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// marshalJSON is json.MarshalIndent with a trailing newline.
func marshalJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
