package event

import "time"

// TopicReorders carries the replenishment pipeline's decisions: purchase
// reorders and lateral transfers through their lifecycle, one record per
// status change, keyed by SKU (partitioned like the inputs).
const TopicReorders = "stockflow.reorders.v1"

// TopicApprovals carries planners' approvals of suggested reorders and
// transfers (suggest mode), keyed by SKU.
const TopicApprovals = "stockflow.approvals.v1"

// ReorderKind says what a reorder record orders.
type ReorderKind string

// Reorder kinds.
const (
	// ReorderPurchase is a purchase order line to the SKU's supplier.
	ReorderPurchase ReorderKind = "purchase"
	// ReorderTransfer moves stock from FromWarehouse to Warehouse.
	ReorderTransfer ReorderKind = "transfer"
)

// ReorderStatus is a reorder's state after the record.
type ReorderStatus string

// Reorder statuses. A reorder is open from "ordered" until "received" or
// "cancelled"; "suggested" waits for a planner's approval (suggest mode)
// and becomes "ordered" (same id) when approved.
const (
	ReorderSuggested ReorderStatus = "suggested"
	ReorderOrdered   ReorderStatus = "ordered"
	ReorderReceived  ReorderStatus = "received"
	ReorderCancelled ReorderStatus = "cancelled"
)

// Reorder is one record of stockflow.reorders.v1: a replenishment decision
// or a change of its status, with the numbers that explain it. Its id is
// deterministic (a function of the key and the replenishment cycle), so a
// replay or a restart reproduces the same ids, and a downstream purchasing
// system can deduplicate on (reorder_id, status).
// Its JSON Schema is schema/reorders.v1.json: every field without
// omitempty is required there, and the enums of kind, status, reason,
// mode, policy, target and demand_source are closed.
type Reorder struct {
	// ReorderID is "RO-<sku>-<warehouse>-<cycle>" for purchases and
	// "TO-<sku>-<from>-<to>-<n>" for transfers.
	ReorderID string        `json:"reorder_id"`
	Kind      ReorderKind   `json:"kind"`
	Status    ReorderStatus `json:"status"`
	// TS is when the decision or status change was made, as the
	// partition's stream time (the latest event time seen): the records of
	// a key are in time order even when an input event arrives late.
	TS        time.Time   `json:"ts"`
	SKU       SKU         `json:"sku"`
	Warehouse WarehouseID `json:"warehouse"`
	// FromWarehouse is a transfer's source ("" for purchases).
	FromWarehouse WarehouseID `json:"from_warehouse,omitempty"`
	Supplier      string      `json:"supplier,omitempty"`
	// Cycle numbers the replenishment cycles of the key (purchases) or the
	// transfers of the SKU (transfers), from 1.
	Cycle int64 `json:"cycle"`
	Qty   int64 `json:"qty"`
	// ReceivedQty is what the receipt brought (status received).
	ReceivedQty int64 `json:"received_qty,omitempty"`
	// Reason says what triggered the record: reorder_point, review,
	// sweep, approved, rejected, receipt, transfer_in, overdue,
	// excess_cover.
	Reason string `json:"reason"`
	Mode   string `json:"mode"`

	// Policy, service target and class of the rule applied.
	Policy  string  `json:"policy"`
	Target  string  `json:"target"`
	Service float64 `json:"service"`
	Class   string  `json:"class,omitempty"`

	// The inventory position at the decision and its parts.
	InventoryPosition int64 `json:"inventory_position"`
	OnHand            int64 `json:"on_hand"`
	OnOrder           int64 `json:"on_order"`
	InTransit         int64 `json:"in_transit"`
	Backorders        int64 `json:"backorders"`
	Reserved          int64 `json:"reserved"`

	// The policy's numbers (replenish.Params).
	ReorderPoint   float64 `json:"reorder_point"`
	OrderUpTo      float64 `json:"order_up_to"`
	OrderQty       float64 `json:"order_qty"`
	SafetyStock    float64 `json:"safety_stock"`
	LeadDemand     float64 `json:"lead_demand"`
	LeadDemandSD   float64 `json:"lead_demand_sd"`
	DailyDemand    float64 `json:"daily_demand"`
	LeadTimeDays   float64 `json:"lead_time_days"`
	LeadTimeSDDays float64 `json:"lead_time_sd_days"`
	// ForecastRunID is the forecast run the demand came from, "" when the
	// policy fell back to recent sales (DemandSource "sales").
	ForecastRunID string  `json:"forecast_run_id"`
	DemandSource  string  `json:"demand_source"`
	UnitCost      float64 `json:"unit_cost"`
	// ExpectedBy is when the receipt is expected (TS + lead time).
	ExpectedBy time.Time `json:"expected_by"`
	// For transfers: their cost and the expected shortage cost they avoid.
	TransferCost float64 `json:"transfer_cost,omitempty"`
	ShortageCost float64 `json:"shortage_cost,omitempty"`
}

// Approval is one record of stockflow.approvals.v1: a planner approves (or
// rejects) a suggested reorder or transfer. Its JSON Schema is
// schema/approvals.v1.json.
type Approval struct {
	ReorderID string      `json:"reorder_id"`
	SKU       SKU         `json:"sku"`
	Warehouse WarehouseID `json:"warehouse"`
	// Approve is true to order, false to cancel the suggestion.
	Approve bool      `json:"approve"`
	By      string    `json:"by,omitempty"`
	TS      time.Time `json:"ts"`
	// Qty, when positive, overrides the suggested quantity.
	Qty int64 `json:"qty,omitempty"`
}
