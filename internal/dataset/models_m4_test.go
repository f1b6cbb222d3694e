package dataset_test

import (
	"testing"

	"github.com/stockflow/stockflow/internal/dataset"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/metric"
	"github.com/stockflow/stockflow/models/naive"
	"github.com/stockflow/stockflow/models/theta"
)

// TestModelsM4 scores stockflow's models on M4 Weekly and Hourly: point
// accuracy against the organisers' table, OWA against the official Naive2
// forecasts, and the coverage of the 90% interval (quantiles 0.05 and 0.95)
// on the test sets.
//
// Theta must give the organisers' Theta row (Weekly 9.093 / 2.637, Hourly
// 18.138 / 2.455) to the third decimal. Their SES inside Theta is R's
// forecast::ses (ETS(A,N,N) by Nelder–Mead), ours a least-squares fit; the
// figures agree to the third decimal (measured: Weekly 9.092518 / 2.637131,
// Hourly 18.138253 / 2.454530), so a change to the SES fit that moves them
// shows up here.
func TestModelsM4(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	tests := []struct {
		name        string
		freq        dataset.Frequency
		model       forecast.Model
		smape, mase float64 // the published figures to reproduce, or 0
		maxOWA      float64
	}{
		{"Weekly/theta", dataset.Weekly, theta.Standard{}, 9.093, 2.637, 0.972},
		{"Hourly/theta", dataset.Hourly, theta.Standard{}, 18.138, 2.455, 1.006},
		{"Weekly/otm", dataset.Weekly, theta.Optimized{}, 0, 0, 0.98},
		{"Hourly/otm", dataset.Hourly, theta.Optimized{}, 0, 0, 1.03},
		{"Weekly/naive2", dataset.Weekly, naive.Naive2{}, 9.161, 2.777, 1},
		{"Hourly/naive2", dataset.Hourly, naive.Naive2{}, 18.383, 2.395, 1},
		{"Hourly/snaive", dataset.Hourly, naive.Seasonal{}, 13.912, 1.193, 0.628},
	}
	const coverageLow, coverageHigh = 0.85, 0.95
	type base struct {
		d           *dataset.M4
		smape, mase float64 // official Naive2
	}
	bases := map[dataset.Frequency]*base{}
	load := func(t *testing.T, freq dataset.Frequency) *base {
		t.Helper()
		b := bases[freq]
		if b == nil {
			b = &base{}
			bases[freq] = b
			d, err := dataset.LoadM4(dir, freq)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := dataset.LoadM4Reference(dir, "Naive2", freq)
			if err != nil {
				t.Fatal(err)
			}
			b.d = d
			b.smape, b.mase = score(t, d, ref)
		}
		if b.d == nil {
			t.Fatalf("M4 %s did not load", freq)
		}
		return b
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := load(t, tt.freq)
			d := b.d
			h, m := tt.freq.Horizon(), tt.freq.Period()
			var smape, mase, cover float64
			for i, s := range d.Train {
				fit, err := tt.model.Fit(s.Values, m)
				if err != nil {
					t.Fatalf("%s: %v", s.ID, err)
				}
				f, err := fit.Forecast(h, []float64{0.05, 0.95})
				if err != nil {
					t.Fatalf("%s: %v", s.ID, err)
				}
				y := d.Test[i].Values
				a, err := metric.SMAPE(y, f.Mean)
				if err != nil {
					t.Fatal(err)
				}
				mm, err := metric.MASE(s.Values, y, f.Mean, m)
				if err != nil {
					t.Fatal(err)
				}
				c, err := metric.Coverage(y, f.Quantiles[0.05], f.Quantiles[0.95])
				if err != nil {
					t.Fatal(err)
				}
				smape, mase, cover = smape+a, mase+mm, cover+c
			}
			n := float64(len(d.Train))
			smape, mase, cover = smape/n, mase/n, cover/n
			owa := metric.OWA(smape, mase, b.smape, b.mase)
			t.Logf("sMAPE %.6f  MASE %.6f  OWA %.6f  90%% coverage %.4f", smape, mase, owa, cover)
			if tt.smape != 0 && (round3(smape) != tt.smape || round3(mase) != tt.mase) {
				t.Errorf("sMAPE %.6f, MASE %.6f; published %.3f, %.3f", smape, mase, tt.smape, tt.mase)
			}
			if round3(owa) > tt.maxOWA {
				t.Errorf("OWA %.6f > %.3f", owa, tt.maxOWA)
			}
			if cover < coverageLow || cover > coverageHigh {
				t.Errorf("90%% interval coverage %.4f outside [%g, %g]", cover, coverageLow, coverageHigh)
			}
		})
	}
}
