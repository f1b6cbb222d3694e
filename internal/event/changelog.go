package event

// Headers the stock pipeline puts on records of stockflow.accepted.v1, next
// to the source coordinates and event type it shares with the DLQ.
const (
	// HeaderDelta is the change to on hand the ledger applied (decimal).
	HeaderDelta = "x-stockflow-delta"
	// HeaderOnHand is on hand after the event (decimal).
	HeaderOnHand = "x-stockflow-on-hand"
	// HeaderOutcome is "applied" or "superseded" (older than the latest count).
	HeaderOutcome = "x-stockflow-outcome"
)

// Key prefixes of stockflow.stock-changelog.v1. A ledger record's value is
// the JSON of StockLevel (plus fields private to the pipeline); a seen
// record's value is the event time in Unix milliseconds; a stream-time
// record's value is the partition's stream time in Unix milliseconds.
const (
	ChangelogLevelPrefix = "L/"
	// ChangelogSeenPrefix keys one remembered event id (the format before
	// batches; still read on restore).
	ChangelogSeenPrefix = "E/"
	// ChangelogSeenBatchPrefix keys the event ids one transaction accepted
	// on one partition: "B/<partition>/<first offsets>", value a list of
	// (id, event time) pairs private to the pipeline.
	ChangelogSeenBatchPrefix  = "B/"
	ChangelogStreamTimePrefix = "P/"
	// ChangelogReservationPrefix keys one reservation's state:
	// "R/<reservation_id>", written in the same transaction as the ledger
	// record that counts it (routing's view relies on that order).
	ChangelogReservationPrefix = "R/"
)

// StockLevel is the public part of a ledger record in the stock changelog:
// what sinks and downstream consumers may rely on.
type StockLevel struct {
	SKU       SKU         `json:"sku"`
	Warehouse WarehouseID `json:"warehouse"`
	OnHand    int64       `json:"on_hand"`
	Reserved  int64       `json:"reserved"`
	Available int64       `json:"available"`
	// LastEventTS is the latest event time applied, Unix milliseconds.
	LastEventTS int64 `json:"last_event_ts"`
	// Version increases with every event applied to the ledger.
	Version uint64 `json:"version"`
}
