package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/pipelines/forecast"
	"github.com/stockflow/stockflow/pipelines/replenish"
	sqlfs "github.com/stockflow/stockflow/sql"
)

// The store side of `stockflow forecast train` lives here, in the wiring:
// pipelines do not import the store (DESIGN.md §2, .golangci.yml), and
// consumers/ holds Kafka-to-ClickHouse sinks, which this is not. It reads
// the training input with the named queries of sql/queries/forecast_*.sql,
// runs pipelines/forecast.Train, and writes the tables of
// sql/migrations/0003_forecasts.sql.

// trainOptions are the settings of one training run.
type trainOptions struct {
	// cutoff is the last training day; zero means the last complete UTC
	// day of the sales (the day before the latest sale's).
	cutoff      time.Time
	horizon     int
	minHistory  int
	models      forecast.ModelSet
	censorAfter time.Duration // negative: no censoring
	runID       string
	workers     int
	// catalogDir, if set, is an embedded data dir whose simulation.json
	// supplies the SKU categories category campaigns target.
	catalogDir string
	// progress receives a progress bar; nil for none.
	progress io.Writer
	// onProgress, if set, is called with the series done and the total as
	// they are fitted (run shows them in its status line).
	onProgress func(done, total int)
}

// trainReport is what `forecast train` prints.
type trainReport struct {
	forecast.Summary
	Cutoff     string  `json:"cutoff"`
	Candidates string  `json:"candidates"`
	Published  int     `json:"published"`
	Seconds    float64 `json:"seconds"`
}

// Rows per insert: forecastChunk series (times the horizon for forecasts).
const forecastChunk = 2000

// keyDaysPerBucket sizes the hash buckets the demand is read in, so that a
// query result stays a few hundred MB at most.
const keyDaysPerBucket = 2_000_000

// trainForecasts runs one training run against st and, when cl is not
// nil, publishes its records to stockflow.forecasts.v1 with it.
func trainForecasts(ctx context.Context, st store.Store, cl *kgo.Client, opts trainOptions, log *slog.Logger) (trainReport, error) {
	started := time.Now().UTC()
	in, cutoff, err := loadTrainingInput(ctx, st, opts, log)
	if err != nil {
		return trainReport{}, err
	}
	cfg := forecast.Config{
		Cutoff: cutoff, Horizon: opts.horizon, MinHistory: opts.minHistory, Models: opts.models,
		Workers: opts.workers, RunID: opts.runID,
	}
	var bar *progressBar
	if opts.progress != nil {
		bar = &progressBar{w: opts.progress, label: "forecast train"}
	}
	if bar != nil || opts.onProgress != nil {
		cfg.Progress = func(done, total int) {
			if bar != nil {
				bar.update(done, total)
			}
			if opts.onProgress != nil {
				opts.onProgress(done, total)
			}
		}
	}
	res, err := forecast.Train(ctx, cfg, in)
	bar.finish()
	if err != nil {
		return trainReport{}, err
	}
	log.Info("forecast trained", "run_id", res.RunID, "series", len(res.Forecasts), "skipped", res.Skipped, "seconds", time.Since(started).Seconds())
	if res.Classes, err = classify(ctx, st, in, res); err != nil {
		return trainReport{}, err
	}
	if err := writeForecasts(ctx, st, res, started); err != nil {
		return trainReport{}, err
	}
	published := 0
	if cl != nil {
		if err := forecast.Publish(ctx, cl, kafka.TopicForecasts, res); err != nil {
			return trainReport{}, err
		}
		published = len(res.Forecasts)
	}
	rep := trainReport{
		Summary: res.Summary(), Cutoff: res.Cutoff.Format(time.DateOnly), Candidates: res.Models,
		Published: published, Seconds: time.Since(started).Seconds(),
	}
	if err := recordRun(ctx, st, res, rep, opts, started); err != nil {
		return trainReport{}, err
	}
	return rep, nil
}

