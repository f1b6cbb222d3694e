package stock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
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
	// GroupInstanceID, when set, makes this instance a static group member
	// (KIP-345): restarted with the same id it takes its partitions back at
	// once instead of after the session timeout. Unique per instance.
	GroupInstanceID string
	// Grace is how long after its end a window still accepts events before
	// its final result is emitted; later events become corrections.
	// Default 1 hour; negative means zero.
	Grace time.Duration
	// IdleFlush is how long a partition may see no records before the wall
	// clock, instead of its stream time, closes its windows, so quiet
	// partitions still emit final results. Default 30 s; negative disables.
	IdleFlush time.Duration
	// Workers bounds the partitions processed in parallel within one
	// transaction; default GOMAXPROCS.
	Workers int
	// ReservationTTL is how long (in event time) a reservation that no
	// sale consumed holds stock before the pipeline releases it; default
	// 7 days.
	ReservationTTL time.Duration
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
	if c.DedupWindow < 0 || c.Horizon < 0 || c.MaxPollRecords < 0 || c.Workers < 0 || c.ReservationTTL < 0 {
		return errors.New("stock: negative window, horizon, poll size, workers or reservation TTL")
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
	if c.ReservationTTL == 0 {
		c.ReservationTTL = 7 * 24 * time.Hour
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 20000
	}
	switch {
	case c.Grace == 0:
		c.Grace = time.Hour
	case c.Grace < 0:
		c.Grace = 0
	}
	if c.IdleFlush == 0 {
		c.IdleFlush = 30 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
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
	win       *windows
	swept     int64 // stream time of the last dedup sweep
	// batches maps the changelog key of each batch of accepted event ids
	// to the latest event time in it; a batch is tombstoned once all of it
	// left the deduplication window.
	batches map[string]int64
	// legacy holds ids restored from per-id E/ records (the older format),
	// tombstoned one by one when they leave the window.
	legacy    map[string]struct{}
	forgotten []string // changelog keys to tombstone
	// resv holds the reservations of the partition's ledgers.
	resv reservations
	// active is the wall time of the last record (or the restore); the
	// idle flush measures from it. Not part of the changelog.
	active time.Time
}

func newPartition(grace time.Duration) *partition {
	return &partition{
		levels: make(map[Key]*Level), seen: make(map[string]int64),
		topicTime: make(map[string]int64), win: newWindows(grace),
		batches: make(map[string]int64), legacy: make(map[string]struct{}),
		resv: newReservations(),
	}
}

// ledgerTopics feed the ledger; the correction horizon depends on them.
var ledgerTopics = []string{kafka.TopicSales, kafka.TopicStock}

// maxTopicSkew bounds how far the correction horizon may trail the stream
// time behind a slower ledger topic, and so the deltas a ledger keeps: far
// beyond the months of skew a replayed backlog showed (a 30-day bound made
// valid counts late_count there).
const maxTopicSkew = 400 * 24 * time.Hour

// horizon is the start of the correction horizon (Unix ms): d behind the
// earliest of the ledger topics' (sales, stock) latest event times on this
// partition, so deltas are never folded before the slower topic's counts
// can be placed: during a backlog the sales topic can run months ahead of
// the stock topic. A ledger topic not read yet on this partition holds the
// horizon back entirely while it has unread records (lagging, per
// ledgerTopics index), and is ignored otherwise. maxTopicSkew bounds how
// far back the horizon can be held. The horizon only decides what is
// folded; exactness comes from Level.FoldedMaxTS, so it may move back and
// forth.
func (st *partition) horizon(d time.Duration, lagging [2]bool) int64 {
	t := st.streamTime
	for i, topic := range ledgerTopics {
		switch tt := st.topicTime[topic]; {
		case tt > 0 || lagging[i]:
			t = min(t, tt)
		default:
			// Never read here and no unread records known, but the lag was
			// asked when the partition was restored: producers may have
			// written since. Hold back a while in case its first records
			// are old.
			t = min(t, st.streamTime-unseenHold.Milliseconds())
		}
	}
	t = max(t, st.streamTime-maxTopicSkew.Milliseconds())
	return t - d.Milliseconds()
}

// dedupClock is the event time the deduplication window is measured
// against (Unix ms): the earliest of the ledger topics' latest event times
// on this partition (a topic not read here yet does not count), not the
// stream time. While one topic runs ahead of the other — a backlog, or a
// topic fetched ahead after a restore; the crash harness saw the stream
// time four months past the sales topic — an id stays remembered for the
// window in its own topic's time, so a repeat within the window is still
// a duplicate (measuring against the stream time forgot an id accepted
// just before a kill, and accepted its repeat 46 records later). Bounded
// by maxTopicSkew like the horizon, so the ids kept stay bounded.
func (st *partition) dedupClock() int64 {
	t := st.streamTime
	for _, topic := range ledgerTopics {
		if tt := st.topicTime[topic]; tt > 0 {
			t = min(t, tt)
		}
	}
	return max(t, st.streamTime-maxTopicSkew.Milliseconds())
}

// unseenHold is how far the correction horizon stays behind the stream
// time for a ledger topic this partition has not read yet and that had no
// unread records when last asked: as far as for a lagging one. The crash
// harness showed a stock topic whose records arrived after the restore
// reaching the pipeline two months of event time behind the sales topic;
// 30 days let valid counts turn late_count. A partition that never sees a
// stock event keeps its sales deltas (bounded by maxTopicSkew).
const unseenHold = maxTopicSkew

// Stats is a snapshot of the processor's counters.
type Stats struct {
	In        uint64 `json:"events_in"`
	Accepted  uint64 `json:"events_accepted"`
	DLQ       uint64 `json:"events_dlq"`
	Keys      int    `json:"stock_keys"`
	Commits   uint64 `json:"transactions_committed"`
	Aborts    uint64 `json:"transactions_aborted"`
	Restoring int    `json:"partitions_restoring"`
	Windows   uint64 `json:"windows_emitted"`
	Late      uint64 `json:"window_late_events"`
	// Reservation results: accepted and rejected requests, releases (on
	// request or expiry), and replayed requests answered again.
	ReservationsAccepted uint64 `json:"reservations_accepted"`
	ReservationsRejected uint64 `json:"reservations_rejected"`
	ReservationsReleased uint64 `json:"reservations_released"`
	ReservationsReplayed uint64 `json:"reservations_replayed"`
}

// Processor runs the stock pipeline. Create it with New and call Run.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics

	sess *kgo.GroupTransactSession
	// txnInit says the producer id was initialised (InitTransactions);
	// only the Run goroutine reads or sets it.
	txnInit bool

	// mu guards parts and pending; the rebalance callbacks take it, so a
	// revocation waits for the batch in hand.
	mu      sync.Mutex
	parts   map[int32]*partition
	pending kafka.Pending // assigned, not yet restored
	// progress is, per partition and input topic, how far this instance
	// has consumed and where the committed end of the log was at the last
	// fetch. Only a partition caught up on every input is idle; a stalled
	// consumer or a rewind after an abort is not. Kept across restores.
	progress map[int32]map[string]fetchPos

	// Counters resolved once: a label lookup per record is measurable.
	inByTopic      map[string]prometheus.Counter
	acceptedByType [event.TypeCampaign + 1]prometheus.Counter
	windowsBy      map[string]prometheus.Counter // size/kind
	lateBy         [len(windowSizes)]prometheus.Counter

	in, accepted, dlq, commits, aborts, windows, late atomic.Uint64
	resvAccepted, resvRejected, resvReleased, resvDup atomic.Uint64
	// resultParts is the partition count of the reservation results
	// topic, learned once from the cluster.
	resultParts atomic.Int32
	keys        atomic.Int64
	closeOnce   sync.Once
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
		progress:  make(map[int32]map[string]fetchPos),
		inByTopic: make(map[string]prometheus.Counter),
		windowsBy: make(map[string]prometheus.Counter),
	}
	for _, t := range kafka.StockInputTopics {
		p.inByTopic[t] = m.In.WithLabelValues(t)
	}
	for t := range p.acceptedByType {
		p.acceptedByType[t] = m.Accepted.WithLabelValues(event.Type(t).String())
	}
	for i, sz := range windowSizes {
		p.lateBy[i] = m.LateEvents.WithLabelValues(sz.name)
		for _, k := range []event.WindowKind{event.WindowFinal, event.WindowCorrection} {
			p.windowsBy[sz.name+"/"+string(k)] = m.Windows.WithLabelValues(sz.name, string(k))
		}
	}
	opts, err := cfg.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(kafka.StockInputTopics...),
		kgo.Balancers(kgo.RangeBalancer()), // co-partitioned inputs: same partition number, same member
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Reservation requests are written in routing's transactions:
		// polling the markers that end them lets the committed offsets
		// pass them, so a caught-up group shows no lag (transact skips
		// them).
		kgo.KeepControlRecords(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ProducerBatchMaxBytes(8<<20),
		kgo.OnPartitionsAssigned(p.onAssigned),
		kgo.OnPartitionsRevoked(p.onRevoked),
		kgo.OnPartitionsLost(p.onRevoked),
	)
	if cfg.GroupInstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.GroupInstanceID))
	}
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
			if _, ok := p.parts[part]; !ok {
				p.pending.Mark(part)
			}
		}
	}
}

