package ensemble_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stockflow/stockflow/models/ensemble"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/naive"
	"github.com/stockflow/stockflow/models/theta"
)

// flat forecasts the constant v with quantiles v + spread·(level − ½).
type flat struct {
	name   string
	v      float64
	spread float64
	minLen int
}

func (f flat) Name() string { return f.name }

func (f flat) Fit(y []float64, _ int) (forecast.Fitted, error) {
	if len(y) < f.minLen {
		return nil, forecast.ErrTooShort
	}
	return f, nil
}

func (f flat) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: map[float64][]float64{}}
	for i := range out.Mean {
		out.Mean[i] = f.v
	}
	for _, l := range levels {
		q := make([]float64, h)
		for i := range q {
			q[i] = f.v + f.spread*(l-0.5)
		}
		out.Quantiles[l] = q
	}
	return out, nil
}

func TestCombination(t *testing.T) {
	a := flat{name: "a", v: 1, spread: 2}
	b := flat{name: "b", v: 2, spread: 4}
	c := flat{name: "c", v: 6, spread: 0}
	d := flat{name: "d", v: 10, spread: 6}
	tests := []struct {
		name     string
		comb     ensemble.Combination
		wantName string
		mean     float64
		p90      float64 // mean of v + spread·0.4
	}{
		{"mean of three", ensemble.Combination{Members: []forecast.Model{a, b, c}}, "mean(a,b,c)", 3, 3 + 0.4*2},
		{"median of three", ensemble.Combination{Members: []forecast.Model{a, b, c}, Method: ensemble.Median}, "median(a,b,c)", 2, 3 + 0.4*2},
		{"median of four", ensemble.Combination{Label: "m4", Members: []forecast.Model{d, a, c, b}, Method: ensemble.Median}, "m4", 4, 19.0/4 + 0.4*3},
		{"one member", ensemble.Combination{Members: []forecast.Model{d}}, "mean(d)", 10, 10 + 0.4*6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.comb.Name(); got != tt.wantName {
				t.Errorf("Name = %q, want %q", got, tt.wantName)
			}
			fit, err := tt.comb.Fit([]float64{1, 2, 3}, 1)
			if err != nil {
				t.Fatal(err)
			}
			f, err := fit.Forecast(3, []float64{0.1, 0.9})
			if err != nil {
				t.Fatal(err)
			}
			for h := range 3 {
				if math.Abs(f.Mean[h]-tt.mean) > 1e-12 || math.Abs(f.Quantiles[0.9][h]-tt.p90) > 1e-12 {
					t.Fatalf("step %d: mean %g p90 %g, want %g and %g", h+1, f.Mean[h], f.Quantiles[0.9][h], tt.mean, tt.p90)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	short := flat{name: "short", v: 1, minLen: 10}
	tests := []struct {
		name string
		comb ensemble.Combination
		want error
	}{
		{"no members", ensemble.Combination{}, ensemble.ErrNoMembers},
		{"member too short", ensemble.Combination{Members: []forecast.Model{flat{name: "ok"}, short}}, forecast.ErrTooShort},
		{"unknown method", ensemble.Combination{Members: []forecast.Model{flat{}}, Method: 7}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.comb.Fit([]float64{1, 2}, 1)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	fit, err := ensemble.Combination{Members: []forecast.Model{flat{}}}.Fit([]float64{1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fit.Forecast(2, []float64{2}); !errors.Is(err, forecast.ErrLevel) {
		t.Errorf("level 2: error %v, want ErrLevel", err)
	}
}

// TestRealMembers combines the naive and Theta models on a seasonal series:
// the combination's quantiles stay ordered and bracket its mean.
func TestRealMembers(t *testing.T) {
	y := make([]float64, 24*8)
	for i := range y {
		y[i] = 100 + 0.1*float64(i) + 30*math.Sin(2*math.Pi*float64(i)/24) + 3*math.Cos(float64(i))
	}
	comb := ensemble.Combination{Label: "com", Members: []forecast.Model{naive.Naive2{}, naive.Seasonal{}, theta.Standard{}}}
	fit, err := comb.Fit(y, 24)
	if err != nil {
		t.Fatal(err)
	}
	levels := forecast.Levels(forecast.StandardLevels)
	f, err := fit.Forecast(48, levels)
	if err != nil {
		t.Fatal(err)
	}
	for h := range f.Mean {
		for i := 1; i < len(levels); i++ {
			if f.Quantiles[levels[i]][h] < f.Quantiles[levels[i-1]][h] {
				t.Fatalf("step %d: quantile %g below %g", h+1, levels[i], levels[i-1])
			}
		}
		if f.Mean[h] < f.Quantiles[0.05][h] || f.Mean[h] > f.Quantiles[0.95][h] {
			t.Fatalf("step %d: mean %g outside the 90%% interval", h+1, f.Mean[h])
		}
	}
}
