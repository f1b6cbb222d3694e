package stock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// ChangelogReservationPrefix keys one reservation's state in the stock
// changelog: "R/<reservation_id>". It is written whenever the reservation
// changes and tombstoned once it holds nothing and its last change left the
// deduplication window (until then a replayed request is answered from it).
const ChangelogReservationPrefix = event.ChangelogReservationPrefix

// reservation is one reservation request's state in the partition that
// owns its SKU. Result and Release are the result records as produced, so
// a replayed request gets byte-identical answers.
type reservation struct {
	ID        string            `json:"id"`
	OrderID   string            `json:"order_id"`
	SKU       event.SKU         `json:"sku"`
	Warehouse event.WarehouseID `json:"warehouse"`
	Qty       int64             `json:"qty"`  // requested
	Held      int64             `json:"held"` // still reserved: accepted - consumed - released
	TS        int64             `json:"ts"`   // request event time, Unix ms
	Expires   int64             `json:"expires"`
	// Done is the event time the reservation stopped holding stock
	// (rejected, consumed, released or expired); 0 while it holds.
	Done    int64           `json:"done,omitempty"`
	Result  json.RawMessage `json:"result"`
	Release json.RawMessage `json:"release,omitempty"`
}

func (r *reservation) key() Key { return Key{SKU: r.SKU, Warehouse: r.Warehouse} }

// orderKey finds the reservations a sale with an order id consumes.
type orderKey struct {
	order string
	key   Key
}

// reservations is a partition's reservation state.
type reservations struct {
	byID map[string]*reservation
	// holding indexes the reservations that hold stock by order and
	// ledger, for consumption by sales.
	holding map[orderKey][]*reservation
	// next is the earliest expiry among holding reservations (Unix ms),
	// 0 when none holds.
	next int64
}

func newReservations() reservations {
	return reservations{byID: make(map[string]*reservation), holding: make(map[orderKey][]*reservation)}
}

// index adds r to the holding index.
func (rs *reservations) index(r *reservation) {
	k := orderKey{r.OrderID, r.key()}
	rs.holding[k] = append(rs.holding[k], r)
	if rs.next == 0 || r.Expires < rs.next {
		rs.next = r.Expires
	}
}

// unindex removes r, which no longer holds stock, from the holding index.
func (rs *reservations) unindex(r *reservation) {
	k := orderKey{r.OrderID, r.key()}
	l := slices.DeleteFunc(rs.holding[k], func(x *reservation) bool { return x == r })
	if len(l) == 0 {
		delete(rs.holding, k)
	} else {
		rs.holding[k] = l
	}
}

// rebuild recomputes the index after a restore.
func (rs *reservations) rebuild() {
	clear(rs.holding)
	rs.next = 0
	ids := make([]string, 0, len(rs.byID))
	for id, r := range rs.byID {
		if r.Held > 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return compareResv(rs.byID[a], rs.byID[b]) })
	for _, id := range ids {
		rs.index(rs.byID[id])
	}
}

