package replenish

import (
	"math"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestNormal(t *testing.T) {
	tests := []struct {
		name      string
		got, want float64
	}{
		{"quantile 0.95", NormQuantile(0.95), 1.6448536},
		{"quantile 0.5", NormQuantile(0.5), 0},
		{"quantile 0.025", NormQuantile(0.025), -1.9599640},
		{"cdf 1.96", NormCDF(1.959964), 0.975},
		{"pdf 0", NormPDF(0), 0.3989423},
		{"loss 0", NormLoss(0), 0.3989423},
		{"loss 1", NormLoss(1), 0.0833155},
		{"loss -1", NormLoss(-1), 1.0833155},
		{"loss 3", NormLoss(3), 0.0003822},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !near(tt.got, tt.want, 1e-6) {
				t.Errorf("got %.7f, want %.7f", tt.got, tt.want)
			}
		})
	}
	if !math.IsNaN(NormQuantile(1.5)) || !math.IsInf(NormQuantile(1), 1) {
		t.Error("NormQuantile outside (0, 1): want NaN beyond, +Inf at 1")
	}
}

func TestLossInverse(t *testing.T) {
	tests := []struct {
		name string
		k    float64
	}{
		{"negative", -2.5}, {"zero", 0}, {"one", 1}, {"high", 3.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lossInverse(NormLoss(tt.k)); !near(got, tt.k, 1e-6) {
				t.Errorf("lossInverse(G(%v)) = %v", tt.k, got)
			}
		})
	}
	t.Run("clamped", func(t *testing.T) {
		if got := lossInverse(100); got != kMin {
			t.Errorf("lossInverse(100) = %v, want %v", got, kMin)
		}
		if got := lossInverse(0); got != kMax {
			t.Errorf("lossInverse(0) = %v, want %v", got, kMax)
		}
	})
}

func TestDaySD(t *testing.T) {
	tests := []struct {
		name string
		day  event.ForecastDay
		want float64
	}{
		{"90% interval", event.ForecastDay{P05: 4, P50: 10, P90: 12, P95: 4 + 2*z95*3}, 3},
		{"upper 80% half", event.ForecastDay{P50: 1, P90: 1 + z90*2}, 2},
		{"degenerate: rate sd", event.ForecastDay{}, 0.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := daySD(&tt.day, 0.7); !near(got, tt.want, 1e-9) {
				t.Errorf("daySD = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCountDist(t *testing.T) {
	tests := []struct {
		name           string
		mean, variance float64
	}{
		{"poisson", 2, 2},
		{"under-dispersed is poisson", 2, 1},
		{"negative binomial", 2, 6},
		{"small mean, wide", 0.3, 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCountDist(tt.mean, tt.variance)
			var sum, m1, m2 float64
			for n := 0; n < 400; n++ {
				sum += c.pmf
				m1 += float64(n) * c.pmf
				m2 += float64(n*n) * c.pmf
				c.step()
			}
			wantVar := max(tt.variance, tt.mean)
			if !near(sum, 1, 1e-9) || !near(m1, tt.mean, 1e-9) || !near(m2-m1*m1, wantVar, 1e-6) {
				t.Errorf("sum %v mean %v variance %v; want 1, %v, %v", sum, m1, m2-m1*m1, tt.mean, wantVar)
			}
		})
	}
}

func TestCountReorderPoint(t *testing.T) {
	alpha := func(a float64) Rule { return Rule{Target: TargetCycleService, Service: a} }
	beta := func(b float64) Rule { return Rule{Target: TargetFillRate, Service: b} }
	tests := []struct {
		name              string
		rule              Rule
		mean, variance, q float64
		want              float64
	}{
		// Poisson(1): CDF 0.368, 0.736, 0.920, 0.981.
		{"alpha 0.9 poisson", alpha(0.9), 1, 1, 5, 2},
		{"alpha 0.95 poisson", alpha(0.95), 1, 1, 5, 3},
		{"alpha 0.3 poisson", alpha(0.3), 1, 1, 5, 0},
		// E[(X−s)⁺]: 1, 0.368, 0.104, 0.023.
		{"beta: allowed 0.5", beta(0.95), 1, 1, 10, 1},
		{"beta: allowed 0.05", beta(0.99), 1, 1, 5, 3},
		{"beta: allowed 2", beta(0.8), 1, 1, 10, 0},
		{"no demand", alpha(0.99), 0, 0, 5, 0},
		// A wider count needs a higher point than Poisson's.
		{"negative binomial wider", alpha(0.95), 1, 4, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countReorderPoint(tt.rule, tt.mean, tt.variance, tt.q); got != tt.want {
				t.Errorf("countReorderPoint = %v, want %v", got, tt.want)
			}
		})
	}
}
