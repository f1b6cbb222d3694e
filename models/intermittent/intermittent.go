// Package intermittent forecasts intermittent demand, series with many
// zero periods: Croston's method (classic, alpha 0.1, and with optimised
// smoothing), the Syntetos–Boylan approximation (SBA), Teunter–Syntetos–
// Babai (TSB) and ADIDA (temporal aggregation). The conventions follow
// Nixtla's statsforecast, the reference data scientists compare against.
//
// Every method's mean forecast is flat over the horizon. Quantiles come
// from the per-period demand distribution the method implies: no demand
// with probability 1-p, otherwise a size drawn from the empirical
// distribution of the series' non-zero demands, rescaled so that the
// mixture's mean equals the point forecast (p is 1/interval for Croston
// and SBA, the smoothed probability for TSB, the share of non-zero periods
// for ADIDA). The quantile at level q is 0 when q <= 1-p and otherwise the
// type-7 quantile of the rescaled sizes at (q-(1-p))/p. It is computed
// exactly, without simulation, so it is deterministic; it is a marginal
// quantile of each period, not of the demand summed over a lead time.
//
// Like everything under models/, it imports only the standard library and
// other models/ packages.
package intermittent

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/optim"
)

type method int

const (
	croston method = iota
	crostonOpt
	sba
	tsb
	adida
)

// Model is an intermittent-demand method before fitting. It implements
// forecast.Model; the seasonal period is ignored.
type Model struct {
	name   string
	method method
	// alpha smooths sizes and intervals (Croston, SBA); alphaD and alphaP
	// smooth the demand probability and size (TSB).
	alpha, alphaD, alphaP float64
}

var _ forecast.Model = (*Model)(nil)

// Croston is Croston's classic method: sizes and intervals between
// non-zero demands each smoothed by SES with alpha 0.1.
func Croston() *Model { return &Model{name: "croston", method: croston, alpha: 0.1} }

// CrostonOptimized is Croston's method with the sizes' and the intervals'
// smoothing parameters each chosen in [0.1, 0.3] to minimise the
// in-sample mean squared one-step error (statsforecast's
// CrostonOptimized).
func CrostonOptimized() *Model { return &Model{name: "croston-opt", method: crostonOpt} }

// SBA is the Syntetos–Boylan approximation: Croston (alpha 0.1)
// multiplied by 1 - alpha/2 to remove its bias.
func SBA() *Model { return &Model{name: "sba", method: sba, alpha: 0.1} }

// TSB is Teunter–Syntetos–Babai: the probability of a demand is smoothed
// every period with alphaD, the size only when a demand occurs with
// alphaP; each must be in (0, 1].
func TSB(alphaD, alphaP float64) *Model {
	return &Model{name: "tsb", method: tsb, alphaD: alphaD, alphaP: alphaP}
}

// ADIDA aggregates the series into non-overlapping buckets as long as the
// mean interval between demands, forecasts the bucket sums with SES
// (alpha optimised) and spreads the forecast evenly over the bucket.
func ADIDA() *Model { return &Model{name: "adida", method: adida} }

// Name implements forecast.Model.
func (m *Model) Name() string { return m.name }

// Fit implements forecast.Model. Demand must be non-negative.
func (m *Model) Fit(y []float64, _ int) (forecast.Fitted, error) {
	f, err := m.FitDemand(y)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ErrNegative is returned for a series with a negative value.
var ErrNegative = errors.New("intermittent: demand must be non-negative")

// FitDemand is Fit returning the concrete fitted model.
func (m *Model) FitDemand(y []float64) (*Fitted, error) {
	if len(y) == 0 {
		return nil, forecast.ErrTooShort
	}
	for _, v := range y {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: %g", ErrNegative, v)
		}
	}
	if m.method == tsb && !(m.alphaD > 0 && m.alphaD <= 1 && m.alphaP > 0 && m.alphaP <= 1) {
		return nil, fmt.Errorf("intermittent: TSB parameters %g, %g must be in (0, 1]", m.alphaD, m.alphaP)
	}
	sizes, intervals := demands(y)
	f := &Fitted{sizes: slices.Clone(sizes)}
	slices.Sort(f.sizes)
	if len(sizes) == 0 {
		return f, nil
	}
	switch m.method {
	case croston, sba:
		z := ses(sizes, m.alpha)
		p := ses(intervals, m.alpha)
		f.Mean = z / p
		if m.method == sba {
			f.Mean *= 1 - m.alpha/2
		}
		f.Prob = 1 / p
	case crostonOpt:
		z := optimizedSES(sizes, 0.1, 0.3)
		p := optimizedSES(intervals, 0.1, 0.3)
		f.Mean = z / p
		f.Prob = 1 / p
	case tsb:
		prob := 0.0
		if y[0] > 0 {
			prob = 1
		}
		size := sizes[0]
		for _, v := range y {
			d := 0.0
			if v > 0 {
				d = 1
				size += m.alphaP * (v - size)
			}
			prob += m.alphaD * (d - prob)
		}
		f.Mean = prob * size
		f.Prob = prob
	case adida:
		k := int(math.Round(mean(intervals)))
		k = max(k, 1)
		cut := y[len(y)%k:]
		if len(cut) == 0 {
			cut = y
			k = 1
		}
		sums := make([]float64, len(cut)/k)
		for i := range sums {
			for _, v := range cut[i*k : (i+1)*k] {
				sums[i] += v
			}
		}
		f.Mean = optimizedSES(sums, 0.1, 0.3) / float64(k)
		f.Prob = float64(len(sizes)) / float64(len(y))
	}
	f.Prob = math.Min(math.Max(f.Prob, 0), 1)
	return f, nil
}

