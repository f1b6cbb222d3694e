// Package theta holds the Theta method of Assimakopoulos & Nikolopoulos
// (2000) as the M4 organisers ran it (Theta.classic in their benchmark code),
// and the optimised Theta method (OTM, Fiorucci et al. 2016) that chooses
// θ per series.
//
// Both seasonally adjust the series first, exactly as M4's Naive2 does
// ([naive.Adjust]: the 90% autocorrelation test at lag m, then classical
// multiplicative decomposition), and re-seasonalise the forecasts. On the
// adjusted series x they fit the least-squares line L_t = a + b·t, form the
// theta line Z_t = θ·x_t + (1−θ)·L_t, smooth it with simple exponential
// smoothing (SES; α and the initial level by least squares, which is the
// maximum-likelihood ETS(A,N,N) fit), and combine:
//
//	ŷ_{n+h} = (1/θ)·SES_n(Z) + (1−1/θ)·L_{n+h}
//
// With θ = 2 the weights are ½ and ½: M4's Theta, which Hyndman & Billah
// (2003) showed is SES with drift b/2. Series with no negative value get
// forecasts floored at 0, as M4 floors its Theta forecasts.
//
// Quantiles are normal around the mean, from the in-sample one-step
// residuals of the combination (σ their root mean square) with SES's
// variance growth: step h has standard deviation σ·√(1 + (h−1)·α²). They
// are built on the adjusted scale and re-seasonalised like the mean.
//
// Like everything under models/, it imports only the standard library and
// other models/ packages.
package theta

import (
	"fmt"
	"math"
	"slices"

	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/naive"
)

// Standard is M4's Theta benchmark: θ = 2.
type Standard struct{}

// Optimized is the optimised Theta method: θ is chosen from Grid (by
// default 1, 1.25, …, 3) to minimise the in-sample mean squared one-step
// error of the combination on the adjusted series. θ = 1 is SES. The
// in-sample fit uses the line estimated on the whole series, so large θ
// (more weight on the line) fits the past better than it forecasts: on M4
// Weekly and Hourly a grid up to 5 scored worse than one up to 3, which
// costs a third of the time.
type Optimized struct {
	// Grid lists the θ values tried; each must be ≥ 1. Nil means
	// [DefaultGrid].
	Grid []float64
}

// DefaultGrid is the θ grid [Optimized] searches when its Grid is nil.
var DefaultGrid = func() []float64 {
	g := make([]float64, 9)
	for i := range g {
		g[i] = 1 + float64(i)/4
	}
	return g
}()

var (
	_ forecast.Model  = Standard{}
	_ forecast.Model  = Optimized{}
	_ forecast.Fitted = (*Fitted)(nil)
)

// Name implements forecast.Model.
func (Standard) Name() string { return "theta" }

// Name implements forecast.Model.
func (Optimized) Name() string { return "otm" }

// Fit implements forecast.Model. It needs three observations.
func (Standard) Fit(y []float64, m int) (forecast.Fitted, error) {
	return fit(y, m, []float64{2})
}

// Fit implements forecast.Model. It needs three observations.
func (o Optimized) Fit(y []float64, m int) (forecast.Fitted, error) {
	grid := o.Grid
	if grid == nil {
		grid = DefaultGrid
	}
	if len(grid) == 0 {
		return nil, fmt.Errorf("theta: empty θ grid")
	}
	for _, th := range grid {
		if !(th >= 1) {
			return nil, fmt.Errorf("theta: θ %g in the grid is below 1", th)
		}
	}
	return fit(y, m, grid)
}

// Fitted is a Theta model fitted to one series.
type Fitted struct {
	// Theta is the θ used (2 for Standard, the grid's best for Optimized).
	Theta float64
	// Alpha and Level are the SES smoothing parameter and final level of
	// the theta line.
	Alpha, Level float64
	// Intercept and Slope are the least-squares line a + b·t, t = 1..n, of
	// the adjusted series.
	Intercept, Slope float64
	// Sigma is the root mean square of the in-sample one-step residuals on
	// the adjusted scale.
	Sigma float64
	// Seasonal reports whether the series was seasonally adjusted.
	Seasonal bool

	n        int
	season   *naive.Season
	floor0   bool
	residual []float64
}

// Residuals returns the in-sample one-step residuals on the adjusted scale.
func (f *Fitted) Residuals() []float64 { return slices.Clone(f.residual) }

func fit(y []float64, m int, grid []float64) (*Fitted, error) {
	n := len(y)
	if n < 3 {
		return nil, fmt.Errorf("theta: %d points: %w", n, forecast.ErrTooShort)
	}
	for t, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("theta: %w: y[%d] = %g", naive.ErrNotFinite, t, v)
		}
	}
	adj, season := naive.Adjust(y, m)
	a, b := line(adj)
	var best *Fitted
	bestMSE := math.Inf(1)
	z := make([]float64, n)
	for _, th := range grid {
		for t := range z {
			z[t] = th*adj[t] + (1-th)*(a+b*float64(t+1))
		}
		alpha, l0 := fitSES(z)
		f := &Fitted{Theta: th, Alpha: alpha, Intercept: a, Slope: b, n: n, season: season, Seasonal: season != nil}
		res := make([]float64, n)
		w := 1 / th
		level := l0
		var sse float64
		for t, v := range adj {
			fitted := w*level + (1-w)*(a+b*float64(t+1))
			res[t] = v - fitted
			sse += res[t] * res[t]
			level += alpha * (z[t] - level)
		}
		f.Level = level
		f.residual = res
		f.Sigma = math.Sqrt(sse / float64(n))
		if mse := sse / float64(n); mse < bestMSE || best == nil {
			best, bestMSE = f, mse
		}
	}
	best.floor0 = slices.Min(y) >= 0
	return best, nil
}

// Forecast implements forecast.Fitted.
func (f *Fitted) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if h < 1 {
		return nil, fmt.Errorf("theta: horizon %d < 1", h)
	}
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	for _, l := range levels {
		out.Quantiles[l] = make([]float64, h)
	}
	w := 1 / f.Theta
	for i := range h {
		t := float64(f.n + i + 1)
		mean := w*f.Level + (1-w)*(f.Intercept+f.Slope*t)
		si := f.season.Ahead(i + 1)
		out.Mean[i] = f.clamp(mean) * si
		sd := f.Sigma * math.Sqrt(1+float64(i)*f.Alpha*f.Alpha)
		for _, l := range levels {
			out.Quantiles[l][i] = f.clamp(mean+naive.NormalQuantile(l)*sd) * si
		}
	}
	return out, nil
}

func (f *Fitted) clamp(v float64) float64 {
	if f.floor0 && v < 0 {
		return 0
	}
	return v
}

// line is the least-squares fit x_t ≈ a + b·t, t = 1..n.
func line(x []float64) (a, b float64) {
	n := float64(len(x))
	tbar := (n + 1) / 2
	var xbar float64
	for _, v := range x {
		xbar += v
	}
	xbar /= n
	var sxy, stt float64
	for i, v := range x {
		d := float64(i+1) - tbar
		sxy += d * (v - xbar)
		stt += d * d
	}
	if stt == 0 {
		return xbar, 0
	}
	b = sxy / stt
	return xbar - b*tbar, b
}
