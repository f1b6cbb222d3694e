package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
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

// TestVerifyReorders runs the reorder oracle (verify_reorders.sql through
// verifyReorders, invariant 5) on a hand-worked example in the embedded
// engine.
func TestVerifyReorders(t *testing.T) {
	d0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return d0.Add(time.Duration(n) * 24 * time.Hour) }
	ptr := func(t time.Time) *time.Time { return &t }
	type rec struct {
		id, kind, status string
		ts               time.Time
		sku, wh          string
		receivedQty      int64
	}
	type movement struct {
		sku, wh, kind, ref string
		ts                 time.Time
	}
	po := func(id, status string, ts time.Time, sku, wh string) rec {
		return rec{id, "purchase", status, ts, sku, wh, 0}
	}
	recv := func(id, kind string, ts time.Time, sku, wh string, qty int64) rec {
		return rec{id, kind, "received", ts, sku, wh, qty}
	}
	tests := []struct {
		name      string
		reorders  []rec
		movements []movement
		want      reordersResult
	}{
		{name: "empty"},
		{
			name: "hand-worked",
			reorders: []rec{
				// A at WH1: two reorders one after the other (1 received
				// on day 3, 2 ordered on day 5), then a back-to-back pair:
				// 2 is cancelled on day 6 at the very instant 3 is
				// ordered. 4 is only suggested while 3 is open: a
				// suggestion is not open.
				po("RO-A-WH1-1", "suggested", day(0).Add(-time.Hour), "A", "WH1"),
				po("RO-A-WH1-1", "ordered", day(0), "A", "WH1"),
				recv("RO-A-WH1-1", "purchase", day(3), "A", "WH1", 50),
				po("RO-A-WH1-2", "ordered", day(5), "A", "WH1"),
				po("RO-A-WH1-2", "ordered", day(5), "A", "WH1"), // a sink replay of the same record
				po("RO-A-WH1-2", "cancelled", day(6), "A", "WH1"),
				po("RO-A-WH1-3", "ordered", day(6), "A", "WH1"),
				recv("RO-A-WH1-3", "purchase", day(9), "A", "WH1", 40),
				po("RO-A-WH1-4", "suggested", day(7), "A", "WH1"),
				// A at WH2 is open forever, beside A at WH1's reorders
				// (another key); a transfer into WH1 arrives while
				// RO-A-WH1-3 is open (transfers are not purchase cycles)
				// and is matched by its transfer_in.
				po("RO-A-WH2-1", "ordered", day(1), "A", "WH2"),
				{"TO-A-WH2-WH1-1", "transfer", "ordered", day(7), "A", "WH1", 0},
				recv("TO-A-WH2-WH1-1", "transfer", day(8), "A", "WH1", 10),
				// B at WH1: 1 is never closed, so 2, ordered on day 4 and
				// cancelled on day 5, overlaps it.
				po("RO-B-WH1-1", "ordered", day(1), "B", "WH1"),
				po("RO-B-WH1-2", "ordered", day(4), "B", "WH1"),
				po("RO-B-WH1-2", "cancelled", day(5), "B", "WH1"),
				// C at WH2 is received, but the movements hold only a
				// receipt of another reorder and a transfer_in (the
				// wrong kind) under its id.
				po("RO-C-WH2-1", "ordered", day(0), "C", "WH2"),
				recv("RO-C-WH2-1", "purchase", day(2), "C", "WH2", 30),
				recv("RO-C-WH2-1", "purchase", day(2), "C", "WH2", 30), // a sink replay: counted once
			},
			movements: []movement{
				{"A", "WH1", "receipt", "RO-A-WH1-1", day(3)},
				{"A", "WH1", "receipt", "RO-A-WH1-3", day(9)},
				{"A", "WH1", "transfer_in", "TO-A-WH2-WH1-1", day(8)},
				{"C", "WH2", "receipt", "RO-C-WH2-9", day(2)},
				{"C", "WH2", "transfer_in", "RO-C-WH2-1", day(2)},
				{"C", "WH1", "receipt", "RO-C-WH2-1", day(2)},
			},
			want: reordersResult{
				// Open purchases: A-WH1-1, -2, -3, A-WH2-1, B-WH1-1, -2,
				// C-WH2-1; received: those and TO-A-WH2-WH1-1.
				Checked: 8, Overlaps: 1, UnmatchedReceipts: 1,
				Examples: []reorderProblem{
					{Problem: "overlap", SKU: "B", Warehouse: "WH1", ReorderID: "RO-B-WH1-1", Kind: "purchase", Opened: ptr(day(1)),
						OtherReorderID: "RO-B-WH1-2", OtherOpened: ptr(day(4)), OtherClosed: ptr(day(5))},
					{Problem: "unmatched_receipt", SKU: "C", Warehouse: "WH2", ReorderID: "RO-C-WH2-1", Kind: "purchase",
						ReceivedAt: ptr(day(2)), ReceivedQty: 30},
				},
			},
		},
	}
	dir := filepath.Join(t.TempDir(), "clickhouse")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st, err := embedded.Open(ctx, embedded.Options{Path: dir, Database: "verify_reorders_" + string(rune('a'+i))})
			if err != nil {
				t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so; run deploy/scripts/fetch-chdb.sh): %v", err)
			}
			defer func() { _ = st.Close() }()
			if _, err := store.Migrate(ctx, st, sqlfs.Migrations()); err != nil {
				t.Fatal(err)
			}
			if len(tc.movements) > 0 {
				b := &store.Batch{Table: "stock_movements", Columns: []string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "ref", "src_topic", "src_partition", "src_offset"}}
				for j, m := range tc.movements {
					b.Rows = append(b.Rows, []any{"m" + string(rune('a'+j)), m.ts, m.sku, m.wh, m.kind, int64(1), m.ref, "stockflow.stock.v1", int32(0), int64(j)})
				}
				if err := st.Insert(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			offsets := map[rec]int64{} // a repeated record is a replay: same coordinates
			for j, r := range tc.reorders {
				off, seen := offsets[r]
				if !seen {
					off = int64(j)
					offsets[r] = off
				}
				// One insert each: identical rows in one block would be
				// collapsed on insert, not by FINAL.
				err := st.Insert(ctx, &store.Batch{
					Table:      "reorders",
					Columns:    []string{"reorder_id", "kind", "status", "ts", "sku", "warehouse", "cycle", "qty", "received_qty", "src_partition", "src_offset"},
					Rows:       [][]any{{r.id, r.kind, r.status, r.ts, r.sku, r.wh, int64(1), int64(50), r.receivedQty, int32(1), off}},
					DedupToken: "r" + string(rune('a'+j)),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := verifyReorders(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verifyReorders =\n%s\nwant\n%s", asJSON(t, got), asJSON(t, tc.want))
			}
		})
	}
}

func asJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyRouting runs the routing oracle (verify_routing.sql through
// verifyRouting, invariant 4) on a hand-worked example in the embedded
// engine.
func TestVerifyRouting(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	type rec struct {
		order   string
		attempt int64
		final   bool
	}
	type level struct {
		sku, wh          string
		onHand, reserved int64
		version          uint64
	}
	type result struct {
		id, order, sku, wh, status string
		qty, available             int64
		offset                     int64
	}
	tests := []struct {
		name      string
		decisions []rec
		levels    []level
		results   []result
		want      routingResult
	}{
		{name: "empty"},
		{
			name: "hand-worked",
			decisions: []rec{
				// O1: one final decision (ok).
				{"O1", 1, true},
				{"O1", 1, true}, // a sink replay of the same record: counted once
				// O2: a rejected reservation re-routed it; the second
				// attempt is final (ok).
				{"O2", 1, false},
				{"O2", 2, true},
				// O3: two final decisions.
				{"O3", 1, true},
				{"O3", 2, true},
				// O4: only a non-final attempt.
				{"O4", 1, false},
			},
			levels: []level{
				// A/WH1: more reserved than on hand (reported).
				{"A", "WH1", 3, 5, 7},
				// A/WH2 was below zero at version 1, but its latest version
				// is fine (only the latest counts).
				{"A", "WH2", 1, 4, 1},
				{"A", "WH2", 6, 4, 2},
				// B/WH1: all of on hand reserved (available 0, fine).
				{"B", "WH1", 4, 4, 1},
				// B/WH2: negative on hand with nothing reserved (damage
				// after a count, not routing's doing: not reported).
				{"B", "WH2", -2, 0, 3},
			},
			results: []result{
				// Accepted within available stock (ok), twice: a sink
				// replay of the same record.
				{"O1/A/WH1/1", "O1", "A", "WH1", "accepted", 2, 3, 10},
				{"O1/A/WH1/1", "O1", "A", "WH1", "accepted", 2, 3, 10},
				// Accepted to exactly zero available (ok).
				{"O2/A/WH1/2", "O2", "A", "WH1", "accepted", 3, 0, 11},
				// Accepted past available stock: an oversell.
				{"O3/B/WH1/1", "O3", "B", "WH1", "accepted", 2, -1, 12},
				// Rejected and released answers are not reservations.
				{"O2/A/WH2/1", "O2", "A", "WH2", "rejected", 5, -4, 13},
				{"O1/A/WH1/1", "O1", "A", "WH1", "released", 2, -3, 14},
			},
			want: routingResult{
				Checked: 4, NoFinal: 1, MultipleFinal: 1, ReservationsChecked: 3, NegativeAvailable: 1, ReservedAboveOnHand: 1,
				Examples: []routingProblem{
					{Problem: "no_final", OrderID: "O4", Decisions: 1},
					{Problem: "multiple_final", OrderID: "O3", Decisions: 2, Finals: 2, FinalDecisionIDs: []string{"O3/1", "O3/2"}},
					{Problem: "negative_available", OrderID: "O3", SKU: "B", Warehouse: "WH1", Reserved: 2, ReservationID: "O3/B/WH1/1", Available: -1},
					{Problem: "reserved_above_on_hand", SKU: "A", Warehouse: "WH1", OnHand: 3, Reserved: 5},
				},
			},
		},
	}
	dir := filepath.Join(t.TempDir(), "clickhouse")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st, err := embedded.Open(ctx, embedded.Options{Path: dir, Database: "verify_routing_" + string(rune('a'+i))})
			if err != nil {
				t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so; run deploy/scripts/fetch-chdb.sh): %v", err)
			}
			defer func() { _ = st.Close() }()
			if _, err := store.Migrate(ctx, st, sqlfs.Migrations()); err != nil {
				t.Fatal(err)
			}
			offsets := map[rec]int64{} // a repeated record is a replay: same coordinates
			for j, d := range tc.decisions {
				off, seen := offsets[d]
				if !seen {
					off = int64(j)
					offsets[d] = off
				}
				status, reason := "routed", ""
				if d.final && d.order == "O3" && d.attempt == 2 {
					status, reason = "backordered", "no_stock"
				}
				// One insert each: identical rows in one block would be
				// collapsed on insert, not by FINAL.
				err := st.Insert(ctx, &store.Batch{
					Table:      "routing_decisions",
					Columns:    []string{"decision_id", "order_id", "ts", "status", "reason", "final", "attempt", "src_partition", "src_offset"},
					Rows:       [][]any{{d.order + "/" + strconv.FormatInt(d.attempt, 10), d.order, t0.Add(time.Duration(j) * time.Second), status, reason, d.final, d.attempt, int32(2), off}},
					DedupToken: "d" + string(rune('a'+j)),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(tc.levels) > 0 {
				b := &store.Batch{Table: "stock_levels", Columns: []string{"sku", "warehouse", "on_hand", "reserved", "available", "last_event_ts", "version", "updated_at"}}
				for _, l := range tc.levels {
					b.Rows = append(b.Rows, []any{l.sku, l.wh, l.onHand, l.reserved, l.onHand - l.reserved, t0, l.version, t0})
				}
				if err := st.Insert(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			for j, x := range tc.results {
				err := st.Insert(ctx, &store.Batch{
					Table:      "reservation_results",
					Columns:    []string{"reservation_id", "order_id", "sku", "warehouse", "qty", "status", "available", "reason", "ts", "src_partition", "src_offset"},
					Rows:       [][]any{{x.id, x.order, x.sku, x.wh, x.qty, x.status, x.available, "", t0, int32(1), x.offset}},
					DedupToken: "r" + string(rune('a'+j)),
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := verifyRouting(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verifyRouting =\n%s\nwant\n%s", asJSON(t, got), asJSON(t, tc.want))
			}
		})
	}
}
