package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/pipelines/replenish"
	"github.com/stockflow/stockflow/pipelines/stock"
)

// pipelineBench is the result of `stockflow bench pipeline`.
type pipelineBench struct {
	Broker         string  `json:"broker"`
	Partitions     int32   `json:"partitions"`
	Records        int64   `json:"records"`
	RawConsumeEPS  float64 `json:"raw_consume_eps"`
	PipelineEPS    float64 `json:"pipeline_eps"`
	Ratio          float64 `json:"ratio"`
	RestoreKeys    int     `json:"restore_keys"`
	RestoreSeconds float64 `json:"restore_seconds"`
	// The replenishment pipeline on the stock pipeline's accepted records:
	// their raw read_committed consume rate, its rate (exactly-once on:
	// decode, positions, reviews, reorders, changelog, commits), their
	// ratio, and the reorders it committed.
	AcceptedRecords    int64   `json:"accepted_records"`
	RawAcceptedEPS     float64 `json:"raw_accepted_eps"`
	ReplenishEPS       float64 `json:"replenish_eps"`
	ReplenishRatio     float64 `json:"replenish_ratio"`
	ReplenishReorders  uint64  `json:"replenish_reorders"`
	ReplenishTransfers uint64  `json:"replenish_transfers"`
}

// benchPipeline measures, in one run on one in-process broker and the same
// pre-produced simulated records, the raw consume rate of a plain franz-go
// consumer and the stock pipeline's rate with exactly-once on (decode,
// validation, dedup, ledger, changelog, outputs, transaction commits),
// then how long a fresh instance takes to restore restoreKeys ledgers.
func benchPipeline(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench pipeline", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
	skus := fs.Int("skus", 1000, "simulated SKUs")
	warehouses := fs.Int("warehouses", 10, "simulated warehouses")
	days := fs.Int("days", 100, "simulated days (1000 SKUs x 10 warehouses x 100 days is about 1M events)")
	partitions := fs.Int("partitions", 6, "partitions per topic")
	restoreKeys := fs.Int("restore-keys", 1_000_000, "ledgers in the changelog for the restore measurement (0 skips it)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the pipeline phase to this file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	broker, err := kafka.StartBroker(kafka.BrokerConfig{})
	if err != nil {
		return err
	}
	defer broker.Close()
	kc := kafka.Config{Brokers: broker.Addrs(), ClientID: "stockflow-bench"}
	parts := int32(*partitions)
	if err := ensureTopics(ctx, kc, parts, log); err != nil {
		return err
	}

	simulator, err := sim.New(sim.Config{Seed: 1, SKUs: *skus, Warehouses: *warehouses, Days: *days, BadShare: 0.001})
	if err != nil {
		return err
	}
	var produced, bad atomic.Int64
	state := simState{}
	t0 := time.Now()
	if err := produceSimulation(ctx, kc, simulator, &state, "", &produced, &bad, false, nil, log); err != nil {
		return err
	}
	n := produced.Load()
	fmt.Fprintf(os.Stderr, "bench pipeline: produced %d records in %s\n", n, time.Since(t0).Round(time.Millisecond))

	res := pipelineBench{Broker: "kfake (in-process)", Partitions: parts, Records: n}
	if res.RawConsumeEPS, err = rawConsume(ctx, kc, n); err != nil {
		return err
	}
	known := make(map[event.WarehouseID]struct{})
	for _, w := range simulator.Warehouses() {
		known[w.ID] = struct{}{}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
	}
	var accepted int64
	res.PipelineEPS, accepted, err = pipelineRate(ctx, kc, known, n, log)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	res.Ratio = res.PipelineEPS / res.RawConsumeEPS
	res.AcceptedRecords = accepted
	if res.RawAcceptedEPS, err = rawConsumeTopic(ctx, kc, kafka.TopicAccepted, accepted); err != nil {
		return err
	}
	if res.ReplenishEPS, res.ReplenishReorders, res.ReplenishTransfers, err = replenishRate(ctx, kc, accepted, log); err != nil {
		return err
	}
	res.ReplenishRatio = res.ReplenishEPS / res.RawAcceptedEPS
	if *restoreKeys > 0 {
		res.RestoreKeys = *restoreKeys
		if res.RestoreSeconds, err = restoreTime(ctx, kc, parts, *restoreKeys, known, log); err != nil {
			return err
		}
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("broker %s, %d partitions, %d records\nraw consume: %.0f events/s\npipeline:    %.0f events/s (exactly-once)\nratio:       %.2f\nrestore:     %d ledgers in %.2fs\n",
		res.Broker, res.Partitions, res.Records, res.RawConsumeEPS, res.PipelineEPS, res.Ratio, res.RestoreKeys, res.RestoreSeconds)
	fmt.Printf("replenishment on %d accepted records: raw %.0f/s, pipeline %.0f/s, ratio %.2f, %d reorders, %d transfers\n",
		res.AcceptedRecords, res.RawAcceptedEPS, res.ReplenishEPS, res.ReplenishRatio, res.ReplenishReorders, res.ReplenishTransfers)
	return nil
}

// rawConsume reads every input record once with a plain direct consumer
// (no group to join), timed from its first poll.
func rawConsume(ctx context.Context, kc kafka.Config, n int64) (float64, error) {
	return rawConsumeTopic(ctx, kc, "", n)
}

// rawConsumeTopic reads n records of topic (the input topics when "") with
// a plain read_committed consumer, timed from its first poll.
func rawConsumeTopic(ctx context.Context, kc kafka.Config, topic string, n int64) (float64, error) {
	opts, err := kc.Opts()
	if err != nil {
		return 0, err
	}
	topics := kafka.InputTopics
	if topic != "" {
		topics = []string{topic}
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return 0, fmt.Errorf("raw consumer: %w", err)
	}
	defer cl.Close()
	var got int64
	start := time.Now()
	for got < n {
		fs := cl.PollRecords(ctx, 50_000)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		got += int64(fs.NumRecords())
	}
	return float64(got) / time.Since(start).Seconds(), nil
}

// pipelineRate runs the stock pipeline until it has consumed n records; it
// returns the rate and the records accepted.
func pipelineRate(ctx context.Context, kc kafka.Config, known map[event.WarehouseID]struct{}, n int64, log *slog.Logger) (float64, int64, error) {
	// In counts records of committed and aborted batches alike: an abort
	// would count twice, so it fails the benchmark.
	// Timed from the launch, group join included: against the pipeline.
	st, took, err := runUntil(ctx, kc, "bench-pipeline", known, log, func(st stock.Stats) (bool, error) {
		if st.Aborts > 0 {
			return false, fmt.Errorf("pipeline aborted %d transactions during the benchmark", st.Aborts)
		}
		return int64(st.In) >= n, nil
	})
	if err != nil {
		return 0, 0, err
	}
	return float64(st.In) / took.Seconds(), int64(st.Accepted), nil
}

// replenishRate runs a fresh replenishment pipeline (default planning)
// over the n accepted records, timed from its launch, group join included.
func replenishRate(ctx context.Context, kc kafka.Config, n int64, log *slog.Logger) (eps float64, reorders, transfers uint64, err error) {
	proc, err := replenish.New(replenish.Config{Kafka: kc, Group: "bench-replenish", TransactionalID: "bench-replenish-0"}, log, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- proc.Run(pctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-stopped:
			return 0, 0, 0, fmt.Errorf("replenishment pipeline stopped early: %w", err)
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		case <-tick.C:
		}
		st := proc.Stats()
		if st.Aborts > 0 {
			return 0, 0, 0, fmt.Errorf("replenishment aborted %d transactions during the benchmark", st.Aborts)
		}
		if int64(st.In) >= n {
			took := time.Since(start)
			stop()
			if err := <-stopped; err != nil {
				return 0, 0, 0, err
			}
			return float64(st.In) / took.Seconds(), st.Reorders, st.Transfers, nil
		}
	}
}

// runUntil runs a fresh stock pipeline in group until done reports true,
// polling its counters, and returns them with the time since the launch.
func runUntil(ctx context.Context, kc kafka.Config, group string, known map[event.WarehouseID]struct{}, log *slog.Logger,
	done func(stock.Stats) (bool, error),
) (stock.Stats, time.Duration, error) {
	proc, err := stock.New(stock.Config{
		Kafka: kc, Group: group, TransactionalID: group + "-0",
		Checker: event.Checker{Warehouses: known},
	}, log, nil)
	if err != nil {
		return stock.Stats{}, 0, err
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- proc.Run(pctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-stopped:
			return stock.Stats{}, 0, fmt.Errorf("pipeline %s stopped early: %w", group, err)
		case <-ctx.Done():
			return stock.Stats{}, 0, ctx.Err()
		case <-tick.C:
		}
		st := proc.Stats()
		ok, err := done(st)
		if err != nil {
			return st, 0, err
		}
		if ok {
			took := time.Since(start)
			stop()
			if err := <-stopped; err != nil {
				return st, 0, err
			}
			return st, took, nil
		}
	}
}

// restoreTime writes keys ledgers to the changelog and times a fresh
// instance restoring them.
func restoreTime(ctx context.Context, kc kafka.Config, parts int32, keys int, known map[event.WarehouseID]struct{}, log *slog.Logger) (float64, error) {
	opts, err := kc.Opts()
	if err != nil {
		return 0, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	// Start from a clean changelog: the pipeline run above wrote to it.
	adm := kadm.NewClient(cl)
	if _, err := adm.DeleteTopics(ctx, kafka.TopicStockChangelog); err != nil {
		return 0, fmt.Errorf("reset changelog: %w", err)
	}
	if err := ensureTopics(ctx, kc, parts, log); err != nil {
		return 0, err
	}
	for i := range keys {
		lv := stock.Level{SKU: event.SKU("B-" + strconv.Itoa(i/10)), Warehouse: event.WarehouseID("WH" + strconv.Itoa(i%10)),
			OnHand: int64(i % 97), Available: int64(i % 97), Version: 1, LastEventTS: 1}
		v, err := json.Marshal(&lv)
		if err != nil {
			return 0, fmt.Errorf("encode ledger: %w", err)
		}
		cl.Produce(ctx, &kgo.Record{Topic: kafka.TopicStockChangelog, Partition: int32(i % int(parts)),
			Key: []byte(event.ChangelogLevelPrefix + string(lv.SKU) + "/" + string(lv.Warehouse)), Value: v}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, fmt.Errorf("produce ledgers: %w", err)
	}
	// A partition restores when its first records arrive: the group starts
	// at the beginning of the inputs, so every partition has some.
	_, took, err := runUntil(ctx, kc, "bench-restore", known, log, func(st stock.Stats) (bool, error) {
		return st.Keys >= keys, nil
	})
	if err != nil {
		return 0, err
	}
	return took.Seconds(), nil
}
