package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// item is one happening on the timeline, processed in (at, seq) order.
type item struct {
	at   int64 // Unix ms
	seq  uint64
	ref  uint64 // order, purchase order, transfer or campaign number; index into Sim.extIDs when flag is flagExternal
	key  int32
	qty  int32
	off  int32 // kOrder: first line in Sim.lines
	aux  int16 // kOrder: center; kTransferOut: destination warehouse
	n    uint8 // kOrder: number of lines
	kind uint8
	flag uint8 // channel, express, opening count, flagExternal
	ns   uint8 // id namespace of ref (see Sim.ns)
}

const (
	kCount = iota
	kSale
	kOrder
	kShip
	kReceipt
	kTransferIn
	kReturn
	kDamage
	kAdjust
	kShrink
	kCampaign
	kSweep
	kTransferOut // ordered through Sim.Order
)

// flagExternal marks a receipt or transfer that Sim.Order scheduled: its
// ref is the reorder id in Sim.extIDs.
const flagExternal = 1

// Channels of kSale (flag).
const (
	chStore = iota
	chMarket
)

type webLine struct {
	at  int64
	sku int32
	qty int32
}

type lineRec struct{ sku, qty int32 }

type campaign struct {
	n                uint64
	cat              int     // category, or -1 for a SKU list
	skus             []int32 // sorted
	regions          []string
	whs              []int32 // targeted warehouses, sorted
	byWarehouse      bool    // the event lists warehouses rather than regions
	ns               uint8
	startDay, endDay int
	expected, actual float64
	discount         float64
}

// itemHeap is a binary min-heap on (at, seq).
type itemHeap []item

