package main

import (
	"math"
	"slices"
	"testing"

	"github.com/stockflow/stockflow/pipelines/routing"
)

// TestBenchRouting runs the routing bench small and checks what could go
// wrong in it: every policy gives every order exactly one decision, no
// reservation takes more than is available nor more than a warehouse's
// capacity, every decision's breakdown adds up to its total, the exact
// optimum of each batch is proven and never above stockflow's batch
// cost, and a second run decides the same.
func TestBenchRouting(t *testing.T) {
	cfg := routingConfig{Orders: 400, Seed: 2, SKUs: 60, Warehouses: 10, Rate: 5000, WindowMs: 2000, MaxBatch: 8,
		Warmup: 28, Capacity: 1.0, ExactNodes: 2_000_000}
	out, err := runRoutingBench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := out.result
	var names []string
	for _, p := range res.Policies {
		names = append(names, p.Policy)
	}
	if want := []string{routPolicyBatch, routPolicySingle, routPolicyNearest, routPolicyExact}; !slices.Equal(names, want) {
		t.Fatalf("policies %v, want %v", names, want)
	}
	w := out.world
	if len(w.orders) != cfg.Orders || res.Batches == 0 {
		t.Fatalf("%d orders in %d batches", len(w.orders), res.Batches)
	}
	var batched int
	for _, b := range w.batches {
		batched += len(b.idx)
		if len(b.idx) > cfg.MaxBatch {
			t.Errorf("batch of %d orders, at most %d", len(b.idx), cfg.MaxBatch)
		}
	}
	if batched != cfg.Orders {
		t.Errorf("%d orders in batches, want %d", batched, cfg.Orders)
	}
	for pi, run := range out.runs {
		p := res.Policies[pi]
		t.Run(p.Policy, func(t *testing.T) {
			for i, n := range run.decided {
				if n != 1 {
					t.Errorf("order %s: %d decisions", w.orders[i].OrderID, n)
				}
				if d := run.decisions[i]; d.OrderID != w.orders[i].OrderID {
					t.Errorf("order %s got the decision of %s", w.orders[i].OrderID, d.OrderID)
				}
			}
			if run.minAvail < 0 {
				t.Errorf("available stock went down to %d", run.minAvail)
			}
			for _, it := range w.items {
				for _, wh := range w.whs {
					if a := run.state.Available(it.SKU, wh.ID); a < 0 {
						t.Errorf("%s at %s: %d available", it.SKU, wh.ID, a)
					}
				}
			}
			for _, wh := range w.router.Config().Warehouses {
				n, u := run.state.Usage(wh.ID)
				if n > wh.OrderCapacity || u > wh.UnitCapacity {
					t.Errorf("%s shipped %d packages and %d units, capacity %d and %d", wh.ID, n, u, wh.OrderCapacity, wh.UnitCapacity)
				}
			}
			var shipped int
			for i := range run.decisions {
				d := &run.decisions[i]
				if d.Total != d.Breakdown.Total() {
					t.Errorf("order %s: total %v, breakdown %+v", d.OrderID, d.Total, d.Breakdown)
				}
				var ship, hand, asg float64
				for _, pk := range d.Packages {
					ship += pk.Shipping
					hand += pk.Handling
				}
				for _, a := range d.Assignments {
					asg += a.Cost
				}
				if len(d.Assignments) > 0 && (math.Abs(ship-d.Breakdown.Shipping) > 1e-9 ||
					math.Abs(hand-d.Breakdown.Handling) > 1e-9 || math.Abs(asg-d.Total) > 1e-6) {
					t.Errorf("order %s: packages %v + %v, assignments %v, breakdown %+v", d.OrderID, ship, hand, asg, d.Breakdown)
				}
				if d.Status == routing.StatusRouted || d.Status == routing.StatusSplit {
					shipped++
				}
			}
			statuses := p.Routed + p.Split + p.Backordered + p.Rejected
			if statuses != cfg.Orders || shipped == 0 {
				t.Errorf("%d statuses for %d orders, %d shipped", statuses, cfg.Orders, shipped)
			}
			if p.StockoutsCaused14d < 0 || p.LostUnitsCaused14d < 0 {
				t.Errorf("taking stock prevented stockouts: %d pairs, %d units", p.StockoutsCaused14d, p.LostUnitsCaused14d)
			}
			if !(p.P50Ms > 0 && p.P99Ms >= p.P50Ms && p.DecisionsPerS > 0) {
				t.Errorf("latencies p50 %v p99 %v, %v decisions/s", p.P50Ms, p.P99Ms, p.DecisionsPerS)
			}
		})
	}
	ex := res.Exact
	if ex.Batches != res.Batches || ex.Proven != ex.Batches || out.exactAbove != 0 {
		t.Errorf("exact: %d of %d batches solved, %d proven, %d above stockflow's cost", ex.Batches, res.Batches, ex.Proven, out.exactAbove)
	}
	if ex.ExactCost > ex.StockflowCost+1e-6 || res.GapToOptimal < -1e-9 {
		t.Errorf("exact %v above stockflow %v (gap %v)", ex.ExactCost, ex.StockflowCost, res.GapToOptimal)
	}

	again, err := runRoutingBench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range again.result.Policies {
		q := res.Policies[i]
		if p.TotalCost != q.TotalCost || p.StockoutsCaused14d != q.StockoutsCaused14d || p.Backordered != q.Backordered {
			t.Errorf("%s: second run total %v, %d stockouts, %d backorders; first %v, %d, %d", p.Policy,
				p.TotalCost, p.StockoutsCaused14d, p.Backordered, q.TotalCost, q.StockoutsCaused14d, q.Backordered)
		}
	}
}
