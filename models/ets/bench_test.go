package ets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkFit measures one fit of each kind on AirPassengers (144 monthly
// observations, m = 12) and on two years of daily data (m = 7).
func BenchmarkFit(b *testing.B) {
	// Two years of positive daily demand with a weekly cycle.
	rng := rand.New(rand.NewPCG(7, 7))
	daily := make([]float64, 730)
	for i := range daily {
		daily[i] = 20 + 5*math.Sin(2*math.Pi*float64(i)/7) + 3*rng.NormFloat64()
	}
	cases := []struct {
		name  string
		model *Model
		y     []float64
		m     int
	}{
		{name: "ses", model: SES(), y: airPassengers, m: 1},
		{name: "damped", model: Damped(), y: airPassengers, m: 1},
		{name: "auto-nonseasonal", model: Auto(), y: airPassengers, m: 1},
		{name: "auto-seasonal", model: Auto(), y: airPassengers, m: 12},
		{name: "auto-daily-2y", model: Auto(), y: daily, m: 7},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tc.model.Fit(tc.y, tc.m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
