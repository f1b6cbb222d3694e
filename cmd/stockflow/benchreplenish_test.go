package main

import (
	"slices"
	"testing"

	"github.com/stockflow/stockflow/pipelines/forecast"
)

// TestBenchReplenish runs the closed loop small and checks what could go
// wrong in it: every policy is run on the same demand, places orders,
// keeps at most one open order per key (DESIGN §3 invariant 5, as the
// streaming processor does) and conserves stock per key.
func TestBenchReplenish(t *testing.T) {
	ms, err := forecast.ParseModelSet(forecast.SetFast)
	if err != nil {
		t.Fatal(err)
	}
	cfg := replenishConfig{Seed: 3, SKUs: 40, Warehouses: 3, Days: 30, Warmup: 28, Retrain: 7, Models: ms, Workers: 2}
	out, err := runReplenishBench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := out.result
	names := make([]string, len(res.Policies))
	for i, p := range res.Policies {
		names[i] = p.Policy
	}
	if want := []string{policyStockflow, policyStaticMinMax, policyReorderLevel}; !slices.Equal(names, want) {
		t.Fatalf("policies %v, want %v", names, want)
	}
	if res.Keys != 120 || len(out.loops) != 3 {
		t.Fatalf("%d keys, %d loops; want 120 keys and three loops", res.Keys, len(out.loops))
	}
	for i, p := range res.Policies {
		l := out.loops[i]
		t.Run(p.Policy, func(t *testing.T) {
			if p.FillRate < 0 || p.FillRate > 1 || p.CycleService < 0 || p.CycleService > 1 {
				t.Errorf("fill rate %v, cycle service %v: want both in [0, 1]", p.FillRate, p.CycleService)
			}
			if p.Orders <= 0 || p.DemandUnits <= 0 || p.AvgOnHandValue <= 0 {
				t.Errorf("%d orders, %d units demanded, value %v: want all positive", p.Orders, p.DemandUnits, p.AvgOnHandValue)
			}
			if p.DemandUnits != res.Policies[0].DemandUnits {
				t.Errorf("%d units demanded, stockflow saw %d: want the same demand", p.DemandUnits, res.Policies[0].DemandUnits)
			}
			if l.violations != 0 {
				t.Errorf("%d orders attempted while one was open", l.violations)
			}
			var orders int64
			var out, in, transit int64
			for k := range l.w.nK {
				spans := l.spans[k]
				orders += int64(len(spans))
				for j := 1; j < len(spans); j++ {
					if spans[j].placed < spans[j-1].due {
						t.Errorf("key %d: order placed on day %d while the one of day %d was open until %d", k, spans[j].placed, spans[j-1].placed, spans[j-1].due)
					}
				}
				for _, s := range spans {
					if lead := s.due - s.placed; lead < benchLeadMin || lead > benchLeadMax {
						t.Errorf("key %d: lead time %d days", k, lead)
					}
				}
				if got := l.initial[k] + l.received[k] - l.served[k] - l.xferOut[k] + l.xferIn[k]; got != l.onHand[k] {
					t.Errorf("key %d: initial %d + received %d − served %d − out %d + in %d = %d, on hand %d",
						k, l.initial[k], l.received[k], l.served[k], l.xferOut[k], l.xferIn[k], got, l.onHand[k])
				}
				if l.onHand[k] < 0 {
					t.Errorf("key %d: on hand %d", k, l.onHand[k])
				}
				out += l.xferOut[k]
				in += l.xferIn[k]
				transit += l.transit[k]
			}
			if orders != p.Orders {
				t.Errorf("%d orders logged, %d reported", orders, p.Orders)
			}
			if out != in+transit || out != p.TransferUnits {
				t.Errorf("transfers: %d out, %d in + %d in transit, %d reported", out, in, transit, p.TransferUnits)
			}
			if p.Policy != policyStockflow && p.Transfers != 0 {
				t.Errorf("baseline %s made %d transfers", p.Policy, p.Transfers)
			}
		})
	}

	again, err := runReplenishBench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range again.result.Policies {
		p.Seconds = res.Policies[i].Seconds
		if p != res.Policies[i] {
			t.Errorf("second run %+v\nfirst run  %+v: want the same", p, res.Policies[i])
		}
	}
}

// TestBenchReplenishLeadDays: the n-th order of a key has the same lead
// time whoever asks, within the simulator's bounds.
func TestBenchReplenishLeadDays(t *testing.T) {
	w, err := newReplenishWorld(replenishConfig{Seed: 1, SKUs: 10, Warehouses: 2, Days: 10, Warmup: 28, Retrain: 7})
	if err != nil {
		t.Fatal(err)
	}
	for k := range w.nK {
		var sum float64
		for n := range 200 {
			d := w.leadDays(k, n)
			if d != w.leadDays(k, n) || d < benchLeadMin || d > benchLeadMax {
				t.Fatalf("key %d order %d: lead %d (again %d)", k, n, d, w.leadDays(k, n))
			}
			sum += float64(d)
		}
		if mean := sum / 200; mean < w.leadMean[k]-1.5 || mean > w.leadMean[k]+1.5 {
			t.Errorf("key %d: mean lead %v, simulator's %v", k, mean, w.leadMean[k])
		}
	}
}

func TestBenchReplenishGoal(t *testing.T) {
	tests := []struct {
		name     string
		policies []policyResult
		want     replenishGoal
	}{
		{"met", []policyResult{{FillRate: 0.98, AvgOnHandValue: 70}, {Policy: "a", FillRate: 0.9, AvgOnHandValue: 50}, {Policy: "b", FillRate: 0.97, AvgOnHandValue: 100}},
			replenishGoal{BestBaseline: "b", FillRateGap: 0.98 - 0.97, ValueReduction: 0.3, Met: true}},
		{"fill rate short", []policyResult{{FillRate: 0.96, AvgOnHandValue: 50}, {Policy: "a", FillRate: 0.97, AvgOnHandValue: 100}, {Policy: "b", FillRate: 0.9, AvgOnHandValue: 100}},
			replenishGoal{BestBaseline: "a", FillRateGap: 0.96 - 0.97, ValueReduction: 0.5}},
		{"too little saved", []policyResult{{FillRate: 0.99, AvgOnHandValue: 90}, {Policy: "a", FillRate: 0.97, AvgOnHandValue: 100}, {Policy: "b", FillRate: 0.9, AvgOnHandValue: 10}},
			replenishGoal{BestBaseline: "a", FillRateGap: 0.99 - 0.97, ValueReduction: 1 - 0.9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := goalOf(tt.policies)
			if got.BestBaseline != tt.want.BestBaseline || got.Met != tt.want.Met ||
				!closeTo(got.FillRateGap, tt.want.FillRateGap) || !closeTo(got.ValueReduction, tt.want.ValueReduction) {
				t.Errorf("goal %+v, want %+v", got, tt.want)
			}
		})
	}
}

func closeTo(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }
