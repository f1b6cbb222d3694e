package event

import "time"

// TopicWindows carries the results of the stock pipeline's event-time
// windows: one final record per (SKU, warehouse, window) when the window
// closes, and correction records for events that arrive after it closed.
// Partitioned like the inputs (key: SKU).
const TopicWindows = "stockflow.windows.v1"

// Window sizes: epoch-aligned tumbling windows in UTC.
const (
	WindowHour = "1h"
	WindowDay  = "1d"
)

// WindowKind says whether a window record is the result at close or a
// correction after it.
type WindowKind string

// Window record kinds.
const (
	// WindowFinal is emitted once, when stream time passes the window's end
	// plus the grace period: the totals of everything that arrived in time.
	WindowFinal WindowKind = "final"
	// WindowCorrection carries what arrived after the window closed: its
	// fields are increments to add to the final record, never totals.
	WindowCorrection WindowKind = "correction"
)

// Window is one record of stockflow.windows.v1. The true total of a window
// is the sum of its final record and all its corrections (the sink's table
// sums them), so a late event is counted exactly once wherever it falls.
type Window struct {
	SKU       SKU         `json:"sku"`
	Warehouse WarehouseID `json:"warehouse"`
	// Size is WindowHour or WindowDay.
	Size string `json:"size"`
	// Start and End bound the window, [Start, End), UTC.
	Start time.Time  `json:"start"`
	End   time.Time  `json:"end"`
	Kind  WindowKind `json:"kind"`
	// Units sold and revenue (sum of qty × unit_price, in the sales'
	// currency) and the number of sales events.
	Units   int64   `json:"units"`
	Revenue float64 `json:"revenue"`
	Sales   int64   `json:"sales"`
	// StockoutSeconds is how long, inside the window, available stock was
	// zero or below (daily windows only; forecasting treats such days as
	// censored demand).
	StockoutSeconds int64 `json:"stockout_seconds"`
	// Velocity7 and Velocity28 are the mean daily units over the 7 and 28
	// days ending with this day (daily final records only; days without
	// sales count as zero).
	Velocity7  float64 `json:"velocity_7d"`
	Velocity28 float64 `json:"velocity_28d"`
	// StreamTime is the partition's stream time when the record was emitted.
	StreamTime time.Time `json:"stream_time"`
}

// Key prefixes of the window state in stockflow.stock-changelog.v1. They
// are private to the stock pipeline (sinks ignore them): open window
// aggregates, the open stockout interval of a ledger, and the recent daily
// units behind the demand velocity. Each is tombstoned when it is no longer
// needed, so compaction bounds them.
const (
	ChangelogWindowPrefix   = "W/"
	ChangelogStockoutPrefix = "S/"
	ChangelogVelocityPrefix = "V/"
)
