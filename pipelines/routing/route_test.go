package routing_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/pipelines/routing"
)

var tokyo = point{35.6762, 139.6503}

func groundOnly() []routing.RateCard {
	var out []routing.RateCard
	for _, c := range routing.DefaultCards() {
		if c.Service == "ground" {
			out = append(out, c)
		}
	}
	return out
}

func TestRoute(t *testing.T) {
	type want struct {
		status routing.Status
		reason routing.Reason
		whs    []string // package warehouses, in order
	}
	tests := []struct {
		name   string
		cfg    func(*routing.Config)
		items  map[string]routing.Item
		stock  []stockSpec
		usage  map[string][2]int64
		order  event.Order
		want   want
		nAlts  int
		altWHs []string // the first alternative's warehouses
	}{
		{name: "nearest with stock",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "A", wh: "C", avail: 5}, {sku: "A", wh: "W", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"E"}}, nAlts: 3, altWHs: []string{"C"}},
		{name: "nearest out of stock",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 0}, {sku: "A", wh: "C", avail: 5}, {sku: "A", wh: "W", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 2)),
			want:  want{status: routing.StatusRouted, whs: []string{"C"}}, nAlts: 2, altWHs: []string{"W"}},
		{name: "split when no warehouse has every line",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "B", wh: "C", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 1), line("B", 1)),
			want:  want{status: routing.StatusSplit, whs: []string{"E", "C"}}, nAlts: 1},
		{name: "split of one line over two warehouses",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 2}, {sku: "A", wh: "C", avail: 2}},
			order: order("o1", nyc, "US", 5, line("A", 3)),
			want:  want{status: routing.StatusSplit, whs: []string{"E", "C"}}, nAlts: 1},
		{name: "max splits",
			cfg:   func(c *routing.Config) { c.MaxSplits = 0 },
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "B", wh: "C", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 1), line("B", 1)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonMaxSplits}},
		{name: "three packages at most",
			cfg:   func(c *routing.Config) { c.MaxSplits = 1 },
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "B", wh: "C", avail: 5}, {sku: "C", wh: "W", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 1), line("B", 1), line("C", 1)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonMaxSplits}},
		{name: "no stock",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 1}, {sku: "A", wh: "C", avail: 1}},
			order: order("o1", nyc, "US", 5, line("A", 3)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonNoStock}},
		{name: "unknown sku waits for stock",
			order: order("o1", nyc, "US", 5, line("NEW", 1)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonNoStock}},
		{name: "nothing arrives in time",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}},
			order: order("o1", nyc, "US", 0, line("A", 1)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonNotInTime}},
		{name: "express by ground when near",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "A", wh: "W", avail: 5}},
			order: order("o1", nyc, "US", 2, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"E"}}, nAlts: 2},
		{name: "express by air from the far coast",
			stock: []stockSpec{{sku: "A", wh: "W", avail: 5}},
			order: order("o1", nyc, "US", 2, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"W"}}, nAlts: 1},
		{name: "express too far by ground",
			cfg:   func(c *routing.Config) { c.Cards = groundOnly() },
			stock: []stockSpec{{sku: "A", wh: "W", avail: 5}},
			order: order("o1", nyc, "US", 2, line("A", 1)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonNoStock}},
		{name: "no cross-continent lane",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}},
			order: order("o1", paris, "FR", 5, line("A", 1)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonNoStock}},
		{name: "cross-continent card",
			cfg: func(c *routing.Config) {
				c.Cards = append(c.Cards, routing.RateCard{Service: "intl", From: "*", To: "*",
					Bands: []routing.Band{{MaxKm: 20000, TransitDays: 4, Base: 45, PerKg: 9}}})
			},
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}},
			order: order("o1", paris, "FR", 5, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"E"}}, nAlts: 1},
		{name: "no lane at all",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}},
			order: order("o1", tokyo, "JP", 5, line("A", 1)),
			want:  want{status: routing.StatusRejected, reason: routing.ReasonNoLane}},
		{name: "invalid quantity",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 0)),
			want:  want{status: routing.StatusRejected, reason: routing.ReasonInvalidOrder}},
		{name: "no lines",
			order: order("o1", nyc, "US", 5),
			want:  want{status: routing.StatusRejected, reason: routing.ReasonInvalidOrder}},
		{name: "too many lines",
			cfg:   func(c *routing.Config) { c.MaxLines = 1 },
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "B", wh: "E", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 1), line("B", 1)),
			want:  want{status: routing.StatusRejected, reason: routing.ReasonTooManyLines}},
		{name: "duplicate lines merge",
			stock: []stockSpec{{sku: "A", wh: "E", avail: 3}, {sku: "A", wh: "C", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 2), line("A", 2)),
			want:  want{status: routing.StatusRouted, whs: []string{"C"}}, nAlts: 2, altWHs: []string{"E", "C"}},
		{name: "order capacity full",
			cfg:   func(c *routing.Config) { c.Warehouses[0].OrderCapacity = 10 },
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "A", wh: "C", avail: 5}},
			usage: map[string][2]int64{"E": {10, 10}},
			order: order("o1", nyc, "US", 5, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"C"}}, nAlts: 1},
		{name: "unit capacity nearly full",
			cfg:   func(c *routing.Config) { c.Warehouses[0].UnitCapacity = 10 },
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "A", wh: "C", avail: 5}},
			usage: map[string][2]int64{"E": {3, 9}},
			order: order("o1", nyc, "US", 5, line("A", 2)),
			want:  want{status: routing.StatusRouted, whs: []string{"C"}}, nAlts: 2},
		{name: "no capacity",
			cfg:   func(c *routing.Config) { c.Warehouses[0].OrderCapacity = 1 },
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}},
			usage: map[string][2]int64{"E": {1, 1}},
			order: order("o1", nyc, "US", 5, line("A", 1)),
			want:  want{status: routing.StatusBackordered, reason: routing.ReasonNoCapacity}},
		{name: "opportunity cost picks a dearer warehouse",
			items: map[string]routing.Item{"A": {ShortageCost: 20}},
			stock: []stockSpec{{sku: "A", wh: "E", avail: 3, rate: 1, sd: 0.5}, {sku: "A", wh: "C", avail: 200, rate: 1, sd: 0.5}},
			order: order("o1", nyc, "US", 5, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"C"}}, nAlts: 2, altWHs: []string{"E"}},
		{name: "a receipt tomorrow makes the near stock cheap again",
			items: map[string]routing.Item{"A": {ShortageCost: 20}},
			stock: []stockSpec{{sku: "A", wh: "E", avail: 3, rate: 1, sd: 0.5, receipt: 1}, {sku: "A", wh: "C", avail: 200, rate: 1, sd: 0.5}},
			order: order("o1", nyc, "US", 5, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"E"}}, nAlts: 2, altWHs: []string{"C"}},
		{name: "cheap items go to the nearest even when it runs short",
			items: map[string]routing.Item{"A": {ShortageCost: 0.5}},
			stock: []stockSpec{{sku: "A", wh: "E", avail: 3, rate: 1, sd: 0.5}, {sku: "A", wh: "C", avail: 200, rate: 1, sd: 0.5}},
			order: order("o1", nyc, "US", 5, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"E"}}, nAlts: 2},
		{name: "heavy items",
			items: map[string]routing.Item{"A": {UnitKg: 20}},
			stock: []stockSpec{{sku: "A", wh: "C", avail: 5}, {sku: "A", wh: "W", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 2)),
			want:  want{status: routing.StatusRouted, whs: []string{"C"}}, nAlts: 2},
		{name: "own handling",
			cfg: func(c *routing.Config) {
				c.Warehouses[0].Handling = &routing.Handling{PerPackage: 30, PerUnit: 1}
			},
			stock: []stockSpec{{sku: "A", wh: "E", avail: 5}, {sku: "A", wh: "C", avail: 5}},
			order: order("o1", nyc, "US", 5, line("A", 1)),
			want:  want{status: routing.StatusRouted, whs: []string{"C"}}, nAlts: 2, altWHs: []string{"E"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := routing.DefaultConfig(testWarehouses())
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			r := newRouter(t, cfg)
			st := newState(t, r, tt.items, tt.stock...)
			for wh, u := range tt.usage {
				if err := st.SetUsage(event.WarehouseID(wh), u[0], u[1]); err != nil {
					t.Fatal(err)
				}
			}
			before := st.Clone()
			d := r.Route(&tt.order, st)
			if d.Status != tt.want.status || d.Reason != tt.want.reason {
				t.Fatalf("status %s (%s), want %s (%s); decision %+v", d.Status, d.Reason, tt.want.status, tt.want.reason, d)
			}
			var whs []string
			for _, p := range d.Packages {
				whs = append(whs, string(p.Warehouse))
			}
			if !slices.Equal(whs, tt.want.whs) {
				t.Errorf("packages from %v, want %v; alternatives %+v", whs, tt.want.whs, d.Alternatives)
			}
			if tt.want.status == routing.StatusRouted || tt.want.status == routing.StatusSplit {
				if len(d.Alternatives) != tt.nAlts {
					t.Errorf("%d alternatives, want %d: %+v", len(d.Alternatives), tt.nAlts, d.Alternatives)
				}
				for _, a := range d.Alternatives {
					if a.Total < d.Total {
						t.Errorf("alternative %+v cheaper than the decision (%v)", a, d.Total)
					}
				}
			}
			if tt.altWHs != nil {
				var got []string
				for _, w := range d.Alternatives[0].Warehouses {
					got = append(got, string(w))
				}
				if !slices.Equal(got, tt.altWHs) {
					t.Errorf("first alternative from %v, want %v", got, tt.altWHs)
				}
			}
			m := newModel(r.Config(), tt.items, tt.stock...)
			m.checkDecision(t, &tt.order, &d, map[[2]string]int64{})
			for _, s := range tt.stock {
				if got := st.Available(event.SKU(s.sku), event.WarehouseID(s.wh)); got != before.Available(event.SKU(s.sku), event.WarehouseID(s.wh)) {
					t.Errorf("Route changed the stock of %s at %s", s.sku, s.wh)
				}
			}
			// Price of the same assignments gives the same decision.
			if d.Status == routing.StatusRouted || d.Status == routing.StatusSplit {
				p, err := r.Price(&tt.order, st, d.Assignments)
				if err != nil {
					t.Fatal(err)
				}
				if p.Total != d.Total || p.Breakdown != d.Breakdown {
					t.Errorf("Price %v %+v, Route %v %+v", p.Total, p.Breakdown, d.Total, d.Breakdown)
				}
			}
		})
	}
}

