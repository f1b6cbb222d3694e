package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/stockflow/stockflow/internal/event"
)

// The topics of stockflow's contract. Input topics are produced upstream;
// the others are written by stockflow's pipelines.
const (
	TopicSales     = event.TopicSales
	TopicStock     = event.TopicStock
	TopicOrders    = event.TopicOrders
	TopicCampaigns = event.TopicCampaigns
	TopicDLQ       = event.TopicDLQ
	// TopicAccepted holds every input event that passed validation and
	// deduplication, byte for byte, in the partition of its input record,
	// with headers saying how the ledger applied it. It is the canonical
	// log the ClickHouse sinks read.
	TopicAccepted        = "stockflow.accepted.v1"
	TopicStockChangelog  = "stockflow.stock-changelog.v1"
	TopicReorders        = "stockflow.reorders.v1"
	TopicRouting         = "stockflow.routing.v1"
	TopicForecasts       = "stockflow.forecasts.v1"
	defaultPartitions    = 6
	defaultRetentionDays = 30
)

// InputTopics are the upstream topics the stock pipeline consumes. They and
// every topic the pipeline writes share one partition count, so partition p
// of each output holds exactly what partition p of the inputs produced.
var InputTopics = []string{TopicSales, TopicStock, TopicOrders, TopicCampaigns}

// TopicSpec describes one topic to create.
type TopicSpec struct {
	Name       string
	Partitions int32
	Configs    map[string]string
}

// TopicsConfig sizes the topic catalogue.
type TopicsConfig struct {
	// Partitions of every topic; zero means 6. Raising it later needs a
	// re-partitioning plan, because keys move between partitions.
	Partitions int32
	// Replication factor; zero means the broker default (-1).
	Replication int16
	// Retention of event topics; zero means 30 days.
	Retention time.Duration
}

// Validate reports the first problem with c.
func (c TopicsConfig) Validate() error {
	if c.Partitions < 0 || c.Replication < 0 || c.Retention < 0 {
		return errors.New("kafka: topic sizes must not be negative")
	}
	return nil
}

// Specs returns the full catalogue.
func (c TopicsConfig) Specs() []TopicSpec {
	p := c.Partitions
	if p == 0 {
		p = defaultPartitions
	}
	ret := c.Retention
	if ret == 0 {
		ret = defaultRetentionDays * 24 * time.Hour
	}
	events := map[string]string{
		"cleanup.policy": "delete",
		"retention.ms":   strconv.FormatInt(ret.Milliseconds(), 10),
	}
	var specs []TopicSpec
	for _, t := range []string{TopicSales, TopicStock, TopicOrders, TopicCampaigns, TopicDLQ, TopicAccepted, TopicReorders, TopicRouting, TopicForecasts} {
		specs = append(specs, TopicSpec{Name: t, Partitions: p, Configs: events})
	}
	// The stock changelog is compact only: a ledger must never expire, and
	// the pipeline tombstones the deduplication entries it forgets.
	specs = append(specs, TopicSpec{Name: TopicStockChangelog, Partitions: p, Configs: map[string]string{
		"cleanup.policy": "compact",
	}})
	return specs
}

// PartitionMismatchError reports an existing topic whose partition count
// differs from the catalogue; co-partitioning would break.
type PartitionMismatchError struct {
	Topic      string
	Have, Want int32
}

func (e *PartitionMismatchError) Error() string {
	return fmt.Sprintf("kafka: topic %s has %d partitions, stockflow needs %d (all stockflow topics must share one partition count)", e.Topic, e.Have, e.Want)
}

// EnsureTopics creates the topics of specs that do not exist and checks the
// partition count of those that do. It returns the names it created.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs []TopicSpec, replication int16) ([]string, error) {
	if replication == 0 {
		replication = -1
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	existing, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var created []string
	for _, s := range specs {
		if d, ok := existing[s.Name]; ok && d.Err == nil {
			if have := int32(len(d.Partitions)); have != s.Partitions {
				return created, &PartitionMismatchError{Topic: s.Name, Have: have, Want: s.Partitions}
			}
			continue
		}
		cfg := make(map[string]*string, len(s.Configs))
		for k, v := range s.Configs {
			cfg[k] = kadm.StringPtr(v)
		}
		resp, err := adm.CreateTopic(ctx, s.Partitions, replication, cfg, s.Name)
		if err == nil {
			err = resp.Err
		}
		if errors.Is(err, kerr.TopicAlreadyExists) {
			continue
		}
		if err != nil {
			return created, fmt.Errorf("create topic %s: %w", s.Name, err)
		}
		created = append(created, s.Name)
	}
	return created, nil
}
