package routing_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/pipelines/routing"
)

// instance is a small random routing problem.
type instance struct {
	cfg    routing.Config
	items  map[string]routing.Item
	stock  []stockSpec
	orders []event.Order
}

// randomInstance draws orders of at most maxUnits units over three US
// warehouses and three SKUs, with scarce stock, forecasts, receipts,
// capacities and service levels that restrict the lanes.
func randomInstance(seed uint64, nOrders, maxUnits int) instance {
	rng := rand.New(rand.NewPCG(seed, 7))
	whs := testWarehouses()[:3]
	for i := range whs {
		if rng.Float64() < 0.3 {
			whs[i].OrderCapacity = 1 + rng.Int64N(2)
		}
		if rng.Float64() < 0.2 {
			whs[i].UnitCapacity = 2 + rng.Int64N(3)
		}
	}
	cfg := routing.DefaultConfig(whs)
	if rng.Float64() < 0.5 {
		cfg.Cards = groundOnly()
	}
	cfg.MaxSplits = rng.IntN(3)
	skus := []string{"A", "B", "C"}
	inst := instance{cfg: cfg, items: map[string]routing.Item{}}
	for _, s := range skus {
		inst.items[s] = routing.Item{UnitKg: 0.2 + 5*rng.Float64(), ShortageCost: 1 + 30*rng.Float64()}
		for _, w := range whs {
			sp := stockSpec{sku: s, wh: string(w.ID), avail: rng.Int64N(4), rate: 1.5 * rng.Float64(), sd: rng.Float64()}
			if rng.Float64() < 0.4 {
				sp.receipt = float64(1 + rng.IntN(10))
			}
			inst.stock = append(inst.stock, sp)
		}
	}
	dests := []point{nyc, chicago, la}
	for i := range nOrders {
		d := dests[rng.IntN(len(dests))]
		d.lat += 0.3 * rng.NormFloat64()
		d.lon += 0.3 * rng.NormFloat64()
		days := []int{1, 2, 3, 5}[rng.IntN(4)]
		var lines []event.OrderLine
		units := 1 + rng.IntN(maxUnits)
		perm := rng.Perm(len(skus))
		for j := 0; units > 0 && j < len(perm); j++ {
			q := 1 + rng.IntN(units)
			if j == len(perm)-1 || rng.Float64() < 0.5 {
				q = units
			}
			lines = append(lines, line(skus[perm[j]], int64(q)))
			units -= q
		}
		inst.orders = append(inst.orders, order(fmt.Sprintf("o%d", i), d, "US", days, lines...))
	}
	return inst
}

// bruteOption is one way to handle an order: units per (sku, warehouse),
// or the backorder.
type bruteOption struct {
	qty map[[2]string]int64
	bo  bool
}

// bruteForce returns the least batch cost over every combination of every
// order's every integer assignment, from the model alone.
func bruteForce(m *model, orders []event.Order) float64 {
	var whs []string
	for _, w := range m.cfg.Warehouses {
		whs = append(whs, string(w.ID))
	}
	opts := make([][]bruteOption, len(orders))
	for i := range orders {
		var units []string
		for _, l := range orders[i].Lines {
			for range l.Qty {
				units = append(units, string(l.SKU))
			}
		}
		seen := map[string]bool{}
		opts[i] = append(opts[i], bruteOption{bo: true})
		n := int(math.Pow(float64(len(whs)), float64(len(units))))
		for code := range n {
			q := map[[2]string]int64{}
			c := code
			for _, sku := range units {
				q[[2]string{sku, whs[c%len(whs)]}]++
				c /= len(whs)
			}
			key := fmt.Sprint(q)
			if !seen[key] {
				seen[key] = true
				opts[i] = append(opts[i], bruteOption{qty: q})
			}
		}
	}
	best := math.Inf(1)
	choice := make([]int, len(orders))
	var rec func(i int)
	rec = func(i int) {
		if i == len(orders) {
			if c, ok := m.jointCost(orders, opts, choice); ok && c < best {
				best = c
			}
			return
		}
		for k := range opts[i] {
			choice[i] = k
			rec(i + 1)
		}
	}
	rec(0)
	return best
}

