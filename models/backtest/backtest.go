// Package backtest chooses a forecasting model per series by rolling-origin
// evaluation on the training data only: every candidate is fitted on y[:t]
// for the last few origins t, forecasts the next Horizon steps, and is scored
// on them with an error scaled by the series' in-sample naive error (MASE-like);
// the candidate, or mean combination of the best few, with the lowest mean
// score is refitted on the whole series. The test set is never seen.
//
// Auto implements forecast.Model, so the selection is itself a model that a
// backtest or an evaluation can run. Fit keeps no state between calls, so one
// Auto may fit different series concurrently, provided its candidates can
// (every models/ model can).
//
// Like everything under models/, it imports only the standard library and
// other models/ packages.
package backtest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stockflow/stockflow/models/ensemble"
	"github.com/stockflow/stockflow/models/forecast"
)

// ErrNoCandidate is wrapped by Fit when no candidate fits the series.
var ErrNoCandidate = errors.New("backtest: no candidate fits the series")

// Metric scores a forecast of the held-out actual values; scale is the
// in-sample naive error of the training series (always positive). Lower is
// better.
type Metric func(actual, forecast []float64, scale float64) float64

// ScaledMAE is the mean absolute error divided by scale: MASE when scale is
// the in-sample mean absolute seasonal difference.
func ScaledMAE(actual, fc []float64, scale float64) float64 {
	var s float64
	for i := range actual {
		s += math.Abs(actual[i] - fc[i])
	}
	return s / float64(len(actual)) / scale
}

// ScaledRMSE is the root mean squared error divided by scale, the shape of
// M5's RMSSE (with the mean absolute naive error as the scale, the ranking of
// candidates on one series is the same as RMSSE's).
func ScaledRMSE(actual, fc []float64, scale float64) float64 {
	var s float64
	for i := range actual {
		d := actual[i] - fc[i]
		s += d * d
	}
	return math.Sqrt(s/float64(len(actual))) / scale
}

// Auto is the per-series model selection by rolling-origin backtest.
type Auto struct {
	// Label is the Name; empty means "auto".
	Label string
	// Candidates are the models compared. Nil means Defaults(y, m) for
	// each series.
	Candidates []forecast.Model
	// Origins is the number of rolling origins, the last ones of the
	// training series (0 means 3). Fewer are used when the series is too
	// short for them.
	Origins int
	// Horizon is the number of steps forecast from each origin; it must be
	// positive.
	Horizon int
	// Step is the distance between consecutive origins (0 means Horizon:
	// the evaluation windows tile the end of the series).
	Step int
	// MinTrain is the shortest training prefix an origin may leave (0 means
	// max(2·Horizon, 2·m, 8)).
	MinTrain int
	// Metric scores each origin's forecast (nil means ScaledMAE).
	Metric Metric
	// Combine, when above 1, also scores the mean of the k best candidates
	// for k = 2..Combine, from the forecasts already made (no extra fits);
	// a combination that wins is refitted like a single model.
	Combine int
}

var _ forecast.Model = Auto{}

// Name implements forecast.Model.
func (a Auto) Name() string {
	if a.Label == "" {
		return "auto"
	}
	return a.Label
}

// Validate reports whether the settings can be used.
func (a Auto) Validate() error {
	switch {
	case a.Horizon < 1:
		return fmt.Errorf("backtest: horizon %d must be positive", a.Horizon)
	case a.Origins < 0, a.Step < 0, a.MinTrain < 0, a.Combine < 0:
		return errors.New("backtest: origins, step, min train and combine must not be negative")
	}
	return nil
}

// Score is one candidate's backtest result.
type Score struct {
	// Model is the candidate's name.
	Model string
	// Error is the mean of Metric over the origins; +Inf when the
	// candidate failed at an origin.
	Error float64
}

// Fitted is the chosen model refitted on the whole series.
type Fitted struct {
	forecast.Fitted
	// Scores are every candidate's (and combination's) backtest errors,
	// best first; empty when the series was too short to backtest.
	Scores []Score
	// Origins is the number of origins used.
	Origins int

	chosen string
}

// Chosen names the model chosen for the series, e.g. "damped" or
// "mean(theta,damped)".
func (f *Fitted) Chosen() string { return f.chosen }

// Fit implements forecast.Model: it backtests the candidates on y and
// returns the best refitted on all of y. A series too short for a single
// origin gets the first candidate that fits it.
func (a Auto) Fit(y []float64, m int) (forecast.Fitted, error) {
	return a.FitAuto(y, m)
}

