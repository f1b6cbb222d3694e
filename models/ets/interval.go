package ets

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/stockflow/stockflow/models/forecast"
)

// Forecast implements forecast.Fitted. The mean is the point forecast
// from the final state, as R's forecast.ets. Quantiles of the linear
// models (additive error, no multiplicative season: Hyndman et al. class
// 1) are Gaussian with the analytic h-step variance
// sigma2*(1 + sum_{j<h} c_j^2), c_j = alpha + beta*phi_j + gamma*[m | j];
// the others are simulated: Paths sample paths (5000 by default) with
// Gaussian errors from a generator seeded by Seed, and R's type-7 sample
// quantiles of each step.
func (f *Fitted) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if h < 1 {
		return nil, fmt.Errorf("ets: horizon %d < 1", h)
	}
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	if err := f.Spec.Validate(); err != nil || f.M < 1 || len(f.last.s) != f.M {
		return nil, errors.New("ets: Forecast on a model that did not come from Fit")
	}
	k := f.kernel()
	st := f.last.clone()
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	k.point(&st, out.Mean)
	if len(levels) == 0 {
		return out, nil
	}
	levels = forecast.Levels(levels)
	if f.Spec.linear() {
		sd := make([]float64, h)
		cum, phij := 1.0, 0.0
		for i := range sd {
			sd[i] = math.Sqrt(f.Sigma2 * cum)
			j := i + 1
			phij += math.Pow(f.Phi, float64(j))
			c := f.Alpha
			if f.Spec.Trend != None {
				c += f.Beta * phij
			}
			if f.Spec.Season != None && j%f.M == 0 {
				c += f.Gamma
			}
			cum += c * c
		}
		for _, l := range levels {
			z := math.Sqrt2 * math.Erfinv(2*l-1)
			q := make([]float64, h)
			for i := range q {
				q[i] = out.Mean[i] + z*sd[i]
			}
			out.Quantiles[l] = q
		}
		return out, nil
	}
	paths := f.paths
	if paths <= 0 {
		paths = 5000
	}
	rng := rand.New(rand.NewPCG(f.seed, 0x5eed_e75))
	sigma := math.Sqrt(f.Sigma2)
	sims := make([][]float64, h)
	for i := range sims {
		sims[i] = make([]float64, paths)
	}
	sp := f.last.clone()
	for p := 0; p < paths; p++ {
		sp.copyFrom(&f.last)
		for i := 0; i < h; i++ {
			mu := k.one(&sp)
			e := sigma * rng.NormFloat64()
			y := mu + e
			if f.Spec.Error == Multiplicative {
				y = mu * (1 + e)
			}
			sims[i][p] = y
			k.update(&sp, y)
		}
	}
	for i := range sims {
		slices.Sort(sims[i])
	}
	for _, l := range levels {
		q := make([]float64, h)
		for i := range q {
			q[i] = quantile7(sims[i], l)
		}
		out.Quantiles[l] = q
	}
	return out, nil
}

// quantile7 is R's default (type 7) sample quantile of sorted x.
func quantile7(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

func (st *state) clone() state {
	return state{l: st.l, b: st.b, s: slices.Clone(st.s), off: st.off}
}

func (st *state) copyFrom(o *state) {
	st.l, st.b, st.off = o.l, o.b, o.off
	copy(st.s, o.s)
}
