// Package ensemble combines forecasting models: a [Combination] fits every
// member model to the series and combines their forecasts step by step, by
// the mean (M4's "Com" is the mean of SES, Holt and damped trend) or the
// median of the members' point forecasts. Quantiles are combined by
// averaging the members' quantiles level by level (Vincentisation), which
// keeps them ordered when every member's are.
//
// It works over any [forecast.Model], so it does not import the model
// packages. Like everything under models/, it imports only the standard
// library and other models/ packages.
package ensemble

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stockflow/stockflow/models/forecast"
)

// Method is how a Combination combines the members' point forecasts.
type Method int

// The combination methods.
const (
	Mean Method = iota
	Median
)

func (m Method) String() string {
	switch m {
	case Mean:
		return "mean"
	case Median:
		return "median"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Combination is a model made of Members. It fails if any member fails to
// fit or forecast, wrapping the member's error (so errors.Is(err,
// forecast.ErrTooShort) still works).
type Combination struct {
	// Label is the Name of the combination ("com"); empty means "mean(a,b,…)"
	// or "median(a,b,…)" from the members' names.
	Label string
	// Members are the models combined; at least one.
	Members []forecast.Model
	// Method combines the point forecasts; quantiles are always averaged.
	Method Method
}

// ErrNoMembers is returned by Fit for a Combination without members.
var ErrNoMembers = errors.New("ensemble: no member models")

var (
	_ forecast.Model  = Combination{}
	_ forecast.Fitted = (*Fitted)(nil)
)

// Name implements forecast.Model.
func (c Combination) Name() string {
	if c.Label != "" {
		return c.Label
	}
	names := make([]string, len(c.Members))
	for i, m := range c.Members {
		names[i] = m.Name()
	}
	return c.Method.String() + "(" + strings.Join(names, ",") + ")"
}

// Fit implements forecast.Model: it fits every member to y.
func (c Combination) Fit(y []float64, m int) (forecast.Fitted, error) {
	if len(c.Members) == 0 {
		return nil, ErrNoMembers
	}
	if c.Method != Mean && c.Method != Median {
		return nil, fmt.Errorf("ensemble: unknown method %d", int(c.Method))
	}
	f := &Fitted{
		Members: make([]forecast.Fitted, len(c.Members)),
		names:   make([]string, len(c.Members)),
		method:  c.Method,
	}
	for i, model := range c.Members {
		fit, err := model.Fit(y, m)
		if err != nil {
			return nil, fmt.Errorf("ensemble: fit %s: %w", model.Name(), err)
		}
		f.Members[i], f.names[i] = fit, model.Name()
	}
	return f, nil
}

// Fitted is a fitted Combination.
type Fitted struct {
	// Members are the fitted members, in the order of Combination.Members.
	Members []forecast.Fitted

	names  []string
	method Method
}

// Forecast implements forecast.Fitted.
func (f *Fitted) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if h < 1 {
		return nil, fmt.Errorf("ensemble: horizon %d < 1", h)
	}
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	fcs := make([]*forecast.Forecast, len(f.Members))
	for i, m := range f.Members {
		fc, err := m.Forecast(h, levels)
		if err != nil {
			return nil, fmt.Errorf("ensemble: forecast %s: %w", f.names[i], err)
		}
		if len(fc.Mean) != h {
			return nil, fmt.Errorf("ensemble: %s forecast %d steps, want %d", f.names[i], len(fc.Mean), h)
		}
		fcs[i] = fc
	}
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	col := make([]float64, len(fcs))
	for s := range h {
		for i, fc := range fcs {
			col[i] = fc.Mean[s]
		}
		out.Mean[s] = combine(col, f.method)
	}
	for _, l := range levels {
		q := make([]float64, h)
		for s := range h {
			for i, fc := range fcs {
				path, err := fc.Quantile(l)
				if err != nil {
					return nil, fmt.Errorf("ensemble: %s: %w", f.names[i], err)
				}
				if len(path) != h {
					return nil, fmt.Errorf("ensemble: %s quantile %g has %d steps, want %d", f.names[i], l, len(path), h)
				}
				col[i] = path[s]
			}
			q[s] = combine(col, Mean)
		}
		out.Quantiles[l] = q
	}
	return out, nil
}

// combine reduces x by method; it reorders x for the median.
func combine(x []float64, method Method) float64 {
	if method == Median {
		slices.Sort(x)
		n := len(x)
		if n%2 == 1 {
			return x[n/2]
		}
		return (x[n/2-1] + x[n/2]) / 2
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
