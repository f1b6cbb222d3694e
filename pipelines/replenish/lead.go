package replenish

import "math"

// leadPriorWeight is the pseudo-count of the prior: the number of receipts
// its mean and its variance weigh as much as. With 3, the first receipt
// moves the estimate a quarter of the way, ten receipts three quarters.
const leadPriorWeight = 3

// LeadStats accumulates the observed lead times of one supplier ×
// warehouse (Welford's online mean and sum of squared deviations). The
// zero value has seen nothing. It is JSON so that the processor can keep
// it in its changelogged state.
type LeadStats struct {
	N    int64   `json:"n"`
	Mean float64 `json:"mean"`
	// M2 is the sum of squared deviations from Mean.
	M2 float64 `json:"m2"`
}

// Observe adds one lead time, in days (order to receipt). Negative, NaN
// and infinite values are ignored.
func (s *LeadStats) Observe(days float64) {
	if !(days >= 0) || math.IsInf(days, 0) {
		return
	}
	s.N++
	delta := days - s.Mean
	s.Mean += delta / float64(s.N)
	s.M2 += delta * (days - s.Mean)
}

// Estimate returns the lead time to plan with: the observations shrunk
// towards prior, which weighs as much as leadPriorWeight receipts. The mean
// is (w·prior + Σ x)/(w + n); the variance pools the prior's with the
// observations' sum of squared deviations, (w·σ₀² + M2)/(w + n − 1), so one
// receipt (which says nothing about spread) keeps the prior's variance and
// many receipts approach the sample variance. Observations is N.
func (s LeadStats) Estimate(prior LeadTime) LeadTime {
	if s.N <= 0 {
		return LeadTime{MeanDays: prior.MeanDays, SDDays: prior.SDDays}
	}
	w, n := float64(leadPriorWeight), float64(s.N)
	mean := (w*prior.MeanDays + n*s.Mean) / (w + n)
	variance := (w*prior.SDDays*prior.SDDays + s.M2) / (w + n - 1)
	return LeadTime{MeanDays: mean, SDDays: math.Sqrt(max(variance, 0)), Observations: s.N}
}
