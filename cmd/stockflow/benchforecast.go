package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/dataset"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/models/metric"
	"github.com/stockflow/stockflow/pipelines/forecast"
)

// m5Day1 is the date of d_1 in the M5 data.
var m5Day1 = time.Date(2011, 1, 29, 0, 0, 0, 0, time.UTC)

// forecastBench is the result of `stockflow bench forecast`: the first
// model set's figures at the top level, every set's in Sets.
type forecastBench struct {
	Dataset         string               `json:"dataset"`
	Series          int                  `json:"series"`
	Days            int                  `json:"days"`
	Horizon         int                  `json:"horizon"`
	Workers         int                  `json:"workers"`
	Models          string               `json:"models"`
	Seconds         float64              `json:"seconds"`
	SeriesPerSecond float64              `json:"series_per_second"`
	RMSSE           *float64             `json:"rmsse"`
	Sets            []forecastBenchModel `json:"sets"`
}

// forecastBenchModel is one model set's run: time, throughput, and the
// accuracy of its forecasts on the held-out last 28 days (mean RMSSE, as
// forecast eval on m5-tiny) and of the pipeline's own hold-out.
type forecastBenchModel struct {
	Models          string   `json:"models"`
	Seconds         float64  `json:"seconds"`
	SeriesPerSecond float64  `json:"series_per_second"`
	RMSSE           *float64 `json:"rmsse"`
	Coverage90      *float64 `json:"coverage_90"`
	// DistinctModels is the number of different models (combinations
	// included) chosen.
	DistinctModels int `json:"distinct_models"`
}

// benchForecast measures training with automatic model selection
// (pipelines/forecast.Train: choice by backtest, 28-day quantile forecast,
// hold-out accuracy) on the tiny M5 series, whose last 28 days are held
// out and scored, once per model set, in one run.
func benchForecast(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench forecast", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
	dir := fs.String("dataset-dir", "", "data directory (default $"+dataset.EnvDir+", else "+dataset.DefaultRel+" beside the repository)")
	sets := fs.String("models", forecast.SetDefault+";"+forecast.SetFast, "model sets to measure, separated by ';' (each a set name or a comma-separated candidate list)")
	days := fs.Int("days", 730, "training days per series: the last N before the 28 held-out days (0: all 1885)")
	repeat := fs.Int("repeat", 10, "train on this many copies of the 280 series (under distinct keys)")
	workers := fs.Int("workers", 0, "series fitted at once (0: GOMAXPROCS)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *days < 0 || *repeat < 1 || *workers < 0 {
		return errors.New("--days, --repeat and --workers must not be negative (--repeat at least 1)")
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	root, err := dataset.Resolve(*dir, os.Getenv(dataset.EnvDir), wd)
	if err != nil {
		return fmt.Errorf("dataset directory: %w", err)
	}
	m5, err := dataset.LoadM5Tiny(root)
	if err != nil {
		return fmt.Errorf("load m5-tiny: %w", err)
	}
	series, tests, trains, cutoff, err := m5Series(m5, *days, *repeat)
	if err != nil {
		return err
	}
	res := forecastBench{Dataset: "m5-tiny", Series: len(series), Days: *days, Horizon: dataset.M5Horizon, Workers: *workers}
	if res.Workers == 0 {
		res.Workers = runtime.GOMAXPROCS(0)
	}
	for spec := range strings.SplitSeq(*sets, ";") {
		ms, err := forecast.ParseModelSet(spec)
		if err != nil {
			return err
		}
		cfg := forecast.Config{Cutoff: cutoff, Horizon: dataset.M5Horizon, Models: ms, Workers: res.Workers, MinHistory: 7}
		t0 := time.Now()
		r, err := forecast.Train(ctx, cfg, forecast.Input{Series: series})
		if err != nil {
			return fmt.Errorf("train %s: %w", ms.Name, err)
		}
		secs := time.Since(t0).Seconds()
		sum0 := r.Summary()
		m := forecastBenchModel{Models: ms.Name, Seconds: secs, SeriesPerSecond: float64(len(series)) / secs,
			Coverage90: sum0.Coverage90, DistinctModels: len(sum0.Models)}
		var sum float64
		n := 0
		for i := range r.Forecasts {
			f := &r.Forecasts[i]
			j := keyIndex(f.Key)
			mean := make([]float64, len(f.Days))
			for k, d := range f.Days {
				mean[k] = d.Mean
			}
			v, err := metric.RMSSE(trains[j], tests[j], mean)
			if errors.Is(err, metric.ErrScale) {
				continue
			}
			if err != nil {
				return fmt.Errorf("rmsse %s: %w", f.Key, err)
			}
			sum += v
			n++
		}
		if n > 0 {
			v := sum / float64(n)
			m.RMSSE = &v
		}
		fmt.Fprintf(os.Stderr, "bench forecast: %s: %d series in %.2f s (%.0f/s)\n", ms.Name, len(series), secs, m.SeriesPerSecond)
		res.Sets = append(res.Sets, m)
	}
	if len(res.Sets) == 0 {
		return errors.New("no model sets")
	}
	first := res.Sets[0]
	res.Models, res.Seconds, res.SeriesPerSecond, res.RMSSE = first.Models, first.Seconds, first.SeriesPerSecond, first.RMSSE
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("m5-tiny: %d series of %d days, horizon %d, %d workers\n", res.Series, res.Days, res.Horizon, res.Workers)
	for _, m := range res.Sets {
		fmt.Printf("%-10s %8.2f s %8.0f series/s  RMSSE %s  coverage_90 %s\n", m.Models, m.Seconds, m.SeriesPerSecond, fmtPtr(m.RMSSE), fmtPtr(m.Coverage90))
	}
	return nil
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}

// m5Series turns the tiny M5 series into pipeline series: d_1 is
// 2011-01-29, the last 28 days are held out, training keeps the last days
// of the rest (all when days is 0) from the first sale on, and every
// series is repeated under keys "<id>#<copy>" in warehouse "M5". It
// returns the series, the held-out and training values by series index,
// and the cutoff (the last training day).
func m5Series(m5 []dataset.M5Series, days, repeat int) ([]forecast.Series, [][]float64, [][]float64, time.Time, error) {
	var (
		out           []forecast.Series
		tests, trains [][]float64
		cutoff        time.Time
	)
	for j, s := range m5 {
		n := len(s.Sales) - dataset.M5Horizon
		if n < 1 {
			return nil, nil, nil, cutoff, fmt.Errorf("m5-tiny series %s: %d days", s.ID, len(s.Sales))
		}
		from := 0
		if days > 0 {
			from = max(0, n-days)
		}
		for from < n-1 && s.Sales[from] == 0 {
			from++
		}
		cutoff = m5Day1.AddDate(0, 0, n-1)
		tests = append(tests, s.Sales[n:])
		trains = append(trains, s.Sales[from:n])
		for c := range repeat {
			out = append(out, forecast.Series{
				Key:      forecast.Key{SKU: event.SKU(s.ID + "#" + strconv.Itoa(c)), Warehouse: event.WarehouseID("M5-" + strconv.Itoa(j))},
				Start:    m5Day1.AddDate(0, 0, from),
				Units:    s.Sales[from:n],
				Censored: make([]bool, n-from),
			})
		}
	}
	return out, tests, trains, cutoff, nil
}

// keyIndex recovers the M5 series index from a bench key.
func keyIndex(k forecast.Key) int {
	j, _ := strconv.Atoi(strings.TrimPrefix(string(k.Warehouse), "M5-"))
	return j
}
