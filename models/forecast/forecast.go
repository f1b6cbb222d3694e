// Package forecast defines what every stockflow demand model is: a Model
// fits a series and returns a Fitted model that forecasts a horizon with
// a mean path and quantiles. The model packages (naive, ets, theta,
// intermittent, ...) implement it; metrics and backtests consume it.
//
// Like everything under models/, it is pure Go: the standard library and
// numeric code only, no I/O.
package forecast

import (
	"errors"
	"fmt"
	"slices"
)

// Model is a forecasting method with its settings, before fitting.
type Model interface {
	// Name identifies the method in reports ("ses", "ets", "croston", ...).
	Name() string
	// Fit estimates the model on y, observed at a regular interval with
	// seasonal period m (1 for none). y is not modified.
	Fit(y []float64, m int) (Fitted, error)
}

// Fitted is a model estimated on one series.
type Fitted interface {
	// Forecast returns the next h values: the mean path and, for every
	// level in levels (each in (0, 1)), the quantile path.
	Forecast(h int, levels []float64) (*Forecast, error)
}

// Forecast is a forecast of h steps.
type Forecast struct {
	// Mean is the point forecast, one value per step.
	Mean []float64
	// Quantiles maps a level in (0, 1) to its path, one value per step.
	Quantiles map[float64][]float64
}

// Quantile returns the path for level, or an error naming it.
func (f *Forecast) Quantile(level float64) ([]float64, error) {
	q, ok := f.Quantiles[level]
	if !ok {
		return nil, fmt.Errorf("forecast: no quantile %g", level)
	}
	return q, nil
}

// ErrTooShort is returned by Fit when a series is too short for a method.
var ErrTooShort = errors.New("forecast: series too short for this method")

// ErrLevel is returned by Forecast for a quantile level outside (0, 1).
var ErrLevel = errors.New("forecast: quantile level must be in (0, 1)")

// CheckLevels validates quantile levels.
func CheckLevels(levels []float64) error {
	for _, l := range levels {
		if !(l > 0 && l < 1) {
			return fmt.Errorf("%w: %g", ErrLevel, l)
		}
	}
	return nil
}

// StandardLevels are the quantiles stockflow stores: p10, p50, p90, p95, p99
// (plus p5 and p95 bound the 90% interval used for coverage).
var StandardLevels = []float64{0.05, 0.1, 0.5, 0.9, 0.95, 0.99}

// Levels returns a sorted copy of levels without duplicates.
func Levels(levels []float64) []float64 {
	out := slices.Clone(levels)
	slices.Sort(out)
	return slices.Compact(out)
}
