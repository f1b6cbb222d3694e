package forecast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stockflow/stockflow/models/backtest"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/metric"
)

// Defaults of Config.
const (
	DefaultHorizon     = 28
	DefaultMinHistory  = 14
	DefaultCensorAfter = 4 * time.Hour
	// DefaultMinUpliftBaseline is the baseline volume (units) a campaign
	// needs before its realised uplift replaces the announced one.
	DefaultMinUpliftBaseline = 20
	// DefaultMinUpliftCampaigns is the number of estimated campaigns
	// needed before announced uplifts are calibrated.
	DefaultMinUpliftCampaigns = 3
)

// period is the seasonal period of daily demand: the week.
const period = 7

// Levels are the quantile levels of every forecast, in order (as
// forecast.StandardLevels): p05 and p95 bound the 90% interval scored by
// coverage.
var Levels = []float64{0.05, 0.1, 0.5, 0.9, 0.95, 0.99}

// pinballLevels are the levels the pinball loss averages.
var pinballLevels = []float64{0.1, 0.5, 0.9, 0.95, 0.99}

// Config sets up a training run. The zero value of a field means its
// default.
type Config struct {
	// Cutoff is the last day of training data (truncated to its UTC date);
	// required. Series must end on it.
	Cutoff time.Time
	// Horizon is the number of days forecast after the cutoff, and the
	// length of the accuracy hold-out (default 28).
	Horizon int
	// MinHistory is the fewest days of history (first sale through the
	// cutoff) a series needs to be forecast (default 14); shorter ones are
	// skipped.
	MinHistory int
	// Models is the candidate set (default ParseModelSet("default")).
	Models ModelSet
	// Workers bounds the series fitted at once (default GOMAXPROCS).
	Workers int
	// RunID names the run; empty derives it from the cutoff, the settings
	// and the input (RunID).
	RunID string
	// MinUpliftBaseline and MinUpliftCampaigns tune the realised uplift
	// estimate (defaults DefaultMinUpliftBaseline, DefaultMinUpliftCampaigns).
	MinUpliftBaseline  float64
	MinUpliftCampaigns int
	// Progress, if set, is called after each series is fitted with the
	// number done and the total, from one goroutine at a time.
	Progress func(done, total int)
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.Horizon == 0 {
		c.Horizon = DefaultHorizon
	}
	if c.MinHistory == 0 {
		c.MinHistory = DefaultMinHistory
	}
	if c.Models.Candidates == nil {
		m, err := ParseModelSet(SetDefault)
		if err != nil {
			return c, err
		}
		c.Models = m
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.MinUpliftBaseline == 0 {
		c.MinUpliftBaseline = DefaultMinUpliftBaseline
	}
	if c.MinUpliftCampaigns == 0 {
		c.MinUpliftCampaigns = DefaultMinUpliftCampaigns
	}
	c.Cutoff = Date(c.Cutoff)
	return c, c.Validate()
}

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	switch {
	case c.Cutoff.IsZero():
		return errors.New("forecast: no cutoff")
	case c.Horizon < 1 || c.Horizon > math.MaxUint16:
		return fmt.Errorf("forecast: horizon %d must be in 1..65535", c.Horizon)
	case c.MinHistory < period:
		return fmt.Errorf("forecast: min history %d must be at least %d days", c.MinHistory, period)
	case c.Workers < 1:
		return fmt.Errorf("forecast: workers %d must be positive", c.Workers)
	case c.MinUpliftBaseline < 0 || c.MinUpliftCampaigns < 0:
		return errors.New("forecast: uplift minimums must not be negative")
	case c.Models.Origins < 0 || c.Models.Combine < 0:
		return errors.New("forecast: model set origins and combine must not be negative")
	}
	return nil
}

// Input is everything a run reads.
type Input struct {
	// Series are the daily demand series (BuildSeries), each ending on the
	// cutoff; keys must be unique.
	Series    []Series
	Campaigns []Campaign
	Catalog   Catalog
}

// Result is a training run's output.
type Result struct {
	RunID   string
	Cutoff  time.Time
	Horizon int
	// Models is the candidate set's name.
	Models string
	// Forecasts are the forecast series in key order.
	Forecasts []SeriesForecast
	// Skipped counts series shorter than MinHistory.
	Skipped int
	// Uplifts are the campaigns by id, as estimated and applied;
	// Calibration is the factor applied to announced uplifts.
	Uplifts     []Uplift
	Calibration float64
	// Classes, when set by the caller, holds the ABC/XYZ class of each
	// forecast (same order as Forecasts); Record publishes it.
	Classes []string
}

