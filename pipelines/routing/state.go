package routing

import (
	"fmt"
	"math"

	"github.com/stockflow/stockflow/internal/event"
)

// Item is what routing knows of a SKU: zero values take Config.UnitKg and
// Config.ShortageCost.
type Item struct {
	// UnitKg is the shipping weight of one unit.
	UnitKg float64 `json:"unit_kg,omitempty"`
	// ShortageCost is the cost of one unit of demand short (the margin
	// lost and the customer's goodwill, roughly).
	ShortageCost float64 `json:"shortage_cost,omitempty"`
}

// Stock is what routing knows of one (SKU, warehouse).
type Stock struct {
	// Available is on hand − reserved (a negative value counts as 0).
	Available int64 `json:"available"`
	// NextReceiptDays is the days until the next receipt (purchase or
	// transfer); 0 means none is known, and the opportunity window is the
	// whole horizon.
	NextReceiptDays float64 `json:"next_receipt_days,omitempty"`
	// Demand is the location's own forecast demand (store, marketplace
	// and the web orders it will serve).
	Demand Demand `json:"demand"`
}

// keyState is a (SKU, warehouse) as the router uses it: what is available
// now and the demand over its opportunity window.
type keyState struct {
	avail    int64
	mean, sd float64
	known    bool
}

// skuState is a SKU: its item and its keys, one per warehouse.
type skuState struct {
	kg, shortage float64
	keys         []keyState
}

// State is the view routing decides on: available stock per (SKU,
// warehouse) with the demand behind the opportunity cost, and the
// packages and units each warehouse has shipped today. Route, Batch and
// Exact read it and leave it as they found it; Apply and Release change
// it. A State is not safe for concurrent use.
type State struct {
	r      *Router
	skus   map[event.SKU]*skuState
	orders []int64 // packages shipped today, per warehouse
	units  []int64
}

// NewState returns an empty state for r's warehouses: no stock anywhere
// and nothing shipped today.
func (r *Router) NewState() *State {
	return &State{r: r, skus: map[event.SKU]*skuState{}, orders: make([]int64, len(r.whs)), units: make([]int64, len(r.whs))}
}

func (s *State) sku(sku event.SKU) *skuState {
	st := s.skus[sku]
	if st == nil {
		st = &skuState{kg: s.r.cfg.UnitKg, shortage: s.r.cfg.ShortageCost, keys: make([]keyState, len(s.r.whs))}
		s.skus[sku] = st
	}
	return st
}

// SetItem sets what is known of sku.
func (s *State) SetItem(sku event.SKU, it Item) error {
	if bad(it.UnitKg) || bad(it.ShortageCost) {
		return fmt.Errorf("routing: item %s: %+v must be finite and not negative", sku, it)
	}
	st := s.sku(sku)
	st.kg, st.shortage = s.r.cfg.UnitKg, s.r.cfg.ShortageCost
	if it.UnitKg > 0 {
		st.kg = it.UnitKg
	}
	if it.ShortageCost > 0 {
		st.shortage = it.ShortageCost
	}
	return nil
}

// SetStock sets the stock of sku at warehouse wh and the demand its
// opportunity cost looks at: over min(horizon, NextReceiptDays) days.
func (s *State) SetStock(sku event.SKU, wh event.WarehouseID, st Stock) error {
	w, ok := s.r.whIndex[wh]
	if !ok {
		return fmt.Errorf("routing: stock of %s at unknown warehouse %s", sku, wh)
	}
	if bad(st.NextReceiptDays) || bad(st.Demand.Rate) || bad(st.Demand.RateSD) {
		return fmt.Errorf("routing: stock of %s at %s: receipt days and rates must be finite and not negative", sku, wh)
	}
	window := s.r.cfg.HorizonDays
	if st.NextReceiptDays > 0 {
		window = min(window, st.NextReceiptDays)
	}
	mean, sd := st.Demand.over(window)
	if math.IsNaN(mean) || math.IsNaN(sd) || math.IsInf(mean, 0) || math.IsInf(sd, 0) {
		return fmt.Errorf("routing: stock of %s at %s: forecast is not finite", sku, wh)
	}
	s.sku(sku).keys[w] = keyState{avail: max(st.Available, 0), mean: mean, sd: sd, known: true}
	return nil
}

// Available returns the available stock of sku at wh (0 when unknown).
func (s *State) Available(sku event.SKU, wh event.WarehouseID) int64 {
	w, ok := s.r.whIndex[wh]
	st := s.skus[sku]
	if !ok || st == nil {
		return 0
	}
	return st.keys[w].avail
}

