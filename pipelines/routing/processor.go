package routing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// ProcessorConfig configures the routing pipeline.
type ProcessorConfig struct {
	Kafka kafka.Config
	// Router is the network, the rate cards, the costs and the batching.
	Router Config
	// Items are the SKUs' weights and shortage costs (others take the
	// router's defaults).
	Items map[event.SKU]Item
	// Group is the consumer group; default "stockflow-routing".
	Group string
	// TransactionalID must be stable across restarts of one instance and
	// unique among instances; default Group + "-0".
	TransactionalID string
	// GroupInstanceID, when set, makes the instance a static member.
	GroupInstanceID string
	// MaxAttempts is how many times an order is routed before, with every
	// attempt's reservations refused, it is backordered (no_stock);
	// default 3.
	MaxAttempts int
	// DoneTTL is how long (event time) a decided order id is remembered,
	// so that the same order arriving again is not decided twice;
	// default 7 days, the stock pipeline's deduplication window.
	DoneTTL time.Duration
	// MaxPollRecords bounds one transaction's records; default 10000.
	MaxPollRecords int
	// CatchUpWait bounds how long a transaction waits for the view to read
	// the stock changelog up to its committed end before deciding; default
	// 2 s.
	CatchUpWait time.Duration
}

// Validate reports the first problem with c.
func (c ProcessorConfig) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Router.Validate(); err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	if c.MaxAttempts < 0 || c.DoneTTL < 0 || c.MaxPollRecords < 0 || c.CatchUpWait < 0 {
		return errors.New("routing: negative attempts, TTL, poll size or catch-up wait")
	}
	for sku, it := range c.Items {
		if bad(it.UnitKg) || bad(it.ShortageCost) {
			return fmt.Errorf("routing: item %s: weight and shortage cost must be finite and not negative", sku)
		}
	}
	return nil
}

func (c *ProcessorConfig) defaults() {
	if c.Group == "" {
		c.Group = "stockflow-routing"
	}
	if c.TransactionalID == "" {
		c.TransactionalID = c.Group + "-0"
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.DoneTTL == 0 {
		c.DoneTTL = 7 * 24 * time.Hour
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 10000
	}
	if c.CatchUpWait == 0 {
		c.CatchUpWait = 2 * time.Second
	}
}

// InputTopics are the topics the pipeline consumes in its group: the stock
// pipeline's accepted events (it routes the orders among them) and the
// answers to its reservation requests. Both are keyed by order id for
// orders and share the partition count, so the member that routes an
// order reads its results (Kafka's default partitioner on both sides).
var InputTopics = []string{kafka.TopicAccepted, kafka.TopicReservationResults}

// Changelog key prefixes: an order awaiting its reservations' results,
// and an order decided (value: the decision's event time, Unix ms).
const (
	prefixOrder = "O/"
	prefixDone  = "D/"
)

// Stats is a snapshot of the processor's counters.
type Stats struct {
	Orders     uint64 `json:"orders"`
	Duplicates uint64 `json:"duplicate_orders"`
	Final      uint64 `json:"final_decisions"`
	Attempts   uint64 `json:"attempts"`
	Reroutes   uint64 `json:"reroutes"`
	Reserved   uint64 `json:"reservations_requested"`
	Rejected   uint64 `json:"reservations_rejected"`
	Unmatched  uint64 `json:"results_unmatched"`
	Pending    int    `json:"orders_pending"`
	Commits    uint64 `json:"transactions_committed"`
	Aborts     uint64 `json:"transactions_aborted"`
	Restoring  int    `json:"partitions_restoring"`
	Partitions int    `json:"partitions"`
	ViewReady  bool   `json:"view_ready"`
	// Stale counts the transactions that decided before the view caught
	// up (ProcessorConfig.CatchUpWait).
	Stale uint64 `json:"stale_view_transactions"`
}

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	Decisions *prometheus.CounterVec // final decisions by status
	Attempts  prometheus.Counter
	Reserve   *prometheus.CounterVec // reservation results by status
	Latency   prometheus.Histogram
	Pending   prometheus.Gauge
	Stale     prometheus.Counter // transactions decided before the view caught up
	Commits   prometheus.Counter
	Aborts    prometheus.Counter
}

