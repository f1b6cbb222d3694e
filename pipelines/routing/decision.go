package routing

import (
	"github.com/stockflow/stockflow/internal/event"
)

// Status is the outcome of a routing decision (DESIGN §3 invariant 4:
// every order ends in exactly one final decision).
type Status string

// Statuses.
const (
	// StatusRouted ships the order in one package.
	StatusRouted Status = "routed"
	// StatusSplit ships it in several packages, from several warehouses.
	StatusSplit Status = "split"
	// StatusBackordered makes it wait for stock, capacity or a lane that
	// arrives in time; Reason says which.
	StatusBackordered Status = "backordered"
	// StatusRejected refuses it; Reason says why.
	StatusRejected Status = "rejected"
)

// Reason explains a backorder or a rejection.
type Reason string

// Reasons.
const (
	// ReasonInvalidOrder: no lines, a line without a SKU or with a
	// quantity below one, or no time budget (no promised_by and an unknown
	// service level). Rejected.
	ReasonInvalidOrder Reason = "invalid_order"
	// ReasonTooManyLines: more distinct SKUs than Config.MaxLines.
	// Rejected.
	ReasonTooManyLines Reason = "too_many_lines"
	// ReasonNoLane: no rate card serves the ship-to point from any
	// warehouse (another continent, an unknown country, too far).
	// Rejected.
	ReasonNoLane Reason = "no_lane"
	// ReasonNotInTime: lanes exist, but none arrives by the promised date.
	// Backordered.
	ReasonNotInTime Reason = "not_in_time"
	// ReasonNoStock: the warehouses that arrive in time do not have some
	// line's quantity between them. Backordered.
	ReasonNoStock Reason = "no_stock"
	// ReasonNoCapacity: the stock is there, but not the daily capacity to
	// ship it. Backordered.
	ReasonNoCapacity Reason = "no_capacity"
	// ReasonMaxSplits: the stock is there, but only in more packages
	// than Config.MaxSplits allows. Backordered.
	ReasonMaxSplits Reason = "max_splits"
	// ReasonCost: every way to ship costs more than the backorder (its
	// units' shortage cost + Config.BackorderCost). Backordered.
	ReasonCost Reason = "cost"
	// ReasonContention: the batch gave the stock or capacity this order
	// could have had to other orders of the batch, at less total cost.
	// Backordered.
	ReasonContention Reason = "batch_contention"
)

// Breakdown is the cost of a decision by component; Total adds them up.
type Breakdown struct {
	// Shipping is the carriers' charge for the packages.
	Shipping float64 `json:"shipping"`
	// Handling is the warehouses' picking and packing.
	Handling float64 `json:"handling"`
	// Split is the split penalty of the packages beyond the first.
	Split float64 `json:"split"`
	// Opportunity is the expected shortage cost the assignments create at
	// their warehouses before the next receipt.
	Opportunity float64 `json:"opportunity"`
	// Backorder is the cost of making the order wait (backorders only).
	Backorder float64 `json:"backorder"`
}

// Total is Shipping + Handling + Split + Opportunity + Backorder, added in
// that order: a decision's Total is exactly this.
func (b Breakdown) Total() float64 {
	return b.Shipping + b.Handling + b.Split + b.Opportunity + b.Backorder
}

// Assignment is a quantity of one SKU shipped from one warehouse. Cost is
// its opportunity cost plus its share (by units) of its package's
// shipping and handling and of the order's split penalty; the costs of a
// decision's assignments add up to its Total (to rounding).
type Assignment struct {
	Warehouse event.WarehouseID `json:"warehouse"`
	SKU       event.SKU         `json:"sku"`
	Qty       int64             `json:"qty"`
	Cost      float64           `json:"cost"`
}

// Package is what one warehouse ships for an order: by which carrier
// service, over which distance band (zone, from 1), and at what cost.
type Package struct {
	Warehouse   event.WarehouseID `json:"warehouse"`
	Service     string            `json:"service"`
	Zone        int               `json:"zone"`
	Km          float64           `json:"km"`
	TransitDays int               `json:"transit_days"`
	Units       int64             `json:"units"`
	Kg          float64           `json:"kg"`
	Shipping    float64           `json:"shipping"`
	Handling    float64           `json:"handling"`
}

// Alternative is an option a decision turned down: shipping from
// Warehouses (each one package), or, with Status backordered and no
// warehouses, waiting.
type Alternative struct {
	Status     Status              `json:"status"`
	Warehouses []event.WarehouseID `json:"warehouses,omitempty"`
	Total      float64             `json:"total"`
	Breakdown  Breakdown           `json:"breakdown"`
}

// Decision is routing's answer for one order. Total equals
// Breakdown.Total(); Alternatives are the (up to) three cheapest options
// it turned down, cheapest first.
type Decision struct {
	OrderID      string        `json:"order_id"`
	Status       Status        `json:"status"`
	Reason       Reason        `json:"reason,omitempty"`
	Assignments  []Assignment  `json:"assignments"`
	Packages     []Package     `json:"packages"`
	Breakdown    Breakdown     `json:"breakdown"`
	Total        float64       `json:"total"`
	Alternatives []Alternative `json:"alternatives"`
}