// onRevoked drops the state of revoked or lost partitions. Their committed
// state lives in the changelog; whoever gets them next restores it. The
// range balancer moves a partition number of every input topic together.
// It never ends a transaction: the session aborts the one in hand itself.
func (p *Processor) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ps := range revoked {
		for _, part := range ps {
			p.dropLocked(part, false)
			delete(p.progress, part)
		}
	}
	p.metrics.Keys.Set(float64(p.keys.Load()))
}

// dropLocked forgets a partition's in-memory state; with restore, it is
// marked for restoration from the changelog. Called with p.mu held.
func (p *Processor) dropLocked(part int32, restore bool) {
	if st, ok := p.parts[part]; ok {
		p.keys.Add(-int64(len(st.levels)))
		delete(p.parts, part)
	}
	if restore {
		p.pending.Mark(part)
	} else {
		p.pending.Done(part)
	}
}

// Ready reports whether every assigned partition is restored, and how many
// are still restoring.
func (p *Processor) Ready() (bool, int) {
	return p.pending.Ready()
}

// Stats returns a snapshot of the counters.
func (p *Processor) Stats() Stats {
	return Stats{
		In: p.in.Load(), Accepted: p.accepted.Load(), DLQ: p.dlq.Load(),
		Keys: int(p.keys.Load()), Commits: p.commits.Load(), Aborts: p.aborts.Load(),
		Restoring: p.pending.Count(), Windows: p.windows.Load(), Late: p.late.Load(),
		ReservationsAccepted: p.resvAccepted.Load(), ReservationsRejected: p.resvRejected.Load(),
		ReservationsReleased: p.resvReleased.Load(), ReservationsReplayed: p.resvDup.Load(),
	}
}

