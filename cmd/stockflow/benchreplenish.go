package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/pipelines/forecast"
	"github.com/stockflow/stockflow/pipelines/replenish"
)

// Names of the policies `stockflow bench replenish` compares.
const (
	policyStockflow    = "stockflow"
	policyStaticMinMax = "static_min_max"
	policyReorderLevel = "reorder_level"
)

// The bench's cost basis and lead-time bounds.
const (
	// benchCostShare turns the simulator's list price into the unit cost
	// that inventory is valued at (a 40% gross margin).
	benchCostShare = 0.6
	// Simulated lead times are round(mean + sd·N(0,1)) clamped to
	// benchLeadMin..benchLeadMax days, as the simulator's suppliers do.
	benchLeadMin = 3
	benchLeadMax = 14
	// benchRateWindow is the number of recent uncensored days stockflow's
	// fallback rate (beyond and without a forecast) is taken from.
	benchRateWindow = 28
)

// replenishConfig is what `stockflow bench replenish` runs.
type replenishConfig struct {
	Seed       uint64
	SKUs       int
	Warehouses int
	Days       int
	Warmup     int
	// Retrain is the number of days between stockflow's forecast runs.
	Retrain int
	Models  forecast.ModelSet
	Workers int
	// Progress receives one line per stockflow forecast run (nil: none).
	Progress io.Writer
	// plan is stockflow's planning (zero: replenish.DefaultPlanning).
	plan replenish.Planning
}

// replenishBench is the result of `stockflow bench replenish`.
type replenishBench struct {
	Days        int     `json:"days"`
	SKUs        int     `json:"skus"`
	Warehouses  int     `json:"warehouses"`
	Keys        int     `json:"keys"`
	Seed        uint64  `json:"seed"`
	WarmupDays  int     `json:"warmup_days"`
	RetrainDays int     `json:"retrain_days"`
	Models      string  `json:"models"`
	Seconds     float64 `json:"seconds"`
	// ForecastRuns and ForecastSeconds are stockflow's forecast pipeline
	// runs (series built and trained) and the time they took.
	ForecastRuns    int     `json:"forecast_runs"`
	ForecastSeconds float64 `json:"forecast_seconds"`
	// Policies are stockflow, then the baselines.
	Policies []policyResult `json:"policies"`
	// Goal compares stockflow with the baseline of the best fill rate.
	Goal replenishGoal `json:"goal"`
}

// replenishGoal is the bench's goal: a fill rate at least the best
// baseline's with at least 20% less average inventory value.
type replenishGoal struct {
	BestBaseline string  `json:"best_baseline"`
	FillRateGap  float64 `json:"fill_rate_gap"`
	// ValueReduction is 1 − stockflow's average inventory value / the best
	// baseline's.
	ValueReduction float64 `json:"value_reduction"`
	Met            bool    `json:"met"`
}

// policyResult is one policy's closed loop over the evaluated days.
type policyResult struct {
	Policy string `json:"policy"`
	// FillRate is units served / units demanded.
	FillRate float64 `json:"fill_rate"`
	// CycleService is the share of complete replenishment cycles (from a
	// purchase receipt to the next one of the same key) without lost
	// demand.
	CycleService float64 `json:"cycle_service"`
	// StockoutDays counts (key, day) pairs with lost demand.
	StockoutDays int64 `json:"stockout_days"`
	// AvgOnHandUnits and AvgOnHandValue average, over the evaluated days,
	// the total on hand (mean of after the morning receipts and after the
	// day's sales) in units and at unit cost.
	AvgOnHandUnits float64 `json:"avg_on_hand_units"`
	AvgOnHandValue float64 `json:"avg_on_hand_value"`
	// Orders counts purchase orders placed.
	Orders int64 `json:"orders"`
	// Turns is the cost of goods sold, annualised, over AvgOnHandValue.
	Turns float64 `json:"turns"`
	// Transfers and TransferUnits count lateral transfers (stockflow only).
	Transfers     int64   `json:"transfers"`
	TransferUnits int64   `json:"transfer_units"`
	DemandUnits   int64   `json:"demand_units"`
	LostUnits     int64   `json:"lost_units"`
	Cycles        int64   `json:"cycles"`
	Seconds       float64 `json:"seconds"`
}

