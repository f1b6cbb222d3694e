package stock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// now is the fixed wall clock of the suite; event times sit before it.
// It lies years ahead, so events of other tests sharing a real broker are
// older than this suite's and cannot push its stream time past its counts.
var now = time.Date(2030, 3, 10, 12, 0, 0, 0, time.UTC)

type input struct {
	topic  string
	key    string
	value  string
	reason event.Reason // "" for a good event
	// phase orders inputs whose outcome depends on what the pipeline has
	// processed before: a phase is produced once the previous one is out.
	phase int
}

func sale(id string, ts time.Time, sku, wh string, qty int) string {
	return fmt.Sprintf(`{"event_id":%q,"ts":%q,"sku":%q,"warehouse":%q,"qty":%d,"channel":"store","unit_price":9.5,"currency":"USD"}`,
		id, ts.Format(time.RFC3339Nano), sku, wh, qty)
}

func move(id string, ts time.Time, sku, wh, kind string, qty int) string {
	return fmt.Sprintf(`{"event_id":%q,"ts":%q,"sku":%q,"warehouse":%q,"kind":%q,"qty":%d,"ref":"PO-1"}`,
		id, ts.Format(time.RFC3339Nano), sku, wh, kind, qty)
}

// deadLetterInputs interleaves one event of every bad-input class of
// DESIGN §6 (plus a count older than the correction horizon) with good
// events, and returns the on-hand levels the good events must produce.
//
// Every value and SKU carries the run's nonce, so the suite can share a
// broker with other tests and look only at its own records.
func deadLetterInputs(nonce string) ([]input, map[string]int64) {
	t0 := now.Add(-30 * 24 * time.Hour)
	sku1, sku2 := "SKU-1-"+nonce, "SKU-2-"+nonce
	id := func(s string) string { return s + "-" + nonce }
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	good1 := sale(id("s-2"), at(2), sku1, "WH1", 3)
	in := []input{
		{kafka.TopicStock, sku1, move(id("m-1"), at(1), sku1, "WH1", "count", 100), "", 0},
		{kafka.TopicStock, sku2, move(id("m-2"), at(1), sku2, "WH2", "receipt", 40), "", 0},
		{kafka.TopicSales, sku1, `{"event_id":"x-1-` + nonce + `","ts":`, event.ReasonMalformedJSON, 0},
		{kafka.TopicSales, sku1, good1, "", 0},
		{kafka.TopicSales, sku1, `{"event_id":"x-2-` + nonce + `","ts":"2030-02-08T00:00:00Z","sku":"` + sku1 + `","warehouse":"WH1","channel":"store","unit_price":1,"currency":"USD"}`, event.ReasonMissingField, 0},
		{kafka.TopicSales, sku1, `{"event_id":"x-3-` + nonce + `","ts":"2030-02-08T00:00:00Z","sku":"` + sku1 + `","warehouse":"WH1","qty":"two","channel":"store","unit_price":1,"currency":"USD"}`, event.ReasonWrongType, 0},
		{kafka.TopicStock, sku2, move(id("x-4"), at(3), sku2, "WH2", "damage", -4), event.ReasonNegativeQty, 0},
		{kafka.TopicSales, sku2, sale(id("s-3"), at(4), sku2, "WH2", 5), "", 0},
		{kafka.TopicSales, sku2, sale(id("x-5"), at(4), sku2, "WH-NOWHERE", 1), event.ReasonUnknownWarehouse, 0},
		{kafka.TopicSales, sku2, sale(id("x-6"), now.Add(72*time.Hour), sku2, "WH2", 1), event.ReasonFutureTimestamp, 0},
		{kafka.TopicStock, sku2, `{"event_id":"x-7-` + nonce + `","pad":"` + strings.Repeat("x", 70<<10) + `"}`, event.ReasonOversize, 0},
		{kafka.TopicSales, sku1, good1, event.ReasonDuplicateEvent, 0},
		{kafka.TopicOrders, "O-1", `{"event_id":"o-1-` + nonce + `","ts":"2030-02-08T00:00:00Z","order_id":"O-1","lines":[{"sku":"` + sku1 + `","qty":1}],"ship_to":{"postal_code":"10115","country":"DE","lat":52.5,"lon":13.4},"service_level":"standard","promised_by":"2030-02-12T00:00:00Z"}`, "", 0},
		// Reservation requests (routing's, keyed by SKU) that fail decoding
		// or validation; good ones produce results, not accepted records
		// (reservation_test.go).
		{kafka.TopicReservations, sku1, `{"reservation_id":"x-r1-` + nonce + `",`, event.ReasonMalformedJSON, 0},
		{kafka.TopicReservations, sku1, resvReq("x-r2-"+nonce, "O-1", sku1, "WH1", 0, event.ReservationReserve, at(5)), event.ReasonNegativeQty, 0},
		{kafka.TopicReservations, sku1, resvReq("x-r3-"+nonce, "O-1", sku1, "WH-NOWHERE", 1, event.ReservationReserve, at(5)), event.ReasonUnknownWarehouse, 0},
		{kafka.TopicReservations, sku1, resvReq("x-r4-"+nonce, "O-1", sku1, "WH1", 1, "hold", at(5)), event.ReasonInvalidValue, 0},
		{kafka.TopicReservations, sku1, `{"reservation_id":"x-r5-` + nonce + `","sku":"` + sku1 + `","warehouse":"WH1","qty":1,"kind":"reserve","ts":"2030-02-08T00:00:00Z"}`, event.ReasonMissingField, 0},
		{kafka.TopicReservations, sku1, resvReq("x-r6-"+nonce, "O-1", sku1, "WH1", 1, event.ReservationReserve, now.Add(72*time.Hour)), event.ReasonFutureTimestamp, 0},
		{kafka.TopicOrders, "O-2", `{"event_id":"x-8-` + nonce + `","ts":"2030-02-08T00:00:00Z","order_id":"O-2","lines":[],"ship_to":{"postal_code":"10115","country":"DE","lat":52.5,"lon":13.4},"service_level":"standard","promised_by":"2030-02-12T00:00:00Z"}`, event.ReasonInvalidValue, 0},
		// Stream time moves 10 days on. A count 9 days older than that is
		// still placed exactly: no delta after it has been folded.
		{kafka.TopicStock, sku1, move(id("m-3"), at(240), sku1, "WH1", "adjustment", -2), "", 0},
		{kafka.TopicStock, sku1, move(id("m-9"), at(24), sku1, "WH1", "count", 7), "", 0},
		// A late delta inside the horizon but before the latest count.
		{kafka.TopicStock, sku1, move(id("m-4"), at(230), sku1, "WH1", "count", 50), "", 0},
		{kafka.TopicSales, sku1, sale(id("s-4"), at(200), sku1, "WH1", 4), "", 0},
		// SKU-2 moves on to day 12 on both ledger topics, so the next delta
		// folds its early deltas (hours 1 and 4) beyond the correction
		// horizon; a count at hour 2 can no longer be placed exactly and is
		// dead-lettered.
		{kafka.TopicStock, sku2, move(id("m-5"), at(300), sku2, "WH2", "adjustment", 10), "", 1},
		{kafka.TopicSales, sku2, sale(id("s-5"), at(301), sku2, "WH2", 1), "", 1},
		{kafka.TopicSales, sku2, sale(id("s-6"), at(302), sku2, "WH2", 1), "", 2},
		{kafka.TopicStock, sku2, move(id("x-9"), at(2), sku2, "WH2", "count", 99), ReasonLateCount, 3},
	}
	// SKU-1/WH1: count 100 @1, sale 3 @2, adjustment -2 @240, count 7 @24,
	// count 50 @230, sale 4 @200 (before the count at 230: superseded):
	// 50 - 2 = 48.
	// SKU-2/WH2: receipt 40, sale 5, adjustment +10, sales 1 and 1: 43.
	return in, map[string]int64{sku1 + "/WH1": 48, sku2 + "/WH2": 43}
}

