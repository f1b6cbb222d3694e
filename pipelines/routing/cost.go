package routing

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// Router decides orders on a State under one Config. It holds no mutable
// state: one Router may serve many goroutines, each with its own State.
type Router struct {
	cfg     Config
	whs     []Warehouse
	whIndex map[event.WarehouseID]int
	whMkt   []string
	hand    []Handling
	markets map[string]string
	maxPkgs int
	xyz     [][3]float64 // warehouses on the unit sphere
}

// New validates cfg and returns its router.
func New(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg, whs: slices.Clone(cfg.Warehouses), whIndex: map[event.WarehouseID]int{},
		markets: cfg.Markets, maxPkgs: cfg.MaxSplits + 1}
	if r.markets == nil {
		r.markets = DefaultMarkets()
	}
	r.cfg.Warehouses = r.whs
	for i, w := range r.whs {
		r.whIndex[w.ID] = i
		r.whMkt = append(r.whMkt, r.markets[w.Country])
		h := cfg.Handling
		if w.Handling != nil {
			h = *w.Handling
		}
		r.hand = append(r.hand, h)
		r.xyz = append(r.xyz, unitVector(w.Lat, w.Lon))
	}
	return r, nil
}

// Config returns the router's configuration.
func (r *Router) Config() Config { return r.cfg }

// Haversine is the great-circle distance in km between two points given
// in degrees (on a sphere of radius 6371 km).
func Haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	p1, p2 := lat1*rad, lat2*rad
	dp, dl := p2-p1, (lon2-lon1)*rad
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * 6371 * math.Asin(math.Sqrt(min(a, 1)))
}

// unitVector is a point given in degrees on the unit sphere.
func unitVector(lat, lon float64) [3]float64 {
	const rad = math.Pi / 180
	sp, cp := math.Sincos(lat * rad)
	sl, cl := math.Sincos(lon * rad)
	return [3]float64{cp * cl, cp * sl, sp}
}

// chordKm is the great-circle distance in km between two unit vectors
// (the same as Haversine of the points).
func chordKm(a, b [3]float64) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return 2 * 6371 * math.Asin(min(math.Sqrt(dx*dx+dy*dy+dz*dz)/2, 1))
}

// lane is a rate-card option from a warehouse to an order's ship-to point
// that arrives in time.
type lane struct {
	card, zone, transit int
	base, perKg         float64
}

// slot is a warehouse as an order sees it: the distance, the lanes that
// arrive in time, and its handling.
type slot struct {
	w                 int
	km                float64
	lanes             []lane
	minBase, minPerKg float64
	hpp, hpu          float64
}

// fixedLB is a lower bound of a package's cost before its units.
func (s *slot) fixedLB() float64 { return s.minBase + s.hpp }

// ship returns the cheapest lane for a package of kg and its price.
func (s *slot) ship(kg float64) (int, float64) {
	best, price := 0, math.Inf(1)
	for i := range s.lanes {
		if c := s.lanes[i].base + s.lanes[i].perKg*kg; c < price {
			best, price = i, c
		}
	}
	return best, price
}

// pline is an order line with its SKU's state (nil: routing has never
// heard of the SKU, so it is nowhere in stock).
type pline struct {
	sku event.SKU
	qty int64
	st  *skuState
	kg  float64 // per unit
}

func (l *pline) avail(w int) int64 {
	if l.st == nil {
		return 0
	}
	return l.st.keys[w].avail
}

// prep is an order made ready for routing: lines merged by SKU, the
// warehouses that can ship it in time, the backorder's cost.
type prep struct {
	id     string
	lines  []pline
	units  int64
	kg     float64
	slots  []slot
	reject Reason
	// late is set when lanes exist but none arrives in time.
	late   bool
	boCost float64

	laneBuf []lane // backs the slots' lanes
}

// budgetDays is the whole days from the order's day to its promised day
// (UTC dates), or the service level's days without a promise.
func (r *Router) budgetDays(o *event.Order) (int, bool) {
	if !o.PromisedBy.IsZero() && !o.TS.IsZero() {
		day := func(t time.Time) int64 { return int64(math.Floor(float64(t.Unix()) / 86400)) }
		return int(day(o.PromisedBy) - day(o.TS)), true
	}
	d, ok := r.cfg.ServiceDays[o.ServiceLevel]
	return d, ok
}