func (h itemHeap) len() int   { return len(h) }
func (h itemHeap) top() *item { return &h[0] }
func less(a, b *item) bool    { return a.at < b.at || a.at == b.at && a.seq < b.seq }
func (s *Sim) push(it item)   { it.seq = s.seq; s.seq++; s.h.push(it) }
func (h *itemHeap) push(it item) {
	*h = append(*h, it)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !less(&q[i], &q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *itemHeap) pop() item {
	q := *h
	it := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && less(&q[r], &q[l]) {
			m = r
		}
		if !less(&q[m], &q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return it
}

// Random helpers.

func lognorm(r *rand.Rand, sigma float64) float64 {
	return math.Exp(sigma*r.NormFloat64() - sigma*sigma/2)
}

// poisson samples by inversion below 30 and by a rounded normal above.
func poisson(r *rand.Rand, l float64) int {
	if l <= 0 {
		return 0
	}
	if l >= 30 {
		return max(0, int(math.Round(l+math.Sqrt(l)*r.NormFloat64())))
	}
	u := r.Float64()
	p := math.Exp(-l)
	f, k := p, 0
	for u > f && k < 200 {
		k++
		p *= l / float64(k)
		f += p
	}
	return k
}

// hourMs samples a time of day (ms since UTC midnight) from a local-time
// hour profile at UTC offset tz, wrapped into the same UTC day.
func (s *Sim) hourMs(cdf *[24]float64, tz int) int64 {
	u := s.r.Float64()
	h := 0
	for h < 23 && u > cdf[h] {
		h++
	}
	return s.localMs(h, tz)
}

func (s *Sim) localMs(h, tz int) int64 {
	utc := ((h-tz)%24 + 24) % 24
	return int64(utc)*3_600_000 + s.r.Int64N(3_600_000)
}

func (s *Sim) dayOf(at int64) int { return int((at - s.startMs) / dayMs) }

// genDay puts day d's demand, warehouse work and announcements on the timeline.
func (s *Sim) genDay(d int) {
	s.day = d
	s.dayStart = s.startMs + int64(d)*dayMs
	s.dayEnd = s.dayStart + dayMs
	s.lines = s.lines[:0]
	n0 := s.h.len()
	r := s.r
	date := time.UnixMilli(s.dayStart).UTC()
	dow, doy := date.Weekday(), date.YearDay()

	if d == 0 { // opening balances, before anything else happens
		for k := range s.nK {
			s.push(item{at: s.dayStart, kind: kCount, key: int32(k), flag: 1})
		}
	}
	s.newCampaign(d)
	s.applyCampaigns(d)

	var catMul [len(categories)]float64
	for c := range categories {
		catMul[c] = categories[c].weekly[dow] * categories[c].yearly(doy)
	}
	years := float64(d) / 365.25
	for i := range s.nS {
		c := &categories[s.cat[i]]
		if r.Float64() < 1.0/45 { // list price moves: markdown, back to list, or increase
			switch u := r.Float64(); {
			case u < 0.4:
				s.price[i] = round2(s.listPrice[i] * (0.8 + 0.15*r.Float64()))
			case u < 0.8:
				s.price[i] = s.listPrice[i]
			default:
				s.price[i] = round2(s.listPrice[i] * (1.03 + 0.05*r.Float64()))
			}
		}
		pe := 1.0
		if s.price[i] != s.listPrice[i] {
			pe = math.Pow(s.price[i]/s.listPrice[i], -c.elasticity)
		}
		s.skuMul[i] = catMul[s.cat[i]] * math.Exp(s.trend[i]*years) * pe
	}

	for i := range s.nS {
		c := &categories[s.cat[i]]
		m := s.skuMul[i]
		sm := s.sizeMean[i]
		for w := range s.nW {
			k := i*s.nW + w
			mult := m
			if s.promoOn {
				mult *= float64(s.uplift[k])
			}
			if sm > 0 { // intermittent: a demand occurrence or (mostly) nothing
				if r.Float64() < min(float64(s.rate[k])*mult, 1) {
					qty := int32(1 + poisson(r, sm-1))
					if r.Float64() < c.webShare {
						s.web[w] = append(s.web[w], webLine{s.dayStart + s.hourMs(&s.hourCDF[2], sites[w].tz), int32(i), qty})
					} else {
						s.pushSale(k, w, c, qty)
					}
				}
			} else {
				lam := float64(s.rate[k]) * mult * lognorm(r, 0.3)
				lw := lam * c.webShare
				for n := poisson(r, (lam-lw)/c.meanQty); n > 0; n-- {
					s.pushSale(k, w, c, s.txnQty(c))
				}
				webQty := min(c.meanQty, 1.3)
				for n := poisson(r, lw/webQty); n > 0; n-- {
					qty := int32(1 + poisson(r, webQty-1))
					s.web[w] = append(s.web[w], webLine{s.dayStart + s.hourMs(&s.hourCDF[2], sites[w].tz), int32(i), qty})
				}
			}
			s.keyChores(k, w, d)
		}
	}
	s.buildOrders()
	if s.nW > 1 {
		s.push(item{at: s.dayStart + 18*3_600_000, kind: kSweep})
	}
	s.dayItems = s.h.len() - n0
}

func (s *Sim) txnQty(c *category) int32 {
	return int32(min(1+poisson(s.r, c.meanQty-1), c.maxQty))
}

func (s *Sim) pushSale(k, w int, c *category, qty int32) {
	ch, cdf := uint8(chStore), &s.hourCDF[0]
	if s.r.Float64() < c.marketShare {
		ch, cdf = chMarket, &s.hourCDF[1]
	}
	s.push(item{at: s.dayStart + s.hourMs(cdf, sites[w].tz), kind: kSale, key: int32(k), qty: qty, flag: ch})
}

// keyChores schedules the day's cycle count, damage, adjustment or shrinkage.
func (s *Sim) keyChores(k, w, d int) {
	r := s.r
	tz := sites[w].tz
	if int(s.nextCount[k]) == d {
		s.push(item{at: s.dayStart + s.localMs(5+r.IntN(2), tz), kind: kCount, key: int32(k)})
		iv := s.countInterval(k)
		s.nextCount[k] += int32(iv - iv/5 + r.IntN(2*iv/5+1))
	}
	shrink := min(0.002+0.002*float64(s.rate[k]), 0.02)
	switch u := r.Float64(); {
	case u < 0.003:
		s.push(item{at: s.dayStart + s.localMs(7+r.IntN(12), tz), kind: kDamage, key: int32(k), qty: int32(1 + r.IntN(3))})
	case u < 0.005:
		q := int32(1 + r.IntN(3))
		if r.IntN(2) == 0 {
			q = -q
		}
		s.push(item{at: s.dayStart + s.localMs(7+r.IntN(12), tz), kind: kAdjust, key: int32(k), qty: q})
	case u < 0.005+shrink:
		s.push(item{at: s.dayStart + s.localMs(9+r.IntN(12), tz), kind: kShrink, key: int32(k), qty: 1})
	}
}

// buildOrders groups each warehouse catchment's web demand lines, in time
// order, into orders of one to four lines.
func (s *Sim) buildOrders() {
	r := s.r
	for w := range s.nW {
		ls := s.web[w]
		slices.SortFunc(ls, func(a, b webLine) int {
			return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.sku, b.sku), cmp.Compare(a.qty, b.qty))
		})
		for i := 0; i < len(ls); {
			g := 1
			switch u := r.Float64(); {
			case u < 0.1:
				g = 4
			case u < 0.25:
				g = 3
			case u < 0.5:
				g = 2
			}
			g = min(g, len(ls)-i)
			off := len(s.lines)
			for _, l := range ls[i : i+g] {
				merged := false
				for j := off; j < len(s.lines); j++ {
					if s.lines[j].sku == l.sku {
						s.lines[j].qty += l.qty
						merged = true
					}
				}
				if !merged {
					s.lines = append(s.lines, lineRec{l.sku, l.qty})
				}
			}
			cdf := s.catchCDF[w]
			u := r.Float64() * cdf[len(cdf)-1]
			ci := 0
			for ci < len(cdf)-1 && u > cdf[ci] {
				ci++
			}
			var express uint8
			if r.Float64() < 0.2 {
				express = 1
			}
			s.orderN++
			s.push(item{
				at: ls[i].at, kind: kOrder, ref: s.orderN, off: int32(off), n: uint8(len(s.lines) - off),
				aux: int16(s.catchment[w][ci]), flag: express, ns: s.curNS(),
			})
			i += g
		}
		s.web[w] = ls[:0]
	}
}