// NewMetrics registers the metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stockflow_routing_decisions_total",
			Help: "Final routing decisions, by status."}, []string{"status"}),
		Attempts: prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_routing_attempts_total",
			Help: "Routing attempts (an order re-routed after a refused reservation has several)."}),
		Reserve: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stockflow_routing_reservation_results_total",
			Help: "Reservation results received, by status."}, []string{"status"}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "stockflow_routing_decision_latency_seconds",
			Help:    "Wall-clock time from an order reaching the router (its batch window closed) to its decision.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "stockflow_routing_orders_pending",
			Help: "Orders awaiting their reservations' results."}),
		Stale: prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_routing_stale_view_total",
			Help: "Transactions that decided before the view had read the stock changelog to its end (CatchUpWait passed)."}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_routing_transactions_committed_total",
			Help: "Transactions committed."}),
		Aborts: prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_routing_transactions_aborted_total",
			Help: "Transactions aborted (state restored from the changelog)."}),
	}
	if reg != nil {
		reg.MustRegister(m.Decisions, m.Attempts, m.Reserve, m.Latency, m.Pending, m.Stale, m.Commits, m.Aborts)
	}
	return m
}

// orderState is an order awaiting the results of its attempt's
// reservations. It is the value of "O/<order_id>" in the changelog.
type orderState struct {
	Order   event.Order `json:"order"`
	Part    int32       `json:"part"`
	Attempt int64       `json:"attempt"`
	// TS is the attempt's decision time (event time).
	TS       time.Time `json:"ts"`
	Region   string    `json:"region"`
	BatchID  string    `json:"batch_id"`
	Decision Decision  `json:"decision"`
	// LatencyMS is the attempt's decision latency.
	LatencyMS float64 `json:"latency_ms"`
	// Results are the statuses received, by reservation id.
	Results map[string]event.ReservationStatus `json:"results"`
	// Want are the attempt's reservation ids.
	Want []string `json:"want"`
}

// partition is one input partition's state.
type partition struct {
	orders map[string]*orderState
	done   map[string]int64 // order id → decision time, Unix ms
	// streamTime is the latest order time seen (Unix ms); expired is the
	// stream time of the last sweep of done.
	streamTime, expired int64
}

func newPartition() *partition {
	return &partition{orders: make(map[string]*orderState), done: make(map[string]int64)}
}

// Processor runs the routing pipeline. Create it with NewProcessor, call
// Run.
type Processor struct {
	cfg     ProcessorConfig
	router  *Router
	log     *slog.Logger
	metrics *Metrics
	sess    *kgo.GroupTransactSession
	// txnInit says the producer id was initialised (InitTransactions);
	// only the Run goroutine reads or sets it.
	txnInit bool
	adm     *kadm.Client
	view    *view

	// mu guards parts, pending, state and day; the rebalance callbacks
	// and WhatIf take it.
	mu      sync.Mutex
	parts   map[int32]*partition
	pending kafka.Pending
	state   *State
	day     string

	resParts  atomic.Int32 // partitions of the reservations topic
	nparts    atomic.Int32 // input partitions held (restored)
	viewReady atomic.Bool

	orders, dups, final, attempts, reroutes, reserved, rejected, unmatched, commits, aborts, stale atomic.Uint64
	pendingN                                                                                       atomic.Int64
	closeOnce                                                                                      sync.Once
}

// NewProcessor creates the processor and its Kafka session.
func NewProcessor(cfg ProcessorConfig, log *slog.Logger, m *Metrics) (*Processor, error) {
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
	r, err := New(cfg.Router)
	if err != nil {
		return nil, err
	}
	p := &Processor{cfg: cfg, router: r, log: log, metrics: m, parts: make(map[int32]*partition),
		view: newView(cfg.Kafka, log.With("component", "routing-view")), state: r.NewState()}
	for sku, it := range cfg.Items {
		if err := p.state.SetItem(sku, it); err != nil {
			return nil, err
		}
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
		return nil, fmt.Errorf("routing: create transact session: %w", err)
	}
	p.sess = sess
	p.adm = kadm.NewClient(sess.Client())
	return p, nil
}

