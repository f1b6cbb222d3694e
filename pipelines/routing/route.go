package routing

import (
	"math"
	"slices"
	"sync"

	"github.com/stockflow/stockflow/internal/event"
)

// Route decides one order on st, without changing st (Apply the decision
// to reserve it). It looks at the sets of at most Config.MaxSplits + 1
// warehouses that arrive in time, have capacity left and stock of some
// line — single warehouses first, then pairs, then triples — skipping
// every set whose lower bound (its packages' cheapest fixed costs, the
// split penalty, and each unit at its cheapest first-unit cost in the
// set) cannot beat the fourth-best found. It fills each remaining set
// unit by unit at the least marginal cost (shipping per kg at the lane
// cheapest for the whole order, handling per unit, and the next unit's
// opportunity cost), within the stock and today's unit capacity, and
// prices the result exactly. The cheapest wins; the next three are the
// alternatives (the backorder among them when it ranks, or when fewer
// ways exist). An order that no set can ship, or that costs more to ship
// than to backorder, is backordered with the reason; an order no lane
// serves, or an invalid one, is rejected.
//
// Filling a set greedily is optimal for that set when its warehouses
// each have one lane in time and their unit capacity does not bind (the
// cost is then separable and convex per line and warehouse); otherwise it
// is a heuristic. Exact enumerates every integer assignment instead.
func (r *Router) Route(o *event.Order, st *State) Decision {
	p := r.prepareInto(getPrep(), o, st)
	defer preps.Put(p)
	if p.reject != "" {
		return p.rejected()
	}
	s := r.searcher(p, st, 4)
	defer searchers.Put(s)
	s.run()
	return r.decide(p, st, s.top)
}

// decide turns the search's options (cheapest first) into a decision.
func (r *Router) decide(p *prep, st *State, top []option) Decision {
	bo := Alternative{Status: StatusBackordered, Total: p.boCost, Breakdown: Breakdown{Backorder: p.boCost}}
	alts := func(opts []option, withBO bool) []Alternative {
		out := make([]Alternative, 0, 3)
		for _, o := range opts {
			if withBO && bo.Total < o.total && len(out) < 3 {
				out = append(out, bo)
				withBO = false
			}
			if len(out) == 3 {
				break
			}
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
			out = append(out, a)
		}
		if withBO && len(out) < 3 {
			out = append(out, bo)
		}
		return out
	}
	if len(top) == 0 {
		d := p.backorder(r.diagnose(p, st))
		d.Alternatives = []Alternative{}
		return d
	}
	if top[0].total > p.boCost {
		d := p.backorder(ReasonCost)
		d.Alternatives = alts(top, false)
		return d
	}
	b, ok := r.eval(p, top[0].parts, st)
	if !ok { // cannot happen: the search checked stock and capacity
		d := p.backorder(r.diagnose(p, st))
		d.Alternatives = []Alternative{}
		return d
	}
	d := r.decision(p, top[0].parts, b)
	d.Alternatives = alts(top[1:], true)
	return d
}

// option is a way to ship an order found by the search.
type option struct {
	parts []part
	b     Breakdown
	total float64
}

// searcher finds the k cheapest warehouse sets for one order.
type searcher struct {
	r  *Router
	p  *prep
	st *State
	k  int

	useful []int // slots with capacity and some stock, as indexes into p.slots
	nu     int
	// per line × useful slot (index l*nu + u)
	avail  []int64
	varRef []float64 // shipping per kg at the lane cheapest for the whole order, × kg, + handling per unit
	unitLB []float64 // a lower bound of any unit's cost there (+Inf without stock)
	incOff []int
	incs   []float64 // opportunity cost of the 1st, 2nd, ... unit
	left   []int64   // units each useful slot can still ship today
	lineLB []float64 // per line, q × its cheapest unitLB anywhere
	unitsLB,
	minFixed float64

	set   []int
	taken []int64 // per line × useful slot, while filling a set
	cap   []int64 // per useful slot, units left while filling a set
	top   []option
}

var searchers = sync.Pool{New: func() any { return new(searcher) }}

