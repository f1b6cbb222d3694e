package backtest

import (
	"fmt"
	"math"
	"slices"

	"github.com/stockflow/stockflow/models/ensemble"
	"github.com/stockflow/stockflow/models/ets"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/intermittent"
	"github.com/stockflow/stockflow/models/naive"
	"github.com/stockflow/stockflow/models/theta"
)

// IntermittentShare is the share of zero periods above which Defaults treats
// a series as intermittent demand.
const IntermittentShare = 0.3

// AutoMaxEval bounds the Nelder–Mead evaluations of each ETS fit inside
// Defaults' automatic ETS: the backtest fits it once per origin, and R's
// 2000 costs several times more for little accuracy.
const AutoMaxEval = 400

// ZeroShare is the share of y's values that are exactly zero.
func ZeroShare(y []float64) float64 {
	if len(y) == 0 {
		return 0
	}
	var z int
	for _, v := range y {
		if v == 0 {
			z++
		}
	}
	return float64(z) / float64(len(y))
}

// Defaults are the candidates Auto compares when it has none, by the
// seasonal period m and the series' shape:
//
//   - daily demand (m = 7): level forecasts (the mean of the last 21 or 28
//     days, EWMA at α 0.03, 0.05 and 0.1, TSB), each also times a
//     day-of-week Profile estimated over the whole history. On tiny M5 these
//     beat SES, Croston, SBA, ADIDA and automatic ETS, which only add
//     selection noise here;
//   - an intermittent series (more than IntermittentShare zeros, other
//     periods): Croston (classic and optimised), SBA, TSB, ADIDA, the mean
//     of the last 28 periods, and seasonal naive when m > 1;
//   - otherwise M4's benchmarks as the organisers ran them (Naive2; SES,
//     Holt and damped trend on the seasonally adjusted series; Theta; Com),
//     optimised Theta and seasonal naive (m > 1); then by frequency:
//     hourly (m = 24) adds the weekly cycle (seasonal naive and a 4-week
//     seasonal mean at 168, and SES, Theta and damped trend on the series
//     deseasonalised at 168) and leaves out automatic ETS, which is slow
//     at m = 24 and no better; m = 1 (M4 weekly) adds automatic ETS (with
//     MaxEval AutoMaxEval) and SES, Theta and damped trend deseasonalised
//     at the yearly period 52; any other m adds automatic ETS.
func Defaults(y []float64, m int) []forecast.Model {
	autoETS := ets.Auto()
	autoETS.MaxEval = AutoMaxEval
	if m == 7 {
		// Daily demand: level models times a day-of-week profile.
		return []forecast.Model{
			WindowMean{N: 21},
			WindowMean{N: 28},
			EWMA{Alpha: 0.03},
			EWMA{Alpha: 0.05},
			EWMA{Alpha: 0.1},
			intermittent.TSB(0.1, 0.1),
			Profile{Model: WindowMean{N: 21}, M: 7, Label: "mean21*p7"},
			Profile{Model: WindowMean{N: 28}, M: 7, Label: "mean28*p7"},
			Profile{Model: EWMA{Alpha: 0.03}, M: 7, Label: "ewma0.03*p7"},
			Profile{Model: EWMA{Alpha: 0.05}, M: 7, Label: "ewma0.05*p7"},
			Profile{Model: EWMA{Alpha: 0.1}, M: 7, Label: "ewma0.1*p7"},
			Profile{Model: intermittent.TSB(0.1, 0.1), M: 7, Label: "tsb*p7"},
		}
	}
	if ZeroShare(y) > IntermittentShare {
		c := []forecast.Model{
			intermittent.Croston(),
			intermittent.CrostonOptimized(),
			intermittent.SBA(),
			intermittent.TSB(0.1, 0.1),
			intermittent.ADIDA(),
			WindowMean{N: 28},
		}
		if m > 1 {
			c = append(c, naive.Seasonal{})
		}
		return c
	}
	ses := naive.Adjusted{Model: ets.SES(), Label: "ses"}
	holt := naive.Adjusted{Model: ets.Holt(), Label: "holt"}
	damped := naive.Adjusted{Model: ets.Damped(), Label: "damped"}
	c := []forecast.Model{
		naive.Naive2{},
		ses,
		holt,
		damped,
		theta.Standard{},
		theta.Optimized{},
		ensemble.Combination{Label: "com", Members: []forecast.Model{ses, holt, damped}},
	}
	if m > 1 {
		c = append(c, naive.Seasonal{})
	}
	switch m {
	case 24:
		// Hourly: the weekly cycle matters more than the trend, and
		// ETS with m = 24 is slow and no better than these.
		c = append(c,
			Period{Model: naive.Seasonal{}, M: 168, Label: "snaive168"},
			SeasonalMean{Weeks: 4, M: 168, Label: "smean168"},
			Deseasonalized{Model: ets.SES(), M: 168, Label: "ses/s168"},
			Deseasonalized{Model: theta.Standard{}, M: 168, Label: "theta/s168"},
			Deseasonalized{Model: ets.Damped(), M: 168, Label: "damped/s168"},
		)
	case 1:
		c = append(c, autoETS,
			Deseasonalized{Model: ets.SES(), M: 52, Label: "ses/s52"},
			Deseasonalized{Model: theta.Standard{}, M: 52, Label: "theta/s52"},
			Deseasonalized{Model: ets.Damped(), M: 52, Label: "damped/s52"},
		)
	default:
		c = append(c, autoETS)
	}
	return c
}

