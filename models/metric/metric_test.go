package metric_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stockflow/stockflow/models/metric"
)

const tol = 1e-12

func near(a, b float64) bool { return math.Abs(a-b) <= tol*max(1, math.Abs(b)) }

func TestPointMetrics(t *testing.T) {
	in := []float64{1, 3, 2, 6, 4} // |diffs| lag 1: 2,1,4,2 → 2.25; lag 2: 1,3,2 → 2
	y := []float64{5, 10}
	f := []float64{4, 12}
	tests := []struct {
		name string
		fn   func() (float64, error)
		want float64
	}{
		{"smape", func() (float64, error) { return metric.SMAPE(y, f) }, (200.0/9 + 400.0/22) / 2},
		{"smape both zero", func() (float64, error) { return metric.SMAPE([]float64{0, 2}, []float64{0, 2}) }, 0},
		{"mase m=1", func() (float64, error) { return metric.MASE(in, y, f, 1) }, 1.5 / 2.25},
		{"mase m=2", func() (float64, error) { return metric.MASE(in, y, f, 2) }, 1.5 / 2},
		{"mase m=0 is m=1", func() (float64, error) { return metric.MASE(in, y, f, 0) }, 1.5 / 2.25},
		// in-sample from the first non-zero: 1,3,2,6,4 → squared diffs 4,1,16,4 → 25/4.
		{"rmsse", func() (float64, error) { return metric.RMSSE(append([]float64{0, 0}, in...), y, f) }, math.Sqrt(2.5 / 6.25)},
		{"wape", func() (float64, error) { return metric.WAPE(y, f) }, 3.0 / 15},
		{"bias", func() (float64, error) { return metric.Bias(y, f) }, 1.0 / 15},
		{"pinball 0.9", func() (float64, error) { return metric.Pinball(y, f, 0.9) }, (0.9*1 + 0.1*2) / 2},
		{"pinball 0.5 is mae/2", func() (float64, error) { return metric.Pinball(y, f, 0.5) }, 0.75},
		{"scaled pinball", func() (float64, error) { return metric.ScaledPinball(in, y, f, 0.5) }, 0.75 / 2.25},
		{"coverage", func() (float64, error) {
			return metric.Coverage([]float64{1, 2, 3, 4}, []float64{0, 2, 4, 0}, []float64{2, 2, 5, 3})
		}, 0.5},
		// Widths 2 and 2; 5 is inside [4, 6], 10 is 1 below [11, 13]: + (2/0.5)·1.
		{"msis", func() (float64, error) {
			return metric.MSIS(in, y, []float64{4, 11}, []float64{6, 13}, 0.5, 1)
		}, (2 + 2 + 4) / 2.0 / 2.25},
		{"wrmsse", func() (float64, error) { return metric.WRMSSE([]float64{1, 2}, []float64{3, 1}) }, 5.0 / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn()
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tt.want) {
				t.Errorf("got %.15g, want %.15g", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (float64, error)
		want error
	}{
		{"smape length", func() (float64, error) { return metric.SMAPE([]float64{1}, []float64{1, 2}) }, metric.ErrLength},
		{"smape empty", func() (float64, error) { return metric.SMAPE(nil, nil) }, metric.ErrLength},
		{"mase constant", func() (float64, error) { return metric.MASE([]float64{2, 2, 2}, []float64{1}, []float64{1}, 1) }, metric.ErrScale},
		{"mase short", func() (float64, error) { return metric.MASE([]float64{1, 2}, []float64{1}, []float64{1}, 2) }, metric.ErrScale},
		{"rmsse all zero", func() (float64, error) { return metric.RMSSE([]float64{0, 0, 0}, []float64{1}, []float64{1}) }, metric.ErrScale},
		{"wape zero", func() (float64, error) { return metric.WAPE([]float64{0}, []float64{1}) }, metric.ErrScale},
		{"coverage length", func() (float64, error) { return metric.Coverage([]float64{1}, []float64{1}, nil) }, metric.ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.fn(); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := metric.Pinball([]float64{1}, []float64{1}, 1); err == nil {
		t.Error("pinball level 1 accepted")
	}
}

func TestOWA(t *testing.T) {
	// The M4 table's SES Weekly row: sMAPE 9.012, MASE 2.685 against Naive2
	// 9.161, 2.777 gives OWA 0.975.
	got := metric.OWA(9.012, 2.685, 9.161, 2.777)
	if math.Abs(got-0.9753030619340799) > 1e-12 {
		t.Errorf("OWA = %.16g, want 0.9753030619340799", got)
	}
	if got := metric.OWA(1, 1, 1, 1); got != 1 {
		t.Errorf("Naive2 against itself: %g", got)
	}
}