// loadTrainingInput reads the daily demand, the censored days, the
// campaigns and the catalogue up to the cutoff, and returns them with the
// cutoff.
func loadTrainingInput(ctx context.Context, st store.Store, opts trainOptions, log *slog.Logger) (forecast.Input, time.Time, error) {
	var in forecast.Input
	res, err := st.Query(ctx, sqlfs.MustQuery(sqlfs.ForecastExtent))
	if err != nil {
		return in, time.Time{}, fmt.Errorf("forecast input extent: %w", err)
	}
	n, err := res.Uint64(0, 0)
	if err != nil {
		return in, time.Time{}, fmt.Errorf("forecast input extent: %w", err)
	}
	if n == 0 {
		return in, time.Time{}, errors.New("no sales in the store: nothing to train on")
	}
	lastDay, err := res.Time(0, 1)
	if err != nil {
		return in, time.Time{}, fmt.Errorf("forecast input extent: %w", err)
	}
	keyDays, err := res.Uint64(0, 3)
	if err != nil {
		return in, time.Time{}, fmt.Errorf("forecast input extent: %w", err)
	}
	cutoff := forecast.Date(opts.cutoff)
	if opts.cutoff.IsZero() {
		cutoff = forecast.Date(lastDay).AddDate(0, 0, -1)
	}
	buckets := max(1, (keyDays+keyDaysPerBucket-1)/keyDaysPerBucket)
	minSeconds := int64(math.MaxInt64)
	if opts.censorAfter >= 0 {
		minSeconds = max(1, int64(opts.censorAfter/time.Second))
	}
	cutoffParam := store.Param{Name: "cutoff", Value: cutoff.Format(time.DateOnly)}
	for b := range buckets {
		params := []store.Param{cutoffParam,
			{Name: "buckets", Value: strconv.FormatUint(buckets, 10)},
			{Name: "bucket", Value: strconv.FormatUint(b, 10)},
		}
		sales, err := readDailyUnits(ctx, st, params)
		if err != nil {
			return in, cutoff, err
		}
		var outs []forecast.StockoutDay
		if opts.censorAfter >= 0 {
			outs, err = readStockouts(ctx, st, append(params, store.Param{Name: "min_seconds", Value: strconv.FormatInt(minSeconds, 10)}))
			if err != nil {
				return in, cutoff, err
			}
		}
		in.Series = append(in.Series, forecast.BuildSeries(sales, outs, cutoff, opts.censorAfter)...)
	}
	if in.Campaigns, err = readCampaigns(ctx, st); err != nil {
		return in, cutoff, err
	}
	if in.Catalog.Regions, err = readRegions(ctx, st); err != nil {
		return in, cutoff, err
	}
	if opts.catalogDir != "" {
		cats, err := simCategories(opts.catalogDir)
		if err != nil {
			log.Warn("simulated SKU catalogue unreadable; category campaigns will miss their SKUs", "err", err)
		}
		in.Catalog.Categories = cats
	}
	if len(in.Catalog.Categories) == 0 && slices.ContainsFunc(in.Campaigns, func(c forecast.Campaign) bool { return c.Category != "" }) {
		log.Warn("no SKU catalogue: campaigns that target a category apply only to the SKUs they list")
	}
	return in, cutoff, nil
}

func readDailyUnits(ctx context.Context, st store.Store, params []store.Param) ([]forecast.DailyUnits, error) {
	res, err := st.Query(ctx, sqlfs.MustQuery(sqlfs.ForecastDemand), params...)
	if err != nil {
		return nil, fmt.Errorf("read daily demand: %w", err)
	}
	out := make([]forecast.DailyUnits, len(res.Rows))
	for i := range res.Rows {
		k, err := readKey(res, i)
		if err != nil {
			return nil, fmt.Errorf("read daily demand: %w", err)
		}
		day, err := res.Time(i, 2)
		if err != nil {
			return nil, fmt.Errorf("read daily demand: %w", err)
		}
		units, err := res.Int64(i, 3)
		if err != nil {
			return nil, fmt.Errorf("read daily demand: %w", err)
		}
		out[i] = forecast.DailyUnits{Key: k, Day: day, Units: float64(units)}
	}
	return out, nil
}

