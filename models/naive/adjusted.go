package naive

import (
	"fmt"

	"github.com/stockflow/stockflow/models/forecast"
)

// Adjusted runs any model the way M4's benchmark code runs SES, Holt, Damped,
// Theta and Com: on the series seasonally adjusted by [Adjust] (the
// seasonality test at period m, then multiplicative decomposition), fitted
// with period 1, its mean and quantiles multiplied by the seasonal indices
// of the steps ahead. A non-seasonal series goes to the model unchanged
// (with period 1).
type Adjusted struct {
	// Model is fitted to the adjusted series.
	Model forecast.Model
	// Label is the name; empty means "sa(<Model's name>)".
	Label string
}

var _ forecast.Model = Adjusted{}

// Name implements forecast.Model.
func (a Adjusted) Name() string {
	if a.Label != "" {
		return a.Label
	}
	return "sa(" + a.Model.Name() + ")"
}

// Fit implements forecast.Model.
func (a Adjusted) Fit(y []float64, m int) (forecast.Fitted, error) {
	adj, s := Adjust(y, m)
	fit, err := a.Model.Fit(adj, 1)
	if err != nil {
		return nil, fmt.Errorf("seasonally adjusted %s: %w", a.Model.Name(), err)
	}
	return &adjusted{fit: fit, season: s}, nil
}

type adjusted struct {
	fit    forecast.Fitted
	season *Season
}

func (a *adjusted) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	f, err := a.fit.Forecast(h, levels)
	if err != nil || a.season == nil {
		return f, err
	}
	out := &forecast.Forecast{Mean: reseason(f.Mean, a.season), Quantiles: make(map[float64][]float64, len(f.Quantiles))}
	for l, q := range f.Quantiles {
		out.Quantiles[l] = reseason(q, a.season)
	}
	return out, nil
}

func reseason(x []float64, s *Season) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * s.Ahead(i+1)
	}
	return out
}