// demands returns the non-zero demands and the intervals before each: the
// first interval counts from the start of the series (statsforecast).
func demands(y []float64) (sizes, intervals []float64) {
	last := -1
	for i, v := range y {
		if v > 0 {
			sizes = append(sizes, v)
			intervals = append(intervals, float64(i-last))
			last = i
		}
	}
	return sizes, intervals
}

// ses returns the one-step forecast of simple exponential smoothing with
// the level started at x[0].
func ses(x []float64, alpha float64) float64 {
	l, _ := sesMSE(x, alpha)
	return l
}

// sesMSE returns the forecast after x and the in-sample mean squared
// one-step error (the first value is its own forecast).
func sesMSE(x []float64, alpha float64) (level, mse float64) {
	level = x[0]
	sse := 0.0
	for _, v := range x {
		e := v - level
		sse += e * e
		level += alpha * e
	}
	return level, sse / float64(len(x))
}

// optimizedSES is SES with alpha chosen in [lo, hi] by Brent's method to
// minimise the in-sample mean squared one-step error.
func optimizedSES(x []float64, lo, hi float64) float64 {
	alpha, _ := optim.Brent(func(a float64) float64 {
		_, mse := sesMSE(x, a)
		return mse
	}, lo, hi, 0)
	return ses(x, alpha)
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Fitted is an intermittent-demand model estimated on one series. It
// implements forecast.Fitted.
type Fitted struct {
	// Mean is the forecast demand per period.
	Mean float64
	// Prob is the probability of a non-zero demand in a period.
	Prob float64
	// sizes are the non-zero demands, sorted.
	sizes []float64
}

var _ forecast.Fitted = (*Fitted)(nil)

// Forecast implements forecast.Fitted; see the package comment for the
// quantiles.
func (f *Fitted) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if h < 1 {
		return nil, fmt.Errorf("intermittent: horizon %d < 1", h)
	}
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	for i := range out.Mean {
		out.Mean[i] = f.Mean
	}
	for _, l := range forecast.Levels(levels) {
		q := f.Quantile(l)
		path := make([]float64, h)
		for i := range path {
			path[i] = q
		}
		out.Quantiles[l] = path
	}
	return out, nil
}

// Quantile returns the per-period demand quantile at level q in (0, 1).
func (f *Fitted) Quantile(q float64) float64 {
	if len(f.sizes) == 0 || f.Prob <= 0 || f.Mean <= 0 || q <= 1-f.Prob {
		return 0
	}
	scale := f.Mean / (f.Prob * sizeMean(f.sizes))
	r := (q - (1 - f.Prob)) / f.Prob
	n := len(f.sizes)
	pos := r * float64(n-1)
	lo := int(math.Floor(pos))
	if lo >= n-1 {
		return scale * f.sizes[n-1]
	}
	return scale * (f.sizes[lo] + (pos-float64(lo))*(f.sizes[lo+1]-f.sizes[lo]))
}

// sizeMean is the mean of the distribution whose quantile function is the
// type-7 interpolation of sorted (the integral of that function over
// (0, 1)), so that the rescaled mixture has exactly the forecast's mean.
func sizeMean(sorted []float64) float64 {
	n := len(sorted)
	if n == 1 {
		return sorted[0]
	}
	s := 0.0
	for _, v := range sorted {
		s += v
	}
	return (s - (sorted[0]+sorted[n-1])/2) / float64(n-1)
}
