// Package event owns stockflow's event contract v1: the Go types of the
// sales, stock, orders and campaigns topics, their JSON Schema files
// (Schemas), a decoder built for throughput, validation with
// machine-readable reasons (Reason, Checker), and the DLQ header names. It
// imports only the standard library.
//
// # Decoding
//
// DecodeSale, DecodeStock, DecodeOrder and DecodeCampaign read one record
// with a hand-written scanner (no reflection) and enforce the same rules as
// the schema files; the tests prove that both agree, and list the few rules
// that JSON Schema cannot express (testdata/stricter). They check, and
// return the first failure of:
//
//  1. Syntax: the record is one JSON text in UTF-8, nested at most 10000
//     deep (malformed_json). A syntax error wins even if it comes after
//     another problem.
//  2. Types, in document order: the record is an object and every field it
//     knows has the right JSON type (wrong_type). Quantities are integers
//     written without fraction or exponent: 1.0 and 1e2 are wrong_type, as
//     they are for encoding/json and int64. An integer beyond int64, a
//     number beyond float64 or a timestamp that is not RFC 3339 (upper-case
//     T and Z, offset below 24h) is invalid_value. This applies to every
//     occurrence of a key that appears more than once.
//  3. Required fields, in declaration order (missing_field). A null field
//     counts as absent: it has no effect, as in encoding/json.
//  4. Values, in declaration order (invalid_value, negative_qty), on the
//     values that win: when a key appears more than once the last
//     occurrence wins, as in encoding/json.
//
// Unknown fields are skipped, whatever they hold (forward compatibility).
// Names match exactly; unlike encoding/json there is no case-insensitive
// matching. Escaped lone surrogates decode to U+FFFD, as in encoding/json;
// raw invalid UTF-8 is malformed_json (encoding/json would replace it).
//
// The decoded strings never alias the input. event_id gets an allocation of
// its own, because deduplication keeps it for days; the other strings of
// one event share a single allocation. The decoders have no shared state
// and are safe for concurrent use.
//
// encoding/json on the tagged types is the encoder (Encode); everything it
// writes decodes back to the same value.
//
// # Checks that need context
//
// Checker rejects oversize records (before decoding), unknown warehouses
// and event times too far in the future. Duplicate event_ids are detected
// by the pipeline, which owns the deduplication window; ReasonDuplicateEvent
// is its reason code.
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
// id). It targets the listed SKUs and every SKU of Category (at least one
// of the two is set); it runs in every warehouse of the listed Regions and
// in the listed Warehouses, and everywhere when both are empty. It runs
// from Start (inclusive) to End (exclusive, after Start). ExpectedUplift is
// the expected relative change of demand while it runs: 0.25 means +25 %;
// it is at least -1.
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