// jointCost prices a combination of options, or reports it infeasible.
func (m *model) jointCost(orders []event.Order, opts [][]bruteOption, choice []int) (float64, bool) {
	var cost float64
	taken := map[[2]string]int64{}
	pkgs := map[string]int64{}
	units := map[string]int64{}
	for i := range orders {
		o := &orders[i]
		op := opts[i][choice[i]]
		if op.bo {
			cost += m.cfg.BackorderCost
			for _, l := range o.Lines {
				cost += float64(l.Qty) * m.shortageCost(string(l.SKU))
			}
			continue
		}
		kg := map[string]float64{}
		u := map[string]int64{}
		for k, q := range op.qty {
			taken[k] += q
			kg[k[1]] += float64(q) * m.kg(k[0])
			u[k[1]] += q
		}
		if len(u) > m.cfg.MaxSplits+1 {
			return 0, false
		}
		for w := range u {
			price, ok := m.shipping(w, o, kg[w])
			if !ok {
				return 0, false
			}
			cost += price + m.cfg.Handling.PerPackage + m.cfg.Handling.PerUnit*float64(u[w])
			pkgs[w]++
			units[w] += u[w]
		}
		cost += float64(len(u)-1) * m.cfg.SplitPenalty
	}
	for _, w := range m.cfg.Warehouses {
		if w.OrderCapacity > 0 && pkgs[string(w.ID)] > w.OrderCapacity || w.UnitCapacity > 0 && units[string(w.ID)] > w.UnitCapacity {
			return 0, false
		}
	}
	for k, q := range taken {
		if q > m.stock[k].avail {
			return 0, false
		}
		cost += m.opportunity(k[0], k[1], 0, q)
	}
	return cost, true
}

// TestRoutingExactMatchesBruteForce: on tiny random instances, Exact's proven
// cost is the brute-force optimum of the independent model, its decisions
// fit and price as the model says, and Batch is never below it.
func TestRoutingExactMatchesBruteForce(t *testing.T) {
	var joint, batchWorse int
	for seed := range uint64(150) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			inst := randomInstance(seed, 2+int(seed%2), 3)
			r := newRouter(t, inst.cfg)
			st := newState(t, r, inst.items, inst.stock...)
			m := newModel(r.Config(), inst.items, inst.stock...)
			want := bruteForce(m, inst.orders)

			ds, stats, err := r.Exact(inst.orders, st, routing.ExactOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !stats.Proven {
				t.Fatalf("not proven after %d nodes", stats.Nodes)
			}
			if math.Abs(stats.Cost-want) > 1e-6 {
				t.Fatalf("exact %v, brute force %v", stats.Cost, want)
			}
			if stats.RootBound > stats.Cost+1e-9 {
				t.Errorf("root bound %v above the optimum %v", stats.RootBound, stats.Cost)
			}
			m.checkAll(t, st, inst.orders, ds)

			bs := r.Batch(inst.orders, st)
			m.checkAll(t, st, inst.orders, bs)
			var bc, sc float64
			for i := range bs {
				bc += bs[i].Total
			}
			if bc < stats.Cost-1e-9 {
				t.Errorf("batch %v below the optimum %v", bc, stats.Cost)
			}
			if bc > stats.Cost+1e-9 {
				batchWorse++
			}
			// Sequential single decisions, for the record.
			seq := st.Clone()
			for i := range inst.orders {
				d := r.Route(&inst.orders[i], seq)
				sc += d.Total
				if err := seq.Apply(&d); err != nil {
					t.Fatal(err)
				}
			}
			if sc > stats.Cost+1e-9 {
				joint++
			}
			if bc > sc+1e-9 {
				t.Errorf("batch %v above sequential decisions %v", bc, sc)
			}

			// Seeded with Batch's decisions, the optimum is the same.
			_, seeded, err := r.Exact(inst.orders, st, routing.ExactOptions{Incumbent: bs})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(seeded.Cost-stats.Cost) > 1e-9 || !seeded.Proven {
				t.Errorf("seeded exact %v (proven %v), unseeded %v", seeded.Cost, seeded.Proven, stats.Cost)
			}
		})
	}
	t.Logf("joint optimisation beat sequential decisions on %d of 150 instances; batch above the optimum on %d", joint, batchWorse)
	if joint == 0 {
		t.Error("no instance where joint optimisation matters: the test proves nothing")
	}
}

