package replenish

import (
	"github.com/stockflow/stockflow/internal/event"
)

// PolicyKind names a replenishment policy.
type PolicyKind string

// Policies.
const (
	// PolicySS is (s, S): when the inventory position is at or below s,
	// order up to S.
	PolicySS PolicyKind = "sS"
	// PolicySQ is (s, Q): when the position is at or below s, order Q
	// (enough multiples of Q to lift the position above s).
	PolicySQ PolicyKind = "sQ"
	// PolicyRS is (R, S): every R days, order up to S.
	PolicyRS PolicyKind = "RS"
)

// TargetKind names the service measure a rule targets.
type TargetKind string

// Service targets.
const (
	// TargetCycleService (α) is the probability of no stockout in a
	// replenishment cycle.
	TargetCycleService TargetKind = "cycle_service"
	// TargetFillRate (β) is the share of demand served from stock.
	TargetFillRate TargetKind = "fill_rate"
)

// Mode says what happens to a decision.
type Mode string

// Modes.
const (
	// ModeAuto emits purchase orders.
	ModeAuto Mode = "auto"
	// ModeSuggest emits suggestions that a planner approves.
	ModeSuggest Mode = "suggest"
)

// Rule is the planner's policy for one (SKU, warehouse), resolved from the
// per-SKU, per-class and global configuration (Config.RuleFor).
type Rule struct {
	Policy PolicyKind `json:"policy"`
	Target TargetKind `json:"target"`
	// Service is α or β, in (0, 1).
	Service float64 `json:"service"`
	// ReviewDays is R of (R, S), in days (ignored by the other policies).
	ReviewDays int `json:"review_days,omitempty"`
	// CycleDays sizes orders: S − s of (s, S) and Q of (s, Q), in days of
	// forecast demand; 0 means the economic order quantity from Costs.
	// (R, S) ignores it: a review orders about one review period's demand.
	CycleDays float64 `json:"cycle_days,omitempty"`
	Mode      Mode    `json:"mode"`
}

// Item is what the supplier requires of a SKU's orders.
type Item struct {
	SKU      event.SKU `json:"sku"`
	Supplier string    `json:"supplier"`
	// UnitCost is what one unit costs to buy (inventory value).
	UnitCost float64 `json:"unit_cost"`
	// CasePack: orders are multiples of it (0 or 1: single units).
	CasePack int64 `json:"case_pack,omitempty"`
	// MOQ is the minimum order quantity (0: none).
	MOQ int64 `json:"moq,omitempty"`
	// MaxQty caps one order (0: no cap).
	MaxQty int64 `json:"max_qty,omitempty"`
}

// Costs price the trade-offs the policies make.
type Costs struct {
	// OrderCost is the fixed cost of one purchase order line.
	OrderCost float64 `json:"order_cost"`
	// HoldingRate is the yearly holding cost as a share of unit cost.
	HoldingRate float64 `json:"holding_rate"`
}

// Position is the inventory position of one (SKU, warehouse).
type Position struct {
	OnHand     int64 `json:"on_hand"`
	OnOrder    int64 `json:"on_order"`
	InTransit  int64 `json:"in_transit"`
	Backorders int64 `json:"backorders"`
	Reserved   int64 `json:"reserved"`
}

// Value is on hand + on order + in transit − backorders − reserved.
func (p Position) Value() int64 {
	return p.OnHand + p.OnOrder + p.InTransit - p.Backorders - p.Reserved
}

// LeadTime is a lead-time estimate in days.
type LeadTime struct {
	MeanDays float64 `json:"mean_days"`
	SDDays   float64 `json:"sd_days"`
	// Observations is the number of receipts behind it (0: the prior).
	Observations int64 `json:"observations"`
}

// Demand is what is known of a key's future demand: a forecast of daily
// quantiles starting tomorrow, or, where it does not reach, a daily rate.
type Demand struct {
	// Days are the forecast days from tomorrow (may be empty).
	Days []event.ForecastDay
	// RunID is the forecast run Days came from ("" without a forecast).
	RunID string
	// Rate and RateSD are the mean and standard deviation of daily demand
	// used beyond Days (cold start: recent sales).
	Rate, RateSD float64
}

// Params are a rule's numbers for one key at one moment: what a reorder
// event carries to explain itself.
type Params struct {
	// ReorderPoint is s (for (R, S): the level below which a review orders).
	ReorderPoint float64 `json:"reorder_point"`
	// OrderUpTo is S ((s, S) and (R, S)).
	OrderUpTo float64 `json:"order_up_to"`
	// OrderQty is Q ((s, Q)).
	OrderQty    float64 `json:"order_qty"`
	SafetyStock float64 `json:"safety_stock"`
	// LeadDemand is the expected demand over the protection period (the
	// lead time, plus the review period for (R, S)); LeadDemandSD its
	// standard deviation with lead-time variability included.
	LeadDemand   float64 `json:"lead_demand"`
	LeadDemandSD float64 `json:"lead_demand_sd"`
	// DailyDemand is the mean daily demand over the protection period.
	DailyDemand    float64  `json:"daily_demand"`
	ProtectionDays float64  `json:"protection_days"`
	Lead           LeadTime `json:"lead"`
}
