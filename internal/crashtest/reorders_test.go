package crashtest

import (
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// TestReorderChecker feeds hand-made record sequences: a clean lifecycle
// passes, and each violation of invariant 5 is reported as its kind.
func TestReorderChecker(t *testing.T) {
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	rec := func(id string, st event.ReorderStatus, reason string, h int) event.Reorder {
		return event.Reorder{ReorderID: id, Kind: event.ReorderPurchase, Status: st, Reason: reason,
			SKU: "SKU-1", Warehouse: "WH1", TS: t0.Add(time.Duration(h) * time.Hour)}
	}
	const o, r, c = event.ReorderOrdered, event.ReorderReceived, event.ReorderCancelled
	tests := []struct {
		name string
		recs []event.Reorder
		kind string // "" for none
	}{
		{"clean", []event.Reorder{
			rec("RO-SKU-1-WH1-1", o, "reorder_point", 1), rec("RO-SKU-1-WH1-1", r, "receipt", 50),
			rec("RO-SKU-1-WH1-2", o, "reorder_point", 50), rec("RO-SKU-1-WH1-2", c, "overdue", 90),
			rec("RO-SKU-1-WH1-3", o, "sweep", 96)}, ""},
		{"opened while open", []event.Reorder{
			rec("RO-SKU-1-WH1-1", o, "reorder_point", 1), rec("RO-SKU-1-WH1-2", o, "reorder_point", 2)}, Duplicate},
		{"record twice", []event.Reorder{
			rec("RO-SKU-1-WH1-1", o, "reorder_point", 1), rec("RO-SKU-1-WH1-1", o, "reorder_point", 1)}, Duplicate},
		{"cycle skipped", []event.Reorder{
			rec("RO-SKU-1-WH1-1", o, "reorder_point", 1), rec("RO-SKU-1-WH1-1", r, "receipt", 5),
			rec("RO-SKU-1-WH1-3", o, "reorder_point", 6)}, Lost},
		{"closes another", []event.Reorder{
			rec("RO-SKU-1-WH1-1", o, "reorder_point", 1), rec("RO-SKU-1-WH1-7", r, "receipt", 5)}, Mismatch},
		{"out of time order", []event.Reorder{
			rec("RO-SKU-1-WH1-1", o, "reorder_point", 5), rec("RO-SKU-1-WH1-1", c, "overdue", 9),
			rec("RO-SKU-1-WH1-2", o, "reorder_point", 8)}, Mismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFindings()
			c := NewReorderChecker(f)
			for _, x := range tc.recs {
				c.Add(x)
			}
			if tc.kind == "" {
				if err := f.Err(); err != nil {
					t.Fatalf("clean sequence reported: %v", err)
				}
				return
			}
			if f.Count(tc.kind) == 0 {
				t.Fatalf("want a %s problem, got %v", tc.kind, f.Err())
			}
		})
	}
}
