package replenish

import (
	"math"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
)

func TestCompute(t *testing.T) {
	alpha := func(a float64) Rule {
		return Rule{Policy: PolicySS, Target: TargetCycleService, Service: a, CycleDays: 7, Mode: ModeAuto}
	}
	beta := func(b, cycle float64) Rule {
		return Rule{Policy: PolicySS, Target: TargetFillRate, Service: b, CycleDays: cycle, Mode: ModeAuto}
	}
	rs := func(review int) Rule {
		return Rule{Policy: PolicyRS, Target: TargetCycleService, Service: 0.95, ReviewDays: review, Mode: ModeAuto}
	}
	eoq := func(a float64) Rule { r := alpha(a); r.CycleDays = 0; return r }
	days := func(means ...float64) []event.ForecastDay {
		out := make([]event.ForecastDay, len(means))
		for i, m := range means {
			out[i] = event.ForecastDay{Horizon: i + 1, Mean: m, P50: m}
		}
		return out
	}
	item := Item{SKU: "SKU-1", UnitCost: 10, CasePack: 1}
	costs := Costs{OrderCost: 50, HoldingRate: 0.25}
	lead := func(mean, sd float64) LeadTime { return LeadTime{MeanDays: mean, SDDays: sd, Observations: 4} }
	// independent daily sd's 2 over 4 days, correlated as errorCorrelation says
	corr4x2 := math.Sqrt(16 + errorCorrelation*(64-16))

	tests := []struct {
		name  string
		rule  Rule
		item  Item
		costs Costs
		d     Demand
		lead  LeadTime
		want  Params
		check func(t *testing.T, p Params)
	}{
		{
			name: "sS on a rate without uncertainty", rule: alpha(0.95), item: item, costs: costs,
			d: Demand{Rate: 10}, lead: lead(5, 0),
			want: Params{ReorderPoint: 50, OrderUpTo: 120, OrderQty: 70, LeadDemand: 50, DailyDemand: 10, ProtectionDays: 5, Lead: lead(5, 0)},
		},
		{
			name: "forecast days, then the rate, the last day fractional", rule: alpha(0.95), item: item, costs: costs,
			d: Demand{Days: days(10, 20, 30), Rate: 1}, lead: lead(3.5, 0),
			want: Params{ReorderPoint: 60.5, OrderUpTo: 60.5 + 121, OrderQty: 121, LeadDemand: 60.5, DailyDemand: 60.5 / 3.5, ProtectionDays: 3.5, Lead: lead(3.5, 0)},
		},
		{
			name: "beyond the forecast at the rate", rule: alpha(0.95), item: item, costs: costs,
			d: Demand{Days: days(5, 5), Rate: 1}, lead: lead(4, 0),
			check: func(t *testing.T, p Params) {
				if p.LeadDemand != 12 {
					t.Errorf("lead demand %v, want 5+5+1+1", p.LeadDemand)
				}
			},
		},
		{
			name: "cycle service: z times the correlated daily spread", rule: alpha(0.95), item: item, costs: costs,
			d: Demand{Rate: 10, RateSD: 2}, lead: lead(4, 0),
			check: func(t *testing.T, p Params) {
				if !near(p.LeadDemandSD, corr4x2, 1e-9) || !near(p.SafetyStock, 1.6448536*corr4x2, 1e-6) {
					t.Errorf("sd %v, safety stock %v; want %v, %v", p.LeadDemandSD, p.SafetyStock, corr4x2, 1.6448536*corr4x2)
				}
			},
		},
		{
			name: "forecast quantiles give the daily spread", rule: alpha(0.95), item: item, costs: costs,
			d: Demand{Days: []event.ForecastDay{
				{Mean: 10, P05: 10 - 2*z95, P95: 10 + 2*z95}, {Mean: 10, P05: 10 - 2*z95, P95: 10 + 2*z95},
				{Mean: 10, P50: 10, P90: 10 + 2*z90}, {Mean: 10},
			}, RateSD: 2}, lead: lead(4, 0),
			check: func(t *testing.T, p Params) {
				if !near(p.LeadDemandSD, corr4x2, 1e-9) {
					t.Errorf("sd %v, want %v", p.LeadDemandSD, corr4x2)
				}
			},
		},
		{
			name: "lead-time variability", rule: alpha(0.9), item: item, costs: costs,
			d: Demand{Rate: 10}, lead: lead(5, 2),
			check: func(t *testing.T, p Params) {
				if !near(p.LeadDemandSD, 20, 1e-9) || !near(p.SafetyStock, 1.2815516*20, 1e-5) {
					t.Errorf("sd %v, safety stock %v; want 20, %v", p.LeadDemandSD, p.SafetyStock, 1.2815516*20)
				}
			},
		},
		{
			name: "fill rate: expected shortage per cycle is (1-β)Q", rule: beta(0.98, 10), item: item, costs: costs,
			d: Demand{Rate: 10, RateSD: 3}, lead: lead(9, 1),
			check: func(t *testing.T, p Params) {
				if p.OrderQty != 100 || p.SafetyStock <= 0 {
					t.Fatalf("Q %v, safety stock %v; want 100 and positive", p.OrderQty, p.SafetyStock)
				}
				if short := p.LeadDemandSD * NormLoss(p.SafetyStock/p.LeadDemandSD); !near(short, 2, 1e-6) {
					t.Errorf("expected shortage per cycle %v, want 2", short)
				}
			},
		},
		{
			name: "fill rate: a long cycle needs no safety stock", rule: beta(0.9, 90), item: item, costs: costs,
			d: Demand{Rate: 10, RateSD: 1}, lead: lead(1, 0),
			check: func(t *testing.T, p Params) {
				if p.SafetyStock != 0 || p.ReorderPoint != 10 {
					t.Errorf("safety stock %v, s %v; want 0, 10", p.SafetyStock, p.ReorderPoint)
				}
			},
		},
		{
			name: "economic order quantity", rule: eoq(0.95), item: item, costs: costs,
			d: Demand{Rate: 10}, lead: lead(2, 0),
			check: func(t *testing.T, p Params) {
				if want := math.Sqrt(2 * 50 * 3650 / 2.5); !near(p.OrderQty, want, 1e-9) {
					t.Errorf("Q %v, want %v", p.OrderQty, want)
				}
			},
		},
		{
			name: "economic order quantity at least a day", rule: eoq(0.95), item: item, costs: Costs{OrderCost: 1e-6, HoldingRate: 0.25},
			d: Demand{Rate: 10}, lead: lead(0.5, 0),
			check: func(t *testing.T, p Params) {
				if p.OrderQty != 10 {
					t.Errorf("Q %v, want a day's 10", p.OrderQty)
				}
			},
		},
		{
			name: "economic order quantity at most 90 days", rule: eoq(0.95), item: item, costs: Costs{OrderCost: 50},
			d: Demand{Rate: 10}, lead: lead(2, 0),
			check: func(t *testing.T, p Params) {
				if p.OrderQty != 900 {
					t.Errorf("Q %v, want 90 days' 900 (free holding)", p.OrderQty)
				}
			},
		},
		{
			name: "one open order: Q covers the lead time", rule: beta(0.95, 2), item: item, costs: costs,
			d: Demand{Rate: 10}, lead: lead(12, 0),
			check: func(t *testing.T, p Params) {
				if p.OrderQty != 120 || p.OrderUpTo != p.ReorderPoint+120 {
					t.Errorf("Q %v, S %v; want 120, s+120", p.OrderQty, p.OrderUpTo)
				}
			},
		},
		{
			name: "case pack and MOQ floors", rule: alpha(0.95), item: Item{CasePack: 12, MOQ: 24}, costs: costs,
			d: Demand{Rate: 0.5}, lead: lead(2, 0),
			check: func(t *testing.T, p Params) {
				if p.OrderQty != 24 {
					t.Errorf("Q %v, want the MOQ 24", p.OrderQty)
				}
			},
		},
		{
			name: "(R, S)", rule: rs(7), item: item, costs: costs,
			d: Demand{Rate: 10}, lead: lead(3, 0),
			want: Params{ReorderPoint: 100, OrderUpTo: 100, OrderQty: 70, LeadDemand: 100, DailyDemand: 10, ProtectionDays: 10, Lead: lead(3, 0)},
		},
		{
			name: "(R, S) with a lead time beyond the review skips a review", rule: rs(7), item: item, costs: costs,
			d: Demand{Rate: 10}, lead: lead(10, 0),
			want: Params{ReorderPoint: 240, OrderUpTo: 240, OrderQty: 140, LeadDemand: 240, DailyDemand: 10, ProtectionDays: 24, Lead: lead(10, 0)},
		},
		{
			name: "no demand: one case", rule: alpha(0.99), item: Item{CasePack: 6}, costs: costs,
			d: Demand{}, lead: lead(7, 3),
			want: Params{OrderUpTo: 6, OrderQty: 6, ProtectionDays: 7, Lead: lead(7, 3)},
		},
		{
			name: "no lead time: tomorrow's rate", rule: alpha(0.95), item: item, costs: costs,
			d: Demand{Days: days(4), Rate: 1}, lead: lead(0, 0),
			check: func(t *testing.T, p Params) {
				if p.DailyDemand != 4 || p.LeadDemand != 0 || p.OrderQty != 28 {
					t.Errorf("daily %v, lead demand %v, Q %v; want 4, 0, 28", p.DailyDemand, p.LeadDemand, p.OrderQty)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(tt.rule, tt.item, tt.costs, tt.d, tt.lead)
			if tt.check != nil {
				tt.check(t, p)
				if p.Lead != tt.lead || p.ReorderPoint < p.LeadDemand || p.OrderUpTo < p.ReorderPoint {
					t.Errorf("params %+v: want the lead copied and LeadDemand ≤ s ≤ S", p)
				}
				return
			}
			if !paramsNear(p, tt.want) {
				t.Errorf("got  %+v\nwant %+v", p, tt.want)
			}
		})
	}
}

func paramsNear(a, b Params) bool {
	f := func(x, y float64) bool { return near(x, y, 1e-9) }
	return f(a.ReorderPoint, b.ReorderPoint) && f(a.OrderUpTo, b.OrderUpTo) && f(a.OrderQty, b.OrderQty) &&
		f(a.SafetyStock, b.SafetyStock) && f(a.LeadDemand, b.LeadDemand) && f(a.LeadDemandSD, b.LeadDemandSD) &&
		f(a.DailyDemand, b.DailyDemand) && f(a.ProtectionDays, b.ProtectionDays) && a.Lead == b.Lead
}

func TestQuantity(t *testing.T) {
	p := Params{ReorderPoint: 20, OrderUpTo: 50, OrderQty: 30}
	ss := Rule{Policy: PolicySS}
	sq := Rule{Policy: PolicySQ}
	rs := Rule{Policy: PolicyRS, ReviewDays: 7}
	one := Item{CasePack: 1}
	tests := []struct {
		name     string
		rule     Rule
		item     Item
		p        Params
		position int64
		review   bool
		want     int64
	}{
		{"sS above s", ss, one, p, 21, false, 0},
		{"sS at s", ss, one, p, 20, false, 30},
		{"sS fractional levels round up", ss, one, Params{ReorderPoint: 20.5, OrderUpTo: 50.5}, 20, false, 31},
		{"sS negative position", ss, one, p, -5, false, 55},
		{"sQ one Q", sq, one, p, 20, false, 30},
		{"sQ lifts strictly above s", sq, one, p, -10, false, 60},
		{"sQ two Qs", sq, one, p, -15, false, 60},
		{"sQ three Qs", sq, one, p, -41, false, 90},
		{"sQ without Q orders a case", sq, Item{CasePack: 6}, Params{ReorderPoint: 20}, 20, false, 6},
		{"RS between reviews", rs, one, p, 10, false, 0},
		{"RS review below S", rs, one, p, 30, true, 20},
		{"RS review at S", rs, one, p, 50, true, 0},
		{"case packs round up", ss, Item{CasePack: 12}, p, 20, false, 36},
		{"MOQ then case packs", ss, Item{CasePack: 12, MOQ: 40}, p, 20, false, 48},
		{"MaxQty rounded down to case packs", ss, Item{CasePack: 12, MaxQty: 30}, p, 0, false, 24},
		{"MaxQty below a case still one case", ss, Item{CasePack: 12, MaxQty: 5}, p, 0, false, 12},
		{"zero case pack is single units", ss, Item{}, p, 13, false, 37},
		{"NaN params order nothing", ss, one, Params{ReorderPoint: math.NaN(), OrderUpTo: math.NaN()}, 0, false, 0},
		{"S below s orders nothing", ss, one, Params{ReorderPoint: 20, OrderUpTo: 10}, 15, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quantity(tt.rule, tt.item, tt.p, tt.position, tt.review); got != tt.want {
				t.Errorf("Quantity = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestComputeQuantityCoverLead: whatever the cycle, an (s, S) order placed
// at s lasts, in expectation, at least its own lead time (the one open
// reorder rule).
func TestComputeQuantityCoverLead(t *testing.T) {
	for _, cycle := range []float64{0, 0.5, 2, 30} {
		for _, l := range []float64{3, 7.5, 14} {
			r := Rule{Policy: PolicySS, Target: TargetFillRate, Service: 0.95, CycleDays: cycle, Mode: ModeAuto}
			p := Compute(r, Item{UnitCost: 100, CasePack: 1}, Costs{OrderCost: 1, HoldingRate: 0.3}, Demand{Rate: 20, RateSD: 5}, LeadTime{MeanDays: l, SDDays: 1})
			q := Quantity(r, Item{CasePack: 1}, p, int64(math.Floor(p.ReorderPoint)), false)
			if float64(q) < 20*l {
				t.Errorf("cycle %v lead %v: order %d < lead-time demand %v", cycle, l, q, 20*l)
			}
		}
	}
}
