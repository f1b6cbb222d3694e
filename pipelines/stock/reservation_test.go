package stock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/kafka/kfaketest"
)

// resvT0 is the event time the reservation tests start at.
var resvT0 = time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC)

func resvReq(id, order, sku, wh string, qty int, kind event.ReservationKind, ts time.Time) string {
	return fmt.Sprintf(`{"reservation_id":%q,"order_id":%q,"sku":%q,"warehouse":%q,"qty":%d,"kind":%q,"ts":%q}`,
		id, order, sku, wh, qty, kind, ts.Format(time.RFC3339Nano))
}

func saleFor(id string, ts time.Time, sku, wh, order string, qty int) string {
	return fmt.Sprintf(`{"event_id":%q,"ts":%q,"sku":%q,"warehouse":%q,"qty":%d,"order_id":%q,"channel":"web","unit_price":9.5,"currency":"USD"}`,
		id, ts.Format(time.RFC3339Nano), sku, wh, qty, order)
}

// resvEnv is a kfake cluster with the catalogue's topics and a client.
type resvEnv struct {
	c     *kfake.Cluster
	kc    kafka.Config
	opts  []kgo.Opt
	cl    *kgo.Client
	nonce string
}

func newResvEnv(ctx context.Context, t *testing.T, partitions int32) *resvEnv {
	t.Helper()
	c := newKfake(t)
	kc := kafka.Config{Brokers: c.ListenAddrs(), ClientID: "reservations"}
	opts, err := kc.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if _, err := kafka.EnsureTopics(ctx, kadm.NewClient(cl), kafka.TopicsConfig{Partitions: partitions}.Specs(), 1); err != nil {
		t.Fatal(err)
	}
	return &resvEnv{c: c, kc: kc, opts: opts, cl: cl, nonce: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// start runs a processor until the returned stop is called; stop fails t
// if Run failed.
func (e *resvEnv) start(ctx context.Context, t *testing.T, id string, mod func(*Config)) (*Processor, func()) {
	t.Helper()
	cfg := Config{
		Kafka: e.kc, Group: "resv-" + e.nonce, TransactionalID: "resv-" + e.nonce + "-" + id,
		Checker:   event.Checker{Warehouses: map[event.WarehouseID]struct{}{"WH1": {}, "WH2": {}}, MaxFuture: time.Hour},
		Now:       func() time.Time { return resvT0.Add(60 * 24 * time.Hour) },
		IdleFlush: -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	return p, func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor %s: %v", id, err)
		}
	}
}

func (e *resvEnv) produce(ctx context.Context, t *testing.T, topic, key, value string) {
	t.Helper()
	if err := e.cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// waitRecords reads topic (committed records with the nonce) until it
// holds at least n, and returns them.
func (e *resvEnv) waitRecords(ctx context.Context, t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	for {
		rs := consumeAvailable(ctx, t, e.opts, topic, e.nonce)
		if len(rs) >= n {
			return rs
		}
		if testing.Verbose() {
			t.Logf("%s: %d of %d", topic, len(rs), n)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s holds %d of %d records before the deadline", topic, len(rs), n)
		}
	}
}

// levels reads the latest committed ledger records by "sku/warehouse".
func (e *resvEnv) levels(ctx context.Context, t *testing.T) map[string]event.StockLevel {
	t.Helper()
	out := map[string]event.StockLevel{}
	readToEnd(ctx, t, e.opts, kafka.TopicStockChangelog, func(r *kgo.Record) {
		if r.Value == nil || !bytes.HasPrefix(r.Key, []byte(event.ChangelogLevelPrefix)) {
			return
		}
		var lv event.StockLevel
		if err := json.Unmarshal(r.Value, &lv); err != nil {
			t.Errorf("changelog record %s: %v", r.Key, err)
			return
		}
		out[string(lv.SKU)+"/"+string(lv.Warehouse)] = lv
	})
	return out
}

func decodeResult(t *testing.T, r *kgo.Record) event.ReservationResult {
	t.Helper()
	var res event.ReservationResult
	if err := json.Unmarshal(r.Value, &res); err != nil {
		t.Fatalf("result %s: %v", r.Value, err)
	}
	if string(r.Key) != res.OrderID {
		t.Errorf("result keyed %q, want its order id %q", r.Key, res.OrderID)
	}
	return res
}

// TestResultPartitionIsKafkaDefault checks that results land where a
// producer with the default partitioner puts a record of the same key,
// which is where routing, keyed by order id, looks for them.
func TestResultPartitionIsKafkaDefault(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	e := newResvEnv(ctx, t, 5)
	for i := range 40 {
		order := fmt.Sprintf("O-%d-%s", i, e.nonce)
		r := &kgo.Record{Topic: kafka.TopicReservationResults, Key: []byte(order), Value: []byte("probe")}
		if err := e.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if got := ResultPartition(order, 5); got != r.Partition {
			t.Errorf("order %s: ResultPartition %d, default partitioner %d", order, got, r.Partition)
		}
	}
}

// TestReservationLifecycle walks one ledger through every decision, step
// by step: accept and reject at the boundary, replays, release, unknown
// release, consumption by sales with an order id, expiry after the TTL,
// and a restart that keeps reservations and their deduplication.
func TestReservationLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	e := newResvEnv(ctx, t, 3)
	n := e.nonce
	sku := "SKU-L-" + n
	id := func(s string) string { return s + "-" + n }
	at := func(d time.Duration) time.Time { return resvT0.Add(d) }
	type want struct {
		status    event.ReservationStatus
		qty       int64
		available int64
		reason    string
	}
	type step struct {
		name   string
		topic  string
		value  string
		result *want  // the result the step must produce
		replay string // the step's result must equal this reservation's earlier result bytes
		// ledger checked after the step (nil: not checked)
		onHand, reserved, available *int64
	}
	i64 := func(v int64) *int64 { return &v }
	steps := []step{
		{name: "count 5", topic: kafka.TopicStock, value: move(id("m1"), at(0), sku, "WH1", "count", 5)},
		{name: "reserve all 5 (boundary: accepted)", topic: kafka.TopicReservations, value: resvReq(id("r1"), id("O1"), sku, "WH1", 5, event.ReservationReserve, at(time.Minute)),
			result: &want{event.ReservationAccepted, 5, 0, ""}, onHand: i64(5), reserved: i64(5), available: i64(0)},
		{name: "reserve 1 more (rejected)", topic: kafka.TopicReservations, value: resvReq(id("r2"), id("O2"), sku, "WH1", 1, event.ReservationReserve, at(2*time.Minute)),
			result: &want{event.ReservationRejected, 1, 0, event.ResultInsufficientStock}, reserved: i64(5)},
		{name: "replay r1", topic: kafka.TopicReservations, value: resvReq(id("r1"), id("O1"), sku, "WH1", 5, event.ReservationReserve, at(time.Minute)),
			replay: id("r1"), reserved: i64(5), available: i64(0)},
		{name: "replay r2", topic: kafka.TopicReservations, value: resvReq(id("r2"), id("O2"), sku, "WH1", 1, event.ReservationReserve, at(2*time.Minute)),
			replay: id("r2"), reserved: i64(5)},
		{name: "release r1", topic: kafka.TopicReservations, value: resvReq(id("r1"), id("O1"), sku, "WH1", 5, event.ReservationRelease, at(3*time.Minute)),
			result: &want{event.ReservationReleased, 5, 5, ""}, reserved: i64(0), available: i64(5)},
		{name: "replay release r1", topic: kafka.TopicReservations, value: resvReq(id("r1"), id("O1"), sku, "WH1", 5, event.ReservationRelease, at(3*time.Minute)),
			replay: id("r1") + "/release", reserved: i64(0), available: i64(5)},
		{name: "release unknown", topic: kafka.TopicReservations, value: resvReq(id("r-none"), id("O9"), sku, "WH1", 1, event.ReservationRelease, at(4*time.Minute)),
			result: &want{event.ReservationRejected, 1, 5, event.ResultUnknownReservation}},
		{name: "reserve 3 for O3", topic: kafka.TopicReservations, value: resvReq(id("r3"), id("O3"), sku, "WH1", 3, event.ReservationReserve, at(5*time.Minute)),
			result: &want{event.ReservationAccepted, 3, 2, ""}, reserved: i64(3)},
		{name: "O3 ships 2", topic: kafka.TopicSales, value: saleFor(id("s1"), at(time.Hour), sku, "WH1", id("O3"), 2),
			onHand: i64(3), reserved: i64(1), available: i64(2)},
		{name: "a walk-in sale of 1", topic: kafka.TopicSales, value: sale(id("s2"), at(time.Hour+time.Minute), sku, "WH1", 1),
			onHand: i64(2), reserved: i64(1), available: i64(1)},
		{name: "O3 ships 2 more (1 reserved left)", topic: kafka.TopicSales, value: saleFor(id("s3"), at(2*time.Hour), sku, "WH1", id("O3"), 2),
			onHand: i64(0), reserved: i64(0), available: i64(0)},
		{name: "release r3 after shipping", topic: kafka.TopicReservations, value: resvReq(id("r3"), id("O3"), sku, "WH1", 3, event.ReservationRelease, at(3*time.Hour)),
			result: &want{event.ReservationReleased, 0, 0, ""}},
		{name: "receipt 4", topic: kafka.TopicStock, value: move(id("m2"), at(4*time.Hour), sku, "WH1", "receipt", 4), available: i64(4)},
		{name: "reserve 1 for O4", topic: kafka.TopicReservations, value: resvReq(id("r4"), id("O4"), sku, "WH1", 1, event.ReservationReserve, at(5*time.Hour)),
			result: &want{event.ReservationAccepted, 1, 3, ""}},
		{name: "reserve 2 for O5 on WH2 (no ledger: rejected)", topic: kafka.TopicReservations, value: resvReq(id("r5"), id("O5"), sku, "WH2", 2, event.ReservationReserve, at(5*time.Hour)),
			result: &want{event.ReservationRejected, 2, 0, event.ResultInsufficientStock}},
		{name: "a day later, 1 for O6", topic: kafka.TopicReservations, value: resvReq(id("r6"), id("O6"), sku, "WH1", 1, event.ReservationReserve, at(29*time.Hour)),
			result: &want{event.ReservationAccepted, 1, 2, ""}, reserved: i64(2)},
		// Stream time passes r4's expiry (5 h + 7 d) but not r6's.
		{name: "receipt 7 days on expires r4", topic: kafka.TopicStock, value: move(id("m3"), at(7*24*time.Hour+6*time.Hour), sku, "WH1", "receipt", 1),
			result: &want{event.ReservationReleased, 1, 4, event.ResultExpired}, onHand: i64(5), reserved: i64(1), available: i64(4)},
		{name: "release of the expired r4 answers the expiry", topic: kafka.TopicReservations, value: resvReq(id("r4"), id("O4"), sku, "WH1", 1, event.ReservationRelease, at(7*24*time.Hour+7*time.Hour)),
			replay: id("r4") + "/release"},
	}

	p, stop := e.start(ctx, t, "a", nil)
	results := map[string][]byte{} // reservation id (+"/release") -> result bytes
	prior := map[string]int{}      // every result record read so far, by value
	nRes, nAcc := 0, 0
	run := func(s step) {
		t.Helper()
		key := sku
		e.produce(ctx, t, s.topic, key, s.value)
		if s.topic != kafka.TopicReservations {
			nAcc++
			e.waitRecords(ctx, t, kafka.TopicAccepted, nAcc)
		}
		if s.result == nil && s.replay == "" {
			if s.topic == kafka.TopicReservations {
				t.Fatalf("%s: a reservation step without an expected result", s.name)
			}
		} else {
			nRes++
			rs := e.waitRecords(ctx, t, kafka.TopicReservationResults, nRes)
			if len(rs) != nRes {
				t.Fatalf("%s: %d results, want %d", s.name, len(rs), nRes)
			}
			// The new result is the one not seen yet (results of different
			// orders are in different partitions, so order is per key).
			var got *kgo.Record
			seen := maps.Clone(prior)
			clear(prior)
			for _, r := range rs {
				prior[string(r.Value)]++
			}
			for _, r := range rs {
				if r.Partition != ResultPartition(string(r.Key), 3) {
					t.Errorf("%s: result of %s in partition %d, want %d", s.name, r.Key, r.Partition, ResultPartition(string(r.Key), 3))
				}
				if seen[string(r.Value)] > 0 {
					seen[string(r.Value)]--
					continue
				}
				got = r
			}
			if s.replay != "" {
				if got == nil || !bytes.Equal(got.Value, results[s.replay]) || results[s.replay] == nil {
					t.Errorf("%s: the replay was answered with %s, want the earlier %s", s.name, valueOf(got), results[s.replay])
				}
			} else {
				if got == nil {
					t.Fatalf("%s: no new result", s.name)
				}
				res := decodeResult(t, got)
				w := s.result
				if res.Status != w.status || res.Qty != w.qty || res.Available != w.available || res.Reason != w.reason {
					t.Errorf("%s: result %s, want %+v", s.name, got.Value, *w)
				}
				k := res.ReservationID
				if res.Status == event.ReservationReleased || (res.Status == event.ReservationRejected && res.Reason == event.ResultUnknownReservation) {
					k += "/release"
				}
				results[k] = got.Value
			}
		}
		if s.onHand != nil || s.reserved != nil || s.available != nil {
			lv := e.levels(ctx, t)[sku+"/WH1"]
			if (s.onHand != nil && lv.OnHand != *s.onHand) || (s.reserved != nil && lv.Reserved != *s.reserved) ||
				(s.available != nil && lv.Available != *s.available) {
				t.Errorf("%s: ledger on hand %d reserved %d available %d, want %v %v %v", s.name, lv.OnHand, lv.Reserved, lv.Available,
					deref(s.onHand), deref(s.reserved), deref(s.available))
			}
		}
	}
	for _, s := range steps {
		run(s)
	}
	if st := p.Stats(); st.ReservationsReplayed != 4 {
		t.Errorf("stats: %d replays answered, want 4", st.ReservationsReplayed)
	}
	stop()

	// A new instance restores the reservations: r6 still holds its unit,
	// and its decision is still remembered. (r1, done more than the
	// deduplication window of stream time ago, is forgotten.)
	_, stop = e.start(ctx, t, "b", nil)
	defer stop()
	for _, s := range []step{
		{name: "after restart: replay r6", topic: kafka.TopicReservations, value: resvReq(id("r6"), id("O6"), sku, "WH1", 1, event.ReservationReserve, at(29*time.Hour)),
			replay: id("r6"), reserved: i64(1)},
		{name: "after restart: release r6", topic: kafka.TopicReservations, value: resvReq(id("r6"), id("O6"), sku, "WH1", 1, event.ReservationRelease, at(8*24*time.Hour)),
			result: &want{event.ReservationReleased, 1, 5, ""}, onHand: i64(5), reserved: i64(0), available: i64(5)},
	} {
		run(s)
	}
}

func valueOf(r *kgo.Record) []byte {
	if r == nil {
		return nil
	}
	return r.Value
}

func deref(p *int64) any {
	if p == nil {
		return "-"
	}
	return *p
}

// TestReservationsNoOversell has several producers race reservation
// requests (a share of them sent twice) for the last units of SKUs in two
// warehouses, spread over three partitions, through two processor
// instances, while the broker fails some produce requests carrying results
// (aborting their transactions). Every request must get exactly one
// result, replays byte-identical copies of it; the units accepted per
// ledger never exceed its stock, and the ledger's reserved equals them.
func TestReservationsNoOversell(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	e := newResvEnv(ctx, t, 3)
	failed := kfaketest.FailProduces(ctx, t, e.c, e.cl, kafka.TopicReservationResults, func(n int64) bool { return n%4 == 2 })

	const (
		skus      = 6
		stock     = 7
		producers = 4
		perProd   = 60
	)
	whs := []string{"WH1", "WH2"}
	for s := range skus {
		sku := fmt.Sprintf("SKU-%d-%s", s, e.nonce)
		for _, wh := range whs {
			e.produce(ctx, t, kafka.TopicStock, sku, move(fmt.Sprintf("c-%d-%s-%s", s, wh, e.nonce), resvT0, sku, wh, "count", stock))
		}
	}
	p1, stop1 := e.start(ctx, t, "a", func(c *Config) { c.MaxPollRecords = 7 })
	e.waitRecords(ctx, t, kafka.TopicAccepted, skus*len(whs))
	// The second instance joins while requests flow: a rebalance moves
	// partitions (and their ledgers, restored from the changelog).
	p2, stop2 := e.start(ctx, t, "b", func(c *Config) { c.MaxPollRecords = 7 })

	sent := make([]map[string]int, producers) // per producer: request id -> times sent
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for w := range producers {
		sent[w] = map[string]int{}
		wg.Go(func() {
			cl, err := kgo.NewClient(e.opts...)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			var prev []*kgo.Record
			for i := range perProd {
				sku := fmt.Sprintf("SKU-%d-%s", rng.IntN(skus), e.nonce)
				wh := whs[rng.IntN(2)]
				order := fmt.Sprintf("O-%d-%d-%s", w, i, e.nonce)
				rid := order + "/" + sku + "/" + wh + "/1"
				v := resvReq(rid, order, sku, wh, 1+rng.IntN(3), event.ReservationReserve, resvT0.Add(time.Duration(i)*time.Second))
				rs := []*kgo.Record{{Topic: kafka.TopicReservations, Key: []byte(sku), Value: []byte(v)}}
				sent[w][rid]++
				if len(prev) > 0 && rng.IntN(5) == 0 { // a retry of an earlier request
					rs = append(rs, prev[rng.IntN(len(prev))])
				}
				prev = append(prev, rs[0])
				if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	times := map[string]int{}
	total := 0
	for w := range sent {
		for id, n := range sent[w] {
			times[id] += n
			total += n
		}
	}
	// Retries were produced after their first copy; count them from the
	// records themselves.
	total = 0
	readToEnd(ctx, t, e.opts, kafka.TopicReservations, func(r *kgo.Record) {
		if bytes.Contains(r.Value, []byte(e.nonce)) {
			total++
		}
	})
	rs := e.waitRecords(ctx, t, kafka.TopicReservationResults, total)
	stop1()
	stop2()

	byID := map[string][][]byte{}
	accepted := map[string]int64{}
	var nAcc, nRej int
	for _, r := range rs {
		res := decodeResult(t, r)
		byID[res.ReservationID] = append(byID[res.ReservationID], r.Value)
		if r.Partition != ResultPartition(res.OrderID, 3) {
			t.Errorf("result of %s in partition %d, want %d", res.OrderID, r.Partition, ResultPartition(res.OrderID, 3))
		}
		if len(byID[res.ReservationID]) > 1 {
			continue
		}
		switch res.Status {
		case event.ReservationAccepted:
			accepted[string(res.SKU)+"/"+string(res.Warehouse)] += res.Qty
			nAcc++
			if res.Available < 0 {
				t.Errorf("accepted %s leaves available %d", res.ReservationID, res.Available)
			}
		case event.ReservationRejected:
			nRej++
			if res.Reason != event.ResultInsufficientStock {
				t.Errorf("rejected %s for %s", res.ReservationID, res.Reason)
			}
		default:
			t.Errorf("unexpected result %s", r.Value)
		}
	}
	if len(rs) != total {
		t.Errorf("%d results for %d requests", len(rs), total)
	}
	if len(byID) != len(times) {
		t.Errorf("results for %d request ids, %d were sent", len(byID), len(times))
	}
	for id, vs := range byID {
		for _, v := range vs[1:] {
			if !bytes.Equal(v, vs[0]) {
				t.Errorf("request %s answered differently: %s and %s", id, vs[0], v)
			}
		}
	}
	levels := e.levels(ctx, t)
	for s := range skus {
		for _, wh := range whs {
			k := fmt.Sprintf("SKU-%d-%s/%s", s, e.nonce, wh)
			lv := levels[k]
			if accepted[k] > stock {
				t.Errorf("%s: %d units accepted, stock %d: oversold", k, accepted[k], stock)
			}
			if lv.Reserved != accepted[k] || lv.Available != stock-accepted[k] || lv.OnHand != stock {
				t.Errorf("%s: ledger on hand %d reserved %d available %d, accepted %d of %d", k, lv.OnHand, lv.Reserved, lv.Available, accepted[k], stock)
			}
		}
	}
	st1, st2 := p1.Stats(), p2.Stats()
	if st1.Aborts+st2.Aborts == 0 || failed.Load() == 0 {
		t.Errorf("no transaction aborted (%d produce requests failed): the case does not test aborts", failed.Load())
	}
	if nRej == 0 {
		t.Error("no request rejected: the case does not compete for the last units")
	}
	t.Logf("requests %d (distinct %d), accepted %d, rejected %d, units accepted %v; transactions committed %d+%d, aborted %d+%d; replays answered %d+%d",
		total, len(times), nAcc, nRej, accepted, st1.Commits, st2.Commits, st1.Aborts, st2.Aborts, st1.ReservationsReplayed, st2.ReservationsReplayed)
}
