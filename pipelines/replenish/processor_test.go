package replenish

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/crashtest"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/kafka/kfaketest"
	"github.com/stockflow/stockflow/internal/testenv"
)

// cluster is a kfake broker with the stockflow topics (3 partitions) and a
// client on it.
type cluster struct {
	c    *kfake.Cluster
	kc   kafka.Config
	cl   *kgo.Client
	opts []kgo.Opt
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := testenv.Report("kafka: kfake in-process broker (github.com/twmb/franz-go/pkg/kfake) (pipelines/replenish)"); err != nil {
		t.Fatal(err)
	}
	kc := kafka.Config{Brokers: c.ListenAddrs(), ClientID: "replenish-test"}
	opts, err := kc.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if _, err := kafka.EnsureTopics(t.Context(), kadm.NewClient(cl), kafka.TopicsConfig{Partitions: 3}.Specs(), 1); err != nil {
		t.Fatal(err)
	}
	return &cluster{c: c, kc: kc, cl: cl, opts: opts}
}

// input is one accepted record as the stock pipeline writes it.
type input struct {
	sku, wh string
	ts      time.Time
	typ     event.Type
	kind    event.StockKind // stock only
	qty     int64
	ref     string
	onHand  int64
}

func (in input) record(id int) *kgo.Record {
	var v []byte
	var err error
	if in.typ == event.TypeSale {
		v, err = json.Marshal(event.Sale{EventID: "e" + strconv.Itoa(id), TS: in.ts, SKU: event.SKU(in.sku),
			Warehouse: event.WarehouseID(in.wh), Qty: in.qty, OrderID: "", Channel: "store", UnitPrice: 2, Currency: "EUR"})
	} else {
		v, err = json.Marshal(event.Stock{EventID: "e" + strconv.Itoa(id), TS: in.ts, SKU: event.SKU(in.sku),
			Warehouse: event.WarehouseID(in.wh), Kind: in.kind, Qty: in.qty, Ref: in.ref})
	}
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Topic: kafka.TopicAccepted, Key: []byte(in.sku), Value: v, Headers: []kgo.RecordHeader{
		{Key: event.HeaderEventType, Value: []byte(in.typ.String())},
		{Key: event.HeaderOnHand, Value: strconv.AppendInt(nil, in.onHand, 10)},
	}}
}

