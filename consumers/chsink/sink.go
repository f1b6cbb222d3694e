// Package chsink is the ClickHouse sink: it consumes stockflow's output
// topics (the accepted events, the stock changelog and the DLQ) with
// read_committed and writes them into the store's tables in batches, then
// commits the consumed offsets. Every insert carries a deduplication token
// derived from the partition offset ranges it covers, and the tables are
// ReplacingMergeTree keyed by event, so a batch replayed after a crash
// lands once.
//
// It imports the store and the event contract, never the pipelines.
package chsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
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
var Topics = []string{kafka.TopicAccepted, kafka.TopicStockChangelog, kafka.TopicDLQ}

// Config configures the sink.
type Config struct {
	Kafka kafka.Config
	// Group is the consumer group; default "stockflow-sink".
	Group string
	// MaxBatchRecords bounds one insert round; default 50000.
	MaxBatchRecords int
	// Retries of a failed insert before Run returns; default 8 (with
	// exponential backoff from 200ms).
	Retries int
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if c.MaxBatchRecords < 0 || c.Retries < 0 {
		return errors.New("chsink: negative batch size or retries")
	}
	return nil
}

// Metrics are the sink's Prometheus instruments.
type Metrics struct {
	Rows    *prometheus.CounterVec // by table
	Inserts *prometheus.CounterVec // by table
	Retries prometheus.Counter
	Skipped *prometheus.CounterVec // records that could not be turned into rows, by reason
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
	}
	if reg != nil {
		reg.MustRegister(m.Rows, m.Inserts, m.Retries, m.Skipped)
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
	if cfg.Retries == 0 {
		cfg.Retries = 8
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	opts, err := cfg.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(Topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // commit past transaction markers, so lag reaches zero
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("chsink: create consumer: %w", err)
	}
	return &Sink{cfg: cfg, store: st, log: log, metrics: m, cl: cl}, nil
}

// Rows returns how many rows the sink has inserted.
func (s *Sink) Rows() uint64 { return s.rows.Load() }

// Group returns the consumer group name.
func (s *Sink) Group() string { return s.cfg.Group }

// Run polls, inserts and commits until ctx is done.
func (s *Sink) Run(ctx context.Context) error {
	defer s.Close()
	for {
		fetches := s.cl.PollRecords(ctx, s.cfg.MaxBatchRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			s.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		if fetches.NumRecords() > 0 {
			// A batch in hand is inserted and committed even when ctx is
			// cancelled (shutdown phase one); retries still give up on it.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			err := s.write(wctx, fetches)
			if err == nil {
				if cerr := s.cl.CommitUncommittedOffsets(wctx); cerr != nil {
					// Rows are in; a replay dedups. Log and go on.
					s.log.Warn("commit offsets", "err", cerr)
				}
			}
			cancel()
			if err != nil {
				s.cl.AllowRebalance()
				return err
			}
		}
		s.cl.AllowRebalance()
	}
}

// tableBatch accumulates rows for one table and the offset ranges they
// came from (for the deduplication token).
type tableBatch struct {
	b      store.Batch
	ranges map[string][2]int64 // "topic/partition" -> first, last offset
}

func (t *tableBatch) add(r *kgo.Record, row []any) {
	t.b.Rows = append(t.b.Rows, row)
	k := r.Topic + "/" + strconv.Itoa(int(r.Partition))
	rg, ok := t.ranges[k]
	if !ok {
		rg = [2]int64{r.Offset, r.Offset}
	}
	rg[0], rg[1] = min(rg[0], r.Offset), max(rg[1], r.Offset)
	t.ranges[k] = rg
}

func (t *tableBatch) token() string {
	keys := make([]string, 0, len(t.ranges))
	for k := range t.ranges {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString(t.b.Table)
	for _, k := range keys {
		rg := t.ranges[k]
		fmt.Fprintf(&sb, "|%s:%d-%d", k, rg[0], rg[1])
	}
	return sb.String()
}

func (s *Sink) write(ctx context.Context, fetches kgo.Fetches) error {
	now := time.Now().UTC()
	tables := map[string]*tableBatch{}
	get := func(name string, cols []string) *tableBatch {
		t := tables[name]
		if t == nil {
			t = &tableBatch{b: store.Batch{Table: name, Columns: cols}, ranges: map[string][2]int64{}}
			tables[name] = t
		}
		return t
	}
	fetches.EachRecord(func(r *kgo.Record) {
		if r.Attrs.IsControl() {
			return
		}
		var err error
		switch r.Topic {
		case kafka.TopicAccepted:
			err = s.accepted(r, now, get)
		case kafka.TopicStockChangelog:
			err = s.changelog(r, now, get)
		case kafka.TopicDLQ:
			get("dlq", dlqColumns).add(r, dlqRow(r))
		}
		if err != nil {
			reason := string(event.ReasonOf(err))
			s.metrics.Skipped.WithLabelValues(reason).Inc()
			s.log.Error("record skipped: not a valid row", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		}
	})
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	// Raw tables before stock_levels, so stored levels never run ahead of
	// the events that explain them.
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "stock_levels") != (names[j] == "stock_levels") {
			return names[j] == "stock_levels"
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		t := tables[n]
		t.b.DedupToken = t.token()
		if err := s.insert(ctx, &t.b); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) insert(ctx context.Context, b *store.Batch) error {
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := s.store.Insert(ctx, b)
		if err == nil {
			s.rows.Add(uint64(len(b.Rows)))
			s.metrics.Rows.WithLabelValues(b.Table).Add(float64(len(b.Rows)))
			s.metrics.Inserts.WithLabelValues(b.Table).Inc()
			return nil
		}
		if ctx.Err() != nil || attempt >= s.cfg.Retries {
			return fmt.Errorf("chsink: insert %d rows into %s: %w", len(b.Rows), b.Table, err)
		}
		s.metrics.Retries.Inc()
		s.log.Warn("insert failed; retrying", "table", b.Table, "rows", len(b.Rows), "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func header(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

func headerInt(r *kgo.Record, key string) int64 {
	v, _ := strconv.ParseInt(string(header(r, key)), 10, 64)
	return v
}

var (
	srcColumns      = []string{"src_topic", "src_partition", "src_offset", "ingested_at"}
	salesColumns    = append([]string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency"}, srcColumns...)
	stockColumns    = append([]string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "delta", "ref"}, srcColumns...)
	ordersColumns   = append([]string{"event_id", "ts", "order_id", "lines.sku", "lines.qty", "ship_postal_code", "ship_country", "ship_lat", "ship_lon", "service_level", "promised_by"}, srcColumns...)
	campaignColumns = append([]string{"event_id", "ts", "campaign_id", "skus", "category", "regions", "warehouses", "start", "end", "expected_uplift"}, srcColumns...)
	levelColumns    = []string{"sku", "warehouse", "on_hand", "reserved", "available", "last_event_ts", "version", "updated_at"}
	dlqColumns      = []string{"ts", "src_topic", "src_partition", "src_offset", "event_type", "reason", "message", "key", "value"}
)

func src(r *kgo.Record, now time.Time) []any {
	return []any{
		string(header(r, event.HeaderSourceTopic)),
		int32(headerInt(r, event.HeaderSourcePartition)),
		headerInt(r, event.HeaderSourceOffset),
		now,
	}
}

func (s *Sink) accepted(r *kgo.Record, now time.Time, get func(string, []string) *tableBatch) error {
	switch string(header(r, event.HeaderEventType)) {
	case event.TypeSale.String():
		var e event.Sale
		if err := event.DecodeSale(r.Value, &e); err != nil {
			return err
		}
		row := []any{e.EventID, e.TS.UTC(), string(e.SKU), string(e.Warehouse), e.Qty, e.OrderID, e.Channel, e.UnitPrice, e.Currency}
		get("sales", salesColumns).add(r, append(row, src(r, now)...))
	case event.TypeStock.String():
		var e event.Stock
		if err := event.DecodeStock(r.Value, &e); err != nil {
			return err
		}
		row := []any{e.EventID, e.TS.UTC(), string(e.SKU), string(e.Warehouse), string(e.Kind), e.Qty, headerInt(r, event.HeaderDelta), e.Ref}
		get("stock_movements", stockColumns).add(r, append(row, src(r, now)...))
	case event.TypeOrder.String():
		var e event.Order
		if err := event.DecodeOrder(r.Value, &e); err != nil {
			return err
		}
		skus := make([]string, len(e.Lines))
		qtys := make([]int64, len(e.Lines))
		for i, l := range e.Lines {
			skus[i], qtys[i] = string(l.SKU), l.Qty
		}
		row := []any{e.EventID, e.TS.UTC(), e.OrderID, skus, qtys, e.ShipTo.PostalCode, e.ShipTo.Country, e.ShipTo.Lat, e.ShipTo.Lon, e.ServiceLevel, e.PromisedBy.UTC()}
		get("orders", ordersColumns).add(r, append(row, src(r, now)...))
	case event.TypeCampaign.String():
		var e event.Campaign
		if err := event.DecodeCampaign(r.Value, &e); err != nil {
			return err
		}
		skus := make([]string, len(e.SKUs))
		for i, v := range e.SKUs {
			skus[i] = string(v)
		}
		whs := make([]string, len(e.Warehouses))
		for i, v := range e.Warehouses {
			whs[i] = string(v)
		}
		regions := append([]string{}, e.Regions...)
		row := []any{e.EventID, e.TS.UTC(), e.CampaignID, skus, e.Category, regions, whs, e.Start.UTC(), e.End.UTC(), e.ExpectedUplift}
		get("campaigns", campaignColumns).add(r, append(row, src(r, now)...))
	default:
		return &event.Error{Reason: event.ReasonInvalidValue, Field: event.HeaderEventType, Msg: "accepted record without a known event type header"}
	}
	return nil
}

func (s *Sink) changelog(r *kgo.Record, now time.Time, get func(string, []string) *tableBatch) error {
	if !bytes.HasPrefix(r.Key, []byte(event.ChangelogLevelPrefix)) || r.Value == nil {
		return nil // dedup and stream-time entries are the pipeline's own state
	}
	var lv event.StockLevel
	if err := json.Unmarshal(r.Value, &lv); err != nil {
		return &event.Error{Reason: event.ReasonMalformedJSON, Msg: "changelog ledger record: " + err.Error()}
	}
	get("stock_levels", levelColumns).add(r, []any{
		string(lv.SKU), string(lv.Warehouse), lv.OnHand, lv.Reserved, lv.Available,
		time.UnixMilli(lv.LastEventTS).UTC(), lv.Version, now,
	})
	return nil
}

// dlqRow keeps the DLQ record's own timestamp (when the pipeline
// dead-lettered it), so a replayed record yields an identical row.
func dlqRow(r *kgo.Record) []any {
	return []any{
		r.Timestamp.UTC(),
		string(header(r, event.HeaderSourceTopic)),
		int32(headerInt(r, event.HeaderSourcePartition)),
		headerInt(r, event.HeaderSourceOffset),
		string(header(r, event.HeaderEventType)),
		string(header(r, event.HeaderReason)),
		string(header(r, event.HeaderMessage)),
		string(r.Key),
		string(r.Value),
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

// Close closes the consumer; it is idempotent.
func (s *Sink) Close() {
	if s.closed.CompareAndSwap(false, true) {
		// The consumer blocks rebalances while a poll is in hand; leaving
		// the group is one, so allow it or Close waits forever.
		s.cl.CloseAllowingRebalance()
	}
}
