package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/dataset"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/models/backtest"
	mforecast "github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/metric"
	"github.com/stockflow/stockflow/models/naive"
	"github.com/stockflow/stockflow/pipelines/forecast"
)

// m5Day1 is the date of d_1 in the M5 data.
var m5Day1 = time.Date(2011, 1, 29, 0, 0, 0, 0, time.UTC)

// The speed goal of issue 4: 100,000 series of two years of daily data
// fitted and scored in under 60 s.
const (
	benchGoalSeries  = 100_000
	benchGoalSeconds = 60
)

// benchSimStart is the first day of the simulated series (any fixed date:
// the series must not depend on the day the bench runs).
var benchSimStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// forecastBench is the result of `stockflow bench forecast`.
type forecastBench struct {
	Horizon     int            `json:"horizon"`
	Workers     int            `json:"workers"`
	GoalSeries  int            `json:"goal_series"`
	GoalSeconds float64        `json:"goal_seconds"`
	Datasets    []benchDataset `json:"datasets"`
}

// benchDataset is one data set and the model sets run on it.
type benchDataset struct {
	Dataset string `json:"dataset"`
	Series  int    `json:"series"`
	// MinDays and MaxDays are the training lengths (periods).
	MinDays int        `json:"min_days"`
	MaxDays int        `json:"max_days"`
	Sets    []benchSet `json:"sets"`
}

// benchSet is one model set's run on one data set: time, throughput, the
// projection to the goal's 100,000 series, and the accuracy of its
// forecasts on the held-out data (the official test set on M4, sMAPE, MASE
// and OWA of the first 13 weeks; the last 28 days of the daily data sets,
// mean RMSSE) with the share of actuals inside p05..p95.
type benchSet struct {
	Models          string  `json:"models"`
	Series          int     `json:"series"`
	Seconds         float64 `json:"seconds"`
	SeriesPerSecond float64 `json:"series_per_second"`
	Workers         int     `json:"workers"`
	// ProjectedSeconds is the time for GoalSeries series of this data
	// set's kind at this rate (the goal's are sim-daily's: two years of
	// daily demand).
	ProjectedSeconds float64  `json:"projected_seconds_100k"`
	SMAPE            *float64 `json:"smape,omitempty"`
	MASE             *float64 `json:"mase,omitempty"`
	OWA              *float64 `json:"owa,omitempty"`
	RMSSE            *float64 `json:"rmsse,omitempty"`
	Coverage90       *float64 `json:"coverage_90"`
	// DistinctModels is the number of different models (combinations
	// included) chosen.
	DistinctModels int `json:"distinct_models"`
	// Failed counts series the set could not fit (M4 auto: scored with the
	// naive forecast).
	Failed int `json:"failed,omitempty"`
}

// benchData is a data set prepared for the bench: training series and
// held-out actuals by index.
type benchData struct {
	name          string
	series        []forecast.Series
	trains, tests [][]float64
	cutoff        time.Time
	m4            bool
	// naive2 holds, on M4, Naive2's sMAPE and MASE on the test set.
	naive2SMAPE, naive2MASE float64
}

