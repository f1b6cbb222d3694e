package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/pipelines/replenish"
)

// replenishFile is the JSON file named by replenish_config: the planning
// rules (replenish.Planning) and the item master.
type replenishFile struct {
	Planning    *replenish.Planning `json:"planning"`
	Items       []replenish.Item    `json:"items"`
	DefaultItem *replenish.Item     `json:"default_item"`
}

// replenishSetup is what the replenishment pipeline needs besides Kafka.
type replenishSetup struct {
	planning    replenish.Planning
	items       map[event.SKU]replenish.Item
	defaultItem replenish.Item
	regions     map[event.WarehouseID]string
	from        time.Time
}

// loadReplenishFile reads s.ReplenishConfig into setup (defaults when unset).
func loadReplenishFile(s config.Settings, setup *replenishSetup) error {
	setup.planning = replenish.DefaultPlanning()
	if s.ReplenishConfig == "" {
		return nil
	}
	b, err := os.ReadFile(s.ReplenishConfig)
	if err != nil {
		return fmt.Errorf("replenish config: %w", err)
	}
	var f replenishFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt key must not silently fall back to a default
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("replenish config %s: %w", s.ReplenishConfig, err)
	}
	if f.Planning != nil {
		setup.planning = *f.Planning
	}
	if err := setup.planning.Validate(); err != nil {
		return fmt.Errorf("replenish config %s: %w", s.ReplenishConfig, err)
	}
	if len(f.Items) > 0 && setup.items == nil {
		setup.items = make(map[event.SKU]replenish.Item, len(f.Items))
	}
	for _, it := range f.Items {
		setup.items[it.SKU] = it
	}
	if f.DefaultItem != nil {
		setup.defaultItem = *f.DefaultItem
	}
	return nil
}

// newReplenisher builds the replenishment pipeline of this instance.
func newReplenisher(kc kafka.Config, instance string, setup replenishSetup, reg prometheus.Registerer, log *slog.Logger) (*replenish.Processor, error) {
	return replenish.New(replenish.Config{
		Kafka:           kc,
		TransactionalID: "stockflow-replenish-" + instance,
		GroupInstanceID: "stockflow-replenish-" + instance,
		Planning:        setup.planning,
		Items:           setup.items,
		DefaultItem:     setup.defaultItem,
		Regions:         setup.regions,
		From:            setup.from,
	}, log.With("component", "replenish"), replenish.NewMetrics(reg))
}

// newApprover returns the API's Approve function: it produces a planner's
// decision to stockflow.approvals.v1, keyed by SKU so that it reaches the
// partition that owns the SKU's reorders. close releases its client.
func newApprover(kc kafka.Config) (approve func(context.Context, event.Approval) error, closeFn func(), err error) {
	opts, err := kc.Opts()
	if err != nil {
		return nil, nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("approvals producer: %w", err)
	}
	approve = func(ctx context.Context, a event.Approval) error {
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		return cl.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicApprovals, Key: []byte(a.SKU), Value: v}).FirstErr()
	}
	return approve, cl.Close, nil
}
