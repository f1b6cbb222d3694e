package routing

import (
	"math"

	"github.com/stockflow/stockflow/internal/event"
)

// eps is the least improvement, in money, that the optimisers act on.
const eps = 1e-9

// plan is what one order of a batch does: ship parts, or wait (bo).
type plan struct {
	parts []part
	bo    bool
}

// Batch decides orders jointly on st, stock and capacity shared: the
// orders of one region and window (BatchConfig). The batch's cost is the
// sum of its decisions' totals, each priced after the decisions before
// it in orders' order, so that the opportunity costs of several orders
// drawing on one location add up to the cost of their joint draw.
//
// It starts from Route's decisions taken one after the other, then
// improves them until a pass changes nothing, at most
// BatchConfig.MaxPasses passes: each order in turn is taken out and
// routed again against all the others (best response), and each pair of
// orders that compete — a SKU in common, a warehouse with a capacity
// limit in common, or one of them backordered — is taken out and
// re-inserted the other way round; a move is kept when it lowers the
// batch's cost. The result is a local optimum of the joint problem;
// Exact gives the global one on small batches. A backorder that the batch
// chose to let other orders ship has the reason batch_contention.
//
// st is left as it was found; Apply the decisions, in order, to reserve
// them.
func (r *Router) Batch(orders []event.Order, st *State) []Decision {
	n := len(orders)
	preps := make([]*prep, n)
	plans := make([]plan, n)
	var units int64
	for i := range orders {
		preps[i] = r.prepare(&orders[i], st)
		units += preps[i].units
	}
	// A warehouse whose capacity left is less than the batch could ask
	// of it makes its orders compete.
	tight := make([]bool, len(r.whs))
	for w := range r.whs {
		wh := &r.whs[w]
		tight[w] = wh.OrderCapacity > 0 && wh.OrderCapacity-st.orders[w] < int64(n) ||
			wh.UnitCapacity > 0 && wh.UnitCapacity-st.units[w] < units
	}
	// Sequential decisions first.
	for i, p := range preps {
		if p.reject != "" {
			continue
		}
		plans[i] = r.best(p, st)
		r.move(p, plans[i], st, -1)
	}
	for pass := 0; pass < r.cfg.Batch.MaxPasses; pass++ {
		improved := false
		for i, p := range preps {
			if p.reject != "" {
				continue
			}
			r.move(p, plans[i], st, +1)
			cur := r.cost(p, plans[i], st)
			if nb := r.best(p, st); r.cost(p, nb, st) < cur-eps {
				plans[i] = nb
				improved = true
			}
			r.move(p, plans[i], st, -1)
		}
		for i := range n {
			for j := i + 1; j < n; j++ {
				if preps[i].reject != "" || preps[j].reject != "" || !compete(preps[i], plans[i], preps[j], plans[j], tight) {
					continue
				}
				if r.swap(preps[i], &plans[i], preps[j], &plans[j], st) {
					improved = true
				}
			}
		}
		if !improved {
			break
		}
	}
	// Decisions, priced in order; then st as it was.
	out := make([]Decision, n)
	for i, p := range preps {
		if p.reject == "" {
			r.move(p, plans[i], st, +1)
		}
	}
	for i, p := range preps {
		if p.reject != "" {
			out[i] = p.rejected()
			continue
		}
		out[i] = r.batchDecision(p, plans[i], st)
		r.move(p, plans[i], st, -1)
	}
	for i, p := range preps {
		if p.reject == "" {
			r.move(p, plans[i], st, +1)
		}
	}
	return out
}