// benchForecast measures training with automatic model selection and a
// 28-day horizon: pipelines/forecast.Train (choice by backtest, quantile
// forecast, hold-out accuracy) for every model set in --models on every
// data set, and on M4 Weekly also `auto` of forecast eval (the weekly
// candidates) forecasting 28 weeks.
func benchForecast(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench forecast", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
	dir := fs.String("dataset-dir", "", "data directory (default $"+dataset.EnvDir+", else "+dataset.DefaultRel+" beside the repository, else downloaded into the cache)")
	datasets := fs.String("datasets", "m4-weekly,sim-daily,m5-tiny", "data sets, comma-separated: m4-weekly, sim-daily (simulated daily demand), m5-tiny")
	sets := fs.String("models", forecast.SetDefault+";"+forecast.SetFast, "model sets to measure, separated by ';' (each a set name or a comma-separated candidate list)")
	simSeries := fs.Int("series", 10_000, "sim-daily: number of series (SKUs × 10 warehouses)")
	days := fs.Int("days", 730, "training days per daily series: sim-daily's length; m5-tiny's last N before the 28 held-out days (0: all 1885)")
	repeat := fs.Int("repeat", 10, "m5-tiny: train on this many copies of the 280 series (under distinct keys)")
	seed := fs.Uint64("seed", 1, "sim-daily: simulator seed")
	workers := fs.Int("workers", 0, "series fitted at once (0: GOMAXPROCS)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *days < 0 || *repeat < 1 || *workers < 0 || *simSeries < 10 {
		return errors.New("--days, --repeat and --workers must not be negative, --repeat at least 1, --series at least 10")
	}
	res := forecastBench{Horizon: forecast.DefaultHorizon, Workers: *workers, GoalSeries: benchGoalSeries, GoalSeconds: benchGoalSeconds}
	if res.Workers == 0 {
		res.Workers = runtime.GOMAXPROCS(0)
	}
	var modelSets []forecast.ModelSet
	for spec := range strings.SplitSeq(*sets, ";") {
		ms, err := forecast.ParseModelSet(spec)
		if err != nil {
			return fmt.Errorf("--models: %w", err)
		}
		modelSets = append(modelSets, ms)
	}
	for _, name := range splitMethods(*datasets) {
		var (
			data *benchData
			err  error
		)
		switch name {
		case "m4-weekly":
			data, err = benchM4Weekly(ctx, *dir)
		case "sim-daily":
			data, err = benchSimDaily(*simSeries, *days, *seed)
		case "m5-tiny":
			data, err = benchM5Tiny(ctx, *dir, *days, *repeat)
		default:
			return fmt.Errorf("--datasets: unknown data set %q (have m4-weekly, sim-daily, m5-tiny)", name)
		}
		if err != nil {
			return err
		}
		ds := benchDataset{Dataset: name, Series: len(data.series), MinDays: len(data.trains[0])}
		for _, y := range data.trains {
			ds.MinDays, ds.MaxDays = min(ds.MinDays, len(y)), max(ds.MaxDays, len(y))
		}
		if data.m4 {
			set, err := benchM4Auto(ctx, data, res.Horizon, res.Workers)
			if err != nil {
				return err
			}
			ds.Sets = append(ds.Sets, set)
		}
		for _, ms := range modelSets {
			set, err := benchTrain(ctx, data, ms, res.Horizon, res.Workers)
			if err != nil {
				return err
			}
			ds.Sets = append(ds.Sets, set)
		}
		for _, s := range ds.Sets {
			fmt.Fprintf(os.Stderr, "bench forecast: %s, %s: %d series in %.2f s (%.0f/s; 100,000 in %.0f s)\n",
				name, s.Models, s.Series, s.Seconds, s.SeriesPerSecond, s.ProjectedSeconds)
		}
		res.Datasets = append(res.Datasets, ds)
	}
	if len(res.Datasets) == 0 {
		return errors.New("no data sets")
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("horizon %d, %d workers; goal: %d series in %d s\n", res.Horizon, res.Workers, benchGoalSeries, benchGoalSeconds)
	for _, ds := range res.Datasets {
		fmt.Printf("\n%s: %d series of %d..%d periods\n", ds.Dataset, ds.Series, ds.MinDays, ds.MaxDays)
		for _, s := range ds.Sets {
			acc := "RMSSE " + fmtPtr(s.RMSSE)
			if s.OWA != nil {
				acc = fmt.Sprintf("sMAPE %s MASE %s OWA %s", fmtPtr(s.SMAPE), fmtPtr(s.MASE), fmtPtr(s.OWA))
			}
			fmt.Printf("  %-8s %8.2f s %8.0f series/s  100k in %6.0f s  %s  coverage_90 %s\n",
				s.Models, s.Seconds, s.SeriesPerSecond, s.ProjectedSeconds, acc, fmtPtr(s.Coverage90))
		}
	}
	return nil
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}

func ptr(v float64) *float64 { return &v }

// newBenchSet fills the timing fields.
func newBenchSet(models string, n int, secs float64, workers int) benchSet {
	s := benchSet{Models: models, Series: n, Seconds: secs, SeriesPerSecond: float64(n) / secs, Workers: workers}
	s.ProjectedSeconds = benchGoalSeries / s.SeriesPerSecond
	return s
}

// benchTrain runs forecast.Train with one model set on data and scores its
// means on the held-out data.
func benchTrain(ctx context.Context, data *benchData, ms forecast.ModelSet, horizon, workers int) (benchSet, error) {
	cfg := forecast.Config{Cutoff: data.cutoff, Horizon: horizon, Models: ms, Workers: workers, MinHistory: 7}
	t0 := time.Now()
	r, err := forecast.Train(ctx, cfg, forecast.Input{Series: data.series})
	if err != nil {
		return benchSet{}, fmt.Errorf("train %s on %s: %w", ms.Name, data.name, err)
	}
	set := newBenchSet(ms.Name, len(data.series), time.Since(t0).Seconds(), workers)
	if len(r.Forecasts) != len(data.series) {
		return set, fmt.Errorf("train %s on %s: %d of %d series forecast", ms.Name, data.name, len(r.Forecasts), len(data.series))
	}
	sum := r.Summary()
	set.DistinctModels = len(sum.Models)
	fcs := make([]benchForecastOf, len(r.Forecasts))
	for i := range r.Forecasts {
		f := &r.Forecasts[i]
		j, err := benchIndex(f.Key)
		if err != nil {
			return set, err
		}
		fc := benchForecastOf{index: j, mean: make([]float64, len(f.Days)), lo: make([]float64, len(f.Days)), hi: make([]float64, len(f.Days))}
		for k, d := range f.Days {
			fc.mean[k], fc.lo[k], fc.hi[k] = d.Mean, d.P05, d.P95
		}
		fcs[i] = fc
	}
	return set, data.score(&set, fcs)
}

// benchForecastOf is the forecast of the series with index index.
type benchForecastOf struct {
	index        int
	mean, lo, hi []float64
	failed       bool
	chosen       string
}

// score sets the accuracy of fcs on the held-out data.
func (d *benchData) score(set *benchSet, fcs []benchForecastOf) error {
	var smape, mase, rmsse, cov float64
	nRMSSE := 0
	for _, f := range fcs {
		test := d.tests[f.index]
		h := min(len(test), len(f.mean))
		c, err := metric.Coverage(test[:h], f.lo[:h], f.hi[:h])
		if err != nil {
			return fmt.Errorf("%s series %d coverage: %w", d.name, f.index, err)
		}
		cov += c
		if f.failed {
			set.Failed++
		}
		if d.m4 {
			v, err := metric.SMAPE(test[:h], f.mean[:h])
			if err != nil {
				return fmt.Errorf("%s series %d smape: %w", d.name, f.index, err)
			}
			smape += v
			if v, err = metric.MASE(d.trains[f.index], test[:h], f.mean[:h], 1); err != nil {
				return fmt.Errorf("%s series %d mase: %w", d.name, f.index, err)
			}
			mase += v
			continue
		}
		v, err := metric.RMSSE(d.trains[f.index], test[:h], f.mean[:h])
		if errors.Is(err, metric.ErrScale) {
			continue // no change in training: RMSSE undefined
		}
		if err != nil {
			return fmt.Errorf("%s series %d rmsse: %w", d.name, f.index, err)
		}
		rmsse += v
		nRMSSE++
	}
	n := float64(len(fcs))
	set.Coverage90 = ptr(cov / n)
	if d.m4 {
		set.SMAPE, set.MASE = ptr(smape/n), ptr(mase/n)
		set.OWA = ptr(metric.OWA(smape/n, mase/n, d.naive2SMAPE, d.naive2MASE))
	} else if nRMSSE > 0 {
		set.RMSSE = ptr(rmsse / float64(nRMSSE))
	}
	return nil
}

// benchKey names series index j of a bench data set.
func benchKey(j int) forecast.Key {
	return forecast.Key{SKU: event.SKU("S" + strconv.Itoa(j)), Warehouse: "BENCH"}
}

func benchIndex(k forecast.Key) (int, error) {
	s, _, _ := strings.Cut(strings.TrimPrefix(string(k.SKU), "S"), "#")
	j, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bench key %s: %w", k, err)
	}
	return j, nil
}

