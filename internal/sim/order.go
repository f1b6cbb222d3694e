package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// maxOrderQty bounds the quantity of one reorder Order accepts.
const maxOrderQty = 1_000_000

// Order hands one record of stockflow.reorders.v1 to the simulated
// suppliers and warehouses: it is how the replenishment pipeline's
// decisions change what happens next (see Config.ExternalReplenishment).
// Only records with Status "ordered" order anything; Order ignores the
// others (suggestions, receipts, cancellations: a supplier delivers what
// it has confirmed). The same ReorderID acts once, whatever its content
// the next times, so replays are harmless.
//
// The order is placed at the simulator's current time, the time of the
// last record processed, or in History at r.TS if that is later (in Live,
// r.TS is on the output clock, not the simulated one, and is not used).
// What happens at once happens then, but not before the end of the last
// day reported to Config.OnDayEnd, so that no record of a day comes after
// its end was reported.
//
//   - Kind purchase: the SKU's supplier ships r.Qty (the supplier is the
//     catalog's; r.Supplier is not checked) to r.Warehouse. The receipt
//     arrives after a lead time of 3-14 whole days, sampled from the
//     supplier × warehouse distribution (Sim.LeadTime) as for the built-in
//     supplier and counted from the day the order is placed, at a daytime
//     hour local to the warehouse, and is short like any other receipt (7%
//     of them): a stock event of kind receipt with ref = r.ReorderID. Until
//     then the quantity is on order.
//   - Kind transfer: r.FromWarehouse ships at once what it has of r.Qty
//     available (physical stock not reserved for web orders): a
//     transfer_out with ref = r.ReorderID, nothing at all if it has none.
//     The same quantity arrives at r.Warehouse as a transfer_in with the
//     same ref a day later in the same region, otherwise 2-3 days later
//     (across the Atlantic too), at a daytime hour local to it.
//
// Nothing is emitted by Order itself: what it schedules is emitted in time
// order by the History or Live that runs then (a Sim that is not running
// keeps it for the next Live). Order returns an error, and schedules
// nothing, for an empty id, an unknown kind, SKU or warehouse, a transfer
// to its own source, a quantity outside 1..1,000,000, or a call before
// the simulation started.
func (s *Sim) Order(r event.Reorder) error {
	if r.Status != event.ReorderOrdered {
		return nil
	}
	if r.ReorderID == "" {
		return errors.New("sim: order without a reorder id")
	}
	if _, done := s.ordered[r.ReorderID]; done {
		return nil
	}
	if s.day < 0 {
		return fmt.Errorf("sim: order %s before History or Live", r.ReorderID)
	}
	i, ok := s.skuIndex(r.SKU)
	if !ok {
		return fmt.Errorf("sim: order %s: unknown SKU %q", r.ReorderID, r.SKU)
	}
	w, ok := s.warehouseIndex(r.Warehouse)
	if !ok {
		return fmt.Errorf("sim: order %s: unknown warehouse %q", r.ReorderID, r.Warehouse)
	}
	if r.Qty < 1 || r.Qty > maxOrderQty {
		return fmt.Errorf("sim: order %s: quantity %d out of range 1..%d", r.ReorderID, r.Qty, maxOrderQty)
	}
	at := max(s.curAt, s.dayStart) // now, even after a day without records
	if !s.live && !r.TS.IsZero() {
		ms := r.TS.UnixMilli()
		if r.TS.After(time.UnixMilli(ms)) { // never before r.TS
			ms++
		}
		at = max(at, ms)
	}
	k, q, ref := i*s.nW+w, int32(r.Qty), uint64(len(s.extIDs))
	switch r.Kind {
	case event.ReorderPurchase:
		lead, due := s.delivery(i, w, at)
		s.onOrder[k] += q
		s.lastDue[k] = max(s.lastDue[k], due)
		s.push(item{at: due, kind: kReceipt, key: int32(k), qty: q, ref: ref, flag: flagExternal})
		if s.onPO != nil {
			s.onPO(purchaseOrder{ID: r.ReorderID, Key: k, PlacedAt: at, Lead: lead, Qty: q, DueAt: due})
		}
	case event.ReorderTransfer:
		from, ok := s.warehouseIndex(r.FromWarehouse)
		switch {
		case !ok:
			return fmt.Errorf("sim: order %s: unknown source warehouse %q", r.ReorderID, r.FromWarehouse)
		case from == w:
			return fmt.Errorf("sim: order %s: transfer from %s to itself", r.ReorderID, r.Warehouse)
		}
		s.push(item{at: max(at, s.floor), kind: kTransferOut, key: int32(i*s.nW + from), aux: int16(w), qty: q, ref: ref, flag: flagExternal})
	default:
		return fmt.Errorf("sim: order %s: unknown kind %q", r.ReorderID, r.Kind)
	}
	s.ordered[r.ReorderID] = struct{}{}
	s.extIDs = append(s.extIDs, r.ReorderID)
	return nil
}

// transferOut ships an ordered transfer from the item's key, as much of it
// as is available, and schedules its arrival.
func (s *Sim) transferOut(it *item) error {
	k := int(it.key)
	q := min(it.qty, s.avail(k))
	if q <= 0 {
		return nil
	}
	from, to := k%s.nW, int(it.aux)
	dst := k - from + to
	s.phys[k] -= q
	s.recorded[k] -= q
	s.inTransit[dst] += q
	days := 1
	if sites[from].region != sites[to].region {
		days = 2 + s.r.IntN(2)
	}
	arrive := s.startMs + int64(s.dayOf(it.at)+days)*dayMs + s.localMs(6+s.r.IntN(8), sites[to].tz)
	s.push(item{at: arrive, kind: kTransferIn, key: int32(dst), qty: q, ref: it.ref, flag: flagExternal})
	s.checkReorder(k, it.at)
	return s.emitStock(it.at, k, event.KindTransferOut, int64(q), s.extIDs[it.ref])
}

// external reports whether ExternalReplenishment is in force at time at.
func (s *Sim) external(at int64) bool {
	return s.cfg.ExternalReplenishment && s.dayOf(at) >= s.cfg.ExternalFrom
}

// itemRef is the ref of a receipt or transfer: the reorder id of one that
// Order scheduled, else the simulator's own "<prefix><namespace>-<n>".
func (s *Sim) itemRef(prefix string, it *item) string {
	if it.flag == flagExternal {
		return s.extIDs[it.ref]
	}
	return s.ref(prefix, it.ns, it.ref)
}

// skuIndex is the index of a SKU id of the catalog (SKU-000001 is 0).
func (s *Sim) skuIndex(sku event.SKU) (int, bool) {
	digits, ok := strings.CutPrefix(string(sku), "SKU-")
	if !ok || len(digits) != 6 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > s.nS || skuID(n) != sku {
		return 0, false
	}
	return n - 1, true
}

// warehouseIndex is the index of a warehouse id of the network (WH01 is 0).
func (s *Sim) warehouseIndex(id event.WarehouseID) (int, bool) {
	digits, ok := strings.CutPrefix(string(id), "WH")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > s.nW || warehouseID(n-1) != id {
		return 0, false
	}
	return n - 1, true
}
