package naive

import (
	"errors"
	"fmt"
	"math"
)

// tcrit is the one-sided 90% critical value of M4's seasonality test.
const tcrit = 1.645

// IsSeasonal is M4's seasonality test (SeasonalityTest in the organisers'
// benchmark code): a series is seasonal at period m > 1 when it has at least
// 3m points and |r_m| > tcrit·√((1 + 2·Σ_{k<m} r_k²)/n), where r_k is the
// lag-k autocorrelation computed as R's acf does and tcrit = 1.645. As in R,
// acf stops at lag ⌊10·log10 n⌋: when m is beyond it, r_m is NA and the
// series counts as not seasonal. A constant series is not seasonal.
func IsSeasonal(y []float64, m int) bool {
	n := len(y)
	if m <= 1 || n < 3*m {
		return false
	}
	lagMax := min(int(math.Floor(10*math.Log10(float64(n)))), n-1)
	if m > lagMax {
		return false
	}
	r := ACF(y, m)
	if r == nil {
		return false
	}
	var s float64
	for k := 1; k < m; k++ {
		s += r[k] * r[k]
	}
	limit := tcrit * math.Sqrt((1+2*s)/float64(n))
	return math.Abs(r[m]) > limit
}

// ACF returns the autocorrelations r_0..r_maxLag of y as R's acf computes
// them: r_k = Σ_{t<n−k} (y_t−ȳ)(y_{t+k}−ȳ) / Σ (y_t−ȳ)². It returns nil when
// y is constant or maxLag ≥ len(y).
func ACF(y []float64, maxLag int) []float64 {
	n := len(y)
	if maxLag >= n || maxLag < 0 {
		return nil
	}
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	var c0 float64
	for _, v := range y {
		c0 += (v - mean) * (v - mean)
	}
	if c0 == 0 {
		return nil
	}
	r := make([]float64, maxLag+1)
	for k := range r {
		var c float64
		for t := 0; t+k < n; t++ {
			c += (y[t] - mean) * (y[t+k] - mean)
		}
		r[k] = c / c0
	}
	return r
}

// ErrDecompose is wrapped by [SeasonalIndices] when the multiplicative
// decomposition is undefined for the series.
var ErrDecompose = errors.New("naive: multiplicative decomposition undefined")

// SeasonalIndices are the seasonal indices of R's
// decompose(type = "multiplicative"): the trend is the centred moving
// average of order m (a 2×m average for even m), the ratios y/trend are
// averaged per position in the season, and the m averages are divided by
// their mean. Index i applies to the positions t (0-based) with t mod m = i.
//
// It needs m > 1 and at least 2m points, and positive data (a zero or
// negative trend or index has no multiplicative meaning; M4's series are
// all positive).
func SeasonalIndices(y []float64, m int) ([]float64, error) {
	n := len(y)
	if m <= 1 || n < 2*m {
		return nil, fmt.Errorf("%w: %d points for period %d", ErrDecompose, n, m)
	}
	// R's filter(x, f, sides = 2): weights 1/m, halved at both ends when m
	// is even (length m+1), centred on t.
	half := m / 2
	w := make([]float64, 2*half+1)
	for j := range w {
		w[j] = 1 / float64(m)
	}
	if m%2 == 0 {
		w[0], w[len(w)-1] = 0.5/float64(m), 0.5/float64(m)
	}
	sum := make([]float64, m)
	cnt := make([]int, m)
	for t := half; t < n-half; t++ {
		var tr float64
		for j, wj := range w {
			tr += wj * y[t-half+j]
		}
		if !(tr > 0) {
			return nil, fmt.Errorf("%w: trend %g at %d", ErrDecompose, tr, t)
		}
		sum[t%m] += y[t] / tr
		cnt[t%m]++
	}
	idx := make([]float64, m)
	var mean float64
	for i := range idx {
		idx[i] = sum[i] / float64(cnt[i])
		mean += idx[i]
	}
	mean /= float64(m)
	for i := range idx {
		idx[i] /= mean
		if !(idx[i] > 0) || math.IsInf(idx[i], 0) {
			return nil, fmt.Errorf("%w: index %g at %d", ErrDecompose, idx[i], i)
		}
	}
	return idx, nil
}