// Run consumes, applies and produces until ctx is done. Each poll is one
// transaction: outputs, changelog and input offsets commit together. When
// a transaction aborts, the state of its partitions is dropped and
// restored from the changelog, so memory is never ahead of Kafka.
func (p *Processor) Run(ctx context.Context) error {
	defer p.Close()
	wait := time.Duration(0)
	if p.cfg.IdleFlush > 0 {
		wait = min(max(p.cfg.IdleFlush/4, 100*time.Millisecond), 5*time.Second)
	}
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
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if wait > 0 {
			pctx, cancel = context.WithTimeout(ctx, wait)
		}
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
		// A transaction in hand finishes even when ctx is cancelled
		// (shutdown phase one: stop polling, finish and commit).
		if fetches.NumRecords() > 0 {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := p.transact(tctx, fetches)
			cancel()
			var re *kafka.RestoreError
			if errors.As(err, &re) {
				// The transaction was aborted; its records are fetched
				// again once the partition is restored.
				p.log.Warn("restore failed; transaction aborted, retrying", "err", err)
				continue
			}
			if err != nil {
				return err
			}
		}
		if wait > 0 {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			p.idleFlush(tctx)
			cancel()
		}
	}
}

// restorePending restores, before polling, the partitions assigned (or
// whose transaction aborted) since the last round, so readiness does not
// wait for their next record.
func (p *Processor) restorePending(ctx context.Context) error {
	if !p.txnInit {
		if err := kafka.InitTransactions(ctx, p.sess.Client()); err != nil {
			return fmt.Errorf("stock: %w", err)
		}
		p.txnInit = true
	}
	p.learnResultPartitions(ctx)
	p.mu.Lock()
	var restored []int32
	for _, part := range p.pending.Parts() {
		if _, err := p.partitionState(ctx, part); err != nil {
			p.mu.Unlock()
			return err
		}
		restored = append(restored, part)
	}
	// Partitions restored inside a transaction (their records came with
	// the assignment) have not been asked yet.
	for part := range p.parts {
		if len(p.progress[part]) < len(kafka.StockInputTopics) && !slices.Contains(restored, part) {
			restored = append(restored, part)
		}
	}
	p.mu.Unlock()
	if err := p.refreshProgress(ctx, restored); err != nil {
		// Lag stays unknown until the partition's fetches report it.
		p.log.Warn("input lag of restored partitions unknown", "partitions", restored, "err", err)
	}
	return nil
}

