// Package chsink is the ClickHouse sink: it consumes stockflow's output
// topics (the accepted events, the stock changelog, the DLQ, the window
// results, the reorders and the routing decisions) with read_committed and writes them into the
// store's tables exactly once.
//
// Batches are deterministic: one per source partition and table, named by
// the insert_deduplication_token <topic>-<partition>-<first>-<last> (the
// offsets of its first and last data record). Before inserting, the sink
// commits the partition's current offset again with metadata recording
// where the batch ends (an intent); after inserting it commits past the
// batch. A member that starts on a partition whose commit carries an
// intent, after a crash or a rebalance, cuts exactly that batch again, so
// its inserts repeat the same tokens and ClickHouse drops them, in the
// tables and in the targets of their materialized views. Failed inserts
// are retried with backoff for as long as the sink runs, and the sink does
// not poll meanwhile. See README.md, "Exactly-once sink".
//
// It imports the store and the event contract, never the pipelines.
package chsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
)

// Topics the sink consumes.
var Topics = []string{kafka.TopicAccepted, kafka.TopicStockChangelog, kafka.TopicDLQ, kafka.TopicWindows, kafka.TopicReorders, event.TopicRouting, event.TopicReservationResults}

// Config configures the sink.
type Config struct {
	Kafka kafka.Config
	// Group is the consumer group; default "stockflow-sink".
	Group string
	// InstanceID, when set, makes the sink a static member of its group
	// (KIP-345): it does not leave the group when it stops, and an instance
	// restarted with the same id takes its partitions back at once instead
	// of after the session timeout. Give every instance its own id.
	InstanceID string
	// MaxBatchRecords bounds the records taken in one poll; default 50000.
	MaxBatchRecords int
	// RetryBackoff is the wait after the first failed insert, doubled after
	// every further failure up to MaxRetryBackoff; defaults 200ms and 10s.
	// Inserts are retried for as long as Run's context is alive.
	RetryBackoff, MaxRetryBackoff time.Duration
	// InsertTimeout bounds one insert attempt; default 2m.
	InsertTimeout time.Duration
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if c.MaxBatchRecords < 0 || c.RetryBackoff < 0 || c.MaxRetryBackoff < 0 || c.InsertTimeout < 0 {
		return errors.New("chsink: negative batch size, backoff or timeout")
	}
	return nil
}

// Metrics are the sink's Prometheus instruments.
type Metrics struct {
	Rows    *prometheus.CounterVec // by table
	Inserts *prometheus.CounterVec // by table
	Retries prometheus.Counter
	Skipped *prometheus.CounterVec // records that could not be turned into rows, by reason
	// StoreUp is 1 while inserts succeed and 0 from a failed insert until
	// one succeeds again.
	StoreUp prometheus.Gauge
	// Resumed counts batches cut again from an intent found in the group's
	// commits: a member stopped between recording a batch and committing
	// past it.
	Resumed prometheus.Counter
}

// NewMetrics creates and registers (when reg is not nil) the instruments.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_sink_rows_total", Help: "Rows inserted into ClickHouse, by table.",
		}, []string{"table"}),
		Inserts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_sink_inserts_total", Help: "Insert batches sent, by table.",
		}, []string{"table"}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockflow_sink_insert_retries_total", Help: "Insert attempts retried after a transient failure.",
		}),
		Skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockflow_sink_records_skipped_total", Help: "Records that could not become rows (a contract violation upstream), by reason.",
		}, []string{"reason"}),
		StoreUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stockflow_sink_store_up", Help: "1 while ClickHouse accepts the sink's inserts, 0 while they fail and are retried.",
		}),
		Resumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockflow_sink_resumed_batches_total", Help: "Batches cut again from an intent left in the group's commits by a stopped member.",
		}),
	}
	m.StoreUp.Set(1)
	if reg != nil {
		reg.MustRegister(m.Rows, m.Inserts, m.Retries, m.Skipped, m.StoreUp, m.Resumed)
	}
	return m
}

