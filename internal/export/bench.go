package export

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/store"
	sqlfs "github.com/stockflow/stockflow/sql"
)

//go:embed pywrite.py
var pyWriteScript []byte

// BenchOptions configures Bench.
type BenchOptions struct {
	Rows int64
	// Days the rows spread over (one partition each); default 30.
	Days int
	// Dir is a scratch directory (the three outputs and the Arrow file).
	Dir string
	// Python runs pyarrow (the venv of deploy/scripts/fetch-pyexport.sh).
	Python string
	Writer WriterOptions
	// CPUProfile, if set, receives a CPU profile of stockflow's export
	// (the query and the writing, nothing else).
	CPUProfile io.Writer
}

// BenchResult is what `stockflow bench export --json` prints: stockflow's
// export rate of the sales dataset (query, Arrow, Parquet, partitions)
// and its ratios to the engine writing the same rows with INTO OUTFILE …
// FORMAT Parquet and to pyarrow writing the same table, measured in one
// run.
type BenchResult struct {
	Rows               int64   `json:"rows"`
	RowsPerS           float64 `json:"rows_per_s"`
	MBPerS             float64 `json:"mb_per_s"`
	RatioVsClickHouse  float64 `json:"ratio_vs_clickhouse"`
	RatioVsPyarrow     float64 `json:"ratio_vs_pyarrow"`
	Seconds            float64 `json:"seconds"`
	Bytes              int64   `json:"bytes"`
	ClickHouseRowsPerS float64 `json:"clickhouse_rows_per_s"`
	ClickHouseBytes    int64   `json:"clickhouse_bytes"`
	PyarrowRowsPerS    float64 `json:"pyarrow_rows_per_s"`
	PyarrowBytes       int64   `json:"pyarrow_bytes"`
	Partitions         int     `json:"partitions"`

	// The split of stockflow's time. QueryRowsPerS is its reading side
	// alone: the engine's query (FINAL, ORDER BY) streamed and decoded
	// into Arrow record batches, nothing written, the ceiling of
	// RowsPerS. FromArrowRowsPerS is stockflow's export of the Arrow file
	// pyarrow reads (reading it included, no query), the same work as
	// pyarrow's; RatioVsPyarrowFromArrow compares the two writers on the
	// same input, which RatioVsPyarrow does not (stockflow's figure
	// includes the query there, pyarrow's does not).
	QueryRowsPerS           float64 `json:"query_rows_per_s"`
	FromArrowRowsPerS       float64 `json:"from_arrow_rows_per_s"`
	RatioVsPyarrowFromArrow float64 `json:"ratio_vs_pyarrow_from_arrow"`
}

// benchSales fills the sales table with rows spread over days from start.
const benchSales = `INSERT INTO sales (event_id, ts, sku, warehouse, qty, order_id, channel, unit_price, currency, src_topic, src_partition, src_offset)
SELECT
    concat('e-', toString(number)),
    toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(intDiv(number * {span_ms:UInt64}, {rows:UInt64})),
    concat('SKU-', leftPad(toString(cityHash64(number) % 5000), 6, '0')),
    concat('WH', leftPad(toString(number % 7), 2, '0')),
    1 + number % 5,
    if(number % 3 = 0, concat('ORD-', toString(intDiv(number, 3))), ''),
    ['store', 'web', 'marketplace'][1 + number % 3],
    round(1 + (cityHash64(number, 1) % 10000) / 100, 2),
    'EUR',
    'stockflow.sales.v1',
    toInt32(number % 6),
    toInt64(number)
FROM numbers({rows:UInt64})`

