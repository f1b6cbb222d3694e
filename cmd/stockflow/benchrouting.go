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
	"slices"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/pipelines/routing"
)

// Names of the policies `stockflow bench routing` compares.
const (
	routPolicyBatch   = "stockflow"
	routPolicySingle  = "stockflow_single"
	routPolicyNearest = "nearest"
	routPolicyExact   = "exact"
)

// The bench's economics and goals.
const (
	// routShortageShare turns the list price into the cost of a unit of
	// demand short (lost margin and goodwill).
	routShortageShare = 0.5
	// routHorizon is the days after the peak over which the stockouts
	// that routing caused are counted (the router's horizon too).
	routHorizon = 14
	// routForecastDays is the window of the warm-up the forecast's mean
	// and spread are taken from.
	routForecastDays = 28
	// Goals of issue 6.
	routGoalGap   = 0.01
	routGoalP99Ms = 5.0
)

// routUnitKg is the shipping weight of a unit per simulator category (the
// simulator has no weights).
var routUnitKg = map[string]float64{
	"grocery": 0.8, "beverages": 1.5, "household": 1.2, "personal-care": 0.4, "electronics": 1.5,
	"toys": 0.8, "apparel": 0.5, "garden": 2.5, "sports": 1.5, "books": 0.6,
}

// routingConfig is what `stockflow bench routing` runs.
type routingConfig struct {
	Orders     int
	Seed       uint64
	SKUs       int
	Warehouses int
	// Rate is the orders per second of the replay.
	Rate     float64
	WindowMs int64
	MaxBatch int
	// Warmup is the days of demand the forecasts are taken from.
	Warmup int
	// Capacity scales each warehouse's daily capacity, 1 being the load
	// of the orders it is nearest to.
	Capacity   float64
	ExactNodes int64
	// Progress receives a line per policy (nil: none).
	Progress io.Writer
}

func (c routingConfig) validate() error {
	switch {
	case c.Orders < 1 || c.SKUs < 1:
		return errors.New("--orders and --skus must be positive")
	case c.Warehouses < 1 || c.Warehouses > sim.MaxWarehouses:
		return fmt.Errorf("--warehouses must be in 1..%d", sim.MaxWarehouses)
	case !(c.Rate > 0) || c.WindowMs < 1 || c.MaxBatch < 1:
		return errors.New("--rate, --window-ms and --max-batch must be positive")
	case c.Warmup < routForecastDays || c.Warmup+routHorizon > sim.MaxDays:
		return fmt.Errorf("--warmup must be in %d..%d", routForecastDays, sim.MaxDays-routHorizon)
	case !(c.Capacity > 0) || c.ExactNodes < 1:
		return errors.New("--capacity and --exact-nodes must be positive")
	}
	return nil
}

// routingBench is the result of `stockflow bench routing`.
type routingBench struct {
	Orders     int     `json:"orders"`
	Seed       uint64  `json:"seed"`
	SKUs       int     `json:"skus"`
	Warehouses int     `json:"warehouses"`
	RatePerS   float64 `json:"rate_per_s"`
	WindowMs   int64   `json:"window_ms"`
	MaxBatch   int     `json:"max_batch"`
	Batches    int     `json:"batches"`
	MeanBatch  float64 `json:"mean_batch"`
	Seconds    float64 `json:"seconds"`
	// Policies are stockflow (batched), stockflow_single, nearest and
	// exact, in that order.
	Policies []routingPolicyResult `json:"policies"`
	// GapToOptimal is stockflow's batch cost over the exact optimum of
	// the same batches (each on the state stockflow's own earlier
	// decisions left), minus 1; where a batch is not proven within
	// --exact-nodes, the best solution found (Exact.GapBound bounds the
	// true gap then).
	GapToOptimal float64     `json:"gap_to_optimal"`
	Exact        routingOpt  `json:"exact"`
	Goals        routingGoal `json:"goals"`
}

// routingOpt describes the exact solves behind gap_to_optimal.
type routingOpt struct {
	// Batches solved; Proven of them to optimality; Equal where stockflow's
	// batch cost equals the optimum (to 1e-6).
	Batches int `json:"batches"`
	Proven  int `json:"proven"`
	Equal   int `json:"equal"`
	// StockflowCost and ExactCost add up the batches.
	StockflowCost float64 `json:"stockflow_cost"`
	ExactCost     float64 `json:"exact_cost"`
	// LowerBound adds up the proven optima and, for batches not proven,
	// their root bounds; GapBound is StockflowCost over it, minus 1: an
	// upper bound of the true gap.
	LowerBound float64 `json:"lower_bound"`
	GapBound   float64 `json:"gap_bound"`
	// Nodes is the branch-and-bound nodes, MaxNodes the most of one solve.
	Nodes    int64   `json:"nodes"`
	MaxNodes int64   `json:"max_nodes"`
	Seconds  float64 `json:"seconds"`
}