// Group is the consumer group the processor commits in.
func (p *Processor) Group() string { return p.cfg.Group }

// Router is the router the processor decides with.
func (p *Processor) Router() *Router { return p.router }

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
		p.pendingN.Add(-int64(len(st.orders)))
		delete(p.parts, part)
		p.nparts.Add(-1)
	}
	if restore {
		p.pending.Mark(part)
	} else {
		p.pending.Done(part)
	}
	p.metrics.Pending.Set(float64(p.pendingN.Load()))
}

// Ready reports whether the view has caught up with the topics it
// replicates and every assigned partition is restored, and how many
// partitions are still restoring.
func (p *Processor) Ready() (bool, int) {
	ok, n := p.pending.Ready()
	return ok && p.viewReady.Load(), n
}

// Stats returns a snapshot of the counters.
func (p *Processor) Stats() Stats {
	return Stats{
		Orders: p.orders.Load(), Duplicates: p.dups.Load(), Final: p.final.Load(), Attempts: p.attempts.Load(),
		Reroutes: p.reroutes.Load(), Reserved: p.reserved.Load(), Rejected: p.rejected.Load(),
		Unmatched: p.unmatched.Load(), Pending: int(p.pendingN.Load()), Commits: p.commits.Load(),
		Aborts: p.aborts.Load(), Restoring: p.pending.Count(), ViewReady: p.viewReady.Load(),
		Partitions: int(p.nparts.Load()), Stale: p.stale.Load(),
	}
}

// Run consumes, decides and produces until ctx is done. Orders that
// arrive within the batch window are collected before they are decided,
// region by region; a transaction holds the window's orders, the results
// that came with them, the reservations and decisions they led to, the
// changelog, and the input offsets, so a crash or a replay can neither
// repeat nor lose a decision or a reservation.
func (p *Processor) Run(ctx context.Context) error {
	defer p.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.view.run(gctx) })
	g.Go(func() error { return p.loop(gctx) })
	return g.Wait()
}

func (p *Processor) loop(ctx context.Context) error {
	// The view first catches up with everything committed before the
	// start: no order is decided on an empty picture.
	for !p.viewReady.Load() {
		if err := p.catchUp(ctx, ViewTopics...); err != nil {
			if !p.backoff(ctx, "routing view: catching up failed; retrying", err) {
				return nil
			}
			continue
		}
		p.viewReady.Store(true)
	}
	window := time.Duration(p.cfg.Router.Batch.WindowMs) * time.Millisecond
	for ctx.Err() == nil {
		if err := p.restorePending(ctx); err != nil {
			// A broker restarting or electing leaders: the partitions
			// stay pending and are restored at the next round.
			if !p.backoff(ctx, "restore failed; retrying", err) {
				return nil
			}
			continue
		}
		fetches := p.poll(ctx, time.Second)
		if fetches.IsClientClosed() {
			return nil
		}
		if fetches.NumRecords() == 0 || ctx.Err() != nil {
			continue // the loop ends with ctx
		}
		// The batch window: orders that arrive within it are decided
		// together.
		if n := countOrders(fetches); n > 0 && window > 0 {
			deadline := time.Now().Add(window)
			for n < p.cfg.Router.Batch.MaxOrders && fetches.NumRecords() < p.cfg.MaxPollRecords {
				left := time.Until(deadline)
				if left <= 0 {
					break
				}
				more := p.poll(ctx, left)
				if ctx.Err() != nil {
					break
				}
				fetches = append(fetches, more...)
				n += countOrders(more)
			}
		}
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := p.transact(tctx, fetches)
		cancel()
		var re *kafka.RestoreError
		if errors.As(err, &re) || errors.Is(err, errTransient) {
			p.log.Warn("transaction aborted; retrying", "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// backoff logs err and waits a second; it returns false, at once, when
// ctx is done.
func (p *Processor) backoff(ctx context.Context, msg string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	p.log.Warn(msg, "err", err)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Second):
		return true
	}
}

// errTransient marks a failure after which the aborted transaction's
// records are polled again.
var errTransient = errors.New("transient")

func (p *Processor) poll(ctx context.Context, d time.Duration) kgo.Fetches {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	fetches := p.sess.PollRecords(pctx, p.cfg.MaxPollRecords)
	fetches.EachError(func(t string, part int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			p.log.Warn("fetch error", "topic", t, "partition", part, "err", err)
		}
	})
	return fetches
}

func countOrders(fs kgo.Fetches) int {
	n := 0
	fs.EachRecord(func(r *kgo.Record) {
		if r.Topic == kafka.TopicAccepted && isOrder(r) {
			n++
		}
	})
	return n
}

var orderType = []byte(event.TypeOrder.String())

func isOrder(r *kgo.Record) bool {
	for _, h := range r.Headers {
		if h.Key == event.HeaderEventType {
			return bytes.Equal(h.Value, orderType)
		}
	}
	return false
}

// catchUp waits until the view has read topics up to their committed
// ends as of now.
func (p *Processor) catchUp(ctx context.Context, topics ...string) error {
	ends, err := p.adm.ListCommittedOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("routing: committed ends of %v: %w", topics, err)
	}
	return p.view.waitFor(ctx, ends)
}

