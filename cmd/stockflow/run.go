package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/stockflow/stockflow/consumers/chsink"
	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/export"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/pipelines/forecast"
	"github.com/stockflow/stockflow/pipelines/replenish"
	"github.com/stockflow/stockflow/pipelines/routing"
	"github.com/stockflow/stockflow/pipelines/stock"
)

// runFlags are the flags of `stockflow run` beyond the common ones.
type runFlags struct {
	forDur     time.Duration
	skus       int
	warehouses int
	days       int
	seed       uint64
	summary    string
	badShare   float64
	liveRate   float64
	http       string
	partitions int
	jsonOut    bool
}

func cmdRun(ctx context.Context, args []string) error {
	c := newCommon("run")
	var f runFlags
	c.fs.DurationVar(&f.forDur, "for", 0, "stop after this long (0 = until interrupted)")
	c.fs.IntVar(&f.skus, "skus", 200, "simulated SKUs")
	c.fs.IntVar(&f.warehouses, "warehouses", 5, "simulated warehouses")
	c.fs.IntVar(&f.days, "days", 30, "days of history to simulate before going live")
	c.fs.Uint64Var(&f.seed, "seed", 1, "simulator seed (same seed, same events)")
	c.fs.StringVar(&f.summary, "summary", "", "write a JSON summary to this file at exit")
	c.fs.Float64Var(&f.badShare, "bad-share", 0.002, "share of deliberately bad events in the simulation")
	c.fs.Float64Var(&f.liveRate, "live-rate", 200, "live events per second after the history")
	c.fs.StringVar(&f.http, "http", config.Defaults().HTTP, "listen address for /healthz, /readyz, /metrics")
	c.fs.IntVar(&f.partitions, "partitions", 0, "partitions per topic when creating them (default from config: 6)")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	if !s.Embedded() {
		return errors.New("run is the embedded all-in-one (no --brokers, no --clickhouse); use simulate and process against external Kafka and ClickHouse")
	}
	if set(c.fs, "http") {
		s.HTTP = f.http
	}
	if f.partitions > 0 {
		s.Partitions = int32(f.partitions)
	}
	f.jsonOut = c.jsonOut
	log := newLogger(s.LogLevel)
	return run(ctx, s, f, log)
}

func set(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// simState remembers, in the data dir, which simulated history was produced,
// so a second run carries on instead of replaying it.
type simState struct {
	Seed        uint64    `json:"seed"`
	SKUs        int       `json:"skus"`
	Warehouses  int       `json:"warehouses"`
	Days        int       `json:"days"`
	Start       time.Time `json:"start"`
	HistoryDone bool      `json:"history_done"`
	// HistoryDigest is the simulator's digest of the history it produced
	// (sim.Sim.HistoryDigest); a later run's silent replay must match it.
	HistoryDigest string `json:"history_digest,omitempty"`
	Runs          int    `json:"runs"`
}

func loadSimState(path string) (simState, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return simState{}, false, nil
	}
	if err != nil {
		return simState{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	var st simState
	if err := json.Unmarshal(b, &st); err != nil {
		return simState{}, false, fmt.Errorf("parse %s: %w", path, err)
	}
	return st, true, nil
}

func saveSimState(path string, st simState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sim state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write sim state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write sim state: %w", err)
	}
	return nil
}

func run(ctx context.Context, s config.Settings, f runFlags, log *slog.Logger) error {
	started := time.Now()
	// The forecast training's settings: forecast train's defaults.
	trainOpts := trainOptions{
		horizon: forecast.DefaultHorizon, minHistory: forecast.DefaultMinHistory,
		censorAfter: forecast.DefaultCensorAfter, catalogDir: s.Data,
	}
	models, err := forecast.ParseModelSet(forecast.SetDefault)
	if err != nil {
		return err
	}
	trainOpts.models = models
	if err := os.MkdirAll(s.Data, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// The simulated world must match the one already in the data dir.
	statePath := filepath.Join(s.Data, "simulation.json")
	prev, resumed, err := loadSimState(statePath)
	if err != nil {
		return err
	}
	if resumed && (prev.Seed != f.seed || prev.SKUs != f.skus || prev.Warehouses != f.warehouses) {
		return fmt.Errorf("data dir %s holds a simulation with --seed %d --skus %d --warehouses %d; use those or another --data",
			s.Data, prev.Seed, prev.SKUs, prev.Warehouses)
	}
	state := prev
	if !resumed {
		state = simState{Seed: f.seed, SKUs: f.skus, Warehouses: f.warehouses, Days: f.days,
			Start: time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -f.days)}
	}
	state.Runs++

	broker, err := kafka.StartBroker(kafka.BrokerConfig{Dir: s.KafkaDir(), Logger: log})
	if err != nil {
		return err
	}
	defer broker.Close()
	kc := s.KafkaConfig(broker.Addrs(), "stockflow")

	st, err := openStore(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	chVersion, err := st.Version(ctx)
	if err != nil {
		return fmt.Errorf("clickhouse version: %w", err)
	}
	if err := migrate(ctx, st, log); err != nil {
		return err
	}
	if err := ensureTopics(ctx, kc, s.Partitions, log); err != nil {
		return err
	}

	// The closed loop: from fromDay on, the simulated suppliers deliver
	// what stockflow's replenishment orders, handed over at each simulated
	// day's end (runloop.go); before it, their own policy runs.
	fromDay := min(replenishFromDay, state.Days/2)
	var (
		loop   *closedLoop
		simCtx context.Context
	)
	simulator, err := sim.New(sim.Config{
		Seed: f.seed, SKUs: f.skus, Warehouses: f.warehouses, Days: state.Days, Start: state.Start,
		BadShare: f.badShare, LiveRate: f.liveRate, RunID: strconv.Itoa(state.Runs),
		ExternalReplenishment: true, ExternalFrom: fromDay, ExternalRouting: true,
		OnDayEnd: func(day int, end time.Time) error { return loop.dayEnd(simCtx, day, end) },
	})
	if err != nil {
		return err
	}
	loop, err = newClosedLoop(kc, simulator, fromDay, log.With("component", "closed-loop"))
	if err != nil {
		return err
	}
	defer loop.Close()
	// A history an earlier run produced is replayed silently; the journal
	// hands the replay what that run's loop handed it (loopjournal.go).
	loop.replaying = resumed && state.HistoryDone
	if loop.journal, err = openLoopJournal(filepath.Join(s.Data, "simulation-loop.jsonl"), state.Days, log); err != nil {
		return err
	}
	defer func() { _ = loop.journal.Close() }() // every entry was synced when written
	whs := simulator.Warehouses()
	if err := registerWarehouses(ctx, st, whs); err != nil {
		return err
	}
	known := make(map[event.WarehouseID]struct{}, len(whs))
	for _, w := range whs {
		known[w.ID] = struct{}{}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The features export's category campaigns (embedded mode).
	cats, err := exportCategories(s)
	if err != nil {
		return err
	}
	grace, idle := s.StockTimes()
	proc, err := stock.New(stock.Config{
		Kafka:           kc,
		TransactionalID: "stockflow-stock-" + cmp.Or(s.InstanceID, "0"),
		GroupInstanceID: "stockflow-stock-" + cmp.Or(s.InstanceID, "0"),
		Checker:         event.Checker{Warehouses: known, MaxFuture: s.MaxFuture.Std()},
		Grace:           grace,
		IdleFlush:       idle,
	}, log.With("component", "stock"), stock.NewMetrics(reg))
	if err != nil {
		return err
	}
	setup := replenishSetup{
		items:   make(map[event.SKU]replenish.Item),
		regions: make(map[event.WarehouseID]string, len(whs)),
		from:    state.Start.AddDate(0, 0, fromDay),
	}
	for _, it := range simulator.Items() {
		setup.items[it.SKU] = replenish.Item{SKU: it.SKU, Supplier: it.Supplier, UnitCost: it.Price * benchCostShare, CasePack: int64(it.CasePack)}
	}
	for _, w := range whs {
		setup.regions[w.ID] = w.Region
	}
	if err := loadReplenishFile(s, &setup); err != nil {
		proc.Close()
		return err
	}
	repl, err := newReplenisher(kc, cmp.Or(s.InstanceID, "0"), setup, reg, log)
	if err != nil {
		proc.Close()
		return err
	}
	rsetup, err := runRoutingSetup(s, simulator)
	if err != nil {
		proc.Close()
		repl.Close()
		return err
	}
	router, err := newRouting(kc, cmp.Or(s.InstanceID, "0"), rsetup, reg, log)
	if err != nil {
		proc.Close()
		repl.Close()
		return err
	}
	defer router.Close()
	sink, err := chsink.New(chsink.Config{Kafka: kc, InstanceID: "stockflow-sink-" + cmp.Or(s.InstanceID, "0")}, st, log.With("component", "sink"), chsink.NewMetrics(reg))
	if err != nil {
		proc.Close()
		repl.Close()
		return err
	}
	approve, closeApprover, err := newApprover(kc)
	if err != nil {
		proc.Close()
		repl.Close()
		sink.Close()
		return err
	}
	defer closeApprover()
	srv, err := api.Listen(api.Config{
		Addr: s.HTTP, Gatherer: reg, Version: version, Approve: approve, AdminToken: s.AdminToken, ReadToken: s.ReadToken, Store: st,
		Export: export.API(st, export.APIOptions{Writer: export.WriterOptions{CreatedBy: "stockflow " + version}, Categories: cats}), Route: router.WhatIf,
		Checks: map[string]api.Check{
			"stock": func(context.Context) (bool, string) {
				ok, n := proc.Ready()
				return ok, fmt.Sprintf("%d partitions restoring", n)
			},
			"replenish": func(context.Context) (bool, string) {
				ok, n := repl.Ready()
				return ok, fmt.Sprintf("%d partitions restoring", n)
			},
			"routing": routingCheck(router),
			"clickhouse": func(ctx context.Context) (bool, string) {
				v, err := st.Version(ctx)
				if err != nil {
					return false, err.Error()
				}
				return true, v
			},
		},
	}, log)
	if err != nil {
		proc.Close()
		repl.Close()
		sink.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "stockflow run: data %s | embedded Kafka %v | embedded ClickHouse %s | http://%s (/healthz /readyz /metrics)\n",
		s.Data, broker.Addrs(), chVersion, srv.Addr())

	// Pipelines run until the end, after the simulator stopped and they
	// drained; the simulator runs until --for or a signal.
	pipeCtx, stopPipes := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipes()
	pipes, pctx := errgroup.WithContext(pipeCtx)
	pipes.Go(func() error { return proc.Run(pctx) })
	pipes.Go(func() error { return repl.Run(pctx) })
	pipes.Go(func() error { return router.Run(pctx) })
	pipes.Go(func() error { return sink.Run(pctx) })
	pipes.Go(func() error { return srv.Run(pctx) })

	// Forecast training: after the history is processed and sunk, then
	// every forecast_interval (runforecast.go).
	historyReady := make(chan struct{})
	var trainer *runTrainer
	if interval := s.ForecastInterval.Std(); interval > 0 {
		trainer = newRunTrainer(st, s.KafkaConfig(broker.Addrs(), "stockflow-forecast"), trainOpts, interval,
			pipelineGroups(sink.Group()), historyReady, log.With("component", "forecast"))
		pipes.Go(func() error { return trainer.Run(pctx) })
	}

	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	if f.forDur > 0 {
		simCtx, stopSim = context.WithTimeout(ctx, f.forDur)
		defer stopSim()
	}
	var produced, producedBad atomic.Int64
	simErr := make(chan error, 1)
	go func() {
		// The history first (unless an earlier run produced it), then
		// live events; the trainer waits for the history.
		err := produceSimulation(simCtx, kc, simulator, &state, statePath, &produced, &producedBad, false, loop, log)
		if err != nil || !state.HistoryDone {
			simErr <- err
			return
		}
		close(historyReady)
		simErr <- produceSimulation(simCtx, kc, simulator, &state, statePath, &produced, &producedBad, true, loop, log)
	}()
	go status(simCtx, proc, repl, router, sink, trainer, &produced)

	var runErr error
	select {
	case err := <-simErr:
		runErr = err
	case <-pctx.Done():
		// A pipeline failed; its error comes from pipes.Wait below.
		stopSim()
		if err := <-simErr; err != nil {
			log.Warn("simulator stopped with an error", "err", err)
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "stockflow run: stopping: draining the pipelines (a second Ctrl-C forces exit)")
	}
	drainErr := waitDrained(context.WithoutCancel(ctx), kc, s.Shutdown.Std(), pipelineGroups(sink.Group())...)
	if drainErr != nil {
		log.Warn("shutdown before the pipelines drained", "err", drainErr)
	}
	ps := proc.Stats() // before the pipelines leave the group and drop their state
	rs := repl.Stats()
	ts := router.Stats()
	// A training that is due (the one after the history, say) or running
	// finishes first; no new one starts.
	if err := stopTrainer(trainer, s.Shutdown.Std()); err != nil {
		log.Warn("shutdown", "err", err)
	}
	stopPipes()
	if err := pipes.Wait(); err != nil && runErr == nil {
		runErr = err
	}
	if err := saveSimState(statePath, state); err != nil && runErr == nil {
		runErr = err
	}
	replay := replayCheck(state, loop, simulator.HistoryDigest())
	if replay != nil && !replay.Matches {
		log.Warn("the simulator's replay of the history differs from the history produced earlier: the simulated world carries on from another state",
			"history_digest", state.HistoryDigest, "replay_digest", replay.Digest, "journal_missing", loop.missing)
	}
	fmt.Fprintf(os.Stderr, "stockflow run: stopped after %s: %d events in, %d dead-lettered, %d ledgers, %d rows written\n",
		time.Since(started).Round(time.Second), ps.In, ps.DLQ, ps.Keys, sink.Rows())
	if f.summary != "" || f.jsonOut {
		if err := writeSummary(context.WithoutCancel(ctx), f, st, ps, rs, ts, loop, replay, produced.Load(), time.Since(started), s, chVersion, drainErr, trainer.Summary()); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// replaySummary is the "replay" object of the run summary: how the
// simulator's silent replay of a history an earlier run produced compared
// with that history.
type replaySummary struct {
	// Digest is the replay's sim.Sim.HistoryDigest, HistoryDigest the one
	// the earlier run saved; Matches is their equality.
	Digest        string `json:"digest"`
	HistoryDigest string `json:"history_digest"`
	Matches       bool   `json:"matches"`
	// JournalMissing counts journaled decisions and reorders the topics
	// no longer held; SkippedHandedEarlier those not handed again at live
	// day ends because an earlier run had handed them.
	JournalMissing       int `json:"journal_missing"`
	SkippedHandedEarlier int `json:"skipped_handed_earlier"`
}

// replayCheck compares the replayed history's digest with the one saved
// when the history was produced: nil when this run produced the history,
// or did not replay it all, or the earlier run saved no digest.
func replayCheck(state simState, loop *closedLoop, digest string) *replaySummary {
	if !loop.replaying || digest == "" || state.HistoryDigest == "" {
		return nil
	}
	return &replaySummary{Digest: digest, HistoryDigest: state.HistoryDigest, Matches: digest == state.HistoryDigest,
		JournalMissing: loop.missing, SkippedHandedEarlier: loop.skipped}
}

// produceSimulation produces the history (unless state says it is done),
// then, when live is set, live events until ctx is done.
//
// loop, when not nil, gets the producer's flush, so that it can close the
// simulation's loop at each day's end.
func produceSimulation(ctx context.Context, kc kafka.Config, s *sim.Sim, state *simState, statePath string, produced, bad *atomic.Int64, live bool, loop *closedLoop, log *slog.Logger) error {
	opts, err := kc.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(8<<20),
		kgo.MaxBufferedRecords(100_000),
	)...)
	if err != nil {
		return fmt.Errorf("simulator producer: %w", err)
	}
	defer cl.Close()
	if loop != nil {
		loop.flush = cl.Flush
	}
	var firstErr atomic.Pointer[error]
	emit := func(r sim.Record) error {
		if e := firstErr.Load(); e != nil {
			return *e
		}
		if loop != nil {
			loop.emitted++ // on the simulator's goroutine, like dayEnd
		}
		isBad := r.Bad != ""
		// The record timestamp is the produce time, as with any upstream
		// producer: event times of a backfill can be older than the
		// topics' retention. The history is emitted in event-time order.
		cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
			switch {
			case err == nil:
				produced.Add(1)
				if isBad {
					bad.Add(1)
				}
			case ctx.Err() == nil:
				firstErr.CompareAndSwap(nil, &err)
			}
		})
		return nil
	}
	if !state.HistoryDone {
		t0 := time.Now()
		stats, err := s.History(ctx, emit)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("simulate history: %w", err)
		}
		if err := cl.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("flush history: %w", err)
		}
		state.HistoryDone = true
		state.HistoryDigest = s.HistoryDigest()
		if statePath != "" {
			if err := saveSimState(statePath, *state); err != nil {
				return err
			}
		}
		log.Info("simulated history produced", "days", state.Days, "events", stats.Events, "bad", stats.Bad, "took", time.Since(t0).Round(time.Millisecond))
	}
	if live {
		if err := s.Live(ctx, time.Now, emit); err != nil && ctx.Err() == nil {
			return fmt.Errorf("simulate live: %w", err)
		}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		return fmt.Errorf("flush live events: %w", err)
	}
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("produce: %w", *e)
	}
	return nil
}