// benchReplenish is `stockflow bench replenish`: stockflow's replenishment
// (forecast pipeline + policy core) against two hand-set ERP baselines in a
// closed-loop simulation on identical demand and lead times.
//
// Demand is the simulator's demand model (internal/sim Sim.Demand: units
// per SKU × warehouse and day, with trend, weekly and yearly season and
// intermittent slow movers) over --warmup + --days days from a fixed
// date. The warm-up is history: every policy sets itself up from it as if
// it had been sold without stockouts, and no metric covers it. Then, for
// each evaluated day and key: purchase receipts and transfers due arrive
// in the morning, demand is served from on hand and what cannot be served
// is lost, and the policy reviews at the end of the day with the
// inventory position (on hand + on order + in transit). Every policy keeps
// at most one open purchase order per key (the streaming processor's rule,
// DESIGN §3 invariant 5) and orders whole case packs. Lead times are the
// simulator's suppliers': the n-th order of a key takes round(mean +
// sd·N(0,1)) days clamped to 3..14, N drawn from a generator seeded by
// (seed, key, n) only, so every policy sees the same lead-time sequence
// per key. Inventory is valued at the unit cost, 0.6 × the list price.
//
// Each policy opens with every key at its own maximum (max, level +
// quantity, S), as if just replenished. Metrics: fill rate = units served
// / units demanded; cycle service = the share of complete replenishment
// cycles (purchase receipt to the next receipt of the key) without lost
// demand; stockout days = (key, day) pairs with lost demand; average on
// hand = the mean over the days of the total on hand (the mean of the
// morning, after receipts, and the evening, after sales), in units and
// at unit cost; turns = the cost of the units sold, annualised, over the
// average on-hand value.
func benchReplenish(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench replenish", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
	days := fs.Int("days", 180, "evaluated days")
	skus := fs.Int("skus", 500, "SKUs")
	warehouses := fs.Int("warehouses", 8, "warehouses (1.."+fmt.Sprint(sim.MaxWarehouses)+")")
	seed := fs.Uint64("seed", 1, "simulator seed")
	warmup := fs.Int("warmup", 84, "days of demand history before the evaluated days (no stockouts), that every policy sets itself up from")
	retrain := fs.Int("retrain", 7, "days between stockflow's forecast runs")
	models := fs.String("models", forecast.SetDefault, "stockflow's forecast model set")
	workers := fs.Int("workers", 0, "forecast workers (0: GOMAXPROCS)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	ms, err := forecast.ParseModelSet(*models)
	if err != nil {
		return fmt.Errorf("--models: %w", err)
	}
	cfg := replenishConfig{Seed: *seed, SKUs: *skus, Warehouses: *warehouses, Days: *days, Warmup: *warmup,
		Retrain: *retrain, Models: ms, Workers: *workers, Progress: os.Stderr}
	out, err := runReplenishBench(ctx, cfg)
	if err != nil {
		return err
	}
	res := out.result
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%d SKUs × %d warehouses, %d days after %d days of warm-up, seed %d, %.1f s\n\n",
		res.SKUs, res.Warehouses, res.Days, res.WarmupDays, res.Seed, res.Seconds)
	fmt.Printf("%-15s %9s %9s %9s %12s %14s %8s %6s %9s\n", "policy", "fill", "cycle", "stockout", "on hand", "value", "orders", "turns", "transfers")
	for _, p := range res.Policies {
		fmt.Printf("%-15s %9.4f %9.4f %9d %12.0f %14.0f %8d %6.2f %9d\n", p.Policy, p.FillRate, p.CycleService,
			p.StockoutDays, p.AvgOnHandUnits, p.AvgOnHandValue, p.Orders, p.Turns, p.Transfers)
	}
	fmt.Printf("\nagainst %s: fill rate %+.4f, inventory value %.1f%% lower; goal met: %v\n",
		res.Goal.BestBaseline, res.Goal.FillRateGap, 100*res.Goal.ValueReduction, res.Goal.Met)
	return nil
}

// replenishOutcome is a bench run with the loops behind it (for tests).
type replenishOutcome struct {
	result replenishBench
	loops  []*replenishLoop
}

func (c replenishConfig) validate() error {
	switch {
	case c.SKUs < 1 || c.Warehouses < 1 || c.Warehouses > sim.MaxWarehouses:
		return fmt.Errorf("--skus must be positive and --warehouses in 1..%d", sim.MaxWarehouses)
	case c.Days < 1 || c.Warmup < 28:
		return errors.New("--days must be positive and --warmup at least 28 (the forecast needs four weeks)")
	case c.Retrain < 1 || c.Workers < 0:
		return errors.New("--retrain must be positive and --workers not negative")
	case c.Days+c.Warmup > sim.MaxDays:
		return fmt.Errorf("--days + --warmup must be at most %d", sim.MaxDays)
	}
	return nil
}

