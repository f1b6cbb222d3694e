package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

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
	TopicWindows   = event.TopicWindows
	// TopicAccepted holds every input event that passed validation and
	// deduplication, byte for byte, in the partition of its input record,
	// with headers saying how the ledger applied it. It is the canonical
	// log the ClickHouse sinks read.
	TopicAccepted       = "stockflow.accepted.v1"
	TopicStockChangelog = "stockflow.stock-changelog.v1"
	TopicReorders       = event.TopicReorders
	TopicApprovals      = event.TopicApprovals
	// TopicReplenishChangelog holds the replenishment pipeline's state
	// (positions, open reorders, lead-time statistics), compact only.
	TopicReplenishChangelog = "stockflow.replenish-changelog.v1"
	TopicRouting            = event.TopicRouting
	// TopicRoutingChangelog holds the routing pipeline's state (orders
	// awaiting their reservations' results, orders decided), compact only.
	TopicRoutingChangelog = "stockflow.routing-changelog.v1"
	// TopicReservations carries routing's reservation requests to the
	// stock pipeline, keyed by SKU; TopicReservationResults its answers,
	// keyed by order id (DESIGN §3 invariant 4).
	TopicReservations       = event.TopicReservations
	TopicReservationResults = event.TopicReservationResults
	TopicForecasts          = "stockflow.forecasts.v1"
	defaultPartitions       = 6
	defaultRetentionDays    = 30
)

// InputTopics are the upstream topics the stock pipeline consumes. They and
// every topic the pipeline writes share one partition count, so partition p
// of each output holds exactly what partition p of the inputs produced.
var InputTopics = []string{TopicSales, TopicStock, TopicOrders, TopicCampaigns}

// StockInputTopics are every topic the stock pipeline consumes: the
// upstream InputTopics and routing's reservation requests. Reservations
// are not upstream events: they never reach stockflow.accepted.v1, and the
// crash harness's oracle does not replay them into on hand, so they are
// kept out of InputTopics. Consumer-group lag of the stock group is over
// these topics.
var StockInputTopics = []string{TopicSales, TopicStock, TopicOrders, TopicCampaigns, TopicReservations}

// maxMessageBytes is every stockflow topic's max.message.bytes: the
// pipelines produce batches of up to 8 MiB (ProducerBatchMaxBytes), above
// Apache Kafka's 1 MiB default, which failed a transaction of the stock
// pipeline on a real broker (MESSAGE_TOO_LARGE). The embedded broker's
// limit is the same.
const maxMessageBytes = "8388608"

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
		"cleanup.policy":    "delete",
		"retention.ms":      strconv.FormatInt(ret.Milliseconds(), 10),
		"max.message.bytes": maxMessageBytes,
	}
	var specs []TopicSpec
	for _, t := range []string{TopicSales, TopicStock, TopicOrders, TopicCampaigns, TopicDLQ, TopicAccepted, TopicWindows, TopicReorders, TopicApprovals, TopicRouting, TopicForecasts, TopicReservations, TopicReservationResults} {
		specs = append(specs, TopicSpec{Name: t, Partitions: p, Configs: events})
	}
	// The stock changelog is compact only: a ledger must never expire, and
	// the pipeline tombstones the deduplication entries it forgets.
	for _, t := range []string{TopicStockChangelog, TopicReplenishChangelog, TopicRoutingChangelog} {
		specs = append(specs, TopicSpec{Name: t, Partitions: p, Configs: map[string]string{
			"cleanup.policy":    "compact",
			"max.message.bytes": maxMessageBytes,
		}})
	}
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
// partition count of every one of them. It returns the names it created.
//
// Metadata can lag a topic creation (the client also caches metadata for a
// few seconds), so a topic the broker says exists but that was not listed
// is awaited, for a bounded time, before its partitions are checked.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs []TopicSpec, replication int16) ([]string, error) {
	if replication == 0 {
		replication = -1
	}
	existing, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var (
		created []string
		recheck []TopicSpec // reported as existing, but not listed yet
	)
	for _, s := range specs {
		if d, ok := existing[s.Name]; ok && d.Err == nil && len(d.Partitions) > 0 {
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
			recheck = append(recheck, s)
			continue
		}
		if err != nil {
			return created, fmt.Errorf("create topic %s: %w", s.Name, err)
		}
		created = append(created, s.Name)
	}
	if len(recheck) == 0 {
		return created, nil
	}
	return created, checkPartitions(ctx, adm, recheck)
}

// checkPartitions waits until every topic of specs is listed, then checks
// its partition count.
func checkPartitions(ctx context.Context, adm *kadm.Client, specs []TopicSpec) error {
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		listed, err := adm.ListTopics(ctx)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		var missing string
		for _, s := range specs {
			d, ok := listed[s.Name]
			if !ok || d.Err != nil || len(d.Partitions) == 0 {
				missing = s.Name
				break
			}
			if have := int32(len(d.Partitions)); have != s.Partitions {
				return &PartitionMismatchError{Topic: s.Name, Have: have, Want: s.Partitions}
			}
		}
		if missing == "" {
			return nil
		}
		if attempt >= 40 {
			return fmt.Errorf("topic %s still not in the cluster metadata after creation", missing)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for topic %s: %w", missing, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// keyPartitioner is Kafka's default partitioner for keyed records (murmur2
// of the key, as the Java client and kgo's default do); stateless for
// keyed records and safe for concurrent use.
var keyPartitioner = kgo.StickyKeyPartitioner(nil).ForTopic("")

// KeyPartition is the partition, of a topic with n partitions, that Kafka's
// default partitioner gives a record with key: where upstream producers put
// keyed events, and so where a pipeline using kgo.ManualPartitioner must
// put a record that another pipeline expects by key.
func KeyPartition(key []byte, n int32) int32 {
	return int32(keyPartitioner.Partition(&kgo.Record{Key: key}, int(n)))
}
