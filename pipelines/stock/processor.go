package stock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// ReasonLateCount dead-letters a count older than the correction horizon:
// it can no longer be placed exactly among the deltas around it.
const ReasonLateCount event.Reason = "late_count"

// Config configures the stock pipeline.
type Config struct {
	Kafka kafka.Config
	// Group is the consumer group; default "stockflow-stock".
	Group string
	// TransactionalID must be stable across restarts of one instance and
	// unique among instances; default Group + "-0".
	TransactionalID string
	// Checker holds the contextual validation (warehouse registry,
	// future-timestamp skew, record size).
	Checker event.Checker
	// DedupWindow is how long (in event time) an event id is remembered;
	// default 7 days.
	DedupWindow time.Duration
	// Horizon is how far back (in event time) a count may arrive and still
	// be placed exactly; default 7 days.
	Horizon time.Duration
	// MaxPollRecords bounds one transaction; default 20000.
	MaxPollRecords int
	// Now is the wall clock for the future-timestamp check; default time.Now.
	Now func() time.Time
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Checker.Validate(); err != nil {
		return fmt.Errorf("stock: %w", err)
	}
	if c.DedupWindow < 0 || c.Horizon < 0 || c.MaxPollRecords < 0 {
		return errors.New("stock: negative window, horizon or poll size")
	}
	return nil
}

func (c *Config) defaults() {
	if c.Group == "" {
		c.Group = "stockflow-stock"
	}
	if c.TransactionalID == "" {
		c.TransactionalID = c.Group + "-0"
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = 7 * 24 * time.Hour
	}
	if c.Horizon == 0 {
		c.Horizon = 7 * 24 * time.Hour
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 20000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// partition is the state one input partition owns.
type partition struct {
	levels     map[Key]*Level
	seen       map[string]int64 // event id -> event time (Unix ms)
	streamTime int64            // max event time accepted (Unix ms)
	// topicTime is the max event time accepted per ledger topic (sales,
	// stock). While one ledger topic lags behind the other (catching up a
	// backlog), the correction horizon follows the lagging one, so deltas
	// are not folded before that topic's counts can still be placed.
	topicTime map[string]int64
	swept     int64    // stream time of the last dedup sweep
	forgotten []string // evicted event ids to tombstone in the changelog
}

func newPartition() *partition {
	return &partition{
		levels: make(map[Key]*Level), seen: make(map[string]int64),
		topicTime: make(map[string]int64),
	}
}

// ledgerTopics feed the ledger; the correction horizon depends on them.
var ledgerTopics = []string{kafka.TopicSales, kafka.TopicStock}

// maxTopicSkew bounds how far the correction horizon may trail the stream
// time for a lagging ledger topic, and so the deltas a ledger keeps.
const maxTopicSkew = 30 * 24 * time.Hour

// horizon is the start of the correction horizon (Unix ms): d behind the
// earliest of the ledger topics' latest event times (topics not seen yet on
// this partition aside), but never more than maxTopicSkew + d behind the
// stream time. It only decides what is folded; exactness comes from
// Level.FoldedMaxTS, so the horizon may move back and forth.
func (st *partition) horizon(d time.Duration) int64 {
	t := st.streamTime
	for _, topic := range ledgerTopics {
		if tt := st.topicTime[topic]; tt > 0 {
			t = min(t, tt)
		}
	}
	t = max(t, st.streamTime-maxTopicSkew.Milliseconds())
	return t - d.Milliseconds()
}

// Stats is a snapshot of the processor's counters.
type Stats struct {
	In        uint64 `json:"events_in"`
	Accepted  uint64 `json:"events_accepted"`
	DLQ       uint64 `json:"events_dlq"`
	Keys      int    `json:"stock_keys"`
	Commits   uint64 `json:"transactions_committed"`
	Aborts    uint64 `json:"transactions_aborted"`
	Restoring int    `json:"partitions_restoring"`
}

// Processor runs the stock pipeline. Create it with New and call Run.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics

	sess *kgo.GroupTransactSession

	// mu guards parts and pending; the rebalance callbacks take it, so a
	// revocation waits for the batch in hand.
	mu      sync.Mutex
	parts   map[int32]*partition
	pending map[int32]bool // assigned, not yet restored

	// Counters resolved once: a label lookup per record is measurable.
	inByTopic      map[string]prometheus.Counter
	acceptedByType [event.TypeCampaign + 1]prometheus.Counter

	in, accepted, dlq, commits, aborts atomic.Uint64
	keys                               atomic.Int64
	restoring                          atomic.Int64
	closeOnce                          sync.Once
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
	p := &Processor{
		cfg: cfg, log: log, metrics: m,
		parts:     make(map[int32]*partition),
		pending:   make(map[int32]bool),
		inByTopic: make(map[string]prometheus.Counter),
	}
	for _, t := range kafka.InputTopics {
		p.inByTopic[t] = m.In.WithLabelValues(t)
	}
	for t := range p.acceptedByType {
		p.acceptedByType[t] = m.Accepted.WithLabelValues(event.Type(t).String())
	}
	opts, err := cfg.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(kafka.InputTopics...),
		kgo.Balancers(kgo.RangeBalancer()), // co-partitioned inputs: same partition number, same member
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ProducerBatchMaxBytes(8<<20),
		kgo.OnPartitionsAssigned(p.onAssigned),
		kgo.OnPartitionsRevoked(p.onRevoked),
		kgo.OnPartitionsLost(p.onRevoked),
	)
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, fmt.Errorf("stock: create transact session: %w", err)
	}
	p.sess = sess
	return p, nil
}

