package routing

import (
	"strconv"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// Record is the stockflow.routing.v1 record of decision d: attempt
// attempt of its order, made at ts, Final or not, in batch batchID ("" when
// decided alone), after latency, for an order to region shipTo. Each
// assignment carries its package's shipping and handling shared by units
// and its opportunity cost; they add up to the breakdown's (CheckTotal).
func Record(d *Decision, o *event.Order, attempt int64, final bool, ts time.Time, batchID, region string, latency time.Duration) event.RoutingDecision {
	rd := event.RoutingDecision{
		DecisionID: event.RoutingDecisionID(d.OrderID, attempt),
		OrderID:    d.OrderID,
		TS:         ts.UTC(),
		Status:     event.RoutingStatus(d.Status),
		Reason:     string(d.Reason),
		Final:      final,
		Attempt:    attempt,
		Breakdown:  breakdownOf(d.Breakdown),
		BatchID:    batchID,
		LatencyMS:  float64(latency.Microseconds()) / 1000,
		Region:     region,
		ShipTo:     o.ShipTo,
	}
	pkg := make(map[event.WarehouseID]int, len(d.Packages))
	for i, p := range d.Packages {
		pkg[p.Warehouse] = i
	}
	var units int64
	for _, a := range d.Assignments {
		units += a.Qty
	}
	for _, a := range d.Assignments {
		i := pkg[a.Warehouse]
		p := &d.Packages[i]
		share := float64(a.Qty) / float64(max(p.Units, 1))
		ship, handle := p.Shipping*share, p.Handling*share
		// Assignment.Cost is opportunity + the package's shipping and
		// handling and the order's split penalty shared by units.
		opp := a.Cost - (p.Shipping+p.Handling)*share - d.Breakdown.Split*float64(a.Qty)/float64(max(units, 1))
		rd.Assignments = append(rd.Assignments, event.RoutingAssignment{
			Warehouse: a.Warehouse, SKU: a.SKU, Qty: a.Qty,
			Shipping: ship, Handling: handle, Opportunity: opp, Package: i + 1,
		})
	}
	for _, alt := range d.Alternatives {
		rd.Alternatives = append(rd.Alternatives, event.RoutingAlternative{
			Status: event.RoutingStatus(alt.Status), Warehouses: alt.Warehouses, Breakdown: breakdownOf(alt.Breakdown),
		})
	}
	return rd
}

func breakdownOf(b Breakdown) event.RoutingBreakdown {
	return event.RoutingBreakdown{
		Shipping: b.Shipping, Handling: b.Handling, Split: b.Split,
		Opportunity: b.Opportunity, Backorder: b.Backorder, Total: b.Total(),
	}
}

// ReservationID is the deterministic id of the request for (sku, wh) of
// an order's attempt: "<order_id>/<sku>/<warehouse>/<attempt>".
func ReservationID(orderID string, sku event.SKU, wh event.WarehouseID, attempt int64) string {
	return orderID + "/" + string(sku) + "/" + string(wh) + "/" + strconv.FormatInt(attempt, 10)
}

// Reservations are the requests that reserve decision d's assignments for
// attempt attempt at ts, one per (SKU, warehouse).
func Reservations(d *Decision, attempt int64, ts time.Time) []event.Reservation {
	var out []event.Reservation
	idx := make(map[whKey]int, len(d.Assignments))
	for _, a := range d.Assignments {
		k := whKey{a.SKU, a.Warehouse}
		if i, ok := idx[k]; ok {
			out[i].Qty += a.Qty
			continue
		}
		idx[k] = len(out)
		out = append(out, event.Reservation{
			ReservationID: ReservationID(d.OrderID, a.SKU, a.Warehouse, attempt),
			OrderID:       d.OrderID, SKU: a.SKU, Warehouse: a.Warehouse, Qty: a.Qty,
			Kind: event.ReservationReserve, TS: ts.UTC(),
		})
	}
	return out
}