// pipelineSeries wraps values as a pipeline series ending on cutoff.
func pipelineSeries(key forecast.Key, y []float64, cutoff time.Time) forecast.Series {
	return forecast.Series{Key: key, Start: cutoff.AddDate(0, 0, 1-len(y)), Units: y, Censored: make([]bool, len(y))}
}

// benchM4Weekly loads M4 Weekly. Its weeks go through the daily pipeline
// as if they were days: only the throughput on real series of 80..2597
// points means something there; the pipeline's day-of-week candidates do
// not suit weekly data, and the accuracy says so.
func benchM4Weekly(ctx context.Context, dir string) (*benchData, error) {
	root, err := datasetDir(ctx, dir, "m4-weekly")
	if err != nil {
		return nil, err
	}
	m4, err := dataset.LoadM4(root, dataset.Weekly)
	if err != nil {
		return nil, fmt.Errorf("load m4-weekly: %w", err)
	}
	d := &benchData{name: "m4-weekly", m4: true, cutoff: benchSimStart.AddDate(10, 0, 0)}
	var naive2SMAPE, naive2MASE float64
	for j := range m4.Train {
		y, test := m4.Train[j].Values, m4.Test[j].Values
		d.trains = append(d.trains, y)
		d.tests = append(d.tests, test)
		d.series = append(d.series, pipelineSeries(benchKey(j), y, d.cutoff))
		f, err := naive.Naive2{}.Fit(y, dataset.Weekly.Period())
		if err != nil {
			return nil, fmt.Errorf("m4-weekly %s naive2: %w", m4.Train[j].ID, err)
		}
		fc, err := f.Forecast(len(test), nil)
		if err != nil {
			return nil, fmt.Errorf("m4-weekly %s naive2: %w", m4.Train[j].ID, err)
		}
		s, err := metric.SMAPE(test, fc.Mean)
		if err != nil {
			return nil, err
		}
		m, err := metric.MASE(y, test, fc.Mean, dataset.Weekly.Period())
		if err != nil {
			return nil, err
		}
		naive2SMAPE += s
		naive2MASE += m
	}
	n := float64(len(m4.Train))
	d.naive2SMAPE, d.naive2MASE = naive2SMAPE/n, naive2MASE/n
	return d, nil
}

