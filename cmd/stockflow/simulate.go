package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
)

func cmdSimulate(ctx context.Context, args []string) error {
	c := newCommon("simulate")
	var (
		skus, warehouses, days int
		seed                   uint64
		badShare, liveRate     float64
		live                   bool
		runID                  string
	)
	c.fs.IntVar(&skus, "skus", 200, "SKUs")
	c.fs.IntVar(&warehouses, "warehouses", 5, "warehouses")
	c.fs.IntVar(&days, "days", 30, "days of history")
	c.fs.Uint64Var(&seed, "seed", 1, "seed (same seed, same events)")
	c.fs.Float64Var(&badShare, "bad-share", 0.002, "share of deliberately bad events")
	c.fs.BoolVar(&live, "live", false, "after the history, keep producing live events until interrupted")
	c.fs.Float64Var(&liveRate, "live-rate", 200, "live events per second")
	c.fs.StringVar(&runID, "run-id", strconv.FormatInt(time.Now().Unix(), 10), "distinguishes live event ids of separate runs")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	log := newLogger(s.LogLevel)
	var kc kafka.Config
	if len(s.Brokers) > 0 {
		kc = s.KafkaConfig(s.Brokers, "stockflow-simulate")
	} else {
		broker, err := kafka.StartBroker(kafka.BrokerConfig{Dir: s.KafkaDir(), Logger: log})
		if err != nil {
			return err
		}
		defer broker.Close()
		kc = s.KafkaConfig(broker.Addrs(), "stockflow-simulate")
	}
	if err := ensureTopics(ctx, kc, s.Partitions, log); err != nil {
		return err
	}
	simulator, err := sim.New(sim.Config{
		Seed: seed, SKUs: skus, Warehouses: warehouses, Days: days,
		BadShare: badShare, LiveRate: liveRate, RunID: runID,
	})
	if err != nil {
		return err
	}
	// Register the simulated warehouses where process reads its registry:
	// the ClickHouse server, or the embedded engine beside the embedded
	// broker. With external Kafka and no --clickhouse there is no store.
	if !s.EmbeddedClickHouse() || s.EmbeddedKafka() {
		st, err := openStore(ctx, s)
		if err != nil {
			return err
		}
		err = migrate(ctx, st, log)
		if err == nil {
			err = registerWarehouses(ctx, st, simulator.Warehouses())
		}
		_ = st.Close()
		if err != nil {
			return err
		}
	} else {
		log.Warn("no --clickhouse: warehouses not registered; process needs them in its store or STOCKFLOW_WAREHOUSES")
	}
	var produced, bad atomic.Int64
	t0 := time.Now()
	state := simState{Seed: seed, SKUs: skus, Warehouses: warehouses, Days: days}
	if err := produceSimulation(ctx, kc, simulator, &state, "", &produced, &bad, live, nil, log); err != nil {
		return err
	}
	took := time.Since(t0)
	if c.jsonOut {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{
			"events": produced.Load(), "bad": bad.Load(), "seconds": took.Seconds(), "brokers": kc.Brokers,
		})
	}
	fmt.Fprintf(os.Stderr, "stockflow simulate: produced %d events (%d bad) to %v in %s\n", produced.Load(), bad.Load(), kc.Brokers, took.Round(time.Millisecond))
	return nil
}
