package export

import (
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// salesBatches builds n rows of the sales dataset shaped like the rows of
// `stockflow bench export` (5000 SKUs, 7 warehouses, sorted by sku,
// warehouse and ts), in batches of the engine's block size.
func salesBatches(b testing.TB, mem memory.Allocator, n int) []arrow.RecordBatch {
	b.Helper()
	ds := mustLookup("sales")
	type row struct {
		ts             int64
		sku, wh        string
		qty            int64
		price          float64
		channel, order string
		event          string
	}
	rows := make([]row, n)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range rows {
		h := uint64(i)*0x9E3779B97F4A7C15 + 1
		h ^= h >> 31
		r := row{
			ts: base + int64(i)*86_400_000/int64(n), sku: fmt.Sprintf("SKU-%06d", h%5000), wh: fmt.Sprintf("WH%02d", i%7),
			qty: int64(1 + i%5), price: float64(100+(h>>20)%10000) / 100, channel: []string{"store", "web", "marketplace"}[i%3],
			event: fmt.Sprintf("e-%d", i),
		}
		if i%3 == 0 {
			r.order = fmt.Sprintf("ORD-%d", i/3)
		}
		rows[i] = r
	}
	sort.Slice(rows, func(i, j int) bool {
		a, c := rows[i], rows[j]
		if a.sku != c.sku {
			return a.sku < c.sku
		}
		if a.wh != c.wh {
			return a.wh < c.wh
		}
		return a.ts < c.ts
	})
	const block = 65409
	var out []arrow.RecordBatch
	for lo := 0; lo < n; lo += block {
		bld := array.NewRecordBuilder(mem, ds.ArrowSchema())
		ts, ok0 := bld.Field(0).(*array.TimestampBuilder)
		qty, ok1 := bld.Field(3).(*array.Int64Builder)
		if !ok0 || !ok1 {
			b.Fatal("sales schema changed")
		}
		strs := map[int]*array.StringBuilder{}
		flts := map[int]*array.Float64Builder{}
		for _, i := range []int{1, 2, 6, 7, 8, 9} {
			if strs[i], ok0 = bld.Field(i).(*array.StringBuilder); !ok0 {
				b.Fatal("sales schema changed")
			}
		}
		for _, i := range []int{4, 5} {
			if flts[i], ok0 = bld.Field(i).(*array.Float64Builder); !ok0 {
				b.Fatal("sales schema changed")
			}
		}
		for _, r := range rows[lo:min(lo+block, n)] {
			ts.Append(arrow.Timestamp(r.ts))
			strs[1].Append(r.sku)
			strs[2].Append(r.wh)
			qty.Append(r.qty)
			flts[4].Append(r.price)
			flts[5].Append(float64(r.qty) * r.price)
			strs[6].Append("EUR")
			strs[7].Append(r.channel)
			strs[8].Append(r.order)
			strs[9].Append(r.event)
		}
		out = append(out, bld.NewRecordBatch())
		bld.Release()
	}
	return out
}

// BenchmarkFileWriter encodes one day of bench-shaped sales rows (about a
// partition of `stockflow bench export`) into one Parquet file.
func BenchmarkFileWriter(b *testing.B) {
	const n = 333_333
	recs := salesBatches(b, memory.DefaultAllocator, n)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	ds := mustLookup("sales")
	b.ResetTimer()
	for b.Loop() {
		fw, err := NewFileWriter(io.Discard, ds, WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := fw.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := fw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