// compareResv orders reservations by request time, then id: sales consume
// the oldest first, the same way on every replay.
func compareResv(a, b *reservation) int {
	if a.TS != b.TS {
		if a.TS < b.TS {
			return -1
		}
		return 1
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// errResultPartitions fails a transaction with reservations while the
// partition count of the results topic is unknown.
var errResultPartitions = errors.New("stock: partition count of " + kafka.TopicReservationResults + " unknown (topic missing?)")

// processReservation decides one reservation request (DESIGN §3
// invariant 4): the partition that owns the SKU is the single writer of its
// ledgers, so a reserve is accepted only if available stock covers it.
func (p *Processor) processReservation(ctx context.Context, tx *kafka.Txn, t *task, r *kgo.Record, now time.Time) {
	st := t.st
	var rq event.Reservation
	err := p.cfg.Checker.CheckSize(len(r.Value))
	if err == nil {
		if err = event.DecodeReservation(r.Value, &rq); err == nil {
			err = p.cfg.Checker.CheckReservation(&rq, now)
		}
	}
	if err != nil {
		p.deadLetterAs(ctx, tx, r, event.TypeNameReservation, err)
		return
	}
	if p.resultParts.Load() <= 0 {
		tx.Fail(errResultPartitions)
		return
	}
	key := Key{SKU: rq.SKU, Warehouse: rq.Warehouse}
	tsMS := rq.TS.UnixMilli()
	res := st.resv.byID[rq.ReservationID]
	switch rq.Kind {
	case event.ReservationReserve:
		if res != nil { // a replay: the same answer, nothing reserved again
			p.produceResult(ctx, tx, res.OrderID, res.Result)
			p.resvDup.Add(1)
			break
		}
		res = &reservation{ID: rq.ReservationID, OrderID: rq.OrderID, SKU: rq.SKU, Warehouse: rq.Warehouse, Qty: rq.Qty, TS: tsMS}
		out := event.ReservationResult{ReservationID: rq.ReservationID, OrderID: rq.OrderID, SKU: rq.SKU, Warehouse: rq.Warehouse,
			Qty: rq.Qty, TS: rq.TS}
		lv := st.levels[key]
		var avail int64
		if lv != nil {
			avail = lv.Available
		}
		if avail >= rq.Qty {
			lv = p.level(t, key) // marks it changed
			lv.touch(tsMS)
			lv.Reserved += rq.Qty
			lv.Available = lv.OnHand - lv.Reserved
			res.Held, res.Expires = rq.Qty, tsMS+p.cfg.ReservationTTL.Milliseconds()
			out.Status, out.Available = event.ReservationAccepted, lv.Available
			st.resv.index(res)
			st.win.available(key, lv.LastEventTS, lv.Available)
			p.resvAccepted.Add(1)
		} else {
			res.Done = tsMS
			out.Status, out.Available, out.Reason = event.ReservationRejected, avail, event.ResultInsufficientStock
			p.resvRejected.Add(1)
		}
		res.Result = encodeResult(&out)
		st.resv.byID[res.ID] = res
		t.resvDirty[res.ID] = res
		p.produceResult(ctx, tx, res.OrderID, res.Result)
	case event.ReservationRelease:
		if res == nil || res.SKU != rq.SKU || res.Warehouse != rq.Warehouse {
			out := event.ReservationResult{ReservationID: rq.ReservationID, OrderID: rq.OrderID, SKU: rq.SKU, Warehouse: rq.Warehouse,
				Qty: rq.Qty, Status: event.ReservationRejected, Reason: event.ResultUnknownReservation, TS: rq.TS}
			if lv := st.levels[key]; lv != nil {
				out.Available = lv.Available
			}
			p.produceResult(ctx, tx, rq.OrderID, encodeResult(&out))
			p.resvRejected.Add(1)
			break
		}
		if res.Release != nil { // a replay, or released already by expiry
			p.produceResult(ctx, tx, res.OrderID, res.Release)
			p.resvDup.Add(1)
			break
		}
		p.releaseResv(t, res, tsMS, rq.TS, "")
		p.produceResult(ctx, tx, res.OrderID, res.Release)
	}
	st.streamTime = max(st.streamTime, tsMS)
	p.expire(ctx, tx, t)
}

// releaseResv gives back what res still holds and records the release
// result (reason "" on request, "expired" by the TTL).
func (p *Processor) releaseResv(t *task, res *reservation, tsMS int64, ts time.Time, reason string) {
	st := t.st
	key := res.key()
	freed := res.Held
	var avail int64
	if freed > 0 {
		lv := p.level(t, key)
		lv.touch(tsMS)
		lv.Reserved -= freed
		lv.Available = lv.OnHand - lv.Reserved
		avail = lv.Available
		st.resv.unindex(res)
		st.win.available(key, lv.LastEventTS, lv.Available)
		res.Held, res.Done = 0, tsMS
	} else if lv := st.levels[key]; lv != nil {
		avail = lv.Available
	}
	out := event.ReservationResult{ReservationID: res.ID, OrderID: res.OrderID, SKU: res.SKU, Warehouse: res.Warehouse,
		Qty: freed, Status: event.ReservationReleased, Available: avail, Reason: reason, TS: ts}
	res.Release = encodeResult(&out)
	t.resvDirty[res.ID] = res
	p.resvReleased.Add(1)
}

// consume lets a sale of qty units for order ship from the reservations of
// (order, key), oldest first: each gives up min(what is left of the sale,
// what it holds). Called before the sale is applied to lv.
func (p *Processor) consume(t *task, lv *Level, key Key, order string, qty, tsMS int64) {
	st := t.st
	k := orderKey{order, key}
	l := st.resv.holding[k]
	if len(l) == 0 {
		return
	}
	slices.SortFunc(l, compareResv)
	for _, res := range slices.Clone(l) {
		if qty == 0 {
			break
		}
		n := min(qty, res.Held)
		qty -= n
		res.Held -= n
		lv.Reserved -= n
		if res.Held == 0 {
			res.Done = tsMS
			st.resv.unindex(res)
		}
		t.resvDirty[res.ID] = res
	}
	lv.Available = lv.OnHand - lv.Reserved
}

// expire releases, in event time, the reservations whose TTL the
// partition's stream time has passed, and emits their results.
func (p *Processor) expire(ctx context.Context, tx *kafka.Txn, t *task) {
	st := t.st
	if st.resv.next == 0 || st.streamTime < st.resv.next {
		return
	}
	var due []*reservation
	for _, l := range st.resv.holding {
		for _, res := range l {
			if res.Expires <= st.streamTime {
				due = append(due, res)
			}
		}
	}
	slices.SortFunc(due, func(a, b *reservation) int {
		if a.Expires != b.Expires {
			return int(min(max(a.Expires-b.Expires, -1), 1))
		}
		return compareResv(a, b)
	})
	for _, res := range due {
		p.releaseResv(t, res, res.Expires, time.UnixMilli(res.Expires).UTC(), event.ResultExpired)
		p.produceResult(ctx, tx, res.OrderID, res.Release)
	}
	st.resv.next = 0
	for _, l := range st.resv.holding {
		for _, res := range l {
			if st.resv.next == 0 || res.Expires < st.resv.next {
				st.resv.next = res.Expires
			}
		}
	}
}

func encodeResult(r *event.ReservationResult) []byte {
	b, err := json.Marshal(r)
	if err != nil { // strings, integers and a time always encode
		panic(fmt.Sprintf("stock: encode reservation result: %v", err))
	}
	return b
}

// produceResult writes a result keyed by order id to the partition that
// Kafka's default partitioner (murmur2 of the key, as kgo's
// StickyKeyPartitioner and the Java client) would choose: the pipeline's
// client partitions manually, and routing, which owns the order, reads the
// partition of the order id.
func (p *Processor) produceResult(ctx context.Context, tx *kafka.Txn, orderID string, value []byte) {
	n := p.resultParts.Load()
	if n <= 0 {
		tx.Fail(errResultPartitions)
		return
	}
	p.produce(ctx, tx, &kgo.Record{Topic: kafka.TopicReservationResults, Partition: ResultPartition(orderID, n),
		Key: []byte(orderID), Value: value})
}

// ResultPartition is the partition of stockflow.reservation-results.v1
// (with n partitions) that holds the results of orderID: Kafka's default
// partitioner on the order id (kafka.KeyPartition).
func ResultPartition(orderID string, n int32) int32 {
	return kafka.KeyPartition([]byte(orderID), n)
}

// learnResultPartitions asks the cluster, once, how many partitions the
// results topic has.
func (p *Processor) learnResultPartitions(ctx context.Context) {
	if p.resultParts.Load() > 0 {
		return
	}
	md, err := kadm.NewClient(p.sess.Client()).ListTopics(ctx, kafka.TopicReservationResults)
	if err != nil {
		p.log.Warn("partitions of the reservation results topic unknown", "err", err)
		return
	}
	if d, ok := md[kafka.TopicReservationResults]; ok && d.Err == nil && len(d.Partitions) > 0 {
		p.resultParts.Store(int32(len(d.Partitions)))
	}
}

// forgetReservations drops reservations that hold nothing and whose last
// change is older than cutoff, and queues their tombstones.
func forgetReservations(st *partition, cutoff int64) {
	for id, res := range st.resv.byID {
		if res.Held == 0 && res.Done < cutoff {
			delete(st.resv.byID, id)
			st.forgotten = append(st.forgotten, ChangelogReservationPrefix+id)
		}
	}
}
