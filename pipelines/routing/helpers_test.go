package routing_test

import (
	"math"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/pipelines/routing"
)

// Points of the test network.
type point struct{ lat, lon float64 }

var (
	allentown = point{40.6023, -75.4714}
	joliet    = point{41.5250, -88.0817}
	ontario   = point{34.0633, -117.6509}
	venlo     = point{51.3704, 6.1724}

	nyc     = point{40.7128, -74.0060}
	chicago = point{41.8781, -87.6298}
	la      = point{34.0522, -118.2437}
	paris   = point{48.8566, 2.3522}
)

// testWarehouses are three US sites and one EU site.
func testWarehouses() []routing.Warehouse {
	return []routing.Warehouse{
		{ID: "E", Region: "US-East", Country: "US", Lat: allentown.lat, Lon: allentown.lon},
		{ID: "C", Region: "US-Central", Country: "US", Lat: joliet.lat, Lon: joliet.lon},
		{ID: "W", Region: "US-West", Country: "US", Lat: ontario.lat, Lon: ontario.lon},
		{ID: "EU", Region: "EU-West", Country: "NL", Lat: venlo.lat, Lon: venlo.lon},
	}
}

// t0 is the test orders' time: a Monday morning.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// order builds an order shipping to pt, promised days after t0.
func order(id string, pt point, country string, days int, lines ...event.OrderLine) event.Order {
	level := "standard"
	if days <= 2 {
		level = "express"
	}
	return event.Order{EventID: "e-" + id, TS: t0, OrderID: id, Lines: lines,
		ShipTo:       event.Address{PostalCode: "00000", Country: country, Lat: pt.lat, Lon: pt.lon},
		ServiceLevel: level, PromisedBy: t0.Truncate(24*time.Hour).AddDate(0, 0, days).Add(23 * time.Hour)}
}

func line(sku string, qty int64) event.OrderLine {
	return event.OrderLine{SKU: event.SKU(sku), Qty: qty}
}

// stockSpec is the stock of one key with a flat forecast.
type stockSpec struct {
	sku     string
	wh      string
	avail   int64
	rate    float64 // mean daily demand
	sd      float64 // daily standard deviation
	receipt float64 // next receipt in days (0: none)
}