// benchM4Auto runs `auto` of forecast eval on M4 Weekly (the weekly
// candidates of backtest.Defaults, chosen per series by backtest at the
// horizon) with a horizon of 28 weeks, on workers goroutines, and scores
// the first 13 weeks on the official test set.
func benchM4Auto(ctx context.Context, d *benchData, horizon, workers int) (benchSet, error) {
	model := backtest.Auto{Horizon: horizon, Combine: 3}
	levels := mforecast.StandardLevels
	fcs := make([]benchForecastOf, len(d.trains))
	t0 := time.Now()
	err := parallelFor(ctx, len(d.trains), workers, func(j int) {
		fcs[j] = benchFit(model, d.trains[j], horizon, levels)
		fcs[j].index = j
	})
	if err != nil {
		return benchSet{}, fmt.Errorf("bench m4-weekly auto: %w", err)
	}
	set := newBenchSet("auto", len(d.trains), time.Since(t0).Seconds(), workers)
	chosen := map[string]bool{}
	for _, f := range fcs {
		chosen[f.chosen] = true
	}
	set.DistinctModels = len(chosen)
	return set, d.score(&set, fcs)
}

// benchFit fits model to y and forecasts h periods with quantiles; a
// failure falls back to the naive forecast (counted as failed).
func benchFit(model mforecast.Model, y []float64, h int, levels []float64) benchForecastOf {
	var out benchForecastOf
	f, err := model.Fit(y, dataset.Weekly.Period())
	var fc *mforecast.Forecast
	if err == nil {
		fc, err = f.Forecast(h, levels)
	}
	if err == nil {
		if a, ok := f.(*backtest.Fitted); ok {
			out.chosen = a.Chosen()
		}
	} else {
		out.failed = true
		last := y[len(y)-1]
		fc = &mforecast.Forecast{Mean: slices.Repeat([]float64{last}, h)}
		fc.Quantiles = map[float64][]float64{0.05: fc.Mean, 0.95: fc.Mean}
	}
	out.mean, out.lo, out.hi = fc.Mean, fc.Quantiles[0.05], fc.Quantiles[0.95]
	return out
}