func readStockouts(ctx context.Context, st store.Store, params []store.Param) ([]forecast.StockoutDay, error) {
	res, err := st.Query(ctx, sqlfs.MustQuery(sqlfs.ForecastStockouts), params...)
	if err != nil {
		if code, ok := store.ExceptionCode(err); ok && code == 60 { // UNKNOWN_TABLE
			return nil, fmt.Errorf("read stockout days: demand_windows is missing (migration 0002_windows.sql not applied?): %w", err)
		}
		return nil, fmt.Errorf("read stockout days: %w", err)
	}
	out := make([]forecast.StockoutDay, len(res.Rows))
	for i := range res.Rows {
		k, err := readKey(res, i)
		if err != nil {
			return nil, fmt.Errorf("read stockout days: %w", err)
		}
		day, err := res.Time(i, 2)
		if err != nil {
			return nil, fmt.Errorf("read stockout days: %w", err)
		}
		secs, err := res.Int64(i, 3)
		if err != nil {
			return nil, fmt.Errorf("read stockout days: %w", err)
		}
		out[i] = forecast.StockoutDay{Key: k, Day: day, Seconds: secs}
	}
	return out, nil
}

func readKey(res *store.Result, i int) (forecast.Key, error) {
	sku, err := res.String(i, 0)
	if err != nil {
		return forecast.Key{}, err
	}
	wh, err := res.String(i, 1)
	if err != nil {
		return forecast.Key{}, err
	}
	return forecast.Key{SKU: event.SKU(sku), Warehouse: event.WarehouseID(wh)}, nil
}

func readCampaigns(ctx context.Context, st store.Store) ([]forecast.Campaign, error) {
	res, err := st.Query(ctx, sqlfs.MustQuery(sqlfs.ForecastCampaigns))
	if err != nil {
		return nil, fmt.Errorf("read campaigns: %w", err)
	}
	out := make([]forecast.Campaign, 0, len(res.Rows))
	for i, row := range res.Rows {
		var (
			c    forecast.Campaign
			errs []error
			add  = func(err error) {
				if err != nil {
					errs = append(errs, err)
				}
			}
		)
		var err error
		c.ID, err = res.String(i, 0)
		add(err)
		skus, err := store.AsStrings(row[1])
		add(err)
		c.Category, err = res.String(i, 2)
		add(err)
		c.Regions, err = store.AsStrings(row[3])
		add(err)
		whs, err := store.AsStrings(row[4])
		add(err)
		c.Start, err = res.Time(i, 5)
		add(err)
		c.End, err = res.Time(i, 6)
		add(err)
		c.ExpectedUplift, err = res.Float64(i, 7)
		add(err)
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("read campaigns: %w", err)
		}
		for _, s := range skus {
			c.SKUs = append(c.SKUs, event.SKU(s))
		}
		for _, w := range whs {
			c.Warehouses = append(c.Warehouses, event.WarehouseID(w))
		}
		if c.Validate() != nil {
			continue // the decoder rejects such campaigns; never stop training for one
		}
		out = append(out, c)
	}
	return out, nil
}

func readRegions(ctx context.Context, st store.Store) (map[event.WarehouseID]string, error) {
	res, err := st.Query(ctx, "SELECT id, region FROM warehouses FINAL")
	if err != nil {
		return nil, fmt.Errorf("read warehouse regions: %w", err)
	}
	out := make(map[event.WarehouseID]string, len(res.Rows))
	for i := range res.Rows {
		id, err := res.String(i, 0)
		if err != nil {
			return nil, fmt.Errorf("read warehouse regions: %w", err)
		}
		region, err := res.String(i, 1)
		if err != nil {
			return nil, fmt.Errorf("read warehouse regions: %w", err)
		}
		out[event.WarehouseID(id)] = region
	}
	return out, nil
}

