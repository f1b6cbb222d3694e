package intermittent

import (
	"errors"
	"math"
	"testing"

	"github.com/stockflow/stockflow/models/forecast"
)

// every returns n periods with demand size every k-th period (the last
// period has demand).
func every(n, k int, size float64) []float64 {
	y := make([]float64, n)
	for i := n - 1; i >= 0; i -= k {
		y[i] = size
	}
	return y
}

func TestRegularDemand(t *testing.T) {
	y := every(120, 4, 8) // 8 every 4 periods: 2 per period
	cases := []struct {
		model   *Model
		mean    float64
		prob    float64
		meanTol float64
		probTol float64
	}{
		{model: Croston(), mean: 2, prob: 0.25, meanTol: 1e-9, probTol: 1e-9},
		{model: CrostonOptimized(), mean: 2, prob: 0.25, meanTol: 1e-9, probTol: 1e-9},
		{model: SBA(), mean: 1.9, prob: 0.25, meanTol: 1e-9, probTol: 1e-9},
		{model: TSB(0.1, 0.1), mean: 2, prob: 0.25, meanTol: 0.5, probTol: 0.1},
		{model: ADIDA(), mean: 2, prob: 0.25, meanTol: 1e-9, probTol: 1e-9},
	}
	for _, tc := range cases {
		t.Run(tc.model.Name(), func(t *testing.T) {
			f, err := tc.model.FitDemand(y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(f.Mean-tc.mean) > tc.meanTol {
				t.Errorf("mean %g, want %g", f.Mean, tc.mean)
			}
			if math.Abs(f.Prob-tc.prob) > tc.probTol {
				t.Errorf("probability %g, want %g", f.Prob, tc.prob)
			}
			fc, err := f.Forecast(7, forecast.StandardLevels)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range forecast.StandardLevels {
				q := fc.Quantiles[l]
				want := 0.0
				if l > 1-f.Prob {
					want = f.Mean / f.Prob // every non-zero demand has the same size
				}
				for i := range q {
					if math.Abs(q[i]-want) > 1e-9 {
						t.Fatalf("quantile %g step %d = %g, want %g", l, i, q[i], want)
					}
				}
			}
		})
	}
}

// TestQuantileMean checks that the quantile function integrates to the
// point forecast and is non-decreasing, on an irregular series.
func TestQuantileMean(t *testing.T) {
	y := []float64{0, 0, 3, 0, 1, 0, 0, 0, 7, 2, 0, 0, 1, 0, 4, 0, 0, 2, 0, 0, 0, 5, 0, 1}
	for _, m := range []*Model{Croston(), CrostonOptimized(), SBA(), TSB(0.2, 0.3), ADIDA()} {
		t.Run(m.Name(), func(t *testing.T) {
			f, err := m.FitDemand(y)
			if err != nil {
				t.Fatal(err)
			}
			const n = 100000
			sum, prev := 0.0, 0.0
			for i := 0; i < n; i++ {
				q := f.Quantile((float64(i) + 0.5) / n)
				if q < prev {
					t.Fatalf("quantile decreases at %g", (float64(i)+0.5)/n)
				}
				prev = q
				sum += q
			}
			if got := sum / n; math.Abs(got-f.Mean) > 1e-3*f.Mean {
				t.Errorf("mean of the quantile function %g, want the forecast %g", got, f.Mean)
			}
		})
	}
}

func TestEdgeCases(t *testing.T) {
	cases := []struct {
		name   string
		model  *Model
		y      []float64
		levels []float64
		err    error
	}{
		{name: "empty", model: Croston(), y: nil, err: forecast.ErrTooShort},
		{name: "negative", model: Croston(), y: []float64{1, -1}, err: ErrNegative},
		{name: "bad level", model: SBA(), y: []float64{0, 1}, levels: []float64{1.5}, err: forecast.ErrLevel},
		{name: "bad TSB parameter", model: TSB(0, 0.5), y: []float64{0, 1}},
		{name: "all zero", model: TSB(0.1, 0.1), y: make([]float64, 30), levels: []float64{0.99}},
		{name: "single demand ADIDA", model: ADIDA(), y: []float64{0, 0, 0, 0, 0, 3}, levels: []float64{0.99}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fit, err := tc.model.Fit(tc.y, 1)
			if err == nil {
				_, err = fit.Forecast(3, tc.levels)
			}
			switch {
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("error %v, want %v", err, tc.err)
			case tc.err == nil && tc.name == "bad TSB parameter" && err == nil:
				t.Error("want an error")
			case tc.err == nil && tc.name != "bad TSB parameter" && err != nil:
				t.Errorf("unexpected error %v", err)
			}
		})
	}
}
