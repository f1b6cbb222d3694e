package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/export"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/store/storetest"
	"github.com/stockflow/stockflow/internal/testenv"
	sqlfs "github.com/stockflow/stockflow/sql"
)

// One embedded engine per test binary; each test has its own database.
var (
	engineDir string
	engineErr error
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var closeEngine func()
	_, engineDir, closeEngine, engineErr = testenv.Engine(ctx)
	cancel()
	defer closeEngine()
	return m.Run()
}

func openStore(t *testing.T, database string) store.Store {
	t.Helper()
	if engineErr != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so; run deploy/scripts/fetch-chdb.sh and set STOCKFLOW_CHDB_LIB): %v", engineErr)
	}
	s, err := embedded.Open(t.Context(), embedded.Options{Path: engineDir, Database: database})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	return s
}

// paged hides the embedded store's streaming, so Export reads it in pages
// as it reads a ClickHouse server.
type paged struct{ store.Store }

var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// seed writes 10 days of sales and stock for 3 SKUs in 2 warehouses, with
// stockouts on known days, a campaign and forecasts. It returns the
// (sku, warehouse, day) keys that have stockout seconds.
func seed(t *testing.T, st store.Store) map[string]bool {
	t.Helper()
	ctx := t.Context()
	var sales, moves, windows, fcs [][]any
	stocked := map[string]bool{}
	n := 0
	for d := range 10 {
		dt := day0.AddDate(0, 0, d)
		for s := range 3 {
			for w := range 2 {
				sku, wh := fmt.Sprintf("SKU-%d", s), fmt.Sprintf("WH%d", w)
				if d == 0 {
					moves = append(moves, []any{fmt.Sprintf("m-%s-%s", sku, wh), dt, sku, wh, "receipt", int64(100), int64(100), "PO-1", "stockflow.stock.v1", int32(0), int64(len(moves))})
				}
				for k := range (d + s + w) % 4 {
					n++
					sales = append(sales, []any{fmt.Sprintf("e-%d", n), dt.Add(time.Duration(k+1) * time.Hour), sku, wh, int64(1 + k), "", "store", 2.5 + float64(s), "EUR", "stockflow.sales.v1", int32(0), int64(n)})
				}
				var out int64
				if (d+s*3+w)%5 == 0 {
					out = int64(600 * (1 + s))
					stocked[sku+"|"+wh+"|"+dt.Format(time.DateOnly)] = true
				}
				windows = append(windows, []any{sku, wh, "1d", dt, dt.AddDate(0, 0, 1), "final", int64(0), 0.0, int64(0), out, 0.0, 0.0, dt, int32(0), int64(len(windows))})
				fcs = append(fcs, []any{"run-1", day0, day0.AddDate(0, 0, -1), sku, wh, "naive", dt, uint16(d + 1), 1.5, 0.1, 0.5, 1.5, 2.5, 3.0, 4.0, 0.0})
			}
		}
	}
	for _, b := range []*store.Batch{
		{Table: "sales", Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency", "src_topic", "src_partition", "src_offset"}, Rows: sales},
		{Table: "stock_movements", Columns: []string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "delta", "ref", "src_topic", "src_partition", "src_offset"}, Rows: moves},
		{Table: "demand_windows", Columns: []string{"sku", "warehouse", "size", "window_start", "window_end", "kind", "units", "revenue", "sales", "stockout_seconds", "velocity_7d", "velocity_28d", "stream_time", "src_partition", "src_offset"}, Rows: windows},
		{Table: "forecasts", Columns: []string{"run_id", "created_at", "cutoff", "sku", "warehouse", "model", "day", "horizon", "mean", "p05", "p10", "p50", "p90", "p95", "p99", "uplift"}, Rows: fcs},
		{Table: "warehouses", Columns: []string{"id", "region", "lat", "lon", "name", "updated_at"}, Rows: [][]any{{"WH0", "EU-West", 0.0, 0.0, "a", day0}, {"WH1", "EU-East", 0.0, 0.0, "b", day0}}},
		{Table: "campaigns", Columns: []string{"event_id", "ts", "campaign_id", "skus", "category", "regions", "warehouses", "start", "end", "expected_uplift", "src_topic", "src_partition", "src_offset"},
			Rows: [][]any{{"c-1", day0, "CMP-1", []string{"SKU-1"}, "", []string{"EU-East"}, []string{}, day0.AddDate(0, 0, 2), day0.AddDate(0, 0, 4), 0.5, "stockflow.campaigns.v1", int32(0), int64(0)}}},
	} {
		if err := st.Insert(ctx, b); err != nil {
			t.Fatalf("seed %s: %v", b.Table, err)
		}
	}
	return stocked
}

