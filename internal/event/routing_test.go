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

// routingT0 is the decision time of the example routing decisions.
var routingT0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// goodRoutingDecisions are records of every status the router writes,
// final and not. Their costs add up.
func goodRoutingDecisions() map[string]event.RoutingDecision {
	shipTo := event.Address{PostalCode: "10115", Country: "DE", Lat: 52.53, Lon: 13.38}
	// One package from WH-BER: 3 units of A and 1 of B share shipping 6
	// and handling 2 by units.
	routed := event.RoutingDecision{
		DecisionID: "O-1/1", OrderID: "O-1", TS: routingT0, Status: event.RoutingRouted, Final: true, Attempt: 1,
		Assignments: []event.RoutingAssignment{
			{Warehouse: "WH-BER", SKU: "A", Qty: 3, Shipping: 4.5, Handling: 1.5, Opportunity: 0.25, Package: 1},
			{Warehouse: "WH-BER", SKU: "B", Qty: 1, Shipping: 1.5, Handling: 0.5, Opportunity: 0, Package: 1},
		},
		Breakdown: event.RoutingBreakdown{Shipping: 6, Handling: 2, Opportunity: 0.25, Total: 8.25},
		Alternatives: []event.RoutingAlternative{
			{Status: event.RoutingRouted, Warehouses: []event.WarehouseID{"WH-HAM"},
				Breakdown: event.RoutingBreakdown{Shipping: 7.5, Handling: 2, Opportunity: 1, Total: 10.5}},
			{Status: event.RoutingSplit, Warehouses: []event.WarehouseID{"WH-BER", "WH-HAM"},
				Breakdown: event.RoutingBreakdown{Shipping: 9, Handling: 4, Split: 3, Total: 16}},
			{Status: event.RoutingBackordered,
				Breakdown: event.RoutingBreakdown{Opportunity: 2, Backorder: 25, Total: 27}},
		},
		BatchID: "B-DE-1-20260302T093000", LatencyMS: 0.042, Region: "DE-1", ShipTo: shipTo,
	}
	attempt := routed
	attempt.Final = false
	attempt.Alternatives = nil
	split := event.RoutingDecision{
		DecisionID: "O-1/2", OrderID: "O-1", TS: routingT0.Add(time.Second), Status: event.RoutingSplit, Final: true, Attempt: 2,
		Assignments: []event.RoutingAssignment{
			{Warehouse: "WH-HAM", SKU: "A", Qty: 3, Shipping: 5, Handling: 1, Opportunity: 0.5, Package: 1},
			{Warehouse: "WH-MUC", SKU: "B", Qty: 1, Shipping: 4, Handling: 1, Opportunity: 0, Package: 2},
		},
		Breakdown: event.RoutingBreakdown{Shipping: 9, Handling: 2, Split: 3, Opportunity: 0.5, Total: 14.5},
		LatencyMS: 1.5, Region: "DE-1", ShipTo: shipTo,
	}
	backordered := event.RoutingDecision{
		DecisionID: "O-2/1", OrderID: "O-2", TS: routingT0, Status: event.RoutingBackordered, Reason: "no_stock", Final: true, Attempt: 1,
		Breakdown: event.RoutingBreakdown{Backorder: 25, Total: 25},
		Region:    "DE-1", ShipTo: shipTo,
	}
	rejected := event.RoutingDecision{
		DecisionID: "O-3/1", OrderID: "O-3", TS: routingT0, Status: event.RoutingRejected, Reason: "no_lane", Final: true, Attempt: 1,
		ShipTo: event.Address{PostalCode: "", Country: "NZ", Lat: -41.29, Lon: 174.78},
	}
	return map[string]event.RoutingDecision{
		"routed": routed, "non-final attempt": attempt, "split": split, "backordered": backordered, "rejected": rejected,
	}
}

