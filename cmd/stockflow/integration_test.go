//go:build integration

package main

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/internal/testenv"
	"github.com/stockflow/stockflow/pipelines/replenish"
)

// TestIntegrationProcessRealKafka runs the server-mode path on a real
// Apache Kafka broker: simulate produces the history to it, process
// consumes it into the embedded ClickHouse engine, and the conservation
// oracle must find every stored level equal to the event log's.
func TestIntegrationProcessRealKafka(t *testing.T) {
	brokers := testenv.KafkaBrokers(t, "cmd/stockflow simulate+process")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	s := config.Defaults()
	s.Data = t.TempDir()
	s.Brokers = brokers
	s.HTTP = "127.0.0.1:0"
	s.Partitions = 3
	s.InstanceID = "it" + strconv.FormatInt(time.Now().UnixNano(), 36)
	kc := s.KafkaConfig(brokers, "stockflow-it")
	if err := ensureTopics(ctx, kc, s.Partitions, log); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	if err := migrate(ctx, st, log); err != nil {
		t.Fatal(err)
	}
	simulator, err := sim.New(sim.Config{Seed: 11, SKUs: 25, Warehouses: 3, Days: 8, BadShare: 0.01, RunID: s.InstanceID})
	if err != nil {
		t.Fatal(err)
	}
	if err := registerWarehouses(ctx, st, simulator.Warehouses()); err != nil {
		t.Fatal(err)
	}
	// Events of other tests on this broker name other warehouses; they are
	// dead-lettered here, which the checks below allow for.
	known, err := knownWarehouses(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	var produced, bad atomic.Int64
	state := simState{}
	if err := produceSimulation(ctx, kc, simulator, &state, "", &produced, &bad, false, nil, log); err != nil {
		t.Fatal(err)
	}
	if produced.Load() == 0 || bad.Load() == 0 {
		t.Fatalf("simulation produced %d events, %d bad", produced.Load(), bad.Load())
	}

	rsetup, err := runRoutingSetup(s, simulator)
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- process(pctx, s, kc, st, known, replenishSetup{planning: replenish.DefaultPlanning()}, rsetup, log)
	}()
	if err := waitDrained(ctx, kc, 3*time.Minute, pipelineGroups("stockflow-sink")...); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("process: %v", err)
	}
	checked, mismatches, err := verifyStock(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if checked < 25*3 {
		t.Errorf("checked %d stock levels, want at least %d", checked, 25*3)
	}
	if len(mismatches) > 0 {
		t.Errorf("%d stock levels differ from the event log, e.g. %+v", len(mismatches), mismatches[0])
	}
	res, err := st.Query(ctx, "SELECT count() FROM dlq FINAL")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.Uint64(0, 0); n < uint64(bad.Load()) {
		t.Errorf("dlq table holds %d records, the simulator produced %d bad ones", n, bad.Load())
	}
}