// task is one partition's share of a transaction. Tasks run in parallel:
// each touches only its partition's state.
type task struct {
	part int32
	// lagging says, per ledger topic, whether it had unread records at the
	// start of the transaction (see horizon).
	lagging [2]bool
	// added lists the event ids accepted, for one changelog batch; first
	// is the offset of the first record processed per input topic, which
	// names the batch.
	added  []seenEntry
	first  map[string]int64
	st     *partition
	queues map[string][]*kgo.Record
	rewind map[string]map[int32]kgo.EpochOffset
	dirty  map[Key]*Level
	// resvDirty are the reservations changed, for the changelog.
	resvDirty map[string]*reservation
	n         int
}

// dataRecords are rs without the transaction markers (kept only so that
// the committed offsets pass them).
func dataRecords(rs []*kgo.Record) []*kgo.Record {
	for i, r := range rs {
		if r.Attrs.IsControl() {
			out := append(make([]*kgo.Record, 0, len(rs)-1), rs[:i]...)
			for _, r := range rs[i+1:] {
				if !r.Attrs.IsControl() {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return rs
}

func (p *Processor) transact(ctx context.Context, fetches kgo.Fetches) error {
	if err := p.sess.Begin(); err != nil {
		return fmt.Errorf("stock: begin transaction: %w", err)
	}
	now := p.cfg.Now()
	wall := time.Now()
	byPart := make(map[int32]*task)
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		recs := dataRecords(fp.Records)
		if len(recs) == 0 {
			return
		}
		t := byPart[fp.Partition]
		if t == nil {
			t = &task{part: fp.Partition, queues: make(map[string][]*kgo.Record),
				rewind: make(map[string]map[int32]kgo.EpochOffset), dirty: make(map[Key]*Level),
				resvDirty: make(map[string]*reservation)}
			byPart[fp.Partition] = t
		}
		t.queues[fp.Topic] = recs
	})
	p.mu.Lock()
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) > 0 {
			p.noteProgress(fp.Partition, fp.Topic, fp.Records[len(fp.Records)-1].Offset+1, fp.LastStableOffset, fp.HighWatermark)
		}
	})
	p.mu.Unlock()
	tasks := make([]*task, 0, len(byPart))
	for _, t := range byPart {
		tasks = append(tasks, t)
	}
	tx := &kafka.Txn{}
	p.mu.Lock()
	var restoreErr error
	for _, t := range tasks {
		st, err := p.partitionState(ctx, t.part)
		if err != nil {
			restoreErr = err
			break
		}
		t.st = st
	}
	n := 0
	if restoreErr == nil {
		for _, t := range tasks {
			for i, topic := range ledgerTopics {
				t.lagging[i] = p.laggingLocked(t.part, topic)
			}
		}
		p.parallel(tasks, func(t *task) {
			for _, r := range mergeByTime(t.queues, t.rewind) {
				t.n++
				p.process(ctx, tx, t, r, now)
			}
			t.st.active = wall
			p.emitState(ctx, tx, t)
		})
		rewind := make(map[string]map[int32]kgo.EpochOffset)
		for _, t := range tasks {
			n += t.n
			for topic, ps := range t.rewind {
				if rewind[topic] == nil {
					rewind[topic] = make(map[int32]kgo.EpochOffset)
				}
				maps.Copy(rewind[topic], ps)
			}
		}
		for topic, ps := range rewind {
			for part, eo := range ps {
				if pos, ok := p.progress[part][topic]; ok {
					pos.consumed = eo.Offset
					p.progress[part][topic] = pos
				}
			}
		}
		if len(rewind) > 0 {
			// Records held back to keep the inputs in time order are
			// fetched again; the transaction commits offsets only up to
			// them.
			p.sess.Client().SetOffsets(rewind)
		}
	}
	p.metrics.Keys.Set(float64(p.keys.Load()))
	p.mu.Unlock()
	p.metrics.BatchSize.Observe(float64(n))
	return p.end(ctx, tx, tasks, restoreErr)
}

