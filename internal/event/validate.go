package event

import (
	"errors"
	"fmt"
	"time"
)

// Reason is the machine-readable code for why an event was rejected. It is
// the value of the x-stockflow-reason header of a DLQ record and the label
// of the rejection metrics, so the codes are part of the contract.
type Reason string

// The rejection reasons. The decoders return the first six; Checker returns
// unknown_warehouse, future_timestamp and oversize; duplicate_event is for
// the pipeline's stateful deduplication of event_id.
const (
	// ReasonMalformedJSON: the record is not one well-formed JSON text
	// (syntax error, invalid UTF-8, trailing data, nesting deeper than 10000).
	ReasonMalformedJSON Reason = "malformed_json"
	// ReasonMissingField: a required field is absent or null.
	ReasonMissingField Reason = "missing_field"
	// ReasonWrongType: a field (or the record) has the wrong JSON type, or an
	// integer field has a fraction or an exponent.
	ReasonWrongType Reason = "wrong_type"
	// ReasonInvalidValue: a value of the right type breaks a rule: a bad enum,
	// a timestamp that is not RFC 3339, an empty id, an empty list, a code
	// that does not match its pattern, a coordinate or number out of range.
	ReasonInvalidValue Reason = "invalid_value"
	// ReasonNegativeQty: a quantity breaks its sign rule: qty must be > 0 for
	// sales, order lines and stock movements other than adjustment (signed,
	// non-zero; zero is invalid_value) and count (absolute level, >= 0).
	ReasonNegativeQty Reason = "negative_qty"
	// ReasonUnknownWarehouse: the warehouse is not in the registry.
	ReasonUnknownWarehouse Reason = "unknown_warehouse"
	// ReasonFutureTimestamp: the event time is further ahead of now than the
	// allowed clock skew.
	ReasonFutureTimestamp Reason = "future_timestamp"
	// ReasonOversize: the record is larger than the limit.
	ReasonOversize Reason = "oversize"
	// ReasonDuplicateEvent: the event_id was already applied within the
	// deduplication window.
	ReasonDuplicateEvent Reason = "duplicate_event"
)

// Reasons returns every reason, for instance to initialize metrics.
func Reasons() []Reason {
	return []Reason{
		ReasonMalformedJSON, ReasonMissingField, ReasonWrongType, ReasonInvalidValue,
		ReasonNegativeQty, ReasonUnknownWarehouse, ReasonFutureTimestamp, ReasonOversize,
		ReasonDuplicateEvent,
	}
}

// Error is a permanent rejection of an event: it is never retried, and the
// record goes to the DLQ with Reason in its x-stockflow-reason header.
type Error struct {
	Reason Reason
	// Field is the JSON path of the offending field, such as "qty",
	// "ship_to.lat" or "lines[2].sku"; empty when the record as a whole is
	// at fault.
	Field string
	// Msg says what is wrong, for people.
	Msg string
}

// Error returns "reason field: msg".
func (e *Error) Error() string {
	s := string(e.Reason)
	if e.Field != "" {
		s += " " + e.Field
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// ReasonOf returns the Reason of the first *Error in err's chain, or "" if
// there is none.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Default limits of a Checker.
const (
	DefaultMaxFuture = time.Hour
	DefaultMaxBytes  = 64 << 10
)

// Checker applies the checks that need context beyond the record itself: the
// warehouse registry, the clock and the size limit. The zero value accepts
// any warehouse and uses the default limits. Duplicate detection is stateful
// and lives in the pipeline (ReasonDuplicateEvent).
type Checker struct {
	// Warehouses is the registry of known warehouses. An empty (or nil) map
	// means there is no registry and any warehouse is accepted: a registry
	// that lists no warehouse would reject every sale and movement.
	Warehouses map[WarehouseID]struct{}
	// MaxFuture is how far an event time may be ahead of the now passed to
	// the checks (clock skew between producers and stockflow). Zero means
	// DefaultMaxFuture.
	MaxFuture time.Duration
	// MaxBytes is the largest record accepted. Zero means DefaultMaxBytes.
	MaxBytes int
}

// Validate reports whether the configuration is usable.
func (c *Checker) Validate() error {
	if c.MaxFuture < 0 {
		return fmt.Errorf("event checker: max future %v is negative", c.MaxFuture)
	}
	if c.MaxBytes < 0 {
		return fmt.Errorf("event checker: max bytes %d is negative", c.MaxBytes)
	}
	return nil
}

func (c *Checker) maxFuture() time.Duration {
	if c.MaxFuture == 0 {
		return DefaultMaxFuture
	}
	return c.MaxFuture
}

func (c *Checker) maxBytes() int {
	if c.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return c.MaxBytes
}

// CheckSize rejects a record of n bytes that is over the limit (oversize).
// Call it before decoding.
func (c *Checker) CheckSize(n int) error {
	if limit := c.maxBytes(); n > limit {
		return &Error{Reason: ReasonOversize, Msg: fmt.Sprintf("record is %d bytes, limit %d", n, limit)}
	}
	return nil
}

// CheckSale checks a decoded sale's warehouse and event time.
func (c *Checker) CheckSale(s *Sale, now time.Time) error {
	if err := c.checkWarehouse(s.Warehouse, field("warehouse")); err != nil {
		return err
	}
	return c.checkTS(s.TS, now)
}

// CheckStock checks a decoded stock movement's warehouse and event time.
func (c *Checker) CheckStock(s *Stock, now time.Time) error {
	if err := c.checkWarehouse(s.Warehouse, field("warehouse")); err != nil {
		return err
	}
	return c.checkTS(s.TS, now)
}

// CheckOrder checks a decoded order's event time. Orders carry no
// warehouse, and promised_by is meant to be in the future.
func (c *Checker) CheckOrder(o *Order, now time.Time) error {
	return c.checkTS(o.TS, now)
}

// CheckCampaign checks a decoded campaign's warehouses and event time.
// Start and end may be in the future: campaigns are announced ahead.
func (c *Checker) CheckCampaign(cp *Campaign, now time.Time) error {
	for i, w := range cp.Warehouses {
		if err := c.checkWarehouse(w, path{outer: "warehouses", idx: i}); err != nil {
			return err
		}
	}
	return c.checkTS(cp.TS, now)
}

func (c *Checker) checkWarehouse(w WarehouseID, p path) error {
	if len(c.Warehouses) == 0 {
		return nil
	}
	if _, ok := c.Warehouses[w]; !ok {
		return &Error{Reason: ReasonUnknownWarehouse, Field: p.String(), Msg: fmt.Sprintf("warehouse %q is not in the registry", w)}
	}
	return nil
}

func (c *Checker) checkTS(ts, now time.Time) error {
	if limit := now.Add(c.maxFuture()); ts.After(limit) {
		return &Error{
			Reason: ReasonFutureTimestamp, Field: "ts",
			Msg: fmt.Sprintf("event time %s is %s ahead of now, more than the allowed %s",
				ts.Format(time.RFC3339Nano), ts.Sub(now).Round(time.Second), c.maxFuture()),
		}
	}
	return nil
}
