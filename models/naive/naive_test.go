package naive_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/naive"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

// seasonalSeries is level × idx[t mod m] for n points.
func seasonalSeries(n int, level float64, idx []float64) []float64 {
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
		h     int
		want  []float64
	}{
		{"naive", naive.Naive{}, []float64{1, 2, 3}, 1, 3, []float64{3, 3, 3}},
		{"naive ignores m", naive.Naive{}, []float64{1, 2, 3, 4, 5}, 2, 2, []float64{5, 5}},
		{"snaive", naive.Seasonal{}, []float64{1, 2, 3, 4, 5}, 2, 5, []float64{4, 5, 4, 5, 4}},
		{"snaive m=1", naive.Seasonal{}, []float64{1, 2}, 1, 2, []float64{2, 2}},
		{"naive2 non-seasonal m=1", naive.Naive2{}, []float64{1, 2, 3}, 1, 2, []float64{3, 3}},
		{"naive2 too short to test", naive.Naive2{}, []float64{1, 2, 3, 4, 5}, 4, 2, []float64{5, 5}},
		// A pure seasonal series: adjusted it is constant 10, re-seasonalised
		// it continues the pattern from position 40 (index 0).
		{"naive2 seasonal", naive.Naive2{}, seasonalSeries(40, 10, idx), 4, 5, []float64{5, 10, 15, 10, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := tt.model.Fit(tt.y, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			f, err := fit.Forecast(tt.h, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Mean) != len(tt.want) {
				t.Fatalf("mean %v, want %v", f.Mean, tt.want)
			}
			for i := range f.Mean {
				if !near(f.Mean[i], tt.want[i]) {
					t.Fatalf("mean %v, want %v", f.Mean, tt.want)
				}
			}
		})
	}
}

func TestQuantiles(t *testing.T) {
	// One-step differences 1, −1, 1, −1: σ = 1.
	y := []float64{0, 1, 0, 1, 0}
	fit, err := naive.Naive{}.Fit(y, 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fit.Forecast(4, forecast.StandardLevels)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range forecast.StandardLevels {
		q, err := f.Quantile(l)
		if err != nil {
			t.Fatal(err)
		}
		for h := range q {
			want := naive.NormalQuantile(l) * math.Sqrt(float64(h+1))
			if !near(q[h], want) {
				t.Errorf("level %g step %d: %g, want %g", l, h+1, q[h], want)
			}
		}
	}
	if q := f.Quantiles[0.5]; q[3] != f.Mean[3] {
		t.Errorf("median %g is not the mean %g", q[3], f.Mean[3])
	}

	// Seasonal naive: σ from lag-2 differences (2, 2, 2 → 2), √k grows per season.
	sfit, err := naive.Seasonal{}.Fit([]float64{0, 5, 2, 7, 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := sfit.Forecast(3, []float64{0.9})
	if err != nil {
		t.Fatal(err)
	}
	z := naive.NormalQuantile(0.9)
	want := []float64{7 + 2*z, 4 + 2*z, 7 + 2*z*math.Sqrt2}
	for h, w := range want {
		if !near(sf.Quantiles[0.9][h], w) {
			t.Errorf("snaive p90 %v, want %v", sf.Quantiles[0.9], want)
			break
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		model forecast.Model
		y     []float64
		m     int
	}{
		{"naive one point", naive.Naive{}, []float64{1}, 1},
		{"snaive one season", naive.Seasonal{}, []float64{1, 2, 3}, 3},
		{"naive2 empty", naive.Naive2{}, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.model.Fit(tt.y, tt.m); !errors.Is(err, forecast.ErrTooShort) {
				t.Errorf("error %v, want ErrTooShort", err)
			}
		})
	}
	for _, model := range []forecast.Model{naive.Naive{}, naive.Seasonal{}, naive.Naive2{}} {
		if _, err := model.Fit([]float64{1, math.NaN(), 3, 4, 5}, 2); !errors.Is(err, naive.ErrNotFinite) {
			t.Errorf("%s with NaN: error %v, want ErrNotFinite", model.Name(), err)
		}
	}
	fit, err := naive.Naive{}.Fit([]float64{1, 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fit.Forecast(2, []float64{1.5}); !errors.Is(err, forecast.ErrLevel) {
		t.Errorf("level 1.5: error %v, want ErrLevel", err)
	}
	if _, err := fit.Forecast(0, nil); err == nil {
		t.Error("horizon 0 accepted")
	}
}

func TestIsSeasonal(t *testing.T) {
	idx := []float64{0.5, 1, 1.5, 1}
	wave := make([]float64, 120)
	for i := range wave {
		wave[i] = 100 + 10*math.Sin(2*math.Pi*float64(i)/12)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float64, 200)
	for i := range noise {
		noise[i] = 50 + rng.NormFloat64()
	}
	tests := []struct {
		name string
		y    []float64
		m    int
		want bool
	}{
		{"pure season", seasonalSeries(40, 10, idx), 4, true},
		{"sine period 12", wave, 12, true},
		{"m=1", wave, 1, false},
		{"fewer than 3m points", seasonalSeries(11, 10, idx), 4, false},
		{"constant", seasonalSeries(40, 10, []float64{1}), 4, false},
		{"lag beyond R's acf lag.max", seasonalSeries(80, 10, make24()), 24, false},
		{"white noise", noise, 7, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := naive.IsSeasonal(tt.y, tt.m); got != tt.want {
				t.Errorf("IsSeasonal = %v, want %v", got, tt.want)
			}
		})
	}
}

// make24 is a daily profile of 24 hourly indices.
func make24() []float64 {
	s := make([]float64, 24)
	for i := range s {
		s[i] = 1 + 0.5*math.Sin(2*math.Pi*float64(i)/24)
	}
	return s
}

func TestSeasonalIndices(t *testing.T) {
	tests := []struct {
		name string
		idx  []float64
		n    int
	}{
		{"even period", []float64{0.5, 1, 1.5, 1}, 40},
		{"odd period", []float64{0.8, 1.4, 0.8}, 31},
		{"hourly", make24(), 24 * 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := naive.SeasonalIndices(seasonalSeries(tt.n, 7, tt.idx), len(tt.idx))
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !near(got[i], tt.idx[i]) {
					t.Fatalf("indices %v, want %v", got, tt.idx)
				}
			}
		})
	}
	if _, err := naive.SeasonalIndices([]float64{1, 0, 0, 0, 0, 1, 0, 0}, 4); !errors.Is(err, naive.ErrDecompose) {
		t.Errorf("zero trend: error %v, want ErrDecompose", err)
	}
}

func TestACF(t *testing.T) {
	// R: acf(c(1,2,3,4,5), plot = FALSE) gives 1, 0.4, -0.1, -0.4, -0.4.
	got := naive.ACF([]float64{1, 2, 3, 4, 5}, 4)
	want := []float64{1, 0.4, -0.1, -0.4, -0.4}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Fatalf("ACF = %v, want %v", got, want)
		}
	}
	if naive.ACF([]float64{2, 2, 2}, 1) != nil {
		t.Error("constant series has an ACF")
	}
}