// runDeadLetterSuite runs the stock pipeline against brokers and checks
// that every bad input is dead-lettered with its reason and coordinates,
// every good event is accepted once, and the ledgers are right.
//
// With shared set, other tests' records may be on the broker's topics too,
// so the processor's own counters are checked as lower bounds only.
func runDeadLetterSuite(t *testing.T, brokers []string, shared bool) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	kc := kafka.Config{Brokers: brokers, ClientID: "stock-suite"}
	opts, err := kc.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.ProducerBatchMaxBytes(1<<20))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := kafka.EnsureTopics(ctx, adm, kafka.TopicsConfig{Partitions: 3}.Specs(), 1); err != nil {
		t.Fatal(err)
	}

	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	in, want := deadLetterInputs(nonce)
	p, err := New(Config{
		Kafka:           kc,
		Group:           "stock-suite-" + nonce,
		TransactionalID: "stock-suite-" + nonce,
		Checker:         event.Checker{Warehouses: map[event.WarehouseID]struct{}{"WH1": {}, "WH2": {}}, MaxFuture: time.Hour},
		Now:             func() time.Time { return now },
	}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()

	sent := 0
	for phase := 0; ; phase++ {
		n := 0
		for _, r := range in {
			if r.phase != phase {
				continue
			}
			n++
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: r.topic, Key: []byte(r.key), Value: []byte(r.value)}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
		if n == 0 {
			break
		}
		sent += n
		// Accepted or dead-lettered, every record of the phase is out.
		for got := 0; got < sent; {
			got = len(consumeAvailable(ctx, t, opts, kafka.TopicAccepted, nonce)) + len(consumeAvailable(ctx, t, opts, kafka.TopicDLQ, nonce))
		}
	}

	var nBad, nGood int
	for _, r := range in {
		if r.reason == "" {
			nGood++
		} else {
			nBad++
		}
	}
	dlq := consume(ctx, t, opts, kafka.TopicDLQ, nonce, nBad)
	accepted := consume(ctx, t, opts, kafka.TopicAccepted, nonce, nGood)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("processor: %v", err)
	}

	// Every bad input is in the DLQ with its reason, original bytes and
	// source coordinates.
	gotReasons := map[string]event.Reason{}
	for _, r := range dlq {
		h := headers(r)
		src := h[event.HeaderSourceTopic]
		if src == "" || h[event.HeaderSourcePartition] == "" || h[event.HeaderSourceOffset] == "" || h[event.HeaderMessage] == "" {
			t.Errorf("dlq record without source coordinates or message: %v", h)
		}
		if src == kafka.TopicReservations && h[event.HeaderEventType] != event.TypeNameReservation {
			t.Errorf("dead-lettered reservation has event type %q", h[event.HeaderEventType])
		}
		gotReasons[string(r.Value)] = event.Reason(h[event.HeaderReason])
	}
	for _, r := range in {
		if r.reason == "" {
			continue
		}
		if got, ok := gotReasons[r.value]; !ok {
			t.Errorf("bad input with reason %s not in the DLQ", r.reason)
		} else if got != r.reason {
			t.Errorf("dlq reason %s, want %s", got, r.reason)
		}
	}
	if len(dlq) != nBad {
		t.Errorf("dlq holds %d records, want %d", len(dlq), nBad)
	}
	// Every good input is accepted exactly once.
	seen := map[string]int{}
	for _, r := range accepted {
		seen[string(r.Value)]++
	}
	for _, r := range in {
		if r.reason == "" && seen[r.value] != 1 {
			t.Errorf("good event accepted %d times: %s", seen[r.value], r.value)
		}
	}
	// The changelog holds the right levels.
	levels := changelogLevels(ctx, t, opts)
	for k, v := range want {
		if levels[k] != v {
			t.Errorf("%s on hand %d, want %d", k, levels[k], v)
		}
	}
	st := p.Stats()
	if shared {
		if int(st.DLQ) < nBad || int(st.Accepted) < nGood {
			t.Errorf("stats dlq %d accepted %d, want at least %d and %d", st.DLQ, st.Accepted, nBad, nGood)
		}
	} else if int(st.DLQ) != nBad || int(st.Accepted) != nGood {
		t.Errorf("stats dlq %d accepted %d, want %d and %d", st.DLQ, st.Accepted, nBad, nGood)
	}
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// consume reads committed records of topic from the start until it has n
// whose value contains nonce.
func consume(ctx context.Context, t *testing.T, opts []kgo.Opt, topic, nonce string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			for _, r := range out {
				t.Logf("%s: %s %v", topic, r.Value[:min(len(r.Value), 120)], headers(r))
			}
			t.Fatalf("read %d of %d records from %s before the deadline", len(out), n, topic)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if bytes.Contains(r.Value, []byte(nonce)) {
				out = append(out, r)
			}
		})
	}
	return out
}