// Bench measures the export of the sales dataset against the engine and
// pyarrow, on st (an empty, migrated database of the embedded engine).
func Bench(ctx context.Context, st store.Store, opts BenchOptions) (BenchResult, error) {
	var res BenchResult
	if opts.Days <= 0 {
		opts.Days = 30
	}
	if opts.Rows <= 0 || opts.Dir == "" || opts.Python == "" {
		return res, fmt.Errorf("export bench: rows, dir and python are required")
	}
	span := int64(opts.Days) * 24 * 3600 * 1000
	if err := st.Exec(ctx, benchSales, store.IntParam("rows", opts.Rows), store.IntParam("span_ms", span)); err != nil {
		return res, fmt.Errorf("export bench: fill sales: %w", err)
	}
	if err := st.Exec(ctx, "OPTIMIZE TABLE sales FINAL"); err != nil {
		return res, fmt.Errorf("export bench: optimize sales: %w", err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := Query{Dataset: mustLookup("sales"), From: from, To: from.AddDate(0, 0, opts.Days-1)}

	// stockflow
	if opts.CPUProfile != nil {
		if err := pprof.StartCPUProfile(opts.CPUProfile); err != nil {
			return res, fmt.Errorf("export bench: %w", err)
		}
	}
	sf, err := Export(ctx, st, Options{Query: q, Out: filepath.Join(opts.Dir, "stockflow"), Writer: opts.Writer})
	if opts.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return res, err
	}
	res.Rows, res.Seconds, res.Bytes, res.Partitions = sf.Rows, sf.Seconds, sf.Bytes, len(sf.Partitions)
	if sf.Rows != opts.Rows {
		return res, fmt.Errorf("export bench: exported %d rows of %d", sf.Rows, opts.Rows)
	}
	res.RowsPerS = float64(sf.Rows) / sf.Seconds
	res.MBPerS = float64(sf.Bytes) / 1e6 / sf.Seconds

	// The engine: the same query into one Parquet file.
	text, err := sqlfs.Query(q.Dataset.Query)
	if err != nil {
		return res, err
	}
	chFile := filepath.Join(opts.Dir, "clickhouse.parquet")
	params := q.params(q.From, q.To)
	t0 := time.Now()
	if err := st.Exec(ctx, fmt.Sprintf("SELECT * FROM (%s) INTO OUTFILE %s TRUNCATE FORMAT Parquet SETTINGS output_format_parquet_compression_method = 'zstd', output_format_parquet_row_group_size = %d",
		text, store.QuoteString(chFile), opts.Writer.withDefaults().RowGroupRows), params...); err != nil {
		return res, fmt.Errorf("export bench: engine parquet: %w", err)
	}
	chSec := time.Since(t0).Seconds()
	res.ClickHouseRowsPerS = float64(opts.Rows) / chSec
	if fi, err := os.Stat(chFile); err == nil {
		res.ClickHouseBytes = fi.Size()
	}
	res.RatioVsClickHouse = res.RowsPerS / res.ClickHouseRowsPerS

	// pyarrow: the same rows from an Arrow file (not timed) to the same
	// partitioned layout.
	arrowFile := filepath.Join(opts.Dir, "rows.arrow")
	if err := st.Exec(ctx, fmt.Sprintf("SELECT * FROM (%s) INTO OUTFILE %s TRUNCATE FORMAT Arrow", text, store.QuoteString(arrowFile)), params...); err != nil {
		return res, fmt.Errorf("export bench: arrow file: %w", err)
	}
	script := filepath.Join(opts.Dir, "pywrite.py")
	if err := os.WriteFile(script, pyWriteScript, 0o644); err != nil {
		return res, fmt.Errorf("export bench: %w", err)
	}
	var dict []string
	for _, c := range q.Dataset.Columns {
		if c.Dict {
			dict = append(dict, c.Name)
		}
	}
	var out, stderr bytes.Buffer
	//nolint:gosec // the operator's python (the venv of deploy/scripts/fetch-pyexport.sh) on the bench's own files
	cmd := exec.CommandContext(ctx, opts.Python, script, arrowFile, filepath.Join(opts.Dir, "pyarrow"), strings.Join(dict, ","),
		fmt.Sprint(opts.Writer.withDefaults().RowGroupRows))
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("export bench: pyarrow: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var py struct {
		Rows    int64   `json:"rows"`
		Seconds float64 `json:"seconds"`
		Bytes   int64   `json:"bytes"`
	}
	if err := json.Unmarshal(out.Bytes(), &py); err != nil {
		return res, fmt.Errorf("export bench: pyarrow output %q: %w", out.String(), err)
	}
	if py.Rows != opts.Rows {
		return res, fmt.Errorf("export bench: pyarrow wrote %d rows of %d", py.Rows, opts.Rows)
	}
	res.PyarrowRowsPerS = float64(py.Rows) / py.Seconds
	res.PyarrowBytes = py.Bytes
	res.RatioVsPyarrow = res.RowsPerS / res.PyarrowRowsPerS

	// The reading side alone.
	var read int64
	t0 = time.Now()
	err = readRecords(ctx, st, q, memory.DefaultAllocator, 0, func(rec arrow.RecordBatch) error {
		read += rec.NumRows()
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("export bench: query only: %w", err)
	}
	if read != opts.Rows {
		return res, fmt.Errorf("export bench: query read %d rows of %d", read, opts.Rows)
	}
	res.QueryRowsPerS = float64(read) / time.Since(t0).Seconds()

	// stockflow on pyarrow's input.
	fa, err := export(ctx, Options{Query: q, Out: filepath.Join(opts.Dir, "stockflow-from-arrow"), Writer: opts.Writer},
		arrowFileSource(arrowFile, q.Dataset, memory.DefaultAllocator))
	if err != nil {
		return res, fmt.Errorf("export bench: from the arrow file: %w", err)
	}
	if fa.Rows != opts.Rows {
		return res, fmt.Errorf("export bench: exported %d rows of the arrow file's %d", fa.Rows, opts.Rows)
	}
	res.FromArrowRowsPerS = float64(fa.Rows) / fa.Seconds
	res.RatioVsPyarrowFromArrow = res.FromArrowRowsPerS / res.PyarrowRowsPerS
	return res, nil
}

// arrowFileSource reads the record batches of an Arrow IPC file with the
// query schema of ds.
func arrowFileSource(path string, ds *Dataset, mem memory.Allocator) source {
	return func(ctx context.Context, fn func(arrow.RecordBatch) error) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // read only
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		defer func() { _ = r.Close() }() // read only
		if err := checkSchema(ds.Name, ds.queryArrowSchema(), r.Schema()); err != nil {
			return err
		}
		for i := range r.NumRecords() {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := r.RecordBatchAt(i)
			if err != nil {
				return fmt.Errorf("read %s: %w", path, err)
			}
			err = fn(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}
}

func mustLookup(name string) *Dataset {
	d, err := Lookup(name)
	if err != nil {
		panic(err)
	}
	return d
}