// routingGoal is issue 6's goals, measured.
type routingGoal struct {
	WithinOnePercent    bool    `json:"within_1pct_of_optimal"`
	BeatsNearest        bool    `json:"beats_nearest_with_stockouts"`
	NearestSaving       float64 `json:"saving_vs_nearest"`
	P99UnderFiveMs      bool    `json:"p99_under_5ms"`
	P99Ms               float64 `json:"p99_ms"`
	SustainedOrdersPerS float64 `json:"sustained_orders_per_s"`
}

// routingPolicyResult is one policy's run over the order stream.
type routingPolicyResult struct {
	Policy string `json:"policy"`
	// TotalCost is the cost model's total over the decisions (shipping,
	// handling, split, opportunity and backorder costs) as priced when
	// they were made.
	TotalCost       float64 `json:"total_cost"`
	ShippingCost    float64 `json:"shipping_cost"`
	HandlingCost    float64 `json:"handling_cost"`
	SplitCost       float64 `json:"split_cost"`
	OpportunityCost float64 `json:"opportunity_cost"`
	BackorderCost   float64 `json:"backorder_cost"`
	SplitsPerOrder  float64 `json:"splits_per_order"`
	Routed          int     `json:"routed"`
	Split           int     `json:"split"`
	Backordered     int     `json:"backordered"`
	Rejected        int     `json:"rejected"`
	// Reasons counts the backorders and rejections by reason.
	Reasons map[routing.Reason]int `json:"reasons"`
	MeanKm  float64                `json:"mean_km"`
	// Stockouts14d counts the (key, day) pairs with demand lost in the 14
	// days after the peak; StockoutsCaused14d those beyond the same
	// simulation without the orders; LostUnitsCaused14d and
	// StockoutCost14d the units and their shortage cost beyond it.
	Stockouts14d       int64   `json:"stockouts_14d"`
	StockoutsCaused14d int64   `json:"stockouts_caused_14d"`
	LostUnitsCaused14d int64   `json:"lost_units_caused_14d"`
	StockoutCost14d    float64 `json:"stockout_cost_14d"`
	// TotalCostWithStockouts is what is paid: shipping, handling, split
	// and backorder costs plus StockoutCost14d (no opportunity estimate).
	TotalCostWithStockouts float64 `json:"total_cost_with_stockouts"`
	// P50Ms and P99Ms are decision latencies at the replay rate on one
	// core: from when the order (or its batch) is ready to when its
	// decision is out, queueing behind earlier work included; the batch
	// window's wait is apart, in P99WaitMs, and P99EndToEndMs has both.
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	P99WaitMs     float64 `json:"p99_wait_ms"`
	P99EndToEndMs float64 `json:"p99_end_to_end_ms"`
	// P99ServiceMs is the 99th percentile of the compute time behind an
	// order's decision (its batch's, when batched), without queueing.
	P99ServiceMs float64 `json:"p99_service_ms"`
	// DecisionsPerS is orders over the time spent deciding them.
	DecisionsPerS float64 `json:"decisions_per_s"`
	Seconds       float64 `json:"seconds"`
}