// SeriesForecast is the forecast of one series.
type SeriesForecast struct {
	Key Key
	// Model is the model chosen ("mean(a,b)" for a combination).
	Model string
	// HistoryDays is the length of the series.
	HistoryDays int
	Days        []DayForecast
	Accuracy    Accuracy
}

// DayForecast is the forecast of one day: units demanded, campaign uplift
// included; P05 ≤ P10 ≤ P50 ≤ P90 ≤ P95 ≤ P99, all ≥ 0.
type DayForecast struct {
	Day     time.Time
	Horizon int
	Mean    float64
	P05     float64
	P10     float64
	P50     float64
	P90     float64
	P95     float64
	P99     float64
	// Uplift is the campaign factor − 1 applied to the day.
	Uplift float64
}

// Accuracy is the chosen model's hold-out accuracy (see the package doc).
// Undefined measures are NaN.
type Accuracy struct {
	// EvalDays is the number of scored (uncensored hold-out) days;
	// CensoredDays the number of censored days in the whole history.
	EvalDays, CensoredDays int
	MASE, RMSSE            float64
	WAPE, Bias             float64
	Pinball                float64
	Coverage90             float64
	// BacktestError is the chosen model's mean error in backtest.Auto's
	// rolling origins (NaN when the series was too short for them).
	BacktestError float64
}

// Summary aggregates a result: counts, and the means of the accuracy
// measures over the series where they are defined (nil when none is).
type Summary struct {
	RunID        string         `json:"run_id"`
	Series       int            `json:"series"`
	Skipped      int            `json:"skipped"`
	CensoredDays int            `json:"censored_days"`
	Models       map[string]int `json:"models"`
	MASE         *float64       `json:"mase"`
	RMSSE        *float64       `json:"rmsse"`
	WAPE         *float64       `json:"wape"`
	Coverage90   *float64       `json:"coverage_90"`
}

// Summary returns the run's aggregates.
func (r *Result) Summary() Summary {
	s := Summary{RunID: r.RunID, Series: len(r.Forecasts), Skipped: r.Skipped, Models: map[string]int{}}
	var mase, rmsse, wape, cov meanOf
	for i := range r.Forecasts {
		f := &r.Forecasts[i]
		s.Models[f.Model]++
		s.CensoredDays += f.Accuracy.CensoredDays
		mase.add(f.Accuracy.MASE)
		rmsse.add(f.Accuracy.RMSSE)
		wape.add(f.Accuracy.WAPE)
		cov.add(f.Accuracy.Coverage90)
	}
	s.MASE, s.RMSSE, s.WAPE, s.Coverage90 = mase.get(), rmsse.get(), wape.get(), cov.get()
	return s
}

type meanOf struct {
	sum float64
	n   int
}

func (m *meanOf) add(v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		m.sum += v
		m.n++
	}
}

func (m *meanOf) get() *float64 {
	if m.n == 0 {
		return nil
	}
	v := m.sum / float64(m.n)
	return &v
}