func (p *Processor) restorePending(ctx context.Context) error {
	if !p.txnInit {
		if err := kafka.InitTransactions(ctx, p.sess.Client()); err != nil {
			return fmt.Errorf("routing: %w", err)
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
	n, err := kafka.ReadCommitted(ctx, p.cfg.Kafka, kafka.TopicRoutingChangelog, part, p.log, func(r *kgo.Record) {
		p.applyChangelog(st, r)
	})
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	for _, t := range st.done {
		st.streamTime = max(st.streamTime, t)
	}
	st.expired = st.streamTime
	p.parts[part] = st
	p.nparts.Add(1)
	p.pending.Done(part)
	p.pendingN.Add(int64(len(st.orders)))
	p.metrics.Pending.Set(float64(p.pendingN.Load()))
	p.log.Info("restored partition", "partition", part, "records", n, "pending", len(st.orders), "decided", len(st.done), "took", time.Since(start))
	return st, nil
}

func (p *Processor) applyChangelog(st *partition, r *kgo.Record) {
	key := string(r.Key)
	switch {
	case len(key) > len(prefixOrder) && key[:len(prefixOrder)] == prefixOrder:
		id := key[len(prefixOrder):]
		if r.Value == nil {
			delete(st.orders, id)
			return
		}
		o := new(orderState)
		if err := json.Unmarshal(r.Value, o); err != nil {
			p.log.Error("skip undecodable routing state in changelog", "key", key, "offset", r.Offset, "err", err)
			return
		}
		st.orders[id] = o
	case len(key) > len(prefixDone) && key[:len(prefixDone)] == prefixDone:
		id := key[len(prefixDone):]
		if r.Value == nil {
			delete(st.done, id)
			return
		}
		t, err := strconv.ParseInt(string(r.Value), 10, 64)
		if err != nil {
			p.log.Error("skip undecodable routing state in changelog", "key", key, "offset", r.Offset, "err", err)
			return
		}
		st.done[id] = t
	}
}

// txn is one transaction's work.
type txn struct {
	p     *Processor
	ctx   context.Context
	tx    *kafka.Txn
	start time.Time
	// flights and uses registered with the view, withdrawn if the
	// transaction aborts.
	flights []string
	uses    []string
	finals  []event.RoutingDecision
	// touched are the partitions whose state changed.
	touched map[int32]*partition
	// dirty are the orders whose changelog entry changed.
	dirty map[string]int32
	// route are the orders to decide, in arrival order; seen their ids.
	route []routeReq
	seen  map[string]struct{}
}

// routeReq is an order to decide: a new one, or one whose attempt failed.
type routeReq struct {
	o       event.Order
	part    int32
	attempt int64
	ts      time.Time
}

func (p *Processor) transact(ctx context.Context, fetches kgo.Fetches) error {
	if err := p.sess.Begin(); err != nil {
		return fmt.Errorf("routing: begin transaction: %w", err)
	}
	t := &txn{p: p, ctx: ctx, tx: &kafka.Txn{}, start: time.Now(), touched: map[int32]*partition{}, dirty: map[string]int32{}, seen: map[string]struct{}{}}
	p.mu.Lock()
	fail := p.work(t, fetches)
	p.mu.Unlock()
	return p.end(ctx, t, fail)
}

// work does a transaction's work. Called with p.mu held.
func (p *Processor) work(t *txn, fetches kgo.Fetches) error {
	if p.resParts.Load() == 0 {
		md, err := p.adm.ListTopics(t.ctx, kafka.TopicReservations)
		if err != nil {
			return fmt.Errorf("routing: partitions of %s: %w: %w", kafka.TopicReservations, err, errTransient)
		}
		d, ok := md[kafka.TopicReservations]
		if !ok || d.Err != nil || len(d.Partitions) == 0 {
			return fmt.Errorf("routing: topic %s not found: %w", kafka.TopicReservations, errTransient)
		}
		p.resParts.Store(int32(len(d.Partitions)))
	}
	// Every stock change committed before these orders were accepted is
	// in the view before they are decided — within CatchUpWait: while the
	// stock pipeline works through a backlog its changelog's end moves
	// ahead, and waiting for it without bound would stall routing (a stale
	// view costs refused reservations and re-routes, never an oversell).
	cctx, cancel := context.WithTimeout(t.ctx, p.cfg.CatchUpWait)
	err := p.catchUp(cctx, kafka.TopicStockChangelog)
	cancel()
	switch {
	case err == nil:
	case t.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		p.stale.Add(1)
		p.metrics.Stale.Inc()
	default:
		return fmt.Errorf("%w: %w", err, errTransient)
	}
	var results []*kgo.Record
	var fail error
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if fail != nil || len(fp.Records) == 0 {
			return
		}
		st, err := p.partitionState(t.ctx, fp.Partition)
		if err != nil {
			fail = err
			return
		}
		for _, r := range fp.Records {
			if r.Attrs.IsControl() {
				continue
			}
			switch {
			case r.Topic == kafka.TopicReservationResults:
				results = append(results, r)
			case r.Topic == kafka.TopicAccepted && isOrder(r):
				p.order(t, st, r)
			}
		}
	})
	if fail != nil {
		return fail
	}
	for _, r := range results {
		p.result(t, r)
	}
	p.decide(t)
	for id, part := range t.dirty {
		st := p.parts[part]
		var v []byte
		if o, ok := st.orders[id]; ok {
			b, err := json.Marshal(o)
			if err != nil {
				return fmt.Errorf("routing: encode order %s: %w", id, err)
			}
			v = b
		}
		p.produce(t, &kgo.Record{Topic: kafka.TopicRoutingChangelog, Partition: part, Key: []byte(prefixOrder + id), Value: v})
		if v == nil {
			if ts, ok := st.done[id]; ok {
				p.produce(t, &kgo.Record{Topic: kafka.TopicRoutingChangelog, Partition: part,
					Key: []byte(prefixDone + id), Value: strconv.AppendInt(nil, ts, 10)})
			}
		}
	}
	for part, st := range t.touched {
		p.expire(t, part, st)
	}
	return nil
}

