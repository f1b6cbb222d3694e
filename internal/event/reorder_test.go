package event_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/event/eventtest"
)

// reorderT0 is the decision time of the example reorders.
var reorderT0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// goodReorders are records of every kind and status the replenishment
// pipeline writes.
func goodReorders() map[string]event.Reorder {
	ordered := event.Reorder{
		ReorderID: "RO-SKU-1-WH-BER-3", Kind: event.ReorderPurchase, Status: event.ReorderOrdered, TS: reorderT0,
		SKU: "SKU-1", Warehouse: "WH-BER", Supplier: "SUP-7", Cycle: 3, Qty: 120,
		Reason: "reorder_point", Mode: "auto", Policy: "sS", Target: "cycle_service", Service: 0.95, Class: "A",
		InventoryPosition: 18, OnHand: 30, OnOrder: 0, InTransit: 0, Backorders: 2, Reserved: 10,
		ReorderPoint: 20.5, OrderUpTo: 138, OrderQty: 0, SafetyStock: 6.25, LeadDemand: 14.25, LeadDemandSD: 3.8,
		DailyDemand: 2.85, LeadTimeDays: 5, LeadTimeSDDays: 1.5,
		ForecastRunID: "fc-20260301-0123456789abcdef", DemandSource: "forecast", UnitCost: 4.2,
		ExpectedBy: reorderT0.Add(5 * 24 * time.Hour),
	}
	received := ordered
	received.Status, received.TS, received.ReceivedQty, received.Reason = event.ReorderReceived, reorderT0.Add(6*24*time.Hour), 118, "receipt"
	received.Class = ""
	suggested := ordered
	suggested.ReorderID, suggested.Status, suggested.Mode, suggested.Reason = "RO-SKU-1-WH-BER-4", event.ReorderSuggested, "suggest", "review"
	suggested.Policy, suggested.Target, suggested.Service = "RS", "fill_rate", 0.98
	suggested.ForecastRunID, suggested.DemandSource = "", "sales"
	suggested.Supplier = ""
	cancelled := suggested
	cancelled.Status, cancelled.Reason = event.ReorderCancelled, "rejected"
	transfer := event.Reorder{
		ReorderID: "TO-SKU-1-WH-HAM-WH-BER-1", Kind: event.ReorderTransfer, Status: event.ReorderOrdered, TS: reorderT0,
		SKU: "SKU-1", Warehouse: "WH-BER", FromWarehouse: "WH-HAM", Cycle: 1, Qty: 40,
		Reason: "excess_cover", Mode: "auto", Policy: "sQ", Target: "cycle_service", Service: 0.9,
		InventoryPosition: -3, OnHand: -3, Reserved: 0,
		ReorderPoint: 12, OrderQty: 40, SafetyStock: -1.5, LeadDemand: 4, LeadDemandSD: 1, DailyDemand: 2,
		LeadTimeDays: 2, LeadTimeSDDays: 0, DemandSource: "sales", UnitCost: 4.2,
		ExpectedBy:   reorderT0.Add(2 * 24 * time.Hour),
		TransferCost: 35.5, ShortageCost: 120.25,
	}
	arrived := transfer
	arrived.Status, arrived.Reason, arrived.ReceivedQty, arrived.InTransit = event.ReorderReceived, "transfer_in", 40, 40
	return map[string]event.Reorder{
		"purchase ordered": ordered, "purchase received": received, "suggestion from sales": suggested,
		"suggestion rejected": cancelled, "transfer ordered": transfer, "transfer arrived": arrived,
	}
}

