package replenish

import (
	"encoding/json"
	"math"
	"testing"
)

func TestLeadStats(t *testing.T) {
	prior := LeadTime{MeanDays: 7, SDDays: 3}
	many := make([]float64, 0, 1000)
	for i := range 1000 {
		many = append(many, 10+float64(i%3-1)) // 334 × 9, 333 × 10, 333 × 11: mean 9.999, M2 666.999
	}
	tests := []struct {
		name     string
		obs      []float64
		wantMean float64
		wantSD   float64
		tol      float64
	}{
		{"nothing observed: the prior", nil, 7, 3, 0},
		{"one receipt moves a quarter of the way and keeps the prior's spread", []float64{11}, 8, 3, 1e-9},
		{"three receipts weigh as much as the prior", []float64{9, 11, 13}, 9, math.Sqrt((3*9 + 8) / 5.0), 1e-9},
		{"many receipts: nearly the sample", many, (3*7 + 9999) / 1003.0, math.Sqrt((3*9 + 666.999) / 1002), 1e-9},
		{"invalid observations are ignored", []float64{math.NaN(), -1, math.Inf(1)}, 7, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s LeadStats
			for _, d := range tt.obs {
				s.Observe(d)
			}
			got := s.Estimate(prior)
			if !near(got.MeanDays, tt.wantMean, tt.tol) || !near(got.SDDays, tt.wantSD, tt.tol) || got.Observations != s.N {
				t.Errorf("estimate %+v after %d observations; want mean %v sd %v", got, s.N, tt.wantMean, tt.wantSD)
			}
		})
	}
}

func TestLeadStatsWelford(t *testing.T) {
	xs := []float64{3, 14, 7, 7, 8, 12, 5}
	var s LeadStats
	var sum float64
	for _, x := range xs {
		s.Observe(x)
		sum += x
	}
	mean := sum / float64(len(xs))
	var m2 float64
	for _, x := range xs {
		m2 += (x - mean) * (x - mean)
	}
	if s.N != int64(len(xs)) || !near(s.Mean, mean, 1e-12) || !near(s.M2, m2, 1e-9) {
		t.Errorf("stats %+v, want n %d mean %v m2 %v", s, len(xs), mean, m2)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back LeadStats
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("JSON %s round trip: %+v, %v", b, back, err)
	}
}
