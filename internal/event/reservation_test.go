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

var resvT0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const goodReservation = `{"reservation_id":"O-1/SKU-1/WH-BER/1","order_id":"O-1","sku":"SKU-1","warehouse":"WH-BER","qty":2,"kind":"reserve","ts":"2026-03-02T09:30:00Z"}`

// TestReservationDecode proves DecodeReservation and reservations.v1.json
// agree on every case: the decoder accepts exactly what the schema accepts
// (unknown fields aside) and names the reason of each rejection.
func TestReservationDecode(t *testing.T) {
	sch := eventtest.Schema(t, "reservations.v1.json")
	tests := []struct {
		name, old, new string
		reason         event.Reason
	}{
		{"valid reserve", "", "", ""},
		{"valid release", `"kind":"reserve"`, `"kind":"release"`, ""},
		{"unknown field skipped", `{`, `{"extra":[1,{"a":2}],`, ""},
		{"fractional seconds", `09:30:00Z`, `09:30:00.125Z`, ""},
		{"malformed", `}`, ``, event.ReasonMalformedJSON},
		{"not an object", goodReservation, `[1]`, event.ReasonWrongType},
		{"missing reservation_id", `"reservation_id":"O-1/SKU-1/WH-BER/1",`, ``, event.ReasonMissingField},
		{"null order_id", `"order_id":"O-1"`, `"order_id":null`, event.ReasonMissingField},
		{"missing qty", `"qty":2,`, ``, event.ReasonMissingField},
		{"missing ts", `,"ts":"2026-03-02T09:30:00Z"`, ``, event.ReasonMissingField},
		{"sku not a string", `"sku":"SKU-1"`, `"sku":1`, event.ReasonWrongType},
		{"qty a string", `"qty":2`, `"qty":"2"`, event.ReasonWrongType},
		{"qty fractional", `"qty":2`, `"qty":2.0`, event.ReasonWrongType},
		{"qty exponent", `"qty":2`, `"qty":2e0`, event.ReasonWrongType},
		{"empty warehouse", `"warehouse":"WH-BER"`, `"warehouse":""`, event.ReasonInvalidValue},
		{"unknown kind", `"kind":"reserve"`, `"kind":"hold"`, event.ReasonInvalidValue},
		{"bad ts", `"ts":"2026-03-02T09:30:00Z"`, `"ts":"2026-03-02"`, event.ReasonInvalidValue},
		{"zero qty", `"qty":2`, `"qty":0`, event.ReasonNegativeQty},
		{"negative qty", `"qty":2`, `"qty":-3`, event.ReasonNegativeQty},
	}
	// Rules JSON Schema cannot express (2.0 and 2e0 are integers to it),
	// as in testdata/stricter: only the decoder enforces them.
	stricter := map[string]bool{"qty fractional": true, "qty exponent": true}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := goodReservation
			if tc.old != "" || tc.new != "" {
				v = strings.Replace(goodReservation, tc.old, tc.new, 1)
				if v == goodReservation {
					t.Fatalf("the edit did not apply")
				}
			}
			var r event.Reservation
			err := event.DecodeReservation([]byte(v), &r)
			if got := event.ReasonOf(err); got != tc.reason || (err != nil) != (tc.reason != "") {
				t.Fatalf("decode %s: reason %q (%v), want %q", v, got, err, tc.reason)
			}
			if serr := eventtest.Validate(sch, []byte(v)); !stricter[tc.name] && (serr == nil) != (tc.reason == "") {
				t.Errorf("schema and decoder disagree on %s: schema error %v, decoder reason %q", v, serr, tc.reason)
			}
			if tc.reason != "" {
				return
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back event.Reservation
			if err := event.DecodeReservation(b, &back); err != nil || !reflect.DeepEqual(back, r) {
				t.Errorf("round trip %+v -> %s -> %+v (%v)", r, b, back, err)
			}
		})
	}
	var r event.Reservation
	if err := event.DecodeReservation([]byte(goodReservation), &r); err != nil {
		t.Fatal(err)
	}
	want := event.Reservation{ReservationID: "O-1/SKU-1/WH-BER/1", OrderID: "O-1", SKU: "SKU-1", Warehouse: "WH-BER", Qty: 2, Kind: event.ReservationReserve, TS: resvT0}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("decoded %+v, want %+v", r, want)
	}
	c := event.Checker{Warehouses: map[event.WarehouseID]struct{}{"WH-HAM": {}}}
	if got := event.ReasonOf(c.CheckReservation(&r, resvT0)); got != event.ReasonUnknownWarehouse {
		t.Errorf("unknown warehouse: reason %q", got)
	}
	if got := event.ReasonOf((&event.Checker{}).CheckReservation(&r, resvT0.Add(-2*time.Hour))); got != event.ReasonFutureTimestamp {
		t.Errorf("future timestamp: reason %q", got)
	}
}