func status(ctx context.Context, proc *stock.Processor, repl *replenish.Processor, router *routing.Processor, sink *chsink.Sink, trainer *runTrainer, produced *atomic.Int64) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	last, lastT := proc.Stats().In, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			ps := proc.Stats()
			rate := float64(ps.In-last) / now.Sub(lastT).Seconds()
			last, lastT = ps.In, now
			training := ""
			if trainer != nil {
				if done, total := trainer.Progress(); total > 0 {
					training = fmt.Sprintf(" | forecast %d/%d series", done, total)
				}
			}
			rs, ts := repl.Stats(), router.Stats()
			fmt.Fprintf(os.Stderr, "stockflow: %8.0f events/s | in %d | produced %d | dlq %d | stock keys %d | reorders %d (received %d) transfers %d | orders routed %d (pending %d, re-routed %d) | rows %d | restoring %d%s\n",
				rate, ps.In, produced.Load(), ps.DLQ, ps.Keys, rs.Reorders, rs.Received, rs.Transfers, ts.Final, ts.Pending, ts.Reroutes, sink.Rows(), ps.Restoring+rs.Restoring+ts.Restoring, training)
		}
	}
}

func registerWarehouses(ctx context.Context, st store.Store, whs []sim.Warehouse) error {
	now := time.Now().UTC()
	b := &store.Batch{Table: "warehouses", Columns: []string{"id", "region", "lat", "lon", "name", "country", "updated_at"}}
	for _, w := range whs {
		b.Rows = append(b.Rows, []any{string(w.ID), w.Region, w.Lat, w.Lon, w.Name, w.Country, now})
	}
	if err := st.Insert(ctx, b); err != nil {
		return fmt.Errorf("register warehouses: %w", err)
	}
	return nil
}