// newCampaign may announce a promotion that starts 3 to 10 days later.
func (s *Sim) newCampaign(d int) {
	r := s.r
	if r.Float64() >= 0.2 {
		return
	}
	s.campN++
	c := &campaign{n: s.campN, cat: -1, discount: 0.1 + 0.2*r.Float64(), ns: s.curNS()}
	c.startDay = d + 3 + r.IntN(8)
	c.endDay = c.startDay + 3 + r.IntN(12)
	c.expected = round2(math.Pow(1-c.discount, -1.8) * (1.05 + 0.3*r.Float64()))
	c.actual = c.expected * lognorm(r, 0.08)
	if r.IntN(2) == 0 {
		c.cat = r.IntN(len(categories))
		c.skus = s.byCat[c.cat]
		nr := min(1+r.IntN(2), len(s.regions))
		for len(c.regions) < nr {
			if reg := s.regions[r.IntN(len(s.regions))]; !slices.Contains(c.regions, reg) {
				c.regions = append(c.regions, reg)
			}
		}
		slices.Sort(c.regions)
		for w := range s.nW {
			if slices.Contains(c.regions, sites[w].region) {
				c.whs = append(c.whs, int32(w))
			}
		}
	} else {
		n := min(5+r.IntN(26), s.nS)
		for range n {
			c.skus = append(c.skus, int32(r.IntN(s.nS)))
		}
		slices.Sort(c.skus)
		c.skus = slices.Compact(c.skus)
		c.byWarehouse = true
		for w := range s.nW {
			if r.Float64() < 0.5 {
				c.whs = append(c.whs, int32(w))
			}
		}
		if len(c.whs) == 0 {
			c.whs = append(c.whs, int32(r.IntN(s.nW)))
		}
	}
	if len(s.camps) == 0 {
		s.campBase = c.n
	}
	s.camps = append(s.camps, c)
	s.push(item{at: s.dayStart + 8*3_600_000 + r.Int64N(9*3_600_000), kind: kCampaign, ref: c.n})
}