// TestRoutingSchema proves routing.v1.json and event.RoutingDecision
// agree: records of every status the type writes validate and round-trip,
// and the schema rejects what the type must never write.
func TestRoutingSchema(t *testing.T) {
	sch := eventtest.Schema(t, "routing.v1.json")
	for name, rec := range goodRoutingDecisions() {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := eventtest.Validate(sch, b); err != nil {
			t.Errorf("%s: schema rejects a record the type writes: %v\n%s", name, err, b)
		}
		var back event.RoutingDecision
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, rec) {
			t.Errorf("%s: round trip changed the record: %+v -> %+v (%v)", name, rec, back, err)
		}
	}

	goods := goodRoutingDecisions()
	enc := func(name string) string {
		b, err := json.Marshal(goods[name])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	srcs := map[string]string{"r": enc("routed"), "b": enc("backordered"), "x": enc("rejected")}
	tests := []struct {
		name, from, old, new string
	}{
		{"missing decision_id", "r", `"decision_id":"O-1/1",`, ``},
		{"missing order_id", "r", `"order_id":"O-1",`, ``},
		{"missing ts", "r", `"ts":"2026-03-02T09:30:00Z",`, ``},
		{"missing status", "r", `"status":"routed",`, ``},
		{"missing reason", "r", `"reason":"",`, ``},
		{"missing final", "r", `"final":true,`, ``},
		{"missing attempt", "r", `"attempt":1,`, ``},
		{"missing breakdown", "b", `"breakdown":{"shipping":0,"handling":0,"split":0,"opportunity":0,"backorder":25,"total":25},`, ``},
		{"missing breakdown total", "b", `,"total":25}`, `}`},
		{"missing batch_id", "r", `"batch_id":"B-DE-1-20260302T093000",`, ``},
		{"missing latency_ms", "r", `"latency_ms":0.042,`, ``},
		{"missing region", "r", `"region":"DE-1",`, ``},
		{"missing ship_to", "r", `,"ship_to":{"postal_code":"10115","country":"DE","lat":52.53,"lon":13.38}`, ``},
		{"missing assignment package", "r", `,"package":1}`, `}`},
		{"extra field", "r", `{`, `{"extra":1,`},
		{"extra assignment field", "r", `"package":1}`, `"package":1,"cost":1}`},
		{"extra breakdown field", "b", `"backorder":25,`, `"backorder":25,"tax":1,`},
		{"unknown status", "r", `"status":"routed"`, `"status":"shipped"`},
		{"unknown reason", "b", `"reason":"no_stock"`, `"reason":"whim"`},
		{"routed with a reason", "r", `"reason":""`, `"reason":"cost"`},
		{"routed without assignments", "r", `"assignments":[`, `"assignments_":[`},
		{"empty assignments", "r", `"assignments":[{"warehouse":"WH-BER","sku":"A","qty":3,"shipping":4.5,"handling":1.5,"opportunity":0.25,"package":1},{"warehouse":"WH-BER","sku":"B","qty":1,"shipping":1.5,"handling":0.5,"opportunity":0,"package":1}]`, `"assignments":[]`},
		{"backordered without a reason", "b", `"reason":"no_stock"`, `"reason":""`},
		{"backordered for a rejection reason", "b", `"reason":"no_stock"`, `"reason":"no_lane"`},
		{"rejected for a backorder reason", "x", `"reason":"no_lane"`, `"reason":"no_stock"`},
		{"backordered with assignments", "b", `"attempt":1,`, `"attempt":1,"assignments":[{"warehouse":"W","sku":"A","qty":1,"shipping":0,"handling":0,"opportunity":0,"package":1}],`},
		{"final not a boolean", "r", `"final":true`, `"final":1`},
		{"attempt zero", "r", `"attempt":1`, `"attempt":0`},
		{"decision id without attempt", "r", `"decision_id":"O-1/1"`, `"decision_id":"O-1"`},
		{"zero qty", "r", `"qty":3`, `"qty":0`},
		{"package zero", "r", `"package":1`, `"package":0`},
		{"negative shipping", "r", `"shipping":4.5`, `"shipping":-4.5`},
		{"negative total", "b", `"total":25`, `"total":-25`},
		{"negative latency", "r", `"latency_ms":0.042`, `"latency_ms":-1`},
		{"four alternatives", "r", `"alternatives":[`, `"alternatives":[{"status":"backordered","breakdown":{"shipping":0,"handling":0,"split":0,"opportunity":0,"backorder":1,"total":1}},`},
		{"rejected alternative", "r", `"status":"backordered","breakdown"`, `"status":"rejected","breakdown"`},
		{"alternative without breakdown", "r", `"warehouses":["WH-HAM"],"breakdown":{"shipping":7.5,"handling":2,"split":0,"opportunity":1,"backorder":0,"total":10.5}`, `"warehouses":["WH-HAM"]`},
		{"ts not a time", "r", `"ts":"2026-03-02T09:30:00Z"`, `"ts":"2026-03-02"`},
		{"bad country", "r", `"country":"DE"`, `"country":"Germany"`},
		{"latitude out of range", "r", `"lat":52.53`, `"lat":152.53`},
	}
	for _, tc := range tests {
		src := srcs[tc.from]
		v := strings.Replace(src, tc.old, tc.new, 1)
		if v == src {
			t.Fatalf("%s: the edit did not apply to %s", tc.name, src)
		}
		if err := eventtest.Validate(sch, []byte(v)); err == nil {
			t.Errorf("%s: schema accepts %s", tc.name, v)
		}
	}
}