// simCategories returns the SKU categories of the simulated catalogue of
// an embedded data dir (from its simulation.json), or nil when the dir has
// none. There is no SKU catalogue table yet; until there is, this is where
// category campaigns learn which SKUs they target.
func simCategories(dataDir string) (map[event.SKU]string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "simulation.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read simulated catalogue: %w", err)
	}
	var st struct {
		Seed       uint64    `json:"seed"`
		SKUs       int       `json:"skus"`
		Warehouses int       `json:"warehouses"`
		Days       int       `json:"days"`
		Start      time.Time `json:"start"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read simulated catalogue: %w", err)
	}
	s, err := sim.New(sim.Config{Seed: st.Seed, SKUs: st.SKUs, Warehouses: st.Warehouses, Days: st.Days, Start: st.Start})
	if err != nil {
		return nil, fmt.Errorf("simulated catalogue: %w", err)
	}
	out := map[event.SKU]string{}
	for _, it := range s.Items() {
		out[it.SKU] = it.Category
	}
	return out, nil
}

// writeForecasts inserts the forecasts and the accuracy of res, in chunks
// of forecastChunk series whose deduplication tokens name the run and the
// chunk: repeating a run (same run id, same series in the same order)
// inserts nothing new.
func writeForecasts(ctx context.Context, st store.Store, res *forecast.Result, created time.Time) error {
	fcCols := []string{"run_id", "created_at", "cutoff", "sku", "warehouse", "model", "day", "horizon",
		"mean", "p05", "p10", "p50", "p90", "p95", "p99", "uplift"}
	accCols := []string{"run_id", "created_at", "cutoff", "sku", "warehouse", "model", "history_days", "eval_days",
		"n_censored_days", "mase", "rmsse", "wape", "bias", "pinball", "coverage_90", "backtest_error"}
	for from := 0; from < len(res.Forecasts); from += forecastChunk {
		part := res.Forecasts[from:min(from+forecastChunk, len(res.Forecasts))]
		chunk := from / forecastChunk
		fc := &store.Batch{Table: "forecasts", Columns: fcCols, DedupToken: fmt.Sprintf("%s/forecasts/%d/%d", res.RunID, forecastChunk, chunk)}
		acc := &store.Batch{Table: "forecast_accuracy", Columns: accCols, DedupToken: fmt.Sprintf("%s/accuracy/%d/%d", res.RunID, forecastChunk, chunk)}
		for i := range part {
			f := &part[i]
			for _, d := range f.Days {
				fc.Rows = append(fc.Rows, []any{res.RunID, created, res.Cutoff, string(f.Key.SKU), string(f.Key.Warehouse), f.Model,
					d.Day, uint16(d.Horizon), d.Mean, d.P05, d.P10, d.P50, d.P90, d.P95, d.P99, d.Uplift})
			}
			a := &f.Accuracy
			acc.Rows = append(acc.Rows, []any{res.RunID, created, res.Cutoff, string(f.Key.SKU), string(f.Key.Warehouse), f.Model,
				uint32(f.HistoryDays), uint16(a.EvalDays), uint32(a.CensoredDays),
				nullable(a.MASE), nullable(a.RMSSE), nullable(a.WAPE), nullable(a.Bias), nullable(a.Pinball), nullable(a.Coverage90), nullable(a.BacktestError)})
		}
		if err := st.Insert(ctx, fc); err != nil {
			return fmt.Errorf("insert forecasts: %w", err)
		}
		if err := st.Insert(ctx, acc); err != nil {
			return fmt.Errorf("insert forecast accuracy: %w", err)
		}
	}
	return nil
}

// nullable is v, or nil (NULL) when it is NaN or infinite.
func nullable(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func ptrNullable(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// recordRun writes the run's forecast_runs row, which marks it complete.
func recordRun(ctx context.Context, st store.Store, res *forecast.Result, rep trainReport, opts trainOptions, started time.Time) error {
	models := make([]string, 0, len(rep.Models))
	for m := range rep.Models {
		models = append(models, m)
	}
	slices.Sort(models)
	counts := make([]uint64, len(models))
	for i, m := range models {
		counts[i] = uint64(rep.Models[m])
	}
	var (
		ids                                      []string
		expected, realised, applied, sold, based []float64
		series                                   []uint64
	)
	for _, u := range res.Uplifts {
		ids = append(ids, u.Campaign)
		expected = append(expected, u.Expected)
		realised = append(realised, u.Realised)
		applied = append(applied, u.Applied)
		series = append(series, uint64(u.Series))
		sold = append(sold, u.Sold)
		based = append(based, u.Baseline)
	}
	censor := int64(-1)
	if opts.censorAfter >= 0 {
		censor = int64(opts.censorAfter / time.Second)
	}
	b := &store.Batch{
		Table: "forecast_runs",
		Columns: []string{"run_id", "started_at", "finished_at", "cutoff", "horizon", "min_history", "censor_seconds", "models",
			"series", "skipped", "censored_days", "chosen.model", "chosen.series",
			"campaigns.campaign_id", "campaigns.expected", "campaigns.realised", "campaigns.applied", "campaigns.series", "campaigns.sold", "campaigns.baseline",
			"calibration", "mase", "rmsse", "wape", "coverage_90", "published", "seconds"},
		Rows: [][]any{{res.RunID, started, time.Now().UTC(), res.Cutoff, uint16(res.Horizon), uint32(max(opts.minHistory, 0)), censor, res.Models,
			uint64(rep.Series), uint64(rep.Skipped), uint64(rep.CensoredDays), models, counts,
			orEmpty(ids), orEmptyF(expected), orEmptyF(realised), orEmptyF(applied), orEmptyU(series), orEmptyF(sold), orEmptyF(based),
			res.Calibration, ptrNullable(rep.MASE), ptrNullable(rep.RMSSE), ptrNullable(rep.WAPE), ptrNullable(rep.Coverage90),
			uint64(rep.Published), rep.Seconds}},
		DedupToken: res.RunID + "/run",
	}
	if err := st.Insert(ctx, b); err != nil {
		return fmt.Errorf("insert forecast run: %w", err)
	}
	return nil
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func orEmptyF(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}

func orEmptyU(v []uint64) []uint64 {
	if v == nil {
		return []uint64{}
	}
	return v
}

// progressBar draws "label [#####.....] done/total" on a terminal,
// redrawn at most every 100 ms.
type progressBar struct {
	w     io.Writer
	label string
	last  time.Time
	drawn bool
	total int
}

func (p *progressBar) update(done, total int) {
	if now := time.Now(); done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn, p.total = time.Now(), true, total
	const width = 30
	n := width
	if total > 0 {
		n = done * width / total
	}
	_, _ = fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d series", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
}

func (p *progressBar) finish() {
	if p != nil && p.drawn {
		_, _ = fmt.Fprintln(p.w)
	}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// forecastTrain is `stockflow forecast train`: one training run against the
// store of --data or --clickhouse, published to the broker of --data or
// --brokers; it prints the run's summary to stdout (one JSON object with
// --json).
func forecastTrain(ctx context.Context, args []string, stdout io.Writer) error {
	c := newCommon("forecast train")
	var (
		cutoff, models, runID string
		horizon, minHistory   int
		workers               int
		censorHours           float64
		noPublish             bool
	)
	c.fs.StringVar(&cutoff, "cutoff", "", "last day of training data, YYYY-MM-DD (default: the last complete UTC day of the sales)")
	c.fs.IntVar(&horizon, "horizon", forecast.DefaultHorizon, "days to forecast after the cutoff (also the accuracy hold-out)")
	c.fs.IntVar(&minHistory, "min-history", forecast.DefaultMinHistory, "fewest days from a series' first sale to the cutoff for it to be forecast")
	c.fs.StringVar(&models, "models", forecast.SetDefault, "candidate set: default, fast, full, or a comma-separated list of "+strings.Join(forecast.CandidateNames(), ", "))
	c.fs.Float64Var(&censorHours, "censor-hours", forecast.DefaultCensorAfter.Hours(), "stockout hours from which a day's demand is censored (0: no censoring)")
	c.fs.StringVar(&runID, "run-id", "", "run id (default: derived from the cutoff, the settings and the input, so a repeated run replaces itself)")
	c.fs.IntVar(&workers, "workers", 0, "series fitted at once (0: GOMAXPROCS)")
	c.fs.BoolVar(&noPublish, "no-publish", false, "do not publish to "+kafka.TopicForecasts)
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	opts := trainOptions{horizon: horizon, minHistory: minHistory, runID: runID, workers: workers}
	if cutoff != "" {
		if opts.cutoff, err = time.Parse(time.DateOnly, cutoff); err != nil {
			return fmt.Errorf("--cutoff: %w", err)
		}
	}
	switch {
	case censorHours < 0 || math.IsNaN(censorHours) || censorHours > 24:
		return fmt.Errorf("--censor-hours %g must be in 0..24", censorHours)
	case censorHours == 0:
		opts.censorAfter = -1
	default:
		opts.censorAfter = time.Duration(censorHours * float64(time.Hour))
	}
	if workers < 0 {
		return fmt.Errorf("--workers %d must not be negative", workers)
	}
	if opts.models, err = forecast.ParseModelSet(models); err != nil {
		return fmt.Errorf("--models: %w", err)
	}
	if err := (forecast.Config{Cutoff: time.Unix(0, 0), Horizon: horizon, MinHistory: minHistory, Models: opts.models, Workers: 1}).Validate(); err != nil {
		return err
	}
	if s.EmbeddedClickHouse() {
		opts.catalogDir = s.Data
	}
	if isTerminal(os.Stderr) {
		opts.progress = os.Stderr
	}
	log := newLogger(s.LogLevel)

	st, err := openStore(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	if err := migrate(ctx, st, log); err != nil {
		return err
	}
	var cl *kgo.Client
	if !noPublish {
		var kc kafka.Config
		if s.EmbeddedKafka() {
			broker, err := kafka.StartBroker(kafka.BrokerConfig{Dir: s.KafkaDir(), Logger: log})
			if err != nil {
				return err
			}
			defer broker.Close()
			kc = s.KafkaConfig(broker.Addrs(), "stockflow-forecast")
		} else {
			kc = s.KafkaConfig(s.Brokers, "stockflow-forecast")
		}
		if err := ensureTopics(ctx, kc, s.Partitions, log); err != nil {
			return err
		}
		kopts, err := kc.Opts()
		if err != nil {
			return err
		}
		if cl, err = kgo.NewClient(kopts...); err != nil {
			return fmt.Errorf("kafka client: %w", err)
		}
		defer cl.Close()
	}
	rep, err := trainForecasts(ctx, st, cl, opts, log)
	if err != nil {
		return err
	}
	if c.jsonOut {
		return json.NewEncoder(stdout).Encode(rep)
	}
	_, err = fmt.Fprintf(stdout, "run %s: cutoff %s, %d series forecast (%d skipped, %d censored days), %d published, %.1f s\n",
		rep.RunID, rep.Cutoff, rep.Series, rep.Skipped, rep.CensoredDays, rep.Published, rep.Seconds)
	return err
}

// classify returns the ABC/XYZ class of every forecast series of res (in
// its order), from the training series and the average selling prices up
// to the cutoff, with replenishment's default class boundaries. The
// forecast records carry it, so replenishment picks rules by class from a
// run that saw every series.
func classify(ctx context.Context, st store.Store, in forecast.Input, res *forecast.Result) ([]string, error) {
	q, err := st.Query(ctx, sqlfs.MustQuery(sqlfs.ForecastPrices), store.Param{Name: "cutoff", Value: res.Cutoff.Format(time.DateOnly)})
	if err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	price := make(map[forecast.Key]float64, len(q.Rows))
	for i := range q.Rows {
		k, err := readKey(q, i)
		if err != nil {
			return nil, fmt.Errorf("read prices: %w", err)
		}
		if price[k], err = q.Float64(i, 2); err != nil {
			return nil, fmt.Errorf("read prices: %w", err)
		}
	}
	units := make(map[forecast.Key][]float64, len(in.Series))
	for i := range in.Series {
		units[in.Series[i].Key] = in.Series[i].Units
	}
	ys := make([][]float64, len(res.Forecasts))
	values := make([]float64, len(res.Forecasts))
	for i, f := range res.Forecasts {
		ys[i], values[i] = units[f.Key], price[f.Key]
	}
	classes := replenish.Classify(ys, values, replenish.DefaultPlanning().Class)
	out := make([]string, len(classes))
	for i, c := range classes {
		out[i] = string(c)
	}
	return out, nil
}
