package backtest

import (
	"fmt"
	"math"
	"slices"

	"github.com/stockflow/stockflow/models/forecast"
)

// EWMA forecasts every step with the exponentially weighted mean of the
// series at the fixed smoothing weight Alpha (simple exponential smoothing
// without estimation, started from the mean of the first 1/Alpha values).
// On noisy daily demand a small fixed Alpha forecasts the level better than
// one fitted to one-step errors. Quantiles add the empirical quantiles of the
// last 182 one-step errors to the level (floored at 0 for non-negative
// series).
type EWMA struct{ Alpha float64 }

var _ forecast.Model = EWMA{}

// Name implements forecast.Model.
func (e EWMA) Name() string { return fmt.Sprintf("ewma%g", e.Alpha) }

// Fit implements forecast.Model. It needs two observations.
func (e EWMA) Fit(y []float64, _ int) (forecast.Fitted, error) {
	if !(e.Alpha > 0 && e.Alpha <= 1) {
		return nil, fmt.Errorf("backtest: ewma alpha %g must be in (0, 1]", e.Alpha)
	}
	if len(y) < 2 {
		return nil, fmt.Errorf("%s: %d points: %w", e.Name(), len(y), forecast.ErrTooShort)
	}
	k := min(len(y), max(1, int(math.Round(1/e.Alpha))))
	var level float64
	for _, v := range y[:k] {
		level += v
	}
	level /= float64(k)
	const keep = 182
	res := make([]float64, 0, len(y))
	nonNeg := true
	for _, v := range y {
		res = append(res, v-level)
		level += e.Alpha * (v - level)
		if v < 0 {
			nonNeg = false
		}
	}
	if len(res) > keep {
		res = res[len(res)-keep:]
	}
	res = slices.Clone(res)
	slices.Sort(res)
	return &ewmaFitted{level: level, res: res, nonNeg: nonNeg}, nil
}

type ewmaFitted struct {
	level  float64
	res    []float64
	nonNeg bool
}

func (f *ewmaFitted) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	for i := range out.Mean {
		out.Mean[i] = f.level
	}
	for _, l := range levels {
		v := f.level + quantile7(f.res, l)
		if f.nonNeg {
			v = max(v, 0)
		}
		q := make([]float64, h)
		for i := range q {
			q[i] = v
		}
		out.Quantiles[l] = q
	}
	return out, nil
}