// runReplenishBench simulates the demand once and runs every policy on it.
func runReplenishBench(ctx context.Context, cfg replenishConfig) (*replenishOutcome, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	t0 := time.Now()
	w, err := newReplenishWorld(cfg)
	if err != nil {
		return nil, err
	}
	out := &replenishOutcome{result: replenishBench{
		Days: cfg.Days, SKUs: cfg.SKUs, Warehouses: cfg.Warehouses, Keys: w.nK, Seed: cfg.Seed,
		WarmupDays: cfg.Warmup, RetrainDays: cfg.Retrain, Models: cfg.Models.Name,
	}}
	policies := []replenishPolicy{newStockflowPolicy(w), &staticMinMax{}, &reorderLevel{}}
	for _, p := range policies {
		t1 := time.Now()
		l := newReplenishLoop(w)
		if err := l.run(ctx, p); err != nil {
			return nil, fmt.Errorf("bench replenish %s: %w", p.name(), err)
		}
		r := l.result(p.name())
		r.Seconds = time.Since(t1).Seconds()
		if sp, ok := p.(*stockflowPolicy); ok {
			out.result.ForecastRuns, out.result.ForecastSeconds = sp.runs, sp.trainSecs
		}
		w.progress("bench replenish: %s done in %.1f s: fill rate %.4f, average inventory value %.0f",
			r.Policy, r.Seconds, r.FillRate, r.AvgOnHandValue)
		out.result.Policies = append(out.result.Policies, r)
		out.loops = append(out.loops, l)
	}
	out.result.Goal = goalOf(out.result.Policies)
	out.result.Seconds = time.Since(t0).Seconds()
	return out, nil
}

// goalOf compares the first policy (stockflow) with the baseline of the
// highest fill rate.
func goalOf(ps []policyResult) replenishGoal {
	sf := ps[0]
	best := ps[1]
	for _, p := range ps[2:] {
		if p.FillRate > best.FillRate {
			best = p
		}
	}
	g := replenishGoal{BestBaseline: best.Policy, FillRateGap: sf.FillRate - best.FillRate}
	if best.AvgOnHandValue > 0 {
		g.ValueReduction = 1 - sf.AvgOnHandValue/best.AvgOnHandValue
	}
	g.Met = g.FillRateGap >= 0 && g.ValueReduction >= 0.2
	return g
}

// replenishWorld is what every policy is run on: the simulated catalog,
// network and demand, and the true lead times.
type replenishWorld struct {
	cfg          replenishConfig
	nS, nW, nK   int
	warm, days   int
	start        time.Time
	demand       [][]float64 // per key (k = sku·W + warehouse), warm-up then evaluated days
	items        []sim.Item
	whs          []sim.Warehouse
	unitCost     []float64 // per SKU
	leadMean     []float64 // per key, the simulator's truth
	leadSD       []float64
	leadSeedBase uint64
}

func newReplenishWorld(cfg replenishConfig) (*replenishWorld, error) {
	s, err := sim.New(sim.Config{Seed: cfg.Seed, SKUs: cfg.SKUs, Warehouses: cfg.Warehouses,
		Days: cfg.Warmup + cfg.Days, BadShare: -1, Start: benchSimStart})
	if err != nil {
		return nil, fmt.Errorf("simulate demand: %w", err)
	}
	w := &replenishWorld{cfg: cfg, nS: cfg.SKUs, nW: cfg.Warehouses, nK: cfg.SKUs * cfg.Warehouses,
		warm: cfg.Warmup, days: cfg.Days, start: benchSimStart,
		demand: s.Demand(), items: s.Items(), whs: s.Warehouses(),
		leadSeedBase: cfg.Seed ^ 0x9e3779b97f4a7c15}
	w.unitCost = make([]float64, w.nS)
	for i, it := range w.items {
		w.unitCost[i] = it.Price * benchCostShare
	}
	w.leadMean, w.leadSD = make([]float64, w.nK), make([]float64, w.nK)
	for k := range w.nK {
		w.leadMean[k], w.leadSD[k] = s.LeadTime(k/w.nW, k%w.nW)
	}
	return w, nil
}

func (w *replenishWorld) progress(format string, args ...any) {
	if w.cfg.Progress != nil {
		_, _ = fmt.Fprintf(w.cfg.Progress, format+"\n", args...) // progress is best effort
	}
}