// searcher sets up the search of p on st for the k cheapest sets.
func (r *Router) searcher(p *prep, st *State, k int) *searcher {
	s, ok := searchers.Get().(*searcher)
	if !ok {
		s = new(searcher)
	}
	*s = searcher{r: r, p: p, st: st, k: k,
		useful: s.useful[:0], avail: s.avail[:0], varRef: s.varRef[:0], unitLB: s.unitLB[:0],
		incOff: s.incOff[:0], incs: s.incs[:0], left: s.left[:0], lineLB: s.lineLB[:0],
		set: s.set[:0], taken: s.taken[:0], cap: s.cap[:0], top: make([]option, 0, k)}
	for i := range p.slots {
		w := p.slots[i].w
		wh := &r.whs[w]
		if wh.OrderCapacity > 0 && st.orders[w] >= wh.OrderCapacity {
			continue
		}
		left := r.unitsLeft(w, st)
		if left <= 0 {
			continue
		}
		stocked := false
		for l := range p.lines {
			if p.lines[l].avail(w) > 0 {
				stocked = true
				break
			}
		}
		if stocked {
			s.useful = append(s.useful, i)
			s.left = append(s.left, left)
		}
	}
	s.nu = len(s.useful)
	n := len(p.lines) * s.nu
	s.avail = slices.Grow(s.avail, n)[:n]
	s.varRef = slices.Grow(s.varRef, n)[:n]
	s.unitLB = slices.Grow(s.unitLB, n)[:n]
	s.incOff = slices.Grow(s.incOff, n+1)[:n+1]
	s.minFixed = math.Inf(1)
	for u, i := range s.useful {
		sl := &p.slots[i]
		s.minFixed = min(s.minFixed, sl.fixedLB())
		li, _ := sl.ship(p.kg)
		perKg := sl.lanes[li].perKg
		for l := range p.lines {
			ln := &p.lines[l]
			j := l*s.nu + u
			a := ln.avail(sl.w)
			s.avail[j] = a
			s.varRef[j] = perKg*ln.kg + sl.hpu
			s.incOff[j] = len(s.incs)
			m := min(a, ln.qty)
			if m <= 0 {
				s.unitLB[j] = math.Inf(1)
				continue
			}
			k := &ln.st.keys[sl.w]
			prev := shortage(k.mean, k.sd, float64(a))
			for q := int64(1); q <= m; q++ {
				cur := shortage(k.mean, k.sd, float64(a-q))
				s.incs = append(s.incs, ln.st.shortage*(cur-prev))
				prev = cur
			}
			s.unitLB[j] = sl.minPerKg*ln.kg + sl.hpu + s.incs[s.incOff[j]]
		}
	}
	s.incOff[n] = len(s.incs)
	for l := range p.lines {
		m := math.Inf(1)
		for u := range s.nu {
			m = min(m, s.unitLB[l*s.nu+u])
		}
		s.lineLB = append(s.lineLB, float64(p.lines[l].qty)*m)
		s.unitsLB += s.lineLB[l]
	}
	s.taken = slices.Grow(s.taken, n)[:n]
	s.cap = slices.Grow(s.cap, s.nu)[:s.nu]
	return s
}

// threshold is the total a set must beat to enter the top k.
func (s *searcher) threshold() float64 {
	if len(s.top) < s.k {
		return math.Inf(1)
	}
	return s.top[s.k-1].total
}

// run searches the sets of up to maxPkgs useful slots, smallest first, so
// that single warehouses set the bar the splits must pass.
func (s *searcher) run() {
	if s.nu == 0 || math.IsInf(s.unitsLB, 1) {
		return // some line is nowhere in stock
	}
	for size := 1; size <= min(s.r.maxPkgs, s.nu); size++ {
		s.dfs(0, 0, size)
	}
}

// dfs extends the current set to size slots from start on; fixed bounds
// the fixed costs of the set so far.
func (s *searcher) dfs(start int, fixed float64, size int) {
	split := s.r.cfg.SplitPenalty
	for u := start; u < s.nu; u++ {
		f := fixed + s.p.slots[s.useful[u]].fixedLB()
		s.set = append(s.set, u)
		if len(s.set) == size {
			s.try(f)
		} else if f+float64(size-1)*split+float64(size-len(s.set))*s.minFixed+s.unitsLB < s.threshold() {
			s.dfs(u+1, f, size)
		}
		s.set = s.set[:len(s.set)-1]
	}
}

// try fills the current set, whose packages' fixed costs are at least
// fixed, and keeps it if it is among the k cheapest.
func (s *searcher) try(fixed float64) {
	p, nu := s.p, s.nu
	lb := fixed + float64(len(s.set)-1)*s.r.cfg.SplitPenalty
	for l := range p.lines {
		m := math.Inf(1)
		for _, u := range s.set {
			m = min(m, s.unitLB[l*nu+u])
		}
		lb += float64(p.lines[l].qty) * m
	}
	th := s.threshold()
	if !(lb < th) {
		return
	}
	for _, u := range s.set {
		s.cap[u] = s.left[u]
	}
	var opp float64
	for l := range p.lines {
		for _, u := range s.set {
			s.taken[l*nu+u] = 0
		}
		for need := p.lines[l].qty; need > 0; need-- {
			best, bc := -1, math.Inf(1)
			for _, u := range s.set {
				j := l*nu + u
				t := s.taken[j]
				if t >= s.avail[j] || t >= p.lines[l].qty || s.cap[u] <= 0 {
					continue
				}
				if c := s.varRef[j] + s.incs[s.incOff[j]+int(t)]; c < bc {
					best, bc = u, c
				}
			}
			if best < 0 {
				return
			}
			j := l*nu + best
			opp += s.incs[s.incOff[j]+int(s.taken[j])]
			s.taken[j]++
			s.cap[best]--
		}
	}
	// Price the packages; a set with an idle warehouse is a smaller set.
	b := Breakdown{Opportunity: opp, Split: float64(len(s.set)-1) * s.r.cfg.SplitPenalty}
	for _, u := range s.set {
		sl := &p.slots[s.useful[u]]
		var units int64
		var kg float64
		for l := range p.lines {
			t := s.taken[l*nu+u]
			units += t
			kg += float64(t) * p.lines[l].kg
		}
		if units == 0 {
			return
		}
		_, price := sl.ship(kg)
		b.Shipping += price
		b.Handling += sl.hpp + sl.hpu*float64(units)
	}
	total := b.Total()
	if !(total < th) {
		return
	}
	var buf []part
	if len(s.top) == s.k {
		buf = s.top[s.k-1].parts[:0]
		s.top = s.top[:s.k-1]
	}
	for _, u := range s.set { // slots ascend with u: parts come sorted
		for l := range p.lines {
			if t := s.taken[l*nu+u]; t > 0 {
				buf = append(buf, part{l: l, s: s.useful[u], q: t})
			}
		}
	}
	i := len(s.top)
	for i > 0 && s.top[i-1].total > total {
		i--
	}
	s.top = slices.Insert(s.top, i, option{parts: buf, b: b, total: total})
}