// applyCampaigns sets today's promotion uplift and discount per key, and
// forgets campaigns that are over.
func (s *Sim) applyCampaigns(d int) {
	if s.promoOn {
		for k := range s.uplift {
			s.uplift[k], s.discount[k] = 1, 0
		}
		s.promoOn = false
	}
	drop := 0
	for drop < len(s.camps) && s.camps[drop].endDay <= d && s.camps[drop].startDay < d {
		drop++
	}
	if drop > 0 {
		s.camps = slices.Delete(s.camps, 0, drop)
		s.campBase += uint64(drop)
	}
	for _, c := range s.camps {
		if d < c.startDay || d >= c.endDay {
			continue
		}
		s.promoOn = true
		for _, i := range c.skus {
			for _, w := range c.whs {
				k := int(i)*s.nW + int(w)
				// Per-key spread of ±5% around the campaign's realized uplift.
				h := mix64(c.n*0x9e3779b97f4a7c15 ^ uint64(k))
				f := c.actual * (0.95 + 0.1*float64(h>>11)/(1<<53))
				s.uplift[k] *= float32(f)
				s.discount[k] = max(s.discount[k], float32(c.discount))
			}
		}
	}
}

// mix64 is SplitMix64's finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (s *Sim) avail(k int) int32 { return s.phys[k] - s.reserved[k] }

// process applies one timeline item to the ground truth and emits its events.
func (s *Sim) process(it *item) error {
	k := int(it.key)
	switch it.kind {
	case kCount:
		s.recorded[k] = s.phys[k]
		if err := s.emitStock(it.at, k, event.KindCount, int64(s.phys[k]), ""); err != nil {
			return err
		}
		s.checkReorder(k, it.at)
	case kSale:
		q := min(it.qty, s.avail(k))
		s.c.lost += int64(it.qty - q)
		if q <= 0 {
			return nil
		}
		s.phys[k] -= q
		s.recorded[k] -= q
		s.c.sold += int64(q)
		ch := "store"
		if it.flag == chMarket {
			ch = "marketplace"
		}
		if err := s.emitSale(it.at, k, q, "", ch); err != nil {
			return err
		}
		s.maybeReturn(it.at, k, q, 0, 0)
		s.checkReorder(k, it.at)
	case kOrder:
		if err := s.emitOrder(it); err != nil {
			return err
		}
		if s.cfg.ExternalRouting {
			return s.hold(it, s.order.OrderID)
		}
		s.fulfill(it)
	case kShip:
		s.phys[k] -= it.qty
		s.reserved[k] -= it.qty
		s.recorded[k] -= it.qty
		s.c.sold += int64(it.qty)
		if it.flag == flagExternal { // shipped on a routing decision (Ship)
			if err := s.emitSale(it.at, k, it.qty, s.extIDs[it.ref], "web"); err != nil {
				return err
			}
			s.maybeReturn(it.at, k, it.qty, 0, 0)
			return nil
		}
		if err := s.emitSale(it.at, k, it.qty, s.ref("ORD-", it.ns, it.ref), "web"); err != nil {
			return err
		}
		s.maybeReturn(it.at, k, it.qty, it.ref, it.ns)
	case kReceipt:
		q := it.qty
		if s.r.Float64() < 0.07 { // short shipment
			q = max(1, int32(float64(q)*(0.7+0.29*s.r.Float64())))
		}
		s.onOrder[k] -= it.qty
		s.phys[k] += q
		s.recorded[k] += q
		return s.emitStock(it.at, k, event.KindReceipt, int64(q), s.itemRef("PO-", it))
	case kTransferIn:
		s.inTransit[k] -= it.qty
		s.phys[k] += it.qty
		s.recorded[k] += it.qty
		return s.emitStock(it.at, k, event.KindTransferIn, int64(it.qty), s.itemRef("TR-", it))
	case kTransferOut:
		return s.transferOut(it)
	case kReturn:
		s.phys[k] += it.qty
		s.recorded[k] += it.qty
		ref := ""
		if it.ref != 0 {
			ref = s.ref("ORD-", it.ns, it.ref)
		}
		return s.emitStock(it.at, k, event.KindReturn, int64(it.qty), ref)
	case kDamage:
		q := min(it.qty, s.avail(k))
		if q <= 0 {
			return nil
		}
		s.phys[k] -= q
		s.recorded[k] -= q
		if err := s.emitStock(it.at, k, event.KindDamage, int64(q), ""); err != nil {
			return err
		}
		s.checkReorder(k, it.at)
	case kAdjust:
		q := it.qty
		if q < 0 {
			q = -min(-q, s.avail(k))
		}
		if q == 0 {
			return nil
		}
		s.phys[k] += q
		s.recorded[k] += q
		if err := s.emitStock(it.at, k, event.KindAdjustment, int64(q), ""); err != nil {
			return err
		}
		s.checkReorder(k, it.at)
	case kShrink: // unrecorded loss: only the next count will tell
		s.phys[k] -= min(it.qty, s.avail(k))
	case kCampaign:
		return s.emitCampaign(it)
	case kSweep:
		return s.sweep(it.at)
	}
	return nil
}