// engineFigures runs q over the named query (as the subquery x) with the
// export's parameters.
func engineFigures(t *testing.T, st store.Store, q export.Query, sel string) []any {
	t.Helper()
	text := sqlfs.MustQuery(q.Dataset.Query)
	res, err := st.Query(t.Context(), fmt.Sprintf("SELECT %s FROM (%s) AS x", sel, text), exportParams(q)...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows[0]
}

func exportParams(q export.Query) []store.Param {
	return []store.Param{
		{Name: "from", Value: q.From.Format(time.DateOnly)}, {Name: "to", Value: q.To.Format(time.DateOnly)},
		store.ArrayParam("skus", q.SKUs), store.ArrayParam("warehouses", q.Warehouses), store.ArrayParam("regions", q.Regions),
		store.ArrayParam("category_skus", nil), store.ArrayParam("category_names", nil), store.ArrayParam("holidays", holidayDays(q)),
	}
}

func holidayDays(q export.Query) []string {
	var out []string
	for _, h := range export.Holidays(q.From.AddDate(-1, 0, 0), q.To.AddDate(1, 0, 0)) {
		out = append(out, h.Date.Format(time.DateOnly))
	}
	return out
}

// fileFigures runs sel over the export's files, read by the engine.
func fileFigures(t *testing.T, st store.Store, dir, sel string) []any {
	t.Helper()
	res, err := st.Query(t.Context(), fmt.Sprintf("SELECT %s FROM file(%s, Parquet)", sel, store.QuoteString(filepath.Join(dir, "date=*", export.PartitionFile))))
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows[0]
}

// TestExport exports every dataset from the embedded engine, streamed and
// paged, and reads the files back with the engine (file(…, Parquet)):
// the same row counts and sums as the engine's own query, and the
// features' censored flag set exactly on the stocked-out days.
func TestExport(t *testing.T) {
	st := storetest.Migrated(t, openStore)
	stocked := seed(t, st)
	tests := []struct {
		dataset string
		sel     string // figures compared between the engine's query and the files
	}{
		{"sales", "count(), sum(qty), round(sum(revenue), 6)"},
		{"stock_movements", "count(), sum(qty), sum(delta)"},
		{"stock_levels", "count(), sum(on_hand), sum(sold)"},
		{"sales_daily", "count(), sum(units), round(sum(revenue), 6)"},
		{"forecasts", "count(), round(sum(mean), 6), round(sum(p90), 6)"},
		{"reorders", "count()"},
		{"routing", "count()"},
		{"features", "count(), sum(units_sold), round(sum(revenue), 6), sum(on_hand), countIf(censored), countIf(campaign), countIf(forecast_h1 IS NOT NULL)"},
	}
	for _, tc := range tests {
		for _, mode := range []string{"stream", "paged"} {
			t.Run(tc.dataset+"/"+mode, func(t *testing.T) {
				ds, err := export.Lookup(tc.dataset)
				if err != nil {
					t.Fatal(err)
				}
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				q := export.Query{Dataset: ds, From: day0.AddDate(0, 0, 1), To: day0.AddDate(0, 0, 8)}
				src := st
				if mode == "paged" {
					src = paged{st}
				}
				out := t.TempDir()
				res, err := export.Export(t.Context(), src, export.Options{Query: q, Out: out, Allocator: mem, PageRows: 7, Writer: export.WriterOptions{RowGroupRows: 5}})
				if err != nil {
					t.Fatal(err)
				}
				want := engineFigures(t, st, q, tc.sel)
				if fmt.Sprint(want[0]) != fmt.Sprint(res.Rows) {
					t.Fatalf("exported %d rows, the engine's query has %v", res.Rows, want[0])
				}
				for _, f := range []string{export.SchemaFile, export.ReadmeFile} {
					if _, err := os.Stat(filepath.Join(out, f)); err != nil {
						t.Errorf("no %s: %v", f, err)
					}
				}
				if res.Dir != filepath.Join(out, tc.dataset) {
					t.Errorf("dataset directory %s, want %s", res.Dir, filepath.Join(out, tc.dataset))
				}
				checkOnlyParquet(t, res)
				if res.Rows == 0 {
					return
				}
				if got := fileFigures(t, st, res.Dir, tc.sel); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("files read by the engine: %v, the engine's query: %v", got, want)
				}
				if tc.dataset == "features" {
					checkCensored(t, st, res.Dir, q, stocked)
				}
			})
		}
	}
}