// TestRoutingDecisionCheckTotal checks that a decision's cost breakdown
// adds up to its total (issue 6's acceptance): the example decisions do,
// and each way of breaking one is reported.
func TestRoutingDecisionCheckTotal(t *testing.T) {
	for name, d := range goodRoutingDecisions() {
		if err := d.CheckTotal(1e-9); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	tests := []struct {
		name string
		edit func(d *event.RoutingDecision)
		want string
	}{
		{"total off", func(d *event.RoutingDecision) { d.Breakdown.Total += 0.01 }, "breakdown adds up to 8.25, total is 8.26"},
		{"component missing from the total", func(d *event.RoutingDecision) { d.Breakdown.Split = 3 }, "breakdown adds up to 11.25"},
		{"assignments' shipping", func(d *event.RoutingDecision) { d.Assignments[1].Shipping = 2 }, "assignments' shipping adds up to 6.5, breakdown says 6"},
		{"assignments' handling", func(d *event.RoutingDecision) { d.Assignments[0].Handling = 0 }, "assignments' handling adds up to 0.5, breakdown says 2"},
		{"assignments' opportunity", func(d *event.RoutingDecision) { d.Assignments[1].Opportunity = 1 }, "assignments' opportunity adds up to 1.25, breakdown says 0.25"},
		{"alternative", func(d *event.RoutingDecision) { d.Alternatives[2].Breakdown.Total = 26 }, "alternative 3: breakdown adds up to 27, total is 26"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := goodRoutingDecisions()["routed"]
			d.Assignments = append([]event.RoutingAssignment(nil), d.Assignments...)
			d.Alternatives = append([]event.RoutingAlternative(nil), d.Alternatives...)
			tc.edit(&d)
			err := d.CheckTotal(1e-9)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "O-1/1") {
				t.Errorf("CheckTotal = %v, want an error about %q", err, tc.want)
			}
		})
	}
	// Rounding within eps is not an error.
	d := goodRoutingDecisions()["split"]
	d.Breakdown.Total += 1e-12
	if err := d.CheckTotal(1e-9); err != nil {
		t.Errorf("CheckTotal within eps: %v", err)
	}
	if got := event.RoutingDecisionID("O-1", 2); got != "O-1/2" {
		t.Errorf("RoutingDecisionID = %q", got)
	}
}

// TestRoutingSchemaFields checks routing.v1.json field by field against
// event.RoutingDecision and the types of its nested objects: the same
// property names as the JSON tags, a field required exactly when its tag
// has no omitempty, and additionalProperties false on every object.
func TestRoutingSchemaFields(t *testing.T) {
	eventtest.Fields(t, "routing.v1.json", reflect.TypeFor[event.RoutingDecision](), true)
}
