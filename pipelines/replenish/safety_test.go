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
