package dataset_test

import (
	"testing"

	"github.com/stockflow/stockflow/internal/dataset"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/metric"
	"github.com/stockflow/stockflow/models/naive"
)

// lastMean forecasts the mean of the last 28 training days.
type lastMean struct{}

func (lastMean) Name() string { return "mean28" }

func (lastMean) Fit(y []float64, _ int) (forecast.Fitted, error) {
	if len(y) < 28 {
		return nil, forecast.ErrTooShort
	}
	var mu float64
	for _, v := range y[len(y)-28:] {
		mu += v
	}
	return lastMeanFit(mu / 28), nil
}

type lastMeanFit float64

func (f lastMeanFit) Forecast(h int, _ []float64) (*forecast.Forecast, error) {
	m := make([]float64, h)
	for i := range m {
		m[i] = float64(f)
	}
	return &forecast.Forecast{Mean: m}, nil
}

// TestM5TinyBaselines checks the M5 RMSSE (in-sample from the first
// non-zero sale) against the figures issue 4 quotes from an independent
// script on the same split (the last 28 days held out): seasonal naive
// (m = 7) 1.000 and the mean of the last 28 days 0.762.
func TestM5TinyBaselines(t *testing.T) {
	s, err := dataset.LoadM5Tiny(dataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		model forecast.Model
		m     int
		want  float64
	}{
		{naive.Seasonal{}, 7, 1.000},
		{lastMean{}, 1, 0.762},
	}
	for _, tt := range tests {
		t.Run(tt.model.Name(), func(t *testing.T) {
			var sum float64
			for _, x := range s {
				n := len(x.Sales) - dataset.M5Horizon
				in, y := x.Sales[:n], x.Sales[n:]
				fit, err := tt.model.Fit(in, tt.m)
				if err != nil {
					t.Fatalf("%s: %v", x.ID, err)
				}
				f, err := fit.Forecast(dataset.M5Horizon, nil)
				if err != nil {
					t.Fatalf("%s: %v", x.ID, err)
				}
				r, err := metric.RMSSE(in, y, f.Mean)
				if err != nil {
					t.Fatalf("%s: %v", x.ID, err)
				}
				sum += r
			}
			got := sum / float64(len(s))
			t.Logf("mean RMSSE %.6f", got)
			if round3(got) != tt.want {
				t.Errorf("mean RMSSE %.6f, want %.3f", got, tt.want)
			}
		})
	}
}
