package forecast_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stockflow/stockflow/pipelines/forecast"
)

var (
	day0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keyA = forecast.Key{SKU: "SKU-A", Warehouse: "WH1"}
	keyB = forecast.Key{SKU: "SKU-B", Warehouse: "WH1"}
	keyC = forecast.Key{SKU: "SKU-A", Warehouse: "WH2"}
)

func d(i int) time.Time { return day0.AddDate(0, 0, i) }

func TestBuildSeries(t *testing.T) {
	type want struct {
		key      forecast.Key
		start    time.Time
		units    []float64
		censored []int // indexes
	}
	cases := []struct {
		name      string
		sales     []forecast.DailyUnits
		stockouts []forecast.StockoutDay
		cutoff    time.Time
		censor    time.Duration
		want      []want
	}{
		{
			name:   "zeros from the first sale through the cutoff",
			sales:  []forecast.DailyUnits{{Key: keyA, Day: d(2), Units: 3}, {Key: keyA, Day: d(5), Units: 1}},
			cutoff: d(6), censor: 4 * time.Hour,
			want: []want{{key: keyA, start: d(2), units: []float64{3, 0, 0, 1, 0}}},
		},
		{
			name: "entries of one day add up, times are truncated to the UTC day",
			sales: []forecast.DailyUnits{
				{Key: keyA, Day: d(1).Add(23 * time.Hour), Units: 2},
				{Key: keyA, Day: d(1).Add(time.Hour), Units: 5},
				{Key: keyA, Day: d(2).In(time.FixedZone("X", -3*3600)), Units: 1}, // 21:00 local is still d(2) UTC
			},
			cutoff: d(2).Add(13 * time.Hour), censor: 4 * time.Hour,
			want: []want{{key: keyA, start: d(1), units: []float64{7, 1}}},
		},
		{
			name: "days after the cutoff are ignored, and keys that only sold after it",
			sales: []forecast.DailyUnits{
				{Key: keyA, Day: d(0), Units: 1}, {Key: keyA, Day: d(3), Units: 9},
				{Key: keyB, Day: d(3), Units: 4},
			},
			cutoff: d(2), censor: 4 * time.Hour,
			want: []want{{key: keyA, start: d(0), units: []float64{1, 0, 0}}},
		},
		{
			name:  "stockouts at or above the threshold censor, summed per day",
			sales: []forecast.DailyUnits{{Key: keyA, Day: d(0), Units: 1}, {Key: keyB, Day: d(1), Units: 2}},
			stockouts: []forecast.StockoutDay{
				{Key: keyA, Day: d(1), Seconds: 4 * 3600},                                            // exactly the threshold
				{Key: keyA, Day: d(2), Seconds: 4*3600 - 1},                                          // just below
				{Key: keyA, Day: d(3), Seconds: 2 * 3600}, {Key: keyA, Day: d(3), Seconds: 2 * 3600}, // final + correction
				{Key: keyB, Day: d(0), Seconds: 86400},                                         // before B's first sale
				{Key: forecast.Key{SKU: "SKU-X", Warehouse: "WH1"}, Day: d(1), Seconds: 86400}, // no sales: no series
				{Key: keyA, Day: d(5), Seconds: 86400},                                         // after the cutoff
			},
			cutoff: d(3), censor: 4 * time.Hour,
			want: []want{
				{key: keyA, start: d(0), units: []float64{1, 0, 0, 0}, censored: []int{1, 3}},
				{key: keyB, start: d(1), units: []float64{2, 0, 0}},
			},
		},
		{
			name:      "a negative threshold censors nothing",
			sales:     []forecast.DailyUnits{{Key: keyA, Day: d(0), Units: 1}},
			stockouts: []forecast.StockoutDay{{Key: keyA, Day: d(1), Seconds: 86400}},
			cutoff:    d(1), censor: -1,
			want: []want{{key: keyA, start: d(0), units: []float64{1, 0}}},
		},
		{
			name:   "series are sorted by sku, then warehouse",
			sales:  []forecast.DailyUnits{{Key: keyB, Day: d(0), Units: 1}, {Key: keyC, Day: d(0), Units: 1}, {Key: keyA, Day: d(0), Units: 1}},
			cutoff: d(0), censor: 4 * time.Hour,
			want: []want{
				{key: keyA, start: d(0), units: []float64{1}},
				{key: keyC, start: d(0), units: []float64{1}},
				{key: keyB, start: d(0), units: []float64{1}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := forecast.BuildSeries(tc.sales, tc.stockouts, tc.cutoff, tc.censor)
			if len(got) != len(tc.want) {
				t.Fatalf("%d series, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				censored := make([]bool, len(w.units))
				for _, c := range w.censored {
					censored[c] = true
				}
				if g.Key != w.key || !g.Start.Equal(w.start) || !slices.Equal(g.Units, w.units) || !slices.Equal(g.Censored, censored) {
					t.Errorf("series %d = %s from %s %v censored %v; want %s from %s %v censored %v",
						i, g.Key, g.Start.Format(time.DateOnly), g.Units, g.Censored, w.key, w.start.Format(time.DateOnly), w.units, censored)
				}
				if err := g.Validate(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestImpute(t *testing.T) {
	flat := func(n int, v float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	flags := func(n int, idx ...int) []bool {
		out := make([]bool, n)
		for _, i := range idx {
			out[i] = true
		}
		return out
	}
	// A weekly shape: weekends (positions 5, 6) sell three times as much.
	weekly := make([]float64, 56)
	for i := range weekly {
		weekly[i] = 10
		if i%7 >= 5 {
			weekly[i] = 30
		}
	}
	cases := []struct {
		name     string
		y        []float64
		censored []bool
		check    func(t *testing.T, got []float64)
	}{
		{
			name: "nothing censored: unchanged", y: []float64{1, 0, 3}, censored: flags(3),
			check: func(t *testing.T, got []float64) {
				if !slices.Equal(got, []float64{1, 0, 3}) {
					t.Errorf("got %v", got)
				}
			},
		},
		{
			name: "censored days of a flat series get its level",
			y:    append(flat(40, 10), 2, 3, 0), censored: flags(43, 40, 41, 42),
			check: func(t *testing.T, got []float64) {
				for i := 40; i < 43; i++ {
					if math.Abs(got[i]-10) > 0.5 {
						t.Errorf("day %d imputed %g, want about 10", i, got[i])
					}
				}
				if !slices.Equal(got[:40], flat(40, 10)) {
					t.Error("uncensored days changed")
				}
			},
		},
		{
			name: "observed demand is a lower bound: a censored day above the level keeps it",
			y:    append(flat(30, 10), 25), censored: flags(31, 30),
			check: func(t *testing.T, got []float64) {
				if got[30] != 25 {
					t.Errorf("imputed %g, want the observed 25", got[30])
				}
			},
		},
		{
			name: "the day-of-week profile scales the level",
			y:    func() []float64 { y := slices.Clone(weekly); y[54], y[50] = 4, 1; return y }(), censored: flags(56, 54, 50),
			check: func(t *testing.T, got []float64) {
				// 54 % 7 = 5: a weekend day; 50 % 7 = 1: a weekday.
				if got[54] < 22 || got[54] > 34 {
					t.Errorf("weekend day imputed %g, want about 30", got[54])
				}
				if got[50] < 7 || got[50] > 13 {
					t.Errorf("weekday imputed %g, want about 10", got[50])
				}
			},
		},
		{
			name: "a censored first stretch takes the level after it",
			y:    append([]float64{0, 0}, flat(30, 6)...), censored: flags(32, 0, 1),
			check: func(t *testing.T, got []float64) {
				if math.Abs(got[0]-6) > 0.5 || math.Abs(got[1]-6) > 0.5 {
					t.Errorf("imputed %v, want about 6", got[:2])
				}
			},
		},
		{
			name: "everything censored: unchanged", y: []float64{1, 2}, censored: flags(2, 0, 1),
			check: func(t *testing.T, got []float64) {
				if !slices.Equal(got, []float64{1, 2}) {
					t.Errorf("got %v", got)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.y)
			got := forecast.Impute(tc.y, tc.censored)
			if !reflect.DeepEqual(in, tc.y) {
				t.Error("Impute modified its input")
			}
			tc.check(t, got)
		})
	}
}

// poisson draws a Poisson count with mean lambda (Knuth; small lambdas).
func poisson(r *rand.Rand, lambda float64) float64 {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return float64(k)
		}
		k++
	}
}

// synth builds a series of n days ending on cutoff with mean demand
// level(i) on day i, drawn with a fixed seed.
func synth(key forecast.Key, cutoff time.Time, n int, seed uint64, level func(i int) float64) forecast.Series {
	r := rand.New(rand.NewPCG(seed, 7))
	s := forecast.Series{Key: key, Start: cutoff.AddDate(0, 0, -(n - 1)), Units: make([]float64, n), Censored: make([]bool, n)}
	for i := range s.Units {
		s.Units[i] = poisson(r, level(i))
	}
	return s
}
