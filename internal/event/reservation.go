package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// TopicReservations carries reservation requests from routing to the stock
// pipeline, keyed by SKU (partitioned like the sales and stock topics), so
// the stock partition that owns the SKU's ledgers — their single writer —
// decides every request (DESIGN §3 invariant 4).
const TopicReservations = "stockflow.reservations.v1"

// TopicReservationResults carries the stock pipeline's answer to every
// reservation request, keyed by order id and partitioned as Kafka's
// default partitioner does (murmur2 of the key), so the routing partition
// that owns the order reads it.
const TopicReservationResults = "stockflow.reservation-results.v1"

// TypeNameReservation is the x-stockflow-event-type header of a
// dead-lettered reservation request.
const TypeNameReservation = "reservation"

// ReservationKind says what a reservation request asks for.
type ReservationKind string

// Reservation kinds.
const (
	// ReservationReserve holds Qty units of (SKU, Warehouse) for OrderID.
	ReservationReserve ReservationKind = "reserve"
	// ReservationRelease gives back what is left of the reservation with
	// the same ReservationID (routing changed its mind, the order was
	// cancelled or re-routed).
	ReservationRelease ReservationKind = "release"
)

// ReservationStatus is the decision on a request.
type ReservationStatus string

// Reservation statuses.
const (
	// ReservationAccepted: Qty units are reserved.
	ReservationAccepted ReservationStatus = "accepted"
	// ReservationRejected: nothing changed; Reason says why.
	ReservationRejected ReservationStatus = "rejected"
	// ReservationReleased: Qty units (what was still reserved, possibly
	// zero) were given back, on request or because the reservation expired
	// (Reason "expired").
	ReservationReleased ReservationStatus = "released"
)

// Reasons of a ReservationResult (not DLQ reasons: a rejected request is
// a valid request that was decided).
const (
	// ResultInsufficientStock: available stock is below the requested qty.
	ResultInsufficientStock = "insufficient_stock"
	// ResultUnknownReservation: a release names a reservation the stock
	// partition does not know (never accepted, or forgotten after the
	// deduplication window), or one of another SKU or warehouse.
	ResultUnknownReservation = "unknown_reservation"
	// ResultExpired: a reservation not consumed by sales within the TTL
	// was released by the stock pipeline.
	ResultExpired = "expired"
)

// Reservation is one record of stockflow.reservations.v1, produced by
// routing and keyed by SKU. ReservationID is deterministic, such as
// "<order_id>/<sku>/<warehouse>/<attempt>": the stock pipeline
// deduplicates on it, so a repeated request gets the same answer and never
// reserves twice. A release carries the id of the reservation it releases.
// Its JSON Schema is schema/reservations.v1.json; DecodeReservation
// enforces the same rules.
type Reservation struct {
	ReservationID string          `json:"reservation_id"`
	OrderID       string          `json:"order_id"`
	SKU           SKU             `json:"sku"`
	Warehouse     WarehouseID     `json:"warehouse"`
	Qty           int64           `json:"qty"`
	Kind          ReservationKind `json:"kind"`
	TS            time.Time       `json:"ts"`
}

// ReservationResult is one record of stockflow.reservation-results.v1:
// the stock partition's decision on a request, or the expiry of a
// reservation, keyed by order id. A replayed request gets a byte-identical
// result. Its JSON Schema is schema/reservation-results.v1.json.
type ReservationResult struct {
	ReservationID string      `json:"reservation_id"`
	OrderID       string      `json:"order_id"`
	SKU           SKU         `json:"sku"`
	Warehouse     WarehouseID `json:"warehouse"`
	// Qty is the quantity reserved (accepted), requested (rejected) or
	// given back (released).
	Qty    int64             `json:"qty"`
	Status ReservationStatus `json:"status"`
	// Available is the ledger's available stock (on hand - reserved)
	// right after the decision.
	Available int64 `json:"available"`
	// Reason is empty for accepted and requested releases; see the
	// Result* constants.
	Reason string `json:"reason,omitempty"`
	// TS is the request's event time, or the expiry time for an expiry.
	TS time.Time `json:"ts"`
}

// DecodeReservation decodes one reservation request and checks it as the
// schema does. Failures are *Error with the same reasons as the other
// inputs: malformed_json, wrong_type, missing_field (a null field counts as
// absent), invalid_value (empty id, unknown kind, bad timestamp) and
// negative_qty (qty must be > 0). Unknown fields are skipped; the last of
// duplicate keys wins.
func DecodeReservation(b []byte, r *Reservation) error {
	*r = Reservation{}
	if !json.Valid(b) {
		return &Error{Reason: ReasonMalformedJSON, Msg: "not one well-formed JSON text"}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return &Error{Reason: ReasonWrongType, Msg: "record is not a JSON object"}
	}
	str := func(name string, dst *string) error {
		v, ok := m[name]
		if !ok || bytes.Equal(v, []byte("null")) {
			return &Error{Reason: ReasonMissingField, Field: name, Msg: "required"}
		}
		if len(v) == 0 || v[0] != '"' {
			return &Error{Reason: ReasonWrongType, Field: name, Msg: "want a string"}
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return &Error{Reason: ReasonWrongType, Field: name, Msg: "want a string"}
		}
		if *dst == "" {
			return &Error{Reason: ReasonInvalidValue, Field: name, Msg: "must not be empty"}
		}
		return nil
	}
	var sku, wh, kind, ts string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"reservation_id", &r.ReservationID}, {"order_id", &r.OrderID}, {"sku", &sku}, {"warehouse", &wh}} {
		if err := str(f.name, f.dst); err != nil {
			return err
		}
	}
	r.SKU, r.Warehouse = SKU(sku), WarehouseID(wh)
	v, ok := m["qty"]
	if !ok || bytes.Equal(v, []byte("null")) {
		return &Error{Reason: ReasonMissingField, Field: "qty", Msg: "required"}
	}
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || bytes.ContainsAny(v, ".eE") {
		return &Error{Reason: ReasonWrongType, Field: "qty", Msg: "want an integer"}
	}
	q, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return &Error{Reason: ReasonInvalidValue, Field: "qty", Msg: "integer out of range"}
	}
	if err := str("kind", &kind); err != nil {
		return err
	}
	if err := str("ts", &ts); err != nil {
		return err
	}
	r.Qty, r.Kind = q, ReservationKind(kind)
	if r.Kind != ReservationReserve && r.Kind != ReservationRelease {
		return &Error{Reason: ReasonInvalidValue, Field: "kind", Msg: fmt.Sprintf("%q is not reserve or release", kind)}
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return &Error{Reason: ReasonInvalidValue, Field: "ts", Msg: "not an RFC 3339 timestamp"}
	}
	r.TS = t
	if r.Qty <= 0 {
		return &Error{Reason: ReasonNegativeQty, Field: "qty", Msg: fmt.Sprintf("must be > 0, got %d", r.Qty)}
	}
	return nil
}

// CheckReservation applies the contextual checks to a decoded request:
// known warehouse and an event time not too far in the future.
func (c *Checker) CheckReservation(r *Reservation, now time.Time) error {
	if err := c.checkWarehouse(r.Warehouse, field("warehouse")); err != nil {
		return err
	}
	return c.checkTS(r.TS, now)
}
