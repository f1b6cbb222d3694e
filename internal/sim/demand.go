package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Demand returns the units demanded per key and day over the history's
// days (Config.Days from Start), keys in the history's order (key k is SKU
// k / Warehouses in warehouse k % Warehouses): the demand model of the
// package doc — base rate × trend × weekly × yearly season, log-normal day
// noise on Poisson counts of store and marketplace transactions and web
// order lines, and the intermittent items' occasional demands — without
// price moves, campaigns, stockouts or events. It is what a forecaster
// would see as sales with stock always on hand, cheap enough for tens of
// thousands of multi-year series (`stockflow bench forecast`).
//
// Demand draws from its own generator seeded from Config.Seed, so it
// changes nothing History or Live produce; the same Config gives the same
// series. It may be called at any time, any number of times.
func (s *Sim) Demand() [][]float64 {
	r := rand.New(rand.NewPCG(s.cfg.Seed^0xd1b54a32d192ed03, s.cfg.Seed))
	days := s.cfg.Days
	out := make([][]float64, s.nK)
	for k := range out {
		out[k] = make([]float64, days)
	}
	start := time.UnixMilli(s.startMs).UTC()
	for d := range days {
		date := start.AddDate(0, 0, d)
		dow, doy := date.Weekday(), date.YearDay()
		years := float64(d) / 365.25
		for i := range s.nS {
			c := &categories[s.cat[i]]
			mult := c.weekly[dow] * c.yearly(doy) * math.Exp(s.trend[i]*years)
			sm := s.sizeMean[i]
			for w := range s.nW {
				k := i*s.nW + w
				var units int
				if sm > 0 {
					if r.Float64() < min(float64(s.rate[k])*mult, 1) {
						units = 1 + poisson(r, sm-1)
					}
				} else {
					lam := float64(s.rate[k]) * mult * lognorm(r, 0.3)
					lw := lam * c.webShare
					for n := poisson(r, (lam-lw)/c.meanQty); n > 0; n-- {
						units += min(1+poisson(r, c.meanQty-1), c.maxQty)
					}
					webQty := min(c.meanQty, 1.3)
					for n := poisson(r, lw/webQty); n > 0; n-- {
						units += 1 + poisson(r, webQty-1)
					}
				}
				out[k][d] = float64(units)
			}
		}
	}
	return out
}
