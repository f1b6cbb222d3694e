// Package metric holds forecast accuracy measures exactly as the forecasting
// competitions' organisers define them: sMAPE, MASE and OWA (M4), RMSSE and
// WRMSSE (M5 accuracy), pinball loss and scaled pinball loss (M5
// uncertainty), MSIS (M4 intervals), interval coverage, and the retail measures WAPE and bias.
//
// Per-series functions take the actual values and the forecast for the same
// steps (and, for the scaled measures, the in-sample training series); they
// return an error wrapping [ErrLength] when lengths differ and [ErrScale]
// when the scaling denominator is zero or undefined. Aggregating over a data
// set is the caller's loop: the M4 figures are plain means of the per-series
// values (every series of a frequency has the same horizon).
//
// Like everything under models/, it imports only the standard library.
package metric

import (
	"errors"
	"fmt"
	"math"
)

// ErrLength is wrapped when actuals and forecasts differ in length or are empty.
var ErrLength = errors.New("metric: actual and forecast lengths differ or are zero")

// ErrScale is wrapped when a scaled measure's in-sample denominator is zero
// or the in-sample series is too short for it.
var ErrScale = errors.New("metric: in-sample scale is zero or undefined")

func checkLen(actual, forecast []float64) error {
	if len(actual) != len(forecast) || len(actual) == 0 {
		return fmt.Errorf("%w: %d actual, %d forecast", ErrLength, len(actual), len(forecast))
	}
	return nil
}

// SMAPE is the symmetric mean absolute percentage error of M4, in percent:
// mean(200·|y−f| / (|y|+|f|)). A step where y and f are both 0 counts as 0
// (M4 leaves it undefined; its data have no such step).
func SMAPE(actual, forecast []float64) (float64, error) {
	if err := checkLen(actual, forecast); err != nil {
		return 0, err
	}
	var s float64
	for i, y := range actual {
		d := math.Abs(y) + math.Abs(forecast[i])
		if d == 0 {
			continue
		}
		s += 200 * math.Abs(y-forecast[i]) / d
	}
	return s / float64(len(actual)), nil
}

// NaiveScale is MASE's denominator as in the M4 R code: the mean absolute
// seasonal difference mean(|y[t] − y[t−m]|) over the in-sample series,
// t = m+1..n. m < 1 is taken as 1.
func NaiveScale(insample []float64, m int) (float64, error) {
	m = max(m, 1)
	if len(insample) <= m {
		return 0, fmt.Errorf("%w: %d in-sample points for lag %d", ErrScale, len(insample), m)
	}
	var s float64
	for t := m; t < len(insample); t++ {
		s += math.Abs(insample[t] - insample[t-m])
	}
	scale := s / float64(len(insample)-m)
	if scale == 0 || math.IsNaN(scale) {
		return 0, fmt.Errorf("%w: constant in-sample at lag %d", ErrScale, m)
	}
	return scale, nil
}

// MASE is the mean absolute scaled error of M4: mean(|y−f|) divided by
// [NaiveScale](insample, m). M4 uses m = 1 for Weekly and Daily, 24 for
// Hourly, 12 Monthly, 4 Quarterly, 1 Yearly.
func MASE(insample, actual, forecast []float64, m int) (float64, error) {
	if err := checkLen(actual, forecast); err != nil {
		return 0, err
	}
	scale, err := NaiveScale(insample, m)
	if err != nil {
		return 0, err
	}
	return MAE(actual, forecast) / scale, nil
}

// MAE is the mean absolute error. It panics on unequal lengths; it is the
// building block of the checked functions.
func MAE(actual, forecast []float64) float64 {
	var s float64
	for i, y := range actual {
		s += math.Abs(y - forecast[i])
	}
	return s / float64(len(actual))
}

// OWA is M4's overall weighted average relative to Naive2, computed on the
// data-set totals: (sMAPE/sMAPE_Naive2 + MASE/MASE_Naive2) / 2, where each
// argument is the mean over all series of the data set.
func OWA(smape, mase, smapeNaive2, maseNaive2 float64) float64 {
	return (smape/smapeNaive2 + mase/maseNaive2) / 2
}

// RMSSE is the root mean squared scaled error of M5: the forecast's mean
// squared error divided by the mean squared one-step naive error of the
// in-sample series, square-rooted. As in M5, the in-sample series starts at
// its first non-zero value (the item was not on sale before it).
func RMSSE(insample, actual, forecast []float64) (float64, error) {
	if err := checkLen(actual, forecast); err != nil {
		return 0, err
	}
	start := 0
	for start < len(insample) && insample[start] == 0 {
		start++
	}
	in := insample[start:]
	if len(in) < 2 {
		return 0, fmt.Errorf("%w: %d active in-sample points", ErrScale, len(in))
	}
	var den float64
	for t := 1; t < len(in); t++ {
		d := in[t] - in[t-1]
		den += d * d
	}
	den /= float64(len(in) - 1)
	if den == 0 {
		return 0, fmt.Errorf("%w: constant active in-sample", ErrScale)
	}
	var num float64
	for i, y := range actual {
		d := y - forecast[i]
		num += d * d
	}
	num /= float64(len(actual))
	return math.Sqrt(num / den), nil
}

