package event

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// TopicRouting carries the routing pipeline's decisions, one record per
// routing attempt of an order, keyed by order id (DESIGN §3 invariant 4).
const TopicRouting = "stockflow.routing.v1"

// RoutingStatus is the outcome of a routing decision.
type RoutingStatus string

// Routing statuses (those of pipelines/routing).
const (
	// RoutingRouted ships the order in one package.
	RoutingRouted RoutingStatus = "routed"
	// RoutingSplit ships it in several packages, from several warehouses.
	RoutingSplit RoutingStatus = "split"
	// RoutingBackordered makes it wait; Reason says why.
	RoutingBackordered RoutingStatus = "backordered"
	// RoutingRejected refuses it; Reason says why.
	RoutingRejected RoutingStatus = "rejected"
)

// RoutingReasons are the reasons a backordered or rejected decision may
// carry (those of pipelines/routing): invalid_order, too_many_lines and
// no_lane reject; the others backorder. A routed or split decision has
// reason "". The slice is a fresh copy on every call.
func RoutingReasons() []string {
	return []string{
		"invalid_order", "too_many_lines", "no_lane",
		"not_in_time", "no_stock", "no_capacity", "max_splits", "cost", "batch_contention",
	}
}

// RoutingDecision is one record of stockflow.routing.v1: the decision of
// one routing attempt of an order, with the numbers that explain it. An
// order's records share its order id (the record key); each attempt has
// its own DecisionID, RoutingDecisionID(order, attempt), so a replay or a
// restart reproduces the same ids and a downstream system deduplicates on
// decision_id. Exactly one record of an order is Final (invariant 4);
// the attempts before it (whose reservations the stock partition
// rejected, so the order was routed again) are not.
//
// Breakdown.Total is Shipping + Handling + Split + Opportunity +
// Backorder, and the assignments' shipping, handling and opportunity add
// up to the breakdown's; CheckTotal verifies both.
//
// Its JSON Schema is schema/routing.v1.json: every field without
// omitempty is required there, and the enums of status and reason are
// closed.
type RoutingDecision struct {
	// DecisionID is "<order_id>/<attempt>".
	DecisionID string `json:"decision_id"`
	OrderID    string `json:"order_id"`
	// TS is when the decision was made, in event time (the order's time,
	// or the time of the reservation result that triggered a re-route).
	TS     time.Time     `json:"ts"`
	Status RoutingStatus `json:"status"`
	// Reason explains a backorder or a rejection (one of
	// RoutingReasons); "" for routed and split.
	Reason string `json:"reason"`
	// Final is true for the one decision that ends the order.
	Final bool `json:"final"`
	// Attempt numbers the order's routing attempts, from 1.
	Attempt int64 `json:"attempt"`
	// Assignments are what ships from where; absent when nothing ships
	// (backordered, rejected).
	Assignments []RoutingAssignment `json:"assignments,omitempty"`
	Breakdown   RoutingBreakdown    `json:"breakdown"`
	// Alternatives are the (up to) three cheapest options the decision
	// turned down, cheapest first; absent when there were none.
	Alternatives []RoutingAlternative `json:"alternatives,omitempty"`
	// BatchID names the regional batch optimised jointly; "" for an order
	// decided alone.
	BatchID string `json:"batch_id"`
	// LatencyMS is the decision's wall-clock latency in milliseconds, from
	// the order reaching the router to the decision.
	LatencyMS float64 `json:"latency_ms"`
	// Region is the ship-to region the order was batched by.
	Region string  `json:"region"`
	ShipTo Address `json:"ship_to"`
}

// RoutingAssignment is a quantity of one SKU shipped from one warehouse,
// in the decision's package number Package (from 1; a warehouse ships one
// package), with its share (by units) of the package's shipping and
// handling and its opportunity cost.
type RoutingAssignment struct {
	Warehouse   WarehouseID `json:"warehouse"`
	SKU         SKU         `json:"sku"`
	Qty         int64       `json:"qty"`
	Shipping    float64     `json:"shipping"`
	Handling    float64     `json:"handling"`
	Opportunity float64     `json:"opportunity"`
	Package     int         `json:"package"`
}

// RoutingBreakdown is the cost of a decision or an alternative by
// component; Total is their sum, added in this order.
type RoutingBreakdown struct {
	Shipping    float64 `json:"shipping"`
	Handling    float64 `json:"handling"`
	Split       float64 `json:"split"`
	Opportunity float64 `json:"opportunity"`
	Backorder   float64 `json:"backorder"`
	Total       float64 `json:"total"`
}

// Sum is Shipping + Handling + Split + Opportunity + Backorder, added in
// that order (as pipelines/routing adds its Breakdown).
func (b RoutingBreakdown) Sum() float64 {
	return b.Shipping + b.Handling + b.Split + b.Opportunity + b.Backorder
}

// RoutingAlternative is an option a decision turned down: shipping from
// Warehouses (one package each), or, with status backordered and no
// warehouses, waiting. Its total is Breakdown.Total.
type RoutingAlternative struct {
	Status     RoutingStatus    `json:"status"`
	Warehouses []WarehouseID    `json:"warehouses,omitempty"`
	Breakdown  RoutingBreakdown `json:"breakdown"`
}

// RoutingDecisionID is the deterministic id of an order's attempt:
// "<order_id>/<attempt>".
func RoutingDecisionID(orderID string, attempt int64) string {
	return orderID + "/" + strconv.FormatInt(attempt, 10)
}

// CheckTotal reports, joined, every way d's costs do not add up within
// eps (absolute, scaled by the magnitude of the numbers compared): the
// breakdown's components and its total, the assignments' shipping,
// handling and opportunity and the breakdown's, and each alternative's
// components and its total.
func (d *RoutingDecision) CheckTotal(eps float64) error {
	near := func(a, b float64) bool {
		return math.Abs(a-b) <= eps*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
	}
	var errs []error
	if s := d.Breakdown.Sum(); !near(s, d.Breakdown.Total) {
		errs = append(errs, fmt.Errorf("breakdown adds up to %g, total is %g", s, d.Breakdown.Total))
	}
	var ship, handle, opp float64
	for _, a := range d.Assignments {
		ship += a.Shipping
		handle += a.Handling
		opp += a.Opportunity
	}
	for _, c := range []struct {
		name      string
		sum, want float64
	}{
		{"shipping", ship, d.Breakdown.Shipping},
		{"handling", handle, d.Breakdown.Handling},
		{"opportunity", opp, d.Breakdown.Opportunity},
	} {
		if !near(c.sum, c.want) {
			errs = append(errs, fmt.Errorf("assignments' %s adds up to %g, breakdown says %g", c.name, c.sum, c.want))
		}
	}
	for i, a := range d.Alternatives {
		if s := a.Breakdown.Sum(); !near(s, a.Breakdown.Total) {
			errs = append(errs, fmt.Errorf("alternative %d: breakdown adds up to %g, total is %g", i+1, s, a.Breakdown.Total))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("routing decision %s: %w", d.DecisionID, err)
	}
	return nil
}