// Train runs the pipeline of the package doc on in: it chooses a model per
// series, forecasts Horizon days after the cutoff with quantiles and
// campaign uplift, and scores each choice on a hold-out. Series are fitted
// by cfg.Workers goroutines; the result does not depend on their number.
func Train(ctx context.Context, cfg Config, in Input) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	series := slices.Clone(in.Series)
	slices.SortFunc(series, func(a, b Series) int { return a.Key.Compare(b.Key) })
	for i := range series {
		s := &series[i]
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("forecast: %w", err)
		}
		if i > 0 && series[i-1].Key == s.Key {
			return nil, fmt.Errorf("forecast: series %s given twice", s.Key)
		}
		if last := s.Day(len(s.Units) - 1); len(s.Units) == 0 || !last.Equal(cfg.Cutoff) {
			return nil, fmt.Errorf("forecast: series %s ends on %s, not on the cutoff %s", s.Key, last.Format(time.DateOnly), cfg.Cutoff.Format(time.DateOnly))
		}
	}
	campaigns := sortCampaigns(in.Campaigns)
	for i := range campaigns {
		if err := campaigns[i].Validate(); err != nil {
			return nil, fmt.Errorf("forecast: %w", err)
		}
	}
	runID := cfg.RunID
	if runID == "" {
		runID = RunID(cfg, Input{Series: series, Campaigns: campaigns, Catalog: in.Catalog})
	}
	res := &Result{RunID: runID, Cutoff: cfg.Cutoff, Horizon: cfg.Horizon, Models: cfg.Models.Name}

	kept := series[:0:0]
	for _, s := range series {
		if len(s.Units) < cfg.MinHistory {
			res.Skipped++
			continue
		}
		kept = append(kept, s)
	}
	series = kept
	targets := targetsOf(series, campaigns, in.Catalog, cfg.Horizon)

	// Phase A: realised uplift of the campaigns in the history.
	obs := make([][]upliftObs, len(series))
	if len(campaigns) > 0 {
		err := parallel(ctx, len(series), cfg.Workers, func(i int) error {
			if len(targets[i]) > 0 {
				s := &series[i]
				obs[i] = observeUplift(s, Impute(s.Units, s.Censored), targets[i], campaigns)
			}
			return nil
		}, nil)
		if err != nil {
			return nil, err
		}
	}
	res.Uplifts, res.Calibration = estimateUplifts(campaigns, obs, cfg.MinUpliftBaseline, cfg.MinUpliftCampaigns)

	// Phase B: clean, choose, forecast, score.
	res.Forecasts = make([]SeriesForecast, len(series))
	var (
		done atomic.Int64
		mu   sync.Mutex
	)
	progress := func() {
		if cfg.Progress == nil {
			return
		}
		d := int(done.Add(1))
		mu.Lock()
		cfg.Progress(d, len(series))
		mu.Unlock()
	}
	t := trainer{cfg: cfg, campaigns: campaigns, uplifts: res.Uplifts}
	err = parallel(ctx, len(series), cfg.Workers, func(i int) error {
		f, err := t.fit(&series[i], targets[i])
		if err != nil {
			return err
		}
		res.Forecasts[i] = f
		return nil
	}, progress)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// parallel calls fn(0..n-1) on up to workers goroutines, then after each
