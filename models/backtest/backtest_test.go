package backtest

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stockflow/stockflow/models/ets"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/intermittent"
	"github.com/stockflow/stockflow/models/naive"
	"github.com/stockflow/stockflow/models/theta"
)

// seasonalSeries is a positive monthly-like series with a strong cycle of
// period m and a little noise.
func seasonalSeries(n, m int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, n)
	for t := range y {
		y[t] = 100 + 30*math.Sin(2*math.Pi*float64(t)/float64(m)) + 2*rng.NormFloat64()
	}
	return y
}

// trendSeries grows linearly with a little noise.
func trendSeries(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	y := make([]float64, n)
	for t := range y {
		y[t] = 50 + 3*float64(t) + 2*rng.NormFloat64()
	}
	return y
}

// intermittentSeries has demand in about one period in five, of 1 to 6
// units.
func intermittentSeries(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	y := make([]float64, n)
	for t := range y {
		if rng.Float64() < 0.2 {
			y[t] = float64(1 + rng.IntN(6))
		}
	}
	return y
}

func TestAutoChoosesByShape(t *testing.T) {
	// The same candidates for every series: one of each kind.
	cands := []forecast.Model{
		naive.Naive{},
		naive.Seasonal{},
		ets.SES(),
		ets.Holt(),
		intermittent.Croston(),
	}
	cases := []struct {
		name   string
		y      []float64
		m      int
		metric Metric
		want   []string
	}{
		{name: "seasonal", y: seasonalSeries(120, 12, 1), m: 12, want: []string{"snaive"}},
		{name: "trending", y: trendSeries(100, 1), m: 1, want: []string{"holt"}},
		{name: "intermittent", y: intermittentSeries(300, 1), m: 1, metric: ScaledRMSE, want: []string{"croston"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Auto{Candidates: cands, Horizon: 12, Origins: 4, Metric: tc.metric}
			f, err := a.FitAuto(tc.y, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(tc.want, f.Chosen()) {
				t.Fatalf("chose %q, want one of %v; scores %v", f.Chosen(), tc.want, f.Scores)
			}
			if f.Origins != 4 {
				t.Errorf("used %d origins, want 4", f.Origins)
			}
			if len(f.Scores) != len(cands) {
				t.Errorf("%d scores, want %d", len(f.Scores), len(cands))
			}
			fc, err := f.Forecast(12, []float64{0.05, 0.95})
			if err != nil {
				t.Fatal(err)
			}
			if len(fc.Mean) != 12 {
				t.Errorf("forecast of %d steps, want 12", len(fc.Mean))
			}
		})
	}
}

func TestDefaultsChooseByShape(t *testing.T) {
	seasonal := []string{"naive2", "ses", "holt", "damped", "theta", "otm", "autoets", "com", "snaive"}
	cases := []struct {
		name   string
		y      []float64
		m      int
		metric Metric
		// ok reports whether the chosen model fits the series' shape.
		ok func(chosen string) bool
	}{
		{
			// With m = 12 the M4-style candidates deseasonalise a
			// seasonal series, so any of them is a seasonal model.
			name: "seasonal", y: seasonalSeries(144, 12, 2), m: 12,
			ok: func(c string) bool { return everyMember(c, seasonal) },
		},
		{
			name: "trending", y: trendSeries(120, 2), m: 1,
			ok: func(c string) bool {
				return everyMember(c, []string{"holt", "damped", "theta", "otm", "autoets", "com", "theta/s52", "damped/s52"})
			},
		},
		{
			name: "intermittent", y: intermittentSeries(300, 2), m: 1, metric: ScaledRMSE,
			ok: func(c string) bool {
				return everyMember(c, []string{"croston", "croston-opt", "sba", "tsb", "adida", "mean28"})
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Auto{Horizon: 12, Metric: tc.metric}.FitAuto(tc.y, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ok(f.Chosen()) {
				t.Fatalf("chose %q; scores %v", f.Chosen(), f.Scores)
			}
		})
	}
}

// everyMember reports whether name, or every member of a "mean(a,b)"
// combination, is in set.
func everyMember(name string, set []string) bool {
	if inner, ok := strings.CutPrefix(name, "mean("); ok {
		for p := range strings.SplitSeq(strings.TrimSuffix(inner, ")"), ",") {
			if !slices.Contains(set, p) {
				return false
			}
		}
		return true
	}
	return slices.Contains(set, name)
}

// spy records the lengths of the series it is fitted on and forecasts the
// last value plus Offset.
type spy struct {
	label  string
	offset float64
	mu     sync.Mutex
	fits   []int
}

func (s *spy) Name() string { return s.label }

func (s *spy) Fit(y []float64, _ int) (forecast.Fitted, error) {
	s.mu.Lock()
	s.fits = append(s.fits, len(y))
	s.mu.Unlock()
	return constFitted(y[len(y)-1] + s.offset), nil
}

type constFitted float64

func (c constFitted) Forecast(h int, levels []float64) (*forecast.Forecast, error) {
	out := &forecast.Forecast{Mean: make([]float64, h), Quantiles: map[float64][]float64{}}
	for i := range out.Mean {
		out.Mean[i] = float64(c)
	}
	for _, l := range levels {
		out.Quantiles[l] = out.Mean
	}
	return out, nil
}

func TestAutoFitsOnlyTrainingPrefixes(t *testing.T) {
	y := trendSeries(100, 3)
	s := &spy{label: "spy"}
	a := Auto{Candidates: []forecast.Model{s}, Horizon: 10, Origins: 3}
	f, err := a.FitAuto(y, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Three origins, oldest first, then the refit on all of y.
	want := []int{70, 80, 90, 100}
	if !slices.Equal(s.fits, want) {
		t.Fatalf("fitted on lengths %v, want %v", s.fits, want)
	}
	if f.Chosen() != "spy" {
		t.Errorf("chose %q, want spy", f.Chosen())
	}
}

func TestAutoCombines(t *testing.T) {
	// A flat noisy series: one candidate forecasts 3 too high, the other 3
	// too low, so their mean is the best forecast.
	rng := rand.New(rand.NewPCG(4, 4))
	y := make([]float64, 120)
	for i := range y {
		y[i] = 50 + 0.1*rng.NormFloat64()
	}
	up := &spy{label: "up", offset: 3}
	down := &spy{label: "down", offset: -3}
	cases := []struct {
		name    string
		combine int
		want    string
	}{
		{name: "single", combine: 0, want: "up"},
		{name: "combined", combine: 2, want: "mean(up,down)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Auto{Candidates: []forecast.Model{up, down}, Horizon: 6, Combine: tc.combine}
			f, err := a.FitAuto(y, 1)
			if err != nil {
				t.Fatal(err)
			}
			// up and down tie on their own; ties keep the candidates'
			// order.
			if f.Chosen() != tc.want {
				t.Fatalf("chose %q, want %q; scores %v", f.Chosen(), tc.want, f.Scores)
			}
			fc, err := f.Forecast(3, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.combine > 1 && math.Abs(fc.Mean[0]-y[len(y)-1]) > 1e-9 {
				t.Errorf("combined forecast %v, want the last value %v", fc.Mean[0], y[len(y)-1])
			}
		})
	}
}

func TestAutoShortSeriesFallsBack(t *testing.T) {
	y := []float64{3, 4, 5, 6}
	a := Auto{Candidates: []forecast.Model{theta.Standard{}, naive.Naive{}}, Horizon: 6}
	f, err := a.FitAuto(y, 1)
	if err != nil {
		t.Fatal(err)
	}
	if f.Chosen() != "theta" || f.Origins != 0 {
		t.Fatalf("chose %q with %d origins, want theta without a backtest", f.Chosen(), f.Origins)
	}
	_, err = Auto{Candidates: []forecast.Model{naive.Naive{}}, Horizon: 1}.Fit([]float64{1}, 1)
	if !errors.Is(err, ErrNoCandidate) || !errors.Is(err, forecast.ErrTooShort) {
		t.Fatalf("one point: err %v, want ErrNoCandidate wrapping ErrTooShort", err)
	}
}

func TestAutoValidate(t *testing.T) {
	cases := []struct {
		name string
		auto Auto
		ok   bool
	}{
		{name: "ok", auto: Auto{Horizon: 1}, ok: true},
		{name: "no horizon", auto: Auto{}},
		{name: "negative origins", auto: Auto{Horizon: 2, Origins: -1}},
		{name: "negative combine", auto: Auto{Horizon: 2, Combine: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.auto.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestAutoConcurrent fits different series from many goroutines with one
// Auto and checks each matches the sequential fit (run with -race).
func TestAutoConcurrent(t *testing.T) {
	a := Auto{Horizon: 8, Combine: 3}
	series := make([][]float64, 8)
	for i := range series {
		switch i % 3 {
		case 0:
			series[i] = seasonalSeries(96, 12, uint64(i))
		case 1:
			series[i] = trendSeries(80, uint64(i))
		default:
			series[i] = intermittentSeries(120, uint64(i))
		}
	}
	want := make([]string, len(series))
	for i, y := range series {
		f, err := a.FitAuto(y, 12)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = f.Chosen()
	}
	got := make([]string, len(series))
	errs := make([]error, len(series))
	var wg sync.WaitGroup
	for i, y := range series {
		wg.Go(func() {
			f, err := a.FitAuto(y, 12)
			if err != nil {
				errs[i] = err
				return
			}
			got[i] = f.Chosen()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("concurrent choices %v, sequential %v", got, want)
	}
}
