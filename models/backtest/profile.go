package backtest

import (
	"fmt"

	"github.com/stockflow/stockflow/models/forecast"
)

// Profile multiplies Model's forecasts by a seasonal profile of period M
// estimated from the last Seasons seasons (all whole seasons there are when
// Seasons is 0 or the series is shorter): the day-of-week shape of daily
// demand on top of a level forecast. Model is fitted to the series as it is
// (with period 1), so a level that averages whole seasons (the mean of the
// last 28 days) is unbiased, and the profile averages 1. Unlike classical
// decomposition it accepts zeros: profile position i is the mean of the
// values at that position over their overall mean, shrunk towards 1 as if
// each position had two more seasons at the overall mean; a series whose
// window sums to 0 gets a flat profile.
type Profile struct {
	Model forecast.Model
	M     int
	// Seasons bounds the seasons the profile is estimated from; 0 means
	// all of them.
	Seasons int
	// Label is the Name; empty means "<Model's name>*p<M>".
	Label string
}

var _ forecast.Model = Profile{}

// Name implements forecast.Model.
func (p Profile) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return fmt.Sprintf("%s*p%d", p.Model.Name(), p.M)
}

// Fit implements forecast.Model; m is ignored for p.M. It needs one whole
// season.
func (p Profile) Fit(y []float64, _ int) (forecast.Fitted, error) {
	if p.M < 2 || p.Seasons < 0 {
		return nil, fmt.Errorf("backtest: profile needs M ≥ 2 and Seasons ≥ 0 (%d, %d)", p.M, p.Seasons)
	}
	seasons := len(y) / p.M
	if p.Seasons > 0 {
		seasons = min(seasons, p.Seasons)
	}
	if seasons < 1 {
		return nil, fmt.Errorf("%s: %d points: %w", p.Name(), len(y), forecast.ErrTooShort)
	}
	w := p.M * seasons
	n := len(y)
	sums := make([]float64, p.M)
	var total float64
	for t := n - w; t < n; t++ {
		sums[t%p.M] += y[t]
		total += y[t]
	}
	idx := make([]float64, p.M)
	mean := total / float64(w)
	for i := range idx {
		idx[i] = 1
		if mean > 0 {
			const prior = 2
			idx[i] = (sums[i]/mean + prior) / float64(seasons+prior)
		}
	}
	f, err := p.Model.Fit(y, 1)
	if err != nil {
		return nil, err
	}
	return &profiled{inner: f, idx: idx, n: n}, nil
}

type profiled struct {
	inner forecast.Fitted
	idx   []float64
	n     int
}

func (p *profiled) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	fc, err := p.inner.Forecast(h, levels)
	if err != nil {
		return nil, err
	}
	at := func(i int) float64 { return p.idx[(p.n+i)%len(p.idx)] }
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(fc.Quantiles))}
	for i := range h {
		out.Mean[i] = fc.Mean[i] * at(i)
	}
	for l, q := range fc.Quantiles {
		v := make([]float64, h)
		for i := range h {
			v[i] = q[i] * at(i)
		}
		out.Quantiles[l] = v
	}
	return out, nil
}
