package crashtest

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/sim"
)

var now = time.Date(2030, 3, 10, 12, 0, 0, 0, time.UTC)

func saleJSON(id string, ts time.Time, sku, wh string, qty int) string {
	return fmt.Sprintf(`{"event_id":%q,"ts":%q,"sku":%q,"warehouse":%q,"qty":%d,"channel":"store","unit_price":2.5,"currency":"USD"}`,
		id, ts.Format(time.RFC3339Nano), sku, wh, qty)
}

func moveJSON(id string, ts time.Time, sku, wh, kind string, qty int) string {
	return fmt.Sprintf(`{"event_id":%q,"ts":%q,"sku":%q,"warehouse":%q,"kind":%q,"qty":%d}`,
		id, ts.Format(time.RFC3339Nano), sku, wh, kind, qty)
}

// TestOracleHandWorked feeds a small history whose results are worked out
// by hand, in an arrival order that differs from event time.
func TestOracleHandWorked(t *testing.T) {
	t0 := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	type rec struct {
		topic string
		part  int32
		value string
		want  event.Reason // "" accepted
	}
	recs := []rec{
		{event.TopicStock, 0, moveJSON("m1", at(1), "A", "WH1", "count", 100), ""},
		{event.TopicSales, 0, saleJSON("s1", at(2), "A", "WH1", 3), ""},
		{event.TopicSales, 0, saleJSON("s1", at(2), "A", "WH1", 3), event.ReasonDuplicateEvent},
		{event.TopicStock, 0, moveJSON("m2", at(30), "A", "WH1", "receipt", 10), ""},
		{event.TopicStock, 0, moveJSON("m3", at(20), "A", "WH1", "count", 50), ""},  // late count: supersedes s1, keeps m2
		{event.TopicStock, 0, moveJSON("m10", at(20), "A", "WH1", "count", 40), ""}, // same ts, lower id ("m10" < "m3"): loses
		{event.TopicSales, 0, saleJSON("s2", at(20), "A", "WH1", 1), ""},            // at the count's ts: included in it
		{event.TopicStock, 0, moveJSON("m5", at(40), "A", "WH1", "damage", 2), ""},
		{event.TopicStock, 0, moveJSON("m6", at(41), "A", "WH1", "adjustment", -5), ""},
		{event.TopicStock, 0, moveJSON("m7", at(42), "A", "WH1", "transfer_out", 1), ""},
		{event.TopicStock, 1, moveJSON("m8", at(1), "B", "WH2", "receipt", 7), ""},
		{event.TopicStock, 1, moveJSON("m9", at(2), "B", "WH2", "return", 1), ""},
		{event.TopicSales, 1, saleJSON("s3", at(3), "B", "WH2", 2), ""},
		{event.TopicSales, 1, saleJSON("s4", at(26), "B", "WH2", 4), ""},
		{event.TopicSales, 1, saleJSON("x1", at(3), "B", "WH9", 1), event.ReasonUnknownWarehouse},
		{event.TopicSales, 1, saleJSON("x2", now.Add(48*time.Hour), "B", "WH2", 1), event.ReasonFutureTimestamp},
		{event.TopicSales, 1, `{"event_id":"x3",`, event.ReasonMalformedJSON},
		{event.TopicStock, 1, moveJSON("x4", at(3), "B", "WH2", "receipt", -1), event.ReasonNegativeQty},
		{event.TopicStock, 1, `{"event_id":"x5","pad":"` + strings.Repeat("x", 70<<10) + `"}`, event.ReasonOversize},
		// Invalid records do not enter the deduplication state: the valid
		// one with the same id afterwards is accepted.
		{event.TopicSales, 1, saleJSON("s5", at(27), "B", "WH9", 1), event.ReasonUnknownWarehouse},
		{event.TopicSales, 1, saleJSON("s5", at(27), "B", "WH2", 1), ""},
	}
	o := NewOracle([]event.WarehouseID{"WH1", "WH2"}, now, 7*24*time.Hour)
	offsets := map[Coord]int64{}
	for _, r := range recs {
		tp := Coord{Topic: r.topic, Partition: r.part}
		o.Add(r.topic, r.part, offsets[tp], []byte(r.value))
		c := Coord{Topic: r.topic, Partition: r.part, Offset: offsets[tp]}
		offsets[tp]++
		if got, rejected := o.Rejected(c); r.want == "" && rejected {
			t.Errorf("%s rejected (%s), want accepted", c, got)
		} else if r.want != "" && got != r.want {
			t.Errorf("%s: reason %q, want %q", c, got, r.want)
		}
	}
	if p := o.Problems(); len(p) > 0 {
		t.Errorf("problems: %v", p)
	}
	// A: count 50 @20, then receipt +10 @30, damage -2, adjustment -5,
	// transfer_out -1: 52. B: 7 + 1 - 2 - 4 - 1 = 1.
	want := map[Key]int64{{SKU: "A", Warehouse: "WH1"}: 52, {SKU: "B", Warehouse: "WH2"}: 1}
	if got := o.Levels(); !maps.Equal(got, want) {
		t.Errorf("levels %v, want %v", got, want)
	}
	day := dayOf(t0.UnixMilli())
	wantDays := map[DayKey]int64{
		{Key: Key{SKU: "A", Warehouse: "WH1"}, Day: day}:     3 + 1,
		{Key: Key{SKU: "B", Warehouse: "WH2"}, Day: day}:     2,
		{Key: Key{SKU: "B", Warehouse: "WH2"}, Day: day + 1}: 4 + 1,
	}
	if got := o.DailyUnits(); !maps.Equal(got, wantDays) {
		t.Errorf("daily units %v, want %v", got, wantDays)
	}
	if got, want := o.Accepted(), 14; got != want {
		t.Errorf("accepted %d, want %d", got, want)
	}
	if got, want := o.AcceptedIn("sales"), 5; got != want {
		t.Errorf("accepted sales %d, want %d", got, want)
	}
}