// maybeReturn schedules a customer return of part of a sale.
func (s *Sim) maybeReturn(at int64, k int, qty int32, order uint64, ns uint8) {
	c := &categories[s.cat[k/s.nW]]
	if s.r.Float64() >= c.returnRate {
		return
	}
	q := int32(1)
	if s.r.Float64() < 0.3 {
		q = qty
	}
	back := at + 2*dayMs + s.r.Int64N(28*dayMs)
	s.push(item{at: back, kind: kReturn, key: int32(k), qty: q, ref: order, ns: ns})
}

// fulfill is the simulated warehouse management system's stand-in for
// routing: the whole order from the nearest warehouse (on the customer's
// continent) that has every line available, else each line from the nearest
// warehouse that has it; lines nobody has are lost.
func (s *Sim) fulfill(it *item) {
	lines := s.lines[it.off : it.off+int32(it.n)]
	near := s.near[it.aux]
	delay := 3_600_000 + s.r.Int64N(9*3_600_000)
	if it.flag == 1 {
		delay = 900_000 + s.r.Int64N(75*60_000)
	}
	for _, w := range near {
		ok := true
		for _, l := range lines {
			if s.avail(int(l.sku)*s.nW+int(w)) < l.qty {
				ok = false
				break
			}
		}
		if ok {
			for _, l := range lines {
				s.reserve(int(l.sku)*s.nW+int(w), l.qty, it, delay)
			}
			return
		}
	}
	for _, l := range lines {
		done := false
		for _, w := range near {
			if k := int(l.sku)*s.nW + int(w); s.avail(k) >= l.qty {
				s.reserve(k, l.qty, it, delay)
				done = true
				break
			}
		}
		if !done {
			s.c.lost += int64(l.qty)
		}
	}
}

func (s *Sim) reserve(k int, qty int32, it *item, delay int64) {
	s.reserved[k] += qty
	s.push(item{at: it.at + delay, kind: kShip, key: int32(k), qty: qty, ref: it.ref, ns: it.ns})
	s.checkReorder(k, it.at)
}

// checkReorder is the naive supplier's continuous review on the recorded
// stock: when the inventory position is at or below s, order up to S in
// case packs; the receipt arrives after a sampled lead time. It is off under
// ExternalReplenishment.
func (s *Sim) checkReorder(k int, at int64) {
	if s.external(at) {
		return
	}
	pos := s.recorded[k] - s.reserved[k] + s.onOrder[k] + s.inTransit[k]
	if pos > s.rop[k] {
		return
	}
	i, w := k/s.nW, k%s.nW
	cp := s.casePack[i]
	q := (s.upTo[k] - pos + cp - 1) / cp * cp
	lead, due := s.delivery(i, w, at)
	s.poN++
	s.onOrder[k] += q
	s.lastDue[k] = due
	s.push(item{at: due, kind: kReceipt, key: int32(k), qty: q, ref: s.poN, ns: s.curNS()})
	if s.onPO != nil {
		s.onPO(purchaseOrder{ID: s.ref("PO-", s.curNS(), s.poN), Key: k, PlacedAt: at, Lead: lead, Qty: q, DueAt: due})
	}
}