// leadDays is the lead time of the n-th purchase order (from 0) of key k:
// round(mean + sd·N(0,1)) clamped to 3..14 days, N drawn from a generator
// seeded by (seed, k, n) alone. So the n-th order of a key takes the same
// time in every policy, whatever the policies did before; policies that
// order more often simply reach further into the key's sequence.
func (w *replenishWorld) leadDays(k, n int) int {
	r := rand.New(rand.NewPCG(w.leadSeedBase, uint64(k)<<32|uint64(n)))
	d := math.Round(w.leadMean[k] + w.leadSD[k]*r.NormFloat64())
	return int(min(max(d, benchLeadMin), benchLeadMax))
}

// warmMean is the average daily demand of key k over the warm-up.
func (w *replenishWorld) warmMean(k int) float64 {
	var s float64
	for _, v := range w.demand[k][:w.warm] {
		s += v
	}
	return s / float64(w.warm)
}

// casePack is SKU i's case pack (at least 1).
func (w *replenishWorld) casePack(i int) int64 { return max(int64(w.items[i].CasePack), 1) }

// roundUpTo rounds q up to a multiple of cp.
func roundUpTo(q, cp int64) int64 { return (q + cp - 1) / cp * cp }

// replenishPolicy decides, at the end of every evaluated day, what each
// key orders (through replenishLoop.order and .transfer).
type replenishPolicy interface {
	name() string
	// open sets the policy up from the warm-up and returns every key's
	// opening on hand.
	open(ctx context.Context, w *replenishWorld) ([]int64, error)
	// received tells the policy that key k's order placed on day placed
	// arrived on day t.
	received(k, placed, t int)
	// review is the end of day t (absolute day index).
	review(ctx context.Context, l *replenishLoop, t int) error
}

// openOrder is a key's open purchase order (qty 0: none).
type openOrder struct {
	qty         int64
	placed, due int
}

// orderSpan is an order's life, placed to received (due), for the checks.
type orderSpan struct{ placed, due int }

// arrival is a transfer in transit.
type arrival struct {
	k   int
	qty int64
}

// replenishLoop is one policy's closed loop over the evaluated days, with
// its accounting.
type replenishLoop struct {
	w        *replenishWorld
	onHand   []int64
	open     []openOrder
	nOrders  []int // orders placed per key (the index into leadDays)
	transit  []int64
	arrivals map[int][]arrival // by day

	// per key accounting (conservation)
	initial, received, served, xferOut, xferIn []int64
	// spans are every key's orders, for the one-open-order check;
	// violations counts orders attempted while one was open.
	spans      [][]orderSpan
	violations int

	// observed sales per key and day, and censored (stockout) seconds,
	// for a forecasting policy
	sold      [][]float64
	stockSecs [][]int32

	// per key metrics: lost units, unit-days and value-days on hand
	lostK                 []int64
	lostDay               []int64 // by evaluated day
	unitDaysK, valueDaysK []float64

	// metrics over the evaluated days
	demandU, lostU, stockoutDays, orders, transfers, transferUnits int64
	onHandUnitDays, onHandValueDays, cogs                          float64
	cycleOpen, cycleLoss                                           []bool
	cycles, goodCycles                                             int64
}

func newReplenishLoop(w *replenishWorld) *replenishLoop {
	n := w.nK
	l := &replenishLoop{w: w, open: make([]openOrder, n), nOrders: make([]int, n), transit: make([]int64, n),
		arrivals: map[int][]arrival{}, received: make([]int64, n), served: make([]int64, n),
		xferOut: make([]int64, n), xferIn: make([]int64, n), spans: make([][]orderSpan, n),
		sold: make([][]float64, n), stockSecs: make([][]int32, n),
		cycleOpen: make([]bool, n), cycleLoss: make([]bool, n),
		lostK: make([]int64, n), lostDay: make([]int64, w.days), unitDaysK: make([]float64, n), valueDaysK: make([]float64, n)}
	for k := range n {
		l.sold[k] = make([]float64, w.warm+w.days)
		copy(l.sold[k], w.demand[k][:w.warm]) // the warm-up has no stockouts
		l.stockSecs[k] = make([]int32, w.warm+w.days)
	}
	return l
}

// position is key k's inventory position: on hand + on order + in transit.
func (l *replenishLoop) position(k int) int64 { return l.onHand[k] + l.open[k].qty + l.transit[k] }

