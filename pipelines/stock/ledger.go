package stock

import (
	"github.com/stockflow/stockflow/internal/event"
)

// Key identifies one ledger: a SKU in a warehouse.
type Key struct {
	SKU       event.SKU
	Warehouse event.WarehouseID
}

// String renders the key as it appears in changelog keys.
func (k Key) String() string { return string(k.SKU) + "/" + string(k.Warehouse) }

// delta is one on-hand change after the latest count, kept while it is
// inside the correction horizon so a late count can supersede it exactly.
type delta struct {
	TS  int64 `json:"t"` // event time, Unix milliseconds
	Qty int64 `json:"q"`
}

// Level is the ledger of one (SKU, warehouse).
//
// A count sets the absolute level as of its timestamp: on hand is the
// latest count (by time, then event id) plus every delta with a strictly
// later timestamp, whatever order the events arrived in. To stay exact
// without unbounded memory, deltas newer than the correction horizon are
// kept individually (Pending); older ones are folded into Folded, and
// FoldedMaxTS remembers the newest of them. A count older than a folded
// delta can no longer be placed exactly and is rejected; any other count,
// however late, is placed exactly.
type Level struct {
	SKU       event.SKU         `json:"sku"`
	Warehouse event.WarehouseID `json:"warehouse"`
	OnHand    int64             `json:"on_hand"`
	Reserved  int64             `json:"reserved"`
	Available int64             `json:"available"`
	// LastEventTS is the latest event time applied, Unix milliseconds.
	LastEventTS int64 `json:"last_event_ts"`
	// Version counts the events applied; it orders stored levels.
	Version uint64 `json:"version"`

	HasCount bool   `json:"has_count"`
	CountTS  int64  `json:"count_ts"`
	CountID  string `json:"count_id"`
	CountQty int64  `json:"count_qty"`
	Folded   int64  `json:"folded"`
	// FoldedMaxTS is the newest event time folded into Folded (Unix ms).
	FoldedMaxTS int64   `json:"folded_max_ts"`
	Pending     []delta `json:"pending,omitempty"`
}

// Outcome says how an event changed a ledger.
type Outcome uint8

// Outcomes of applying an event.
const (
	// Applied: the event changed on hand by Delta.
	Applied Outcome = iota
	// Superseded: the event is older than the latest count, which already
	// includes it; on hand is unchanged.
	Superseded
	// TooLate: a count older than a delta already folded; rejected.
	TooLate
)

func (l *Level) recompute() {
	v := l.CountQty + l.Folded
	for _, d := range l.Pending {
		v += d.Qty
	}
	l.OnHand = v
	l.Available = v - l.Reserved
}

// fold moves deltas older than horizon (Unix ms) into Folded.
func (l *Level) fold(horizon int64) {
	kept := l.Pending[:0]
	for _, d := range l.Pending {
		if d.TS < horizon {
			l.Folded += d.Qty
			l.FoldedMaxTS = max(l.FoldedMaxTS, d.TS)
			continue
		}
		kept = append(kept, d)
	}
	clear(l.Pending[len(kept):])
	l.Pending = kept
	if len(l.Pending) == 0 {
		l.Pending = nil
	}
}

func (l *Level) touch(ts int64) {
	l.Version++
	if ts > l.LastEventTS {
		l.LastEventTS = ts
	}
}

// ApplyDelta applies an on-hand change qty at event time ts (Unix ms).
// horizon is the start of the correction horizon (Unix ms).
func (l *Level) ApplyDelta(ts, qty, horizon int64) (Outcome, int64) {
	l.touch(ts)
	if l.HasCount && ts <= l.CountTS {
		return Superseded, 0
	}
	if ts < horizon {
		l.Folded += qty
		l.FoldedMaxTS = max(l.FoldedMaxTS, ts)
	} else {
		l.Pending = append(l.Pending, delta{TS: ts, Qty: qty})
	}
	l.fold(horizon)
	before := l.OnHand
	l.recompute()
	return Applied, l.OnHand - before
}

// ApplyCount applies an absolute count qty at event time ts with event id.
func (l *Level) ApplyCount(ts int64, id string, qty, horizon int64) (Outcome, int64) {
	if l.HasCount && (ts < l.CountTS || (ts == l.CountTS && id <= l.CountID)) {
		l.touch(ts)
		return Superseded, 0
	}
	if ts < l.FoldedMaxTS {
		return TooLate, 0
	}
	l.touch(ts)
	before := l.OnHand
	l.HasCount, l.CountTS, l.CountID, l.CountQty = true, ts, id, qty
	// Every folded delta is at or before ts, so the count includes it.
	l.Folded = 0
	kept := l.Pending[:0]
	for _, d := range l.Pending {
		if d.TS > ts {
			kept = append(kept, d)
		}
	}
	clear(l.Pending[len(kept):])
	l.Pending = kept
	l.fold(horizon)
	l.recompute()
	return Applied, l.OnHand - before
}