// delivery samples the supplier's lead time of SKU i into warehouse w, in
// whole days from the day of at (3..14), and the receipt's time: a daytime
// hour local to the warehouse on the day it arrives.
func (s *Sim) delivery(i, w int, at int64) (lead int, due int64) {
	sup := int(s.supplier[i])
	lead = int(math.Round(s.leadMean[sup*s.nW+w] + s.leadSD[sup]*s.r.NormFloat64()))
	lead = min(max(lead, 3), 14)
	return lead, s.startMs + int64(s.dayOf(at)+lead)*dayMs + s.localMs(6+s.r.IntN(8), sites[w].tz)
}

// sweep is the planners' daily look for lateral transfers: a stocked-out
// regular item with no receipt in the next three days gets stock from the
// warehouse on the same continent with the most above its reorder point.
// It is off under ExternalReplenishment.
func (s *Sim) sweep(at int64) error {
	if s.external(at) {
		return nil
	}
	for i := range s.nS {
		if s.sizeMean[i] > 0 {
			continue
		}
		for w := range s.nW {
			k := i*s.nW + w
			if s.avail(k) > 0 || s.inTransit[k] > 0 || s.rate[k] < 0.5 ||
				s.onOrder[k] > 0 && s.lastDue[k]-at < 3*dayMs {
				continue
			}
			best, excess := -1, int32(0)
			for w2 := range s.nW {
				k2 := i*s.nW + w2
				if w2 == w || sites[w2].eu() != sites[w].eu() {
					continue
				}
				if e := s.avail(k2) - s.rop[k2] - 1; e > excess {
					best, excess = k2, e
				}
			}
			if best < 0 {
				continue
			}
			q := min(excess, s.rop[k]+1)
			s.trN++
			ref := s.ref("TR-", s.curNS(), s.trN)
			s.phys[best] -= q
			s.recorded[best] -= q
			if err := s.emitStock(at, best, event.KindTransferOut, int64(q), ref); err != nil {
				return err
			}
			s.checkReorder(best, at)
			days := 1
			if sites[best%s.nW].region != sites[w].region {
				days = 2 + s.r.IntN(2)
			}
			s.inTransit[k] += q
			arrive := s.startMs + int64(s.dayOf(at)+days)*dayMs + s.localMs(6+s.r.IntN(8), sites[w].tz)
			s.push(item{at: arrive, kind: kTransferIn, key: int32(k), qty: q, ref: s.trN, ns: s.curNS()})
		}
	}
	return nil
}

// Emission.

func (s *Sim) unitPrice(k int) (float64, string) {
	i, w := k/s.nW, k%s.nW
	p := s.price[i] * (1 - float64(s.discount[k]))
	if sites[w].eu() {
		return round2(p * eurPerUSD), "EUR"
	}
	return round2(p), "USD"
}

func (s *Sim) emitSale(at int64, k int, qty int32, orderID, channel string) error {
	i, w := k/s.nW, k%s.nW
	t := s.ts(at)
	price, cur := s.unitPrice(k)
	s.sale = event.Sale{
		EventID: s.ids.id(), TS: t, SKU: s.items[i].SKU, Warehouse: s.whs[w].ID, Qty: int64(qty),
		OrderID: orderID, Channel: channel, UnitPrice: price, Currency: cur,
	}
	return s.put(topicSales, s.skuKey[i], &s.sale, t)
}

