package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/stockflow/stockflow/internal/dataset"
	"github.com/stockflow/stockflow/models/backtest"
	"github.com/stockflow/stockflow/models/ensemble"
	"github.com/stockflow/stockflow/models/ets"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/intermittent"
	"github.com/stockflow/stockflow/models/metric"
	"github.com/stockflow/stockflow/models/naive"
	"github.com/stockflow/stockflow/models/theta"
)

const forecastUsage = `usage: stockflow forecast eval --dataset m4-weekly|m4-hourly|m5-tiny [--json] [--dataset-dir DIR] [--methods a,b,...] [--limit N]
       stockflow forecast train [--data DIR | --clickhouse DSN] [--brokers LIST] [--json] [--cutoff YYYY-MM-DD] [--horizon 28]
                                [--min-history 14] [--models default|fast|full|a,b,...] [--censor-hours 4] [--run-id ID] [--no-publish]`

// evalMethods are the methods forecast eval knows, in report order.
var evalMethods = []string{"naive2", "snaive", "ses", "holt", "damped", "theta", "com", "ets", "croston", "tsb", "auto"}

func cmdForecast(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "train" {
		return forecastTrain(ctx, args[1:], os.Stdout)
	}
	if len(args) == 0 || args[0] != "eval" {
		fmt.Fprintln(os.Stderr, forecastUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("forecast eval", flag.ContinueOnError)
	name := fs.String("dataset", "", "m4-weekly, m4-hourly or m5-tiny")
	dir := fs.String("dataset-dir", "", "data directory (default $"+dataset.EnvDir+", else "+dataset.DefaultRel+" beside the repository, else downloaded into the cache)")
	jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
	methods := fs.String("methods", strings.Join(evalMethods, ","), "comma-separated methods: "+strings.Join(evalMethods, ", ")+", croston-opt")
	limit := fs.Int("limit", 0, "evaluate only the first N series (0: all)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *limit < 0 {
		return fmt.Errorf("--limit %d must not be negative", *limit)
	}
	if _, err := dataset.Files(*name); err != nil || *name == "m4-reference" {
		fmt.Fprintln(os.Stderr, forecastUsage)
		return fmt.Errorf("unknown dataset %q (have: m4-weekly, m4-hourly, m5-tiny)", *name)
	}
	root, err := datasetDir(ctx, *dir, *name)
	if err != nil {
		return err
	}
	task, err := loadEvalTask(root, *name, *limit)
	if err != nil {
		return err
	}
	names := splitMethods(*methods)
	for _, n := range names {
		if _, err := task.model(n); err != nil {
			return err
		}
	}
	rep, err := task.run(ctx, names)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	printEvalReport(rep)
	return nil
}

// evalTask is one data set split into training series and held-out actuals.
type evalTask struct {
	name    string
	m4      bool
	period  int // seasonal period the models and MASE use
	horizon int
	train   [][]float64
	test    [][]float64
}

func loadEvalTask(dir, name string, limit int) (*evalTask, error) {
	t := &evalTask{name: name}
	switch name {
	case "m4-weekly", "m4-hourly":
		freq := dataset.Weekly
		if name == "m4-hourly" {
			freq = dataset.Hourly
		}
		d, err := dataset.LoadM4(dir, freq)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		t.m4, t.period, t.horizon = true, freq.Period(), freq.Horizon()
		for i := range d.Train {
			t.train = append(t.train, d.Train[i].Values)
			t.test = append(t.test, d.Test[i].Values)
		}
	case "m5-tiny":
		d, err := dataset.LoadM5Tiny(dir)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		t.period, t.horizon = 7, dataset.M5Horizon
		for _, s := range d {
			n := len(s.Sales) - dataset.M5Horizon
			if n < 1 {
				return nil, fmt.Errorf("m5-tiny series %s: %d days, need more than %d", s.ID, len(s.Sales), dataset.M5Horizon)
			}
			t.train = append(t.train, s.Sales[:n])
			t.test = append(t.test, s.Sales[n:])
		}
	default:
		fmt.Fprintln(os.Stderr, forecastUsage)
		return nil, fmt.Errorf("unknown dataset %q (have: m4-weekly, m4-hourly, m5-tiny)", name)
	}
	if limit > 0 && limit < len(t.train) {
		t.train, t.test = t.train[:limit], t.test[:limit]
	}
	return t, nil
}

// model builds a method by name. On M4 the exponential smoothing benchmarks
// run on the seasonally adjusted series as the organisers ran them.
func (t *evalTask) model(name string) (forecast.Model, error) {
	adj := func(m forecast.Model) forecast.Model {
		if !t.m4 {
			return m
		}
		return naive.Adjusted{Model: m, Label: m.Name()}
	}
	switch name {
	case "naive2":
		return naive.Naive2{}, nil
	case "snaive":
		return naive.Seasonal{}, nil
	case "ses":
		return adj(ets.SES()), nil
	case "holt":
		return adj(ets.Holt()), nil
	case "damped":
		return adj(ets.Damped()), nil
	case "theta":
		return theta.Standard{}, nil
	case "com":
		return ensemble.Combination{Label: "com", Members: []forecast.Model{adj(ets.SES()), adj(ets.Holt()), adj(ets.Damped())}}, nil
	case "ets":
		return ets.Auto(), nil
	case "croston":
		return intermittent.Croston(), nil
	case "tsb":
		return intermittent.TSB(0.1, 0.1), nil
	case "croston-opt":
		// Not in the default list: statsforecast's CrostonOptimized
		// counterpart, for models/compare/statsforecast_compare.py.
		return intermittent.CrostonOptimized(), nil
	case "auto":
		// Three origins are enough on M4 (six scored the same on
		// weekly at twice the time); tiny M5's daily noise needs ten, and
		// its RMSSE is a squared error.
		a := backtest.Auto{Horizon: t.horizon, Combine: 3}
		if !t.m4 {
			a.Metric = backtest.ScaledRMSE
			a.Origins = 10
		}
		return a, nil
	}
	return nil, fmt.Errorf("unknown method %q (have: %s, croston-opt)", name, strings.Join(evalMethods, ", "))
}

// evalMethod is one method's line of the report. Measures that do not apply
// to the data set are null.
type evalMethod struct {
	Method     string   `json:"method"`
	SMAPE      *float64 `json:"smape"`
	MASE       *float64 `json:"mase"`
	OWA        *float64 `json:"owa"`
	RMSSE      *float64 `json:"rmsse"`
	Coverage90 float64  `json:"coverage_90"`
	// FitSeconds is the wall time of fitting and forecasting every series
	// across all cores.
	FitSeconds float64 `json:"fit_seconds"`
	// Failed counts series the method could not fit; they are scored with
	// the naive forecast.
	Failed int `json:"failed"`
	// Chosen counts, for auto, how often each model was chosen.
	Chosen map[string]int `json:"chosen,omitempty"`
}

type evalReport struct {
	Dataset string       `json:"dataset"`
	Series  int          `json:"series"`
	Workers int          `json:"workers"`
	Methods []evalMethod `json:"methods"`
}

// seriesResult is one method's forecast of one series.
type seriesResult struct {
	mean, lo, hi []float64
	failed       bool
	chosen       string
}

func (t *evalTask) run(ctx context.Context, names []string) (*evalReport, error) {
	workers := runtime.NumCPU()
	rep := &evalReport{Dataset: t.name, Series: len(t.train), Workers: workers}
	var naive2 *evalMethod
	if t.m4 {
		// OWA is relative to Naive2 from this same run.
		r, err := t.runMethod(ctx, "naive2", workers)
		if err != nil {
			return nil, err
		}
		naive2 = &r
	}
	for _, n := range names {
		var r evalMethod
		if n == "naive2" && naive2 != nil {
			r = *naive2
		} else {
			var err error
			if r, err = t.runMethod(ctx, n, workers); err != nil {
				return nil, err
			}
		}
		if naive2 != nil {
			owa := metric.OWA(*r.SMAPE, *r.MASE, *naive2.SMAPE, *naive2.MASE)
			r.OWA = &owa
		}
		rep.Methods = append(rep.Methods, r)
	}
	return rep, nil
}

func (t *evalTask) runMethod(ctx context.Context, name string, workers int) (evalMethod, error) {
	model, err := t.model(name)
	if err != nil {
		return evalMethod{}, err
	}
	res := make([]seriesResult, len(t.train))
	start := time.Now()
	if err := parallelFor(ctx, len(t.train), workers, func(i int) { res[i] = t.forecastOne(model, i) }); err != nil {
		return evalMethod{}, fmt.Errorf("evaluate %s: %w", name, err)
	}
	r := evalMethod{Method: name, FitSeconds: time.Since(start).Seconds()}
	return r, t.score(&r, res)
}

var coverageLevels = []float64{0.05, 0.95}

// forecastOne fits one series; a failure falls back to the naive forecast
// so that every method is scored on every series.
func (t *evalTask) forecastOne(model forecast.Model, i int) seriesResult {
	y := t.train[i]
	r := seriesResult{}
	f, err := model.Fit(y, t.period)
	var fc *forecast.Forecast
	if err == nil {
		fc, err = f.Forecast(t.horizon, coverageLevels)
	}
	if err != nil {
		r.failed = true
		f, err = naive.Naive{}.Fit(y, 1)
		if err == nil {
			fc, err = f.Forecast(t.horizon, coverageLevels)
		}
		if err != nil {
			last := y[len(y)-1]
			fc = &forecast.Forecast{Mean: make([]float64, t.horizon)}
			for k := range fc.Mean {
				fc.Mean[k] = last
			}
			fc.Quantiles = map[float64][]float64{0.05: fc.Mean, 0.95: fc.Mean}
		}
	}
	if a, ok := f.(*backtest.Fitted); ok && !r.failed {
		r.chosen = a.Chosen()
	}
	r.mean = fc.Mean
	r.lo = fc.Quantiles[0.05]
	r.hi = fc.Quantiles[0.95]
	return r
}

func (t *evalTask) score(r *evalMethod, res []seriesResult) error {
	var smape, mase, rmsse, cov float64
	var nRMSSE int
	for i, s := range res {
		if s.failed {
			r.Failed++
		}
		if s.chosen != "" {
			if r.Chosen == nil {
				r.Chosen = map[string]int{}
			}
			r.Chosen[s.chosen]++
		}
		c, err := metric.Coverage(t.test[i], s.lo, s.hi)
		if err != nil {
			return fmt.Errorf("%s series %d coverage: %w", r.Method, i, err)
		}
		cov += c
		if t.m4 {
			v, err := metric.SMAPE(t.test[i], s.mean)
			if err != nil {
				return fmt.Errorf("%s series %d smape: %w", r.Method, i, err)
			}
			smape += v
			if v, err = metric.MASE(t.train[i], t.test[i], s.mean, t.period); err != nil {
				return fmt.Errorf("%s series %d mase: %w", r.Method, i, err)
			}
			mase += v
			continue
		}
		v, err := metric.RMSSE(t.train[i], t.test[i], s.mean)
		if errors.Is(err, metric.ErrScale) {
			continue // no demand change in training: RMSSE undefined
		}
		if err != nil {
			return fmt.Errorf("%s series %d rmsse: %w", r.Method, i, err)
		}
		rmsse += v
		nRMSSE++
	}
	n := float64(len(res))
	r.Coverage90 = cov / n
	if t.m4 {
		smape, mase = smape/n, mase/n
		r.SMAPE, r.MASE = &smape, &mase
	} else if nRMSSE > 0 {
		rmsse /= float64(nRMSSE)
		r.RMSSE = &rmsse
	}
	return nil
}

func splitMethods(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func printEvalReport(rep *evalReport) {
	fmt.Printf("dataset %s: %d series, %d workers\n\n", rep.Dataset, rep.Series, rep.Workers)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(w, "method\tsMAPE\tMASE\tOWA\tRMSSE\tcoverage 90%\tfit s\tfailed\t")
	num := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	for _, m := range rep.Methods {
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%.3f\t%.2f\t%d\t\n",
			m.Method, num(m.SMAPE), num(m.MASE), num(m.OWA), num(m.RMSSE), m.Coverage90, m.FitSeconds, m.Failed)
	}
	_ = w.Flush()
	for _, m := range rep.Methods {
		if len(m.Chosen) == 0 {
			continue
		}
		names := slices.Collect(maps.Keys(m.Chosen))
		slices.SortFunc(names, func(a, b string) int {
			if c := cmp.Compare(m.Chosen[b], m.Chosen[a]); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		const top = 12
		fmt.Printf("\n%s chose (%d distinct, most frequent first):", m.Method, len(names))
		for i, n := range names[:min(top, len(names))] {
			if i > 0 {
				fmt.Print(",")
			}
			fmt.Printf(" %s %d", n, m.Chosen[n])
		}
		if len(names) > top {
			fmt.Print(", ...")
		}
		fmt.Println()
	}
}

// datasetDir finds the data set name (dataset.Files): in --dataset-dir,
// else $STOCKFLOW_DATASET_DIR, then in ../shared/data beside the
// repository, then in the download cache ($STOCKFLOW_CACHE or the user
// cache directory, /stockflow/datasets), downloading the originals into
// the cache when no directory has them.
func datasetDir(ctx context.Context, explicit, name string) (string, error) {
	var dirs []string
	switch {
	case explicit != "":
		dirs = append(dirs, explicit)
	case os.Getenv(dataset.EnvDir) != "":
		dirs = append(dirs, os.Getenv(dataset.EnvDir))
	}
	if wd, err := os.Getwd(); err == nil {
		if root, err := dataset.RepoRoot(wd); err == nil {
			dirs = append(dirs, filepath.Join(root, dataset.DefaultRel))
		}
	}
	cache, err := datasetCache()
	if err != nil {
		return "", err
	}
	d := &dataset.Downloader{Dir: cache, Log: newLogger("info")}
	// Locate's errors name the data set's file and where it was looked
	// for or downloaded from.
	return dataset.Locate(ctx, name, dirs, d)
}

// datasetCache is where downloaded data sets are kept.
func datasetCache() (string, error) {
	root := os.Getenv("STOCKFLOW_CACHE")
	if root == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("data set cache: %w", err)
		}
		root = filepath.Join(c, "stockflow")
	}
	return filepath.Join(root, "datasets"), nil
}

// parallelFor calls fn(i) for every i in [0, n) on workers goroutines and
// returns ctx's error if it ends first (the indexes handed out so far
// still finish).
func parallelFor(ctx context.Context, n, workers int, fn func(i int)) error {
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	var cancelled error
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			cancelled = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	return cancelled
}