// benchRouting is `stockflow bench routing`: stockflow's router (with
// regional batching), the same router one order at a time, the
// nearest warehouse with stock, and the exact optimum of each batch, on
// the same simulated order stream and stock.
//
// The instance comes from internal/sim with the given seed: the network
// (warehouses WH01.. with their coordinates and regions), the catalog,
// the opening stock (the simulator's opening counts) and the first
// --orders web orders of the simulated history, with their ship-to
// points, service levels and promised dates. They are replayed as one
// peak: Poisson arrivals at --rate orders per second from the opening
// stock, before any receipt or store sale. Demand comes from Sim.Demand
// over --warmup days plus 14: each key's forecast is the mean and
// standard deviation of its last 28 warm-up days (a rate forecast), and
// the 14 days after are the realised local demand the stockout count
// plays. Each key's next receipt is 1..21 days away, drawn from (seed,
// key) alone (beyond 14: none in the horizon), of 14 days of forecast
// demand in case packs. Units weigh by category (routUnitKg); a unit
// short costs half its list price. Each warehouse can ship --capacity
// times the orders and units of the orders it is nearest to (at least a
// quarter of an even share of its market).
//
// Batches are cut once, by routing.Batcher on the replay clock (--window-ms,
// --max-batch), and are the same for every batched policy. Every policy
// starts from the same state; its decisions are reserved (State.Apply) as
// they are made, in arrival or batch-closing order.
//
// Afterwards the 14 days are played per key against what each policy
// left: receipts on their day, demand served from stock, the rest lost;
// the same play without any order gives the baseline the caused stockouts
// are counted against.
func benchRouting(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench routing", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
	orders := fs.Int("orders", 20000, "orders in the stream")
	seed := fs.Uint64("seed", 1, "simulator seed")
	skus := fs.Int("skus", 1000, "SKUs")
	warehouses := fs.Int("warehouses", 10, "warehouses (1.."+fmt.Sprint(sim.MaxWarehouses)+")")
	rate := fs.Float64("rate", 5000, "orders per second in the replay")
	window := fs.Int64("window-ms", routing.DefaultWindowMs, "batch window in milliseconds")
	maxBatch := fs.Int("max-batch", routing.DefaultBatchOrders, "orders that close a batch early")
	warmup := fs.Int("warmup", 56, "days of demand the forecasts come from")
	capacity := fs.Float64("capacity", 1.1, "daily capacity per warehouse, as a multiple of its nearest-warehouse load")
	nodes := fs.Int64("exact-nodes", 2_000_000, "branch-and-bound nodes per exact batch solve")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg := routingConfig{Orders: *orders, Seed: *seed, SKUs: *skus, Warehouses: *warehouses, Rate: *rate,
		WindowMs: *window, MaxBatch: *maxBatch, Warmup: *warmup, Capacity: *capacity, ExactNodes: *nodes, Progress: os.Stderr}
	out, err := runRoutingBench(ctx, cfg)
	if err != nil {
		return err
	}
	res := out.result
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%d orders, %d SKUs × %d warehouses, seed %d, %.0f orders/s, %d batches (mean %.1f), %.1f s\n\n",
		res.Orders, res.SKUs, res.Warehouses, res.Seed, res.RatePerS, res.Batches, res.MeanBatch, res.Seconds)
	fmt.Printf("%-17s %11s %11s %7s %7s %9s %12s %9s %9s %11s\n", "policy", "total", "shipping", "splits", "backord",
		"stockouts", "with stockout", "p50 ms", "p99 ms", "decisions/s")
	for _, p := range res.Policies {
		fmt.Printf("%-17s %11.0f %11.0f %7.3f %7d %9d %12.0f %9.3f %9.3f %11.0f\n", p.Policy, p.TotalCost, p.ShippingCost,
			p.SplitsPerOrder, p.Backordered, p.StockoutsCaused14d, p.TotalCostWithStockouts, p.P50Ms, p.P99Ms, p.DecisionsPerS)
	}
	fmt.Printf("\ngap to the exact batch optimum: %.4f%% (%d of %d batches proven, %d at the optimum)\n",
		100*res.GapToOptimal, res.Exact.Proven, res.Exact.Batches, res.Exact.Equal)
	fmt.Printf("goals: within 1%% %v, cheaper than nearest with stockouts %v (%.1f%%), p99 under 5 ms %v\n",
		res.Goals.WithinOnePercent, res.Goals.BeatsNearest, 100*res.Goals.NearestSaving, res.Goals.P99UnderFiveMs)
	return nil
}

// routingOutcome is a bench run with what the tests check.
type routingOutcome struct {
	result routingBench
	world  *routWorld
	runs   []*routRun // per policy, as in result.Policies
	// exactAbove counts batches where the exact cost exceeded stockflow's.
	exactAbove int
}

// routWorld is the instance every policy runs on.
type routWorld struct {
	cfg        routingConfig
	nS, nW     int
	items      []sim.Item
	whs        []sim.Warehouse
	router     *routing.Router
	orders     []event.Order
	arrive     []time.Duration // replay arrival of each order
	opening    []int64         // per key (k = sku·W + warehouse)
	mean, sd   []float64       // per key, the forecast's daily mean and spread
	realized   [][]float64     // per key, the 14 days after the peak
	receiptDay []int           // per key, 0: none in the horizon
	receiptQty []int64
	batches    []routBatch
}

// routBatch is a batch as order indexes and its closing time.
type routBatch struct {
	idx    []int
	closed time.Duration
}

var errEnoughOrders = errors.New("enough orders")