// Sink moves topics into ClickHouse tables.
type Sink struct {
	cfg     Config
	store   store.Store
	log     *slog.Logger
	metrics *Metrics
	cl      *kgo.Client
	rows    atomic.Uint64
	closed  atomic.Bool

	mu      sync.Mutex
	intents map[tp]intent // pending intents of assigned partitions, from the group's commits

	// hook, set by tests only, is called after each step of a round with
	// the round's inserts; an error ends Run with it, as a crash would.
	hook func(step string, inserts []*store.Batch) error
}

// New creates the sink and its consumer.
func New(cfg Config, st store.Store, log *slog.Logger, m *Metrics) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Group == "" {
		cfg.Group = "stockflow-sink"
	}
	if cfg.MaxBatchRecords == 0 {
		cfg.MaxBatchRecords = 50000
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 200 * time.Millisecond
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = 10 * time.Second
	}
	if cfg.InsertTimeout == 0 {
		cfg.InsertTimeout = 2 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	s := &Sink{cfg: cfg, store: st, log: log, metrics: m, intents: make(map[tp]intent)}
	opts, err := cfg.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(Topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // commit past transaction markers, so lag reaches zero
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnOffsetsFetched(s.onOffsetsFetched),
		kgo.OnPartitionsRevoked(s.forget),
		kgo.OnPartitionsLost(s.forget),
	)
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	if s.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("chsink: create consumer: %w", err)
	}
	return s, nil
}

// Rows returns how many rows the sink has inserted.
func (s *Sink) Rows() uint64 { return s.rows.Load() }

// Group returns the consumer group name.
func (s *Sink) Group() string { return s.cfg.Group }

// Run polls, inserts and commits until ctx is done. A round in hand when ctx
// ends is finished if ClickHouse takes its inserts at the first attempt
// (shutdown phase one); otherwise it is left to the next run, which cuts the
// same batches from the recorded intents. Run returns nil then, and an
// error only when the sink cannot go on.
func (s *Sink) Run(ctx context.Context) error {
	defer s.Close()
	// Records polled but not yet in a batch, by partition, in offset
	// order. Rebalances stay blocked while any are held.
	held := make(map[tp][]*kgo.Record)
	for {
		fetches := s.cl.PollRecords(ctx, s.cfg.MaxBatchRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			s.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				k := tp{p.Topic, p.Partition}
				held[k] = append(held[k], p.Records...)
			}
		})
		for {
			batches := s.cut(held)
			if len(batches) == 0 {
				break
			}
			if err := s.round(ctx, batches, held); err != nil {
				if ctx.Err() != nil {
					s.log.Info("stopped with a batch in hand; the next run cuts it again", "err", err)
					return nil
				}
				return err
			}
		}
		if len(held) == 0 {
			s.cl.AllowRebalance()
		}
	}
}

// Lag returns the sink group's total lag over its topics: on every
// partition of Topics, the offsets from the group's committed offset (or
// from the log start where it has none, since the sink starts there) to the
// end. Unlike kadm's group lag, which covers only the partitions a group is
// assigned or has committed, this counts a group that has not consumed yet
// and a partition that got its first records while the sink was stopped.
func Lag(ctx context.Context, adm *kadm.Client, group string) (int64, error) {
	return kafka.GroupLag(ctx, adm, group, Topics...)
}

// Close closes the consumer; it is idempotent. Autocommit is off, so it
// commits nothing; with an InstanceID it does not leave the group either.
func (s *Sink) Close() {
	if s.closed.CompareAndSwap(false, true) {
		// The consumer blocks rebalances while a poll is in hand; leaving
		// the group is one, so allow it or Close waits forever.
		s.cl.CloseAllowingRebalance()
	}
}

// sortInserts orders a round's inserts: raw tables before stock_levels, so
// stored levels never run ahead of the events that explain them; then by
// table and partition.
func sortInserts(bs []*partInsert) {
	sort.SliceStable(bs, func(i, j int) bool {
		a, b := bs[i], bs[j]
		if (a.b.Table == tableStockLevels) != (b.b.Table == tableStockLevels) {
			return b.b.Table == tableStockLevels
		}
		if a.b.Table != b.b.Table {
			return a.b.Table < b.b.Table
		}
		return lessTP(a.tp, b.tp) < 0
	})
}