// changelogLevels reads the committed changelog to its end and returns
// the latest on hand per key.
func changelogLevels(ctx context.Context, t *testing.T, opts []kgo.Opt) map[string]int64 {
	t.Helper()
	levels := map[string]int64{}
	readToEnd(ctx, t, opts, kafka.TopicStockChangelog, func(r *kgo.Record) {
		if r.Value == nil || !bytes.HasPrefix(r.Key, []byte(event.ChangelogLevelPrefix)) {
			return
		}
		var lv event.StockLevel
		if err := json.Unmarshal(r.Value, &lv); err != nil {
			t.Errorf("changelog record %s: %v", r.Key, err)
			return
		}
		levels[string(lv.SKU)+"/"+string(lv.Warehouse)] = lv.OnHand
	})
	return levels
}

// consumeAvailable returns the committed records of topic whose value
// contains nonce, reading up to the topic's current end.
func consumeAvailable(ctx context.Context, t *testing.T, opts []kgo.Opt, topic, nonce string) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	readToEnd(ctx, t, opts, topic, func(r *kgo.Record) {
		if bytes.Contains(r.Value, []byte(nonce)) {
			out = append(out, r)
		}
	})
	return out
}

// readToEnd hands every committed data record of topic, up to its current
// end, to fn. It tracks each partition's position through the control
// records, because aborted records (other tests' on a shared broker) are
// never delivered to a read_committed consumer.
func readToEnd(ctx context.Context, t *testing.T, opts []kgo.Opt, topic string, fn func(*kgo.Record)) {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	pending := map[int32]int64{} // partition -> last offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			pending[o.Partition] = o.Offset - 1
		}
	})
	rd, err := kgo.NewClient(append(opts,
		kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for len(pending) > 0 {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: partitions %v not read to their end", topic, pending)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if last, ok := pending[r.Partition]; ok && r.Offset >= last {
				delete(pending, r.Partition)
			}
			if !r.Attrs.IsControl() {
				fn(r)
			}
		})
	}
}