func BenchmarkNaive2Hourly(b *testing.B) {
	y := seasonalSeries(960, 100, make24())
	for b.Loop() {
		fit, err := naive.Naive2{}.Fit(y, 24)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := fit.Forecast(48, forecast.StandardLevels); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAdjusted(t *testing.T) {
	idx := []float64{0.5, 1, 1.5, 1}
	y := seasonalSeries(40, 10, idx)
	tests := []struct {
		name  string
		model forecast.Model
		y     []float64
		m     int
		want  []float64
	}{
		// Naive on the adjusted series is Naive2.
		{"naive is naive2", naive.Adjusted{Model: naive.Naive{}}, y, 4, []float64{5, 10, 15, 10, 5}},
		{"not seasonal", naive.Adjusted{Model: naive.Naive{}}, []float64{1, 2, 3}, 4, []float64{3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := tt.model.Fit(tt.y, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			f, err := fit.Forecast(len(tt.want), []float64{0.5, 0.9})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if !near(f.Mean[i], w) || !near(f.Quantiles[0.5][i], w) {
					t.Fatalf("mean %v, median %v, want %v", f.Mean, f.Quantiles[0.5], tt.want)
				}
				if f.Quantiles[0.9][i] < f.Mean[i] {
					t.Fatalf("p90 %v below the mean %v", f.Quantiles[0.9], f.Mean)
				}
			}
		})
	}
	if got := (naive.Adjusted{Model: naive.Naive{}}).Name(); got != "sa(naive)" {
		t.Errorf("Name = %q", got)
	}
	if _, err := (naive.Adjusted{Model: naive.Naive{}}).Fit([]float64{1}, 1); !errors.Is(err, forecast.ErrTooShort) {
		t.Errorf("error %v, want ErrTooShort", err)
	}
}