var summaryTables = []string{"sales", "stock_movements", "orders", "campaigns", "stock_levels", "dlq", "warehouses", "forecasts", "forecast_runs", "reorders", "routing_decisions"}

// writeSummary writes the run's figures to --summary and, with --json, to
// stdout. fc is the forecast training's summary, nil when it is disabled.
func writeSummary(ctx context.Context, f runFlags, st store.Store, ps stock.Stats, rs replenish.Stats, ts routing.Stats, loop *closedLoop, replay *replaySummary, produced int64, took time.Duration, s config.Settings, chVersion string, drainErr error, fc *runForecastSummary) error {
	counts := make(map[string]uint64, len(summaryTables))
	for _, t := range summaryTables {
		// FINAL: count distinct rows, not replays waiting to be merged.
		res, err := st.Query(ctx, "SELECT count() FROM "+t+" FINAL")
		if err != nil {
			return fmt.Errorf("summary: count %s: %w", t, err)
		}
		n, err := res.Uint64(0, 0)
		if err != nil {
			return fmt.Errorf("summary: count %s: %w", t, err)
		}
		counts[t] = n
	}
	res, err := st.Query(ctx, "SELECT uniqExact(sku) AS skus, uniqExact(warehouse) AS warehouses FROM stock_levels FINAL")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	var skus, whs any
	if len(res.Rows) == 1 {
		skus, whs = res.Rows[0][0], res.Rows[0][1]
	}
	drained := drainErr == nil
	out := map[string]any{
		"events_in":          ps.In,
		"events_accepted":    ps.Accepted,
		"events_dlq":         ps.DLQ,
		"events_produced":    produced,
		"skus":               skus,
		"warehouses":         whs,
		"clickhouse_rows":    counts,
		"clickhouse_version": chVersion,
		"data_dir":           s.Data,
		"drained":            drained,
		"seconds":            took.Seconds(),
		"forecast":           fc,
		"replay":             replay,
		"replenish": map[string]any{
			"records_in": rs.In, "reorders": rs.Reorders, "transfers": rs.Transfers, "received": rs.Received,
			"cancelled": rs.Cancelled, "dead_lettered": rs.DLQ,
			"handed_to_suppliers": loop.ordered,
		},
		"routing": map[string]any{
			"orders": ts.Orders, "final_decisions": ts.Final, "attempts": ts.Attempts, "reroutes": ts.Reroutes,
			"reservations_requested": ts.Reserved, "reservations_rejected": ts.Rejected, "orders_pending": ts.Pending,
			"duplicate_orders": ts.Duplicates, "shipped_by_simulated_warehouses": loop.shipped,
		},
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	b = append(b, '\n')
	if f.summary != "" {
		if err := os.WriteFile(f.summary, b, 0o600); err != nil {
			return fmt.Errorf("summary: %w", err)
		}
	}
	if f.jsonOut {
		if _, err := os.Stdout.Write(b); err != nil {
			return fmt.Errorf("summary: %w", err)
		}
	}
	return nil
}
