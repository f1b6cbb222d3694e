package main

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	sqlfs "github.com/stockflow/stockflow/sql"
)

// TestVerifyWindows runs the window oracle (verify_windows.sql through
// verifyWindows) on hand-worked examples in the embedded engine.
func TestVerifyWindows(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tenth := 0.1 // a variable, so that 3 × tenth is computed in float64 as ClickHouse does
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	type sale struct {
		sku, wh   string
		ts        time.Time
		qty       int64
		price     float64
		partition int32
	}
	type window struct {
		sku, wh, size, kind string
		start               time.Time
		units               int64
		revenue             float64
		sales, stockout     int64
		partition           int32
		offset              int64
	}
	hour := func(sku, wh, kind string, start time.Time, units int64, revenue float64, sales int64, p int32, off int64) window {
		return window{sku, wh, "1h", kind, start, units, revenue, sales, 0, p, off}
	}
	daily := func(sku, wh, kind string, start time.Time, units int64, revenue float64, sales int64, p int32, off int64) window {
		return window{sku, wh, "1d", kind, start, units, revenue, sales, 0, p, off}
	}
	tests := []struct {
		name    string
		sales   []sale
		windows []window
		want    windowsResult
	}{
		{name: "empty"},
		{
			name: "hand-worked",
			sales: []sale{
				// Partition 0: A sold at 10:15 and 10:45 in time, at 11:05
				// only after the windows closed (corrections), and on the
				// next day, which is not closed yet.
				{"A", "WH1", at(10, 15), 2, 1.5, 0},
				{"A", "WH1", at(10, 45), 1, 2, 0},
				{"A", "WH1", at(11, 5), 4, 1, 0},
				{"A", "WH1", at(24+9, 0), 3, 1, 0},
				// Partition 1: B's 08:00 hour has no window record though
				// the day closed; C's revenue 0.1 × 3 is not exactly 0.3.
				{"B", "WH2", at(8, 30), 5, 2, 1},
				{"C", "WH2", at(5, 10), 3, tenth, 1},
				// Partition 2 has closed no day yet: D's windows are open,
				// even though other partitions closed later days.
				{"D", "WH1", at(-24*20, 0), 1, 1, 2},
			},
			windows: []window{
				hour("A", "WH1", "final", at(10, 0), 3, 5, 2, 0, 1),
				hour("A", "WH1", "correction", at(11, 0), 4, 4, 1, 0, 2), // nothing was open in time
				daily("A", "WH1", "final", day, 3, 5, 2, 0, 3),
				daily("A", "WH1", "final", day, 3, 5, 2, 0, 3), // a sink replay of the same record
				daily("A", "WH1", "correction", day, 4, 4, 1, 0, 4),
				{"A", "WH1", "1d", "correction", day, 0, 0, 0, 600, 0, 5}, // stockout only
				daily("B", "WH2", "final", day, 5, 10, 1, 1, 1),
				hour("B", "WH2", "final", at(12, 0), 2, 4, 1, 1, 2), // no such sales
				hour("C", "WH2", "final", at(5, 0), 3, 0.3, 1, 1, 3),
				daily("C", "WH2", "final", day, 3, 0.31, 1, 1, 4),
			},
			want: windowsResult{
				Checked: 7, Mismatches: 2, Missing: 1, Open: 4,
				Examples: []windowProblem{
					{Status: "mismatch", SKU: "B", Warehouse: "WH2", Size: "1h", WindowStart: at(12, 0), StoredUnits: 2, StoredRevenue: 4, StoredSales: 1, FinalRows: 1},
					{Status: "mismatch", SKU: "C", Warehouse: "WH2", Size: "1d", WindowStart: day, StoredUnits: 3, ExpectedUnits: 3,
						StoredRevenue: 0.31, ExpectedRevenue: 3 * tenth, StoredSales: 1, ExpectedSales: 1, FinalRows: 1},
					{Status: "missing", SKU: "B", Warehouse: "WH2", Size: "1h", WindowStart: at(8, 0), ExpectedUnits: 5, ExpectedRevenue: 10, ExpectedSales: 1},
				},
			},
		},
	}
	dir := filepath.Join(t.TempDir(), "clickhouse")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st, err := embedded.Open(ctx, embedded.Options{Path: dir, Database: "verify_windows_" + string(rune('a'+i))})
			if err != nil {
				t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so; run deploy/scripts/fetch-chdb.sh): %v", err)
			}
			defer func() { _ = st.Close() }()
			if _, err := store.Migrate(ctx, st, sqlfs.Migrations()); err != nil {
				t.Fatal(err)
			}
			if len(tc.sales) > 0 {
				b := &store.Batch{Table: "sales", Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "unit_price", "src_topic", "src_partition", "src_offset"}}
				for j, s := range tc.sales {
					b.Rows = append(b.Rows, []any{"e" + string(rune('a'+j)), s.ts, s.sku, s.wh, s.qty, s.price, "stockflow.sales.v1", s.partition, int64(j)})
				}
				if err := st.Insert(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			for j, w := range tc.windows {
				// One insert each: identical rows in one block would be
				// collapsed on insert, not by FINAL.
				size := time.Hour
				if w.size == "1d" {
					size = 24 * time.Hour
				}
				err := st.Insert(ctx, &store.Batch{
					Table: "demand_windows",
					Columns: []string{"sku", "warehouse", "size", "window_start", "window_end", "kind", "units", "revenue", "sales",
						"stockout_seconds", "stream_time", "src_partition", "src_offset"},
					Rows: [][]any{{w.sku, w.wh, w.size, w.start, w.start.Add(size), w.kind, w.units, w.revenue, w.sales,
						w.stockout, w.start.Add(size + time.Hour), w.partition, w.offset}},
					DedupToken: "w" + string(rune('a'+j)),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := verifyWindows(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verifyWindows =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}