// order places a purchase order of qty for key k at the end of day t; a
// key with an open order cannot order (it is counted as a violation).
func (l *replenishLoop) order(k int, qty int64, t int) {
	if qty <= 0 {
		return
	}
	if l.open[k].qty > 0 {
		l.violations++
		return
	}
	lead := l.w.leadDays(k, l.nOrders[k])
	l.nOrders[k]++
	l.open[k] = openOrder{qty: qty, placed: t, due: t + lead}
	l.spans[k] = append(l.spans[k], orderSpan{placed: t, due: t + lead})
	l.orders++
}

// transfer moves qty of a SKU from key from to key to at the end of day t:
// out of from's on hand now, into to's on hand at the start of day
// t + transit.
func (l *replenishLoop) transfer(from, to int, qty int64, transit, t int) {
	qty = min(qty, l.onHand[from])
	if qty <= 0 {
		return
	}
	l.onHand[from] -= qty
	l.xferOut[from] += qty
	l.transit[to] += qty
	day := t + max(transit, 1)
	l.arrivals[day] = append(l.arrivals[day], arrival{k: to, qty: qty})
	l.transfers++
	l.transferUnits += qty
}

// run plays the evaluated days: receipts and transfers arrive in the
// morning, demand is served from on hand (what cannot be served is lost),
// and the policy reviews at the end of the day.
func (l *replenishLoop) run(ctx context.Context, p replenishPolicy) error {
	w := l.w
	init, err := p.open(ctx, w)
	if err != nil {
		return err
	}
	l.onHand = init
	l.initial = append([]int64(nil), init...)
	for t := w.warm; t < w.warm+w.days; t++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, a := range l.arrivals[t] {
			l.onHand[a.k] += a.qty
			l.transit[a.k] -= a.qty
			l.xferIn[a.k] += a.qty
		}
		delete(l.arrivals, t)
		for k := range w.nK {
			if o := l.open[k]; o.qty > 0 && o.due == t {
				l.onHand[k] += o.qty
				l.received[k] += o.qty
				l.open[k] = openOrder{}
				p.received(k, o.placed, t)
				if l.cycleOpen[k] {
					l.cycles++
					if !l.cycleLoss[k] {
						l.goodCycles++
					}
				}
				l.cycleOpen[k], l.cycleLoss[k] = true, false
			}
			morning := l.onHand[k]
			dem := int64(w.demand[k][t])
			sold := min(dem, morning)
			lost := dem - sold
			l.onHand[k] -= sold
			l.served[k] += sold
			l.sold[k][t] = float64(sold)
			switch {
			case morning == 0:
				l.stockSecs[k][t] = 86400
			case lost > 0:
				l.stockSecs[k][t] = int32(86400 * lost / dem)
			}
			l.demandU += dem
			if lost > 0 {
				l.lostU += lost
				l.lostK[k] += lost
				l.lostDay[t-w.warm] += lost
				l.stockoutDays++
				l.cycleLoss[k] = true
			}
			avg := float64(morning+l.onHand[k]) / 2
			cost := w.unitCost[k/w.nW]
			l.onHandUnitDays += avg
			l.onHandValueDays += avg * cost
			l.unitDaysK[k] += avg
			l.valueDaysK[k] += avg * cost
			l.cogs += float64(sold) * cost
		}
		if err := p.review(ctx, l, t); err != nil {
			return err
		}
	}
	return nil
}

func (l *replenishLoop) result(name string) policyResult {
	days := float64(l.w.days)
	r := policyResult{Policy: name, StockoutDays: l.stockoutDays, Orders: l.orders, Transfers: l.transfers,
		TransferUnits: l.transferUnits, DemandUnits: l.demandU, LostUnits: l.lostU, Cycles: l.cycles,
		AvgOnHandUnits: l.onHandUnitDays / days, AvgOnHandValue: l.onHandValueDays / days, FillRate: 1}
	if l.demandU > 0 {
		r.FillRate = float64(l.demandU-l.lostU) / float64(l.demandU)
	}
	if l.cycles > 0 {
		r.CycleService = float64(l.goodCycles) / float64(l.cycles)
	}
	if r.AvgOnHandValue > 0 {
		r.Turns = l.cogs * 365 / days / r.AvgOnHandValue
	}
	return r
}

// staticMinMax is the baseline of an Odoo user's hand-set reordering rule
// (min/max, "Replenishment" report): min = average daily demand of the
// warm-up × the supplier's mean lead time (rounded up: a key that sells
// keeps at least one unit), max = 2 × min; reviewed daily, when the
// position (open orders counted, as Odoo's forecast quantity does) is at
// or below min it orders up to max, in whole case packs (Odoo's "multiple
// quantity"). Keys open at max.
type staticMinMax struct{ min, max []int64 }