// FitAuto is Fit returning the concrete fitted model.
func (a Auto) FitAuto(y []float64, m int) (*Fitted, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	m = max(m, 1)
	cands := a.Candidates
	if cands == nil {
		cands = Defaults(y, m)
	}
	if len(cands) == 0 {
		return nil, ErrNoCandidate
	}
	origins := a.origins(len(y), m)
	if len(origins) == 0 {
		return fallback(cands, y, m)
	}
	scale := naiveScale(y, m)
	metric := a.Metric
	if metric == nil {
		metric = ScaledMAE
	}

	// fcs[c][o] is candidate c's mean forecast from origin o (nil if it
	// failed there).
	fcs := make([][][]float64, len(cands))
	errs := make([]float64, len(cands))
	for c, model := range cands {
		fcs[c] = make([][]float64, len(origins))
		var sum float64
		for o, t := range origins {
			f, err := fitForecast(model, y[:t], m, a.Horizon)
			if err != nil {
				sum = math.Inf(1)
				break
			}
			fcs[c][o] = f
			sum += metric(y[t:t+a.Horizon], f, scale)
		}
		errs[c] = sum / float64(len(origins))
	}
	rank := make([]int, len(cands))
	for i := range rank {
		rank[i] = i
	}
	// Stable: ties keep the candidates' order, so the choice is
	// deterministic.
	slices.SortStableFunc(rank, func(i, j int) int { return cmpScore(errs[i], errs[j]) })
	if math.IsInf(errs[rank[0]], 1) || math.IsNaN(errs[rank[0]]) {
		return fallback(cands, y, m)
	}

	scores := make([]Score, 0, len(cands)+a.Combine)
	for _, c := range rank {
		scores = append(scores, Score{Model: cands[c].Name(), Error: errs[c]})
	}
	bestK, bestErr := 1, errs[rank[0]]
	for k := 2; k <= a.Combine && k <= len(cands); k++ {
		if math.IsInf(errs[rank[k-1]], 1) {
			break
		}
		var sum float64
		mean := make([]float64, a.Horizon)
		for o, t := range origins {
			for i := range mean {
				var s float64
				for _, c := range rank[:k] {
					s += fcs[c][o][i]
				}
				mean[i] = s / float64(k)
			}
			sum += metric(y[t:t+a.Horizon], mean, scale)
		}
		e := sum / float64(len(origins))
		scores = append(scores, Score{Model: comboName(cands, rank[:k]), Error: e})
		if e < bestErr {
			bestK, bestErr = k, e
		}
	}
	slices.SortStableFunc(scores, func(p, q Score) int { return cmpScore(p.Error, q.Error) })

	// Refit the winner on all of y; if it fails there (it fitted every
	// shorter prefix, so this is rare), fall back down the ranking.
	if bestK > 1 {
		members := make([]forecast.Model, bestK)
		for i, c := range rank[:bestK] {
			members[i] = cands[c]
		}
		combo := ensemble.Combination{Label: comboName(cands, rank[:bestK]), Members: members}
		if f, err := combo.Fit(y, m); err == nil {
			return &Fitted{Fitted: f, Scores: scores, Origins: len(origins), chosen: combo.Name()}, nil
		}
	}
	for _, c := range rank {
		if math.IsInf(errs[c], 1) {
			break
		}
		if f, err := cands[c].Fit(y, m); err == nil {
			return &Fitted{Fitted: f, Scores: scores, Origins: len(origins), chosen: cands[c].Name()}, nil
		}
	}
	return fallback(cands, y, m)
}

// origins returns the training lengths t at which the backtest forecasts,
// oldest first.
func (a Auto) origins(n, m int) []int {
	k := a.Origins
	if k == 0 {
		k = 3
	}
	step := a.Step
	if step == 0 {
		step = a.Horizon
	}
	minTrain := a.MinTrain
	if minTrain == 0 {
		minTrain = max(2*a.Horizon, 2*m, 8)
	}
	var ts []int
	for i := range k {
		t := n - a.Horizon - i*step
		if t < minTrain {
			break
		}
		ts = append(ts, t)
	}
	slices.Reverse(ts)
	return ts
}

func fallback(cands []forecast.Model, y []float64, m int) (*Fitted, error) {
	var errs []error
	for _, c := range cands {
		f, err := c.Fit(y, m)
		if err == nil {
			return &Fitted{Fitted: f, chosen: c.Name()}, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.Name(), err))
	}
	return nil, fmt.Errorf("%w: %w", ErrNoCandidate, errors.Join(errs...))
}

func fitForecast(model forecast.Model, y []float64, m, h int) ([]float64, error) {
	f, err := model.Fit(y, m)
	if err != nil {
		return nil, err
	}
	fc, err := f.Forecast(h, nil)
	if err != nil {
		return nil, err
	}
	for _, v := range fc.Mean {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("backtest: forecast not finite")
		}
	}
	return fc.Mean, nil
}

// naiveScale is the in-sample mean absolute seasonal difference at lag m,
// falling back to lag 1, then to the mean absolute value, then to 1, so that
// it is always positive. It is the same for every candidate and origin of a
// series, so it only makes scores comparable across series.
func naiveScale(y []float64, m int) float64 {
	for _, lag := range []int{m, 1} {
		if len(y) <= lag {
			continue
		}
		var s float64
		for t := lag; t < len(y); t++ {
			s += math.Abs(y[t] - y[t-lag])
		}
		if s > 0 {
			return s / float64(len(y)-lag)
		}
	}
	var s float64
	for _, v := range y {
		s += math.Abs(v)
	}
	if s > 0 {
		return s / float64(len(y))
	}
	return 1
}

func cmpScore(a, b float64) int {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return 1
	case math.IsNaN(b):
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func comboName(cands []forecast.Model, idx []int) string {
	names := make([]string, len(idx))
	for i, c := range idx {
		names[i] = cands[c].Name()
	}
	return "mean(" + strings.Join(names, ",") + ")"
}
