package backtest

import (
	"fmt"

	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/naive"
)

// Deseasonalized runs Model on the series divided by its classical
// multiplicative seasonal indices at period M (naive.SeasonalIndices), fitted
// with period 1, and multiplies the mean and quantiles back by the indices of
// the steps ahead. Unlike naive.Adjusted it applies no seasonality test, so it
// reaches periods the M4 test cannot (the test's autocorrelations stop at lag
// ⌊10·log10 n⌋): 52 for weekly data, 168 for hourly. Whether the season
// helps is left to the backtest. It needs positive data and 2·M points.
type Deseasonalized struct {
	Model forecast.Model
	M     int
	// Label is the Name; empty means "<Model's name>/s<M>".
	Label string
}

var _ forecast.Model = Deseasonalized{}

// Name implements forecast.Model.
func (d Deseasonalized) Name() string {
	if d.Label != "" {
		return d.Label
	}
	return fmt.Sprintf("%s/s%d", d.Model.Name(), d.M)
}

// Fit implements forecast.Model; m is ignored for d.M.
func (d Deseasonalized) Fit(y []float64, _ int) (forecast.Fitted, error) {
	idx, err := naive.SeasonalIndices(y, d.M)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name(), err)
	}
	s := &naive.Season{Indices: idx, N: len(y)}
	adj := make([]float64, len(y))
	for t, v := range y {
		adj[t] = v / idx[t%d.M]
	}
	f, err := d.Model.Fit(adj, 1)
	if err != nil {
		return nil, err
	}
	return &reseasoned{inner: f, season: s}, nil
}

type reseasoned struct {
	inner  forecast.Fitted
	season *naive.Season
}

func (r *reseasoned) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	fc, err := r.inner.Forecast(h, levels)
	if err != nil {
		return nil, err
	}
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(fc.Quantiles))}
	for i := range h {
		out.Mean[i] = fc.Mean[i] * r.season.Ahead(i+1)
	}
	for l, q := range fc.Quantiles {
		p := make([]float64, h)
		for i := range h {
			p[i] = q[i] * r.season.Ahead(i+1)
		}
		out.Quantiles[l] = p
	}
	return out, nil
}