func (*staticMinMax) name() string { return policyStaticMinMax }

func (p *staticMinMax) open(_ context.Context, w *replenishWorld) ([]int64, error) {
	p.min, p.max = make([]int64, w.nK), make([]int64, w.nK)
	init := make([]int64, w.nK)
	for k := range w.nK {
		p.min[k] = int64(math.Ceil(w.warmMean(k)*w.leadMean[k] - 1e-9))
		p.max[k] = 2 * p.min[k]
		init[k] = p.max[k]
	}
	return init, nil
}

func (*staticMinMax) received(int, int, int) {}

func (p *staticMinMax) review(_ context.Context, l *replenishLoop, t int) error {
	w := l.w
	for k := range w.nK {
		if l.open[k].qty > 0 {
			continue
		}
		if pos := l.position(k); pos <= p.min[k] && p.max[k] > pos {
			l.order(k, roundUpTo(p.max[k]-pos, w.casePack(k/w.nW)), t)
		}
	}
	return nil
}

// reorderLevel is the baseline of ERPNext's item reorder (Item Reorder
// table, the daily "reorder_item" job): when the projected quantity (on
// hand + ordered, here the position) is below the re-order level it
// requests max(re-order qty, level − projected). The parameters are the
// ones ERPNext users are commonly told to set: re-order level = average
// daily demand × lead time + safety stock, with the safety stock the
// rule-of-thumb half of the lead-time demand (× 1.5 in all), and a
// re-order quantity of a month of demand (monthly purchasing), in whole
// case packs. Keys open at level + quantity.
type reorderLevel struct{ level, qty []int64 }

func (*reorderLevel) name() string { return policyReorderLevel }

func (p *reorderLevel) open(_ context.Context, w *replenishWorld) ([]int64, error) {
	p.level, p.qty = make([]int64, w.nK), make([]int64, w.nK)
	init := make([]int64, w.nK)
	for k := range w.nK {
		avg := w.warmMean(k)
		p.level[k] = int64(math.Ceil(avg*w.leadMean[k]*1.5 - 1e-9))
		if q := int64(math.Ceil(30*avg - 1e-9)); q > 0 {
			p.qty[k] = roundUpTo(q, w.casePack(k/w.nW))
		}
		init[k] = p.level[k] + p.qty[k]
	}
	return init, nil
}

func (*reorderLevel) received(int, int, int) {}

func (p *reorderLevel) review(_ context.Context, l *replenishLoop, t int) error {
	w := l.w
	for k := range w.nK {
		if l.open[k].qty > 0 {
			continue
		}
		if pos := l.position(k); pos < p.level[k] {
			l.order(k, roundUpTo(max(p.qty[k], p.level[k]-pos), w.casePack(k/w.nW)), t)
		}
	}
	return nil
}

// stockflowPolicy is stockflow's replenishment as the pipeline runs it:
// forecasts from pipelines/forecast (BuildSeries on the sales it observed,
// stockout days censored, then Train) at the start and every Retrain days,
// ABC/XYZ classes from the warm-up, rules from replenish.DefaultPlanning,
// lead times learned per supplier × warehouse from its own receipts
// (starting from the planning's generic prior, not the simulator's truth),
// replenish.Compute and Quantity every day, and lateral transfers
// (replenish.ProposeTransfers) between the warehouses of a continent.
type stockflowPolicy struct {
	w        *replenishWorld
	plan     replenish.Planning
	keys     []forecast.Key
	keyIndex map[forecast.Key]int
	items    []replenish.Item // per SKU
	rules    []replenish.Rule // per key
	supplier []int            // per SKU, an index
	// leads are the lead times observed per supplier × warehouse.
	leads []replenish.LeadStats
	// the latest forecast: days from the day after cutoff, per key
	cutoff    int
	fc        [][]event.ForecastDay
	rate, sd  []float64
	params    []replenish.Params
	lastTrain int
	groups    [][]int // warehouse indexes per continent
	sites     []replenish.Site
	runID     string
	runs      int
	trainSecs float64
}

func newStockflowPolicy(w *replenishWorld) *stockflowPolicy {
	plan := w.cfg.plan
	if plan.Global.Policy == "" {
		plan = replenish.DefaultPlanning()
	}
	return &stockflowPolicy{w: w, plan: plan}
}

func (*stockflowPolicy) name() string { return policyStockflow }