// onAssigned marks assigned partitions for restoration; the poll loop
// restores them before it processes their records.
func (p *Processor) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ps := range assigned {
		for _, part := range ps {
			if _, ok := p.parts[part]; !ok && !p.pending[part] {
				p.pending[part] = true
				p.restoring.Add(1)
			}
		}
	}
}

// onRevoked drops the state of revoked or lost partitions. Their committed
// state lives in the changelog; whoever gets them next restores it. The
// range balancer moves a partition number of every input topic together.
func (p *Processor) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ps := range revoked {
		for _, part := range ps {
			if st, ok := p.parts[part]; ok {
				p.keys.Add(-int64(len(st.levels)))
				delete(p.parts, part)
			}
			if p.pending[part] {
				delete(p.pending, part)
				p.restoring.Add(-1)
			}
		}
	}
	p.metrics.Keys.Set(float64(p.keys.Load()))
}

// Ready reports whether every assigned partition is restored, and how many
// are still restoring.
func (p *Processor) Ready() (bool, int) {
	n := int(p.restoring.Load())
	return n == 0, n
}

// Stats returns a snapshot of the counters.
func (p *Processor) Stats() Stats {
	return Stats{
		In: p.in.Load(), Accepted: p.accepted.Load(), DLQ: p.dlq.Load(),
		Keys: int(p.keys.Load()), Commits: p.commits.Load(), Aborts: p.aborts.Load(),
		Restoring: int(p.restoring.Load()),
	}
}

// Run consumes, applies and produces until ctx is done. Each poll is one
// transaction: outputs, changelog and input offsets commit together, or
// the batch's state changes are rolled back.
func (p *Processor) Run(ctx context.Context) error {
	defer p.Close()
	for {
		fetches := p.sess.PollRecords(ctx, p.cfg.MaxPollRecords)
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, part int32, err error) {
			p.log.Warn("fetch error", "topic", t, "partition", part, "err", err)
		})
		if fetches.NumRecords() == 0 {
			continue
		}
		// A transaction in hand finishes even when ctx is cancelled
		// (shutdown phase one: stop polling, finish and commit).
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := p.transact(tctx, fetches)
		cancel()
		if err != nil {
			return err
		}
	}
}

// batch collects one transaction's undo log and outputs.
type batch struct {
	undoLevels map[int32]map[Key]*Level // nil value: key did not exist
	undoStream map[int32]int64
	undoTopics map[int32]map[string]int64
	addedSeen  map[int32][]string
	dirty      map[int32]map[Key]*Level
	produced   int
	firstErr   atomic.Pointer[error]
	wg         sync.WaitGroup
}