// prepare makes o ready for routing on st.
func (r *Router) prepare(o *event.Order, st *State) *prep {
	return r.prepareInto(&prep{}, o, st)
}

// preps recycles Route's preps.
var preps = sync.Pool{New: func() any { return new(prep) }}

func getPrep() *prep {
	if p, ok := preps.Get().(*prep); ok {
		return p
	}
	return new(prep)
}

// prepareInto is prepare reusing p's buffers.
func (r *Router) prepareInto(p *prep, o *event.Order, st *State) *prep {
	*p = prep{id: o.OrderID, lines: p.lines[:0], slots: p.slots[:0], laneBuf: p.laneBuf[:0]}
	if len(o.Lines) == 0 {
		p.reject = ReasonInvalidOrder
		return p
	}
	for _, l := range o.Lines {
		if l.SKU == "" || l.Qty < 1 {
			p.reject = ReasonInvalidOrder
			return p
		}
		merged := false
		for i := range p.lines {
			if p.lines[i].sku == l.SKU {
				p.lines[i].qty += l.Qty
				merged = true
				break
			}
		}
		if !merged {
			p.lines = append(p.lines, pline{sku: l.SKU, qty: l.Qty})
		}
	}
	if len(p.lines) > r.cfg.MaxLines {
		p.reject = ReasonTooManyLines
		return p
	}
	budget, ok := r.budgetDays(o)
	if !ok {
		p.reject = ReasonInvalidOrder
		return p
	}
	p.boCost = r.cfg.BackorderCost
	for i := range p.lines {
		l := &p.lines[i]
		l.st = st.skus[l.sku]
		l.kg = r.cfg.UnitKg
		short := r.cfg.ShortageCost
		if l.st != nil {
			l.kg, short = l.st.kg, l.st.shortage
		}
		p.units += l.qty
		p.kg += float64(l.qty) * l.kg
		p.boCost += float64(l.qty) * short
	}
	dstMkt, dstKnown := r.markets[o.ShipTo.Country]
	anyLane := false
	p.slots = slices.Grow(p.slots[:0], len(r.whs))
	buf := slices.Grow(p.laneBuf[:0], len(r.whs)*len(r.cfg.Cards))
	dst := unitVector(o.ShipTo.Lat, o.ShipTo.Lon)
	for w := range r.whs {
		wh := &r.whs[w]
		km := -1.0
		start := len(buf)
		for c := range r.cfg.Cards {
			card := &r.cfg.Cards[c]
			if card.From != "*" && card.From != r.whMkt[w] || card.To != "*" && (!dstKnown || card.To != dstMkt) {
				continue
			}
			if km < 0 {
				km = chordKm(r.xyz[w], dst)
			}
			for z := range card.Bands {
				b := &card.Bands[z]
				if km > b.MaxKm {
					continue
				}
				anyLane = true
				if wh.DispatchDays+b.TransitDays <= budget {
					buf = append(buf, lane{card: c, zone: z + 1, transit: b.TransitDays, base: b.Base, perKg: b.PerKg})
				}
				break
			}
		}
		if len(buf) == start {
			continue
		}
		lanes := buf[start:len(buf):len(buf)]
		s := slot{w: w, km: km, lanes: lanes, minBase: math.Inf(1), minPerKg: math.Inf(1), hpp: r.hand[w].PerPackage, hpu: r.hand[w].PerUnit}
		for _, ln := range lanes {
			s.minBase = min(s.minBase, ln.base)
			s.minPerKg = min(s.minPerKg, ln.perKg)
		}
		p.slots = append(p.slots, s)
	}
	p.laneBuf = buf
	switch {
	case !anyLane:
		p.reject = ReasonNoLane
	case len(p.slots) == 0:
		p.late = true
	}
	slices.SortStableFunc(p.slots, func(a, b slot) int {
		switch {
		case a.km < b.km:
			return -1
		case a.km > b.km:
			return 1
		}
		return 0
	})
	return p
}

// part is qty units of line l shipped from slot s.
type part struct {
	l, s int
	q    int64
}

// sortParts orders parts by slot, then line.
func sortParts(ps []part) {
	slices.SortFunc(ps, func(a, b part) int {
		if a.s != b.s {
			return a.s - b.s
		}
		return a.l - b.l
	})
}

