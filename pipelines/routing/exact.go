package routing

import (
	"fmt"
	"math"
	"slices"

	"github.com/stockflow/stockflow/internal/event"
)

// Defaults of ExactOptions.
const (
	DefaultExactNodes = 5_000_000
	DefaultExactPlans = 100_000
)

// ExactOptions bound Exact's search.
type ExactOptions struct {
	// MaxNodes bounds the branch-and-bound nodes (0: DefaultExactNodes). A
	// search that reaches it returns the best it found, with Proven false.
	MaxNodes int64
	// MaxPlans bounds the integer assignments enumerated per order (0:
	// DefaultExactPlans); an order with more makes Exact fail with
	// *ErrTooLarge.
	MaxPlans int
	// Incumbent, if set, is a feasible decision for each order (Batch's,
	// say): the first upper bound, which the search must beat.
	Incumbent []Decision
}

// ExactStats describe an Exact search.
type ExactStats struct {
	// Nodes are the partial assignments the search extended; Plans the
	// integer assignments enumerated over all orders (backorders
	// included).
	Nodes int64 `json:"nodes"`
	Plans int   `json:"plans"`
	// Proven is true when the search finished: Cost is then the optimum.
	Proven bool `json:"proven"`
	// Cost is the batch's cost (the sum of the decisions' totals).
	Cost float64 `json:"cost"`
	// RootBound is the sum of each order's cheapest plan on its own, a
	// lower bound of any batch cost.
	RootBound float64 `json:"root_bound"`
}

// ErrTooLarge is returned by Exact when an order has more integer
// assignments than ExactOptions.MaxPlans.
type ErrTooLarge struct {
	OrderID string
	Plans   int
}

func (e *ErrTooLarge) Error() string {
	return fmt.Sprintf("routing: exact: order %s has more than %d assignments", e.OrderID, e.Plans)
}

// xplan is a plan with its cost on the state the search started from.
type xplan struct {
	plan
	root float64
}

// Exact decides orders jointly, like Batch, but returns a proven optimum
// of the batch's cost (ExactStats.Proven) unless it runs out of nodes.
//
// What "exact" means here: every order's every integer assignment is
// enumerated — each line's units split over the warehouses that arrive
// in time, in any quantities the available stock allows, with at most
// Config.MaxSplits + 1 warehouses per order, plus the backorder — and
// branch and bound searches the product of these sets, order by order,
// for the combination of least batch cost that respects the shared
// stock and today's capacities. The cost model is exactly the one Route
// and Batch price with (carrier lane per package by its actual weight,
// the convex opportunity cost of each location's joint draw); nothing is
// relaxed or linearised. The bound of a partial assignment is its cost
// plus, for every order still open, the cost of its cheapest plan on
// the starting state: valid because taking stock first never makes a
// later draw cheaper (the opportunity cost is convex, so its increments
// grow) and capacity only shrinks. A branch is cut when its bound is not
// below the best total found minus 1e-9, so the result is optimal to
// 1e-9 in money. The enumeration grows exponentially with lines and
// warehouses: it is meant for batches of tens of small orders.
//
// st is left as it was found.
func (r *Router) Exact(orders []event.Order, st *State, opt ExactOptions) ([]Decision, ExactStats, error) {
	if opt.MaxNodes <= 0 {
		opt.MaxNodes = DefaultExactNodes
	}
	if opt.MaxPlans <= 0 {
		opt.MaxPlans = DefaultExactPlans
	}
	n := len(orders)
	preps := make([]*prep, n)
	all := make([][]xplan, n)
	var stats ExactStats
	var open []int // orders to decide
	for i := range orders {
		p := r.prepare(&orders[i], st)
		preps[i] = p
		if p.reject != "" {
			continue
		}
		ps, err := r.plansOf(p, st, opt.MaxPlans)
		if err != nil {
			return nil, ExactStats{}, err
		}
		all[i] = ps
		stats.Plans += len(ps)
		stats.RootBound += ps[0].root
		open = append(open, i)
	}
	// suffix[k] bounds the cost of open[k:] from below.
	suffix := make([]float64, len(open)+1)
	for k := len(open) - 1; k >= 0; k-- {
		suffix[k] = suffix[k+1] + all[open[k]][0].root
	}

	best := math.Inf(1)
	bestPlans := make([]plan, n)
	if opt.Incumbent != nil {
		c, ps, err := r.incumbent(preps, opt.Incumbent, st)
		if err != nil {
			return nil, ExactStats{}, err
		}
		best = c
		copy(bestPlans, ps)
	}
	chosen := make([]plan, n)
	stats.Proven = true
	var dfs func(k int, cur float64)
	dfs = func(k int, cur float64) {
		if k == len(open) {
			if cur < best-eps {
				best = cur
				copy(bestPlans, chosen)
			}
			return
		}
		i := open[k]
		p := preps[i]
		for _, xp := range all[i] {
			if cur+xp.root+suffix[k+1] >= best-eps {
				return // sorted by root cost: the rest cannot do better
			}
			if stats.Nodes >= opt.MaxNodes {
				stats.Proven = false
				return
			}
			stats.Nodes++
			inc := r.cost(p, xp.plan, st)
			if cur+inc+suffix[k+1] >= best-eps {
				continue // includes plans that no longer fit (+Inf)
			}
			r.move(p, xp.plan, st, -1)
			chosen[i] = xp.plan
			dfs(k+1, cur+inc)
			r.move(p, xp.plan, st, +1)
		}
	}
	dfs(0, 0)

	out := make([]Decision, n)
	for i, p := range preps {
		if p.reject != "" {
			out[i] = p.rejected()
			continue
		}
		out[i] = r.batchDecision(p, bestPlans[i], st)
		r.move(p, bestPlans[i], st, -1)
		stats.Cost += out[i].Total
	}
	for _, i := range open {
		r.move(preps[i], bestPlans[i], st, +1)
	}
	return out, stats, nil
}