func (c *cluster) produce(t *testing.T, rs ...*kgo.Record) {
	t.Helper()
	if err := c.cl.ProduceSync(t.Context(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// reorders reads stockflow.reorders.v1 (read_committed) to its end.
func (c *cluster) reorders(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	ctx := t.Context()
	adm := kadm.NewClient(c.cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(c.opts), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	got := map[int32]int64{}
	for {
		done := true
		for p, end := range want {
			if got[p] < end {
				done = false
			}
		}
		if done {
			return out
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		fs := cl.PollFetches(pctx)
		stuck := pctx.Err() != nil
		cancel()
		if stuck {
			t.Fatalf("reading %s: stuck at %v of %v", topic, got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = r.Offset + 1
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
}

func decodeReorders(t *testing.T, rs []*kgo.Record) []event.Reorder {
	t.Helper()
	out := make([]event.Reorder, 0, len(rs))
	for _, r := range rs {
		var o event.Reorder
		if err := json.Unmarshal(r.Value, &o); err != nil {
			t.Fatalf("reorder record: %v", err)
		}
		if string(r.Key) != string(o.SKU) {
			t.Fatalf("reorder %s keyed %q", o.ReorderID, r.Key)
		}
		out = append(out, o)
	}
	return out
}

// start runs a processor until the test ends or stop is called.
func start(t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	p, err := New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once atomic.Bool
	stop = func() {
		if once.Swap(true) {
			return
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitCommitted waits until the group has committed to the end of the
// accepted, forecast and approval topics, asking the broker back to back
// (each answer is a round trip; nothing waits on the clock).
func (c *cluster) waitCommitted(t *testing.T, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.cl)
	for {
		lag, err := kafka.GroupLag(ctx, adm, group, InputTopics...)
		if err == nil && lag == 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("group %s did not catch up: lag %d, err %v", group, lag, err)
		}
	}
}

func testConfig(kc kafka.Config, group string) Config {
	pl := DefaultPlanning()
	pl.LeadPrior = LeadTime{MeanDays: 3, SDDays: 1}
	return Config{
		Kafka: kc, Group: group, TransactionalID: group,
		Planning: pl, MaxPollRecords: 40,
		Items: map[event.SKU]Item{"SKU-1": {SKU: "SKU-1", Supplier: "SUP-1", UnitCost: 4, CasePack: 6}},
	}
}

// TestReorderLifecycle follows one key: sales run the position down to
// the reorder point, a purchase reorder with a deterministic id follows,
// its receipt closes it (and teaches the lead time), and the next cycle
// gets the next id.
func TestReorderLifecycle(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.kc, "lifecycle")
	start(t, cfg)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	id, onHand := 0, int64(60)
	c.produce(t, input{sku: "SKU-1", wh: "WH1", ts: t0, typ: event.TypeStock, kind: event.KindCount, qty: 60, onHand: 60}.record(id))
	var rs []*kgo.Record
	for d := range 12 {
		ts := t0.Add(time.Duration(d+1) * 24 * time.Hour)
		onHand -= 5
		id++
		rs = append(rs, input{sku: "SKU-1", wh: "WH1", ts: ts, typ: event.TypeSale, qty: 5, onHand: onHand}.record(id))
	}
	c.produce(t, rs...)
	c.waitCommitted(t, cfg.Group)
	got := decodeReorders(t, c.reorders(t, kafka.TopicReorders))
	if len(got) != 1 {
		t.Fatalf("want one reorder after 12 days of 5 units a day from 60, got %d: %+v", len(got), got)
	}
	ro := got[0]
	if ro.ReorderID != "RO-SKU-1-WH1-1" || ro.Status != event.ReorderOrdered || ro.Kind != event.ReorderPurchase || ro.Supplier != "SUP-1" {
		t.Fatalf("first reorder: %+v", ro)
	}
	if ro.Qty <= 0 || ro.Qty%6 != 0 {
		t.Errorf("qty %d is not a positive multiple of the case pack 6", ro.Qty)
	}
	if float64(ro.InventoryPosition) > ro.ReorderPoint {
		t.Errorf("ordered at position %d above the reorder point %v", ro.InventoryPosition, ro.ReorderPoint)
	}
	if ro.DemandSource != "sales" || ro.ForecastRunID != "" || ro.DailyDemand < 4 || ro.DailyDemand > 6 {
		t.Errorf("demand: source %q run %q daily %v, want sales at about 5/day", ro.DemandSource, ro.ForecastRunID, ro.DailyDemand)
	}
	if ro.LeadTimeDays != 3 || ro.Target != string(TargetFillRate) || ro.Policy != string(PolicySS) {
		t.Errorf("explanation: lead %v target %s policy %s", ro.LeadTimeDays, ro.Target, ro.Policy)
	}

	// The receipt, two days after the order, closes it; sales go on and
	// the next cycle starts.
	rts := ro.TS.Add(48 * time.Hour)
	onHand += ro.Qty
	id++
	rs = []*kgo.Record{input{sku: "SKU-1", wh: "WH1", ts: rts, typ: event.TypeStock, kind: event.KindReceipt, qty: ro.Qty, ref: ro.ReorderID, onHand: onHand}.record(id)}
	for d := range 40 {
		onHand = max(onHand-5, 0)
		id++
		rs = append(rs, input{sku: "SKU-1", wh: "WH1", ts: rts.Add(time.Duration(d+1) * 24 * time.Hour), typ: event.TypeSale, qty: 5, onHand: onHand}.record(id))
	}
	c.produce(t, rs...)
	c.waitCommitted(t, cfg.Group)
	got = decodeReorders(t, c.reorders(t, kafka.TopicReorders))
	if len(got) < 3 {
		t.Fatalf("want received and a second reorder, got %+v", got)
	}
	if got[1].ReorderID != ro.ReorderID || got[1].Status != event.ReorderReceived || got[1].ReceivedQty != ro.Qty || !got[1].TS.Equal(rts) {
		t.Errorf("second record: want %s received %d at %v, got %+v", ro.ReorderID, ro.Qty, rts, got[1])
	}
	if got[2].ReorderID != "RO-SKU-1-WH1-2" || got[2].Status != event.ReorderOrdered {
		t.Errorf("third record: want RO-SKU-1-WH1-2 ordered, got %s %s", got[2].ReorderID, got[2].Status)
	}
	// The lead time learned from the one receipt (2 days) pulls the
	// estimate below the 3-day prior.
	if got[2].LeadTimeDays >= 3 {
		t.Errorf("lead time after a 2-day receipt: %v, want below the 3-day prior", got[2].LeadTimeDays)
	}
	checkInvariant5(t, got)
}

// checkInvariant5 checks the reorder records of one run with the crash
// harness's independent checker (internal/crashtest): every (id, status)
// once, cycles without gaps, never two purchase reorders of a key open.
func checkInvariant5(t *testing.T, recs []event.Reorder) {
	t.Helper()
	f := crashtest.NewFindings()
	c := crashtest.NewReorderChecker(f)
	for _, r := range recs {
		c.Add(r)
	}
	if err := f.Err(); err != nil {
		t.Error(err)
	}
}

// workload is 60 days of sales for 8 SKUs in 2 warehouses, with receipts
// for some of the reorders they trigger arriving only as what the test
// knows in advance would be: none (reorders time out as overdue and the
// next cycle starts), so the pipeline cycles through many reorders.
func workload() []*kgo.Record {
	rng := rand.New(rand.NewPCG(3, 5))
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var rs []*kgo.Record
	id := 0
	type k struct{ sku, wh string }
	onHand := map[k]int64{}
	for d := range 60 {
		for s := range 8 {
			for _, wh := range []string{"WH1", "WH2"} {
				key := k{fmt.Sprintf("SKU-%d", s), wh}
				if d == 0 {
					onHand[key] = 80
					id++
					rs = append(rs, input{sku: key.sku, wh: wh, ts: t0, typ: event.TypeStock, kind: event.KindCount, qty: 80, onHand: 80}.record(id))
				}
				if d%20 == 10 { // a replenishment from elsewhere (not a reorder)
					onHand[key] += 60
					id++
					rs = append(rs, input{sku: key.sku, wh: wh, ts: t0.Add(time.Duration(d)*24*time.Hour + time.Hour), typ: event.TypeStock, kind: event.KindReceipt, qty: 60, ref: "PO-X", onHand: onHand[key]}.record(id))
				}
				for range rng.IntN(4) {
					q := int64(1 + rng.IntN(4))
					onHand[key] = max(onHand[key]-q, 0)
					id++
					ts := t0.Add(time.Duration(d)*24*time.Hour + time.Duration(2+rng.IntN(20))*time.Hour)
					rs = append(rs, input{sku: key.sku, wh: wh, ts: ts, typ: event.TypeSale, qty: q, onHand: onHand[key]}.record(id))
				}
			}
		}
	}
	slices.SortStableFunc(rs, func(a, b *kgo.Record) int { return tsOf(a).Compare(tsOf(b)) })
	return rs
}

func tsOf(r *kgo.Record) time.Time {
	var v struct {
		TS time.Time `json:"ts"`
	}
	_ = json.Unmarshal(r.Value, &v)
	return v.TS
}

// TestReordersThroughAbortsAndRestarts runs the same workload twice: once
// undisturbed, once while the broker fails every third produce request
// that carries reorders (aborting those transactions) and with the
// processor stopped and replaced twice along the way. Exactly-once means
// the committed reorder records are the same, record for record, and
// invariant 5 holds in both.
func TestReordersThroughAbortsAndRestarts(t *testing.T) {
	rs := workload()
	run := func(faults bool) []event.Reorder {
		c := newCluster(t)
		cfg := testConfig(c.kc, "aborts")
		cfg.Items = nil
		failed := new(atomic.Int64)
		if faults {
			failed = kfaketest.FailProduces(t.Context(), t, c.c, c.cl, kafka.TopicReorders, func(n int64) bool { return n%3 == 1 })
		}
		third := len(rs) / 3
		stop := start(t, cfg)
		c.produce(t, rs[:third]...)
		if faults {
			c.waitCommitted(t, cfg.Group)
			stop() // a restart: the next instance restores from the changelog
			stop = start(t, cfg)
		}
		c.produce(t, rs[third:2*third]...)
		if faults {
			c.waitCommitted(t, cfg.Group)
			stop()
			stop = start(t, cfg)
		}
		c.produce(t, rs[2*third:]...)
		c.waitCommitted(t, cfg.Group)
		stop()
		if faults && failed.Load() == 0 {
			t.Fatal("no produce request failed: the fault injection did not hit")
		}
		return decodeReorders(t, c.reorders(t, kafka.TopicReorders))
	}
	want := run(false)
	got := run(true)
	if len(want) < 20 {
		t.Fatalf("the workload produced only %d reorder records; it should cycle many times", len(want))
	}
	checkInvariant5(t, want)
	checkInvariant5(t, got)
	key := func(r event.Reorder) string {
		b, _ := json.Marshal(r)
		return string(b)
	}
	ws, gs := map[string]int{}, map[string]int{}
	for _, r := range want {
		ws[key(r)]++
	}
	for _, r := range got {
		gs[key(r)]++
	}
	for k, n := range ws {
		if gs[k] != n {
			t.Errorf("record %s: %d times undisturbed, %d with aborts and restarts", k, n, gs[k])
		}
	}
	for k, n := range gs {
		if ws[k] == 0 {
			t.Errorf("record only with aborts and restarts (%d times): %s", n, k)
		}
	}
	t.Logf("%d reorder records, identical with and without aborts and restarts", len(want))
}

// TestSuggestApproveAndDeadLetter runs suggest mode: the reorder is only a
// suggestion until a planner's approval (with a changed quantity) orders
// it under the same id; an approval of an unknown id is dead-lettered with
// its reason, and the pipeline goes on.
func TestSuggestApproveAndDeadLetter(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.kc, "suggest")
	cfg.Planning.Classes = nil
	cfg.Planning.Global.Mode = ModeSuggest
	start(t, cfg)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	onHand := int64(60)
	rs := []*kgo.Record{input{sku: "SKU-1", wh: "WH1", ts: t0, typ: event.TypeStock, kind: event.KindCount, qty: 60, onHand: 60}.record(0)}
	for d := range 12 {
		onHand -= 5
		rs = append(rs, input{sku: "SKU-1", wh: "WH1", ts: t0.Add(time.Duration(d+1) * 24 * time.Hour), typ: event.TypeSale, qty: 5, onHand: onHand}.record(d+1))
	}
	c.produce(t, rs...)
	c.waitCommitted(t, cfg.Group)
	got := decodeReorders(t, c.reorders(t, kafka.TopicReorders))
	if len(got) != 1 || got[0].Status != event.ReorderSuggested || got[0].Mode != string(ModeSuggest) {
		t.Fatalf("want one suggestion, got %+v", got)
	}
	approval := func(id string, approve bool, qty int64) *kgo.Record {
		v, err := json.Marshal(event.Approval{ReorderID: id, SKU: "SKU-1", Warehouse: "WH1", Approve: approve, By: "planner", TS: t0.Add(13 * 24 * time.Hour), Qty: qty})
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: kafka.TopicApprovals, Key: []byte("SKU-1"), Value: v}
	}
	c.produce(t, approval("RO-SKU-1-WH1-9", true, 0), approval(got[0].ReorderID, true, 30))
	c.waitCommitted(t, cfg.Group)
	got = decodeReorders(t, c.reorders(t, kafka.TopicReorders))
	if len(got) != 2 || got[1].ReorderID != got[0].ReorderID || got[1].Status != event.ReorderOrdered ||
		got[1].Reason != reasonApproved || got[1].Qty != 30 {
		t.Fatalf("want the suggestion ordered on approval with qty 30, got %+v", got)
	}
	checkInvariant5(t, got)
	dlq := c.reorders(t, kafka.TopicDLQ)
	if len(dlq) != 1 {
		t.Fatalf("want the unknown approval dead-lettered, got %d DLQ records", len(dlq))
	}
	if r := string(header(dlq[0], event.HeaderReason)); r != string(event.ReasonInvalidValue) {
		t.Errorf("DLQ reason %q", r)
	}
	if src := string(header(dlq[0], event.HeaderSourceTopic)); src != kafka.TopicApprovals {
		t.Errorf("DLQ source topic %q", src)
	}
}

// TestLateralTransfer: WH1 holds months of cover, WH2 runs out within the
// horizon; the sweep proposes a transfer WH1 → WH2 (counted in transit at
// WH2 and reserved at WH1), and transfer_out then transfer_in with its ref
// close it.
func TestLateralTransfer(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.kc, "transfer")
	cfg.Regions = map[event.WarehouseID]string{"WH1": "EU", "WH2": "EU"}
	start(t, cfg)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	onHand := map[string]int64{"WH1": 400, "WH2": 30}
	var rs []*kgo.Record
	id := 0
	for wh, q := range onHand {
		id++
		rs = append(rs, input{sku: "SKU-1", wh: wh, ts: t0, typ: event.TypeStock, kind: event.KindCount, qty: q, onHand: q}.record(id))
	}
	for d := range 4 {
		for _, wh := range []string{"WH1", "WH2"} {
			onHand[wh] -= 4
			id++
			rs = append(rs, input{sku: "SKU-1", wh: wh, ts: t0.Add(time.Duration(d+1)*24*time.Hour + time.Duration(len(wh))*time.Minute), typ: event.TypeSale, qty: 4, onHand: onHand[wh]}.record(id))
		}
	}
	c.produce(t, rs...)
	c.waitCommitted(t, cfg.Group)
	var tr *event.Reorder
	for _, r := range decodeReorders(t, c.reorders(t, kafka.TopicReorders)) {
		if r.Kind == event.ReorderTransfer {
			tr = &r
			break
		}
	}
	if tr == nil {
		t.Fatal("no transfer proposed from 380 units at WH1 to WH2 running out at 4 a day")
	}
	if tr.FromWarehouse != "WH1" || tr.Warehouse != "WH2" || tr.Status != event.ReorderOrdered || tr.Qty <= 0 ||
		tr.TransferCost >= tr.ShortageCost || tr.ReorderID != "TO-SKU-1-WH1-WH2-1" {
		t.Fatalf("transfer: %+v", *tr)
	}
	ts := tr.TS.Add(2 * time.Hour)
	onHand["WH1"] -= tr.Qty
	onHand["WH2"] += tr.Qty
	c.produce(t,
		input{sku: "SKU-1", wh: "WH1", ts: ts, typ: event.TypeStock, kind: event.KindTransferOut, qty: tr.Qty, ref: tr.ReorderID, onHand: onHand["WH1"]}.record(100),
		input{sku: "SKU-1", wh: "WH2", ts: ts.Add(20 * time.Hour), typ: event.TypeStock, kind: event.KindTransferIn, qty: tr.Qty, ref: tr.ReorderID, onHand: onHand["WH2"]}.record(101))
	c.waitCommitted(t, cfg.Group)
	var closed bool
	for _, r := range decodeReorders(t, c.reorders(t, kafka.TopicReorders)) {
		if r.ReorderID == tr.ReorderID && r.Status == event.ReorderReceived {
			closed = r.ReceivedQty == tr.Qty && r.Reason == reasonTransferIn
		}
	}
	if !closed {
		t.Error("transfer_in did not close the transfer with its quantity")
	}
}
