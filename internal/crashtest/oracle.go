package crashtest

import (
	"fmt"
	"maps"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// RawTables maps each input topic to the ClickHouse table its accepted
// events land in.
var RawTables = map[string]string{
	event.TopicSales:     "sales",
	event.TopicStock:     "stock_movements",
	event.TopicOrders:    "orders",
	event.TopicCampaigns: "campaigns",
}

// Coord is where a record was read: the source coordinates that DLQ
// records, accepted records and raw rows carry.
type Coord struct {
	Topic     string
	Partition int32
	Offset    int64
}

func (c Coord) String() string { return fmt.Sprintf("%s/%d@%d", c.Topic, c.Partition, c.Offset) }

// Key identifies one ledger.
type Key struct {
	SKU       event.SKU
	Warehouse event.WarehouseID
}

func (k Key) String() string { return string(k.SKU) + "/" + string(k.Warehouse) }

// DayKey is one (SKU, warehouse, UTC day); Day counts days since the Unix
// epoch.
type DayKey struct {
	Key
	Day int64
}

func (d DayKey) String() string {
	return d.Key.String() + "/" + time.Unix(d.Day*86400, 0).UTC().Format(time.DateOnly)
}

// dayOf returns the UTC day of a Unix millisecond time.
func dayOf(ms int64) int64 {
	d := ms / (86400 * 1000)
	if ms < 0 && ms%(86400*1000) != 0 {
		d--
	}
	return d
}

// Oracle recomputes the pipeline's results from its input records alone.
// Feed it every record of the input topics with Add; the records of one
// topic-partition must come in offset order, the topics and partitions
// may interleave in any way.
//
// Its rules are DESIGN.md §3 and §6 read directly, not the pipeline's code:
//
//   - a record is rejected when Checker.CheckSize, the decoder of its
//     topic or the Checker's contextual check fails, with that reason;
//   - a valid record whose event_id was already accepted in the same
//     partition number is a duplicate_event (the first occurrence in the
//     topic-partition's offset order wins);
//   - on hand of a (SKU, warehouse) is its latest count (by ts, then
//     event_id) plus the deltas of accepted sales (-qty) and movements
//     (StockKind.Delta) with a ts strictly after that count, or the sum of
//     all deltas when it has no count;
//   - units sold per UTC day are the qty of the accepted sales of that day.
//
// Where the answer would depend on the order in which the pipeline merges
// the topics of a partition (one event_id on two topics), or on the edge
// of the deduplication window, the oracle cannot decide; it says so in
// Problems instead of guessing.
type Oracle struct {
	checker     event.Checker
	now         time.Time
	dedupWindow time.Duration

	records    int
	acceptedAt map[Coord]string // accepted record -> event id
	ids        map[string]Coord // accepted event id -> where it was read
	rejected   map[Coord]event.Reason
	byReason   map[event.Reason]int
	byTable    map[string]int
	seen       map[int32]map[string]seenID
	maxTS      map[Coord]int64 // Offset 0: latest accepted ts per topic-partition
	ledgers    map[Key]*ledger
	daily      map[DayKey]int64
	problems   []string
}

type seenID struct {
	at Coord
	ts int64
}

// ledger keeps every accepted on-hand event of one key; on hand follows
// from them whatever order they arrived in.
type ledger struct {
	hasCount bool
	countTS  int64
	countID  string
	countQty int64
	deltas   []delta
}

type delta struct{ ts, qty int64 }

func (l *ledger) count(ts int64, id string, qty int64) {
	if l.hasCount && (ts < l.countTS || (ts == l.countTS && id <= l.countID)) {
		return
	}
	l.hasCount, l.countTS, l.countID, l.countQty = true, ts, id, qty
}

func (l *ledger) onHand() int64 {
	var v int64
	if l.hasCount {
		v = l.countQty
	}
	for _, d := range l.deltas {
		if !l.hasCount || d.ts > l.countTS {
			v += d.qty
		}
	}
	return v
}

// NewOracle returns an oracle that knows the given warehouses (the
// registry the pipeline runs with), judges future timestamps against now
// with the default clock skew, and forgets event ids after dedupWindow of
// event time (the pipeline's default is 7 days).
func NewOracle(warehouses []event.WarehouseID, now time.Time, dedupWindow time.Duration) *Oracle {
	known := make(map[event.WarehouseID]struct{}, len(warehouses))
	for _, w := range warehouses {
		known[w] = struct{}{}
	}
	return &Oracle{
		checker:     event.Checker{Warehouses: known},
		now:         now,
		dedupWindow: dedupWindow,
		acceptedAt:  make(map[Coord]string),
		ids:         make(map[string]Coord),
		rejected:    make(map[Coord]event.Reason),
		byReason:    make(map[event.Reason]int),
		byTable:     make(map[string]int),
		seen:        make(map[int32]map[string]seenID),
		maxTS:       make(map[Coord]int64),
		ledgers:     make(map[Key]*ledger),
		daily:       make(map[DayKey]int64),
	}
}

// Add judges one input record.
func (o *Oracle) Add(topic string, partition int32, offset int64, value []byte) {
	o.records++
	at := Coord{Topic: topic, Partition: partition, Offset: offset}
	if err := o.checker.CheckSize(len(value)); err != nil {
		o.reject(at, err)
		return
	}
	var (
		id   string
		ts   time.Time
		err  error
		sale event.Sale
		stk  event.Stock
	)
	switch topic {
	case event.TopicSales:
		if err = event.DecodeSale(value, &sale); err == nil {
			err = o.checker.CheckSale(&sale, o.now)
		}
		id, ts = sale.EventID, sale.TS
	case event.TopicStock:
		if err = event.DecodeStock(value, &stk); err == nil {
			err = o.checker.CheckStock(&stk, o.now)
		}
		id, ts = stk.EventID, stk.TS
	case event.TopicOrders:
		var v event.Order
		if err = event.DecodeOrder(value, &v); err == nil {
			err = o.checker.CheckOrder(&v, o.now)
		}
		id, ts = v.EventID, v.TS
	case event.TopicCampaigns:
		var v event.Campaign
		if err = event.DecodeCampaign(value, &v); err == nil {
			err = o.checker.CheckCampaign(&v, o.now)
		}
		id, ts = v.EventID, v.TS
	default:
		o.problem("record %s: not an input topic", at)
		return
	}
	if err != nil {
		o.reject(at, err)
		return
	}
	tsMS := ts.UnixMilli()
	tp := Coord{Topic: topic, Partition: partition}
	seen := o.seen[partition]
	if seen == nil {
		seen = make(map[string]seenID)
		o.seen[partition] = seen
	}
	if prev, dup := seen[id]; dup {
		if prev.at.Topic != topic {
			o.problem("event id %s at %s and %s: which one the pipeline keeps depends on how it merges the topics", id, prev.at, at)
		}
		if o.maxTS[tp]-prev.ts > o.dedupWindow.Milliseconds()-24*time.Hour.Milliseconds() {
			o.problem("event id %s at %s repeats %s near the edge of the %s deduplication window", id, at, prev.at, o.dedupWindow)
		}
		o.rejected[at] = event.ReasonDuplicateEvent
		o.byReason[event.ReasonDuplicateEvent]++
		return
	}
	if prev, ok := o.ids[id]; ok {
		o.problem("event id %s accepted at %s and again at %s in another partition: it is in the raw tables twice", id, prev, at)
	}
	seen[id] = seenID{at: at, ts: tsMS}
	o.ids[id] = at
	o.acceptedAt[at] = id
	o.byTable[RawTables[topic]]++
	o.maxTS[tp] = max(o.maxTS[tp], tsMS)
	switch topic {
	case event.TopicSales:
		l := o.ledger(Key{SKU: sale.SKU, Warehouse: sale.Warehouse})
		l.deltas = append(l.deltas, delta{ts: tsMS, qty: -sale.Qty})
		o.daily[DayKey{Key: Key{SKU: sale.SKU, Warehouse: sale.Warehouse}, Day: dayOf(tsMS)}] += sale.Qty
	case event.TopicStock:
		l := o.ledger(Key{SKU: stk.SKU, Warehouse: stk.Warehouse})
		if stk.Kind == event.KindCount {
			l.count(tsMS, stk.EventID, stk.Qty)
		} else {
			l.deltas = append(l.deltas, delta{ts: tsMS, qty: stk.Kind.Delta(stk.Qty)})
		}
	}
}

func (o *Oracle) ledger(k Key) *ledger {
	l := o.ledgers[k]
	if l == nil {
		l = &ledger{}
		o.ledgers[k] = l
	}
	return l
}

func (o *Oracle) reject(at Coord, err error) {
	r := event.ReasonOf(err)
	if r == "" {
		o.problem("record %s: rejected without a reason: %v", at, err)
	}
	o.rejected[at] = r
	o.byReason[r]++
}

func (o *Oracle) problem(format string, args ...any) {
	o.problems = append(o.problems, fmt.Sprintf(format, args...))
}

// Records is the number of input records judged.
func (o *Oracle) Records() int { return o.records }

// Accepted is the number of accepted records.
func (o *Oracle) Accepted() int { return len(o.acceptedAt) }

// AcceptedIn is the number of accepted events whose raw table is table.
func (o *Oracle) AcceptedIn(table string) int { return o.byTable[table] }

// AcceptedID returns the event id of the record at c, if it is accepted.
func (o *Oracle) AcceptedID(c Coord) (string, bool) {
	id, ok := o.acceptedAt[c]
	return id, ok
}

// AcceptedAt returns where the accepted event id was read.
func (o *Oracle) AcceptedAt(id string) (Coord, bool) {
	c, ok := o.ids[id]
	return c, ok
}

// Rejected returns the reason the record at c must be dead-lettered with.
func (o *Oracle) Rejected(c Coord) (event.Reason, bool) {
	r, ok := o.rejected[c]
	return r, ok
}

// RejectedCount is the number of rejected records.
func (o *Oracle) RejectedCount() int { return len(o.rejected) }

// ByReason returns the rejected records per reason.
func (o *Oracle) ByReason() map[event.Reason]int { return maps.Clone(o.byReason) }

// Levels returns on hand per ledger.
func (o *Oracle) Levels() map[Key]int64 {
	out := make(map[Key]int64, len(o.ledgers))
	for k, l := range o.ledgers {
		out[k] = l.onHand()
	}
	return out
}

// DailyUnits returns the units sold per (SKU, warehouse, UTC day).
func (o *Oracle) DailyUnits() map[DayKey]int64 { return maps.Clone(o.daily) }

// Problems lists what the oracle could not decide; checks built on it are
// only sound when it is empty.
func (o *Oracle) Problems() []string { return o.problems }

// eachAccepted calls fn with every accepted record.
func (o *Oracle) eachAccepted(fn func(Coord, string)) {
	for c, id := range o.acceptedAt {
		fn(c, id)
	}
}

// eachRejected calls fn with every rejected record.
func (o *Oracle) eachRejected(fn func(Coord, event.Reason)) {
	for c, r := range o.rejected {
		fn(c, r)
	}
}