// TestRoutingBreakdownAddsUp checks, on many random orders and stock, that every
// decision's total is its breakdown's sum and that the breakdown is what
// an independent implementation of the cost model computes; and that the
// stockflow.routing.v1 record of the decision adds up too: its
// assignments' shipping, handling and opportunity are the breakdown's,
// and its total is the decision's.
func TestRoutingBreakdownAddsUp(t *testing.T) {
	for seed := range uint64(40) {
		inst := randomInstance(seed, 6, 3)
		r := newRouter(t, inst.cfg)
		st := newState(t, r, inst.items, inst.stock...)
		m := newModel(r.Config(), inst.items, inst.stock...)
		taken := map[[2]string]int64{}
		for i := range inst.orders {
			o := &inst.orders[i]
			d := r.Route(o, st)
			m.checkDecision(t, o, &d, taken)
			rec := routing.Record(&d, o, 1, true, o.TS, "", r.Region(o), 0)
			if err := rec.CheckTotal(1e-9); err != nil {
				t.Errorf("seed %d: %v", seed, err)
			}
			if !near(rec.Breakdown.Total, d.Total) || len(rec.Assignments) != len(d.Assignments) {
				t.Errorf("seed %d order %s: record total %v with %d assignments, decision %v with %d",
					seed, o.OrderID, rec.Breakdown.Total, len(rec.Assignments), d.Total, len(d.Assignments))
			}
			if err := st.Apply(&d); err != nil {
				t.Fatalf("seed %d order %s: %v", seed, o.OrderID, err)
			}
		}
	}
}