// eval prices parts (sorted by slot, then line) on st as it is: ok is
// false when the stock or today's capacity does not allow them, or an
// order would ship in more packages than allowed.
func (r *Router) eval(p *prep, parts []part, st *State) (b Breakdown, ok bool) {
	pkgs := 0
	for i := 0; i < len(parts); {
		s := &p.slots[parts[i].s]
		var units int64
		var kg float64
		j := i
		for ; j < len(parts) && parts[j].s == parts[i].s; j++ {
			pt := &parts[j]
			l := &p.lines[pt.l]
			if pt.q <= 0 || pt.q > l.avail(s.w) {
				return Breakdown{}, false
			}
			units += pt.q
			kg += float64(pt.q) * l.kg
			k := &l.st.keys[s.w]
			b.Opportunity += opportunity(l.st.shortage, k.mean, k.sd, k.avail, pt.q)
		}
		wh := &r.whs[s.w]
		if c := wh.OrderCapacity; c > 0 && st.orders[s.w]+1 > c {
			return Breakdown{}, false
		}
		if c := wh.UnitCapacity; c > 0 && st.units[s.w]+units > c {
			return Breakdown{}, false
		}
		_, price := s.ship(kg)
		b.Shipping += price
		b.Handling += s.hpp + s.hpu*float64(units)
		pkgs++
		i = j
	}
	if pkgs == 0 || pkgs > r.maxPkgs {
		return Breakdown{}, false
	}
	b.Split = float64(pkgs-1) * r.cfg.SplitPenalty
	return b, true
}

// move takes (sign −1) or gives back (+1) parts' stock and capacity.
func (p *prep) move(parts []part, st *State, sign int64) {
	last := -1
	for _, pt := range parts {
		w := p.slots[pt.s].w
		p.lines[pt.l].st.keys[w].avail += sign * pt.q
		if pt.s != last {
			st.orders[w] -= sign
			last = pt.s
		}
		st.units[w] -= sign * pt.q
	}
}

// decision builds the decision of shipping parts (sorted) priced at b.
func (r *Router) decision(p *prep, parts []part, b Breakdown) Decision {
	d := Decision{OrderID: p.id, Status: StatusRouted, Breakdown: b, Total: b.Total()}
	d.Assignments = make([]Assignment, 0, len(parts))
	for i := 0; i < len(parts); {
		s := &p.slots[parts[i].s]
		wh := r.whs[s.w].ID
		var units int64
		var kg float64
		j := i
		for ; j < len(parts) && parts[j].s == parts[i].s; j++ {
			units += parts[j].q
			kg += float64(parts[j].q) * p.lines[parts[j].l].kg
		}
		li, price := s.ship(kg)
		ln := s.lanes[li]
		pk := Package{Warehouse: wh, Service: r.cfg.Cards[ln.card].Service, Zone: ln.zone, Km: s.km,
			TransitDays: ln.transit, Units: units, Kg: kg, Shipping: price, Handling: s.hpp + s.hpu*float64(units)}
		d.Packages = append(d.Packages, pk)
		for ; i < j; i++ {
			pt := parts[i]
			l := &p.lines[pt.l]
			k := &l.st.keys[s.w]
			share := float64(pt.q)
			cost := opportunity(l.st.shortage, k.mean, k.sd, k.avail, pt.q) +
				(pk.Shipping+pk.Handling)*share/float64(units) + b.Split*share/float64(p.units)
			d.Assignments = append(d.Assignments, Assignment{Warehouse: wh, SKU: l.sku, Qty: pt.q, Cost: cost})
		}
	}
	if len(d.Packages) > 1 {
		d.Status = StatusSplit
	}
	return d
}

// backorder is the decision to make p wait, for reason.
func (p *prep) backorder(reason Reason) Decision {
	b := Breakdown{Backorder: p.boCost}
	return Decision{OrderID: p.id, Status: StatusBackordered, Reason: reason, Breakdown: b, Total: b.Total(),
		Assignments: []Assignment{}, Packages: []Package{}}
}

// rejected is the decision to refuse p.
func (p *prep) rejected() Decision {
	return Decision{OrderID: p.id, Status: StatusRejected, Reason: p.reject,
		Assignments: []Assignment{}, Packages: []Package{}, Alternatives: []Alternative{}}
}

