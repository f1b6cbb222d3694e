package intermittent

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stockflow/stockflow/models/forecast"
)

// loadM5Tiny reads m5_tiny/sales_wide.csv (280 daily series d_1..d_1913)
// from STOCKFLOW_DATASET_DIR, else <repo>/../shared/data: the order
// internal/dataset.Resolve uses (models/ may not import it).
func loadM5Tiny(t *testing.T) [][]float64 {
	t.Helper()
	dir := os.Getenv("STOCKFLOW_DATASET_DIR")
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			t.Fatal("cannot locate the test file")
		}
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
	}
	path := filepath.Join(dir, "m5_tiny", "sales_wide.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("M5 data missing: %s: %v", path, err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	first := -1
	for i, c := range recs[0] {
		if c == "d_1" {
			first = i
		}
	}
	if first < 0 || len(recs[0])-first != 1913 {
		t.Fatalf("%s: want columns d_1..d_1913", path)
	}
	var out [][]float64
	for _, rec := range recs[1:] {
		y := make([]float64, 0, 1913)
		for _, c := range rec[first:] {
			v, err := strconv.ParseFloat(strings.TrimSpace(c), 64)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, rec[0], err)
			}
			y = append(y, v)
		}
		out = append(out, y)
	}
	if len(out) != 280 {
		t.Fatalf("%s: %d series, want 280", path, len(out))
	}
	return out
}

// rmsse is the M5 metric: the scale is the mean squared one-step naive
// difference of the training series from its first non-zero demand.
func rmsse(train, test, f []float64) float64 {
	start := 0
	for start < len(train) && train[start] == 0 {
		start++
	}
	d := 0.0
	for i := start + 1; i < len(train); i++ {
		x := train[i] - train[i-1]
		d += x * x
	}
	d /= float64(len(train) - start - 1)
	s := 0.0
	for i := range test {
		e := test[i] - f[i]
		s += e * e
	}
	return math.Sqrt(s / float64(len(test)) / d)
}

// lastMean forecasts the mean of the last 28 days (the baseline).
type lastMean struct{}

func (lastMean) Name() string { return "mean-last-28" }

func (lastMean) Fit(y []float64, _ int) (forecast.Fitted, error) {
	return &Fitted{Mean: mean(y[len(y)-28:]), Prob: 1}, nil
}

// TestM5Tiny measures mean RMSSE over the 280 series with the last 28
// days held out; an independent script measured Croston (alpha 0.1) 0.785
// and the mean of the last 28 days 0.762.
func TestM5Tiny(t *testing.T) {
	series := loadM5Tiny(t)
	const h = 28
	// want is the independent figure (0 for none); every method must beat
	// seasonal naive (1.000) by a margin.
	cases := []struct {
		model forecast.Model
		want  float64
	}{
		{model: Croston(), want: 0.785},
		{model: lastMean{}, want: 0.762},
		{model: CrostonOptimized()},
		{model: SBA()},
		{model: TSB(0.1, 0.1)},
		{model: ADIDA()},
	}
	for _, tc := range cases {
		t.Run(tc.model.Name(), func(t *testing.T) {
			levels := []float64{0.05, 0.5, 0.95}
			if _, ok := tc.model.(lastMean); ok {
				levels = nil
			}
			sum, covered, total := 0.0, 0, 0
			for i, y := range series {
				train, test := y[:len(y)-h], y[len(y)-h:]
				fit, err := tc.model.Fit(train, 7)
				if err != nil {
					t.Fatalf("series %d: %v", i, err)
				}
				fc, err := fit.Forecast(h, levels)
				if err != nil {
					t.Fatalf("series %d: %v", i, err)
				}
				sum += rmsse(train, test, fc.Mean)
				if lo, hi := fc.Quantiles[0.05], fc.Quantiles[0.95]; lo != nil {
					for j, v := range test {
						total++
						if v >= lo[j] && v <= hi[j] {
							covered++
						}
					}
				}
			}
			got := sum / float64(len(series))
			cov := math.NaN()
			if total > 0 {
				cov = float64(covered) / float64(total)
			}
			ref := "no independent figure"
			if tc.want != 0 {
				ref = fmt.Sprintf("independent script %.3f", tc.want)
			}
			t.Logf("%s: mean RMSSE %.5f (%s), 90%% interval coverage %.3f", tc.model.Name(), got, ref, cov)
			if tc.want != 0 && math.Abs(got-tc.want) > 0.0005 {
				t.Errorf("mean RMSSE %.5f, want %.3f", got, tc.want)
			}
			if got > 0.9 {
				t.Errorf("mean RMSSE %.5f, not clearly below seasonal naive's 1.000", got)
			}
			if levels != nil && math.Abs(cov-0.9) > 0.05 {
				t.Errorf("90%% interval covers %.3f of the test days", cov)
			}
		})
	}
}