// Period runs Model with the seasonal period M whatever period the caller
// passes: hourly data have a daily (24) and a weekly (168) cycle, and the
// caller passes one.
type Period struct {
	Model forecast.Model
	M     int
	// Label is the Name; empty means "<Model's name>@<M>".
	Label string
}

var _ forecast.Model = Period{}

// Name implements forecast.Model.
func (p Period) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return fmt.Sprintf("%s@%d", p.Model.Name(), p.M)
}

// Fit implements forecast.Model; m is ignored for p.M.
func (p Period) Fit(y []float64, _ int) (forecast.Fitted, error) {
	return p.Model.Fit(y, p.M)
}

// WindowMean forecasts every step with the mean of the last N values, a
// strong baseline for noisy and intermittent demand. Its quantiles are the
// empirical quantiles of the last max(N, 182) values, rescaled to the
// window's mean (N values alone give too narrow tails).
type WindowMean struct{ N int }

var _ forecast.Model = WindowMean{}

// Name implements forecast.Model.
func (w WindowMean) Name() string { return fmt.Sprintf("mean%d", w.N) }

// Fit implements forecast.Model. It needs N values (N ≥ 1).
func (w WindowMean) Fit(y []float64, _ int) (forecast.Fitted, error) {
	if w.N < 1 {
		return nil, fmt.Errorf("backtest: window %d must be positive", w.N)
	}
	if len(y) < w.N {
		return nil, fmt.Errorf("%s: %d points: %w", w.Name(), len(y), forecast.ErrTooShort)
	}
	mean := meanOf(y[len(y)-w.N:])
	long := slices.Clone(y[len(y)-min(len(y), max(w.N, 182)):])
	if lm := meanOf(long); lm > 0 && mean >= 0 {
		for i := range long {
			long[i] *= mean / lm
		}
	}
	slices.Sort(long)
	return &flat{mean: mean, sorted: long}, nil
}

func meanOf(y []float64) float64 {
	var s float64
	for _, v := range y {
		s += v
	}
	return s / float64(len(y))
}

// SeasonalMean forecasts each step with the mean of the values at the same
// position in the last Weeks seasons of period M (for hourly data, M = 168:
// the same hour of the week); quantiles are normal from the spread of those
// values around their mean, pooled over the season.
type SeasonalMean struct {
	Weeks, M int
	// Label is the Name; empty means "smean<M>".
	Label string
}

var _ forecast.Model = SeasonalMean{}

// Name implements forecast.Model.
func (s SeasonalMean) Name() string {
	if s.Label != "" {
		return s.Label
	}
	return fmt.Sprintf("smean%d", s.M)
}

// Fit implements forecast.Model; m is ignored for s.M. It needs M values;
// with fewer than Weeks full seasons it uses those there are.
func (s SeasonalMean) Fit(y []float64, _ int) (forecast.Fitted, error) {
	if s.M < 1 || s.Weeks < 1 {
		return nil, fmt.Errorf("backtest: seasonal mean needs positive M and Weeks (%d, %d)", s.M, s.Weeks)
	}
	k := min(s.Weeks, len(y)/s.M)
	if k < 1 {
		return nil, fmt.Errorf("%s: %d points: %w", s.Name(), len(y), forecast.ErrTooShort)
	}
	n := len(y)
	mean := make([]float64, s.M)
	var ss float64
	for i := range s.M {
		// Position i of the season just after the series.
		var sum float64
		for w := 1; w <= k; w++ {
			sum += y[n-w*s.M+i]
		}
		mean[i] = sum / float64(k)
		for w := 1; w <= k; w++ {
			d := y[n-w*s.M+i] - mean[i]
			ss += d * d
		}
	}
	sd := 0.0
	if k > 1 {
		sd = math.Sqrt(ss / float64(s.M*(k-1)))
	}
	return &seasonalMean{mean: mean, sd: sd}, nil
}

type seasonalMean struct {
	mean []float64
	sd   float64
}

func (f *seasonalMean) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	for i := range h {
		out.Mean[i] = f.mean[i%len(f.mean)]
	}
	for _, l := range levels {
		z := naive.NormalQuantile(l) * f.sd
		q := make([]float64, h)
		for i := range q {
			q[i] = out.Mean[i] + z
		}
		out.Quantiles[l] = q
	}
	return out, nil
}

type flat struct {
	mean   float64
	sorted []float64
}

func (f *flat) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	if err := forecast.CheckLevels(levels); err != nil {
		return nil, err
	}
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: make(map[float64][]float64, len(levels))}
	for i := range out.Mean {
		out.Mean[i] = f.mean
	}
	for _, l := range levels {
		v := quantile7(f.sorted, l)
		q := make([]float64, h)
		for i := range q {
			q[i] = v
		}
		out.Quantiles[l] = q
	}
	return out, nil
}

// quantile7 is R's type-7 quantile of sorted values.
func quantile7(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	h := p * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}
