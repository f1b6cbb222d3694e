package replenish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// Config configures the replenishment pipeline.
type Config struct {
	Kafka kafka.Config
	// Group is the consumer group; default "stockflow-replenish".
	Group string
	// TransactionalID must be stable across restarts of one instance and
	// unique among instances; default Group + "-0".
	TransactionalID string
	// GroupInstanceID, when set, makes the instance a static member.
	GroupInstanceID string
	// Planning holds the rules, costs and priors (DefaultPlanning when
	// zero).
	Planning Planning
	// Items is the item master: supplier, unit cost, case pack, MOQ and
	// maximum per SKU. SKUs not in it use DefaultItem with their own SKU.
	Items       map[event.SKU]Item
	DefaultItem Item
	// Regions maps warehouses to regions; transfers take longer between
	// regions. Unknown warehouses form one region "".
	Regions map[event.WarehouseID]string
	// From is the event time from which decisions are made; earlier events
	// only build state (positions, demand rates). Zero: from the start.
	From time.Time
	// SuggestTTL is how long a suggestion waits for approval before it is
	// withdrawn and re-planned (event time); default 3 days.
	SuggestTTL time.Duration
	// MaxPollRecords bounds one transaction; default 10000.
	MaxPollRecords int
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.planning().Validate(); err != nil {
		return fmt.Errorf("replenish: %w", err)
	}
	if c.SuggestTTL < 0 || c.MaxPollRecords < 0 {
		return errors.New("replenish: negative suggestion TTL or poll size")
	}
	return nil
}

func (c Config) planning() Planning {
	if c.Planning.Global.Policy == "" {
		return DefaultPlanning()
	}
	return c.Planning
}

func (c *Config) defaults() {
	c.Planning = c.planning()
	if c.Group == "" {
		c.Group = "stockflow-replenish"
	}
	if c.TransactionalID == "" {
		c.TransactionalID = c.Group + "-0"
	}
	if c.SuggestTTL == 0 {
		c.SuggestTTL = 72 * time.Hour
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 10000
	}
	if c.DefaultItem.Supplier == "" {
		c.DefaultItem.Supplier = "default"
	}
	if c.DefaultItem.UnitCost == 0 {
		c.DefaultItem.UnitCost = 1
	}
}

// InputTopics are the topics the pipeline consumes: the stock pipeline's
// accepted events (with the ledger's on hand in a header), the forecasts
// and planners' approvals. All are keyed by SKU and share the partition
// count, so one member owns every warehouse of a SKU.
var InputTopics = []string{kafka.TopicAccepted, kafka.TopicForecasts, kafka.TopicApprovals}

// Stats is a snapshot of the processor's counters.
type Stats struct {
	In        uint64 `json:"records_in"`
	Reorders  uint64 `json:"reorders"`
	Transfers uint64 `json:"transfers"`
	Received  uint64 `json:"received"`
	Cancelled uint64 `json:"cancelled"`
	DLQ       uint64 `json:"dead_lettered"`
	Keys      int    `json:"replenish_keys"`
	Commits   uint64 `json:"transactions_committed"`
	Aborts    uint64 `json:"transactions_aborted"`
	Restoring int    `json:"partitions_restoring"`
}

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	In       *prometheus.CounterVec // by topic
	Records  *prometheus.CounterVec // reorder records by kind and status
	DLQ      *prometheus.CounterVec // by reason
	Commits  prometheus.Counter
	Aborts   prometheus.Counter
	Restores prometheus.Counter
	Keys     prometheus.Gauge
}

// NewMetrics registers the metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		In: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stockflow_replenish_records_in_total",
			Help: "Records consumed by the replenishment pipeline, by topic."}, []string{"topic"}),
		Records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stockflow_replenish_reorders_total",
			Help: "Reorder records emitted, by kind (purchase, transfer) and status."}, []string{"kind", "status"}),
		DLQ: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stockflow_replenish_dlq_total",
			Help: "Approvals dead-lettered, by reason."}, []string{"reason"}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_replenish_transactions_committed_total",
			Help: "Transactions committed."}),
		Aborts: prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_replenish_transactions_aborted_total",
			Help: "Transactions aborted (state restored from the changelog)."}),
		Restores: prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_replenish_restores_total",
			Help: "Partitions restored from the changelog."}),
		Keys: prometheus.NewGauge(prometheus.GaugeOpts{Name: "stockflow_replenish_keys",
			Help: "(SKU, warehouse) keys held by this instance."}),
	}
	if reg != nil {
		reg.MustRegister(m.In, m.Records, m.DLQ, m.Commits, m.Aborts, m.Restores, m.Keys)
	}
	return m
}

// Processor runs the replenishment pipeline. Create it with New, call Run.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	sess    *kgo.GroupTransactSession
	// txnInit says the producer id was initialised (InitTransactions);
	// only the Run goroutine reads or sets it.
	txnInit bool

	// inByTopic are the input counters, resolved once (a label lookup per
	// record is measurable).
	inByTopic map[string]prometheus.Counter

	// mu guards parts and pending; the rebalance callbacks take it.
	mu      sync.Mutex
	parts   map[int32]*partition
	pending kafka.Pending // assigned, not yet restored

	in, reorders, transfers, received, cancelled, dlq, commits, aborts atomic.Uint64
	keys                                                               atomic.Int64
	closeOnce                                                          sync.Once
}

