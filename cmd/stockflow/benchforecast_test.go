package main

import (
	"math"
	"testing"

	"github.com/stockflow/stockflow/pipelines/forecast"
)

// TestBenchSimDaily runs the bench's simulated daily data set, small, with
// both model sets: every series is trained and scored, and the projection
// follows from the measured rate (no wall-clock assertion).
func TestBenchSimDaily(t *testing.T) {
	const n, days = 60, 120
	data, err := benchSimDaily(n, days, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(data.series) != n || len(data.trains[0]) != days || len(data.tests[0]) != forecast.DefaultHorizon {
		t.Fatalf("%d series of %d days with %d held out; want %d of %d with %d", len(data.series), len(data.trains[0]), len(data.tests[0]), n, days, forecast.DefaultHorizon)
	}
	again, err := benchSimDaily(n, days, 1)
	if err != nil {
		t.Fatal(err)
	}
	for j := range data.trains {
		for d, v := range data.trains[j] {
			if again.trains[j][d] != v {
				t.Fatalf("series %d day %d: %v then %v; want the same series every time", j, d, v, again.trains[j][d])
			}
		}
	}
	for _, name := range []string{forecast.SetDefault, forecast.SetFast} {
		t.Run(name, func(t *testing.T) {
			ms, err := forecast.ParseModelSet(name)
			if err != nil {
				t.Fatal(err)
			}
			set, err := benchTrain(t.Context(), data, ms, forecast.DefaultHorizon, 2)
			if err != nil {
				t.Fatal(err)
			}
			if set.Series != n || set.Workers != 2 || set.RMSSE == nil || set.Coverage90 == nil || set.DistinctModels == 0 {
				t.Errorf("set %+v: want %d series, 2 workers, RMSSE, coverage and models", set, n)
			}
			if *set.RMSSE <= 0 || *set.RMSSE > 3 || *set.Coverage90 < 0.5 {
				t.Errorf("RMSSE %v, coverage %v: implausible for the simulated demand", *set.RMSSE, *set.Coverage90)
			}
			if want := benchGoalSeries / set.SeriesPerSecond; math.Abs(set.ProjectedSeconds-want) > 1e-9*want {
				t.Errorf("projected %v s, want %v s", set.ProjectedSeconds, want)
			}
		})
	}
}

func TestBenchKeys(t *testing.T) {
	for _, j := range []int{0, 7, 12345} {
		k := benchKey(j)
		got, err := benchIndex(k)
		if err != nil || got != j {
			t.Errorf("benchIndex(%v) = %d, %v; want %d", k, got, err, j)
		}
		k.SKU += "#3"
		if got, err := benchIndex(k); err != nil || got != j {
			t.Errorf("benchIndex(%v) = %d, %v; want %d", k, got, err, j)
		}
	}
}