// TestExportDailyGridStopsAtDataEnd exports the datasets with a row per
// key and day for a range that reaches 21 days past the seeded data (days
// 0-9, every key with a receipt on day 0): the days after the last
// movement or sale get no rows, which would read as observed days of zero
// demand and unchanged stock.
func TestExportDailyGridStopsAtDataEnd(t *testing.T) {
	st := storetest.Migrated(t, openStore)
	seed(t, st)
	for _, name := range []string{"features", "stock_levels"} {
		t.Run(name, func(t *testing.T) {
			ds, err := export.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			q := export.Query{Dataset: ds, From: day0.AddDate(0, 0, 1), To: day0.AddDate(0, 0, 30)}
			res, err := export.Export(t.Context(), st, export.Options{Query: q, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			const keys, days = 3 * 2, 9 // days 1-9
			got := fileFigures(t, st, res.Dir, "count(), toString(min(day)), toString(max(day))")
			want := []any{uint64(keys * days), day0.AddDate(0, 0, 1).Format(time.DateOnly), day0.AddDate(0, 0, 9).Format(time.DateOnly)}
			if res.Rows != keys*days || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("exported %d rows, files have (rows, first day, last day) %v; want %v", res.Rows, got, want)
			}
		})
	}
}

// checkOnlyParquet checks that the dataset directory of an export holds
// the partitions it reports and nothing else (no metadata, no temporary
// files), which is what lets every reader open it with no options.
func checkOnlyParquet(t *testing.T, res *export.Result) {
	t.Helper()
	want := map[string]bool{}
	for _, p := range res.Partitions {
		want[filepath.Join(res.Out, p.Path)] = true
	}
	n := 0
	err := filepath.WalkDir(res.Dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != res.Dir && !strings.HasPrefix(d.Name(), export.PartitionKey+"="):
			t.Errorf("a directory that is not a partition: %s", path)
		case !d.IsDir() && !want[path]:
			t.Errorf("a file that is not a partition of the export: %s", path)
		case !d.IsDir():
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(res.Partitions) {
		t.Errorf("%d partition files, the export reports %d", n, len(res.Partitions))
	}
}

// checkCensored checks the censored flag row by row against the seeded
// stockouts.
func checkCensored(t *testing.T, st store.Store, dir string, q export.Query, stocked map[string]bool) {
	t.Helper()
	res, err := st.Query(t.Context(), fmt.Sprintf("SELECT sku, warehouse, toString(day), censored, stockout_minutes FROM file(%s, Parquet)",
		store.QuoteString(filepath.Join(dir, "date=*", export.PartitionFile))))
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for k := range stocked {
		if d, _ := time.Parse(time.DateOnly, strings.Split(k, "|")[2]); !d.Before(q.From) && !d.After(q.To) {
			want++
		}
	}
	got := 0
	for _, r := range res.Rows {
		key := fmt.Sprintf("%v|%v|%v", r[0], r[1], r[2])
		censored, ok := r[3].(bool)
		minutes, ok2 := r[4].(float64)
		if !ok || !ok2 || censored != stocked[key] || censored != (minutes > 0) {
			t.Errorf("%s: censored %v, stockout minutes %v, seeded stockout %v", key, censored, r[4], stocked[key])
		}
		if censored {
			got++
		}
	}
	if got != want || want == 0 {
		t.Errorf("%d censored rows, want %d (> 0)", got, want)
	}
}

// TestExportPython reads an export of the features with pyarrow, pandas,
// polars and DuckDB (the venv of deploy/scripts/fetch-pyexport.sh) the way a
// data scientist would, pd.read_parquet(DIR/features) with no options:
// the same row counts and sums as the engine's own query, and the hive
// partition key seen by every reader. A second dataset exported into the
// same directory first shares README.md and _schema.json with it.
func TestExportPython(t *testing.T) {
	py := pythonExport(t)
	st := storetest.Migrated(t, openStore)
	seed(t, st)
	ds, err := export.Lookup("features")
	if err != nil {
		t.Fatal(err)
	}
	q := export.Query{Dataset: ds, From: day0, To: day0.AddDate(0, 0, 9)}
	out := t.TempDir()
	sales, err := export.Lookup("sales")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := export.Export(t.Context(), st, export.Options{Query: export.Query{Dataset: sales, From: q.From, To: q.To}, Out: out}); err != nil {
		t.Fatal(err)
	}
	res, err := export.Export(t.Context(), st, export.Options{Query: q, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, out, "features", "sales")
	want := engineFigures(t, st, q, "count(), sum(units_sold), sum(revenue), sum(on_hand), countIf(censored), countIf(campaign)")
	cmd := exec.CommandContext(t.Context(), py, filepath.Join("testdata", "readback.py"), res.Dir, "units_sold,revenue,on_hand", "censored,campaign")
	b, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("readback.py: %v\n%s", err, stderr)
	}
	var got map[string]struct {
		Rows         uint64             `json:"rows"`
		Sums         map[string]float64 `json:"sums"`
		True         map[string]uint64  `json:"true"`
		PartitionKey bool               `json:"partition_key"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("readback.py output %q: %v", b, err)
	}
	for _, reader := range []string{"pyarrow", "pandas", "polars", "duckdb"} {
		r, ok := got[reader]
		switch {
		case !ok:
			t.Errorf("%s: no figures", reader)
		case fmt.Sprint(r.Rows, int64(r.Sums["units_sold"])) != fmt.Sprint(want[0], want[1]) ||
			math.Abs(r.Sums["revenue"]-num(want[2])) > 1e-6 || fmt.Sprint(int64(r.Sums["on_hand"])) != fmt.Sprint(want[3]) ||
			fmt.Sprint(r.True["censored"], r.True["campaign"]) != fmt.Sprint(want[4], want[5]) || !r.PartitionKey:
			t.Errorf("%s read %+v; the engine's query: %v", reader, r, want)
		}
	}
}

// checkIndex checks that _schema.json and README.md of the export
// directory describe exactly the given datasets, every column of each.
func checkIndex(t *testing.T, out string, datasets ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, export.SchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	var idx export.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("%s: %v", export.SchemaFile, err)
	}
	readme, err := os.ReadFile(filepath.Join(out, export.ReadmeFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Datasets) != len(datasets) {
		t.Errorf("%s lists %d datasets, want %v", export.SchemaFile, len(idx.Datasets), datasets)
	}
	for _, name := range datasets {
		ds, err := export.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, ok := idx.Datasets[name]
		if !ok || doc.Path != name || len(doc.Columns) != len(ds.Columns) || doc.LastExport == nil {
			t.Errorf("%s: %s entry %+v", name, export.SchemaFile, doc)
		}
		if !strings.Contains(string(readme), "\n## "+name+"\n") {
			t.Errorf("README.md has no section for %s", name)
		}
		for _, c := range ds.Columns {
			if !strings.Contains(string(readme), "| `"+c.Name+"` |") {
				t.Errorf("README.md does not describe %s.%s", name, c.Name)
			}
		}
	}
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// pythonExport returns the python of the export venv, installing it with
// the project's script when STOCKFLOW_PYEXPORT is not set. A missing
// Python fails the test, naming what is missing.
func pythonExport(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("STOCKFLOW_PYEXPORT"); p != "" {
		return p
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join("..", "..", "deploy", "scripts", "fetch-pyexport.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("this test needs Python 3.11+ with pyarrow, pandas, polars and duckdb (deploy/scripts/fetch-pyexport.sh failed: %v)", err)
	}
	return strings.TrimSpace(string(out))
}

// TestExportCancelled stops an export in the middle: it fails with the
// context's error, leaves no temporary partition file behind, and
// releases every Arrow buffer (the reader, the encoders and the
// partition being closed in the background all stop).
func TestExportCancelled(t *testing.T) {
	st := storetest.Migrated(t, openStore)
	seed(t, st)
	ds, err := export.Lookup("sales")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"stream", "paged"} {
		t.Run(mode, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			src := st
			if mode == "paged" {
				src = paged{st}
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := t.TempDir()
			q := export.Query{Dataset: ds, From: day0, To: day0.AddDate(0, 0, 9)}
			_, err := export.Export(ctx, src, export.Options{Query: q, Out: out, Allocator: mem, PageRows: 1,
				Writer: export.WriterOptions{RowGroupRows: 2}, Progress: func(rows int64, _ int) {
					if rows >= 3 {
						cancel()
					}
				}})
			if mode == "paged" && !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if err == nil {
				return // the stream was read whole before the cancellation was seen
			}
			if err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), ".tmp-") {
					t.Errorf("temporary file left: %s", path)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestExportDirectory: an export removes the partition files a killed
// export left in its dataset directory, drops datasets whose directory is
// gone from the index, and refuses, before writing anything, an export
// directory whose README.md is not an export's.
func TestExportDirectory(t *testing.T) {
	st := storetest.Migrated(t, openStore)
	seed(t, st)
	lookup := func(name string) export.Query {
		ds, err := export.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return export.Query{Dataset: ds, From: day0, To: day0.AddDate(0, 0, 9)}
	}
	out := t.TempDir()
	if _, err := export.Export(t.Context(), st, export.Options{Query: lookup("sales"), Out: out}); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, out, "sales")

	// A killed export's temporary file, in a partition of another range.
	left := filepath.Join(out, "features", "date=2020-01-01", "."+export.PartitionFile+".tmp-123")
	if err := os.MkdirAll(filepath.Dir(left), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(left, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(out, "sales")); err != nil {
		t.Fatal(err)
	}
	res, err := export.Export(t.Context(), st, export.Options{Query: lookup("features"), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the killed export's file is still there: %v", err)
	}
	checkIndex(t, out, "features")
	if res.Rows == 0 {
		t.Fatal("no features rows")
	}

	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, export.ReadmeFile), []byte("# My project\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = export.Export(t.Context(), st, export.Options{Query: lookup("sales"), Out: foreign})
	if err == nil || !strings.Contains(err.Error(), "not written by stockflow") {
		t.Fatalf("export into a directory with someone's README.md: got %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(foreign, export.ReadmeFile)); err != nil || string(b) != "# My project\n" {
		t.Errorf("README.md now %q (%v)", b, err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "sales")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dataset directory was created before the refusal: %v", err)
	}
}
