package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/pipelines/routing"
)

// routingFile is the JSON file named by routing_config: routing.Config
// fields over the defaults (DefaultConfig of the registered warehouses;
// "warehouses", when present, replaces them), and items' weights and
// shortage costs by SKU.
type routingFile struct {
	Config *routing.Config            `json:"config"`
	Items  map[event.SKU]routing.Item `json:"items"`
}

// routingSetup is what the routing pipeline needs besides Kafka.
type routingSetup struct {
	cfg   routing.Config
	items map[event.SKU]routing.Item
}

// loadRoutingFile builds setup from the warehouses and s.RoutingConfig.
func loadRoutingFile(s config.Settings, whs []routing.Warehouse, setup *routingSetup) error {
	setup.cfg = routing.DefaultConfig(whs)
	return overlayRoutingFile(s, setup)
}

// runBatchWindowMs is the batch window of `stockflow run` unless the
// routing config sets one: its closed loop waits at every simulated day's
// end for the day's last orders to be decided, so the production default
// (routing.DefaultWindowMs) would add up to that much per simulated day.
const runBatchWindowMs = 200

// runRoutingSetup is the routing setup of `stockflow run`: the simulated
// network and catalogue (the weights and shortage costs `bench routing`
// uses), then s.RoutingConfig over them.
func runRoutingSetup(s config.Settings, sm *sim.Sim) (routingSetup, error) {
	var whs []routing.Warehouse
	for _, w := range sm.Warehouses() {
		whs = append(whs, routing.Warehouse{ID: w.ID, Region: w.Region, Country: w.Country, Lat: w.Lat, Lon: w.Lon})
	}
	setup := routingSetup{cfg: routing.DefaultConfig(whs), items: map[event.SKU]routing.Item{}}
	setup.cfg.Batch.WindowMs = runBatchWindowMs
	for _, it := range sm.Items() {
		kg, ok := routUnitKg[it.Category]
		if !ok {
			kg = routing.DefaultUnitKg
		}
		setup.items[it.SKU] = routing.Item{UnitKg: kg, ShortageCost: routShortageShare * it.Price}
	}
	return setup, overlayRoutingFile(s, &setup)
}

// overlayRoutingFile reads s.RoutingConfig, if set, over setup.
func overlayRoutingFile(s config.Settings, setup *routingSetup) error {
	if s.RoutingConfig != "" {
		b, err := os.ReadFile(s.RoutingConfig)
		if err != nil {
			return fmt.Errorf("routing config: %w", err)
		}
		f := routingFile{Config: &setup.cfg}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields() // a misspelt key must not silently fall back to a default
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("routing config %s: %w", s.RoutingConfig, err)
		}
		if setup.items == nil {
			setup.items = make(map[event.SKU]routing.Item, len(f.Items))
		}
		for sku, it := range f.Items {
			setup.items[sku] = it
		}
	}
	if len(setup.cfg.Warehouses) == 0 {
		return errors.New("routing: no warehouse with a location: register the warehouses (id, region, lat, lon, country) in the warehouses table, or list them under config.warehouses in routing_config")
	}
	if err := setup.cfg.Validate(); err != nil {
		return fmt.Errorf("routing config: %w", err)
	}
	return nil
}

// routingWarehouses reads the warehouse registry as routing needs it.
func routingWarehouses(ctx context.Context, st store.Store) ([]routing.Warehouse, error) {
	res, err := st.Query(ctx, "SELECT id, region, lat, lon, country FROM warehouses FINAL ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read warehouses: %w", err)
	}
	out := make([]routing.Warehouse, 0, len(res.Rows))
	for i, r := range res.Rows {
		id, err1 := res.String(i, 0)
		region, err2 := res.String(i, 1)
		country, err3 := res.String(i, 4)
		lat, ok1 := r[2].(float64)
		lon, ok2 := r[3].(float64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("read warehouses: %w", err)
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("read warehouses: row %d: lat, lon are %T, %T, not Float64", i, r[2], r[3])
		}
		out = append(out, routing.Warehouse{ID: event.WarehouseID(id), Region: region, Country: country, Lat: lat, Lon: lon})
	}
	return out, nil
}

// newRouting builds the routing pipeline of this instance.
func newRouting(kc kafka.Config, instance string, setup routingSetup, reg prometheus.Registerer, log *slog.Logger) (*routing.Processor, error) {
	return routing.NewProcessor(routing.ProcessorConfig{
		Kafka:           kc,
		Router:          setup.cfg,
		Items:           setup.items,
		TransactionalID: "stockflow-routing-" + instance,
		GroupInstanceID: "stockflow-routing-" + instance,
	}, log.With("component", "routing"), routing.NewMetrics(reg))
}

// routingCheck is the routing pipeline's readiness: its view caught up and
// its partitions restored.
func routingCheck(p *routing.Processor) api.Check {
	return func(context.Context) (bool, string) {
		ok, n := p.Ready()
		st := p.Stats()
		return ok, fmt.Sprintf("%d partitions restoring, view caught up: %t", n, st.ViewReady)
	}
}
