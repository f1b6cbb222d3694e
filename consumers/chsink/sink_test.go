package chsink_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/consumers/chsink"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/storetest"
)

// TestContract runs the sink contract against the in-process broker.
func TestContract(t *testing.T) {
	runContract(t, newKfake(t))
}

// TestReplayExactlyOnce consumes the same records twice under one group
// (the second time after resetting its offsets to the start, as after a
// crash between insert and commit) and checks that every table holds each
// event once, with the input's sums, and the same rows as after one pass.
//
// Background merges are stopped on the test's tables, so the raw count()
// (without FINAL) is exactly the number of rows the inserts left: it shows
// whether the insert deduplication tokens dropped the replayed batches
// before FINAL had to.
func TestReplayExactlyOnce(t *testing.T) {
	tests := []struct {
		name string
		// MaxBatchRecords of the first and the second sink (0: default).
		first, replay int
		// sameTokens: both passes insert exactly the same batches (one
		// record each), so every replayed insert carries a token ClickHouse
		// has seen and must be dropped. Otherwise the batches, and so the
		// tokens, may differ, and only FINAL is guaranteed to deduplicate.
		sameTokens bool
	}{
		{name: "same single-record batches", first: 1, replay: 1, sameTokens: true},
		{name: "different batches", first: 0, replay: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			b := newKfake(t)
			st := storetest.Migrated(t, openStore)
			stopMerges(ctx, t, st)
			r := newRun()
			w := r.workload(t, rand.New(rand.NewPCG(1, 2)), 12, 25)
			ends := produce(ctx, t, b, r, w.txns)
			group := "chsink-replay-" + r.id

			first := startSink(ctx, t, b, st, chsink.Config{Group: group, MaxBatchRecords: tc.first}, nil)
			first.waitCaughtUp(ctx, t, ends)
			first.stop(t)
			checkTables(ctx, t, st, r, w.checks)
			before := make(map[string]*store.Result)
			raw1 := make(map[string]uint64)
			for _, c := range w.checks {
				before[c.table] = query(ctx, t, st, c.snapshot(), r.params()...)
				// A ReplacingMergeTree collapses the rows of one insert
				// block that share a key (optimize_on_insert), so several
				// versions of a ledger in one batch may leave one row.
				raw1[c.table] = rawCount(ctx, t, st, c, r)
				if n := raw1[c.table]; n < c.distinct || n > c.records || tc.first == 1 && n != c.records {
					t.Errorf("%s after one pass: raw count() = %d, want %d distinct to %d records (all of them with single-record batches)", c.table, n, c.distinct, c.records)
				}
			}

			resetGroup(ctx, t, first.adm, group, b)
			second := startSink(ctx, t, b, st, chsink.Config{Group: group, MaxBatchRecords: tc.replay}, nil)
			second.waitCaughtUp(ctx, t, ends)
			second.stop(t)
			if second.sink.Rows() == 0 {
				t.Fatal("the replaying sink inserted nothing: the offsets were not reset")
			}

			checkTables(ctx, t, st, r, w.checks)
			for _, c := range w.checks {
				t.Run(c.table, func(t *testing.T) {
					storetest.CompareRows(t, query(ctx, t, st, c.snapshot(), r.params()...), before[c.table].Rows)
					raw := rawCount(ctx, t, st, c, r)
					t.Logf("%s: %d distinct rows from %d committed records; raw count() %d after one pass, %d after the replay",
						c.table, c.distinct, c.records, raw1[c.table], raw)
					switch {
					case tc.sameTokens && raw != raw1[c.table]:
						t.Errorf("raw count() went from %d to %d replaying identical batches: the deduplication tokens did not drop the replay", raw1[c.table], raw)
					case raw < raw1[c.table] || raw > raw1[c.table]+c.records:
						t.Errorf("raw count() went from %d to %d, want at most %d more", raw1[c.table], raw, c.records)
					}
				})
			}
		})
	}
}

// TestSkippedRecords checks that a record which cannot become a row is
// counted once, under its reason, in the Skipped metric, is committed
// past, and neither stops the sink nor keeps the good records around it
// from landing.
func TestSkippedRecords(t *testing.T) {
	good := func(r run, name string) event.Sale {
		return event.Sale{EventID: r.ev(name), TS: contractT0, SKU: event.SKU(r.sku("A")), Warehouse: "WH1", Qty: 1,
			Channel: "store", UnitPrice: 1, Currency: "EUR"}
	}
	tests := []struct {
		name   string
		bad    func(*testing.T, run) *kgo.Record
		reason event.Reason
	}{
		{
			name: "accepted without event type header",
			bad: func(t *testing.T, r run) *kgo.Record {
				return withoutHeader(r.accepted(t, good(r, "bad"), 2, nil), event.HeaderEventType)
			},
			reason: event.ReasonInvalidValue,
		},
		{
			name: "accepted with unknown event type",
			bad: func(t *testing.T, r run) *kgo.Record {
				return withHeader(r.accepted(t, good(r, "bad"), 2, nil), event.HeaderEventType, "refund")
			},
			reason: event.ReasonInvalidValue,
		},
		{
			name: "accepted sale that is not JSON",
			bad: func(t *testing.T, r run) *kgo.Record {
				return withValue(r.accepted(t, good(r, "bad"), 2, nil), `{"event_id":`)
			},
			reason: event.ReasonMalformedJSON,
		},
		{
			name: "accepted order holding a sale",
			bad: func(t *testing.T, r run) *kgo.Record {
				return withHeader(r.accepted(t, good(r, "bad"), 2, nil), event.HeaderEventType, event.TypeOrder.String())
			},
			reason: event.ReasonMissingField,
		},
		{
			name: "window that is not JSON",
			bad: func(_ *testing.T, r run) *kgo.Record {
				return rawRecord(kafka.TopicWindows, r.sku("A"), []byte(`{"sku":`))
			},
			reason: event.ReasonMalformedJSON,
		},
		{
			name: "window of an unknown size",
			bad: func(t *testing.T, r run) *kgo.Record {
				w := r.window(event.SKU(r.sku("A")), "WH1", event.WindowDay, event.WindowFinal, contractT0.Truncate(24*time.Hour), 1, 1, 1)
				w.Size = "1w"
				return r.windowRecord(t, w)
			},
			reason: event.ReasonInvalidValue,
		},
		{
			name: "reorder that is not JSON",
			bad: func(_ *testing.T, r run) *kgo.Record {
				return rawRecord(kafka.TopicReorders, r.sku("A"), []byte(`{"reorder_id":`))
			},
			reason: event.ReasonMalformedJSON,
		},
		{
			name: "reorder of an unknown status",
			bad: func(t *testing.T, r run) *kgo.Record {
				o := r.reorder(event.SKU(r.sku("A")), "WH1", 1, event.ReorderOrdered, contractT0, 10)
				o.Status = "shipped"
				return r.reorderRecord(t, o)
			},
			reason: event.ReasonInvalidValue,
		},
		{
			name: "reorder without an id",
			bad: func(t *testing.T, r run) *kgo.Record {
				o := r.reorder(event.SKU(r.sku("A")), "WH1", 1, event.ReorderOrdered, contractT0, 10)
				o.ReorderID = ""
				return r.reorderRecord(t, o)
			},
			reason: event.ReasonMissingField,
		},
		{
			name: "routing decision that is not JSON",
			bad: func(_ *testing.T, r run) *kgo.Record {
				return rawRecord(event.TopicRouting, r.ev("O1"), []byte(`{"decision_id":`))
			},
			reason: event.ReasonMalformedJSON,
		},
		{
			name: "routing decision of an unknown status",
			bad: func(t *testing.T, r run) *kgo.Record {
				d := r.routing(r.ev("O1"), 1, true, contractT0, 2, "WH1")
				d.Status = "shipped"
				return r.routingRecord(t, d)
			},
			reason: event.ReasonInvalidValue,
		},
		{
			name: "routing decision without an id",
			bad: func(t *testing.T, r run) *kgo.Record {
				d := r.routing(r.ev("O1"), 1, true, contractT0, 2, "WH1")
				d.DecisionID = ""
				return r.routingRecord(t, d)
			},
			reason: event.ReasonMissingField,
		},
		{
			// Checked whole: neither the decision row nor the good first
			// assignment's row is written.
			name: "routing decision with an assignment without a SKU",
			bad: func(t *testing.T, r run) *kgo.Record {
				d := r.routing(r.ev("O1"), 1, true, contractT0, 2, "WH1", "WH2")
				d.Assignments[1].SKU = ""
				return r.routingRecord(t, d)
			},
			reason: event.ReasonMissingField,
		},
		{
			name: "ledger record that is not JSON",
			bad: func(_ *testing.T, r run) *kgo.Record {
				return rawRecord(kafka.TopicStockChangelog, event.ChangelogLevelPrefix+r.sku("A")+"/WH1", []byte("not json"))
			},
			reason: event.ReasonMalformedJSON,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			b := newKfake(t)
			st := storetest.Migrated(t, openStore)
			r := newRun()
			ends := produce(ctx, t, b, r, []txn{{commit: true, records: []*kgo.Record{
				r.accepted(t, good(r, "before"), 1, nil), tc.bad(t, r), r.accepted(t, good(r, "after"), 3, nil),
			}}})
			reg := prometheus.NewRegistry()
			s := startSink(ctx, t, b, st, chsink.Config{Group: "chsink-skipped-" + r.id}, chsink.NewMetrics(reg))
			s.waitCaughtUp(ctx, t, ends) // fails if Run returns
			select {
			case <-s.done:
				t.Fatalf("the sink stopped after skipping a record: %v", s.err)
			default:
			}
			s.stop(t)

			want := map[string]float64{string(tc.reason): 1}
			if got := counters(t, reg, "stockflow_sink_records_skipped_total", "reason"); !maps.Equal(got, want) {
				t.Errorf("stockflow_sink_records_skipped_total by reason = %v, want %v", got, want)
			}
			if rows := counters(t, reg, "stockflow_sink_rows_total", "table"); !maps.Equal(rows, map[string]float64{"sales": 2}) {
				t.Errorf("stockflow_sink_rows_total by table = %v, want the two good sales", rows)
			}
			res := query(ctx, t, st, `SELECT event_id FROM sales FINAL WHERE startsWith(event_id, {run:String}) ORDER BY event_id`, r.params()...)
			storetest.CompareRows(t, res, [][]any{{r.ev("after")}, {r.ev("before")}})
			if n := rawCount(ctx, t, st, tableCheck{table: "stock_levels", filter: "startsWith(sku, {run:String})"}, r); n != 0 {
				t.Errorf("%d stock_levels rows, want none", n)
			}
		})
	}
}

