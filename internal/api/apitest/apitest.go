// Package apitest holds a small, hand-checked data set for the query API's
// tests and the Grafana data source's: it inserts rows through a
// store.Store. It imports only package store and the standard library.
package apitest

import (
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
)

// Now is the fixture's clock: after every row, inside the forecast.
var Now = time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC)

func day(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }

const (
	// Sigma is the daily standard deviation of SKU A's demand at W1 in
	// the latest forecast run; its p10..p90 interval is mean ± Z90·Sigma.
	Sigma = 2.0
	// Z90 is the standard normal's 90% quantile.
	Z90   = 1.2815515655446004
	sigma = Sigma
	z90   = Z90
)

// Seed inserts a small, hand-checkable world through the store (a
// migrated database): warehouses W1 (north) and W2 (south), SKUs A and B,
// two forecast runs, reorders, sales, orders with their routing, and DLQ
// records, all in January 2026. internal/api's tests document the figures
// each query must compute from it.
func Seed(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	ins := func(b *store.Batch) {
		t.Helper()
		if err := st.Insert(ctx, b); err != nil {
			t.Fatalf("insert %s: %v", b.Table, err)
		}
	}
	ins(&store.Batch{Table: "warehouses", Columns: []string{"id", "region", "lat", "lon", "name", "updated_at"}, Rows: [][]any{
		{"W1", "north", 59.3, 18.1, "North DC", day(1)},
		{"W2", "south", 41.4, 2.2, "South DC", day(1)},
	}})
	ins(&store.Batch{Table: "stock_levels", Columns: []string{"sku", "warehouse", "on_hand", "reserved", "available", "last_event_ts", "version", "updated_at"}, Rows: [][]any{
		{"A", "W1", int64(30), int64(5), int64(25), day(16), uint64(1), day(16)},
		{"A", "W2", int64(20), int64(0), int64(20), day(16), uint64(1), day(16)},
		{"B", "W1", int64(0), int64(0), int64(0), day(16), uint64(1), day(16)},
	}})
	// An old run that must be ignored, then the latest: 10 days from the
	// 15th, A/W1 mean 10 with sigma 2, A/W2 mean 4 with no spread.
	var fc [][]any
	for h := 1; h <= 10; h++ {
		fc = append(fc,
			[]any{"old", day(10), day(10), "A", "W1", "ets", day(10 + h), uint16(h), 100.0, 90.0, 100.0, 110.0},
			[]any{"new", day(14), day(14), "A", "W1", "theta", day(14 + h), uint16(h), 10.0, 10 - z90*sigma, 10.0, 10 + z90*sigma},
			[]any{"new", day(14), day(14), "A", "W2", "theta", day(14 + h), uint16(h), 4.0, 4.0, 4.0, 4.0},
		)
	}
	ins(&store.Batch{Table: "forecasts", Columns: []string{"run_id", "created_at", "cutoff", "sku", "warehouse", "model", "day", "horizon", "mean", "p10", "p50", "p90"}, Rows: fc})
	// Accuracy of the two runs: "old" chose ets for A/W1 and croston for
	// B/W1; "new" chose theta for A/W1 (replacing ets there) and A/W2,
	// whose bias is undefined. Over January: theta 2 series (mase 0.7,
	// wape 0.4, bias 0.1 from A/W1 alone, coverage 0.9, 1 censored day),
	// croston 1 series.
	acc := func(run string, cutoff int, sku, wh, model string, mase, wape, bias, cov any, censored uint32) []any {
		return []any{run, day(cutoff), day(cutoff), sku, wh, model, uint32(cutoff), uint16(7), censored, mase, mase, wape, bias, 0.25, cov, 1.0}
	}
	ins(&store.Batch{Table: "forecast_accuracy", Columns: []string{"run_id", "created_at", "cutoff", "sku", "warehouse", "model", "history_days", "eval_days",
		"n_censored_days", "mase", "rmsse", "wape", "bias", "pinball", "coverage_90", "backtest_error"}, Rows: [][]any{
		acc("old", 10, "A", "W1", "ets", 1.2, 0.6, -0.3, 0.7, 0),
		acc("old", 10, "B", "W1", "croston", 1.5, 0.5, -0.2, 0.8, 2),
		acc("new", 14, "A", "W1", "theta", 0.8, 0.3, 0.1, 0.85, 1),
		acc("new", 14, "A", "W2", "theta", 0.6, 0.5, nil, 0.95, 0),
	}})
	// A/W1: a purchase that learned a 3-day lead time and was received,
	// and an open transfer of 7 from W2.
	ins(&store.Batch{Table: "reorders", Columns: []string{"reorder_id", "kind", "status", "ts", "sku", "warehouse", "from_warehouse", "qty", "received_qty", "lead_time_days", "unit_cost", "reorder_point"}, Rows: [][]any{
		{"RO-A-W1-1", "purchase", "ordered", day(11), "A", "W1", "", int64(50), int64(0), 3.0, 2.0, 40.0},
		{"RO-A-W1-1", "purchase", "received", day(14), "A", "W1", "", int64(50), int64(50), 3.0, 2.0, 40.0},
		{"TO-A-W2-W1-1", "transfer", "ordered", day(16), "A", "W1", "W2", int64(7), int64(0), 1.0, 0.0, 0.0},
	}})
	ins(&store.Batch{Table: "stock_movements", Columns: []string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "delta", "ref"}, Rows: [][]any{
		{"m1", day(14).Add(8 * time.Hour), "A", "W1", "receipt", int64(50), int64(50), "RO-A-W1-1"},
	}})
	ins(&store.Batch{Table: "sales", Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "unit_price"}, Rows: [][]any{
		{"s1", day(15).Add(10 * time.Hour), "A", "W1", int64(7), 5.0},
		{"s2", day(16).Add(10 * time.Hour), "A", "W1", int64(12), 5.0},
	}})
	ins(&store.Batch{Table: "orders", Columns: []string{"event_id", "ts", "order_id", "lines.sku", "lines.qty"}, Rows: [][]any{
		{"o1", day(16), "O1", []string{"A"}, []int64{2}},
		{"o2", day(16), "O2", []string{"A"}, []int64{3}},
		{"o3", day(16), "O3", []string{"A"}, []int64{4}},
	}})
	ins(&store.Batch{Table: "routing_decisions", Columns: []string{"decision_id", "order_id", "ts", "status", "final", "warehouses", "units",
		"cost_shipping", "cost_handling", "cost_split", "cost_opportunity", "cost_total", "region"}, Rows: [][]any{
		{"D1", "O1", day(16).Add(time.Hour), "routed", true, []string{"W1"}, int64(2), 6.0, 2.0, 0.0, 2.0, 10.0, "north"},
		{"D2", "O2", day(16).Add(2 * time.Hour), "split", true, []string{"W1", "W2"}, int64(3), 12.0, 3.0, 3.0, 2.0, 20.0, "north"},
		{"D3", "O3", day(16).Add(3 * time.Hour), "backordered", true, []string{}, int64(4), 0.0, 0.0, 0.0, 0.0, 0.0, "north"},
	}})
	ins(&store.Batch{Table: "routing_assignments", Columns: []string{"warehouse", "sku", "ts", "order_id", "decision_id", "status", "final", "qty"}, Rows: [][]any{
		{"W1", "A", day(16), "O1", "D1", "routed", true, int64(2)},
		{"W1", "A", day(16), "O2", "D2", "split", true, int64(1)},
		{"W2", "A", day(16), "O2", "D2", "split", true, int64(2)},
	}})
	ins(&store.Batch{Table: "dlq", Columns: []string{"ts", "src_topic", "src_partition", "src_offset", "event_type", "reason", "message"}, Rows: [][]any{
		{day(15), "stockflow.sales.v1", int32(0), int64(1), "sales", "malformed_json", "x"},
		{day(15), "stockflow.sales.v1", int32(0), int64(2), "sales", "malformed_json", "x"},
		{day(16), "stockflow.stock.v1", int32(1), int64(7), "stock", "unknown_warehouse", "x"},
	}})
}