func newRoutWorld(ctx context.Context, cfg routingConfig) (*routWorld, error) {
	s, err := sim.New(sim.Config{Seed: cfg.Seed, SKUs: cfg.SKUs, Warehouses: cfg.Warehouses, Days: sim.MaxDays,
		BadShare: -1, Start: benchSimStart})
	if err != nil {
		return nil, fmt.Errorf("simulate orders: %w", err)
	}
	w := &routWorld{cfg: cfg, nS: cfg.SKUs, nW: cfg.Warehouses, items: s.Items(), whs: s.Warehouses()}
	nK := w.nS * w.nW
	w.opening = make([]int64, nK)
	var st event.Stock
	_, err = s.History(ctx, func(rec sim.Record) error {
		switch rec.Topic {
		case event.TopicStock:
			if !rec.TS.Equal(benchSimStart) {
				return nil
			}
			if err := event.DecodeStock(rec.Value, &st); err != nil {
				return err
			}
			if st.Kind == event.KindCount {
				k, err := w.key(st.SKU, st.Warehouse)
				if err != nil {
					return err
				}
				w.opening[k] = st.Qty
			}
		case event.TopicOrders:
			var o event.Order
			if err := event.DecodeOrder(rec.Value, &o); err != nil {
				return err
			}
			w.orders = append(w.orders, o)
			if len(w.orders) == cfg.Orders {
				return errEnoughOrders
			}
		}
		return nil
	})
	if !errors.Is(err, errEnoughOrders) {
		if err == nil {
			err = fmt.Errorf("the simulated history has only %d orders", len(w.orders))
		}
		return nil, fmt.Errorf("simulate orders: %w", err)
	}

	ds, err := sim.New(sim.Config{Seed: cfg.Seed, SKUs: cfg.SKUs, Warehouses: cfg.Warehouses,
		Days: cfg.Warmup + routHorizon, BadShare: -1, Start: benchSimStart})
	if err != nil {
		return nil, fmt.Errorf("simulate demand: %w", err)
	}
	demand := ds.Demand()
	w.mean, w.sd = make([]float64, nK), make([]float64, nK)
	w.realized = make([][]float64, nK)
	w.receiptDay, w.receiptQty = make([]int, nK), make([]int64, nK)
	for k := range nK {
		var sum, sq float64
		for _, v := range demand[k][cfg.Warmup-routForecastDays : cfg.Warmup] {
			sum += v
			sq += v * v
		}
		m := sum / routForecastDays
		w.mean[k], w.sd[k] = m, math.Sqrt(max(sq/routForecastDays-m*m, 0))
		w.realized[k] = demand[k][cfg.Warmup:]
		rng := rand.New(rand.NewPCG(cfg.Seed^0x5851f42d4c957f2d, uint64(k)))
		if day := 1 + rng.IntN(21); day <= routHorizon && m > 0 {
			cp := max(int64(w.items[k/w.nW].CasePack), 1)
			w.receiptDay[k] = day
			w.receiptQty[k] = roundUpTo(max(int64(math.Ceil(routHorizon*m)), 1), cp)
		}
	}

	if err := w.buildRouter(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xa0761d6478bd642f))
	w.arrive = make([]time.Duration, len(w.orders))
	var t float64
	for i := range w.orders {
		t += rng.ExpFloat64() / cfg.Rate
		w.arrive[i] = time.Duration(t * float64(time.Second))
	}
	w.cutBatches()
	return w, nil
}

// key is the index of (sku, warehouse).
func (w *routWorld) key(sku event.SKU, wh event.WarehouseID) (int, error) {
	i, j := -1, -1
	if n, err := fmt.Sscanf(string(sku), "SKU-%d", &i); n != 1 || err != nil || i < 1 || i > w.nS {
		return 0, fmt.Errorf("unknown SKU %q", sku)
	}
	if n, err := fmt.Sscanf(string(wh), "WH%d", &j); n != 1 || err != nil || j < 1 || j > w.nW {
		return 0, fmt.Errorf("unknown warehouse %q", wh)
	}
	return (i-1)*w.nW + j - 1, nil
}