// SetUsage sets what warehouse wh has shipped today (a new day starts at
// 0, 0).
func (s *State) SetUsage(wh event.WarehouseID, packages, units int64) error {
	w, ok := s.r.whIndex[wh]
	if !ok {
		return fmt.Errorf("routing: usage of unknown warehouse %s", wh)
	}
	s.orders[w], s.units[w] = packages, units
	return nil
}

// Usage returns the packages and units warehouse wh has shipped today.
func (s *State) Usage(wh event.WarehouseID) (packages, units int64) {
	w, ok := s.r.whIndex[wh]
	if !ok {
		return 0, 0
	}
	return s.orders[w], s.units[w]
}

// Clone returns an independent copy of s.
func (s *State) Clone() *State {
	c := &State{r: s.r, skus: make(map[event.SKU]*skuState, len(s.skus)),
		orders: append([]int64(nil), s.orders...), units: append([]int64(nil), s.units...)}
	for k, v := range s.skus {
		cp := *v
		cp.keys = append([]keyState(nil), v.keys...)
		c.skus[k] = &cp
	}
	return c
}

// ErrOversell is returned by Apply when a decision takes more than is
// available or ships from a warehouse beyond its capacity; nothing is
// changed then.
type ErrOversell struct {
	SKU       event.SKU
	Warehouse event.WarehouseID
	// Want is what the decision takes, Have what was available (units,
	// or for capacity the packages or units left today).
	Want, Have int64
	Capacity   bool
}

func (e *ErrOversell) Error() string {
	if e.Capacity {
		return fmt.Sprintf("routing: warehouse %s over its daily capacity: want %d, %d left", e.Warehouse, e.Want, e.Have)
	}
	return fmt.Sprintf("routing: oversell of %s at %s: want %d, %d available", e.SKU, e.Warehouse, e.Want, e.Have)
}

// Apply reserves a decision's assignments: their units leave the available
// stock and their packages and units count against today's capacity. It
// changes nothing and returns an *ErrOversell if any of them does not fit
// (DESIGN §3 invariant 4: available stock never goes below zero through
// routing). A decision without assignments applies trivially.
func (s *State) Apply(d *Decision) error {
	if err := s.check(d); err != nil {
		return err
	}
	s.move(d, -1)
	return nil
}

// Release undoes Apply of the same decision (a rejected reservation, a
// cancelled order).
func (s *State) Release(d *Decision) error {
	for _, p := range d.Packages {
		if _, ok := s.r.whIndex[p.Warehouse]; !ok {
			return fmt.Errorf("routing: release from unknown warehouse %s", p.Warehouse)
		}
	}
	for _, a := range d.Assignments {
		if _, ok := s.r.whIndex[a.Warehouse]; !ok || a.Qty < 0 {
			return fmt.Errorf("routing: release of %d %s from %s", a.Qty, a.SKU, a.Warehouse)
		}
	}
	s.move(d, +1)
	return nil
}

func (s *State) check(d *Decision) error {
	need := map[[2]string]int64{}
	for _, a := range d.Assignments {
		if _, ok := s.r.whIndex[a.Warehouse]; !ok || a.Qty <= 0 {
			return fmt.Errorf("routing: assignment of %d %s from warehouse %q", a.Qty, a.SKU, a.Warehouse)
		}
		need[[2]string{string(a.SKU), string(a.Warehouse)}] += a.Qty
	}
	for k, q := range need {
		if have := s.Available(event.SKU(k[0]), event.WarehouseID(k[1])); q > have {
			return &ErrOversell{SKU: event.SKU(k[0]), Warehouse: event.WarehouseID(k[1]), Want: q, Have: have}
		}
	}
	for _, p := range d.Packages {
		w, ok := s.r.whIndex[p.Warehouse]
		if !ok {
			return fmt.Errorf("routing: package from unknown warehouse %s", p.Warehouse)
		}
		wh := &s.r.whs[w]
		if c := wh.OrderCapacity; c > 0 && s.orders[w]+1 > c {
			return &ErrOversell{Warehouse: p.Warehouse, Want: 1, Have: c - s.orders[w], Capacity: true}
		}
		if c := wh.UnitCapacity; c > 0 && s.units[w]+p.Units > c {
			return &ErrOversell{Warehouse: p.Warehouse, Want: p.Units, Have: c - s.units[w], Capacity: true}
		}
	}
	return nil
}

// move takes (sign −1) or gives back (+1) a decision's stock and capacity.
func (s *State) move(d *Decision, sign int64) {
	for _, a := range d.Assignments {
		w := s.r.whIndex[a.Warehouse]
		s.sku(a.SKU).keys[w].avail += sign * a.Qty
	}
	for _, p := range d.Packages {
		w := s.r.whIndex[p.Warehouse]
		s.orders[w] -= sign
		s.units[w] -= sign * p.Units
	}
}