// counters reads the counter vector name from reg: its value by the value
// of label. A vector nothing was counted in is absent, and so empty.
func counters(t *testing.T, reg *prometheus.Registry, name, label string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out[lp.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// TestLag checks that chsink.Lag counts every record of the sink's topics
// that the group has not committed past, including on partitions where it
// has never committed: before the sink first runs, and on a partition that
// got its first records after the sink stopped.
func TestLag(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b := newKfake(t)
	st := storetest.Migrated(t, openStore)
	r := newRun()
	adm := kadm.NewClient(b.client(t))
	group := "chsink-lag-" + r.id
	lag := func(step string, want int64) {
		t.Helper()
		got, err := chsink.Lag(ctx, adm, group)
		if err != nil {
			t.Errorf("%s: Lag: %v", step, err)
			return
		}
		if got != want {
			t.Errorf("%s: Lag = %d, want %d", step, got, want)
		}
	}
	sale := event.Sale{EventID: r.ev("s1"), TS: contractT0, SKU: event.SKU(r.sku("A")), Warehouse: "WH1", Qty: 1, Channel: "store", Currency: "EUR"}
	// No dead letters yet: the sink will have no offset to commit on the
	// DLQ's partitions.
	ends := produce(ctx, t, b, r, []txn{
		{commit: true, records: []*kgo.Record{r.accepted(t, sale, 1, nil), r.levelRecord(t, event.StockLevel{SKU: sale.SKU, Warehouse: "WH1", Version: 1})}},
		{commit: false, records: []*kgo.Record{r.accepted(t, sale, 1, nil)}},
	})
	lag("before the sink ever ran", sumOffsets(ends))

	s := startSink(ctx, t, b, st, chsink.Config{Group: group}, nil)
	s.waitCaughtUp(ctx, t, ends)
	s.stop(t)
	lag("after the sink caught up", 0)

	more := produce(ctx, t, b, r, []txn{{commit: true, records: []*kgo.Record{
		r.dlqRecord("k", "v", kafka.TopicSales, 0, 1, event.TypeSale, event.ReasonMalformedJSON, "m", contractT0),
		r.dlqRecord("k2", "v", kafka.TopicSales, 0, 2, event.TypeSale, event.ReasonMalformedJSON, "m", contractT0),
	}}})
	lag("after dead letters arrived while the sink was stopped", sumOffsets(more)-sumOffsets(ends))
}

func sumOffsets(l kadm.ListedOffsets) int64 {
	var n int64
	l.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// contractT0 is the base event time of the contract records.
var contractT0 = time.Date(2026, 3, 2, 9, 0, 0, 123e6, time.UTC)

// runContract produces records of every kind the sink reads to its
// topics, in committed and aborted transactions as the pipelines write
// them, runs a sink until it has consumed them, and checks the
// tables row by row.
//
// Every identifier (event ids, SKUs, orders, campaigns) starts with a
// prefix unique to the run, the source offsets in the headers start at a
// random base, and every query selects by those: the contract holds on a
// broker whose topics other tests fill at the same time.
func runContract(t *testing.T, b broker) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	st := storetest.Migrated(t, openStore)
	r := newRun()
	at := func(minutes int) time.Time { return contractT0.Add(time.Duration(minutes) * time.Minute) }
	// Rules out the epoch or an event time in ingested_at and updated_at,
	// without asserting anything about durations.
	since := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	dlqTS := time.Now().UTC().Truncate(time.Millisecond)
	skuA, skuB, skuC := r.sku("A"), r.sku("B"), r.sku("C")

	s1 := event.Sale{EventID: r.ev("s1"), TS: at(60), SKU: event.SKU(skuA), Warehouse: "WH1", Qty: 3,
		Channel: "store", UnitPrice: 9.5, Currency: "EUR"}
	s2 := event.Sale{EventID: r.ev("s2"), TS: at(120), SKU: event.SKU(skuA), Warehouse: "WH2", Qty: 2,
		OrderID: r.id + "-O1", Channel: "web", UnitPrice: 19.99, Currency: "USD"}
	m1 := event.Stock{EventID: r.ev("m1"), TS: at(0), SKU: event.SKU(skuA), Warehouse: "WH1", Kind: event.KindReceipt, Qty: 100, Ref: "PO-7"}
	m2 := event.Stock{EventID: r.ev("m2"), TS: at(-60), SKU: event.SKU(skuA), Warehouse: "WH1", Kind: event.KindCount, Qty: 90}
	m3 := event.Stock{EventID: r.ev("m3"), TS: at(180), SKU: event.SKU(skuB), Warehouse: "WH2", Kind: event.KindDamage, Qty: 4, Ref: "DMG-1"}
	o1 := event.Order{EventID: r.ev("o1"), TS: at(30), OrderID: r.id + "-O1",
		Lines:        []event.OrderLine{{SKU: event.SKU(skuA), Qty: 2}, {SKU: event.SKU(skuB), Qty: 1}},
		ShipTo:       event.Address{PostalCode: "10115", Country: "DE", Lat: 52.52, Lon: 13.405},
		ServiceLevel: "express", PromisedBy: at(48 * 60)}
	c1 := event.Campaign{EventID: r.ev("c1"), TS: at(0), CampaignID: r.id + "-C1",
		SKUs: []event.SKU{event.SKU(skuA), event.SKU(skuB)}, Regions: []string{"EU", "UK"}, Warehouses: []event.WarehouseID{"WH1"},
		Start: at(24 * 60), End: at(8 * 24 * 60), ExpectedUplift: 0.25}
	c2 := event.Campaign{EventID: r.ev("c2"), TS: at(10), CampaignID: r.id + "-C2", Category: "garden",
		Start: at(0), End: at(24 * 60), ExpectedUplift: -0.5}
	level := func(sku, wh string, onHand, reserved int64, last time.Time, version uint64) event.StockLevel {
		return event.StockLevel{SKU: event.SKU(sku), Warehouse: event.WarehouseID(wh), OnHand: onHand, Reserved: reserved,
			Available: onHand - reserved, LastEventTS: last.UnixMilli(), Version: version}
	}
	// Values of E/ and P/ keys are event and stream times; a sink that
	// parsed them as ledgers would skip them, so two of them hold a
	// ledger's JSON to make a sink that ignores the key prefix write a row.
	probe, err := json.Marshal(level(skuC, "WH9", 1, 0, at(0), 1))
	if err != nil {
		t.Fatal(err)
	}
	dlqMalformed := `{"event_id":"x-1","ts":`
	// A day's final result, with the stockout and the velocities only day
	// windows carry, and an hour's correction (increments).
	wDay := r.window(event.SKU(skuA), "WH1", event.WindowDay, event.WindowFinal, contractT0.Truncate(24*time.Hour), 5, 48.49, 2)
	wDay.StockoutSeconds, wDay.Velocity7, wDay.Velocity28 = 3600, 1.25, 0.5
	wHour := r.window(event.SKU(skuA), "WH2", event.WindowHour, event.WindowCorrection, at(120).Truncate(time.Hour), 2, 39.98, 1)
	// A purchase reorder ordered and later received, and a suggested
	// transfer: between them every optional field is set and absent.
	ro1 := r.reorder(event.SKU(skuA), "WH1", 3, event.ReorderOrdered, at(60), 120)
	ro1.Class = "A"
	ro1Recv := ro1
	ro1Recv.Status, ro1Recv.TS, ro1Recv.Reason, ro1Recv.ReceivedQty, ro1Recv.OnOrder = event.ReorderReceived, at(6*24*60), "receipt", 118, 0
	to1 := event.Reorder{
		ReorderID: "TO-" + skuB + "-WH1-WH2-1", Kind: event.ReorderTransfer, Status: event.ReorderSuggested, TS: at(90),
		SKU: event.SKU(skuB), Warehouse: "WH2", FromWarehouse: "WH1", Cycle: 1, Qty: 40,
		Reason: "excess_cover", Mode: "suggest", Policy: "RS", Target: "fill_rate", Service: 0.98,
		InventoryPosition: -3, OnHand: -1, OnOrder: 0, InTransit: 0, Backorders: 2, Reserved: 0,
		ReorderPoint: 12.5, OrderUpTo: 52.5, OrderQty: 0, SafetyStock: -1.25, LeadDemand: 4.5, LeadDemandSD: 1.125,
		DailyDemand: 2.25, LeadTimeDays: 2, LeadTimeSDDays: 0.5, DemandSource: "sales", UnitCost: 3.75,
		ExpectedBy: at(90 + 2*24*60), TransferCost: 35.5, ShortageCost: 120.25,
	}
	// A split attempt whose reservation was rejected (not final), with
	// alternatives of every kind, and the final backorder of the same
	// order, with neither assignments nor alternatives.
	rd1 := r.routing(r.id+"-O1", 1, false, at(31), 2, "WH1", "WH2")
	rd1.BatchID = r.id + "-B1"
	rd1.Alternatives = []event.RoutingAlternative{
		{Status: event.RoutingRouted, Warehouses: []event.WarehouseID{"WH3"},
			Breakdown: event.RoutingBreakdown{Shipping: 11.5, Handling: 1.25, Opportunity: 0.125, Total: 12.875}},
		{Status: event.RoutingSplit, Warehouses: []event.WarehouseID{"WH1", "WH3"},
			Breakdown: event.RoutingBreakdown{Shipping: 12, Handling: 2.5, Split: 3, Total: 17.5}},
		{Status: event.RoutingBackordered, Breakdown: event.RoutingBreakdown{Backorder: 40, Total: 40}},
	}
	rd2 := event.RoutingDecision{
		DecisionID: event.RoutingDecisionID(r.id+"-O1", 2), OrderID: r.id + "-O1", TS: at(32), Status: event.RoutingBackordered,
		Reason: "no_stock", Final: true, Attempt: 2, Breakdown: event.RoutingBreakdown{Backorder: 40, Total: 40},
		LatencyMS: 0.75, Region: "DE-1", ShipTo: rd1.ShipTo,
	}
	// The stock pipeline's answers to routing: accepted, rejected, and an
	// expiry (released).
	rr1 := event.ReservationResult{ReservationID: r.id + "-O1/" + skuA + "/WH1/1", OrderID: r.id + "-O1", SKU: event.SKU(skuA), Warehouse: "WH1",
		Qty: 2, Status: event.ReservationAccepted, Available: 95, TS: at(31)}
	rr2 := event.ReservationResult{ReservationID: r.id + "-O1/" + skuB + "/WH2/1", OrderID: r.id + "-O1", SKU: event.SKU(skuB), Warehouse: "WH2",
		Qty: 1, Status: event.ReservationRejected, Available: 0, Reason: event.ResultInsufficientStock, TS: at(31)}
	rr3 := rr1
	rr3.Status, rr3.Available, rr3.Reason, rr3.TS = event.ReservationReleased, 97, event.ResultExpired, at(31+24*60)
	// Raw bytes as a producer sent them: control characters, quotes,
	// backslashes, UTF-8 and a byte that is not UTF-8.
	dlqRaw := "{\"pad\":\"tab\there\nnew line \\\"q\\\" back\\\\slash \u00fc \xff\"}"

	txns := []txn{
		{commit: true, records: []*kgo.Record{
			r.accepted(t, s1, 1, &ledgerHeaders{delta: -3, onHand: 97, outcome: "applied"}),
			r.accepted(t, s2, 2, &ledgerHeaders{delta: -2, onHand: 8, outcome: "applied"}),
			r.accepted(t, m1, 1, &ledgerHeaders{delta: 100, onHand: 100, outcome: "applied"}),
			r.accepted(t, m2, 2, &ledgerHeaders{delta: 0, onHand: 97, outcome: "superseded"}),
			r.accepted(t, o1, 1, nil),
			r.accepted(t, c1, 1, nil),
			r.levelRecord(t, level(skuA, "WH1", 100, 0, at(0), 1)),
			r.levelRecord(t, level(skuA, "WH1", 97, 2, at(60), 2)),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogSeenPrefix+s1.EventID, strconv.AppendInt(nil, s1.TS.UnixMilli(), 10)),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogStreamTimePrefix+"1", strconv.AppendInt(nil, s2.TS.UnixMilli(), 10)),
			r.dlqRecord(skuA, dlqMalformed, kafka.TopicSales, 1, 3, event.TypeSale, event.ReasonMalformedJSON,
				"malformed_json: unexpected end of input at offset 22", dlqTS),
			r.windowRecord(t, wDay),
			r.reorderRecord(t, ro1),
			r.routingRecord(t, rd1),
			r.resultRecord(t, rr1),
			r.resultRecord(t, rr2),
		}},
		{commit: false, records: r.abortedRecords(t, "1", at(5), level(skuA, "WH1", -1, 0, at(5), 99), 99)},
		{commit: true, records: []*kgo.Record{
			r.accepted(t, m3, 3, &ledgerHeaders{delta: -4, onHand: 6, outcome: "applied"}),
			r.accepted(t, c2, 2, nil),
			r.levelRecord(t, level(skuA, "WH1", 95, 2, at(120), 3)),
			r.levelRecord(t, level(skuB, "WH2", 6, 0, at(180), 5)),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogLevelPrefix+skuC+"/WH1", nil), // tombstone
			rawRecord(kafka.TopicStockChangelog, event.ChangelogSeenPrefix+r.ev("probe"), probe),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogStreamTimePrefix+"0", probe),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogWindowPrefix+skuC+"/WH9/1h/0", probe),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogStockoutPrefix+skuC+"/WH9", probe),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogVelocityPrefix+skuC+"/WH9", probe),
			r.windowRecord(t, wHour),
			r.reorderRecord(t, to1),
			r.dlqRecord("", dlqRaw, kafka.TopicStock, 0, 3, event.TypeStock, event.ReasonOversize,
				"oversize: record of 70000 bytes exceeds the limit\nsecond line", dlqTS.Add(time.Millisecond)),
		}},
		// An older ledger version committed after a newer one.
		{commit: true, records: []*kgo.Record{
			r.reorderRecord(t, ro1Recv),
			r.routingRecord(t, rd2),
			r.resultRecord(t, rr3),
			r.levelRecord(t, level(skuB, "WH2", 10, 0, at(170), 4)),
			rawRecord(kafka.TopicStockChangelog, event.ChangelogSeenPrefix+m3.EventID, strconv.AppendInt(nil, m3.TS.UnixMilli(), 10)),
		}},
		// The log ends with an aborted transaction: the sink reaches zero
		// lag only by committing past its abort markers.
		{commit: false, records: r.abortedRecords(t, "2", at(200), level(skuB, "WH2", -7, 0, at(200), 100), 98)},
	}
	ends := produce(ctx, t, b, r, txns)

	reg := prometheus.NewRegistry()
	s := startSink(ctx, t, b, st, chsink.Config{Group: "chsink-contract-" + r.id}, chsink.NewMetrics(reg))
	s.waitCaughtUp(ctx, t, ends)
	s.stop(t)

	const (
		srcCols = `src_topic, src_partition, src_offset, ingested_at >= {since:DateTime64(3, 'UTC')} AS fresh`
		byRun   = `WHERE startsWith(event_id, {run:String}) ORDER BY event_id`
	)
	src := func(topic string, partition, offset int64) []any {
		return []any{topic, partition, r.base + offset, uint64(1)}
	}
	row := func(vals []any, src []any) []any { return append(vals, src...) }
	tests := []struct {
		name  string
		query string
		want  [][]any
	}{
		{
			name:  "sales",
			query: `SELECT event_id, ts, sku, warehouse, qty, order_id, channel, unit_price, currency, ` + srcCols + ` FROM sales FINAL ` + byRun,
			want: [][]any{
				row([]any{s1.EventID, s1.TS, skuA, "WH1", int64(3), "", "store", 9.5, "EUR"}, src(kafka.TopicSales, 1, 1)),
				row([]any{s2.EventID, s2.TS, skuA, "WH2", int64(2), r.id + "-O1", "web", 19.99, "USD"}, src(kafka.TopicSales, 1, 2)),
			},
		},
		{
			name:  "stock_movements",
			query: `SELECT event_id, ts, sku, warehouse, kind, qty, delta, ref, ` + srcCols + ` FROM stock_movements FINAL ` + byRun,
			want: [][]any{
				row([]any{m1.EventID, m1.TS, skuA, "WH1", "receipt", int64(100), int64(100), "PO-7"}, src(kafka.TopicStock, 0, 1)),
				row([]any{m2.EventID, m2.TS, skuA, "WH1", "count", int64(90), int64(0), ""}, src(kafka.TopicStock, 0, 2)),
				row([]any{m3.EventID, m3.TS, skuB, "WH2", "damage", int64(4), int64(-4), "DMG-1"}, src(kafka.TopicStock, 0, 3)),
			},
		},
		{
			name: "orders",
			query: `SELECT event_id, ts, order_id, lines.sku, lines.qty, ship_postal_code, ship_country, ship_lat, ship_lon, service_level, promised_by, ` +
				srcCols + ` FROM orders FINAL ` + byRun,
			want: [][]any{
				row([]any{o1.EventID, o1.TS, o1.OrderID, []any{skuA, skuB}, []any{int64(2), int64(1)}, "10115", "DE", 52.52, 13.405, "express", o1.PromisedBy},
					src(kafka.TopicOrders, 2, 1)),
			},
		},
		{
			name: "campaigns",
			query: "SELECT event_id, ts, campaign_id, skus, category, regions, warehouses, `start`, `end`, expected_uplift, " +
				srcCols + " FROM campaigns FINAL " + byRun,
			want: [][]any{
				row([]any{c1.EventID, c1.TS, c1.CampaignID, []any{skuA, skuB}, "", []any{"EU", "UK"}, []any{"WH1"}, c1.Start, c1.End, 0.25},
					src(kafka.TopicCampaigns, 0, 1)),
				row([]any{c2.EventID, c2.TS, c2.CampaignID, []any{}, "garden", []any{}, []any{}, c2.Start, c2.End, -0.5},
					src(kafka.TopicCampaigns, 0, 2)),
			},
		},
		{
			// The highest committed version per key, whatever the order it
			// arrived in; no row for the tombstone, the aborted versions
			// (99, 100) or the E/ and P/ keys.
			name: "stock_levels",
			query: `SELECT sku, warehouse, on_hand, reserved, available, last_event_ts, version, updated_at >= {since:DateTime64(3, 'UTC')}
				FROM stock_levels FINAL WHERE startsWith(sku, {run:String}) ORDER BY sku, warehouse`,
			want: [][]any{
				{skuA, "WH1", int64(95), int64(2), int64(93), at(120), uint64(3), uint64(1)},
				{skuB, "WH2", int64(6), int64(0), int64(6), at(180), uint64(5), uint64(1)},
			},
		},
		{
			// The original key and value bytes, the reason, the message and
			// where the record was read; ts is the DLQ record's timestamp.
			name: "dlq",
			query: `SELECT ts, src_topic, src_partition, src_offset, event_type, reason, message, key, value
				FROM dlq FINAL WHERE src_offset BETWEEN {lo:Int64} AND {hi:Int64} ORDER BY src_topic, src_partition, src_offset`,
			want: [][]any{
				{dlqTS, kafka.TopicSales, int64(1), r.base + 3, "sale", "malformed_json", "malformed_json: unexpected end of input at offset 22", skuA, dlqMalformed},
				{dlqTS.Add(time.Millisecond), kafka.TopicStock, int64(0), r.base + 3, "stock", "oversize",
					"oversize: record of 70000 bytes exceeds the limit\nsecond line", "", dlqRaw},
			},
		},
		{
			// The record's own coordinates in the windows topic are the
			// source: they are not known in advance.
			name: "demand_windows",
			query: `SELECT sku, warehouse, size, window_start, window_end, kind, units, revenue, sales, stockout_seconds,
				velocity_7d, velocity_28d, stream_time, src_partition >= 0 AND src_offset >= 0, ingested_at >= {since:DateTime64(3, 'UTC')}
				FROM demand_windows FINAL WHERE startsWith(sku, {run:String}) ORDER BY window_start, size`,
			want: [][]any{
				{skuA, "WH1", "1d", wDay.Start, wDay.End, "final", int64(5), 48.49, int64(2), int64(3600), 1.25, 0.5, wDay.StreamTime, uint64(1), uint64(1)},
				{skuA, "WH2", "1h", wHour.Start, wHour.End, "correction", int64(2), 39.98, int64(1), int64(0), 0.0, 0.0, wHour.StreamTime, uint64(1), uint64(1)},
			},
		},
		{
			// Every record is a row (its own coordinates in the reorders
			// topic are the source); absent optional fields are '' and 0.
			name: "reorders",
			query: `SELECT reorder_id, kind, status, ts, sku, warehouse, from_warehouse, supplier, cycle, qty, received_qty,
				reason, mode, policy, target, service, class,
				inventory_position, on_hand, on_order, in_transit, backorders, reserved,
				reorder_point, order_up_to, order_qty, safety_stock, lead_demand, lead_demand_sd, daily_demand,
				lead_time_days, lead_time_sd_days, forecast_run_id, demand_source, unit_cost, expected_by,
				transfer_cost, shortage_cost,
				src_partition >= 0 AND src_offset >= 0, ingested_at >= {since:DateTime64(3, 'UTC')}
				FROM reorders FINAL WHERE startsWith(sku, {run:String}) ORDER BY reorder_id, ts`,
			want: [][]any{reorderRow(ro1), reorderRow(ro1Recv), reorderRow(to1)},
		},
		{
			// One row per record (its own coordinates in the routing topic
			// are the source), the alternatives as Nested arrays.
			name: "routing_decisions",
			query: `SELECT decision_id, order_id, ts, status, reason, final, attempt, warehouses, units, packages,
				cost_shipping, cost_handling, cost_split, cost_opportunity, cost_backorder, cost_total,
				alternatives.status, alternatives.warehouses, alternatives.cost_shipping, alternatives.cost_handling,
				alternatives.cost_split, alternatives.cost_opportunity, alternatives.cost_backorder, alternatives.cost_total,
				batch_id, latency_ms, region, ship_postal_code, ship_country, ship_lat, ship_lon,
				src_partition >= 0 AND src_offset >= 0, ingested_at >= {since:DateTime64(3, 'UTC')}
				FROM routing_decisions FINAL WHERE startsWith(order_id, {run:String}) ORDER BY decision_id`,
			want: [][]any{
				{rd1.DecisionID, rd1.OrderID, rd1.TS, "split", "", false, int64(1), []any{"WH1", "WH2"}, int64(5), uint64(2),
					6.5, 2.5, 3.0, 0.75, 0.0, 12.75,
					[]any{"routed", "split", "backordered"}, []any{[]any{"WH3"}, []any{"WH1", "WH3"}, []any{}},
					[]any{11.5, 12.0, 0.0}, []any{1.25, 2.5, 0.0}, []any{0.0, 3.0, 0.0}, []any{0.125, 0.0, 0.0}, []any{0.0, 0.0, 40.0}, []any{12.875, 17.5, 40.0},
					r.id + "-B1", 0.25, "DE-1", "10115", "DE", 52.52, 13.405, uint64(1), uint64(1)},
				{rd2.DecisionID, rd2.OrderID, rd2.TS, "backordered", "no_stock", true, int64(2), []any{}, int64(0), uint64(0),
					0.0, 0.0, 0.0, 0.0, 40.0, 40.0,
					[]any{}, []any{}, []any{}, []any{}, []any{}, []any{}, []any{}, []any{},
					"", 0.75, "DE-1", "10115", "DE", 52.52, 13.405, uint64(1), uint64(1)},
			},
		},
		{
			name: "routing_assignments",
			query: `SELECT warehouse, sku, ts, order_id, decision_id, status, final, attempt, line, qty, package,
				shipping, handling, opportunity,
				src_partition >= 0 AND src_offset >= 0, ingested_at >= {since:DateTime64(3, 'UTC')}
				FROM routing_assignments FINAL WHERE startsWith(order_id, {run:String}) ORDER BY decision_id, line`,
			want: [][]any{
				{"WH1", r.sku("R"), rd1.TS, rd1.OrderID, rd1.DecisionID, "split", false, int64(1), uint64(0), int64(2), uint64(1),
					2.5, 1.0, 0.5, uint64(1), uint64(1)},
				{"WH2", r.sku("R"), rd1.TS, rd1.OrderID, rd1.DecisionID, "split", false, int64(1), uint64(1), int64(3), uint64(2),
					4.0, 1.5, 0.25, uint64(1), uint64(1)},
			},
		},
		{
			// One row per record, in its own coordinates.
			name: "reservation_results",
			query: `SELECT reservation_id, order_id, sku, warehouse, qty, status, available, reason, ts,
				src_partition >= 0 AND src_offset >= 0, ingested_at >= {since:DateTime64(3, 'UTC')}
				FROM reservation_results FINAL WHERE startsWith(order_id, {run:String}) ORDER BY reservation_id, ts`,
			want: [][]any{
				{rr1.ReservationID, rr1.OrderID, skuA, "WH1", int64(2), "accepted", int64(95), "", rr1.TS, uint64(1), uint64(1)},
				{rr3.ReservationID, rr3.OrderID, skuA, "WH1", int64(2), "released", int64(97), "expired", rr3.TS, uint64(1), uint64(1)},
				{rr2.ReservationID, rr2.OrderID, skuB, "WH2", int64(1), "rejected", int64(0), "insufficient_stock", rr2.TS, uint64(1), uint64(1)},
			},
		},
		{
			// Not even a duplicate hidden by FINAL: aborted records are
			// never inserted.
			name: "aborted transactions leave no raw rows",
			query: `SELECT
				(SELECT count() FROM sales WHERE startsWith(event_id, {aborted:String})),
				(SELECT count() FROM stock_movements WHERE startsWith(event_id, {aborted:String})),
				(SELECT count() FROM orders WHERE startsWith(event_id, {aborted:String})),
				(SELECT count() FROM campaigns WHERE startsWith(event_id, {aborted:String})),
				(SELECT count() FROM stock_levels WHERE startsWith(sku, {run:String}) AND version >= 99),
				(SELECT count() FROM dlq WHERE src_offset BETWEEN {lo:Int64} + 90 AND {hi:Int64}),
				(SELECT count() FROM demand_windows WHERE startsWith(sku, {run:String}) AND units >= 1000),
				(SELECT count() FROM reorders WHERE startsWith(sku, {run:String}) AND qty >= 1000),
				(SELECT count() FROM routing_decisions WHERE startsWith(order_id, {aborted:String})),
				(SELECT count() FROM routing_assignments WHERE startsWith(order_id, {aborted:String})),
				(SELECT count() FROM reservation_results WHERE startsWith(order_id, {aborted:String}))`,
			want: [][]any{{uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0)}},
		},
	}
	params := append(r.params(), store.TimeParam("since", since), store.StringParam("aborted", r.ev("ab")))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.CompareRows(t, query(ctx, t, st, tc.query, params...), tc.want)
		})
	}
	if !b.shared {
		// Only this test's records were on the broker: none was skipped
		// (E/ and P/ values are not even parsed).
		if got := counters(t, reg, "stockflow_sink_records_skipped_total", "reason"); len(got) != 0 {
			t.Errorf("skipped records by reason = %v, want none", got)
		}
	}
}