// buildRouter sets the network and capacities: each warehouse ships
// Capacity × the load of the orders it is nearest to (within their
// market), at least a quarter of an even share of the market.
func (w *routWorld) buildRouter() error {
	markets := routing.DefaultMarkets()
	orders, units := make([]float64, w.nW), make([]float64, w.nW)
	mktOrders, mktUnits, mktWH := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, wh := range w.whs {
		mktWH[markets[wh.Country]]++
	}
	for i := range w.orders {
		o := &w.orders[i]
		var u float64
		for _, l := range o.Lines {
			u += float64(l.Qty)
		}
		mkt := markets[o.ShipTo.Country]
		best, bestKm := -1, math.Inf(1)
		for j, wh := range w.whs {
			if markets[wh.Country] != mkt {
				continue
			}
			if km := routing.Haversine(wh.Lat, wh.Lon, o.ShipTo.Lat, o.ShipTo.Lon); km < bestKm {
				best, bestKm = j, km
			}
		}
		if best >= 0 {
			orders[best]++
			units[best] += u
			mktOrders[mkt]++
			mktUnits[mkt] += u
		}
	}
	rws := make([]routing.Warehouse, w.nW)
	for j, wh := range w.whs {
		mkt := markets[wh.Country]
		floorO, floorU := mktOrders[mkt]/mktWH[mkt]/4, mktUnits[mkt]/mktWH[mkt]/4
		rws[j] = routing.Warehouse{ID: wh.ID, Region: wh.Region, Country: wh.Country, Lat: wh.Lat, Lon: wh.Lon,
			OrderCapacity: int64(math.Ceil(w.cfg.Capacity * max(orders[j], floorO, 1))),
			UnitCapacity:  int64(math.Ceil(w.cfg.Capacity * max(units[j], floorU, 1)))}
	}
	rc := routing.DefaultConfig(rws)
	rc.Batch.WindowMs, rc.Batch.MaxOrders = w.cfg.WindowMs, w.cfg.MaxBatch
	r, err := routing.New(rc)
	if err != nil {
		return fmt.Errorf("routing config: %w", err)
	}
	w.router = r
	return nil
}

// cutBatches groups the orders into regional batches on the replay clock.
func (w *routWorld) cutBatches() {
	base := benchSimStart
	index := make(map[string]int, len(w.orders))
	for i := range w.orders {
		index[w.orders[i].OrderID] = i
	}
	add := func(b *routing.Batch) {
		rb := routBatch{closed: b.Closed.Sub(base)}
		for i := range b.Orders {
			rb.idx = append(rb.idx, index[b.Orders[i].OrderID])
		}
		w.batches = append(w.batches, rb)
	}
	bt := w.router.NewBatcher()
	for i := range w.orders {
		at := base.Add(w.arrive[i])
		for _, b := range bt.Due(at) {
			add(b)
		}
		if b := bt.Add(w.orders[i], at); b != nil {
			add(b)
		}
	}
	for {
		next, ok := bt.Next()
		if !ok {
			break
		}
		for _, b := range bt.Due(next) {
			add(b)
		}
	}
}