func (p *stockflowPolicy) open(ctx context.Context, w *replenishWorld) ([]int64, error) {
	if err := p.plan.Validate(); err != nil {
		return nil, err
	}
	p.keys = make([]forecast.Key, w.nK)
	p.keyIndex = make(map[forecast.Key]int, w.nK)
	for k := range w.nK {
		p.keys[k] = forecast.Key{SKU: w.items[k/w.nW].SKU, Warehouse: w.whs[k%w.nW].ID}
		p.keyIndex[p.keys[k]] = k
	}
	p.items = make([]replenish.Item, w.nS)
	for i, it := range w.items {
		p.items[i] = replenish.Item{SKU: it.SKU, Supplier: it.Supplier, UnitCost: w.unitCost[i], CasePack: w.casePack(i)}
	}
	warm := make([][]float64, w.nK)
	value := make([]float64, w.nK)
	for k := range w.nK {
		warm[k] = w.demand[k][:w.warm]
		value[k] = w.unitCost[k/w.nW]
	}
	classes := replenish.Classify(warm, value, p.plan.Class)
	p.rules = make([]replenish.Rule, w.nK)
	for k := range w.nK {
		p.rules[k] = p.plan.RuleFor(p.keys[k].SKU, classes[k])
	}
	suppliers := map[string]int{}
	p.supplier = make([]int, w.nS)
	for i, it := range w.items {
		j, ok := suppliers[it.Supplier]
		if !ok {
			j = len(suppliers)
			suppliers[it.Supplier] = j
		}
		p.supplier[i] = j
	}
	p.leads = make([]replenish.LeadStats, len(suppliers)*w.nW)
	continents := map[string]int{}
	for j, wh := range w.whs {
		c := wh.Country
		if c != "US" {
			c = "EU"
		}
		g, ok := continents[c]
		if !ok {
			g = len(p.groups)
			continents[c] = g
			p.groups = append(p.groups, nil)
		}
		p.groups[g] = append(p.groups[g], j)
	}
	p.params = make([]replenish.Params, w.nK)
	// The warm-up is observed as sales without stockouts.
	if err := p.train(ctx, nil, w.warm-1); err != nil {
		return nil, err
	}
	init := make([]int64, w.nK)
	for k := range w.nK {
		p.params[k] = p.compute(k, w.warm-1)
		init[k] = int64(math.Ceil(p.params[k].OrderUpTo - 1e-9))
	}
	return init, nil
}

// leadIndex is the index of key k's supplier × warehouse in leads.
func (p *stockflowPolicy) leadIndex(k int) int {
	return p.supplier[k/p.w.nW]*p.w.nW + k%p.w.nW
}

func (p *stockflowPolicy) received(k, placed, t int) {
	p.leads[p.leadIndex(k)].Observe(float64(t - placed))
}

// train runs the forecast pipeline on what was sold through day t (the
// loop l, or the warm-up alone when l is nil).
func (p *stockflowPolicy) train(ctx context.Context, l *replenishLoop, t int) error {
	w := p.w
	t0 := time.Now()
	var sales []forecast.DailyUnits
	var stockouts []forecast.StockoutDay
	for k := range w.nK {
		for d := 0; d <= t; d++ {
			var v float64
			var secs int32
			if l != nil {
				v, secs = l.sold[k][d], l.stockSecs[k][d]
			} else {
				v = w.demand[k][d]
			}
			day := w.start.AddDate(0, 0, d)
			if v > 0 {
				sales = append(sales, forecast.DailyUnits{Key: p.keys[k], Day: day, Units: v})
			}
			if secs > 0 {
				stockouts = append(stockouts, forecast.StockoutDay{Key: p.keys[k], Day: day, Seconds: int64(secs)})
			}
		}
	}
	cutoff := w.start.AddDate(0, 0, t)
	series := forecast.BuildSeries(sales, stockouts, cutoff, forecast.DefaultCensorAfter)
	cfg := forecast.Config{Cutoff: cutoff, Models: p.w.cfg.Models, Workers: w.cfg.Workers, RunID: fmt.Sprintf("bench-%d", t)}
	res, err := forecast.Train(ctx, cfg, forecast.Input{Series: series})
	if err != nil {
		return fmt.Errorf("forecast on day %d: %w", t, err)
	}
	p.cutoff, p.lastTrain = t, t
	p.fc = make([][]event.ForecastDay, w.nK)
	for i := range res.Forecasts {
		f := &res.Forecasts[i]
		k, ok := p.keyIndex[f.Key]
		if !ok {
			return fmt.Errorf("forecast for unknown key %s", f.Key)
		}
		days := make([]event.ForecastDay, len(f.Days))
		for j, d := range f.Days {
			days[j] = event.ForecastDay{Day: d.Day.Format(time.DateOnly), Horizon: d.Horizon,
				Mean: d.Mean, P05: d.P05, P10: d.P10, P50: d.P50, P90: d.P90, P95: d.P95, P99: d.P99, Uplift: d.Uplift}
		}
		p.fc[k] = days
	}
	// The fallback rate: mean and sd of the last uncensored days.
	p.rate, p.sd = make([]float64, w.nK), make([]float64, w.nK)
	limit := int64(forecast.DefaultCensorAfter / time.Second)
	for k := range w.nK {
		var s, ss, n float64
		for d := t; d >= 0 && n < benchRateWindow; d-- {
			v := w.demand[k][d]
			if l != nil {
				if int64(l.stockSecs[k][d]) >= limit {
					continue
				}
				v = l.sold[k][d]
			}
			s += v
			ss += v * v
			n++
		}
		if n > 0 {
			m := s / n
			p.rate[k], p.sd[k] = m, math.Sqrt(max(ss/n-m*m, 0))
		}
	}
	secs := time.Since(t0).Seconds()
	p.trainSecs += secs
	p.runs++
	p.runID = res.RunID
	w.progress("bench replenish: stockflow forecast on day %d of %d: %d series in %.1f s",
		t-w.warm+1, w.days, len(res.Forecasts), secs)
	return nil
}