// TestReservationResultSchema proves reservation-results.v1.json and
// event.ReservationResult agree.
func TestReservationResultSchema(t *testing.T) {
	sch := eventtest.Schema(t, "reservation-results.v1.json")
	accepted := event.ReservationResult{ReservationID: "O-1/SKU-1/WH-BER/1", OrderID: "O-1", SKU: "SKU-1", Warehouse: "WH-BER",
		Qty: 2, Status: event.ReservationAccepted, Available: 0, TS: resvT0}
	rejected := accepted
	rejected.Status, rejected.Reason, rejected.Available = event.ReservationRejected, event.ResultInsufficientStock, 1
	unknown := rejected
	unknown.Reason = event.ResultUnknownReservation
	released := accepted
	released.Status, released.Available = event.ReservationReleased, -2
	expired := released
	expired.Reason, expired.Qty = event.ResultExpired, 0
	for name, rec := range map[string]event.ReservationResult{"accepted": accepted, "rejected": rejected, "unknown": unknown, "released": released, "expired": expired} {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := eventtest.Validate(sch, b); err != nil {
			t.Errorf("%s: schema rejects a record the type writes: %v\n%s", name, err, b)
		}
		var back event.ReservationResult
		if err := json.Unmarshal(b, &back); err != nil || back != rec {
			t.Errorf("%s: round trip changed the record: %+v -> %+v (%v)", name, rec, back, err)
		}
	}
	b, err := json.Marshal(accepted)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][2]string{
		"missing status":       {`"status":"accepted",`, ``},
		"missing available":    {`"available":0,`, ``},
		"unknown status":       {`"status":"accepted"`, `"status":"pending"`},
		"accepted with reason": {`"status":"accepted",`, `"status":"accepted","reason":"expired",`},
		"accepted below zero":  {`"available":0`, `"available":-1`},
		"rejected no reason":   {`"status":"accepted"`, `"status":"rejected"`},
		"rejected as expired":  {`"status":"accepted",`, `"status":"rejected","reason":"expired",`},
		"released as short":    {`"status":"accepted",`, `"status":"released","reason":"insufficient_stock",`},
		"negative qty":         {`"qty":2`, `"qty":-2`},
		"extra field":          {`{`, `{"extra":1,`},
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

// TestReservationSchemaFields checks both schemas field by field against
// the Go types, as TestReorderSchemaFields does for reorders.
func TestReservationSchemaFields(t *testing.T) {
	// Requests are an input (producers may add fields); results are
	// written by the pipeline.
	t.Run("reservations.v1.json", func(t *testing.T) {
		eventtest.Fields(t, "reservations.v1.json", reflect.TypeFor[event.Reservation](), false)
	})
	t.Run("reservation-results.v1.json", func(t *testing.T) {
		eventtest.Fields(t, "reservation-results.v1.json", reflect.TypeFor[event.ReservationResult](), false)
	})
}
