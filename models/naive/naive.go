// Package naive holds the naive benchmarks of the M4 competition: Naive
// (the last value), seasonal naive (the value one season back) and Naive2
// (Naive on the seasonally adjusted series, re-seasonalised), together with
// the two pieces of M4's benchmark code other methods reuse: the 90%
// autocorrelation seasonality test ([IsSeasonal]) and R's classical
// multiplicative decomposition ([SeasonalIndices]).
//
// Prediction intervals are normal, from the in-sample one-step residuals of
// the random walk each method is: with σ the root mean square of those
// residuals, step h has standard deviation σ·√k, where k = h for Naive and
// Naive2 and k = ⌊(h−1)/m⌋+1 for seasonal naive (Hyndman & Athanasopoulos,
// "Forecasting: principles and practice", §5.5). For Naive2 the interval is
// built on the seasonally adjusted scale and re-seasonalised like the mean.
//
// Like everything under models/, it imports only the standard library and
// other models/ packages.
package naive

import (
	"errors"
	"fmt"
	"math"

	"github.com/stockflow/stockflow/models/forecast"
)

// Naive forecasts every step with the last observed value.
type Naive struct{}

// Seasonal forecasts step h with the value one season (m) before it; with
// m ≤ 1 it is [Naive].
type Seasonal struct{}

// Naive2 is M4's Naive2: when [IsSeasonal] finds the series seasonal at
// period m, it divides the series by the classical multiplicative seasonal
// indices ([SeasonalIndices]), forecasts the adjusted series with its last
// value and multiplies the forecasts by the indices of the steps ahead.
// Otherwise it is [Naive].
type Naive2 struct{}

var (
	_ forecast.Model  = Naive{}
	_ forecast.Model  = Seasonal{}
	_ forecast.Model  = Naive2{}
	_ forecast.Fitted = (*walk)(nil)
)

// Name implements forecast.Model.
func (Naive) Name() string { return "naive" }

// Name implements forecast.Model.
func (Seasonal) Name() string { return "snaive" }

// Name implements forecast.Model.
func (Naive2) Name() string { return "naive2" }

// Fit implements forecast.Model. It needs two observations.
func (Naive) Fit(y []float64, _ int) (forecast.Fitted, error) {
	return fitWalk(y, 1, nil)
}

// Fit implements forecast.Model. It needs more than m observations.
func (Seasonal) Fit(y []float64, m int) (forecast.Fitted, error) {
	return fitWalk(y, max(m, 1), nil)
}

// Fit implements forecast.Model. It needs two observations.
func (Naive2) Fit(y []float64, m int) (forecast.Fitted, error) {
	if len(y) < 2 {
		return nil, fmt.Errorf("naive2: %d points: %w", len(y), forecast.ErrTooShort)
	}
	if err := finite(y); err != nil {
		return nil, err
	}
	adj, s := Adjust(y, m)
	return fitWalk(adj, 1, s)
}

// Adjust is M4's seasonal adjustment: when [IsSeasonal](y, m) and the
// multiplicative decomposition is defined, it returns y divided by its
// seasonal indices and a [Season] for the steps ahead; otherwise y itself
// and nil.
func Adjust(y []float64, m int) ([]float64, *Season) {
	if !IsSeasonal(y, m) {
		return y, nil
	}
	idx, err := SeasonalIndices(y, m)
	if err != nil {
		return y, nil
	}
	adj := make([]float64, len(y))
	for t, v := range y {
		adj[t] = v / idx[t%m]
	}
	return adj, &Season{Indices: idx, N: len(y)}
}

// Season holds the seasonal indices of a series of length N: position t
// (0-based) has index Indices[t mod len(Indices)].
type Season struct {
	Indices []float64
	N       int
}

// Ahead returns the seasonal index of forecast step h (1-based).
func (s *Season) Ahead(h int) float64 {
	if s == nil {
		return 1
	}
	return s.Indices[(s.N-1+h)%len(s.Indices)]
}

// walk is a fitted (seasonal) random walk: step h repeats last[(h−1) mod p],
// optionally multiplied by a seasonal index.
type walk struct {
	last   []float64
	sigma  float64
	season *Season
}

func fitWalk(y []float64, p int, s *Season) (*walk, error) {
	if err := finite(y); err != nil {
		return nil, err
	}
	n := len(y)
	if n < p+1 || n < 2 {
		return nil, fmt.Errorf("naive: %d points for lag %d: %w", n, p, forecast.ErrTooShort)
	}
	var ss float64
	for t := p; t < n; t++ {
		d := y[t] - y[t-p]
		ss += d * d
	}
	return &walk{
		last:   append([]float64(nil), y[n-p:]...),
		sigma:  math.Sqrt(ss / float64(n-p)),
		season: s,
	}, nil
}

// Forecast implements forecast.Fitted.
func (w *walk) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if h < 1 {
		return nil, fmt.Errorf("naive: horizon %d < 1", h)
	}
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	p := len(w.last)
	f := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	for _, l := range levels {
		f.Quantiles[l] = make([]float64, h)
	}
	for i := range h {
		base := w.last[i%p]
		si := w.season.Ahead(i + 1)
		f.Mean[i] = base * si
		sd := w.sigma * math.Sqrt(float64(i/p+1))
		for _, l := range levels {
			f.Quantiles[l][i] = (base + NormalQuantile(l)*sd) * si
		}
	}
	return f, nil
}

// ErrNotFinite is wrapped when a series holds NaN or an infinity.
var ErrNotFinite = errors.New("naive: series value is NaN or infinite")

func finite(y []float64) error {
	for t, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: y[%d] = %g", ErrNotFinite, t, v)
		}
	}
	return nil
}

// NormalQuantile is the standard normal quantile function Φ⁻¹(p).
func NormalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}
