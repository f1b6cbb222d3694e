package theta_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/naive"
	"github.com/stockflow/stockflow/models/theta"
)

func linear(n int, a, b float64) []float64 {
	y := make([]float64, n)
	for t := range y {
		y[t] = a + b*float64(t+1)
	}
	return y
}

func seasonal(n int, level float64, idx []float64) []float64 {
	y := make([]float64, n)
	for t := range y {
		y[t] = level * idx[t%len(idx)]
	}
	return y
}

func TestMean(t *testing.T) {
	idx := []float64{0.5, 1, 1.5, 1}
	tests := []struct {
		name  string
		model forecast.Model
		y     []float64
		m     int
		want  []float64
		tol   float64
	}{
		// SES with drift b/2 (Hyndman & Billah): α → 1 on a straight line,
		// so the forecast is y_n + b·h/2.
		{"theta on a line", theta.Standard{}, linear(50, 10, 2), 1, []float64{111, 112, 113}, 1e-2},
		// θ = 1 is SES: flat at the last value.
		{"θ=1 is SES", theta.Optimized{Grid: []float64{1}}, linear(50, 10, 2), 1, []float64{110, 110, 110}, 1e-2},
		// OTM on a straight line picks the largest θ: the line itself.
		{"otm on a line", theta.Optimized{Grid: []float64{1, 2, 1e6}}, linear(50, 10, 2), 1, []float64{112, 114, 116}, 1e-2},
		{"pure season", theta.Standard{}, seasonal(40, 10, idx), 4, []float64{5, 10, 15, 10}, 1e-6},
		{"floored at zero", theta.Standard{}, linear(30, 60, -2), 1, []float64{0, 0, 0}, 1e-2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := tt.model.Fit(tt.y, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			f, err := fit.Forecast(len(tt.want), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if math.Abs(f.Mean[i]-w) > tt.tol*max(1, math.Abs(w)) {
					t.Fatalf("mean %v, want %v", f.Mean, tt.want)
				}
			}
		})
	}
}

func TestFitted(t *testing.T) {
	y := linear(40, 5, 1)
	fit, err := theta.Standard{}.Fit(y, 1)
	if err != nil {
		t.Fatal(err)
	}
	tf, ok := fit.(*theta.Fitted)
	if !ok {
		t.Fatalf("Fit returned %T", fit)
	}
	if tf.Theta != 2 || tf.Seasonal || math.Abs(tf.Slope-1) > 1e-12 || math.Abs(tf.Intercept-5) > 1e-9 {
		t.Errorf("fitted %+v, want θ 2, line 5 + t, not seasonal", tf)
	}
	if len(tf.Residuals()) != len(y) {
		t.Errorf("%d residuals for %d points", len(tf.Residuals()), len(y))
	}
	s, err := theta.Standard{}.Fit(seasonal(48, 3, []float64{0.5, 1.5}), 2)
	if err != nil {
		t.Fatal(err)
	}
	if sf, ok := s.(*theta.Fitted); !ok || !sf.Seasonal {
		t.Errorf("a pure seasonal series was not adjusted")
	}
}

func TestQuantiles(t *testing.T) {
	y := []float64{10, 12, 9, 14, 11, 13, 15, 12, 16, 14, 17, 15, 18, 16, 19}
	for _, model := range []forecast.Model{theta.Standard{}, theta.Optimized{}} {
		t.Run(model.Name(), func(t *testing.T) {
			fit, err := model.Fit(y, 1)
			if err != nil {
				t.Fatal(err)
			}
			levels := forecast.Levels(forecast.StandardLevels)
			f, err := fit.Forecast(6, levels)
			if err != nil {
				t.Fatal(err)
			}
			for h := range f.Mean {
				if math.Abs(f.Quantiles[0.5][h]-f.Mean[h]) > 1e-9 {
					t.Errorf("step %d: median %g, mean %g", h+1, f.Quantiles[0.5][h], f.Mean[h])
				}
				for i := 1; i < len(levels); i++ {
					if f.Quantiles[levels[i]][h] <= f.Quantiles[levels[i-1]][h] {
						t.Errorf("step %d: quantiles not increasing at %g", h+1, levels[i])
					}
				}
				if h > 0 {
					w0 := f.Quantiles[0.95][h-1] - f.Quantiles[0.05][h-1]
					w1 := f.Quantiles[0.95][h] - f.Quantiles[0.05][h]
					if w1 < w0 {
						t.Errorf("interval narrows from step %d to %d", h, h+1)
					}
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		model forecast.Model
		y     []float64
		want  error
	}{
		{"too short", theta.Standard{}, []float64{1, 2}, forecast.ErrTooShort},
		{"otm too short", theta.Optimized{}, []float64{1}, forecast.ErrTooShort},
		{"θ below 1", theta.Optimized{Grid: []float64{0.5}}, linear(10, 1, 1), nil},
		{"empty grid", theta.Optimized{Grid: []float64{}}, linear(10, 1, 1), nil},
		{"infinite value", theta.Standard{}, []float64{1, 2, math.Inf(1), 4}, naive.ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.model.Fit(tt.y, 1)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	fit, err := theta.Standard{}.Fit(linear(10, 1, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fit.Forecast(3, []float64{0}); !errors.Is(err, forecast.ErrLevel) {
		t.Errorf("level 0: error %v, want ErrLevel", err)
	}
	if _, err := fit.Forecast(0, nil); err == nil {
		t.Error("horizon 0 accepted")
	}
}

func benchSeries() []float64 {
	y := make([]float64, 960)
	for t := range y {
		y[t] = 100 + 0.05*float64(t) + 20*math.Sin(2*math.Pi*float64(t)/24) + 5*math.Sin(float64(t)*0.37)
	}
	return y
}

// BenchmarkFit reports each model's fit-and-forecast cost on one hourly
// series; compare the two in one run (STYLE.md rule 16).
func BenchmarkFit(b *testing.B) {
	y := benchSeries()
	for _, model := range []forecast.Model{theta.Standard{}, theta.Optimized{}} {
		b.Run(model.Name(), func(b *testing.B) {
			for b.Loop() {
				fit, err := model.Fit(y, 24)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := fit.Forecast(48, forecast.StandardLevels); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