func (p *Processor) transact(ctx context.Context, fetches kgo.Fetches) error {
	if err := p.sess.Begin(); err != nil {
		return fmt.Errorf("stock: begin transaction: %w", err)
	}
	b := &batch{
		undoLevels: make(map[int32]map[Key]*Level),
		undoStream: make(map[int32]int64),
		undoTopics: make(map[int32]map[string]int64),
		addedSeen:  make(map[int32][]string),
		dirty:      make(map[int32]map[Key]*Level),
	}
	now := p.cfg.Now()
	n := 0
	tasks := make(map[int32]map[string][]*kgo.Record)
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		t := tasks[fp.Partition]
		if t == nil {
			t = make(map[string][]*kgo.Record)
			tasks[fp.Partition] = t
		}
		t[fp.Topic] = fp.Records
	})
	rewind := make(map[string]map[int32]kgo.EpochOffset)
	p.mu.Lock()
	var restoreErr error
	for part, queues := range tasks {
		st, err := p.partitionState(ctx, part)
		if err != nil {
			restoreErr = err
			break
		}
		if _, ok := b.undoStream[part]; !ok {
			b.undoStream[part] = st.streamTime
			b.undoTopics[part] = maps.Clone(st.topicTime)
		}
		for _, r := range mergeByTime(queues, rewind) {
			n++
			p.process(ctx, b, st, r, now)
		}
	}
	if restoreErr == nil && len(rewind) > 0 {
		// Records held back to keep the inputs in time order are fetched
		// again; the transaction commits offsets only up to them.
		p.sess.Client().SetOffsets(rewind)
	}
	if restoreErr == nil {
		p.emitState(ctx, b)
	}
	p.mu.Unlock()
	p.metrics.BatchSize.Observe(float64(n))

	try := kgo.TryCommit
	if restoreErr != nil {
		try = kgo.TryAbort
	}
	b.wg.Wait()
	if e := b.firstErr.Load(); e != nil {
		p.log.Warn("produce failed; aborting transaction", "err", *e)
		try = kgo.TryAbort
	}
	committed, err := p.sess.End(ctx, try)
	if !committed {
		p.rollback(b)
		p.aborts.Add(1)
		p.metrics.Aborts.Inc()
	} else {
		p.commits.Add(1)
		p.metrics.Commits.Inc()
		p.housekeep(b)
	}
	if restoreErr != nil {
		return restoreErr
	}
	if err != nil {
		// The session aborts and rewinds to the committed offsets; the
		// next poll re-processes the batch against rolled-back state.
		p.log.Warn("end transaction", "err", err, "committed", committed)
	}
	return nil
}

// partitionState returns the state of part, restoring it from the
// changelog first when it was just assigned. Called with p.mu held.
func (p *Processor) partitionState(ctx context.Context, part int32) (*partition, error) {
	if st, ok := p.parts[part]; ok {
		return st, nil
	}
	st, err := p.restore(ctx, part)
	if err != nil {
		return nil, fmt.Errorf("stock: restore partition %d: %w", part, err)
	}
	p.parts[part] = st
	if p.pending[part] {
		delete(p.pending, part)
		p.restoring.Add(-1)
	}
	p.keys.Add(int64(len(st.levels)))
	p.metrics.Restores.Inc()
	return st, nil
}

var topicType = map[string]event.Type{
	kafka.TopicSales:     event.TypeSale,
	kafka.TopicStock:     event.TypeStock,
	kafka.TopicOrders:    event.TypeOrder,
	kafka.TopicCampaigns: event.TypeCampaign,
}