// compute is key k's Params at the end of day t.
func (p *stockflowPolicy) compute(k, t int) replenish.Params {
	lead := p.leads[p.leadIndex(k)].Estimate(p.plan.LeadPrior)
	return replenish.Compute(p.rules[k], p.items[k/p.w.nW], p.plan.Costs, p.demandOf(k, t), lead)
}

// demandOf is key k's Demand at the end of day t.
func (p *stockflowPolicy) demandOf(k, t int) replenish.Demand {
	d := replenish.Demand{Rate: p.rate[k], RateSD: p.sd[k]}
	if f := p.fc[k]; len(f) > 0 {
		if off := t - p.cutoff; off < len(f) {
			d.Days, d.RunID = f[off:], p.runID
		}
	}
	return d
}

func (p *stockflowPolicy) review(ctx context.Context, l *replenishLoop, t int) error {
	w := p.w
	if t-p.lastTrain >= w.cfg.Retrain {
		if err := p.train(ctx, l, t); err != nil {
			return err
		}
	}
	for k := range w.nK {
		p.params[k] = p.compute(k, t)
		if l.open[k].qty > 0 {
			continue
		}
		rule := p.rules[k]
		review := rule.Policy == replenish.PolicyRS && (t-w.warm)%max(rule.ReviewDays, 1) == 0
		l.order(k, replenish.Quantity(rule, p.items[k/w.nW], p.params[k], l.position(k), review), t)
	}
	// Lateral transfers, after the purchase review, within each continent.
	for i := range w.nS {
		for _, g := range p.groups {
			if len(g) < 2 {
				continue
			}
			p.sites = p.sites[:0]
			for _, j := range g {
				k := i*w.nW + j
				p.sites = append(p.sites, replenish.Site{
					Warehouse: w.whs[j].ID, Region: w.whs[j].Region,
					Position: replenish.Position{OnHand: l.onHand[k], OnOrder: l.open[k].qty, InTransit: l.transit[k]},
					Params:   p.params[k], Demand: p.demandOf(k, t),
				})
			}
			for _, tr := range replenish.ProposeTransfers(p.items[i], p.sites, p.plan.Transfer) {
				from, okFrom := p.siteKey(i, g, tr.From)
				to, okTo := p.siteKey(i, g, tr.To)
				if !okFrom || !okTo {
					return fmt.Errorf("transfer %s → %s of %s outside its warehouses", tr.From, tr.To, p.items[i].SKU)
				}
				l.transfer(from, to, tr.Qty, tr.TransitDays, t)
			}
		}
	}
	return nil
}

// siteKey is the key of SKU i at warehouse id among the group g.
func (p *stockflowPolicy) siteKey(i int, g []int, id event.WarehouseID) (int, bool) {
	for _, j := range g {
		if p.w.whs[j].ID == id {
			return i*p.w.nW + j, true
		}
	}
	return 0, false
}