// order takes a new order from the accepted events.
func (p *Processor) order(t *txn, st *partition, r *kgo.Record) {
	var o event.Order
	if err := event.DecodeOrder(r.Value, &o); err != nil {
		// The stock pipeline accepted it, so this cannot happen unless
		// the contract changed under the pipeline.
		p.log.Error("skip undecodable accepted order", "partition", r.Partition, "offset", r.Offset, "err", err)
		return
	}
	p.orders.Add(1)
	st.streamTime = max(st.streamTime, o.TS.UnixMilli())
	t.touched[r.Partition] = st
	if _, ok := st.orders[o.OrderID]; ok {
		p.dups.Add(1)
		return
	}
	if _, ok := st.done[o.OrderID]; ok {
		p.dups.Add(1)
		return
	}
	if _, ok := t.seen[o.OrderID]; ok {
		p.dups.Add(1)
		return
	}
	t.seen[o.OrderID] = struct{}{}
	t.route = append(t.route, routeReq{o: o, part: r.Partition, attempt: 1, ts: o.TS})
}

// result takes a stock partition's answer to a reservation request.
func (p *Processor) result(t *txn, r *kgo.Record) {
	var res event.ReservationResult
	if err := json.Unmarshal(r.Value, &res); err != nil {
		p.log.Error("skip undecodable reservation result", "partition", r.Partition, "offset", r.Offset, "err", err)
		return
	}
	p.metrics.Reserve.WithLabelValues(string(res.Status)).Inc()
	if res.Status == event.ReservationReleased {
		return // a release routing asked for, or an expiry: nothing to decide
	}
	st, part := p.owner(res.OrderID)
	if st == nil {
		p.unmatched.Add(1)
		return
	}
	o := st.orders[res.OrderID]
	if !slices.Contains(o.Want, res.ReservationID) {
		p.unmatched.Add(1) // an earlier attempt's, answered again on a replay
		return
	}
	if _, ok := o.Results[res.ReservationID]; ok {
		return
	}
	if o.Results == nil {
		o.Results = make(map[string]event.ReservationStatus)
	}
	o.Results[res.ReservationID] = res.Status
	t.dirty[res.OrderID] = part
	if res.Status == event.ReservationRejected {
		// The view is not told the answer's available stock: the answer
		// may be older than what the view has read since (a release
		// after it), and the view only ever moves forward in the
		// changelog, which holds the refusal's state too.
		p.rejected.Add(1)
	}
	if len(o.Results) < len(o.Want) {
		return
	}
	p.resolve(t, st, part, o, res.TS)
}