// TestReorderSchema proves reorders.v1.json and the event.Reorder type
// agree: records of every kind and status the type writes validate and
// round-trip, and the schema rejects what the type must never write.
func TestReorderSchema(t *testing.T) {
	sch := eventtest.Schema(t, "reorders.v1.json")
	for name, rec := range goodReorders() {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := eventtest.Validate(sch, b); err != nil {
			t.Errorf("%s: schema rejects a record the type writes: %v\n%s", name, err, b)
		}
		var back event.Reorder
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, rec) {
			t.Errorf("%s: round trip changed the record: %+v -> %+v (%v)", name, rec, back, err)
		}
	}

	goods := goodReorders()
	b, err := json.Marshal(goods["purchase ordered"])
	if err != nil {
		t.Fatal(err)
	}
	tb, err := json.Marshal(goods["transfer ordered"])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, old, new string
	}{
		{"missing reorder_id", "p", `"reorder_id":"RO-SKU-1-WH-BER-3",`, ``},
		{"missing ts", "p", `"ts":"2026-03-02T09:30:00Z",`, ``},
		{"missing cycle", "p", `"cycle":3,`, ``},
		{"missing qty", "p", `"qty":120,`, ``},
		{"missing reason", "p", `"reason":"reorder_point",`, ``},
		{"missing on_order", "p", `"on_order":0,`, ``},
		{"missing order_qty", "p", `"order_qty":0,`, ``},
		{"missing expected_by", "p", `,"expected_by":"2026-03-07T09:30:00Z"`, ``},
		{"missing forecast_run_id", "p", `"forecast_run_id":"fc-20260301-0123456789abcdef",`, ``},
		{"extra field", "p", `{`, `{"extra":1,`},
		{"unknown kind", "p", `"kind":"purchase"`, `"kind":"return"`},
		{"unknown status", "p", `"status":"ordered"`, `"status":"shipped"`},
		{"unknown reason", "p", `"reason":"reorder_point"`, `"reason":"whim"`},
		{"reason not a string", "p", `"reason":"reorder_point"`, `"reason":1`},
		{"unknown mode", "p", `"mode":"auto"`, `"mode":"manual"`},
		{"unknown policy", "p", `"policy":"sS"`, `"policy":"ss"`},
		{"unknown target", "p", `"target":"cycle_service"`, `"target":"alpha"`},
		{"unknown demand source", "p", `"demand_source":"forecast"`, `"demand_source":"guess"`},
		{"service of 1", "p", `"service":0.95`, `"service":1`},
		{"cycle zero", "p", `"cycle":3`, `"cycle":0`},
		{"negative qty", "p", `"qty":120`, `"qty":-1`},
		{"qty not an integer", "p", `"qty":120`, `"qty":120.5`},
		{"ts not a time", "p", `"ts":"2026-03-02T09:30:00Z"`, `"ts":"2026-03-02"`},
		{"empty sku", "p", `"sku":"SKU-1"`, `"sku":""`},
		{"forecast source without run", "p", `"forecast_run_id":"fc-20260301-0123456789abcdef"`, `"forecast_run_id":""`},
		{"sales source with a run", "p", `"demand_source":"forecast"`, `"demand_source":"sales"`},
		{"purchase from a warehouse", "p", `"warehouse":"WH-BER",`, `"warehouse":"WH-BER","from_warehouse":"WH-HAM",`},
		{"purchase with a transfer id", "p", `"reorder_id":"RO-`, `"reorder_id":"TO-`},
		{"transfer without source", "t", `"from_warehouse":"WH-HAM",`, ``},
		{"transfer with a purchase id", "t", `"reorder_id":"TO-`, `"reorder_id":"RO-`},
		{"negative transfer cost", "t", `"transfer_cost":35.5`, `"transfer_cost":-1`},
	}
	for _, tc := range tests {
		src := string(b)
		if tc.from == "t" {
			src = string(tb)
		}
		v := strings.Replace(src, tc.old, tc.new, 1)
		if v == src {
			t.Fatalf("%s: the edit did not apply to %s", tc.name, src)
		}
		if err := eventtest.Validate(sch, []byte(v)); err == nil {
			t.Errorf("%s: schema accepts %s", tc.name, v)
		}
	}
}

// TestApprovalSchema does for approvals.v1.json and event.Approval what
// TestReorderSchema does for reorders.
func TestApprovalSchema(t *testing.T) {
	sch := eventtest.Schema(t, "approvals.v1.json")
	approve := event.Approval{ReorderID: "RO-SKU-1-WH-BER-4", SKU: "SKU-1", Warehouse: "WH-BER", Approve: true, By: "planner@example.com", TS: reorderT0, Qty: 96}
	reject := event.Approval{ReorderID: "TO-SKU-1-WH-HAM-WH-BER-2", SKU: "SKU-1", Warehouse: "WH-BER", TS: reorderT0}
	for name, rec := range map[string]event.Approval{"approve with quantity": approve, "bare rejection": reject} {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := eventtest.Validate(sch, b); err != nil {
			t.Errorf("%s: schema rejects a record the type writes: %v\n%s", name, err, b)
		}
		var back event.Approval
		if err := json.Unmarshal(b, &back); err != nil || back != rec {
			t.Errorf("%s: round trip changed the record: %+v -> %+v (%v)", name, rec, back, err)
		}
	}
	b, err := json.Marshal(approve)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][2]string{
		"missing reorder_id":  {`"reorder_id":"RO-SKU-1-WH-BER-4",`, ``},
		"missing approve":     {`"approve":true,`, ``},
		"missing ts":          {`"ts":"2026-03-02T09:30:00Z",`, ``},
		"approve not boolean": {`"approve":true`, `"approve":"yes"`},
		"zero qty":            {`"qty":96`, `"qty":0`},
		"empty by":            {`"by":"planner@example.com"`, `"by":""`},
		"extra field":         {`{`, `{"extra":1,`},
	}
	for name, edit := range bad {
		v := strings.Replace(string(b), edit[0], edit[1], 1)
		if v == string(b) {
			t.Fatalf("%s: the edit did not apply to %s", name, b)
		}
		if err := eventtest.Validate(sch, []byte(v)); err == nil {
			t.Errorf("%s: schema accepts %s", name, v)
		}
	}
}

// TestReorderSchemaFields checks the schemas field by field against the Go
// types: the same property names as the JSON tags, and a field is required
// exactly when its tag has no omitempty. Together with additionalProperties
// false, a field added to a type without its schema fails here.
func TestReorderSchemaFields(t *testing.T) {
	for file, typ := range map[string]reflect.Type{
		"reorders.v1.json":  reflect.TypeFor[event.Reorder](),
		"approvals.v1.json": reflect.TypeFor[event.Approval](),
	} {
		t.Run(file, func(t *testing.T) { eventtest.Fields(t, file, typ, true) })
	}
}
