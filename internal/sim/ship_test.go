package sim

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// TestShip drives ExternalRouting the way `stockflow run` does: at each
// day end the day's web orders get a final decision, every third one a
// backorder, the others a warehouse each (replayed once, and preceded by
// a decision that is not final). Web sales must then be exactly what the
// decisions ship: from the assigned warehouse, no more than assigned,
// after the day they were decided, and none for backorders or for orders
// never decided.
func TestShip(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(41)
	cfg.Days, cfg.BadShare, cfg.ExternalRouting = 12, -1, true
	var (
		s       *Sim
		today   []event.Order
		assign  = map[string]map[event.SKU]int64{} // order → sku → qty routed
		from    = map[string]event.WarehouseID{}
		decided = map[string]time.Time{} // order → the end of the day it was decided
		back    = map[string]bool{}
		n       int
	)
	cfg.OnDayEnd = func(day int, end time.Time) error {
		if day == cfg.Days-1 {
			return nil // the last day's orders stay undecided
		}
		for _, o := range today {
			n++
			d := event.RoutingDecision{DecisionID: o.OrderID + "/2", OrderID: o.OrderID, TS: o.TS, Final: true, Attempt: 2}
			if n%3 == 0 {
				d.Status = event.RoutingBackordered
				back[o.OrderID] = true
			} else {
				wh := event.WarehouseID(fmt.Sprintf("WH%02d", 1+n%2))
				d.Status = event.RoutingRouted
				assign[o.OrderID] = map[event.SKU]int64{}
				for _, l := range o.Lines {
					d.Assignments = append(d.Assignments, event.RoutingAssignment{Warehouse: wh, SKU: l.SKU, Qty: l.Qty, Package: 1})
					assign[o.OrderID][l.SKU] += l.Qty
				}
				from[o.OrderID] = wh
			}
			notFinal := d
			notFinal.Final, notFinal.Attempt, notFinal.DecisionID = false, 1, o.OrderID+"/1"
			for _, x := range []event.RoutingDecision{notFinal, d, d} {
				if err := s.Ship(x); err != nil {
					return err
				}
			}
			decided[o.OrderID] = end
		}
		today = today[:0]
		return nil
	}
	var err error
	if s, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := s.Ship(event.RoutingDecision{OrderID: "ORD-nope", Final: true}); err == nil {
		t.Error("Ship before History: no error")
	}
	sold := map[string]map[event.SKU]int64{}
	var webSales int
	_, err = s.History(t.Context(), func(rec Record) error {
		d, err := decodeStd(rec)
		if err != nil {
			return err
		}
		switch {
		case d.order != nil:
			today = append(today, *d.order)
		case d.sale != nil && d.sale.Channel == "web":
			webSales++
			id := d.sale.OrderID
			switch end, ok := decided[id]; {
			case !ok:
				t.Errorf("web sale %s for order %s, which was never decided", d.sale.EventID, id)
			case back[id]:
				t.Errorf("web sale for backordered order %s", id)
			case d.sale.Warehouse != from[id]:
				t.Errorf("order %s routed to %s ships from %s", id, from[id], d.sale.Warehouse)
			case d.sale.TS.Before(end):
				t.Errorf("order %s decided at the end of a day, %v, ships before it at %v", id, end, d.sale.TS)
			}
			if sold[id] == nil {
				sold[id] = map[event.SKU]int64{}
			}
			sold[id][d.sale.SKU] += d.sale.Qty
			if sold[id][d.sale.SKU] > assign[id][d.sale.SKU] {
				t.Errorf("order %s: %d of %s shipped, %d routed", id, sold[id][d.sale.SKU], d.sale.SKU, assign[id][d.sale.SKU])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if webSales == 0 || len(back) == 0 {
		t.Fatalf("%d web sales, %d backorders: the test saw nothing", webSales, len(back))
	}
	var unknown *UnknownOrderError
	if err := s.Ship(event.RoutingDecision{OrderID: "ORD-nope", Final: true}); !errors.As(err, &unknown) {
		t.Errorf("Ship of an unknown order: %v, want an *UnknownOrderError", err)
	}
	t.Logf("%d orders decided, %d backordered, %d web sales", n, len(back), webSales)
}