// owner finds the partition holding pending order id.
func (p *Processor) owner(id string) (*partition, int32) {
	for part, st := range p.parts {
		if _, ok := st.orders[id]; ok {
			return st, part
		}
	}
	return nil, 0
}

// resolve ends an attempt whose results are all in: final when every
// reservation was accepted; otherwise the accepted ones are released, the
// attempt is recorded as not final, and the order is routed again.
func (p *Processor) resolve(t *txn, st *partition, part int32, o *orderState, at time.Time) {
	ok := true
	for _, s := range o.Results {
		if s != event.ReservationAccepted {
			ok = false
		}
	}
	delete(st.orders, o.Order.OrderID)
	p.pendingN.Add(-1)
	t.dirty[o.Order.OrderID] = part
	rd := Record(&o.Decision, &o.Order, o.Attempt, ok, o.TS, o.BatchID, o.Region, time.Duration(o.LatencyMS*float64(time.Millisecond)))
	if ok {
		p.finish(t, st, part, rd)
		return
	}
	p.emit(t, part, rd)
	for _, r := range Reservations(&o.Decision, o.Attempt, o.TS) {
		if o.Results[r.ReservationID] != event.ReservationAccepted {
			continue
		}
		r.Kind, r.TS = event.ReservationRelease, maxTime(at, o.TS).UTC()
		p.request(t, r)
	}
	next := routeReq{o: o.Order, part: part, attempt: o.Attempt + 1, ts: maxTime(at, o.TS)}
	if o.Attempt >= int64(p.cfg.MaxAttempts) {
		// Every attempt's stock went to other orders first.
		pr := p.router.prepareInto(getPrep(), &o.Order, p.state)
		b := Breakdown{Backorder: pr.boCost}
		preps.Put(pr)
		d := Decision{OrderID: o.Order.OrderID, Status: StatusBackordered, Reason: ReasonNoStock, Breakdown: b, Total: b.Total()}
		p.finish(t, st, part, Record(&d, &o.Order, next.attempt, true, next.ts, "", o.Region, time.Since(t.start)))
		return
	}
	p.reroutes.Add(1)
	t.route = append(t.route, next)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// finish records rd as the order's final decision.
func (p *Processor) finish(t *txn, st *partition, part int32, rd event.RoutingDecision) {
	st.done[rd.OrderID] = rd.TS.UnixMilli()
	t.dirty[rd.OrderID] = part
	t.touched[part] = st
	p.emit(t, part, rd)
	t.finals = append(t.finals, rd)
}

func (p *Processor) emit(t *txn, part int32, rd event.RoutingDecision) {
	v, err := json.Marshal(&rd)
	if err != nil {
		t.tx.Fail(fmt.Errorf("routing: encode decision %s: %w", rd.DecisionID, err))
		return
	}
	p.produce(t, &kgo.Record{Topic: kafka.TopicRouting, Partition: part, Key: []byte(rd.OrderID), Value: v})
}

func (p *Processor) request(t *txn, r event.Reservation) {
	v, err := json.Marshal(&r)
	if err != nil {
		t.tx.Fail(fmt.Errorf("routing: encode reservation %s: %w", r.ReservationID, err))
		return
	}
	p.produce(t, &kgo.Record{Topic: kafka.TopicReservations, Partition: kafka.KeyPartition([]byte(r.SKU), p.resParts.Load()),
		Key: []byte(r.SKU), Value: v})
}

// decide routes t.route: grouped by UTC day and region in arrival order,
// each group in batches of up to Batch.MaxOrders decided jointly.
func (p *Processor) decide(t *txn) {
	type group struct {
		day, region string
		reqs        []routeReq
	}
	var groups []*group
	for _, q := range t.route {
		day, region := q.ts.UTC().Format(time.DateOnly), p.router.Region(&q.o)
		i := slices.IndexFunc(groups, func(g *group) bool { return g.day == day && g.region == region })
		if i < 0 {
			groups = append(groups, &group{day: day, region: region})
			i = len(groups) - 1
		}
		groups[i].reqs = append(groups[i].reqs, q)
	}
	// Day by day: a new day refreshes every key's demand window.
	slices.SortStableFunc(groups, func(a, b *group) int { return strings.Compare(a.day, b.day) })
	for _, g := range groups {
		for len(g.reqs) > 0 {
			n := min(len(g.reqs), p.cfg.Router.Batch.MaxOrders)
			p.decideBatch(t, g.day, g.region, g.reqs[:n])
			g.reqs = g.reqs[n:]
		}
	}
}

// refresh brings the state up to date with the view for day.
func (p *Processor) refresh(day string) {
	all := day != p.day
	p.day = day
	p.view.pull(time.Now(), all, func(k whKey, avail int64, f *event.Forecast) {
		if err := p.state.SetStock(k.sku, k.wh, Stock{Available: avail, Demand: demandOf(f, day)}); err != nil {
			p.log.Debug("routing: stock not known to the router", "sku", k.sku, "warehouse", k.wh, "err", err)
		}
	})
	p.view.usageInto(day, p.router.whs, p.state.orders, p.state.units)
}

func (p *Processor) decideBatch(t *txn, day, region string, reqs []routeReq) {
	p.refresh(day)
	orders := make([]event.Order, len(reqs))
	for i, q := range reqs {
		orders[i] = q.o
	}
	var ds []Decision
	batchID := ""
	if len(orders) == 1 {
		ds = []Decision{p.router.Route(&orders[0], p.state)}
	} else {
		ds = p.router.Batch(orders, p.state)
		batchID = region + "/" + orders[0].OrderID
	}
	latency := time.Since(t.start)
	p.metrics.Latency.Observe(latency.Seconds())
	for i := range ds {
		p.attempt(t, reqs[i], &ds[i], batchID, region, latency)
	}
}

// attempt acts on decision d of q: a decision that ships reserves its
// stock and waits for the results; any other is final.
func (p *Processor) attempt(t *txn, q routeReq, d *Decision, batchID, region string, latency time.Duration) {
	p.attempts.Add(1)
	p.metrics.Attempts.Inc()
	st := p.parts[q.part]
	t.touched[q.part] = st
	if len(d.Assignments) == 0 {
		p.finish(t, st, q.part, Record(d, &q.o, q.attempt, true, q.ts, batchID, region, latency))
		return
	}
	rs := Reservations(d, q.attempt, q.ts)
	o := &orderState{Order: q.o, Part: q.part, Attempt: q.attempt, TS: q.ts.UTC(), Region: region, BatchID: batchID,
		Decision: *d, LatencyMS: float64(latency.Microseconds()) / 1000}
	for _, r := range rs {
		o.Want = append(o.Want, r.ReservationID)
		p.request(t, r)
		t.flights = append(t.flights, r.ReservationID)
	}
	p.view.reserve(rs, time.Now())
	use := Record(d, &q.o, q.attempt, false, q.ts, batchID, region, latency)
	p.view.use(&use)
	t.uses = append(t.uses, use.DecisionID)
	st.orders[q.o.OrderID] = o
	p.pendingN.Add(1)
	t.dirty[q.o.OrderID] = q.part
}

// expire forgets decided orders older than DoneTTL (event time), at most
// once per day of stream time per partition.
func (p *Processor) expire(t *txn, part int32, st *partition) {
	if st.streamTime-st.expired < int64(24*time.Hour/time.Millisecond) {
		return
	}
	st.expired = st.streamTime
	cutoff := st.streamTime - p.cfg.DoneTTL.Milliseconds()
	for id, ts := range st.done {
		if ts < cutoff {
			delete(st.done, id)
			p.produce(t, &kgo.Record{Topic: kafka.TopicRoutingChangelog, Partition: part, Key: []byte(prefixDone + id)})
		}
	}
}

// end commits, or aborts, withdraws what the transaction told the view and
// restores the partitions' state.
func (p *Processor) end(ctx context.Context, t *txn, fail error) error {
	try := kgo.TryCommit
	if fail != nil {
		try = kgo.TryAbort
	}
	if err := t.tx.Wait(); err != nil {
		p.log.Warn("produce failed; aborting transaction", "err", err)
		try = kgo.TryAbort
	}
	// The transaction's own context may have run out (that is often why
	// it is being aborted): ending it gets a fresh one, or the session
	// would stay in the transaction and the next Begin would fail.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	committed, err := p.sess.End(ectx, try)
	cancel()
	p.mu.Lock()
	if committed {
		p.commits.Add(1)
		p.metrics.Commits.Inc()
		p.reserved.Add(uint64(len(t.flights)))
		for _, rd := range t.finals {
			p.final.Add(1)
			p.metrics.Decisions.WithLabelValues(string(rd.Status)).Inc()
		}
	} else {
		p.view.withdraw(t.flights, t.uses)
		for part := range t.touched {
			if _, ok := p.parts[part]; ok || p.pending.Has(part) {
				p.dropLocked(part, true)
			}
		}
		for _, part := range t.dirty {
			if _, ok := p.parts[part]; ok || p.pending.Has(part) {
				p.dropLocked(part, true)
			}
		}
		p.aborts.Add(1)
		p.metrics.Aborts.Inc()
	}
	p.metrics.Pending.Set(float64(p.pendingN.Load()))
	p.mu.Unlock()
	if fail != nil {
		return fail
	}
	if err != nil {
		p.log.Warn("end transaction", "err", err, "committed", committed)
	}
	return nil
}

func (p *Processor) produce(t *txn, r *kgo.Record) {
	t.tx.Produce(t.ctx, p.sess, r)
}

// WhatIf decides o on the current view without reserving anything or
// producing a record: the answer of `POST /api/v1/route`. The view first
// catches up with the stock changelog's committed end, as a transaction
// does.
func (p *Processor) WhatIf(ctx context.Context, o *event.Order) (event.RoutingDecision, error) {
	if !p.viewReady.Load() {
		return event.RoutingDecision{}, errors.New("routing: the view is still catching up")
	}
	start := time.Now()
	if err := p.catchUp(ctx, kafka.TopicStockChangelog); err != nil {
		return event.RoutingDecision{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh(o.TS.UTC().Format(time.DateOnly))
	st := p.state.Clone()
	d := p.router.Route(o, st)
	return Record(&d, o, 0, false, o.TS, "", p.router.Region(o), time.Since(start)), nil
}

// Close leaves the group and closes the session. It is idempotent.
func (p *Processor) Close() {
	p.closeOnce.Do(func() { p.sess.Close() })
}