// call done (if set). It stops at the first error or when ctx is done.
func parallel(ctx context.Context, n, workers int, fn func(i int) error, done func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(i); err != nil {
					cancel(err)
					continue
				}
				if done != nil {
					done()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	return nil
}

// trainer fits single series; it is shared by the workers and read-only.
type trainer struct {
	cfg       Config
	campaigns []Campaign
	uplifts   []Uplift
}

// minBacktestTrain is the shortest training prefix a backtest origin may
// leave: four weeks, what the window means and the day-of-week profile
// need, so that a series of two months already gets an origin (Auto's
// default, twice the horizon, would need three).
const minBacktestTrain = 4 * period

// fallbackName names the model used when no candidate fits a series.
const fallbackName = "mean-all"

func (t *trainer) fit(s *Series, targets []int) (SeriesForecast, error) {
	n, h := len(s.Units), t.cfg.Horizon
	// Clean: campaign days back to the baseline, then censored days
	// imputed on that scale.
	hist := factors(s.Start, 0, n, targets, t.campaigns, t.uplifts)
	base := slices.Clone(s.Units)
	for i, f := range hist {
		if f > 0 && f != 1 {
			base[i] /= f
		}
	}
	y := Impute(base, s.Censored)

	cands := t.cfg.Models.Candidates(y)
	auto := backtest.Auto{
		Candidates: cands,
		Horizon:    h,
		Origins:    t.cfg.Models.Origins,
		Combine:    t.cfg.Models.Combine,
		Metric:     backtest.ScaledRMSE,
		MinTrain:   minBacktestTrain,
	}
	out := SeriesForecast{Key: s.Key, HistoryDays: n, Accuracy: Accuracy{
		CensoredDays: s.CensoredDays(), BacktestError: nan(),
		MASE: nan(), RMSSE: nan(), WAPE: nan(), Bias: nan(), Pinball: nan(), Coverage90: nan(),
	}}
	var (
		fitted forecast.Fitted
		chosen forecast.Model
	)
	if a, err := auto.FitAuto(y, period); err == nil {
		fitted, out.Model = a, a.Chosen()
		for _, sc := range a.Scores {
			if sc.Model == out.Model {
				out.Accuracy.BacktestError = sc.Error
				break
			}
		}
		chosen, _ = resolve(out.Model, cands)
	} else {
		fb := backtest.WindowMean{N: n}
		f, ferr := fb.Fit(y, period)
		if ferr != nil {
			return out, fmt.Errorf("series %s: %w", s.Key, errors.Join(err, ferr))
		}
		fitted, out.Model, chosen = f, fallbackName, fb
	}
	fc, err := fitted.Forecast(h, Levels)
	if err != nil {
		return out, fmt.Errorf("series %s: forecast %s: %w", s.Key, out.Model, err)
	}
	future := factors(s.Start, n, n+h, targets, t.campaigns, t.uplifts)
	out.Days = make([]DayForecast, h)
	for k := range h {
		out.Days[k] = dayForecast(fc, k, future[k])
		out.Days[k].Day = s.Day(n + k)
		out.Days[k].Horizon = k + 1
	}
	if chosen != nil {
		t.score(&out.Accuracy, s, y, hist, chosen)
	}
	return out, nil
}

// minScoreTrain is the fewest training days the hold-out fit may have.
const minScoreTrain = 2 * period

// score fills acc from the chosen model refitted without the last Horizon
// days of the cleaned series y and forecast over them, uplifted by hist,
// against the observed units of the uncensored days.
func (t *trainer) score(acc *Accuracy, s *Series, y, hist []float64, model forecast.Model) {
	n, h := len(y), t.cfg.Horizon
	if n-h < minScoreTrain {
		return
	}
	train := y[:n-h]
	f, err := model.Fit(train, period)
	if err != nil {
		return
	}
	fc, err := f.Forecast(h, Levels)
	if err != nil {
		return
	}
	var actual []float64
	qs := make(map[float64][]float64, len(Levels))
	var mean []float64
	for k := range h {
		if s.Censored[n-h+k] {
			continue
		}
		d := dayForecast(fc, k, hist[n-h+k])
		actual = append(actual, s.Units[n-h+k])
		mean = append(mean, d.Mean)
		for _, l := range Levels {
			qs[l] = append(qs[l], d.quantile(l))
		}
	}
	acc.EvalDays = len(actual)
	if len(actual) == 0 {
		return
	}
	acc.MASE = orNaN(metric.MASE(train, actual, mean, 1))
	acc.RMSSE = orNaN(metric.RMSSE(train, actual, mean))
	acc.WAPE = orNaN(metric.WAPE(actual, mean))
	acc.Bias = orNaN(metric.Bias(actual, mean))
	acc.Coverage90 = orNaN(metric.Coverage(actual, qs[0.05], qs[0.95]))
	var pin float64
	for _, l := range pinballLevels {
		v, err := metric.ScaledPinball(train, actual, qs[l], l)
		if err != nil {
			pin = math.NaN()
			break
		}
		pin += v / float64(len(pinballLevels))
	}
	acc.Pinball = pin
}

func nan() float64 { return math.NaN() }

func orNaN(v float64, err error) float64 {
	if err != nil {
		return math.NaN()
	}
	return v
}

// dayForecast reads step k of fc: values floored at zero (demand is never
// negative), non-finite ones replaced by the mean (or zero), quantiles
// sorted so that they are ordered, all multiplied by the campaign factor
// and rounded to 4 decimals.
func dayForecast(fc *forecast.Forecast, k int, factor float64) DayForecast {
	clean := func(v, fallback float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = fallback
		}
		return max(v, 0)
	}
	mean := clean(fc.Mean[k], 0)
	q := make([]float64, len(Levels))
	for i, l := range Levels {
		q[i] = clean(fc.Quantiles[l][k], mean)
	}
	slices.Sort(q)
	r := func(v float64) float64 { return math.Round(v*factor*1e4) / 1e4 }
	return DayForecast{
		Mean: r(mean), P05: r(q[0]), P10: r(q[1]), P50: r(q[2]), P90: r(q[3]), P95: r(q[4]), P99: r(q[5]),
		Uplift: math.Round((factor-1)*1e6) / 1e6,
	}
}

// quantile returns the value of level l (one of Levels).
func (d *DayForecast) quantile(l float64) float64 {
	switch l {
	case 0.05:
		return d.P05
	case 0.1:
		return d.P10
	case 0.5:
		return d.P50
	case 0.9:
		return d.P90
	case 0.95:
		return d.P95
	case 0.99:
		return d.P99
	}
	return math.NaN()
}
