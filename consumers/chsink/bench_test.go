package chsink_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/consumers/chsink"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/sql"
)

// BenchmarkSink measures the sink's rate on accepted sales spread over six
// partitions (the default), as rows per second and as a ratio to the
// engine's own INSERT … SELECT rate into the same table, measured in the
// same run (DESIGN.md §9). Both feed sales_daily_mv; the sink's time runs
// from Run to the group's commit of the last offset, so it includes joining
// the group.
func BenchmarkSink(b *testing.B) {
	const n = 120_000
	ctx := b.Context()
	kb, err := kafka.StartBroker(kafka.BrokerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(kb.Close)
	kc := kafka.Config{Brokers: kb.Addrs(), ClientID: "chsink-bench"}
	opts, err := kc.Opts()
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.TransactionalID("chsink-bench"), kgo.ProducerBatchMaxBytes(1<<20))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	specs := (kafka.TopicsConfig{}).Specs()
	if _, err := kafka.EnsureTopics(ctx, adm, specs, 1); err != nil {
		b.Fatal(err)
	}
	r := newRun()
	ts := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += 10_000 {
		if err := cl.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		recs := make([]*kgo.Record, 0, 10_000)
		for i := start; i < start+10_000; i++ {
			sale := event.Sale{EventID: r.ev(fmt.Sprint(i)), TS: ts.Add(time.Duration(i) * time.Second), SKU: event.SKU(r.sku(fmt.Sprint(i % 500))),
				Warehouse: "WH1", Qty: 1, Channel: "store", UnitPrice: 2.5, Currency: "EUR"}
			rec := benchAccepted(b, r, sale, int64(i))
			recs = append(recs, rec)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, chsink.Topics...)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		st := openBenchStore(b, fmt.Sprintf("bench_sink_%s_%d", r.id, i))
		group := fmt.Sprintf("chsink-bench-%s-%d", r.id, i)
		s, err := chsink.New(chsink.Config{Kafka: kc, Group: group}, st, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		t0 := time.Now()
		go func() { done <- s.Run(rctx) }()
		tick := time.NewTicker(5 * time.Millisecond)
		for {
			committed, err := adm.FetchOffsets(ctx, group)
			if err == nil && committed.Error() == nil {
				behind := false
				ends.Each(func(e kadm.ListedOffset) {
					if c, ok := committed.Lookup(e.Topic, e.Partition); e.Offset > 0 && (!ok || c.At < e.Offset) {
						behind = true
					}
				})
				if !behind {
					break
				}
			}
			<-tick.C
		}
		tick.Stop()
		sinkRate := float64(n) / time.Since(t0).Seconds()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := st.Exec(ctx, `INSERT INTO sales (event_id, ts, sku, warehouse, qty, order_id, channel, unit_price, currency, src_topic, src_partition, src_offset)
			SELECT concat('x', toString(number)), toDateTime64('2026-03-01', 3, 'UTC') + number, concat('SKU-', toString(number % 500)), 'WH1', 1, '', 'store', 2.5, 'EUR',
				'stockflow.sales.v1', toInt32(number % 6), toInt64(number)
			FROM numbers({n:UInt64})`, store.IntParam("n", n)); err != nil {
			b.Fatal(err)
		}
		engineRate := float64(n) / time.Since(t1).Seconds()
		b.ReportMetric(sinkRate, "rows/s")
		b.ReportMetric(sinkRate/engineRate, "ratio-to-insert-select")
	}
}

func benchAccepted(b *testing.B, r run, sale event.Sale, offset int64) *kgo.Record {
	v, err := event.Encode(sale)
	if err != nil {
		b.Fatal(err)
	}
	return &kgo.Record{Topic: kafka.TopicAccepted, Key: []byte(sale.SKU), Value: v, Headers: []kgo.RecordHeader{
		{Key: event.HeaderEventType, Value: []byte(event.TypeSale.String())},
		{Key: event.HeaderSourceTopic, Value: []byte(kafka.TopicSales)},
		{Key: event.HeaderSourcePartition, Value: []byte("0")},
		{Key: event.HeaderSourceOffset, Value: []byte(fmt.Sprint(r.base + offset))},
	}}
}

// openBenchStore opens a migrated database of its own in the test
// binary's engine, dropped when the benchmark ends.
func openBenchStore(b *testing.B, db string) store.Store {
	b.Helper()
	if engineErr != nil {
		b.Fatalf("this benchmark needs the embedded ClickHouse engine (libchdb.so; run deploy/scripts/fetch-chdb.sh): %v", engineErr)
	}
	st, err := embedded.Open(b.Context(), embedded.Options{Path: engineDir, Database: db})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = st.Exec(context.Background(), "DROP DATABASE IF EXISTS "+store.QuoteIdent(db))
		_ = st.Close()
	})
	if _, err := store.Migrate(b.Context(), st, sql.Migrations()); err != nil {
		b.Fatal(err)
	}
	return st
}