// WRMSSE is M5's weighted RMSSE: Σ wᵢ·RMSSEᵢ / Σ wᵢ. In M5 the series are
// those of all 12 aggregation levels, each level's weights being its
// series' dollar sales over the last 28 training days and every level
// weighing the same; callers build those series and weights. Weights must
// be non-negative with a positive sum.
func WRMSSE(rmsse, weights []float64) (float64, error) {
	if len(rmsse) != len(weights) || len(rmsse) == 0 {
		return 0, fmt.Errorf("%w: %d scores, %d weights", ErrLength, len(rmsse), len(weights))
	}
	var s, w float64
	for i, r := range rmsse {
		if weights[i] < 0 {
			return 0, fmt.Errorf("metric: negative weight %g at %d", weights[i], i)
		}
		s += weights[i] * r
		w += weights[i]
	}
	if w == 0 {
		return 0, errors.New("metric: weights sum to zero")
	}
	return s / w, nil
}

// Pinball is the mean pinball (quantile) loss of the quantile path q at
// level tau ∈ (0, 1): mean(max(tau·(y−q), (tau−1)·(y−q))).
func Pinball(actual, q []float64, tau float64) (float64, error) {
	if err := checkLen(actual, q); err != nil {
		return 0, err
	}
	if !(tau > 0 && tau < 1) {
		return 0, fmt.Errorf("metric: pinball level %g outside (0, 1)", tau)
	}
	var s float64
	for i, y := range actual {
		d := y - q[i]
		s += max(tau*d, (tau-1)*d)
	}
	return s / float64(len(actual)), nil
}

// ScaledPinball is M5's scaled pinball loss (SPL): [Pinball] divided by the
// mean absolute one-step naive error of the in-sample series from its first
// non-zero value.
func ScaledPinball(insample, actual, q []float64, tau float64) (float64, error) {
	p, err := Pinball(actual, q, tau)
	if err != nil {
		return 0, err
	}
	start := 0
	for start < len(insample) && insample[start] == 0 {
		start++
	}
	scale, err := NaiveScale(insample[start:], 1)
	if err != nil {
		return 0, err
	}
	return p / scale, nil
}

// Coverage is the share of actual values inside [lower, upper], in [0, 1].
func Coverage(actual, lower, upper []float64) (float64, error) {
	if err := checkLen(actual, lower); err != nil {
		return 0, err
	}
	if err := checkLen(actual, upper); err != nil {
		return 0, err
	}
	in := 0
	for i, y := range actual {
		if y >= lower[i] && y <= upper[i] {
			in++
		}
	}
	return float64(in) / float64(len(actual)), nil
}

// MSIS is M4's mean scaled interval score of the central (1−a) interval
// [lower, upper] (a = 0.05 for M4's 95% intervals): mean((u−l) + (2/a)·(l−y)·[y<l]
// + (2/a)·(y−u)·[y>u]) divided by [NaiveScale](insample, m).
func MSIS(insample, actual, lower, upper []float64, a float64, m int) (float64, error) {
	if err := checkLen(actual, lower); err != nil {
		return 0, err
	}
	if err := checkLen(actual, upper); err != nil {
		return 0, err
	}
	if !(a > 0 && a < 1) {
		return 0, fmt.Errorf("metric: MSIS level %g outside (0, 1)", a)
	}
	scale, err := NaiveScale(insample, m)
	if err != nil {
		return 0, err
	}
	var s float64
	for i, y := range actual {
		l, u := lower[i], upper[i]
		s += u - l
		if y < l {
			s += 2 / a * (l - y)
		}
		if y > u {
			s += 2 / a * (y - u)
		}
	}
	return s / float64(len(actual)) / scale, nil
}

// WAPE is the weighted absolute percentage error, as a fraction:
// Σ|y−f| / Σ|y|. It wraps [ErrScale] when every actual is zero.
func WAPE(actual, forecast []float64) (float64, error) {
	if err := checkLen(actual, forecast); err != nil {
		return 0, err
	}
	var num, den float64
	for i, y := range actual {
		num += math.Abs(y - forecast[i])
		den += math.Abs(y)
	}
	if den == 0 {
		return 0, fmt.Errorf("%w: actuals are all zero", ErrScale)
	}
	return num / den, nil
}

// Bias is the relative forecast bias, as a fraction: Σ(f−y) / Σ|y|.
// Positive means over-forecasting (excess stock), negative
// under-forecasting (stockouts). It wraps [ErrScale] when every actual is
// zero.
func Bias(actual, forecast []float64) (float64, error) {
	if err := checkLen(actual, forecast); err != nil {
		return 0, err
	}
	var num, den float64
	for i, y := range actual {
		num += forecast[i] - y
		den += math.Abs(y)
	}
	if den == 0 {
		return 0, fmt.Errorf("%w: actuals are all zero", ErrScale)
	}
	return num / den, nil
}