// process applies one record. Called with p.mu held.
func (p *Processor) process(ctx context.Context, b *batch, st *partition, r *kgo.Record, now time.Time) {
	p.in.Add(1)
	if c := p.inByTopic[r.Topic]; c != nil {
		c.Inc()
	} else {
		p.metrics.In.WithLabelValues(r.Topic).Inc()
	}
	typ := topicType[r.Topic]
	if err := p.cfg.Checker.CheckSize(len(r.Value)); err != nil {
		p.deadLetter(ctx, b, r, typ, err)
		return
	}
	var (
		id     string
		ts     time.Time
		sale   event.Sale
		stk    event.Stock
		err    error
		isLedg bool
	)
	switch typ {
	case event.TypeSale:
		if err = event.DecodeSale(r.Value, &sale); err == nil {
			err = p.cfg.Checker.CheckSale(&sale, now)
		}
		id, ts, isLedg = sale.EventID, sale.TS, true
	case event.TypeStock:
		if err = event.DecodeStock(r.Value, &stk); err == nil {
			err = p.cfg.Checker.CheckStock(&stk, now)
		}
		id, ts, isLedg = stk.EventID, stk.TS, true
	case event.TypeOrder:
		var o event.Order
		if err = event.DecodeOrder(r.Value, &o); err == nil {
			err = p.cfg.Checker.CheckOrder(&o, now)
		}
		id, ts = o.EventID, o.TS
	case event.TypeCampaign:
		var c event.Campaign
		if err = event.DecodeCampaign(r.Value, &c); err == nil {
			err = p.cfg.Checker.CheckCampaign(&c, now)
		}
		id, ts = c.EventID, c.TS
	default:
		err = &event.Error{Reason: event.ReasonInvalidValue, Msg: "record from unexpected topic " + r.Topic}
	}
	if err != nil {
		p.deadLetter(ctx, b, r, typ, err)
		return
	}
	if _, dup := st.seen[id]; dup {
		p.deadLetter(ctx, b, r, typ, &event.Error{Reason: event.ReasonDuplicateEvent, Field: "event_id",
			Msg: "event_id " + id + " was already accepted within the deduplication window"})
		return
	}
	tsMS := ts.UnixMilli()
	headers := []kgo.RecordHeader{
		{Key: event.HeaderEventType, Value: []byte(typ.String())},
		{Key: event.HeaderSourceTopic, Value: []byte(r.Topic)},
		{Key: event.HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		{Key: event.HeaderSourceOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	}
	if isLedg {
		var key Key
		if typ == event.TypeSale {
			key = Key{SKU: sale.SKU, Warehouse: sale.Warehouse}
		} else {
			key = Key{SKU: stk.SKU, Warehouse: stk.Warehouse}
		}
		lv := p.level(b, st, r.Partition, key)
		horizon := st.horizon(p.cfg.Horizon)
		var (
			out Outcome
			d   int64
		)
		switch {
		case typ == event.TypeSale:
			out, d = lv.ApplyDelta(tsMS, -sale.Qty, horizon)
		case stk.Kind == event.KindCount:
			out, d = lv.ApplyCount(tsMS, stk.EventID, stk.Qty, horizon)
		default:
			out, d = lv.ApplyDelta(tsMS, stk.Kind.Delta(stk.Qty), horizon)
		}
		if out == TooLate {
			p.deadLetter(ctx, b, r, typ, &event.Error{Reason: ReasonLateCount, Field: "ts",
				Msg: fmt.Sprintf("count at %s is older than a delta at %s already folded beyond the %s correction horizon",
					ts.UTC().Format(time.RFC3339), time.UnixMilli(lv.FoldedMaxTS).UTC().Format(time.RFC3339), p.cfg.Horizon)})
			return
		}
		outcome := "applied"
		if out == Superseded {
			outcome = "superseded"
		}
		headers = append(headers,
			kgo.RecordHeader{Key: event.HeaderDelta, Value: strconv.AppendInt(nil, d, 10)},
			kgo.RecordHeader{Key: event.HeaderOnHand, Value: strconv.AppendInt(nil, lv.OnHand, 10)},
			kgo.RecordHeader{Key: event.HeaderOutcome, Value: []byte(outcome)},
		)
	}
	st.seen[id] = tsMS
	b.addedSeen[r.Partition] = append(b.addedSeen[r.Partition], id)
	if tsMS > st.streamTime {
		st.streamTime = tsMS
	}
	if isLedg && tsMS > st.topicTime[r.Topic] {
		st.topicTime[r.Topic] = tsMS
	}
	p.produce(ctx, b, &kgo.Record{
		Topic: kafka.TopicAccepted, Partition: r.Partition, Key: r.Key, Value: r.Value,
		Headers: headers,
	})
	p.produce(ctx, b, &kgo.Record{
		Topic: kafka.TopicStockChangelog, Partition: r.Partition,
		Key:   []byte(event.ChangelogSeenPrefix + id),
		Value: strconv.AppendInt(nil, tsMS, 10),
	})
	p.accepted.Add(1)
	p.acceptedByType[typ].Inc()
}

// level returns the ledger of key, saving its prior state in the undo log
// the first time the batch touches it.
func (p *Processor) level(b *batch, st *partition, part int32, key Key) *Level {
	lv, ok := st.levels[key]
	undo := b.undoLevels[part]
	if undo == nil {
		undo = make(map[Key]*Level)
		b.undoLevels[part] = undo
	}
	if _, saved := undo[key]; !saved {
		if ok {
			undo[key] = lv.clone()
		} else {
			undo[key] = nil
		}
	}
	if !ok {
		lv = &Level{SKU: key.SKU, Warehouse: key.Warehouse}
		st.levels[key] = lv
		p.keys.Add(1)
	}
	d := b.dirty[part]
	if d == nil {
		d = make(map[Key]*Level)
		b.dirty[part] = d
	}
	d[key] = lv
	return lv
}

// emitState writes the batch's changed ledgers and stream times to the
// changelog. Called with p.mu held.
func (p *Processor) emitState(ctx context.Context, b *batch) {
	for part, keys := range b.dirty {
		for key, lv := range keys {
			v, err := json.Marshal(lv)
			if err != nil { // cannot happen for these types; abort if it does
				e := fmt.Errorf("encode ledger %s: %w", key, err)
				b.firstErr.CompareAndSwap(nil, &e)
				continue
			}
			p.produce(ctx, b, &kgo.Record{
				Topic: kafka.TopicStockChangelog, Partition: part,
				Key: []byte(event.ChangelogLevelPrefix + key.String()), Value: v,
			})
		}
	}
	for part := range b.undoStream {
		st := p.parts[part]
		if st == nil {
			continue
		}
		// Tombstones let compaction drop event ids that left the
		// deduplication window. Losing some to an abort is harmless: restore
		// skips ids older than the window.
		for _, id := range st.forgotten {
			p.produce(ctx, b, &kgo.Record{
				Topic: kafka.TopicStockChangelog, Partition: part,
				Key: []byte(event.ChangelogSeenPrefix + id),
			})
		}
		st.forgotten = nil
		p.produce(ctx, b, &kgo.Record{
			Topic: kafka.TopicStockChangelog, Partition: part,
			Key:   []byte(event.ChangelogStreamTimePrefix + strconv.Itoa(int(part))),
			Value: encodeTimes(st),
		})
	}
	p.metrics.Keys.Set(float64(p.keys.Load()))
}

func (p *Processor) deadLetter(ctx context.Context, b *batch, r *kgo.Record, typ event.Type, err error) {
	reason := event.ReasonOf(err)
	p.dlq.Add(1)
	p.metrics.DLQ.WithLabelValues(string(reason)).Inc()
	p.produce(ctx, b, &kgo.Record{
		Topic: kafka.TopicDLQ, Partition: r.Partition, Key: r.Key, Value: r.Value,
		Headers: []kgo.RecordHeader{
			{Key: event.HeaderSourceTopic, Value: []byte(r.Topic)},
			{Key: event.HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			{Key: event.HeaderSourceOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
			{Key: event.HeaderEventType, Value: []byte(typ.String())},
			{Key: event.HeaderReason, Value: []byte(reason)},
			{Key: event.HeaderMessage, Value: []byte(err.Error())},
		},
	})
}

func (p *Processor) produce(ctx context.Context, b *batch, r *kgo.Record) {
	b.produced++
	b.wg.Add(1)
	p.sess.Produce(ctx, r, func(_ *kgo.Record, err error) {
		defer b.wg.Done()
		if err != nil {
			b.firstErr.CompareAndSwap(nil, &err)
		}
	})
}

// rollback restores the state the aborted batch changed, so memory is never
// ahead of what Kafka committed.
func (p *Processor) rollback(b *batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for part, undo := range b.undoLevels {
		st := p.parts[part]
		if st == nil {
			continue // revoked meanwhile; its state was dropped
		}
		for key, prev := range undo {
			if prev == nil {
				delete(st.levels, key)
				p.keys.Add(-1)
				continue
			}
			st.levels[key] = prev
		}
	}
	for part, ids := range b.addedSeen {
		if st := p.parts[part]; st != nil {
			for _, id := range ids {
				delete(st.seen, id)
			}
		}
	}
	for part, t := range b.undoStream {
		if st := p.parts[part]; st != nil {
			st.streamTime = t
			st.topicTime = b.undoTopics[part]
		}
	}
	p.metrics.Keys.Set(float64(p.keys.Load()))
}

// housekeep forgets event ids older than the deduplication window after a
// commit.
func (p *Processor) housekeep(b *batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for part := range b.undoStream {
		st := p.parts[part]
		if st == nil || st.streamTime-st.swept < time.Hour.Milliseconds() {
			continue
		}
		st.swept = st.streamTime
		cutoff := st.streamTime - p.cfg.DedupWindow.Milliseconds()
		for id, ts := range st.seen {
			if ts < cutoff {
				delete(st.seen, id)
				st.forgotten = append(st.forgotten, id)
			}
		}
	}
}

// Close leaves the group and closes the session. It is idempotent.
func (p *Processor) Close() {
	p.closeOnce.Do(func() { p.sess.Close() })
}

// mergeByTime orders one task's records (same partition number, several
// input topics) by record timestamp, like Kafka Streams' timestamp
// synchronisation: it repeatedly takes the earliest head among the topics'
// queues (each stays in offset order). So that a topic whose fetch ran far
// ahead in event time cannot overtake the others (which would, say, place a
// stock count after sales it precedes), records later than the earliest
// "latest timestamp" among the queues are held back and their partitions
// are added to rewind at the first held-back offset.
func mergeByTime(queues map[string][]*kgo.Record, rewind map[string]map[int32]kgo.EpochOffset) []*kgo.Record {
	if len(queues) == 1 {
		for _, q := range queues {
			return q
		}
	}
	bound := int64(math.MaxInt64)
	total := 0
	for _, q := range queues {
		latest := int64(math.MinInt64)
		for _, r := range q {
			latest = max(latest, r.Timestamp.UnixMilli())
		}
		bound = min(bound, latest)
		total += len(q)
	}
	topics := make([]string, 0, len(queues))
	for t := range queues {
		topics = append(topics, t)
	}
	sort.Strings(topics) // deterministic tie-break
	heads := make([]int, len(topics))
	out := make([]*kgo.Record, 0, total)
	for {
		best := -1
		var bestTS int64
		for i, t := range topics {
			q := queues[t]
			if heads[i] >= len(q) {
				continue
			}
			ts := q[heads[i]].Timestamp.UnixMilli()
			if ts > bound {
				continue
			}
			if best < 0 || ts < bestTS {
				best, bestTS = i, ts
			}
		}
		if best < 0 {
			break
		}
		out = append(out, queues[topics[best]][heads[best]])
		heads[best]++
	}
	for i, t := range topics {
		q := queues[t]
		if heads[i] < len(q) {
			r := q[heads[i]]
			if rewind[t] == nil {
				rewind[t] = make(map[int32]kgo.EpochOffset)
			}
			rewind[t][r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset}
		}
	}
	return out
}

// streamTimes is the value of a changelog stream-time record.
type streamTimes struct {
	Stream int64            `json:"stream"`
	Topics map[string]int64 `json:"topics,omitempty"`
}

func encodeTimes(st *partition) []byte {
	b, err := json.Marshal(streamTimes{Stream: st.streamTime, Topics: st.topicTime})
	if err != nil { // a map of strings to ints always encodes
		panic(err)
	}
	return b
}