func (s *Sim) emitStock(at int64, k int, kind event.StockKind, qty int64, ref string) error {
	i, w := k/s.nW, k%s.nW
	t := s.ts(at)
	s.stock = event.Stock{
		EventID: s.ids.id(), TS: t, SKU: s.items[i].SKU, Warehouse: s.whs[w].ID, Kind: kind, Qty: qty, Ref: ref,
	}
	return s.put(topicStock, s.skuKey[i], &s.stock, t)
}

func (s *Sim) emitOrder(it *item) error {
	t := s.ts(it.at)
	s.orderBuf = s.orderBuf[:0]
	for _, l := range s.lines[it.off : it.off+int32(it.n)] {
		s.orderBuf = append(s.orderBuf, event.OrderLine{SKU: s.items[l.sku].SKU, Qty: int64(l.qty)})
	}
	id := s.ref("ORD-", it.ns, it.ref)
	days, level := 5, "standard"
	if it.flag == 1 {
		days, level = 2, "express"
	}
	s.order = event.Order{
		EventID: s.ids.id(), TS: t, OrderID: id, Lines: s.orderBuf,
		ShipTo:       s.address(int(it.aux)),
		ServiceLevel: level,
		PromisedBy:   t.Truncate(24 * time.Hour).Add(time.Duration(days+1)*24*time.Hour - time.Second),
	}
	return s.put(topicOrders, []byte(id), &s.order, t)
}

// address is a customer near center c.
func (s *Sim) address(c int) event.Address {
	ct := &centers[c]
	b := make([]byte, 0, 12)
	b = append(b, ct.postal...)
	for range ct.digits {
		b = append(b, byte('0'+s.r.IntN(10)))
	}
	return event.Address{
		PostalCode: string(b), Country: ct.country,
		Lat: round4(ct.lat + 0.12*s.r.NormFloat64()),
		Lon: round4(ct.lon + 0.15*s.r.NormFloat64()),
	}
}

func (s *Sim) emitCampaign(it *item) error {
	c := s.camps[it.ref-s.campBase]
	t := s.ts(it.at)
	id := s.ref("CMP-", c.ns, c.n)
	ev := event.Campaign{
		EventID: s.ids.id(), TS: t, CampaignID: id,
		Start:          s.future(s.startMs+int64(c.startDay)*dayMs, t),
		End:            s.future(s.startMs+int64(c.endDay)*dayMs, t),
		ExpectedUplift: round2(c.expected - 1), // relative: 0.5 means +50 %
	}
	if c.cat >= 0 {
		ev.Category = categories[c.cat].name
	} else {
		for _, i := range c.skus {
			ev.SKUs = append(ev.SKUs, s.items[i].SKU)
		}
	}
	if c.byWarehouse {
		for _, w := range c.whs {
			ev.Warehouses = append(ev.Warehouses, s.whs[w].ID)
		}
	} else {
		ev.Regions = c.regions
	}
	return s.put(topicCampaigns, []byte(id), &ev, t)
}

// put encodes a good event and sends it.
func (s *Sim) put(topic int, key []byte, v any, t time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("sim: encode %s event: %w", topicNames[topic], err)
	}
	return s.send(Record{Topic: topicNames[topic], Key: key, Value: b, TS: t}, topic, -1)
}

// send hands a record to emit and counts it; after a good one it may send a
// bad one (reason < 0 means good).
func (s *Sim) send(rec Record, topic, reason int) error {
	s.c.events++
	s.c.byTopic[topic]++
	if reason >= 0 {
		rec.Bad = badReasons[reason]
		s.c.bad++
		s.c.byReason[reason]++
		s.c.badTopic[topic]++
	}
	if !s.live {
		digestRecord(s.digest, rec)
	}
	if err := s.emit(rec); err != nil {
		return fmt.Errorf("sim: emit to %s: %w", rec.Topic, err)
	}
	if reason >= 0 {
		return nil
	}
	s.recent[s.nRec%len(s.recent)] = rec
	s.nRec++
	if s.badP > 0 && s.r.Float64() < s.badP {
		return s.emitBad(-1, topic) // on the same topic: bad records follow the traffic
	}
	return nil
}
