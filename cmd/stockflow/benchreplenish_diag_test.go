//go:build replenishdiag

package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/stockflow/stockflow/pipelines/forecast"
	"github.com/stockflow/stockflow/pipelines/replenish"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func TestReplenishDiag(t *testing.T) {
	ms, _ := forecast.ParseModelSet(os.Getenv("MODELS"))
	if os.Getenv("MODELS") == "" {
		ms, _ = forecast.ParseModelSet("default")
	}
	plan := replenish.DefaultPlanning()
	if v := os.Getenv("PLAN"); v != "" {
		diagPlan(&plan, v)
	}
	cfg := replenishConfig{Seed: uint64(envInt("SEED", 1)), SKUs: envInt("SKUS", 500), Warehouses: 8, Days: envInt("DAYS", 180), Warmup: 84, Retrain: envInt("RETRAIN", 7), Models: ms, plan: plan}
	out, err := runReplenishBench(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := out.loops[0]
	_ = w
	// classes
	wd := out.loops[0].w
	warm := make([][]float64, wd.nK)
	value := make([]float64, wd.nK)
	for k := range wd.nK {
		warm[k] = wd.demand[k][:wd.warm]
		value[k] = wd.unitCost[k/wd.nW]
	}
	classes := replenish.Classify(warm, value, replenish.ClassConfig{})
	for i, l := range out.loops {
		p := out.result.Policies[i]
		fmt.Printf("%-15s fill %.4f cyc %.3f value %.0f units %.0f orders %d transfers %d (%d units)\n", p.Policy, p.FillRate, p.CycleService, p.AvgOnHandValue, p.AvgOnHandUnits, p.Orders, p.Transfers, p.TransferUnits)
		groups := map[string][4]float64{}
		for k := range wd.nK {
			var dem float64
			for _, v := range wd.demand[k][wd.warm:] {
				dem += v
			}
			slow := "vel fast"
			if wd.warmMean(k) < 1 {
				slow = "vel slow"
			}
			for _, g := range []string{"cls " + string(classes[k][:1]), "xyz " + string(classes[k][1:]), "int " + strconv.FormatBool(wd.items[k/wd.nW].Intermittent), slow} {
				a := groups[g]
				a[0] += dem
				a[1] += float64(l.lostK[k])
				a[2] += l.valueDaysK[k] / float64(wd.days)
				a[3]++
				groups[g] = a
			}
		}
		for _, g := range []string{"cls A", "cls B", "cls C", "xyz X", "xyz Y", "xyz Z", "int false", "int true", "vel fast", "vel slow"} {
			a := groups[g]
			fmt.Printf("   %-10s keys %5.0f demand %8.0f fill %.4f value %9.0f\n", g, a[3], a[0], 1-a[1]/a[0], a[2])
		}
		var q [6]int64
		for d, v := range l.lostDay {
			q[d*6/len(l.lostDay)] += v
		}
		fmt.Printf("   lost by sixth: %v\n", q)
	}
	fmt.Printf("goal %+v  %.1fs\n", out.result.Goal, out.result.Seconds)
}

func diagPlan(p *replenish.Planning, spec string) {
	var a, b, c, cyc, oc, hr float64
	var xfer int
	fmt.Sscanf(spec, "%f,%f,%f,%f,%f,%f,%d", &a, &b, &c, &cyc, &oc, &hr, &xfer)
	set := func(k string, v float64) {
		r := p.Classes[k]
		r.Service = v
		r.CycleDays = cyc
		p.Classes[k] = r
	}
	set("A", a)
	set("B", b)
	set("C", c)
	p.Global.CycleDays = cyc
	if oc > 0 {
		p.Costs.OrderCost = oc
	}
	if hr > 0 {
		p.Costs.HoldingRate = hr
	}
	if xfer == 0 {
		p.Transfer.ExcessCoverDays = 1e9
	}
}

func TestReplenishCalib(t *testing.T) {
	ms, _ := forecast.ParseModelSet(os.Getenv("MODELS"))
	if os.Getenv("MODELS") == "" {
		ms, _ = forecast.ParseModelSet("default")
	}
	cfg := replenishConfig{Seed: 1, SKUs: envInt("SKUS", 500), Warehouses: 8, Days: 180, Warmup: 84, Retrain: 7, Models: ms, Workers: 2}
	w, err := newReplenishWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := newStockflowPolicy(w)
	if _, err := p.open(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	warm := make([][]float64, w.nK)
	value := make([]float64, w.nK)
	for k := range w.nK {
		warm[k] = w.demand[k][:w.warm]
		value[k] = w.unitCost[k/w.nW]
	}
	classes := replenish.Classify(warm, value, replenish.ClassConfig{})
	l := newReplenishLoop(w)
	for k := range w.nK {
		copy(l.sold[k], w.demand[k])
	}
	P := float64(envInt("P", 10))
	type acc struct{ n, z, z2, over, act, fc, exc float64 }
	res := map[string]*acc{}
	for c := w.warm - 1; c+int(P) < w.warm+w.days; c += 14 {
		if err := p.train(t.Context(), l, c); err != nil {
			t.Fatal(err)
		}
		for k := range w.nK {
			par := replenish.Compute(replenish.Rule{Policy: replenish.PolicySS, Target: replenish.TargetCycleService, Service: 0.95}, p.items[k/w.nW], p.plan.Costs, p.demandOf(k, c), replenish.LeadTime{MeanDays: P})
			var act float64
			for d := c + 1; d <= c+int(P); d++ {
				act += w.demand[k][d]
			}
			if par.LeadDemandSD <= 0 {
				continue
			}
			z := (act - par.LeadDemand) / par.LeadDemandSD
			slow := "fast"
			if par.DailyDemand < 1 {
				slow = "slow"
			}
			for _, g := range []string{"cls " + string(classes[k][:1]), "xyz " + string(classes[k][1:]), slow} {
				a := res[g]
				if a == nil {
					a = &acc{}
					res[g] = a
				}
				a.n++
				a.z += z
				a.z2 += z * z
				if z > 1.645 {
					a.over++
				}
				a.act += act
				if act > par.ReorderPoint {
					a.exc++
				}
				a.fc += par.LeadDemand
			}
		}
	}
	for _, g := range []string{"cls A", "cls B", "cls C", "xyz X", "xyz Y", "xyz Z", "fast", "slow"} {
		a := res[g]
		m := a.z / a.n
		fmt.Printf("P %v %s n %5.0f mean z %+.3f sd z %.3f P(z>1.645) %.3f P(>s95) %.3f actual/forecast %.3f\n", P, g, a.n, m, math.Sqrt(a.z2/a.n-m*m), a.over/a.n, a.exc/a.n, a.act/a.fc)
	}
}