// New creates the processor and its Kafka session.
func New(cfg Config, log *slog.Logger, m *Metrics) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	p := &Processor{cfg: cfg, log: log, metrics: m, parts: make(map[int32]*partition),
		inByTopic: make(map[string]prometheus.Counter, len(InputTopics))}
	for _, t := range InputTopics {
		p.inByTopic[t] = m.In.WithLabelValues(t)
	}
	opts, err := cfg.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(InputTopics...),
		kgo.Balancers(kgo.RangeBalancer()), // co-partitioned inputs
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// The inputs are written in transactions: polling the markers that
		// end them lets the committed offsets pass them, so a caught-up
		// group shows no lag.
		kgo.KeepControlRecords(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(p.onAssigned),
		kgo.OnPartitionsRevoked(p.onRevoked),
		kgo.OnPartitionsLost(p.onRevoked),
	)
	if cfg.GroupInstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.GroupInstanceID))
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, fmt.Errorf("replenish: create transact session: %w", err)
	}
	p.sess = sess
	return p, nil
}

// Group is the consumer group the processor commits in.
func (p *Processor) Group() string { return p.cfg.Group }

func (p *Processor) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ps := range assigned {
		for _, part := range ps {
			if _, ok := p.parts[part]; !ok {
				p.pending.Mark(part)
			}
		}
	}
}

// onRevoked drops revoked or lost partitions; their committed state is in
// the changelog.
func (p *Processor) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ps := range revoked {
		for _, part := range ps {
			p.dropLocked(part, false)
		}
	}
}

// dropLocked forgets a partition; with restore it is restored before its
// next use. Called with p.mu held.
func (p *Processor) dropLocked(part int32, restore bool) {
	if st, ok := p.parts[part]; ok {
		p.keys.Add(-int64(len(st.keys)))
		delete(p.parts, part)
	}
	if restore {
		p.pending.Mark(part)
	} else {
		p.pending.Done(part)
	}
	p.metrics.Keys.Set(float64(p.keys.Load()))
}

// Ready reports whether every assigned partition is restored, and how many
// are still restoring.
func (p *Processor) Ready() (bool, int) {
	return p.pending.Ready()
}

// Stats returns a snapshot of the counters.
func (p *Processor) Stats() Stats {
	return Stats{
		In: p.in.Load(), Reorders: p.reorders.Load(), Transfers: p.transfers.Load(),
		Received: p.received.Load(), Cancelled: p.cancelled.Load(), DLQ: p.dlq.Load(),
		Keys: int(p.keys.Load()), Commits: p.commits.Load(), Aborts: p.aborts.Load(),
		Restoring: p.pending.Count(),
	}
}

