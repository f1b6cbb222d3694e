package routing

import (
	"math"

	"github.com/stockflow/stockflow/internal/event"
)

// Demand is what is known of a location's future demand: a forecast of
// daily quantiles starting today, and, where it does not reach, a daily
// rate (as pipelines/replenish takes it).
type Demand struct {
	// Days are the forecast days from today (may be empty).
	Days []event.ForecastDay `json:"days,omitempty"`
	// Rate and RateSD are the mean and standard deviation of daily demand
	// beyond Days.
	Rate   float64 `json:"rate"`
	RateSD float64 `json:"rate_sd"`
}

// z-scores that turn forecast quantiles into a standard deviation under a
// normal error (as pipelines/replenish does): P95 − P05 spans 2·z95
// standard deviations, P90 − P50 z90.
const (
	z95 = 1.6448536269514722
	z90 = 1.2815515655446004
)

// errorCorrelation is the correlation assumed between the forecast errors
// of the days of a window (pipelines/replenish measured 0.1 on the
// simulator's demand): var = Σσ² + ρ·((Σσ)² − Σσ²).
const errorCorrelation = 0.1

// normPDF and normLoss are φ and G, the standard normal density and loss
// function E[(Z − k)⁺] = φ(k) − k·(1 − Φ(k)). (pipelines/replenish has
// the same helpers; pipelines do not import each other.)
func normPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }

func normLoss(k float64) float64 {
	return normPDF(k) - k*0.5*math.Erfc(k/math.Sqrt2)
}

// daySD is one forecast day's standard deviation: (P95 − P05)/(2·z95)
// when that interval is not degenerate, else (P90 − P50)/z90, else
// fallback.
func daySD(d *event.ForecastDay, fallback float64) float64 {
	if w := d.P95 - d.P05; w > 0 {
		return w / (2 * z95)
	}
	if w := d.P90 - d.P50; w > 0 {
		return w / z90
	}
	return fallback
}

// over returns the mean and standard deviation of the demand over the
// next p days: forecast days first, the rate beyond them, the last day
// weighted by its fraction, the days' errors correlated with
// errorCorrelation.
func (d *Demand) over(p float64) (mean, sd float64) {
	n := int(math.Ceil(p))
	var variance, sumSD float64
	for i := range n {
		w := min(1, p-float64(i))
		m, s := d.Rate, d.RateSD
		if i < len(d.Days) {
			day := &d.Days[i]
			m, s = day.Mean, daySD(day, d.RateSD)
		}
		mean += w * max(m, 0)
		s = max(s, 0)
		variance += w * s * s
		sumSD += w * s
	}
	variance += errorCorrelation * max(sumSD*sumSD-variance, 0)
	return mean, math.Sqrt(variance)
}

// shortage is E[(D − x)⁺] for demand D ~ N(mean, sd²) (the point mass at
// mean when sd is 0): the units short over the window when it starts with
// x units.
func shortage(mean, sd, x float64) float64 {
	if !(sd > 0) {
		return max(mean-x, 0)
	}
	return sd * normLoss((x-mean)/sd)
}

// opportunity is the opportunity cost of taking q units of a location with
// avail units, window demand N(mean, sd²) and shortage cost c per unit:
// c·(E[short | avail − q] − E[short | avail]). It is 0 for q ≤ 0, convex
// and increasing in q, and below c·q.
func opportunity(c, mean, sd float64, avail, q int64) float64 {
	if q <= 0 || c == 0 {
		return 0
	}
	a := float64(max(avail, 0))
	return c * (shortage(mean, sd, a-float64(q)) - shortage(mean, sd, a))
}
