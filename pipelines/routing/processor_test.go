package routing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/testenv"
	"github.com/stockflow/stockflow/pipelines/routing"
	"github.com/stockflow/stockflow/pipelines/stock"
)

// procT0 is the event time the processor tests start at.
var procT0 = time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC)

// procEnv is a kfake cluster with the topic catalogue, and the stock and
// routing pipelines run against it as separate instances.
type procEnv struct {
	kc    kafka.Config
	opts  []kgo.Opt
	cl    *kgo.Client
	nonce string
	whs   []routing.Warehouse
}

func newProcEnv(ctx context.Context, t *testing.T, partitions int32) *procEnv {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "8388608"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := testenv.Report("kafka: kfake in-process broker (github.com/twmb/franz-go/pkg/kfake) (pipelines/routing)"); err != nil {
		t.Fatal(err)
	}
	kc := kafka.Config{Brokers: c.ListenAddrs(), ClientID: "routing-test"}
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
	return &procEnv{kc: kc, opts: opts, cl: cl, nonce: strconv.FormatInt(time.Now().UnixNano(), 36),
		whs: []routing.Warehouse{
			{ID: "WH1", Region: "us-east", Country: "US", Lat: 40.71, Lon: -74.01},
			{ID: "WH2", Region: "us-west", Country: "US", Lat: 34.05, Lon: -118.24},
			{ID: "WH3", Region: "us-central", Country: "US", Lat: 41.88, Lon: -87.63},
		}}
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// run starts fn in the background until the returned stop is called;
// stop fails t if fn failed.
func run(ctx context.Context, t *testing.T, name string, fn func(context.Context) error) func() {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fn(runCtx) }()
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func (e *procEnv) startStock(ctx context.Context, t *testing.T, id string) func() {
	t.Helper()
	known := map[event.WarehouseID]struct{}{}
	for _, w := range e.whs {
		known[w.ID] = struct{}{}
	}
	p, err := stock.New(stock.Config{
		Kafka: e.kc, Group: "stock-" + e.nonce, TransactionalID: "stock-" + e.nonce + "-" + id,
		Checker:   event.Checker{Warehouses: known, MaxFuture: time.Hour},
		Now:       func() time.Time { return procT0.Add(30 * 24 * time.Hour) },
		IdleFlush: -1,
	}, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return run(ctx, t, "stock "+id, p.Run)
}

func (e *procEnv) startRouting(ctx context.Context, t *testing.T, id string) (*routing.Processor, func()) {
	t.Helper()
	rc := routing.DefaultConfig(e.whs)
	rc.Batch.WindowMs = 30
	p, err := routing.NewProcessor(routing.ProcessorConfig{
		Kafka: e.kc, Router: rc, Group: "routing-" + e.nonce, TransactionalID: "routing-" + e.nonce + "-" + id,
	}, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, run(ctx, t, "routing "+id, p.Run)
}

func (e *procEnv) produce(ctx context.Context, t *testing.T, topic, key string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: b}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readAll reads every committed record of topic up to its end now.
func (e *procEnv) readAll(ctx context.Context, t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	adm := kadm.NewClient(e.cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(e.opts, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	var out []*kgo.Record
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %v", topic, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

// finals reads routing.v1 and returns every decision by order id.
func (e *procEnv) decisions(ctx context.Context, t *testing.T) map[string][]event.RoutingDecision {
	t.Helper()
	out := map[string][]event.RoutingDecision{}
	for _, r := range e.readAll(ctx, t, kafka.TopicRouting) {
		var d event.RoutingDecision
		if err := json.Unmarshal(r.Value, &d); err != nil {
			t.Fatalf("routing record %s: %v", r.Value, err)
		}
		if string(r.Key) != d.OrderID {
			t.Errorf("decision keyed %q, want its order id %q", r.Key, d.OrderID)
		}
		out[d.OrderID] = append(out[d.OrderID], d)
	}
	return out
}

func countFinal(ds map[string][]event.RoutingDecision) int {
	n := 0
	for _, l := range ds {
		for _, d := range l {
			if d.Final {
				n++
			}
		}
	}
	return n
}

// TestNoOversell is DESIGN §3 invariant 4 under contention: two routing
// instances, over four partitions, route orders for the last units of
// three SKUs, which two stock instances hold. The contention is made
// certain: the stock pipeline is stopped once it has applied the counts,
// the orders are put on stockflow.accepted.v1 as the stock pipeline would,
// and both routing instances decide their share on the same picture of
// the stock before the stock pipeline is back to answer their
// reservations. Half-way through, one routing instance stops and the other
// restores its partitions, orders awaiting results included.
//
// Every order must end in exactly one final decision; no (SKU, warehouse)
// may have more units routed than it held, or more reserved than on hand;
// every unit a final decision ships is reserved by an accepted reservation
// of that decision, every failed attempt's accepted reservations are
// released, and the ledgers end holding reserved exactly what the final
// decisions ship.
func TestNoOversell(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	e := newProcEnv(ctx, t, 4)
	n := e.nonce
	skus := []event.SKU{event.SKU("A-" + n), event.SKU("B-" + n), event.SKU("C-" + n)}
	onHand := map[string]int64{}
	for i, sku := range skus {
		for j, wh := range e.whs {
			q := int64((i+2*j)%4 + 1)
			onHand[string(sku)+"/"+string(wh.ID)] = q
			e.produce(ctx, t, kafka.TopicStock, string(sku), event.Stock{
				EventID: fmt.Sprintf("count-%s-%s", sku, wh.ID), TS: procT0, SKU: sku, Warehouse: wh.ID,
				Kind: event.KindCount, Qty: q,
			})
		}
	}
	var supply int64
	for _, q := range onHand {
		supply += q
	}
	stop1, stop2 := e.startStock(ctx, t, "1"), e.startStock(ctx, t, "2")
	e.waitLevels(ctx, t, func(lv map[string]event.StockLevel) bool {
		for k, q := range onHand {
			if lv[k].OnHand != q {
				return false
			}
		}
		return true
	})
	stop1()
	stop2()

	p1, stopRouting1 := e.startRouting(ctx, t, "1")
	p2, _ := e.startRouting(ctx, t, "2")
	waitFor(ctx, t, "both routing instances hold partitions", func() bool {
		return p1.Stats().Partitions > 0 && p2.Stats().Partitions > 0
	})
	r := rand.New(rand.NewPCG(1, 2))
	const orders = 80
	var demand int64
	points := [][2]float64{{40.7, -74.0}, {34.1, -118.3}, {41.9, -87.6}, {29.8, -95.4}, {47.6, -122.3}}
	burst := func(from, to int) {
		t.Helper()
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			id := fmt.Sprintf("ORD-%d-%s", i, n)
			var lines []event.OrderLine
			for _, k := range r.Perm(len(skus))[:1+r.IntN(2)] {
				q := int64(1 + r.IntN(2))
				demand += q
				lines = append(lines, event.OrderLine{SKU: skus[k], Qty: q})
			}
			pt := points[r.IntN(len(points))]
			ts := procT0.Add(time.Hour + time.Duration(i)*time.Second)
			b, err := json.Marshal(event.Order{
				EventID: "evt-" + id, TS: ts, OrderID: id, Lines: lines,
				ShipTo:       event.Address{PostalCode: "10001", Country: "US", Lat: pt[0], Lon: pt[1]},
				ServiceLevel: "standard", PromisedBy: ts.Add(7 * 24 * time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			// As the stock pipeline writes an accepted order: in the
			// partition of its key, with its event type.
			recs = append(recs, &kgo.Record{Topic: kafka.TopicAccepted, Key: []byte(id), Value: b,
				Headers: []kgo.RecordHeader{{Key: event.HeaderEventType, Value: []byte(event.TypeOrder.String())}}})
		}
		if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	burst(0, orders/2)
	waitFor(ctx, t, "both routing instances commit reservations", func() bool {
		return p1.Stats().Reserved > 0 && p2.Stats().Reserved > 0
	})
	e.startStock(ctx, t, "1")
	e.startStock(ctx, t, "2")
	// One routing instance leaves once some orders are decided.
	for countFinal(e.decisions(ctx, t)) < orders/8 {
		if ctx.Err() != nil {
			t.Fatal("no decisions before the deadline")
		}
	}
	stopRouting1()
	burst(orders/2, orders)
	if demand <= supply {
		t.Fatalf("the test needs contention: demand %d, supply %d", demand, supply)
	}

	// Every order gets its final decision (asking the broker back to
	// back, under the test's deadline).
	var ds map[string][]event.RoutingDecision
	for {
		ds = e.decisions(ctx, t)
		if countFinal(ds) >= orders {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of %d orders have a final decision", countFinal(ds), orders)
		}
	}
	routed := map[string]int64{}
	backorders := 0
	for i := range orders {
		id := fmt.Sprintf("ORD-%d-%s", i, n)
		var final []event.RoutingDecision
		ids := map[string]bool{}
		for _, d := range ds[id] {
			if ids[d.DecisionID] {
				t.Errorf("order %s: decision %s twice", id, d.DecisionID)
			}
			ids[d.DecisionID] = true
			if err := d.CheckTotal(1e-9); err != nil {
				t.Error(err)
			}
			if d.Final {
				final = append(final, d)
			}
		}
		if len(final) != 1 {
			t.Errorf("order %s: %d final decisions, want exactly 1", id, len(final))
			continue
		}
		switch f := final[0]; f.Status {
		case event.RoutingRouted, event.RoutingSplit:
			for _, a := range f.Assignments {
				routed[string(a.SKU)+"/"+string(a.Warehouse)] += a.Qty
			}
		case event.RoutingBackordered:
			backorders++
		default:
			t.Errorf("order %s: final status %s", id, f.Status)
		}
	}
	if backorders == 0 {
		t.Errorf("demand %d exceeds supply %d, yet no order was backordered", demand, supply)
	}
	for k, q := range routed {
		if q > onHand[k] {
			t.Errorf("oversell: %d units of %s routed, %d on hand", q, k, onHand[k])
		}
	}

	// Every final shipment is backed by accepted reservations of its own
	// attempt; every failed attempt's accepted reservations are released
	// (their releases may still be on their way when the last final
	// decision is out, so this is awaited too).
	var rejected int
	var problems []string
	for {
		accepted := map[string]int64{}
		released := map[string]bool{}
		rejected, problems = 0, nil
		for _, rec := range e.readAll(ctx, t, kafka.TopicReservationResults) {
			var res event.ReservationResult
			if err := json.Unmarshal(rec.Value, &res); err != nil {
				t.Fatal(err)
			}
			switch res.Status {
			case event.ReservationAccepted:
				accepted[res.ReservationID] = res.Qty
			case event.ReservationReleased:
				released[res.ReservationID] = true
			case event.ReservationRejected:
				rejected++
			}
		}
		for id, l := range ds {
			for _, d := range l {
				want := map[string]int64{}
				for _, a := range d.Assignments {
					want[routing.ReservationID(id, a.SKU, a.Warehouse, d.Attempt)] += a.Qty
				}
				for rid, q := range want {
					switch {
					case d.Final:
						if accepted[rid] != q {
							t.Fatalf("final decision %s ships %d under %s, accepted %d", d.DecisionID, q, rid, accepted[rid])
						}
					case accepted[rid] > 0 && !released[rid]:
						problems = append(problems, fmt.Sprintf("failed attempt %s: reservation %s accepted and not released", d.DecisionID, rid))
					}
				}
			}
		}
		if len(problems) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("before the deadline: %v", problems)
		}
	}
	t.Logf("orders %d, demand %d, supply %d: %d backordered, %d reservations rejected (re-routed)", orders, demand, supply, backorders, rejected)
	t.Logf("instance 1: %+v", p1.Stats())
	t.Logf("instance 2: %+v", p2.Stats())
	if rejected == 0 {
		t.Error("no reservation was rejected: the instances never competed, so the test proved nothing")
	}

	// The ledgers agree: what they hold reserved is what the final
	// decisions ship, and never more than on hand.
	e.waitLevels(ctx, t, func(lv map[string]event.StockLevel) bool {
		ok := true
		for k, q := range onHand {
			l := lv[k]
			if l.Reserved > l.OnHand || l.Available < 0 {
				t.Fatalf("ledger %s: on hand %d, reserved %d, available %d", k, l.OnHand, l.Reserved, l.Available)
			}
			if l.OnHand != q || l.Reserved != routed[k] {
				ok = false
			}
		}
		return ok
	})

	// What-if, on the settled ledgers: an order for one unit of the first
	// SKU ships from a warehouse that still has one, or waits when none
	// has; asking reserves nothing.
	var left int64
	for k, l := range e.levels(ctx, t) {
		if strings.HasPrefix(k, string(skus[0])+"/") {
			left += l.Available
		}
	}
	before := len(e.readAll(ctx, t, kafka.TopicReservations))
	wi, err := p2.WhatIf(ctx, &event.Order{EventID: "what-if", TS: procT0.Add(2 * time.Hour), OrderID: "WHATIF-" + n,
		Lines:  []event.OrderLine{{SKU: skus[0], Qty: 1}},
		ShipTo: event.Address{PostalCode: "10001", Country: "US", Lat: 40.7, Lon: -74.0}, ServiceLevel: "standard",
		PromisedBy: procT0.Add(9 * 24 * time.Hour)})
	switch {
	case err != nil:
		t.Fatalf("what-if: %v", err)
	case wi.Final:
		t.Errorf("what-if decision %+v is final", wi)
	case left == 0 && (wi.Status != event.RoutingBackordered || wi.Reason != "no_stock"):
		t.Errorf("what-if with no %s left: %+v; want a backorder for no_stock", skus[0], wi)
	case left > 0 && wi.Status != event.RoutingRouted:
		t.Errorf("what-if with %d of %s left: %+v; want it routed", left, skus[0], wi)
	}
	if after := len(e.readAll(ctx, t, kafka.TopicReservations)); after != before {
		t.Errorf("what-if produced %d reservation requests", after-before)
	}
	t.Logf("what-if with %d units left: %s %s", left, wi.Status, wi.Reason)
}

// waitFor polls cond every 10 ms until it holds, failing t at the
// deadline.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting until %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// waitLevels reads the ledgers back to back until ok accepts them.
func (e *procEnv) waitLevels(ctx context.Context, t *testing.T, ok func(map[string]event.StockLevel) bool) {
	t.Helper()
	for {
		lv := e.levels(ctx, t)
		if ok(lv) {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("ledgers before the deadline: %v", lv)
		}
	}
}

// levels reads the latest ledger records by "sku/warehouse".
func (e *procEnv) levels(ctx context.Context, t *testing.T) map[string]event.StockLevel {
	t.Helper()
	out := map[string]event.StockLevel{}
	for _, r := range e.readAll(ctx, t, kafka.TopicStockChangelog) {
		if r.Value == nil || !bytes.HasPrefix(r.Key, []byte(event.ChangelogLevelPrefix)) {
			continue
		}
		var lv event.StockLevel
		if err := json.Unmarshal(r.Value, &lv); err != nil {
			t.Fatalf("changelog record %s: %v", r.Key, err)
		}
		out[string(lv.SKU)+"/"+string(lv.Warehouse)] = lv
	}
	return out
}