// TestRoutingApplyNoOversell routes orders competing for the last units one by
// one, reserving each: available stock never goes below zero, every order
// gets one decision, and a decision taken on stale stock is refused.
func TestRoutingApplyNoOversell(t *testing.T) {
	r := newRouter(t, routing.DefaultConfig(testWarehouses()))
	st := newState(t, r, nil, stockSpec{sku: "A", wh: "E", avail: 3}, stockSpec{sku: "A", wh: "C", avail: 2})
	stale := st.Clone()
	var shipped int64
	for i := range 10 {
		o := order("o"+string(rune('0'+i)), nyc, "US", 5, line("A", 1))
		d := r.Route(&o, st)
		if err := st.Apply(&d); err != nil {
			t.Fatal(err)
		}
		for _, a := range d.Assignments {
			shipped += a.Qty
		}
		for _, wh := range []event.WarehouseID{"E", "C"} {
			if st.Available("A", wh) < 0 {
				t.Fatalf("available at %s below zero", wh)
			}
		}
		if i >= 5 && d.Status != routing.StatusBackordered {
			t.Errorf("order %d: %s after the stock ran out", i, d.Status)
		}
	}
	if shipped != 5 {
		t.Errorf("%d units shipped, want the 5 there were", shipped)
	}
	// A decision made on the stale state takes what is gone.
	o := order("late", nyc, "US", 5, line("A", 1))
	d := r.Route(&o, stale)
	var over *routing.ErrOversell
	if err := st.Apply(&d); !errors.As(err, &over) {
		t.Fatalf("apply of a stale decision: %v, want ErrOversell", err)
	}
	if err := stale.Apply(&d); err != nil {
		t.Fatal(err)
	}
	if err := stale.Release(&d); err != nil {
		t.Fatal(err)
	}
	if got := stale.Available("A", d.Assignments[0].Warehouse); got != 3 && got != 2 {
		t.Errorf("release left %d", got)
	}
}

func TestRoutingConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*routing.Config)
		ok   bool
	}{
		{"default", func(*routing.Config) {}, true},
		{"no warehouses", func(c *routing.Config) { c.Warehouses = nil }, false},
		{"duplicate warehouse", func(c *routing.Config) { c.Warehouses[1].ID = c.Warehouses[0].ID }, false},
		{"bad latitude", func(c *routing.Config) { c.Warehouses[0].Lat = 91 }, false},
		{"bands not ascending", func(c *routing.Config) { c.Cards[0].Bands[1].MaxKm = 100 }, false},
		{"negative price", func(c *routing.Config) { c.Cards[0].Bands[0].Base = -1 }, false},
		{"zero horizon", func(c *routing.Config) { c.HorizonDays = 0 }, false},
		{"negative splits", func(c *routing.Config) { c.MaxSplits = -1 }, false},
		{"no batch window", func(c *routing.Config) { c.Batch.WindowMs = 0 }, false},
		{"no card", func(c *routing.Config) { c.Cards = nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := routing.DefaultConfig(testWarehouses())
			tt.edit(&cfg)
			if err := cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
