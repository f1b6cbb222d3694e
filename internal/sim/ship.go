package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// webOrder is a web order waiting for Sim.Ship under ExternalRouting.
type webOrder struct {
	lines   []lineRec
	express bool
}

// Ship hands a final routing decision of stockflow.routing.v1 to the
// simulated warehouse management systems (see Config.ExternalRouting):
// it is how the routing pipeline's decisions change what happens next.
// Records that are not final are ignored; the same order acts once, so
// replays are harmless.
//
// A routed or split decision ships each assignment from its warehouse,
// as much of it as the warehouse physically has available (its recorded
// stock may have drifted from the physical one: unrecorded shrinkage);
// the rest is lost demand. Each shipment is reserved at once and leaves
// 1-10 h later (express 15-90 min), never before the end of the last day
// reported to Config.OnDayEnd, as a web sale carrying the order id, which
// consumes stockflow's reservation. A backordered or rejected decision
// ships nothing: its units are lost demand, as they would be without a
// warehouse that could serve them. The time is taken as in Order.
//
// Ship returns an error, and ships nothing, for an order the simulator did
// not emit or has not emitted yet (*UnknownOrderError), an assignment of an unknown SKU or
// warehouse or a quantity below 1, or a call before the simulation
// started.
func (s *Sim) Ship(d event.RoutingDecision) error {
	if !d.Final {
		return nil
	}
	if _, done := s.shipped[d.OrderID]; done {
		return nil
	}
	if s.day < 0 {
		return fmt.Errorf("sim: ship %s before History or Live", d.OrderID)
	}
	o, ok := s.waiting[d.OrderID]
	if !ok {
		return &UnknownOrderError{OrderID: d.OrderID}
	}
	type move struct {
		k   int
		qty int32
	}
	moves := make([]move, 0, len(d.Assignments))
	for _, a := range d.Assignments {
		i, ok := s.skuIndex(a.SKU)
		if !ok {
			return fmt.Errorf("sim: ship %s: unknown SKU %q", d.OrderID, a.SKU)
		}
		w, ok := s.warehouseIndex(a.Warehouse)
		if !ok {
			return fmt.Errorf("sim: ship %s: unknown warehouse %q", d.OrderID, a.Warehouse)
		}
		if a.Qty < 1 || a.Qty > maxOrderQty {
			return fmt.Errorf("sim: ship %s: quantity %d out of range 1..%d", d.OrderID, a.Qty, maxOrderQty)
		}
		moves = append(moves, move{i*s.nW + w, int32(a.Qty)})
	}
	at := max(s.curAt, s.dayStart)
	if !s.live && !d.TS.IsZero() {
		ms := d.TS.UnixMilli()
		if d.TS.After(time.UnixMilli(ms)) {
			ms++
		}
		at = max(at, ms)
	}
	var want int64
	for _, l := range o.lines {
		want += int64(l.qty)
	}
	ref := uint64(len(s.extIDs))
	for _, m := range moves {
		q := min(m.qty, s.avail(m.k))
		if q <= 0 {
			continue
		}
		delay := 3_600_000 + s.r.Int64N(9*3_600_000)
		if o.express {
			delay = 900_000 + s.r.Int64N(75*60_000)
		}
		s.reserved[m.k] += q
		s.push(item{at: max(at+delay, s.floor), kind: kShip, key: int32(m.k), qty: q, ref: ref, flag: flagExternal})
		s.checkReorder(m.k, at)
		want -= int64(q)
	}
	s.c.lost += max(want, 0)
	s.extIDs = append(s.extIDs, d.OrderID)
	s.shipped[d.OrderID] = struct{}{}
	delete(s.waiting, d.OrderID)
	return nil
}

// UnknownOrderError is Ship's answer for an order this simulator did not
// emit, or has not emitted yet: among them, after a restart, the orders
// an earlier process emitted live (Live ids carry its RunID), which this
// one cannot replay.
type UnknownOrderError struct{ OrderID string }

func (e *UnknownOrderError) Error() string {
	return "sim: ship " + e.OrderID + ": no such web order waiting"
}

// errNoLines is a web order without lines (the simulator never builds one).
var errNoLines = errors.New("sim: web order without lines")

// hold keeps a web order for Ship instead of fulfilling it (ExternalRouting).
func (s *Sim) hold(it *item, id string) error {
	if it.n == 0 {
		return errNoLines
	}
	s.waiting[id] = webOrder{lines: append([]lineRec(nil), s.lines[it.off:it.off+int32(it.n)]...), express: it.flag == 1}
	return nil
}