// parallel runs fn for every task on at most cfg.Workers goroutines.
func (p *Processor) parallel(tasks []*task, fn func(*task)) {
	if len(tasks) == 1 || p.cfg.Workers == 1 {
		for _, t := range tasks {
			fn(t)
		}
		return
	}
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(p.cfg.Workers, len(tasks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tasks) {
					return
				}
				fn(tasks[i])
			}
		})
	}
	wg.Wait()
}

// end commits the transaction, or aborts it when producing failed (or
// fail is set) and drops the state of its partitions.
func (p *Processor) end(ctx context.Context, tx *kafka.Txn, tasks []*task, fail error) error {
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
	if !committed {
		// Kafka Streams does the same under exactly-once: the aborted
		// changes are undone by restoring what the changelog committed.
		for _, t := range tasks {
			if _, ok := p.parts[t.part]; ok || p.pending.Has(t.part) {
				p.dropLocked(t.part, true)
			}
			for topic := range t.queues { // these records are fetched again
				if pos, ok := p.progress[t.part][topic]; ok {
					pos.consumed = -1
					p.progress[t.part][topic] = pos
				}
			}
		}
		p.aborts.Add(1)
		p.metrics.Aborts.Inc()
	} else {
		p.commits.Add(1)
		p.metrics.Commits.Inc()
		for _, t := range tasks {
			if p.parts[t.part] == t.st {
				p.housekeep(t.st)
			}
		}
	}
	p.metrics.Keys.Set(float64(p.keys.Load()))
	p.mu.Unlock()
	if fail != nil {
		return fail
	}
	if err != nil {
		// The session aborted and rewinds to the committed offsets; the
		// next poll re-processes the batch against restored state.
		p.log.Warn("end transaction", "err", err, "committed", committed)
	}
	return nil
}

// idleFlush closes, on the wall clock, the windows of partitions that have
// seen no records for cfg.IdleFlush, in a transaction of its own.
func (p *Processor) idleFlush(ctx context.Context) {
	wall := time.Now()
	nowMS := p.cfg.Now().UnixMilli()
	p.mu.Lock()
	var idle []int32
	for part, st := range p.parts {
		w := st.win
		if wall.Sub(st.active) < p.cfg.IdleFlush || nowMS <= w.closeTime ||
			(len(w.open) == 0 && len(w.outages) == 0) ||
			floorTo(nowMS-w.grace, hourMS) == floorTo(w.closeTime-w.grace, hourMS) {
			continue
		}
		idle = append(idle, part)
	}
	p.mu.Unlock()
	if len(idle) == 0 {
		return
	}
	// Fetch positions go stale while producers write: ask the brokers.
	if err := p.refreshProgress(ctx, idle); err != nil {
		p.log.Warn("idle flush: input lag unknown; not flushing", "err", err)
		return
	}
	p.mu.Lock()
	var tasks []*task
	for _, part := range idle {
		if st := p.parts[part]; st != nil && p.caughtUp(part) {
			tasks = append(tasks, &task{part: part, st: st, dirty: map[Key]*Level{}, resvDirty: map[string]*reservation{}})
		}
	}
	p.mu.Unlock()
	if len(tasks) == 0 {
		return
	}
	if err := p.sess.Begin(); err != nil {
		p.log.Warn("idle flush: begin transaction", "err", err)
		return
	}
	tx := &kafka.Txn{}
	p.mu.Lock()
	live := tasks[:0]
	for _, t := range tasks {
		if p.parts[t.part] != t.st {
			continue // revoked meanwhile
		}
		t.st.win.setSafe(nowMS) // caught up: no stock event can still come before now
		t.st.win.advance(nowMS)
		t.st.active = wall
		p.emitState(ctx, tx, t)
		live = append(live, t)
	}
	p.mu.Unlock()
	p.metrics.IdleFlushes.Inc()
	if err := p.end(ctx, tx, live, nil); err != nil {
		p.log.Warn("idle flush", "err", err)
	}
}