// Run consumes, decides and produces until ctx is done. Each poll is one
// transaction: reorder records, changelog and input offsets commit
// together, so a crash or a replay can neither repeat nor lose a decision.
// When a transaction aborts, the state of its partitions is restored from
// the changelog.
func (p *Processor) Run(ctx context.Context) error {
	defer p.Close()
	for {
		if err := p.restorePending(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A broker restarting or electing leaders: the partitions stay
			// pending and are restored at the next round.
			p.log.Warn("restore failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := p.sess.PollRecords(pctx, p.cfg.MaxPollRecords)
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, part int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				p.log.Warn("fetch error", "topic", t, "partition", part, "err", err)
			}
		})
		if fetches.NumRecords() == 0 {
			continue
		}
		// A transaction in hand finishes even when ctx is cancelled.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := p.transact(tctx, fetches)
		cancel()
		var re *kafka.RestoreError
		if errors.As(err, &re) {
			// The transaction was aborted and its records are fetched
			// again once the partition is restored.
			p.log.Warn("restore failed; transaction aborted, retrying", "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
}

func (p *Processor) restorePending(ctx context.Context) error {
	if !p.txnInit {
		if err := kafka.InitTransactions(ctx, p.sess.Client()); err != nil {
			return fmt.Errorf("replenish: %w", err)
		}
		p.txnInit = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, part := range p.pending.Parts() {
		if _, err := p.partitionState(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

// partitionState returns part's state, restoring it first when needed.
// Called with p.mu held.
func (p *Processor) partitionState(ctx context.Context, part int32) (*partition, error) {
	if st, ok := p.parts[part]; ok {
		return st, nil
	}
	start := time.Now()
	st := newPartition()
	n, err := kafka.ReadCommitted(ctx, p.cfg.Kafka, kafka.TopicReplenishChangelog, part, p.log, func(r *kgo.Record) {
		p.applyChangelog(st, r)
	})
	if err != nil {
		return nil, fmt.Errorf("replenish: %w", err)
	}
	p.parts[part] = st
	p.pending.Done(part)
	p.keys.Add(int64(len(st.keys)))
	p.metrics.Keys.Set(float64(p.keys.Load()))
	p.metrics.Restores.Inc()
	p.log.Info("restored partition", "partition", part, "records", n, "keys", len(st.keys),
		"forecasts", len(st.forecasts), "lead_times", len(st.leads), "took", time.Since(start))
	return st, nil
}

func (p *Processor) applyChangelog(st *partition, r *kgo.Record) {
	key := string(r.Key)
	var err error
	switch {
	case r.Value == nil:
		// No tombstones are written today.
	case bytes.HasPrefix(r.Key, []byte(prefixKey)):
		ks := new(keyState)
		if err = json.Unmarshal(r.Value, ks); err == nil {
			st.keys[Key{SKU: ks.SKU, Warehouse: ks.Warehouse}] = ks
		}
	case bytes.HasPrefix(r.Key, []byte(prefixForecast)):
		k, ok := splitKey(key[len(prefixForecast):])
		f := new(forecastState)
		if err = json.Unmarshal(r.Value, f); err == nil && ok {
			st.forecasts[k] = f
		}
	case bytes.HasPrefix(r.Key, []byte(prefixLead)):
		l := new(LeadStats)
		if err = json.Unmarshal(r.Value, l); err == nil {
			st.leads[key[len(prefixLead):]] = l
		}
	case bytes.HasPrefix(r.Key, []byte(prefixSKU)):
		s := new(skuState)
		if err = json.Unmarshal(r.Value, s); err == nil {
			st.skus[event.SKU(key[len(prefixSKU):])] = s
		}
	case bytes.HasPrefix(r.Key, []byte(prefixPartition)):
		err = json.Unmarshal(r.Value, &st.times)
	}
	if err != nil {
		p.log.Error("skip undecodable replenishment state in changelog", "key", key, "offset", r.Offset, "err", err)
	}
}

// splitKey parses "<sku>/<warehouse>"; SKUs and warehouse ids contain no
// slash (the event contract's identifier pattern).
func splitKey(s string) (Key, bool) {
	i := bytes.LastIndexByte([]byte(s), '/')
	if i <= 0 {
		return Key{}, false
	}
	return Key{SKU: event.SKU(s[:i]), Warehouse: event.WarehouseID(s[i+1:])}, true
}

func (p *Processor) transact(ctx context.Context, fetches kgo.Fetches) error {
	if err := p.sess.Begin(); err != nil {
		return fmt.Errorf("replenish: begin transaction: %w", err)
	}
	byPart := make(map[int32]map[string][]*kgo.Record)
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		if byPart[fp.Partition] == nil {
			byPart[fp.Partition] = make(map[string][]*kgo.Record)
		}
		byPart[fp.Partition][fp.Topic] = fp.Records
	})
	tx := &kafka.Txn{}
	p.mu.Lock()
	var fail error
	parts := make([]int32, 0, len(byPart))
	for part, topics := range byPart {
		parts = append(parts, part)
		st, err := p.partitionState(ctx, part)
		if err != nil {
			fail = err
			break
		}
		w := &work{p: p, tx: tx, ctx: ctx, part: part, st: st, d: newDirty()}
		// Within a partition: stock and sales first, then forecasts, then
		// approvals, each in offset order.
		for _, topic := range InputTopics {
			for _, r := range topics[topic] {
				w.record(r)
			}
		}
		if err := st.changelog(w.d, part, func(key string, value []byte) {
			p.produce(ctx, tx, &kgo.Record{Topic: kafka.TopicReplenishChangelog, Partition: part, Key: []byte(key), Value: value})
		}); err != nil {
			fail = fmt.Errorf("replenish: encode state: %w", err)
			break
		}
	}
	p.mu.Unlock()
	return p.end(ctx, tx, parts, fail)
}

// end commits, or aborts and restores the partitions' state.
func (p *Processor) end(ctx context.Context, tx *kafka.Txn, parts []int32, fail error) error {
	try := kgo.TryCommit
	if fail != nil {
		try = kgo.TryAbort
	}
	if err := tx.Wait(); err != nil {
		p.log.Warn("produce failed; aborting transaction", "err", err)
		try = kgo.TryAbort
	}
	committed, err := p.sess.End(ctx, try)
	p.mu.Lock()
	if committed {
		p.commits.Add(1)
		p.metrics.Commits.Inc()
	} else {
		for _, part := range parts {
			if _, ok := p.parts[part]; ok || p.pending.Has(part) {
				p.dropLocked(part, true)
			}
		}
		p.aborts.Add(1)
		p.metrics.Aborts.Inc()
	}
	p.mu.Unlock()
	if fail != nil {
		return fail
	}
	if err != nil {
		p.log.Warn("end transaction", "err", err, "committed", committed)
	}
	return nil
}

func (p *Processor) produce(ctx context.Context, tx *kafka.Txn, r *kgo.Record) {
	tx.Produce(ctx, p.sess, r)
}

// Close leaves the group and closes the session. It is idempotent.
func (p *Processor) Close() {
	p.closeOnce.Do(func() { p.sess.Close() })
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