// broker is the Kafka a test runs against.
type broker struct {
	kc kafka.Config
	// shared: other tests use the same topics at the same time, so the
	// test sees records it did not produce and its group's lag may never
	// be zero for long.
	shared bool
}

// newKfake starts an in-process broker for one test.
func newKfake(t *testing.T) broker {
	t.Helper()
	kb, err := kafka.StartBroker(kafka.BrokerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kb.Close)
	return broker{kc: kafka.Config{Brokers: kb.Addrs(), ClientID: "chsink-test"}}
}

func (b broker) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base, err := b.kc.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// ensureTopics creates the sink's topics as the pipeline's catalogue
// defines them. One that exists with another partition count (created by
// another package's test on a shared broker) is used as it is: the sink
// does not depend on the count.
//
// It uses a client of its own and closes it: kgo caches the metadata of
// sharded admin requests (ListOffsets) for MetadataMinAge (5s), and a
// client that saw a topic missing just before it was created answers
// UNKNOWN_TOPIC_OR_PARTITION for it until then.
func ensureTopics(ctx context.Context, t *testing.T, b broker) {
	t.Helper()
	cl := b.client(t)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, spec := range (kafka.TopicsConfig{Partitions: 3}).Specs() {
		if !slices.Contains(chsink.Topics, spec.Name) {
			continue
		}
		_, err := kafka.EnsureTopics(ctx, adm, []kafka.TopicSpec{spec}, 1)
		var mismatch *kafka.PartitionMismatchError
		if errors.As(err, &mismatch) {
			t.Logf("using existing topic: %v", err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// run identifies one test's records among others on the same broker.
type run struct {
	id string // prefix of every event id, SKU, order id and campaign id
	// base is added to the source offsets in the headers: DLQ rows are
	// keyed by their source coordinates, so they must not collide with
	// another test's.
	base int64
}

func newRun() run {
	var b [4]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return run{id: "r" + hex.EncodeToString(b[:]), base: (int64(rand.Uint32()>>1) + 1) * 1000}
}

func (r run) ev(name string) string  { return r.id + "-" + name }
func (r run) sku(name string) string { return r.id + "-SKU-" + name }

// params bind {run}, {lo} and {hi}: this run's prefix and source offsets.
func (r run) params() []store.Param {
	return []store.Param{store.StringParam("run", r.id), store.IntParam("lo", r.base), store.IntParam("hi", r.base+999)}
}

// ledgerHeaders are the headers the stock pipeline adds to sales and stock
// movements.
type ledgerHeaders struct {
	delta, onHand int64
	outcome       string
}

// accepted returns the record the stock pipeline writes to the accepted
// topic for ev, read from partition p of its input topic at source offset
// r.base+offset.
func (r run) accepted(t *testing.T, ev any, offset int64, lh *ledgerHeaders) *kgo.Record {
	t.Helper()
	var (
		typ event.Type
		key string
	)
	var partition int32
	switch e := ev.(type) {
	case event.Sale:
		typ, key, partition = event.TypeSale, string(e.SKU), 1
	case event.Stock:
		typ, key, partition = event.TypeStock, string(e.SKU), 0
	case event.Order:
		typ, key, partition = event.TypeOrder, e.OrderID, 2
	case event.Campaign:
		typ, key, partition = event.TypeCampaign, e.CampaignID, 0
	default:
		t.Fatalf("not an event: %T", ev)
	}
	v, err := event.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	h := []kgo.RecordHeader{
		{Key: event.HeaderEventType, Value: []byte(typ.String())},
		{Key: event.HeaderSourceTopic, Value: []byte(typ.Topic())},
		{Key: event.HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(partition), 10)},
		{Key: event.HeaderSourceOffset, Value: strconv.AppendInt(nil, r.base+offset, 10)},
	}
	if lh != nil {
		h = append(h,
			kgo.RecordHeader{Key: event.HeaderDelta, Value: strconv.AppendInt(nil, lh.delta, 10)},
			kgo.RecordHeader{Key: event.HeaderOnHand, Value: strconv.AppendInt(nil, lh.onHand, 10)},
			kgo.RecordHeader{Key: event.HeaderOutcome, Value: []byte(lh.outcome)},
		)
	}
	return &kgo.Record{Topic: kafka.TopicAccepted, Key: []byte(key), Value: v, Headers: h}
}

// ledgerValue is a ledger record's value as the stock pipeline writes it:
// the public StockLevel plus fields private to the pipeline.
type ledgerValue struct {
	event.StockLevel
	HasCount bool   `json:"has_count"`
	CountID  string `json:"count_id"`
	Folded   int64  `json:"folded"`
}

func (r run) levelRecord(t *testing.T, lv event.StockLevel) *kgo.Record {
	t.Helper()
	v, err := json.Marshal(ledgerValue{StockLevel: lv, HasCount: true, CountID: r.ev("count"), Folded: 3})
	if err != nil {
		t.Fatal(err)
	}
	return rawRecord(kafka.TopicStockChangelog, event.ChangelogLevelPrefix+string(lv.SKU)+"/"+string(lv.Warehouse), v)
}

// dlqRecord is a dead-lettered record as the pipeline writes it; an empty
// key is a record that had none.
func (r run) dlqRecord(key, value, srcTopic string, srcPartition int32, offset int64, typ event.Type, reason event.Reason, msg string, ts time.Time) *kgo.Record {
	rec := &kgo.Record{Topic: kafka.TopicDLQ, Value: []byte(value), Timestamp: ts, Headers: []kgo.RecordHeader{
		{Key: event.HeaderSourceTopic, Value: []byte(srcTopic)},
		{Key: event.HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(srcPartition), 10)},
		{Key: event.HeaderSourceOffset, Value: strconv.AppendInt(nil, r.base+offset, 10)},
		{Key: event.HeaderEventType, Value: []byte(typ.String())},
		{Key: event.HeaderReason, Value: []byte(reason)},
		{Key: event.HeaderMessage, Value: []byte(msg)},
	}}
	if key != "" {
		rec.Key = []byte(key)
	}
	return rec
}

// abortedRecords returns one record of every kind, all with ids starting
// with r.ev("ab"), for a transaction that is aborted.
func (r run) abortedRecords(t *testing.T, n string, ts time.Time, lv event.StockLevel, dlqOffset int64) []*kgo.Record {
	t.Helper()
	id := func(kind string) string { return r.ev("ab" + n + "-" + kind) }
	sale := event.Sale{EventID: id("s"), TS: ts, SKU: lv.SKU, Warehouse: lv.Warehouse, Qty: 1000, Channel: "store", UnitPrice: 1, Currency: "EUR"}
	return []*kgo.Record{
		r.accepted(t, sale, 50, &ledgerHeaders{delta: -1000, onHand: lv.OnHand, outcome: "applied"}),
		r.accepted(t, event.Stock{EventID: id("m"), TS: ts, SKU: lv.SKU, Warehouse: lv.Warehouse, Kind: event.KindAdjustment, Qty: -5}, 50,
			&ledgerHeaders{delta: -5, onHand: lv.OnHand, outcome: "applied"}),
		r.accepted(t, event.Order{EventID: id("o"), TS: ts, OrderID: id("O"), Lines: []event.OrderLine{{SKU: lv.SKU, Qty: 1}},
			ShipTo: event.Address{PostalCode: "1", Country: "FR"}, ServiceLevel: "standard", PromisedBy: ts}, 50, nil),
		r.accepted(t, event.Campaign{EventID: id("c"), TS: ts, CampaignID: id("C"), Category: "x", Start: ts, End: ts.Add(time.Hour)}, 50, nil),
		r.levelRecord(t, lv),
		rawRecord(kafka.TopicStockChangelog, event.ChangelogSeenPrefix+sale.EventID, strconv.AppendInt(nil, ts.UnixMilli(), 10)),
		r.dlqRecord(string(lv.SKU), "{}", kafka.TopicSales, 1, dlqOffset, event.TypeSale, event.ReasonMissingField, "missing_field: event_id", ts),
		r.windowRecord(t, r.window(lv.SKU, lv.Warehouse, event.WindowHour, event.WindowCorrection, ts.Truncate(time.Hour), 1000, 1000, 1)),
		r.reorderRecord(t, r.reorder(lv.SKU, lv.Warehouse, 1000, event.ReorderOrdered, ts, 1000)),
		r.routingRecord(t, r.routing(id("R"), 1, true, ts, 1000, string(lv.Warehouse))),
		r.resultRecord(t, event.ReservationResult{ReservationID: id("R") + "/1", OrderID: id("R"), SKU: lv.SKU, Warehouse: lv.Warehouse,
			Qty: 1000, Status: event.ReservationAccepted, Available: -1000, TS: ts}),
	}
}

// window is a window record of this run's SKU sku, on the partition of
// the stock pipeline that owns it, with the given totals.
func (r run) window(sku event.SKU, wh event.WarehouseID, size string, kind event.WindowKind, start time.Time, units int64, revenue float64, sales int64) event.Window {
	d := time.Hour
	if size == event.WindowDay {
		d = 24 * time.Hour
	}
	return event.Window{SKU: sku, Warehouse: wh, Size: size, Start: start, End: start.Add(d), Kind: kind,
		Units: units, Revenue: revenue, Sales: sales, StreamTime: start.Add(d + 5*time.Minute)}
}

// windowRecord is w as the stock pipeline writes it to the windows topic.
func (r run) windowRecord(t *testing.T, w event.Window) *kgo.Record {
	t.Helper()
	v, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return rawRecord(kafka.TopicWindows, string(w.SKU), v)
}

// reorder is a purchase reorder record of this run's SKU sku, as the
// replenishment pipeline writes it, with every number distinct so that a
// column swapped in the sink shows.
func (r run) reorder(sku event.SKU, wh event.WarehouseID, cycle int64, status event.ReorderStatus, ts time.Time, qty int64) event.Reorder {
	return event.Reorder{
		ReorderID: fmt.Sprintf("RO-%s-%s-%d", sku, wh, cycle), Kind: event.ReorderPurchase, Status: status, TS: ts,
		SKU: sku, Warehouse: wh, Supplier: "SUP-7", Cycle: cycle, Qty: qty,
		Reason: "reorder_point", Mode: "auto", Policy: "sS", Target: "cycle_service", Service: 0.95,
		InventoryPosition: 18, OnHand: 30, OnOrder: 5, InTransit: 7, Backorders: 4, Reserved: 20,
		ReorderPoint: 20.5, OrderUpTo: 138.5, OrderQty: 9.5, SafetyStock: 6.25, LeadDemand: 14.25, LeadDemandSD: 3.75,
		DailyDemand: 2.875, LeadTimeDays: 5.5, LeadTimeSDDays: 1.5,
		ForecastRunID: "fc-20260301-0123456789abcdef", DemandSource: "forecast", UnitCost: 4.125,
		ExpectedBy: ts.Add(5*24*time.Hour + 12*time.Hour),
	}
}

// reorderRecord is o as the replenishment pipeline writes it to the
// reorders topic.
func (r run) reorderRecord(t *testing.T, o event.Reorder) *kgo.Record {
	t.Helper()
	v, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return rawRecord(kafka.TopicReorders, string(o.SKU), v)
}

// reorderRow is the row the contract's reorders query must return for o.
func reorderRow(o event.Reorder) []any {
	return []any{
		o.ReorderID, string(o.Kind), string(o.Status), o.TS, string(o.SKU), string(o.Warehouse), string(o.FromWarehouse), o.Supplier,
		o.Cycle, o.Qty, o.ReceivedQty, o.Reason, o.Mode, o.Policy, o.Target, o.Service, o.Class,
		o.InventoryPosition, o.OnHand, o.OnOrder, o.InTransit, o.Backorders, o.Reserved,
		o.ReorderPoint, o.OrderUpTo, o.OrderQty, o.SafetyStock, o.LeadDemand, o.LeadDemandSD, o.DailyDemand,
		o.LeadTimeDays, o.LeadTimeSDDays, o.ForecastRunID, o.DemandSource, o.UnitCost, o.ExpectedBy,
		o.TransferCost, o.ShortageCost, uint64(1), uint64(1),
	}
}

// routing is a routed (one warehouse) or split decision of order as the
// routing pipeline writes it: qty units of this run's SKU "R" from the
// first warehouse and qty+1 from each other, one package each, with every
// number distinct so that a column swapped in the sink shows; the costs
// add up. Assignment i costs shipping 2.5+1.5i, handling 1+0.5i and
// opportunity 0.5/(i+1).
func (r run) routing(order string, attempt int64, final bool, ts time.Time, qty int64, warehouses ...string) event.RoutingDecision {
	d := event.RoutingDecision{
		DecisionID: event.RoutingDecisionID(order, attempt), OrderID: order, TS: ts, Status: event.RoutingRouted,
		Final: final, Attempt: attempt, LatencyMS: 0.25, Region: "DE-1",
		ShipTo: event.Address{PostalCode: "10115", Country: "DE", Lat: 52.52, Lon: 13.405},
	}
	b := &d.Breakdown
	for i, wh := range warehouses {
		a := event.RoutingAssignment{Warehouse: event.WarehouseID(wh), SKU: event.SKU(r.sku("R")), Qty: qty + int64(min(i, 1)),
			Shipping: 2.5 + 1.5*float64(i), Handling: 1 + 0.5*float64(i), Opportunity: 0.5 / float64(i+1), Package: i + 1}
		d.Assignments = append(d.Assignments, a)
		b.Shipping += a.Shipping
		b.Handling += a.Handling
		b.Opportunity += a.Opportunity
	}
	if len(warehouses) > 1 {
		d.Status, b.Split = event.RoutingSplit, 3*float64(len(warehouses)-1)
	}
	b.Total = b.Sum()
	return d
}

// resultRecord is x as the stock pipeline writes it to the reservation
// results topic, keyed by order id.
func (r run) resultRecord(t *testing.T, x event.ReservationResult) *kgo.Record {
	t.Helper()
	v, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return rawRecord(event.TopicReservationResults, x.OrderID, v)
}

// routingRecord is d as the routing pipeline writes it to the routing
// topic, keyed by order id.
func (r run) routingRecord(t *testing.T, d event.RoutingDecision) *kgo.Record {
	t.Helper()
	if err := d.CheckTotal(1e-12); err != nil {
		t.Fatal(err)
	}
	v, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return rawRecord(event.TopicRouting, d.OrderID, v)
}

func rawRecord(topic, key string, value []byte) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
}

func withoutHeader(r *kgo.Record, key string) *kgo.Record {
	kept := r.Headers[:0]
	for _, h := range r.Headers {
		if h.Key != key {
			kept = append(kept, h)
		}
	}
	r.Headers = kept
	return r
}

func withHeader(r *kgo.Record, key, value string) *kgo.Record {
	r = withoutHeader(r, key)
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
	return r
}

func withValue(r *kgo.Record, value string) *kgo.Record {
	r.Value = []byte(value)
	return r
}

// txn is one producer transaction, committed or aborted.
type txn struct {
	commit  bool
	records []*kgo.Record
}

// produce creates the sink's topics if needed and writes txns in order
// through one transactional producer, as the stock pipeline does. It
// returns the end offsets of the sink's topics afterwards: once the sink's
// group has committed them, the sink has consumed every record of txns.
func produce(ctx context.Context, t *testing.T, b broker, r run, txns []txn) kadm.ListedOffsets {
	t.Helper()
	ensureTopics(ctx, t, b)
	cl := b.client(t, kgo.TransactionalID("chsink-test-"+r.id), kgo.ProducerBatchMaxBytes(1<<20))
	for i, tx := range txns {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatalf("transaction %d: begin: %v", i, err)
		}
		if err := cl.ProduceSync(ctx, tx.records...).FirstErr(); err != nil {
			t.Fatalf("transaction %d: produce: %v", i, err)
		}
		end := kgo.TryAbort
		if tx.commit {
			end = kgo.TryCommit
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			t.Fatalf("transaction %d: end (commit %v): %v", i, tx.commit, err)
		}
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, chsink.Topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	return ends
}

// runningSink is a Sink whose Run is in progress.
type runningSink struct {
	sink   *chsink.Sink
	group  string
	shared bool
	adm    *kadm.Client
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned; err is set then
	err    error
	once   sync.Once
}

func startSink(ctx context.Context, t *testing.T, b broker, st store.Store, cfg chsink.Config, m *chsink.Metrics) *runningSink {
	t.Helper()
	return startSinkWith(ctx, t, b, st, cfg, m, nil)
}

// startSinkWith is startSink with setup called on the sink before Run.
func startSinkWith(ctx context.Context, t *testing.T, b broker, st store.Store, cfg chsink.Config, m *chsink.Metrics, setup func(*chsink.Sink)) *runningSink {
	t.Helper()
	cfg.Kafka = b.kc
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := chsink.New(cfg, st, log, m)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	runCtx, cancel := context.WithCancel(ctx)
	rs := &runningSink{
		sink: s, group: s.Group(), shared: b.shared, adm: kadm.NewClient(b.client(t)),
		cancel: cancel, done: make(chan struct{}),
	}
	go func() {
		defer close(rs.done)
		rs.err = s.Run(runCtx)
	}()
	t.Cleanup(func() { rs.stop(t) })
	return rs
}

// stop cancels Run, waits for it, and fails t if it returned an error. It
// is idempotent.
func (rs *runningSink) stop(t *testing.T) {
	t.Helper()
	rs.once.Do(func() {
		rs.cancel()
		<-rs.done
		if rs.err != nil {
			t.Errorf("sink Run: %v", rs.err)
		}
	})
}

// waitCaughtUp polls until the sink's group has committed at least ends
// on every partition that has records and, on a broker of the test's own,
// until chsink.Lag reports zero. On a shared broker only the first holds:
// other tests may keep producing, so the lag need not reach zero. It fails
// the test if Run returns or a minute passes first.
func (rs *runningSink) waitCaughtUp(ctx context.Context, t *testing.T, ends kadm.ListedOffsets) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	state := "not polled yet"
	for {
		ok, why, err := rs.caughtUp(ctx, ends)
		switch {
		case err == nil && ok:
			return
		case ctx.Err() != nil: // keep what the last complete poll saw
		case err != nil:
			state = err.Error()
		default:
			state = why
		}
		select {
		case <-rs.done:
			t.Fatalf("sink Run returned before consuming the test's records (%s): %v", state, rs.err)
		case <-ctx.Done():
			t.Fatalf("sink of group %s did not catch up: %s", rs.group, state)
		case <-tick.C:
		}
	}
}

