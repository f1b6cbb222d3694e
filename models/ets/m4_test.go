package ets

import (
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stockflow/stockflow/models/forecast"
)

// dataDir is STOCKFLOW_DATASET_DIR, else <repo>/../shared/data found from
// this file's location: the order internal/dataset.Resolve uses (models/
// may not import it).
func dataDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("STOCKFLOW_DATASET_DIR"); dir != "" {
		return dir
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
}

// readSeries reads an M4-style wide CSV (id, then values; "NA" or empty
// cells end a row) into id -> values, keeping the file order in ids.
func readSeries(t *testing.T, path string) (ids []string, rows map[string][]float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("M4 data missing: %s: %v", path, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	rows = make(map[string][]float64, len(recs))
	for _, rec := range recs[1:] {
		var v []float64
		for _, c := range rec[1:] {
			c = strings.TrimSpace(c)
			if c == "" || c == "NA" {
				break
			}
			x, err := strconv.ParseFloat(c, 64)
			if err != nil {
				t.Fatalf("%s: series %s: %v", path, rec[0], err)
			}
			v = append(v, x)
		}
		ids = append(ids, rec[0])
		rows[rec[0]] = v
	}
	return ids, rows
}

func smape(y, f []float64) float64 {
	s := 0.0
	for i := range y {
		s += 200 * math.Abs(y[i]-f[i]) / (math.Abs(y[i]) + math.Abs(f[i]))
	}
	return s / float64(len(y))
}

func mase(train, y, f []float64, m int) float64 {
	d := 0.0
	for i := m; i < len(train); i++ {
		d += math.Abs(train[i] - train[i-m])
	}
	d /= float64(len(train) - m)
	s := 0.0
	for i := range y {
		s += math.Abs(y[i] - f[i])
	}
	return s / float64(len(y)) / d
}

type m4Weekly struct {
	ids         []string
	train, test map[string][]float64
}

func loadWeekly(t *testing.T) m4Weekly {
	t.Helper()
	dir := filepath.Join(dataDir(t), "m4_weekly")
	ids, train := readSeries(t, filepath.Join(dir, "Weekly-train.csv"))
	_, test := readSeries(t, filepath.Join(dir, "Weekly-test.csv"))
	if len(ids) != 359 {
		t.Fatalf("%s: %d series, want 359", dir, len(ids))
	}
	return m4Weekly{ids: ids, train: train, test: test}
}

// score forecasts every series with model and returns the mean sMAPE and
// MASE, and the forecasts; it logs the coverage of the 90% interval.
func (d m4Weekly) score(t *testing.T, model forecast.Model) (sm, ms float64, fc map[string][]float64) {
	t.Helper()
	fc = make(map[string][]float64, len(d.ids))
	covered, total := 0, 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(d.ids))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for _, id := range d.ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fit, err := model.Fit(d.train[id], 1)
			if err != nil {
				errs <- errors.Join(errors.New(id), err)
				return
			}
			f, err := fit.Forecast(len(d.test[id]), []float64{0.05, 0.95})
			if err != nil {
				errs <- errors.Join(errors.New(id), err)
				return
			}
			mu.Lock()
			fc[id] = f.Mean
			if lo, hi := f.Quantiles[0.05], f.Quantiles[0.95]; lo != nil {
				for i, v := range d.test[id] {
					total++
					if v >= lo[i] && v <= hi[i] {
						covered++
					}
				}
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%s: %v", model.Name(), err)
	}
	for _, id := range d.ids {
		sm += smape(d.test[id], fc[id])
		ms += mase(d.train[id], d.test[id], fc[id], 1)
	}
	if total > 0 {
		t.Logf("%s: the 90%% interval covers %.3f of the test weeks", model.Name(), float64(covered)/float64(total))
	}
	n := float64(len(d.ids))
	return sm / n, ms / n, fc
}

// TestM4WeeklySES reproduces the official M4 SES scores on Weekly (sMAPE
// 9.012, MASE 2.685) with our own SES, and compares each series with the
// organisers' forecasts.
func TestM4WeeklySES(t *testing.T) {
	d := loadWeekly(t)
	sm, ms, fc := d.score(t, SES())
	t.Logf("SES: sMAPE %.5f MASE %.5f (official 9.012 / 2.685)", sm, ms)
	if math.Abs(sm-9.012) > 0.0005 || math.Abs(ms-2.685) > 0.0005 {
		t.Errorf("SES sMAPE %.4f MASE %.4f, want 9.012 / 2.685", sm, ms)
	}
	refPath := filepath.Join(dataDir(t), "m4_reference_forecasts", "SES-W.csv")
	_, ref := readSeries(t, refPath)
	worst, worstID, far := 0.0, "", 0
	for _, id := range d.ids {
		r := ref[id]
		if len(r) != len(d.test[id]) {
			t.Fatalf("%s: series %s has %d forecasts, want %d", refPath, id, len(r), len(d.test[id]))
		}
		rel := math.Abs(fc[id][0]-r[0]) / math.Max(math.Abs(r[0]), 1e-9)
		if rel > 1e-4 {
			far++
		}
		if rel > worst {
			worst, worstID = rel, id
		}
	}
	t.Logf("SES vs reference: %d of %d series differ by more than 1e-4 (relative); worst %s by %.2g", far, len(d.ids), worstID, worst)
	if far > len(d.ids)/20 {
		t.Errorf("%d series differ from the reference SES forecasts", far)
	}
}

// TestM4WeeklyBenchmarks reports Holt, Damped and Auto against Naive2.
func TestM4WeeklyBenchmarks(t *testing.T) {
	d := loadWeekly(t)
	naive := naiveModel{}
	nsm, nms, _ := d.score(t, naive)
	t.Logf("Naive2: sMAPE %.4f MASE %.4f (official 9.161 / 2.777)", nsm, nms)
	if math.Abs(nsm-9.161) > 0.0005 || math.Abs(nms-2.777) > 0.0005 {
		t.Errorf("Naive2 sMAPE %.4f MASE %.4f, want 9.161 / 2.777", nsm, nms)
	}
	cases := []struct {
		model   forecast.Model
		maxOWA  float64
		comment string
	}{
		{model: Holt(), maxOWA: 1.2, comment: "official Holt 9.708 / 2.420, OWA 0.966"},
		{model: Damped(), maxOWA: 0.95, comment: "official Damped 8.866 / 2.404, OWA 0.917"},
		{model: Auto(), maxOWA: 1.0, comment: "no official figure"},
	}
	for _, tc := range cases {
		t.Run(tc.model.Name(), func(t *testing.T) {
			sm, ms, _ := d.score(t, tc.model)
			owa := (sm/nsm + ms/nms) / 2
			t.Logf("%s: sMAPE %.4f MASE %.4f OWA %.4f (%s)", tc.model.Name(), sm, ms, owa, tc.comment)
			if owa > tc.maxOWA {
				t.Errorf("OWA %.4f > %.3f", owa, tc.maxOWA)
			}
		})
	}
}

// naiveModel repeats the last value (Naive2 on weekly data, m = 1).
type naiveModel struct{}

func (naiveModel) Name() string { return "naive2" }

func (naiveModel) Fit(y []float64, _ int) (forecast.Fitted, error) {
	if len(y) == 0 {
		return nil, forecast.ErrTooShort
	}
	return naiveFit(y[len(y)-1]), nil
}

type naiveFit float64

func (n naiveFit) Forecast(h int, _ []float64) (*forecast.Forecast, error) {
	f := &forecast.Forecast{Mean: make([]float64, h)}
	for i := range f.Mean {
		f.Mean[i] = float64(n)
	}
	return f, nil
}
