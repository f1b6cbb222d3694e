package embedded

import (
	"fmt"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
)

func BenchmarkRenderJSONEachRow(b *testing.B) {
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := &store.Batch{Table: "sales", Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency",
		"src_topic", "src_partition", "src_offset", "ingested_at"}, DedupToken: "x"}
	for i := range 10000 {
		batch.Rows = append(batch.Rows, []any{fmt.Sprintf("ev-%09d", i), ts.Add(time.Duration(i) * time.Millisecond),
			fmt.Sprintf("SKU-%04d", i%5000), fmt.Sprintf("W%d", i%8), int64(1 + i%5), "", "store", 9.99, "EUR",
			"stockflow.sales.v1", int32(i % 12), int64(i), ts})
	}
	b.ResetTimer()
	for range b.N {
		if _, err := insertStatement(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Rows))/b.Elapsed().Seconds(), "rows/s")
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("X", 3600)),
		time.Unix(0, 0),
		time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		want := tm.UTC().Format("2006-01-02 15:04:05.000000000")
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := map[string]string{
		"plain":        `"plain"`,
		"q\"b\\":       `"q\"b\\"`,
		"\x00\x01\x1f": `"\u0000\u0001\u001f"`,
		"\n\r\t":       `"\n\r\t"`,
		"\xff\xfeü":    "\"\xff\xfeü\"",
	}
	for in, want := range tests {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}