// TestOracleUndecidable: the oracle refuses to guess where the pipeline's
// answer depends on its merge order or on its deduplication window.
func TestOracleUndecidable(t *testing.T) {
	t0 := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	for name, recs := range map[string][][2]string{
		"one id on two topics": {
			{event.TopicSales, saleJSON("e1", t0, "A", "WH1", 1)},
			{event.TopicStock, moveJSON("e1", t0, "A", "WH1", "receipt", 1)},
		},
		"near the window edge": {
			{event.TopicSales, saleJSON("e1", t0, "A", "WH1", 1)},
			{event.TopicSales, saleJSON("e2", t0.Add(6*24*time.Hour+time.Minute), "A", "WH1", 1)},
			{event.TopicSales, saleJSON("e1", t0, "A", "WH1", 1)},
		},
	} {
		t.Run(name, func(t *testing.T) {
			o := NewOracle(nil, now, 7*24*time.Hour)
			for i, r := range recs {
				o.Add(r[0], 0, int64(i), []byte(r[1]))
			}
			if len(o.Problems()) == 0 {
				t.Error("no problem reported")
			}
		})
	}
	o := NewOracle(nil, now, 7*24*time.Hour)
	o.Add(event.TopicSales, 0, 0, []byte(saleJSON("e1", t0, "A", "WH1", 1)))
	o.Add(event.TopicSales, 1, 0, []byte(saleJSON("e1", t0, "B", "WH1", 1)))
	if len(o.Problems()) == 0 {
		t.Error("one id accepted in two partitions: no problem reported")
	}
}

// TestOracleAgreesWithSimulator feeds a simulated history, partitioned by
// key as a producer would, and checks that the oracle rejects exactly the
// records the simulator labels bad, with the labelled reasons.
func TestOracleAgreesWithSimulator(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 7, SKUs: 60, Warehouses: 4, Days: 20, BadShare: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	o := NewOracle(warehouseIDs(s.Warehouses()), time.Now(), 7*24*time.Hour)
	offsets := map[Coord]int64{}
	var mislabeled []string
	stats, err := s.History(context.Background(), func(r sim.Record) error {
		h := fnv.New32a()
		_, _ = h.Write(r.Key)
		tp := Coord{Topic: r.Topic, Partition: int32(h.Sum32() % 3)}
		c := tp
		c.Offset = offsets[tp]
		offsets[tp]++
		o.Add(c.Topic, c.Partition, c.Offset, r.Value)
		if got, _ := o.Rejected(c); got != r.Bad && len(mislabeled) < 5 {
			mislabeled = append(mislabeled, fmt.Sprintf("%s: oracle %q, simulator %q", c, got, r.Bad))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mislabeled) > 0 {
		t.Errorf("the oracle and the simulator disagree: %v", mislabeled)
	}
	if p := o.Problems(); len(p) > 0 {
		t.Errorf("problems: %v", p)
	}
	if o.Records() != stats.Events || o.RejectedCount() != stats.Bad {
		t.Errorf("oracle: %d records, %d rejected; simulator: %d events, %d bad", o.Records(), o.RejectedCount(), stats.Events, stats.Bad)
	}
	if got := o.ByReason(); !maps.Equal(got, stats.ByReason) {
		t.Errorf("rejections by reason %v, simulator %v", got, stats.ByReason)
	}
	if len(o.Levels()) != 60*4 {
		t.Errorf("%d ledgers, want %d", len(o.Levels()), 60*4)
	}
	for k, v := range o.Levels() {
		if v < 0 {
			t.Errorf("%s: on hand %d; the simulator never records negative stock", k, v)
		}
	}
}

func warehouseIDs(whs []sim.Warehouse) []event.WarehouseID {
	out := make([]event.WarehouseID, len(whs))
	for i, w := range whs {
		out[i] = w.ID
	}
	return out
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP stockflow_stock_records_in_total Records consumed.
# TYPE stockflow_stock_records_in_total counter
stockflow_stock_records_in_total{topic="stockflow.sales.v1"} 12
stockflow_stock_records_in_total{topic="stockflow.stock.v1"} 3
stockflow_sink_rows_total{table="sales"} 1.5e+06
go_goroutines 42
`
	got, err := parseMetrics(bufio.NewScanner(strings.NewReader(text)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"stockflow_stock_records_in_total": 15, "stockflow_sink_rows_total": 1.5e6, "go_goroutines": 42}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