// fetchPos is one input partition's consumption progress.
type fetchPos struct {
	consumed int64 // offset after the last record processed; -1 after a rewind
	end      int64 // last stable offset (or high watermark) at the last fetch
}

// noteProgress records a fetch of topic's partition part. Called with p.mu
// held.
func (p *Processor) noteProgress(part int32, topic string, consumed, lso, hwm int64) {
	end := lso
	if end < 0 {
		end = hwm
	}
	m := p.progress[part]
	if m == nil {
		m = make(map[string]fetchPos)
		p.progress[part] = m
	}
	m[topic] = fetchPos{consumed: consumed, end: end}
}

// laggingLocked reports whether topic's partition part had unread records
// at the last look (fetch or refresh). Unknown counts as lagging (nothing
// is folded on a guess); the next round's refresh makes it known.
// Called with p.mu held.
func (p *Processor) laggingLocked(part int32, topic string) bool {
	pos, ok := p.progress[part][topic]
	return !ok || pos.consumed < 0 || pos.end-pos.consumed > 1
}

// refreshProgress asks the brokers where the inputs of parts end (last
// stable offset) and how far the group committed, so that lag is known
// before a partition's first fetch of every topic and is fresh before an
// idle flush. Called without p.mu.
func (p *Processor) refreshProgress(ctx context.Context, parts []int32) error {
	if len(parts) == 0 {
		return nil
	}
	adm := kadm.NewClient(p.sess.Client())
	ends, err := adm.ListCommittedOffsets(ctx, kafka.StockInputTopics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("list input end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, kafka.StockInputTopics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("list input start offsets: %w", err)
	}
	committed, err := adm.FetchOffsets(ctx, p.cfg.Group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return fmt.Errorf("fetch committed offsets of %s: %w", p.cfg.Group, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, part := range parts {
		for _, topic := range kafka.StockInputTopics {
			end, ok := ends.Lookup(topic, part)
			if !ok {
				continue
			}
			at := int64(0)
			if s, ok := starts.Lookup(topic, part); ok {
				at = s.Offset // where a group without a commit starts
			}
			if c, ok := committed.Lookup(topic, part); ok && c.At >= 0 {
				at = c.At
			}
			m := p.progress[part]
			if m == nil {
				m = make(map[string]fetchPos)
				p.progress[part] = m
			}
			if pos, ok := m[topic]; ok && pos.consumed > at {
				at = pos.consumed // processed past the last commit (not in a transaction now)
			}
			m[topic] = fetchPos{consumed: at, end: end.Offset}
		}
	}
	return nil
}

// caughtUp reports whether part had consumed every input to the committed
// end of its log at the last fetch. One offset of slack allows for the
// commit marker that ends a transactional producer's log, which a
// read_committed consumer never sees as a record. Called with p.mu held.
func (p *Processor) caughtUp(part int32) bool {
	for _, pos := range p.progress[part] {
		if pos.consumed < 0 || pos.end-pos.consumed > 1 {
			return false
		}
	}
	return true
}

// partitionState returns the state of part, restoring it from the
// changelog first when it was just assigned. Called with p.mu held.
func (p *Processor) partitionState(ctx context.Context, part int32) (*partition, error) {
	if st, ok := p.parts[part]; ok {
		return st, nil
	}
	st, err := p.restore(ctx, part)
	if err != nil {
		return nil, fmt.Errorf("stock: %w", err)
	}
	st.active = time.Now()
	p.parts[part] = st
	p.pending.Done(part)
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

// process applies one record to its task's partition.
func (p *Processor) process(ctx context.Context, tx *kafka.Txn, t *task, r *kgo.Record, now time.Time) {
	st := t.st
	p.in.Add(1)
	if c := p.inByTopic[r.Topic]; c != nil {
		c.Inc()
	} else {
		p.metrics.In.WithLabelValues(r.Topic).Inc()
	}
	if r.Topic == kafka.TopicReservations {
		p.processReservation(ctx, tx, t, r, now)
		return
	}
	typ := topicType[r.Topic]
	if err := p.cfg.Checker.CheckSize(len(r.Value)); err != nil {
		p.deadLetter(ctx, tx, r, typ, err)
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
		p.deadLetter(ctx, tx, r, typ, err)
		return
	}
	if _, dup := st.seen[id]; dup {
		p.deadLetter(ctx, tx, r, typ, &event.Error{Reason: event.ReasonDuplicateEvent, Field: "event_id",
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
		lv := p.level(t, key)
		if typ == event.TypeSale && sale.OrderID != "" {
			// The shipment of a routed order: it takes its units from the
			// order's reservations, not from what is available to others.
			p.consume(t, lv, key, sale.OrderID, sale.Qty, tsMS)
		}
		horizon := st.horizon(p.cfg.Horizon, t.lagging)
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
			p.deadLetter(ctx, tx, r, typ, &event.Error{Reason: ReasonLateCount, Field: "ts",
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
		if typ == event.TypeSale {
			// Demand is what was sold, whatever the ledger made of it.
			st.win.addSale(key, tsMS, sale.Qty, float64(sale.Qty)*sale.UnitPrice)
		}
		st.win.available(key, lv.LastEventTS, lv.Available)
	}
	st.seen[id] = tsMS
	t.added = append(t.added, seenEntry{id: id, ts: tsMS})
	if _, ok := t.first[r.Topic]; !ok {
		if t.first == nil {
			t.first = make(map[string]int64, len(kafka.InputTopics))
		}
		t.first[r.Topic] = r.Offset
	}
	st.streamTime = max(st.streamTime, tsMS)
	if isLedg && tsMS > st.topicTime[r.Topic] {
		st.topicTime[r.Topic] = tsMS
		if typ == event.TypeSale {
			// Windows count sales, so the sales topic's time closes them:
			// another topic fetched ahead must not make sales late.
			st.win.advance(tsMS)
		} else {
			st.win.setSafe(tsMS)
		}
	}
	p.produce(ctx, tx, &kgo.Record{
		Topic: kafka.TopicAccepted, Partition: r.Partition, Key: r.Key, Value: r.Value,
		Headers: headers,
	})
	p.accepted.Add(1)
	p.acceptedByType[typ].Inc()
	p.expire(ctx, tx, t)
}

// level returns the ledger of key, creating it, and marks it changed.
func (p *Processor) level(t *task, key Key) *Level {
	lv, ok := t.st.levels[key]
	if !ok {
		lv = &Level{SKU: key.SKU, Warehouse: key.Warehouse}
		t.st.levels[key] = lv
		p.keys.Add(1)
	}
	t.dirty[key] = lv
	return lv
}

// emitState writes the task's window results, its changed ledgers and
// window state, and its partition's times to the outputs and changelog.
func (p *Processor) emitState(ctx context.Context, tx *kafka.Txn, t *task) {
	part, st := t.part, t.st
	for _, w := range st.win.drain() {
		v := appendWindow(make([]byte, 0, 320), &w)
		p.produce(ctx, tx, &kgo.Record{Topic: kafka.TopicWindows, Partition: part, Key: []byte(w.SKU), Value: v})
		p.windows.Add(1)
		p.windowsBy[w.Size+"/"+string(w.Kind)].Inc()
	}
	for i := range st.win.late {
		if n := st.win.late[i]; n > 0 {
			p.late.Add(n)
			p.lateBy[i].Add(float64(n))
			st.win.late[i] = 0
		}
	}
	for id, res := range t.resvDirty {
		v, err := json.Marshal(res)
		if err != nil {
			tx.Fail(fmt.Errorf("encode reservation %s: %w", id, err))
			continue
		}
		p.produce(ctx, tx, &kgo.Record{
			Topic: kafka.TopicStockChangelog, Partition: part,
			Key: []byte(ChangelogReservationPrefix + id), Value: v,
		})
	}
	for key, lv := range t.dirty {
		v := lv.appendJSON(make([]byte, 0, 256))
		p.produce(ctx, tx, &kgo.Record{
			Topic: kafka.TopicStockChangelog, Partition: part,
			Key: []byte(event.ChangelogLevelPrefix + key.String()), Value: v,
		})
	}
	if err := st.win.flush(func(key string, value []byte) {
		p.produce(ctx, tx, &kgo.Record{Topic: kafka.TopicStockChangelog, Partition: part, Key: []byte(key), Value: value})
	}); err != nil {
		tx.Fail(err)
	}
	if len(t.added) > 0 {
		key := batchKey(part, t.first)
		var maxTS int64
		for _, e := range t.added {
			maxTS = max(maxTS, e.ts)
		}
		st.batches[key] = maxTS
		p.produce(ctx, tx, &kgo.Record{
			Topic: kafka.TopicStockChangelog, Partition: part,
			Key: []byte(key), Value: encodeSeen(t.added),
		})
	}
	// Tombstones let compaction drop event ids that left the deduplication
	// window.
	for _, key := range st.forgotten {
		p.produce(ctx, tx, &kgo.Record{
			Topic: kafka.TopicStockChangelog, Partition: part, Key: []byte(key),
		})
	}
	st.forgotten = nil
	p.produce(ctx, tx, &kgo.Record{
		Topic: kafka.TopicStockChangelog, Partition: part,
		Key:   []byte(event.ChangelogStreamTimePrefix + strconv.Itoa(int(part))),
		Value: encodeTimes(st),
	})
}

func (p *Processor) deadLetter(ctx context.Context, tx *kafka.Txn, r *kgo.Record, typ event.Type, err error) {
	p.deadLetterAs(ctx, tx, r, typ.String(), err)
}

// deadLetterAs dead-letters r with the event type name typ.
func (p *Processor) deadLetterAs(ctx context.Context, tx *kafka.Txn, r *kgo.Record, typ string, err error) {
	p.dlq.Add(1)
	p.metrics.DLQ.WithLabelValues(string(event.ReasonOf(err))).Inc()
	p.produce(ctx, tx, kafka.DeadLetter(r, typ, err))
}

func (p *Processor) produce(ctx context.Context, tx *kafka.Txn, r *kgo.Record) {
	tx.Produce(ctx, p.sess, r)
}

// housekeep forgets event ids older than the deduplication window after a
// commit. Called with p.mu held.
func (p *Processor) housekeep(st *partition) {
	clock := st.dedupClock()
	if clock-st.swept < time.Hour.Milliseconds() {
		return
	}
	st.swept = clock
	cutoff := clock - p.cfg.DedupWindow.Milliseconds()
	for id, ts := range st.seen {
		if ts < cutoff {
			delete(st.seen, id)
			if _, ok := st.legacy[id]; ok {
				delete(st.legacy, id)
				st.forgotten = append(st.forgotten, event.ChangelogSeenPrefix+id)
			}
		}
	}
	for key, ts := range st.batches {
		if ts < cutoff {
			delete(st.batches, key)
			st.forgotten = append(st.forgotten, key)
		}
	}
	forgetReservations(st, cutoff)
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
	// Close is the windows' close time (stream time or idle flush); Safe
	// the time up to which stockouts may be charged.
	Close int64 `json:"close,omitempty"`
	Safe  int64 `json:"safe,omitempty"`
}

func encodeTimes(st *partition) []byte {
	b, err := json.Marshal(streamTimes{Stream: st.streamTime, Topics: st.topicTime, Close: st.win.closeTime, Safe: st.win.safe})
	if err != nil { // a map of strings to ints always encodes
		panic(err)
	}
	return b
}
