// Package event owns stockflow's event contract v1: the Go types of the
// sales, stock, orders and campaigns topics, their JSON Schema files, a
// decoder built for throughput, and validation with machine-readable
// reasons. It imports only the standard library.
package event

import "time"

// SKU identifies a stock-keeping unit.
type SKU string

// WarehouseID identifies a warehouse (a stocking location).
type WarehouseID string

// Type names the kind of an input event; it follows from the topic.
type Type uint8

// The input event types, one per upstream topic.
const (
	TypeUnknown Type = iota
	TypeSale
	TypeStock
	TypeOrder
	TypeCampaign
)

// String returns the lower-case name used in headers and tables.
func (t Type) String() string {
	switch t {
	case TypeSale:
		return "sale"
	case TypeStock:
		return "stock"
	case TypeOrder:
		return "order"
	case TypeCampaign:
		return "campaign"
	default:
		return "unknown"
	}
}

// StockKind is the kind of a stock movement.
type StockKind string

// The stock movement kinds. Count is an absolute level as of its timestamp;
// the others are deltas: receipt, transfer_in and return add qty, transfer_out
// and damage remove qty, adjustment adds its signed qty.
const (
	KindReceipt     StockKind = "receipt"
	KindAdjustment  StockKind = "adjustment"
	KindCount       StockKind = "count"
	KindTransferOut StockKind = "transfer_out"
	KindTransferIn  StockKind = "transfer_in"
	KindReturn      StockKind = "return"
	KindDamage      StockKind = "damage"
)

// Valid reports whether k is one of the defined kinds.
func (k StockKind) Valid() bool {
	switch k {
	case KindReceipt, KindAdjustment, KindCount, KindTransferOut, KindTransferIn, KindReturn, KindDamage:
		return true
	}
	return false
}

// Delta is the change to on-hand stock that a non-count movement makes.
// It is meaningless for KindCount.
func (k StockKind) Delta(qty int64) int64 {
	switch k {
	case KindTransferOut, KindDamage:
		return -qty
	default:
		return qty
	}
}

// Sale is one sales transaction at a known warehouse (stockflow.sales.v1,
// keyed by SKU). OrderID is set when the sale ships a web order.
type Sale struct {
	EventID   string      `json:"event_id"`
	TS        time.Time   `json:"ts"`
	SKU       SKU         `json:"sku"`
	Warehouse WarehouseID `json:"warehouse"`
	Qty       int64       `json:"qty"`
	OrderID   string      `json:"order_id,omitempty"`
	Channel   string      `json:"channel"`
	UnitPrice float64     `json:"unit_price"`
	Currency  string      `json:"currency"`
}

// Stock is one stock movement (stockflow.stock.v1, keyed by SKU).
type Stock struct {
	EventID   string      `json:"event_id"`
	TS        time.Time   `json:"ts"`
	SKU       SKU         `json:"sku"`
	Warehouse WarehouseID `json:"warehouse"`
	Kind      StockKind   `json:"kind"`
	Qty       int64       `json:"qty"`
	Ref       string      `json:"ref,omitempty"`
}

// OrderLine is one line of an order.
type OrderLine struct {
	SKU SKU   `json:"sku"`
	Qty int64 `json:"qty"`
}

// Address is where an order ships to.
type Address struct {
	PostalCode string  `json:"postal_code"`
	Country    string  `json:"country"`
	Lat        float64 `json:"lat"`
	Lon        float64 `json:"lon"`
}

// Order is a web order without a warehouse (stockflow.orders.v1, keyed by
// order id); routing decides where it ships from.
type Order struct {
	EventID      string      `json:"event_id"`
	TS           time.Time   `json:"ts"`
	OrderID      string      `json:"order_id"`
	Lines        []OrderLine `json:"lines"`
	ShipTo       Address     `json:"ship_to"`
	ServiceLevel string      `json:"service_level"`
	PromisedBy   time.Time   `json:"promised_by"`
}

// Campaign announces a promotion (stockflow.campaigns.v1, keyed by campaign
// id). It targets SKUs or a category, in regions or warehouses.
type Campaign struct {
	EventID        string        `json:"event_id"`
	TS             time.Time     `json:"ts"`
	CampaignID     string        `json:"campaign_id"`
	SKUs           []SKU         `json:"skus,omitempty"`
	Category       string        `json:"category,omitempty"`
	Regions        []string      `json:"regions,omitempty"`
	Warehouses     []WarehouseID `json:"warehouses,omitempty"`
	Start          time.Time     `json:"start"`
	End            time.Time     `json:"end"`
	ExpectedUplift float64       `json:"expected_uplift"`
}