func newRouter(t testing.TB, cfg routing.Config) *routing.Router {
	t.Helper()
	r, err := routing.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newState(t testing.TB, r *routing.Router, items map[string]routing.Item, stock ...stockSpec) *routing.State {
	t.Helper()
	st := r.NewState()
	for sku, it := range items {
		if err := st.SetItem(event.SKU(sku), it); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range stock {
		err := st.SetStock(event.SKU(s.sku), event.WarehouseID(s.wh), routing.Stock{Available: s.avail, NextReceiptDays: s.receipt,
			Demand: routing.Demand{Rate: s.rate, RateSD: s.sd}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// model is an independent re-implementation of the cost model, from the
// config and the stock specs only, for checking what the router reports.
type model struct {
	cfg   routing.Config
	stock map[[2]string]stockSpec
	items map[string]routing.Item
}

func newModel(cfg routing.Config, items map[string]routing.Item, stock ...stockSpec) *model {
	m := &model{cfg: cfg, stock: map[[2]string]stockSpec{}, items: items}
	for _, s := range stock {
		m.stock[[2]string{s.sku, s.wh}] = s
	}
	return m
}

// distance by the spherical law of cosines (the router uses haversine).
func distance(a, b point) float64 {
	const rad = math.Pi / 180
	c := math.Sin(a.lat*rad)*math.Sin(b.lat*rad) + math.Cos(a.lat*rad)*math.Cos(b.lat*rad)*math.Cos((b.lon-a.lon)*rad)
	return 6371 * math.Acos(math.Max(-1, math.Min(1, c)))
}

func (m *model) warehouse(id string) routing.Warehouse {
	for _, w := range m.cfg.Warehouses {
		if string(w.ID) == id {
			return w
		}
	}
	panic("unknown warehouse " + id)
}

func (m *model) market(country string) (string, bool) {
	mk := m.cfg.Markets
	if mk == nil {
		mk = routing.DefaultMarkets()
	}
	v, ok := mk[country]
	return v, ok
}

// shipping is the cheapest in-time price of a package of kg from wh to o's
// ship-to point (ok false if no lane arrives in time).
func (m *model) shipping(wh string, o *event.Order, kg float64) (float64, bool) {
	w := m.warehouse(wh)
	km := distance(point{w.Lat, w.Lon}, point{o.ShipTo.Lat, o.ShipTo.Lon})
	days := int(o.PromisedBy.Truncate(24*time.Hour).Sub(o.TS.Truncate(24*time.Hour)) / (24 * time.Hour))
	from, _ := m.market(w.Country)
	to, toOK := m.market(o.ShipTo.Country)
	best, ok := math.Inf(1), false
	for _, c := range m.cfg.Cards {
		if c.From != "*" && c.From != from || c.To != "*" && (!toOK || c.To != to) {
			continue
		}
		for _, b := range c.Bands {
			if km <= b.MaxKm {
				if w.DispatchDays+b.TransitDays <= days {
					best, ok = math.Min(best, b.Base+b.PerKg*kg), true
				}
				break
			}
		}
	}
	return best, ok
}

func (m *model) kg(sku string) float64 {
	if it, ok := m.items[sku]; ok && it.UnitKg > 0 {
		return it.UnitKg
	}
	return m.cfg.UnitKg
}

func (m *model) shortageCost(sku string) float64 {
	if it, ok := m.items[sku]; ok && it.ShortageCost > 0 {
		return it.ShortageCost
	}
	return m.cfg.ShortageCost
}

// expectedShort is E[(D − x)⁺] for the key's demand over its window:
// D normal with mean rate·T and variance T·sd² + 0.1·(T²·sd² − T·sd²),
// T = min(horizon, receipt) whole days.
func (m *model) expectedShort(s stockSpec, x float64) float64 {
	T := m.cfg.HorizonDays
	if s.receipt > 0 {
		T = math.Min(T, s.receipt)
	}
	mu := s.rate * T
	v := T*s.sd*s.sd + 0.1*(T*T*s.sd*s.sd-T*s.sd*s.sd)
	if v <= 0 {
		return math.Max(mu-x, 0)
	}
	sigma := math.Sqrt(v)
	z := (x - mu) / sigma
	return sigma*math.Exp(-z*z/2)/math.Sqrt(2*math.Pi) - (x-mu)*(1-0.5*(1+math.Erf(z/math.Sqrt2)))
}

// opportunity of taking q of sku at wh when taken units were already
// taken there before.
func (m *model) opportunity(sku, wh string, taken, q int64) float64 {
	s := m.stock[[2]string{sku, wh}]
	return m.shortageCost(sku) * (m.expectedShort(s, float64(s.avail-taken-q)) - m.expectedShort(s, float64(s.avail-taken)))
}

// breakdown recomputes a decision's breakdown for order o, given what
// earlier decisions took (taken per (sku, warehouse)); it updates taken.
func (m *model) breakdown(t *testing.T, o *event.Order, d *routing.Decision, taken map[[2]string]int64) routing.Breakdown {
	t.Helper()
	var b routing.Breakdown
	switch d.Status {
	case routing.StatusRejected:
		return b
	case routing.StatusBackordered:
		b.Backorder = m.cfg.BackorderCost
		for _, l := range o.Lines {
			b.Backorder += float64(l.Qty) * m.shortageCost(string(l.SKU))
		}
		return b
	}
	kg := map[string]float64{}
	units := map[string]int64{}
	var whs []string
	for _, a := range d.Assignments {
		w := string(a.Warehouse)
		if _, ok := units[w]; !ok {
			whs = append(whs, w)
		}
		kg[w] += float64(a.Qty) * m.kg(string(a.SKU))
		units[w] += a.Qty
		k := [2]string{string(a.SKU), w}
		b.Opportunity += m.opportunity(string(a.SKU), w, taken[k], a.Qty)
		taken[k] += a.Qty
	}
	for _, w := range whs {
		price, ok := m.shipping(w, o, kg[w])
		if !ok {
			t.Errorf("order %s: %s has no lane in time", o.OrderID, w)
		}
		b.Shipping += price
		h := m.cfg.Handling
		if wh := m.warehouse(w); wh.Handling != nil {
			h = *wh.Handling
		}
		b.Handling += h.PerPackage + h.PerUnit*float64(units[w])
	}
	b.Split = float64(len(whs)-1) * m.cfg.SplitPenalty
	return b
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func nearBreakdown(a, b routing.Breakdown) bool {
	return near(a.Shipping, b.Shipping) && near(a.Handling, b.Handling) && near(a.Split, b.Split) &&
		near(a.Opportunity, b.Opportunity) && near(a.Backorder, b.Backorder)
}

// checkDecision checks the structural facts of one decision for order o:
// the total is the breakdown's sum, the breakdown is the model's, the
// assignments ship every line exactly and their costs add up to the
// total, the packages' costs add up to shipping and handling.
func (m *model) checkDecision(t *testing.T, o *event.Order, d *routing.Decision, taken map[[2]string]int64) {
	t.Helper()
	if d.OrderID != o.OrderID {
		t.Errorf("decision for %q, order %q", d.OrderID, o.OrderID)
	}
	if d.Total != d.Breakdown.Total() {
		t.Errorf("order %s: total %v, breakdown %+v adds up to %v", o.OrderID, d.Total, d.Breakdown, d.Breakdown.Total())
	}
	if want := m.breakdown(t, o, d, taken); !nearBreakdown(d.Breakdown, want) {
		t.Errorf("order %s (%s): breakdown %+v, the model says %+v", o.OrderID, d.Status, d.Breakdown, want)
	}
	switch d.Status {
	case routing.StatusRouted, routing.StatusSplit:
		want := map[event.SKU]int64{}
		for _, l := range o.Lines {
			want[l.SKU] += l.Qty
		}
		var sum float64
		for _, a := range d.Assignments {
			want[a.SKU] -= a.Qty
			sum += a.Cost
		}
		for sku, q := range want {
			if q != 0 {
				t.Errorf("order %s: %s assigned %d units off", o.OrderID, sku, -q)
			}
		}
		if !near(sum, d.Total) {
			t.Errorf("order %s: assignment costs add up to %v, total %v", o.OrderID, sum, d.Total)
		}
		var ship, hand float64
		for _, p := range d.Packages {
			ship += p.Shipping
			hand += p.Handling
		}
		if !near(ship, d.Breakdown.Shipping) || !near(hand, d.Breakdown.Handling) {
			t.Errorf("order %s: packages ship %v handle %v, breakdown %+v", o.OrderID, ship, hand, d.Breakdown)
		}
		if (len(d.Packages) > 1) != (d.Status == routing.StatusSplit) || len(d.Packages) > m.cfg.MaxSplits+1 {
			t.Errorf("order %s: status %s with %d packages", o.OrderID, d.Status, len(d.Packages))
		}
	default:
		if len(d.Assignments) != 0 || len(d.Packages) != 0 {
			t.Errorf("order %s: %s with assignments %v", o.OrderID, d.Status, d.Assignments)
		}
	}
	if len(d.Alternatives) > 3 {
		t.Errorf("order %s: %d alternatives", o.OrderID, len(d.Alternatives))
	}
	for i, a := range d.Alternatives {
		if a.Total != a.Breakdown.Total() && !near(a.Total, a.Breakdown.Total()) {
			t.Errorf("order %s: alternative %d total %v, breakdown %+v", o.OrderID, i, a.Total, a.Breakdown)
		}
		if i > 0 && a.Total < d.Alternatives[i-1].Total {
			t.Errorf("order %s: alternatives not cheapest first: %+v", o.OrderID, d.Alternatives)
		}
	}
}
