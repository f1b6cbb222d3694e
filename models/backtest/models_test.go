package backtest

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/naive"
)

// weekly repeats a 7-day shape with weekends twice the weekdays.
func weekly(weeks int) []float64 {
	shape := []float64{10, 10, 10, 10, 10, 20, 20}
	y := make([]float64, 0, 7*weeks)
	for range weeks {
		y = append(y, shape...)
	}
	return y
}

func TestHelperModels(t *testing.T) {
	levels := []float64{0.05, 0.5, 0.95}
	cases := []struct {
		name  string
		model forecast.Model
		y     []float64
		m     int
		h     int
		want  []float64 // mean path
	}{
		{name: "window mean", model: WindowMean{N: 3}, y: []float64{9, 1, 2, 3}, h: 2, want: []float64{2, 2}},
		{name: "ewma alpha 1 is naive", model: EWMA{Alpha: 1}, y: []float64{4, 7, 5}, h: 2, want: []float64{5, 5}},
		{name: "seasonal mean", model: SeasonalMean{Weeks: 2, M: 3}, y: []float64{1, 2, 3, 3, 4, 5}, h: 4, want: []float64{2, 3, 4, 2}},
		{name: "period overrides m", model: Period{Model: naive.Seasonal{}, M: 2}, y: []float64{1, 2, 1, 2}, m: 3, h: 3, want: []float64{1, 2, 1}},
		{
			// The profile is shrunk towards 1 by its prior, so the shape
			// is only approached, but the weekly total is exact.
			name: "profile keeps the weekly mean", model: Profile{Model: WindowMean{N: 28}, M: 7, Seasons: 4},
			y: weekly(8), h: 7,
		},
		{
			name: "deseasonalised flat series", model: Deseasonalized{Model: naive.Naive{}, M: 7},
			y: weekly(8), h: 7, want: []float64{10, 10, 10, 10, 10, 20, 20},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.model.Fit(tc.y, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			fc, err := f.Forecast(tc.h, levels)
			if err != nil {
				t.Fatal(err)
			}
			if len(fc.Mean) != tc.h {
				t.Fatalf("%d steps, want %d", len(fc.Mean), tc.h)
			}
			if tc.want != nil {
				for i := range tc.want {
					if math.Abs(fc.Mean[i]-tc.want[i]) > 1e-6 {
						t.Fatalf("mean %v, want %v", fc.Mean, tc.want)
					}
				}
			} else {
				var sum float64
				for _, v := range fc.Mean {
					sum += v
				}
				if math.Abs(sum-90) > 1e-6 {
					t.Errorf("weekly total %v, want 90 (mean %v)", sum, fc.Mean)
				}
				if !(fc.Mean[5] > fc.Mean[0]) {
					t.Errorf("weekend %v not above weekday %v", fc.Mean[5], fc.Mean[0])
				}
			}
			for i := range tc.h {
				lo, mid, hi := fc.Quantiles[0.05][i], fc.Quantiles[0.5][i], fc.Quantiles[0.95][i]
				if !(lo <= mid && mid <= hi) {
					t.Fatalf("step %d: quantiles %v %v %v not ordered", i, lo, mid, hi)
				}
			}
		})
	}
}

func TestHelperModelsTooShort(t *testing.T) {
	cases := []struct {
		name  string
		model forecast.Model
		y     []float64
	}{
		{name: "window mean", model: WindowMean{N: 5}, y: []float64{1, 2}},
		{name: "ewma", model: EWMA{Alpha: 0.1}, y: []float64{1}},
		{name: "seasonal mean", model: SeasonalMean{Weeks: 2, M: 5}, y: []float64{1, 2}},
		{name: "profile", model: Profile{Model: WindowMean{N: 1}, M: 7}, y: []float64{1, 2, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.model.Fit(tc.y, 1); !errors.Is(err, forecast.ErrTooShort) {
				t.Fatalf("err %v, want ErrTooShort", err)
			}
		})
	}
}

func TestOrigins(t *testing.T) {
	cases := []struct {
		name string
		auto Auto
		n, m int
		want []int
	}{
		{name: "tiled", auto: Auto{Horizon: 5}, n: 40, m: 1, want: []int{20, 25, 30, 35}[1:]},
		{name: "step", auto: Auto{Horizon: 5, Step: 1, Origins: 2}, n: 40, m: 1, want: []int{34, 35}},
		{name: "cut by min train", auto: Auto{Horizon: 5, Origins: 10}, n: 30, m: 1, want: []int{10, 15, 20, 25}},
		{name: "none", auto: Auto{Horizon: 5}, n: 12, m: 1, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.auto.origins(tc.n, tc.m); !slices.Equal(got, tc.want) {
				t.Fatalf("origins %v, want %v", got, tc.want)
			}
		})
	}
}