// checkAll checks a batch's decisions: each one's breakdown against the
// model with what the earlier ones took, and that they apply in order.
func (m *model) checkAll(t *testing.T, st *routing.State, orders []event.Order, ds []routing.Decision) {
	t.Helper()
	if len(ds) != len(orders) {
		t.Fatalf("%d decisions for %d orders", len(ds), len(orders))
	}
	taken := map[[2]string]int64{}
	cp := st.Clone()
	for i := range ds {
		m.checkDecision(t, &orders[i], &ds[i], taken)
		if err := cp.Apply(&ds[i]); err != nil {
			t.Errorf("order %s: %v", orders[i].OrderID, err)
		}
	}
}

// TestRoutingBatchJoint: instances where deciding orders one at a time leaves
// one waiting (or pays more) and the batch does better.
func TestRoutingBatchJoint(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*routing.Config)
		stock  []stockSpec
		orders []event.Order
		// want is each order's package warehouses ("" for a backorder)
		want []string
	}{
		{name: "the last unit near goes to the order that needs it",
			cfg:   func(c *routing.Config) { c.Cards = groundOnly() },
			stock: []stockSpec{{sku: "X", wh: "E", avail: 1}, {sku: "X", wh: "C", avail: 5}},
			orders: []event.Order{
				order("a", nyc, "US", 5, line("X", 1)),
				order("b", nyc, "US", 2, line("X", 1)), // only E arrives in 2 days by ground
			},
			want: []string{"C", "E"}},
		{name: "capacity goes to the order with no other way",
			cfg: func(c *routing.Config) {
				c.Cards = groundOnly()
				c.Warehouses[0].OrderCapacity = 1
			},
			stock: []stockSpec{{sku: "X", wh: "E", avail: 5}, {sku: "X", wh: "C", avail: 5}, {sku: "Y", wh: "E", avail: 5}},
			orders: []event.Order{
				order("a", nyc, "US", 5, line("X", 1)),
				order("b", nyc, "US", 5, line("Y", 1)), // Y is only at E
			},
			want: []string{"C", "E"}},
		{name: "a split frees the unit another order needs",
			cfg: func(c *routing.Config) { c.Cards = groundOnly() },
			stock: []stockSpec{{sku: "X", wh: "E", avail: 1}, {sku: "X", wh: "C", avail: 3},
				{sku: "Y", wh: "E", avail: 3}},
			orders: []event.Order{
				order("a", nyc, "US", 5, line("X", 1), line("Y", 1)),
				order("b", nyc, "US", 2, line("X", 1)),
			},
			want: []string{"E+C", "E"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := routing.DefaultConfig(testWarehouses())
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			r := newRouter(t, cfg)
			st := newState(t, r, nil, tt.stock...)
			m := newModel(r.Config(), nil, tt.stock...)

			seq := st.Clone()
			var single float64
			for i := range tt.orders {
				d := r.Route(&tt.orders[i], seq)
				single += d.Total
				if err := seq.Apply(&d); err != nil {
					t.Fatal(err)
				}
			}
			ds := r.Batch(tt.orders, st)
			m.checkAll(t, st, tt.orders, ds)
			var batch float64
			for i, d := range ds {
				batch += d.Total
				got := ""
				for j, p := range d.Packages {
					if j > 0 {
						got += "+"
					}
					got += string(p.Warehouse)
				}
				if got != tt.want[i] {
					t.Errorf("order %s from %q, want %q (%+v)", d.OrderID, got, tt.want[i], d)
				}
			}
			if !(batch < single-1) {
				t.Errorf("batch costs %v, one at a time %v: want the batch cheaper", batch, single)
			}
			_, stats, err := r.Exact(tt.orders, st, routing.ExactOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(stats.Cost-batch) > 1e-9 {
				t.Errorf("batch %v, exact %v", batch, stats.Cost)
			}
		})
	}
}

func TestRoutingExactTooLarge(t *testing.T) {
	r := newRouter(t, routing.DefaultConfig(testWarehouses()))
	st := newState(t, r, nil, stockSpec{sku: "A", wh: "E", avail: 50}, stockSpec{sku: "A", wh: "C", avail: 50}, stockSpec{sku: "A", wh: "W", avail: 50})
	o := []event.Order{order("big", nyc, "US", 5, line("A", 40))}
	_, _, err := r.Exact(o, st, routing.ExactOptions{MaxPlans: 100})
	var tl *routing.ErrTooLarge
	if !errors.As(err, &tl) || tl.OrderID != "big" {
		t.Fatalf("err %v, want ErrTooLarge for order big", err)
	}
}