// benchSimDaily simulates n two-year daily demand series: the simulator's
// demand model (internal/sim Sim.Demand: heavy-tailed rates, trend, weekly
// and yearly season, noise, about 20% intermittent slow movers) for n/10
// SKUs in 10 warehouses over days + 28 days, seed 1 by default; the last
// 28 days are held out.
func benchSimDaily(n, days int, seed uint64) (*benchData, error) {
	if days == 0 {
		days = 730
	}
	const warehouses = 10
	s, err := sim.New(sim.Config{Seed: seed, SKUs: n / warehouses, Warehouses: warehouses, Days: days + forecast.DefaultHorizon, Start: benchSimStart})
	if err != nil {
		return nil, fmt.Errorf("simulate daily demand: %w", err)
	}
	d := &benchData{name: "sim-daily", cutoff: benchSimStart.AddDate(0, 0, days-1)}
	for j, y := range s.Demand() {
		d.trains = append(d.trains, y[:days])
		d.tests = append(d.tests, y[days:])
		d.series = append(d.series, pipelineSeries(benchKey(j), y[:days], d.cutoff))
	}
	return d, nil
}

// benchM5Tiny turns the tiny M5 series into pipeline series: d_1 is
// 2011-01-29, the last 28 days are held out, training keeps the last days
// of the rest (all when days is 0) from the first sale on, and every
// series is repeated under keys "S<index>#<copy>".
func benchM5Tiny(ctx context.Context, dir string, days, repeat int) (*benchData, error) {
	root, err := datasetDir(ctx, dir, "m5-tiny")
	if err != nil {
		return nil, err
	}
	m5, err := dataset.LoadM5Tiny(root)
	if err != nil {
		return nil, fmt.Errorf("load m5-tiny: %w", err)
	}
	d := &benchData{name: "m5-tiny"}
	for j, s := range m5 {
		n := len(s.Sales) - dataset.M5Horizon
		if n < 1 {
			return nil, fmt.Errorf("m5-tiny series %s: %d days", s.ID, len(s.Sales))
		}
		from := 0
		if days > 0 {
			from = max(0, n-days)
		}
		for from < n-1 && s.Sales[from] == 0 {
			from++
		}
		d.cutoff = m5Day1.AddDate(0, 0, n-1)
		d.tests = append(d.tests, s.Sales[n:])
		d.trains = append(d.trains, s.Sales[from:n])
		for c := range repeat {
			k := benchKey(j)
			k.SKU += event.SKU("#" + strconv.Itoa(c))
			d.series = append(d.series, pipelineSeries(k, s.Sales[from:n], d.cutoff))
		}
	}
	return d, nil
}