// incumbent turns decisions into plans and returns their batch cost on
// st, which it leaves as it was.
func (r *Router) incumbent(preps []*prep, ds []Decision, st *State) (float64, []plan, error) {
	if len(ds) != len(preps) {
		return 0, nil, fmt.Errorf("routing: exact: %d incumbent decisions for %d orders", len(ds), len(preps))
	}
	ps := make([]plan, len(preps))
	var c float64
	var err error
	done := 0
	for i, p := range preps {
		if p.reject != "" {
			continue
		}
		switch ds[i].Status {
		case StatusBackordered:
			ps[i] = plan{bo: true}
		case StatusRouted, StatusSplit:
			var parts []part
			if parts, err = p.partsOf(r, ds[i].Assignments); err != nil {
				break
			}
			ps[i] = plan{parts: parts}
		default:
			err = fmt.Errorf("routing: exact: incumbent of order %s is %s", p.id, ds[i].Status)
		}
		if err != nil {
			break
		}
		inc := r.cost(p, ps[i], st)
		if math.IsInf(inc, 1) {
			err = fmt.Errorf("routing: exact: incumbent of order %s does not fit", p.id)
			break
		}
		c += inc
		r.move(p, ps[i], st, -1)
		done = i + 1
	}
	for i := range done {
		if preps[i].reject == "" {
			r.move(preps[i], ps[i], st, +1)
		}
	}
	return c, ps, err
}

// plansOf enumerates every integer assignment of p that fits st on its
// own, and the backorder, cheapest first.
func (r *Router) plansOf(p *prep, st *State, maxPlans int) ([]xplan, error) {
	var cand []int // slots with capacity and some stock
	for i := range p.slots {
		w := p.slots[i].w
		wh := &r.whs[w]
		if wh.OrderCapacity > 0 && st.orders[w] >= wh.OrderCapacity || r.unitsLeft(w, st) <= 0 {
			continue
		}
		for l := range p.lines {
			if p.lines[l].avail(w) > 0 {
				cand = append(cand, i)
				break
			}
		}
	}
	out := []xplan{{plan: plan{bo: true}, root: p.boCost}}
	uses := make([]int, len(p.slots))
	nUsed := 0
	var parts []part
	leaves := 0
	var err error
	var walk func(l, from int, rem int64)
	walk = func(l, from int, rem int64) {
		if err != nil {
			return
		}
		if rem == 0 {
			if l+1 < len(p.lines) {
				walk(l+1, 0, p.lines[l+1].qty)
				return
			}
			if leaves++; leaves > maxPlans {
				err = &ErrTooLarge{OrderID: p.id, Plans: maxPlans}
				return
			}
			ps := slices.Clone(parts)
			sortParts(ps)
			if b, ok := r.eval(p, ps, st); ok {
				out = append(out, xplan{plan: plan{parts: ps}, root: b.Total()})
			}
			return
		}
		for c := from; c < len(cand); c++ {
			s := cand[c]
			if uses[s] == 0 && nUsed == r.maxPkgs {
				continue
			}
			a := min(rem, p.lines[l].avail(p.slots[s].w))
			if uses[s] == 0 {
				nUsed++
			}
			uses[s]++
			for q := int64(1); q <= a; q++ {
				parts = append(parts, part{l: l, s: s, q: q})
				walk(l, c+1, rem-q)
				parts = parts[:len(parts)-1]
			}
			uses[s]--
			if uses[s] == 0 {
				nUsed--
			}
		}
	}
	if len(cand) > 0 {
		walk(0, 0, p.lines[0].qty)
	}
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b xplan) int {
		switch {
		case a.root < b.root:
			return -1
		case a.root > b.root:
			return 1
		}
		return 0
	})
	return out, nil
}
