package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/stockflow/stockflow/consumers/chsink"
	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/export"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/pipelines/stock"
)

func cmdProcess(ctx context.Context, args []string) error {
	c := newCommon("process")
	var httpAddr, instance string
	c.fs.StringVar(&httpAddr, "http", config.Defaults().HTTP, "listen address for /healthz, /readyz, /metrics")
	c.fs.StringVar(&instance, "instance-id", "", "stable, unique id of this instance (transactional id suffix); default from STOCKFLOW_INSTANCE_ID or the host name")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	if set(c.fs, "http") {
		s.HTTP = httpAddr
	}
	if instance != "" {
		s.InstanceID = instance
	}
	if s.InstanceID == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("no --instance-id and no host name: %w", err)
		}
		s.InstanceID = host
	}
	log := newLogger(s.LogLevel)

	var kc kafka.Config
	if s.EmbeddedKafka() {
		broker, err := kafka.StartBroker(kafka.BrokerConfig{Dir: s.KafkaDir(), Logger: log})
		if err != nil {
			return err
		}
		defer broker.Close()
		kc = s.KafkaConfig(broker.Addrs(), "stockflow-process")
	} else {
		kc = s.KafkaConfig(s.Brokers, "stockflow-process-"+s.InstanceID)
	}
	st, err := openStore(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	applied, err := migrations(ctx, st, s)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "migrations", applied, "cluster", s.ClickHouseCluster.Name)
	}
	if err := ensureTopics(ctx, kc, s.Partitions, log); err != nil {
		return err
	}
	known, err := knownWarehouses(ctx, st, s.Warehouses)
	if err != nil {
		return err
	}
	if len(known) == 0 {
		return fmt.Errorf("no warehouses registered: run simulate, insert into the warehouses table, or set STOCKFLOW_WAREHOUSES")
	}
	setup := replenishSetup{}
	if err := loadReplenishFile(s, &setup); err != nil {
		return err
	}
	if setup.regions, err = readRegions(ctx, st); err != nil {
		return err
	}
	rwhs, err := routingWarehouses(ctx, st)
	if err != nil {
		return err
	}
	var rsetup routingSetup
	if err := loadRoutingFile(s, rwhs, &rsetup); err != nil {
		return err
	}
	return process(ctx, s, kc, st, known, setup, rsetup, log)
}

// knownWarehouses reads the warehouse registry from the store, adding extra.
func knownWarehouses(ctx context.Context, st store.Store, extra []string) (map[event.WarehouseID]struct{}, error) {
	res, err := st.Query(ctx, "SELECT id FROM warehouses FINAL")
	if err != nil {
		return nil, fmt.Errorf("read warehouses: %w", err)
	}
	known := make(map[event.WarehouseID]struct{})
	for _, r := range res.Rows {
		if id, ok := r[0].(string); ok {
			known[event.WarehouseID(id)] = struct{}{}
		}
	}
	for _, id := range extra {
		known[event.WarehouseID(id)] = struct{}{}
	}
	return known, nil
}

func process(ctx context.Context, s config.Settings, kc kafka.Config, st store.Store, known map[event.WarehouseID]struct{}, setup replenishSetup, rsetup routingSetup, log *slog.Logger) error {
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
		TransactionalID: "stockflow-stock-" + s.InstanceID,
		GroupInstanceID: "stockflow-stock-" + s.InstanceID,
		Checker:         event.Checker{Warehouses: known, MaxFuture: s.MaxFuture.Std()},
		Grace:           grace,
		IdleFlush:       idle,
	}, log.With("component", "stock"), stock.NewMetrics(reg))
	if err != nil {
		return err
	}
	repl, err := newReplenisher(kc, s.InstanceID, setup, reg, log)
	if err != nil {
		proc.Close()
		return err
	}
	router, err := newRouting(kc, s.InstanceID, rsetup, reg, log)
	if err != nil {
		proc.Close()
		repl.Close()
		return err
	}
	defer router.Close()
	sink, err := chsink.New(chsink.Config{Kafka: kc, InstanceID: "stockflow-sink-" + s.InstanceID}, st, log.With("component", "sink"), chsink.NewMetrics(reg))
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
		Export: export.API(st, export.APIOptions{Writer: export.WriterOptions{CreatedBy: "stockflow " + version}, Categories: cats}),
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
		},
		Route: router.WhatIf,
	}, log)
	if err != nil {
		proc.Close()
		repl.Close()
		sink.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "stockflow process: brokers %v | ClickHouse %s | http://%s\n", kc.Brokers, st.Mode(), srv.Addr())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return proc.Run(gctx) })
	g.Go(func() error { return repl.Run(gctx) })
	g.Go(func() error { return router.Run(gctx) })
	g.Go(func() error { return sink.Run(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	return g.Wait()
}