func (rs *runningSink) caughtUp(ctx context.Context, ends kadm.ListedOffsets) (bool, string, error) {
	committed, err := rs.adm.FetchOffsets(ctx, rs.group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return false, "", fmt.Errorf("fetch committed offsets: %w", err)
	}
	var behind []string
	ends.Each(func(e kadm.ListedOffset) {
		if e.Offset <= 0 {
			return
		}
		c, ok := committed.Lookup(e.Topic, e.Partition)
		if !ok || c.At < e.Offset {
			behind = append(behind, fmt.Sprintf("%s/%d committed %d of %d", e.Topic, e.Partition, c.At, e.Offset))
		}
	})
	if len(behind) > 0 {
		return false, strings.Join(behind, ", "), nil
	}
	if rs.shared {
		return true, "", nil
	}
	lag, err := chsink.Lag(ctx, rs.adm, rs.group)
	if err != nil {
		return false, "", err
	}
	return lag == 0, fmt.Sprintf("lag %d", lag), nil
}

// resetGroup commits the start offsets of the sink's topics for group, as
// an operator replaying the topics would (kafka-consumer-groups
// --reset-offsets --to-earliest). The group must be empty.
func resetGroup(ctx context.Context, t *testing.T, adm *kadm.Client, group string, b broker) {
	t.Helper()
	starts, err := adm.ListStartOffsets(ctx, chsink.Topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		t.Fatalf("list start offsets: %v", err)
	}
	if err := adm.CommitAllOffsets(ctx, group, starts.Offsets()); err != nil {
		t.Fatalf("reset offsets of group %s: %v", group, err)
	}
	if b.shared {
		return
	}
	lag, err := chsink.Lag(ctx, adm, group)
	if err != nil {
		t.Fatal(err)
	}
	if lag == 0 {
		t.Fatalf("lag of group %s is 0 after resetting its offsets to the start", group)
	}
}

