package dataset_test

import (
	"math"
	"testing"

	"github.com/stockflow/stockflow/internal/dataset"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/metric"
	"github.com/stockflow/stockflow/models/naive"
)

// score returns the M4 figures of forecasts on d: the means over all series
// of the per-series sMAPE and MASE (MASE scaled with d.Frequency.Period()).
func score(t testing.TB, d *dataset.M4, fc []dataset.Series) (smape, mase float64) {
	t.Helper()
	if len(fc) != len(d.Test) {
		t.Fatalf("%d forecasts for %d series", len(fc), len(d.Test))
	}
	for i, s := range d.Test {
		if fc[i].ID != s.ID {
			t.Fatalf("forecast %d is for %s, want %s", i, fc[i].ID, s.ID)
		}
		a, err := metric.SMAPE(s.Values, fc[i].Values)
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		b, err := metric.MASE(d.Train[i].Values, s.Values, fc[i].Values, d.Frequency.Period())
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		smape += a
		mase += b
	}
	n := float64(len(d.Test))
	return smape / n, mase / n
}

// forecastAll fits model to every training series and forecasts the horizon.
func forecastAll(t testing.TB, d *dataset.M4, model forecast.Model) []dataset.Series {
	t.Helper()
	out := make([]dataset.Series, len(d.Train))
	for i, s := range d.Train {
		fit, err := model.Fit(s.Values, d.Frequency.Period())
		if err != nil {
			t.Fatalf("%s %s: %v", model.Name(), s.ID, err)
		}
		f, err := fit.Forecast(d.Frequency.Horizon(), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", model.Name(), s.ID, err)
		}
		out[i] = dataset.Series{ID: s.ID, Values: f.Mean}
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// TestReproduceM4 is issue 4's reproduction test: the M4 organisers'
// published sMAPE and MASE ("Evaluation and Ranks.xlsx") recomputed from
// their own point forecasts and from stockflow's Naive2, to the third
// decimal.
func TestReproduceM4(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	tests := []struct {
		name   string
		freq   dataset.Frequency
		method string         // official forecast file, or
		model  forecast.Model // stockflow's model
		smape  float64
		mase   float64
	}{
		{"Weekly/official Naive2", dataset.Weekly, "Naive2", nil, 9.161, 2.777},
		{"Weekly/official SES", dataset.Weekly, "SES", nil, 9.012, 2.685},
		{"Hourly/official Naive2", dataset.Hourly, "Naive2", nil, 18.383, 2.395},
		{"Hourly/official SES", dataset.Hourly, "SES", nil, 18.094, 2.385},
		{"Weekly/naive2", dataset.Weekly, "", naive.Naive2{}, 9.161, 2.777},
		{"Hourly/naive2", dataset.Hourly, "", naive.Naive2{}, 18.383, 2.395},
		// Two more rows of the same table, from the same code paths.
		{"Weekly/naive", dataset.Weekly, "", naive.Naive{}, 9.161, 2.777},
		{"Hourly/naive", dataset.Hourly, "", naive.Naive{}, 43.003, 11.608},
		{"Hourly/snaive", dataset.Hourly, "", naive.Seasonal{}, 13.912, 1.193},
	}
	data := map[dataset.Frequency]*dataset.M4{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := data[tt.freq]
			if d == nil {
				var err error
				if d, err = dataset.LoadM4(dir, tt.freq); err != nil {
					t.Fatal(err)
				}
				data[tt.freq] = d
			}
			var fc []dataset.Series
			if tt.model != nil {
				fc = forecastAll(t, d, tt.model)
			} else {
				var err error
				if fc, err = dataset.LoadM4Reference(dir, tt.method, tt.freq); err != nil {
					t.Fatal(err)
				}
			}
			smape, mase := score(t, d, fc)
			t.Logf("sMAPE %.6f  MASE %.6f", smape, mase)
			if round3(smape) != tt.smape || round3(mase) != tt.mase {
				t.Errorf("sMAPE %.6f, MASE %.6f; want %.3f, %.3f", smape, mase, tt.smape, tt.mase)
			}
		})
	}
}

// TestNaive2MatchesOfficial compares stockflow's Naive2 with the organisers'
// forecasts value by value: the seasonality test and the decomposition must
// agree on every series, not only on average.
func TestNaive2MatchesOfficial(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	for _, freq := range []dataset.Frequency{dataset.Weekly, dataset.Hourly} {
		t.Run(string(freq), func(t *testing.T) {
			d, err := dataset.LoadM4(dir, freq)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := dataset.LoadM4Reference(dir, "Naive2", freq)
			if err != nil {
				t.Fatal(err)
			}
			own := forecastAll(t, d, naive.Naive2{})
			var worst float64
			for i := range own {
				for h, v := range own[i].Values {
					r := ref[i].Values[h]
					worst = max(worst, math.Abs(v-r)/math.Abs(r))
				}
			}
			t.Logf("largest relative difference %.3g", worst)
			if worst > 1e-6 {
				t.Errorf("largest relative difference from the official Naive2 %.3g, want ≤ 1e-6", worst)
			}
		})
	}
}
