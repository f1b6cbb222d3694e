package embedded_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/sql"
)

// BenchmarkInsertSales measures Insert of sales batches (rendered as
// JSONEachRow) and reports it beside the engine's own INSERT … SELECT rate
// for the same table, measured in the same run, as a ratio.
func BenchmarkInsertSales(b *testing.B) {
	for _, size := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) { benchInsert(b, size) })
	}
}

func benchInsert(b *testing.B, size int) {
	if engineErr != nil {
		b.Fatalf("this benchmark needs the embedded ClickHouse engine (libchdb.so): %v", engineErr)
	}
	ctx := b.Context()
	db := fmt.Sprintf("bench_insert_%d_%d", size, time.Now().UnixNano())
	s, err := embedded.Open(ctx, embedded.Options{Path: engineDir, Database: db})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+store.QuoteIdent(db))
		_ = s.Close()
	})
	if _, err := store.Migrate(ctx, s, sql.Migrations()); err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := &store.Batch{
		Table: "sales",
		Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency",
			"src_topic", "src_partition", "src_offset", "ingested_at"},
	}
	for i := range size {
		batch.Rows = append(batch.Rows, []any{fmt.Sprintf("ev-%09d", i), ts.Add(time.Duration(i) * time.Millisecond),
			fmt.Sprintf("SKU-%04d", i%5000), fmt.Sprintf("W%d", i%8), int64(1 + i%5), "", "store", 9.99, "EUR",
			"stockflow.sales.v1", int32(i % 12), int64(i), ts})
	}
	b.ResetTimer()
	start := time.Now()
	for n := range b.N {
		batch.DedupToken = fmt.Sprintf("bench-%d", n)
		if err := s.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N*size) / elapsed.Seconds()

	rows := max(b.N*size, 500_000)
	q := fmt.Sprintf(`INSERT INTO sales SELECT
		concat('sel-', toString(number)), toDateTime64('2026-01-01', 3, 'UTC') + toIntervalMillisecond(number),
		concat('SKU-', leftPad(toString(number %% 5000), 4, '0')), concat('W', toString(number %% 8)), 1 + number %% 5, '',
		'store', 9.99, 'EUR', 'stockflow.sales.v1', toInt32(number %% 12), toInt64(number), toDateTime64('2026-01-01', 3, 'UTC')
		FROM numbers(%d)`, rows)
	sstart := time.Now()
	if err := s.Exec(ctx, q); err != nil {
		b.Fatal(err)
	}
	selRate := float64(rows) / time.Since(sstart).Seconds()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(selRate, "select_rows/s")
	b.ReportMetric(rate/selRate, "ratio")
}
