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
