package replenish

import (
	"math"

	"github.com/stockflow/stockflow/internal/event"
)

// z-scores that turn forecast quantiles into a standard deviation under a
// normal error: P95 − P05 spans 2·z95 standard deviations, P90 − P50 z90.
const (
	z95 = 1.6448536269514722
	z90 = 1.2815515655446004
)

// countDemandBelow is the mean daily demand under which the demand over the
// protection period is treated as a count (negative binomial, or Poisson
// when it is not over-dispersed) instead of a normal variable: at a few
// units per lead time the normal approximation is symmetric where counts
// are skewed, and puts mass below zero; the discrete distribution sizes
// the reorder point of slow and intermittent movers directly.
const countDemandBelow = 1.0

// NormCDF is Φ, the standard normal distribution function.
func NormCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// NormPDF is φ, the standard normal density.
func NormPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }

// NormQuantile is Φ⁻¹, the standard normal quantile function; it returns
// ∓Inf at 0 and 1 and NaN outside [0, 1].
func NormQuantile(p float64) float64 {
	if p < 0 || p > 1 || math.IsNaN(p) {
		return math.NaN()
	}
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// NormLoss is G, the standard normal loss function: the expected shortfall
// E[(Z − k)⁺] of a standard normal Z above k, φ(k) − k·(1 − Φ(k)).
func NormLoss(k float64) float64 {
	return NormPDF(k) - k*(1-NormCDF(k))
}

// lossBounds bound the safety factor k of a fill-rate target: G(−6) ≈ 6
// (no safety stock can be that negative: SS is clamped at 0 anyway) and
// G(8) ≈ 1e-16.
const (
	kMin = -6.0
	kMax = 8.0
)

// lossInverse returns k with G(k) = g by bisection, within [kMin, kMax].
func lossInverse(g float64) float64 {
	switch {
	case g >= NormLoss(kMin):
		return kMin
	case g <= 0 || g <= NormLoss(kMax):
		return kMax
	}
	lo, hi := kMin, kMax // G is decreasing: G(lo) > g > G(hi)
	for range 100 {
		mid := (lo + hi) / 2
		if NormLoss(mid) > g {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-9 {
			break
		}
	}
	return (lo + hi) / 2
}

// daySD is the standard deviation of one forecast day's demand: from the
// 90% interval, (P95 − P05)/(2·1.6449), when it is not degenerate, else
// from the upper half of the 80% interval, (P90 − P50)/1.2816, else
// fallback (the rate's).
func daySD(d *event.ForecastDay, fallback float64) float64 {
	if w := d.P95 - d.P05; w > 0 {
		return w / (2 * z95)
	}
	if w := d.P90 - d.P50; w > 0 {
		return w / z90
	}
	return fallback
}

// normalSafety returns the safety stock of a demand over the protection
// period with standard deviation sd, for the rule's target: α, z·σ with
// z = Φ⁻¹(α); β, k·σ where G(k)·σ = (1 − β)·q, q being the cycle
// quantity (expected shortage per cycle = the allowed share of what a
// cycle brings). It is never negative.
func normalSafety(rule Rule, sd, q float64) float64 {
	if sd <= 0 {
		return 0
	}
	var k float64
	switch rule.Target {
	case TargetFillRate:
		k = lossInverse((1 - rule.Service) * q / sd)
	default:
		k = NormQuantile(rule.Service)
	}
	return max(k*sd, 0)
}

// countDist is the distribution of a count with the given mean and
// variance: negative binomial when variance > mean, else Poisson. pmf
// values are produced in order by next.
type countDist struct {
	mean float64
	// r and p of the negative binomial (r = 0: Poisson).
	r, p float64
	n    int
	pmf  float64
}

func newCountDist(mean, variance float64) *countDist {
	c := &countDist{mean: mean}
	if variance > mean*1.0001 {
		c.r = mean * mean / (variance - mean)
		c.p = mean / (c.r + mean) // "success" weight of each step
		c.pmf = math.Exp(c.r * math.Log(c.r/(c.r+mean)))
	} else {
		c.pmf = math.Exp(-mean)
	}
	return c
}

// step advances to P(X = n+1).
func (c *countDist) step() {
	n := float64(c.n)
	if c.r > 0 {
		c.pmf *= (n + c.r) / (n + 1) * c.p
	} else {
		c.pmf *= c.mean / (n + 1)
	}
	c.n++
}

// countReorderPoint is the smallest integer reorder point s of a demand
// over the protection period that is a count with the given mean and
// variance, for the rule's target: α, P(X ≤ s) ≥ α (a cycle runs out only
// when the demand of the protection period exceeds s); β, E[(X − s)⁺] ≤
// (1 − β)·q. It walks the distribution up from 0, so it is meant for small
// means (countDemandBelow).
func countReorderPoint(rule Rule, mean, variance, q float64) float64 {
	if mean <= 0 {
		return 0
	}
	c := newCountDist(mean, variance)
	limit := int(mean + 12*math.Sqrt(max(variance, mean)) + 50)
	if rule.Target == TargetFillRate {
		// E[(X − s)⁺] = E[X] − s + Σ_{n≤s} (s − n)·P(X = n), and it
		// decreases by P(X > s) from s to s + 1.
		allowed := (1 - rule.Service) * q
		short := mean // E[(X − 0)⁺]
		cdf := 0.0
		for s := 0; s < limit; s++ {
			if short <= allowed {
				return float64(s)
			}
			cdf += c.pmf
			short -= 1 - cdf
			c.step()
		}
		return float64(limit)
	}
	cdf := 0.0
	for s := 0; s < limit; s++ {
		cdf += c.pmf
		if cdf >= rule.Service {
			return float64(s)
		}
		c.step()
	}
	return float64(limit)
}