// diagnose says why p cannot ship on st: not in time, no stock, no
// capacity, or too many packages.
func (r *Router) diagnose(p *prep, st *State) Reason {
	if p.late {
		return ReasonNotInTime
	}
	withCap := true
	for i := range p.lines {
		l := &p.lines[i]
		var all, capable int64
		for _, s := range p.slots {
			a := l.avail(s.w)
			all += a
			wh := &r.whs[s.w]
			if (wh.OrderCapacity == 0 || st.orders[s.w] < wh.OrderCapacity) &&
				(wh.UnitCapacity == 0 || st.units[s.w] < wh.UnitCapacity) {
				capable += min(a, r.unitsLeft(s.w, st))
			}
		}
		if all < l.qty {
			return ReasonNoStock
		}
		if capable < l.qty {
			withCap = false
		}
	}
	if !withCap {
		return ReasonNoCapacity
	}
	return ReasonMaxSplits
}

// unitsLeft is what warehouse w can still ship today, in units.
func (r *Router) unitsLeft(w int, st *State) int64 {
	if c := r.whs[w].UnitCapacity; c > 0 {
		return max(c-st.units[w], 0)
	}
	return math.MaxInt64 / 4
}

// Price returns the decision of shipping o as asg says, priced on st as
// it is (st is not changed): the breakdown, the packages and the
// assignments' costs, without alternatives. asg must ship every line's
// whole quantity from warehouses that arrive in time, within the
// available stock, today's capacity and Config.MaxSplits; an empty asg
// prices the backorder. A rejected order gives its rejection.
func (r *Router) Price(o *event.Order, st *State, asg []Assignment) (Decision, error) {
	p := r.prepare(o, st)
	if p.reject != "" {
		return p.rejected(), nil
	}
	if len(asg) == 0 {
		d := p.backorder(r.diagnose(p, st))
		d.Alternatives = []Alternative{}
		return d, nil
	}
	parts, err := p.partsOf(r, asg)
	if err != nil {
		return Decision{}, err
	}
	b, ok := r.eval(p, parts, st)
	if !ok {
		return Decision{}, fmt.Errorf("routing: order %s: assignment exceeds the stock, today's capacity or %d packages", o.OrderID, r.maxPkgs)
	}
	d := r.decision(p, parts, b)
	d.Alternatives = []Alternative{}
	return d, nil
}

// partsOf turns assignments into parts, checking that they ship every
// line exactly from warehouses that arrive in time.
func (p *prep) partsOf(r *Router, asg []Assignment) ([]part, error) {
	got := make([]int64, len(p.lines))
	var parts []part
	for _, a := range asg {
		w, ok := r.whIndex[a.Warehouse]
		if !ok {
			return nil, fmt.Errorf("routing: order %s: unknown warehouse %s", p.id, a.Warehouse)
		}
		s := slices.IndexFunc(p.slots, func(s slot) bool { return s.w == w })
		if s < 0 {
			return nil, fmt.Errorf("routing: order %s: %s cannot deliver by the promised date", p.id, a.Warehouse)
		}
		l := slices.IndexFunc(p.lines, func(l pline) bool { return l.sku == a.SKU })
		if l < 0 || a.Qty < 1 {
			return nil, fmt.Errorf("routing: order %s: assignment of %d %s", p.id, a.Qty, a.SKU)
		}
		got[l] += a.Qty
		if k := slices.IndexFunc(parts, func(pt part) bool { return pt.l == l && pt.s == s }); k >= 0 {
			parts[k].q += a.Qty
		} else {
			parts = append(parts, part{l: l, s: s, q: a.Qty})
		}
	}
	for i, l := range p.lines {
		if got[i] != l.qty {
			return nil, fmt.Errorf("routing: order %s: %d of %s assigned, the order has %d", p.id, got[i], l.sku, l.qty)
		}
	}
	sortParts(parts)
	return parts, nil
}

// Region is the region of the warehouse nearest to o's ship-to point
// among those with a lane to it, whatever its transit time ("" when none
// has): the key orders are batched by.
func (r *Router) Region(o *event.Order) string {
	mkt, known := r.markets[o.ShipTo.Country]
	dst := unitVector(o.ShipTo.Lat, o.ShipTo.Lon)
	best, bestKm := "", math.Inf(1)
	for w := range r.whs {
		served := false
		for c := range r.cfg.Cards {
			card := &r.cfg.Cards[c]
			if (card.From == "*" || card.From == r.whMkt[w]) && (card.To == "*" || known && card.To == mkt) {
				served = true
				break
			}
		}
		if !served {
			continue
		}
		wh := &r.whs[w]
		if km := chordKm(r.xyz[w], dst); km < bestKm {
			best, bestKm = wh.Region, km
		}
	}
	return best
}