// batchDecision is the decision of plan pl for p at the current state,
// with the alternatives Route would list there.
func (r *Router) batchDecision(p *prep, pl plan, st *State) Decision {
	s := r.searcher(p, st, 4)
	defer searchers.Put(s)
	s.run()
	if pl.bo {
		reason := ReasonContention
		switch {
		case len(s.top) == 0:
			reason = r.diagnose(p, st)
		case s.top[0].total > p.boCost:
			reason = ReasonCost
		}
		d := p.backorder(reason)
		d.Alternatives = make([]Alternative, 0, 3)
		for _, o := range s.top[:min(3, len(s.top))] {
			d.Alternatives = append(d.Alternatives, r.alternative(p, o))
		}
		return d
	}
	b, _ := r.eval(p, pl.parts, st)
	d := r.decision(p, pl.parts, b)
	d.Alternatives = make([]Alternative, 0, 3)
	for _, o := range s.top {
		if len(d.Alternatives) == 3 {
			break
		}
		if !sameSlots(o.parts, pl.parts) {
			d.Alternatives = append(d.Alternatives, r.alternative(p, o))
		}
	}
	if len(d.Alternatives) < 3 {
		d.Alternatives = append(d.Alternatives, Alternative{Status: StatusBackordered, Total: p.boCost, Breakdown: Breakdown{Backorder: p.boCost}})
	}
	return d
}

func (r *Router) alternative(p *prep, o option) Alternative {
	a := Alternative{Status: StatusRouted, Total: o.total, Breakdown: o.b}
	last := -1
	for _, pt := range o.parts {
		if pt.s != last {
			a.Warehouses = append(a.Warehouses, r.whs[p.slots[pt.s].w].ID)
			last = pt.s
		}
	}
	if len(a.Warehouses) > 1 {
		a.Status = StatusSplit
	}
	return a
}

// sameSlots reports whether two part lists ship from the same warehouses.
func sameSlots(a, b []part) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i].s != b[j].s {
			return false
		}
		s := a[i].s
		for i < len(a) && a[i].s == s {
			i++
		}
		for j < len(b) && b[j].s == s {
			j++
		}
	}
	return i == len(a) && j == len(b)
}

// best is the cheapest plan for p on st: Route's choice.
func (r *Router) best(p *prep, st *State) plan {
	s := r.searcher(p, st, 1)
	defer searchers.Put(s)
	s.run()
	if len(s.top) == 0 || s.top[0].total > p.boCost {
		return plan{bo: true}
	}
	return plan{parts: s.top[0].parts}
}

// cost is the cost of plan pl for p on st (+Inf if it does not fit).
func (r *Router) cost(p *prep, pl plan, st *State) float64 {
	if pl.bo {
		return p.boCost
	}
	b, ok := r.eval(p, pl.parts, st)
	if !ok {
		return math.Inf(1)
	}
	return b.Total()
}

// move takes (−1) or gives back (+1) a plan's stock and capacity.
func (r *Router) move(p *prep, pl plan, st *State, sign int64) {
	if !pl.bo {
		p.move(pl.parts, st, sign)
	}
}

// compete reports whether two orders' decisions can affect each other
// enough to try swapping their turns: one waits, they share a SKU, or
// they ship from a warehouse whose capacity is tight.
func compete(p *prep, pp plan, q *prep, qp plan, tight []bool) bool {
	if pp.bo || qp.bo {
		return true
	}
	for _, a := range p.lines {
		for _, b := range q.lines {
			if a.sku == b.sku {
				return true
			}
		}
	}
	for _, a := range pp.parts {
		w := p.slots[a.s].w
		if !tight[w] {
			continue
		}
		for _, b := range qp.parts {
			if q.slots[b.s].w == w {
				return true
			}
		}
	}
	return false
}

// swap takes both orders out and puts them back in the other order (q
// first, each at its best response), keeping the result if it costs less.
func (r *Router) swap(p *prep, pp *plan, q *prep, qp *plan, st *State) bool {
	r.move(p, *pp, st, +1)
	r.move(q, *qp, st, +1)
	cur := r.cost(p, *pp, st)
	r.move(p, *pp, st, -1)
	cur += r.cost(q, *qp, st)
	r.move(p, *pp, st, +1)

	nq := r.best(q, st)
	alt := r.cost(q, nq, st)
	r.move(q, nq, st, -1)
	np := r.best(p, st)
	alt += r.cost(p, np, st)
	if alt < cur-eps {
		r.move(p, np, st, -1)
		*pp, *qp = np, nq
		return true
	}
	r.move(q, nq, st, +1)
	r.move(p, *pp, st, -1)
	r.move(q, *qp, st, -1)
	return false
}