func query(ctx context.Context, t *testing.T, st store.Store, q string, params ...store.Param) *store.Result {
	t.Helper()
	res, err := st.Query(ctx, q, params...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// stopMerges stops background merges on the sink's tables, so that count()
// without FINAL is exactly the number of rows inserted, and a sum over a
// SummingMergeTree counts every row inserted.
func stopMerges(ctx context.Context, t *testing.T, st store.Store) {
	t.Helper()
	for _, tb := range append(slices.Clone(storetest.CoreTables), "demand_windows", "sales_daily", "reorders", "routing_decisions", "routing_assignments") {
		if err := st.Exec(ctx, "SYSTEM STOP MERGES "+store.QuoteIdent(st.Database())+"."+store.QuoteIdent(tb)); err != nil {
			t.Fatalf("stop merges on %s: %v", tb, err)
		}
	}
}

// tableCheck is what one table must hold after the sink consumed a
// workload, once or more often.
type tableCheck struct {
	table  string
	filter string // selects this run's rows
	order  string // a total order of the rows, for snapshots
	except string // columns that differ between passes (ingestion times)
	sum    string // an integer expression summed over the rows
	// distinct is the number of rows FINAL returns; records the number of
	// committed records that became a row of the table (more than distinct
	// when a key has several versions); want the sum over FINAL.
	distinct, records uint64
	want              int64
}

// snapshot selects the table's rows (FINAL) without the ingestion times.
func (c tableCheck) snapshot() string {
	cols := "*"
	if c.except != "" {
		cols = "* EXCEPT (" + c.except + ")"
	}
	return "SELECT " + cols + " FROM " + c.table + " FINAL WHERE " + c.filter + " ORDER BY " + c.order
}

func rawCount(ctx context.Context, t *testing.T, st store.Store, c tableCheck, r run) uint64 {
	t.Helper()
	res := query(ctx, t, st, "SELECT count() FROM "+c.table+" WHERE "+c.filter, r.params()...)
	n, err := res.Uint64(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkTables checks count() and the sum of every table, read with FINAL,
// against the workload.
func checkTables(ctx context.Context, t *testing.T, st store.Store, r run, checks []tableCheck) {
	t.Helper()
	for _, c := range checks {
		res := query(ctx, t, st, "SELECT count(), toInt64(sum("+c.sum+")) FROM "+c.table+" FINAL WHERE "+c.filter, r.params()...)
		n, err := res.Uint64(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := res.Int64(0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n != c.distinct || sum != c.want {
			t.Errorf("%s FINAL: %d rows with sum(%s) = %d, want %d rows with sum %d", c.table, n, c.sum, sum, c.distinct, c.want)
		}
	}
}

// workload is a generated mix of records in committed and aborted
// transactions, with what the tables must hold afterwards.
type workload struct {
	txns   []txn
	checks []tableCheck
}

// workload generates n transactions of size records each; every third
// transaction is aborted. Aborted ledger records carry versions above any
// committed one, so one that leaked would win FINAL.
func (r run) workload(t *testing.T, rng *rand.Rand, n, size int) workload {
	t.Helper()
	byRun := "startsWith(event_id, {run:String})"
	checks := map[string]*tableCheck{
		"sales":           {table: "sales", filter: byRun, order: "event_id", except: "ingested_at", sum: "qty"},
		"stock_movements": {table: "stock_movements", filter: byRun, order: "event_id", except: "ingested_at", sum: "qty + 1000 * delta"},
		"orders":          {table: "orders", filter: byRun, order: "event_id", except: "ingested_at", sum: "arraySum(lines.qty) + 1000 * length(lines.sku)"},
		"campaigns":       {table: "campaigns", filter: byRun, order: "event_id", except: "ingested_at", sum: "toInt64(expected_uplift * 100)"},
		"stock_levels": {table: "stock_levels", filter: "startsWith(sku, {run:String})", order: "sku, warehouse", except: "updated_at",
			sum: "on_hand + 1000000 * version"},
		"dlq": {table: "dlq", filter: "src_offset BETWEEN {lo:Int64} AND {hi:Int64}", order: "src_topic, src_partition, src_offset",
			sum: "src_offset - {lo:Int64} + 1000 * length(value)"},
		// Every window record is a row of its own (its coordinates are in
		// the key), so a replay shows in count() without FINAL.
		"demand_windows": {table: "demand_windows", filter: "startsWith(sku, {run:String})",
			order: "sku, warehouse, size, window_start, src_partition, src_offset", except: "ingested_at", sum: "units + 1000 * sales"},
		// So is every reorder record.
		"reorders": {table: "reorders", filter: "startsWith(sku, {run:String})",
			order: "sku, warehouse, reorder_id, status, ts, src_partition, src_offset", except: "ingested_at", sum: "qty + 1000 * cycle"},
		// And every routing decision, with a row per assignment.
		"routing_decisions": {table: "routing_decisions", filter: "startsWith(order_id, {run:String})",
			order: "order_id, decision_id, src_partition, src_offset", except: "ingested_at", sum: "attempt + 1000 * units"},
		"routing_assignments": {table: "routing_assignments", filter: "startsWith(order_id, {run:String})",
			order: "warehouse, sku, ts, decision_id, line, src_partition, src_offset", except: "ingested_at", sum: "qty + 1000 * attempt"},
	}
	t0 := contractT0
	versions := map[string]uint64{} // committed ledger versions so far, by key
	latest := map[string]int64{}    // on hand of the highest committed version, by key
	var dlqOffset int64             // source offsets of dead letters, relative to r.base
	var w workload
	seq := 0
	for i := range n {
		commit := i%3 != 2
		var recs []*kgo.Record
		for range size {
			seq++
			id := r.ev(fmt.Sprintf("g%04d", seq))
			ts := t0.Add(time.Duration(seq) * time.Minute)
			sku := r.sku(strconv.Itoa(rng.IntN(5)))
			wh := []string{"WH1", "WH2"}[rng.IntN(2)]
			var (
				rec   *kgo.Record
				table string
				sum   int64
			)
			switch k := rng.IntN(10); k {
			case 0, 1:
				qty := int64(1 + rng.IntN(9))
				rec = r.accepted(t, event.Sale{EventID: id, TS: ts, SKU: event.SKU(sku), Warehouse: event.WarehouseID(wh), Qty: qty,
					Channel: "store", UnitPrice: 2.5, Currency: "EUR"}, int64(seq), &ledgerHeaders{delta: -qty, onHand: 1, outcome: "applied"})
				table, sum = "sales", qty
			case 2:
				qty := int64(1 + rng.IntN(50))
				rec = r.accepted(t, event.Stock{EventID: id, TS: ts, SKU: event.SKU(sku), Warehouse: event.WarehouseID(wh),
					Kind: event.KindTransferOut, Qty: qty}, int64(seq), &ledgerHeaders{delta: -qty, onHand: 1, outcome: "applied"})
				table, sum = "stock_movements", qty-1000*qty
			case 3:
				lines := []event.OrderLine{{SKU: event.SKU(sku), Qty: int64(1 + rng.IntN(4))}, {SKU: event.SKU(r.sku("9")), Qty: 1}}
				lines = lines[:1+rng.IntN(2)]
				rec = r.accepted(t, event.Order{EventID: id, TS: ts, OrderID: id, Lines: lines,
					ShipTo: event.Address{PostalCode: "75001", Country: "FR", Lat: 48.86, Lon: 2.35}, ServiceLevel: "standard", PromisedBy: ts.Add(48 * time.Hour)},
					int64(seq), nil)
				table = "orders"
				for _, l := range lines {
					sum += l.Qty + 1000
				}
			case 4:
				uplift := float64(rng.IntN(8)) / 4
				rec = r.accepted(t, event.Campaign{EventID: id, TS: ts, CampaignID: id, SKUs: []event.SKU{event.SKU(sku)},
					Start: ts, End: ts.Add(24 * time.Hour), ExpectedUplift: uplift}, int64(seq), nil)
				table, sum = "campaigns", int64(uplift*100)
			case 5:
				key := sku + "/" + wh
				v := versions[key] + 1
				onHand := int64(rng.IntN(500))
				if !commit {
					v = 1000 + uint64(seq)
				}
				rec = r.levelRecord(t, event.StockLevel{SKU: event.SKU(sku), Warehouse: event.WarehouseID(wh), OnHand: onHand,
					Available: onHand, LastEventTS: ts.UnixMilli(), Version: v})
				table = "stock_levels"
				if commit {
					versions[key], latest[key] = v, onHand
				}
			case 6:
				dlqOffset++
				value := strings.Repeat("x", rng.IntN(20))
				rec = r.dlqRecord(sku, value, kafka.TopicSales, int32(rng.IntN(3)), dlqOffset, event.TypeSale, event.ReasonWrongType, "wrong_type: qty", ts)
				table, sum = "dlq", dlqOffset+1000*int64(len(value))
			case 7:
				units, sales := int64(rng.IntN(20)), int64(rng.IntN(5))
				size, kind := event.WindowHour, event.WindowFinal
				if rng.IntN(2) == 0 {
					size = event.WindowDay
				}
				if rng.IntN(3) == 0 {
					kind = event.WindowCorrection
				}
				start := ts.Truncate(time.Hour)
				if size == event.WindowDay {
					start = ts.Truncate(24 * time.Hour)
				}
				rec = r.windowRecord(t, r.window(event.SKU(sku), event.WarehouseID(wh), size, kind, start, units, float64(units)*2.5, sales))
				table, sum = "demand_windows", units+1000*sales
			case 8:
				// Reorders go through their statuses under ids unique to
				// the record, so that FINAL keeps every committed one.
				qty := int64(1 + rng.IntN(200))
				status := []event.ReorderStatus{event.ReorderSuggested, event.ReorderOrdered, event.ReorderReceived, event.ReorderCancelled}[rng.IntN(4)]
				if rng.IntN(2) == 0 {
					rec = r.reorderRecord(t, r.reorder(event.SKU(sku), event.WarehouseID(wh), int64(seq), status, ts, qty))
					table, sum = "reorders", qty+1000*int64(seq)
					break
				}
				// Or a routing decision from one or two warehouses: a
				// decisions row and a row per assignment.
				whs := []string{"WH1", "WH2"}[:1+rng.IntN(2)]
				d := r.routing(id, int64(seq), true, ts, qty, whs...)
				rec = r.routingRecord(t, d)
				if commit {
					dc, ac := checks["routing_decisions"], checks["routing_assignments"]
					dc.records++
					dc.distinct++
					ac.records += uint64(len(d.Assignments))
					ac.distinct += uint64(len(d.Assignments))
					for _, a := range d.Assignments {
						dc.want += 1000 * a.Qty
						ac.want += a.Qty + 1000*int64(seq)
					}
					dc.want += int64(seq)
				}
			default:
				prefix := event.ChangelogSeenPrefix + id
				if rng.IntN(2) == 0 {
					prefix = event.ChangelogStreamTimePrefix + strconv.Itoa(rng.IntN(3))
				}
				rec = rawRecord(kafka.TopicStockChangelog, prefix, strconv.AppendInt(nil, ts.UnixMilli(), 10))
			}
			recs = append(recs, rec)
			if commit && table != "" {
				c := checks[table]
				c.records++
				if table != "stock_levels" {
					c.distinct++
					c.want += sum
				}
			}
		}
		w.txns = append(w.txns, txn{commit: commit, records: recs})
	}
	lv := checks["stock_levels"]
	for key, v := range versions {
		lv.distinct++
		lv.want += latest[key] + 1000000*int64(v)
	}
	for _, name := range []string{"sales", "stock_movements", "orders", "campaigns", "stock_levels", "dlq", "demand_windows", "reorders", "routing_decisions", "routing_assignments"} {
		w.checks = append(w.checks, *checks[name])
	}
	return w
}