// newState is the opening state: every key's stock, forecast and receipt.
func (w *routWorld) newState() (*routing.State, error) {
	st := w.router.NewState()
	for i, it := range w.items {
		kg, ok := routUnitKg[it.Category]
		if !ok {
			kg = routing.DefaultUnitKg
		}
		if err := st.SetItem(it.SKU, routing.Item{UnitKg: kg, ShortageCost: routShortageShare * it.Price}); err != nil {
			return nil, err
		}
		for j, wh := range w.whs {
			k := i*w.nW + j
			err := st.SetStock(it.SKU, wh.ID, routing.Stock{Available: w.opening[k], NextReceiptDays: float64(w.receiptDay[k]),
				Demand: routing.Demand{Rate: w.mean[k], RateSD: w.sd[k]}})
			if err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// routRun is one policy's decisions and timings.
type routRun struct {
	name      string
	decisions []routing.Decision // per order
	decided   []int              // decisions made per order (must be 1)
	// jobs are the units of work in the order they ran: one order, or a
	// batch.
	jobs  []routJob
	state *routing.State
	// minAvail is the least available stock seen after any reservation.
	minAvail int64
}

// routJob is a piece of decision work: ready when its order (or batch)
// was, taking service.
type routJob struct {
	ready   time.Duration
	service time.Duration
	orders  []int
}

func (w *routWorld) newRun(name string) (*routRun, error) {
	st, err := w.newState()
	if err != nil {
		return nil, err
	}
	return &routRun{name: name, decisions: make([]routing.Decision, len(w.orders)), decided: make([]int, len(w.orders)),
		state: st}, nil
}

// apply reserves decision d of order i.
func (r *routRun) apply(i int, d routing.Decision) error {
	if err := r.state.Apply(&d); err != nil {
		return fmt.Errorf("%s: order %s: %w", r.name, d.OrderID, err)
	}
	for _, a := range d.Assignments {
		r.minAvail = min(r.minAvail, r.state.Available(a.SKU, a.Warehouse))
	}
	r.decisions[i] = d
	r.decided[i]++
	return nil
}

// runSingle decides each order alone, in arrival order.
func (w *routWorld) runSingle(ctx context.Context, name string, decide func(*event.Order, *routing.State) routing.Decision) (*routRun, error) {
	run, err := w.newRun(name)
	if err != nil {
		return nil, err
	}
	for i := range w.orders {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t := time.Now()
		d := decide(&w.orders[i], run.state)
		run.jobs = append(run.jobs, routJob{ready: w.arrive[i], service: time.Since(t), orders: []int{i}})
		if err := run.apply(i, d); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// nearest is the baseline: the whole order from the nearest warehouse
// (that arrives in time and has capacity) with every line available, else
// each line from the nearest that has it (within the allowed packages),
// else a backorder.
func (w *routWorld) nearest(o *event.Order, st *routing.State) routing.Decision {
	r := w.router
	cfg := r.Config()
	type cand struct {
		id routing.Warehouse
		km float64
	}
	cands := make([]cand, 0, len(cfg.Warehouses))
	for _, wh := range cfg.Warehouses {
		n, u := st.Usage(wh.ID)
		if wh.OrderCapacity > 0 && n >= wh.OrderCapacity || wh.UnitCapacity > 0 && u >= wh.UnitCapacity {
			continue
		}
		cands = append(cands, cand{wh, routing.Haversine(wh.Lat, wh.Lon, o.ShipTo.Lat, o.ShipTo.Lon)})
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.km < b.km:
			return -1
		case a.km > b.km:
			return 1
		}
		return 0
	})
	for _, c := range cands {
		asg := make([]routing.Assignment, 0, len(o.Lines))
		ok := true
		for _, l := range o.Lines {
			if st.Available(l.SKU, c.id.ID) < l.Qty {
				ok = false
				break
			}
			asg = append(asg, routing.Assignment{Warehouse: c.id.ID, SKU: l.SKU, Qty: l.Qty})
		}
		if !ok {
			continue
		}
		if d, err := r.Price(o, st, asg); err == nil {
			return d
		}
	}
	// Line by line, from the nearest warehouse that has it and arrives
	// in time on its own.
	var asg []routing.Assignment
	for _, l := range o.Lines {
		found := false
		for _, c := range cands {
			a := routing.Assignment{Warehouse: c.id.ID, SKU: l.SKU, Qty: l.Qty}
			if st.Available(l.SKU, c.id.ID) < l.Qty {
				continue
			}
			one := *o
			one.Lines = []event.OrderLine{l}
			if _, err := r.Price(&one, st, []routing.Assignment{a}); err == nil {
				asg = append(asg, a)
				found = true
				break
			}
		}
		if !found {
			asg = nil
			break
		}
	}
	if asg != nil {
		if d, err := r.Price(o, st, asg); err == nil {
			return d
		}
	}
	d, err := r.Price(o, st, nil)
	if err != nil { // cannot happen: an empty assignment prices the backorder
		panic(err)
	}
	return d
}

// runBatched decides the batches with decide, in closing order; with
// gap set, it also solves each batch exactly on the same state first and
// records the comparison.
func (w *routWorld) runBatched(ctx context.Context, name string, exact bool, gap *routingOpt, exactAbove *int) (*routRun, error) {
	run, err := w.newRun(name)
	if err != nil {
		return nil, err
	}
	r := w.router
	opt := routing.ExactOptions{MaxNodes: w.cfg.ExactNodes}
	for _, b := range w.batches {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		orders := make([]event.Order, len(b.idx))
		for j, i := range b.idx {
			orders[j] = w.orders[i]
		}
		t := time.Now()
		ds := r.Batch(orders, run.state)
		if exact {
			opt.Incumbent = ds
			if ds, _, err = r.Exact(orders, run.state, opt); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		run.jobs = append(run.jobs, routJob{ready: b.closed, service: time.Since(t), orders: b.idx})
		if gap != nil {
			if err := w.solveExact(orders, run.state, ds, gap, exactAbove); err != nil {
				return nil, err
			}
		}
		for j, i := range b.idx {
			if err := run.apply(i, ds[j]); err != nil {
				return nil, err
			}
		}
	}
	return run, nil
}

// solveExact solves a batch exactly on the state stockflow decided it on
// and records the comparison with stockflow's decisions ds: first without
// a starting solution (an independent search, so that a proven optimum
// above stockflow's cost would show a bug), and when that runs out of
// nodes again from stockflow's decisions.
func (w *routWorld) solveExact(orders []event.Order, st *routing.State, ds []routing.Decision, gap *routingOpt, exactAbove *int) error {
	t := time.Now()
	opt := routing.ExactOptions{MaxNodes: w.cfg.ExactNodes}
	_, stats, err := w.router.Exact(orders, st, opt)
	if err == nil && !stats.Proven {
		gap.Nodes += stats.Nodes
		opt.Incumbent = ds
		_, stats, err = w.router.Exact(orders, st, opt)
	}
	if err != nil {
		return fmt.Errorf("exact optimum of a batch: %w", err)
	}
	gap.Seconds += time.Since(t).Seconds()
	var c float64
	for i := range ds {
		c += ds[i].Total
	}
	gap.Batches++
	gap.StockflowCost += c
	gap.ExactCost += stats.Cost
	gap.Nodes += stats.Nodes
	gap.MaxNodes = max(gap.MaxNodes, stats.Nodes)
	if stats.Proven {
		gap.Proven++
		gap.LowerBound += stats.Cost
		if stats.Cost > c+1e-6 {
			*exactAbove++
		}
	} else {
		gap.LowerBound += stats.RootBound
	}
	if math.Abs(c-stats.Cost) <= 1e-6 {
		gap.Equal++
	}
	return nil
}

// result measures a run: costs, statuses, stockouts and latencies.
func (w *routWorld) result(run *routRun, base routStockouts, seconds float64) routingPolicyResult {
	res := routingPolicyResult{Policy: run.name, Seconds: seconds, Reasons: map[routing.Reason]int{}}
	n := float64(len(w.orders))
	var splits, km, pkgs float64
	for i := range run.decisions {
		d := &run.decisions[i]
		res.TotalCost += d.Total
		res.ShippingCost += d.Breakdown.Shipping
		res.HandlingCost += d.Breakdown.Handling
		res.SplitCost += d.Breakdown.Split
		res.OpportunityCost += d.Breakdown.Opportunity
		res.BackorderCost += d.Breakdown.Backorder
		switch d.Status {
		case routing.StatusRouted:
			res.Routed++
		case routing.StatusSplit:
			res.Split++
		case routing.StatusBackordered:
			res.Backordered++
		case routing.StatusRejected:
			res.Rejected++
		}
		if d.Reason != "" {
			res.Reasons[d.Reason]++
		}
		if len(d.Packages) > 1 {
			splits += float64(len(d.Packages) - 1)
		}
		for _, p := range d.Packages {
			km += p.Km
			pkgs++
		}
	}
	res.SplitsPerOrder = splits / n
	if pkgs > 0 {
		res.MeanKm = km / pkgs
	}
	so := w.stockouts(run.state)
	res.Stockouts14d = so.pairs
	res.StockoutsCaused14d = so.pairs - base.pairs
	res.LostUnitsCaused14d = so.units - base.units
	res.StockoutCost14d = so.cost - base.cost
	res.TotalCostWithStockouts = res.ShippingCost + res.HandlingCost + res.SplitCost + res.BackorderCost + res.StockoutCost14d

	lat, wait, e2e, busy := w.latencies(run.jobs)
	res.P50Ms, res.P99Ms = quantileMs(lat, 0.5), quantileMs(lat, 0.99)
	res.P99WaitMs, res.P99EndToEndMs = quantileMs(wait, 0.99), quantileMs(e2e, 0.99)
	svc := make([]time.Duration, 0, len(w.orders))
	for _, j := range run.jobs {
		for range j.orders {
			svc = append(svc, j.service)
		}
	}
	res.P99ServiceMs = quantileMs(svc, 0.99)
	if busy > 0 {
		res.DecisionsPerS = n / busy.Seconds()
	}
	return res
}

// latencies plays the jobs on one worker at the replay clock: a job
// starts when it is ready and the worker is free, and each of its orders
// is decided when it ends. It returns per order the decision latency
// (from ready), the wait before ready (the batch window), the end-to-end
// latency (from arrival), and the total service time.
func (w *routWorld) latencies(jobs []routJob) (lat, wait, e2e []time.Duration, busy time.Duration) {
	var free time.Duration
	for _, j := range jobs {
		start := max(j.ready, free)
		end := start + j.service
		free = end
		busy += j.service
		for _, i := range j.orders {
			lat = append(lat, end-j.ready)
			wait = append(wait, j.ready-w.arrive[i])
			e2e = append(e2e, end-w.arrive[i])
		}
	}
	return lat, wait, e2e, busy
}

func quantileMs(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(int(math.Ceil(q*float64(len(s))))-1, len(s)-1)
	return float64(s[max(i, 0)]) / float64(time.Millisecond)
}

// routStockouts is the outcome of the 14 days after the peak.
type routStockouts struct {
	pairs, units int64
	cost         float64
}

// stockouts plays the 14 days after the peak for every key from what st
// has available (nil: the opening stock, as if no order had been taken):
// the receipt arrives at the start of its day, the day's demand is served
// from stock, the rest is lost.
func (w *routWorld) stockouts(st *routing.State) routStockouts {
	var out routStockouts
	for i, it := range w.items {
		short := routShortageShare * it.Price
		for j, wh := range w.whs {
			k := i*w.nW + j
			stock := w.opening[k]
			if st != nil {
				stock = st.Available(it.SKU, wh.ID)
			}
			for d := range routHorizon {
				if w.receiptDay[k] == d && d > 0 {
					stock += w.receiptQty[k]
				}
				dem := int64(w.realized[k][d])
				if lost := dem - stock; lost > 0 {
					out.pairs++
					out.units += lost
					out.cost += float64(lost) * short
				}
				stock = max(stock-dem, 0)
			}
		}
	}
	return out
}

// runRoutingBench builds the instance and runs every policy on it.
func runRoutingBench(ctx context.Context, cfg routingConfig) (*routingOutcome, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	w, err := newRoutWorld(ctx, cfg)
	if err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) {
		if cfg.Progress != nil {
			_, _ = fmt.Fprintf(cfg.Progress, "bench routing: "+format+"\n", args...) // progress is best effort
		}
	}
	progress("%d orders, %d batches, instance built in %.1f s", len(w.orders), len(w.batches), time.Since(t0).Seconds())
	out := &routingOutcome{world: w, result: routingBench{Orders: len(w.orders), Seed: cfg.Seed, SKUs: cfg.SKUs,
		Warehouses: cfg.Warehouses, RatePerS: cfg.Rate, WindowMs: cfg.WindowMs, MaxBatch: cfg.MaxBatch, Batches: len(w.batches)}}
	out.result.MeanBatch = float64(len(w.orders)) / float64(max(len(w.batches), 1))
	base := w.stockouts(nil)
	gap := &routingOpt{}
	type policy struct {
		name string
		run  func() (*routRun, error)
	}
	policies := []policy{
		{routPolicyBatch, func() (*routRun, error) {
			return w.runBatched(ctx, routPolicyBatch, false, gap, &out.exactAbove)
		}},
		{routPolicySingle, func() (*routRun, error) { return w.runSingle(ctx, routPolicySingle, w.router.Route) }},
		{routPolicyNearest, func() (*routRun, error) { return w.runSingle(ctx, routPolicyNearest, w.nearest) }},
		{routPolicyExact, func() (*routRun, error) { return w.runBatched(ctx, routPolicyExact, true, nil, nil) }},
	}
	for _, p := range policies {
		runtime.GC() // each policy starts without the previous one's garbage
		t := time.Now()
		run, err := p.run()
		if err != nil {
			return nil, fmt.Errorf("bench routing %s: %w", p.name, err)
		}
		secs := time.Since(t).Seconds()
		if p.name == routPolicyBatch {
			secs -= gap.Seconds // the exact solves measured alongside are not stockflow's
		}
		r := w.result(run, base, secs)
		out.runs = append(out.runs, run)
		out.result.Policies = append(out.result.Policies, r)
		progress("%s in %.1f s: total cost %.0f, with stockouts %.0f, p99 %.3f ms", r.Policy, r.Seconds, r.TotalCost,
			r.TotalCostWithStockouts, r.P99Ms)
	}
	if gap.ExactCost > 0 {
		out.result.GapToOptimal = gap.StockflowCost/gap.ExactCost - 1
	}
	if gap.LowerBound > 0 {
		gap.GapBound = gap.StockflowCost/gap.LowerBound - 1
	}
	out.result.Exact = *gap
	sf, near := out.result.Policies[0], out.result.Policies[2]
	out.result.Goals = routingGoal{
		WithinOnePercent: out.result.GapToOptimal <= routGoalGap && gap.Proven == gap.Batches,
		BeatsNearest:     sf.TotalCostWithStockouts < near.TotalCostWithStockouts,
		P99UnderFiveMs:   sf.P99Ms < routGoalP99Ms,
		P99Ms:            sf.P99Ms,
	}
	if near.TotalCostWithStockouts > 0 {
		out.result.Goals.NearestSaving = 1 - sf.TotalCostWithStockouts/near.TotalCostWithStockouts
	}
	out.result.Goals.SustainedOrdersPerS = sf.DecisionsPerS
	out.result.Seconds = time.Since(t0).Seconds()
	return out, nil
}
