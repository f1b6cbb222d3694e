package routing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// ViewTopics are what the view replicates, every partition of each: the
// stock ledgers (available stock and the reservations they count), the
// forecasts behind the opportunity cost, and the routing decisions that
// use up the warehouses' daily capacity.
var ViewTopics = []string{kafka.TopicStockChangelog, kafka.TopicForecasts, kafka.TopicRouting}

// flightTTL is how long a reservation the view has not yet seen in the
// stock changelog keeps counting against its stock: a safety net for a
// request the stock pipeline never records (dead-lettered, say). A
// reservation is normally seen within a transaction or two.
const flightTTL = 2 * time.Minute

// viewChunk is how many records the view applies under one lock.
const viewChunk = 256

// whKey is a (SKU, warehouse).
type whKey struct {
	sku event.SKU
	wh  event.WarehouseID
}

// flight is a reservation requested by this instance that the view has not
// yet seen in the stock changelog.
type flight struct {
	key whKey
	qty int64
	at  time.Time
}

// use is what one decision ships from the warehouses: packages and units
// per warehouse, on the UTC day of the decision.
type use struct {
	day      string
	packages map[event.WarehouseID][2]int64
}

// view is the routing instance's replica of what it decides on: the
// available stock of every (SKU, warehouse) from the stock changelog,
// the latest forecast of each, and the packages and units each warehouse
// has shipped per day from stockflow.routing.v1. It reads every partition
// of those topics (no consumer group), read_committed.
//
// It lags what the stock partitions know, so the instance's own requests
// count against the stock until the changelog shows them (flights), and
// its own final decisions against capacity until routing.v1 shows them.
// Staleness can only make a reservation fail (and the order re-route),
// never oversell: the stock partition that owns the SKU decides.
type view struct {
	cfg kafka.Config
	log *slog.Logger

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every poll applied
	pos       map[string]map[int32]int64
	avail     map[whKey]int64
	forecasts map[whKey]*event.Forecast
	used      map[string]map[event.WarehouseID][2]int64 // day → warehouse → packages, units
	flights   map[string]flight                         // reservation id → flight
	inFlight  map[whKey]int64
	own       map[string]use // decision id → its use, until routing.v1 shows it
	ownUsed   map[string]map[event.WarehouseID][2]int64
	dirty     map[whKey]struct{}
}

func newView(cfg kafka.Config, log *slog.Logger) *view {
	return &view{
		cfg: cfg, log: log, changed: make(chan struct{}),
		pos:   make(map[string]map[int32]int64),
		avail: make(map[whKey]int64), forecasts: make(map[whKey]*event.Forecast),
		used: make(map[string]map[event.WarehouseID][2]int64), flights: make(map[string]flight),
		inFlight: make(map[whKey]int64), own: make(map[string]use),
		ownUsed: make(map[string]map[event.WarehouseID][2]int64), dirty: make(map[whKey]struct{}),
	}
}

// run replicates ViewTopics until ctx is done.
func (v *view) run(ctx context.Context) error {
	opts, err := v.cfg.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumeTopics(ViewTopics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Markers move the position to the end of the log, which is what
		// waitFor compares with.
		kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return fmt.Errorf("routing view: create client: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollRecords(ctx, 10000)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			v.log.Warn("routing view: fetch error", "topic", t, "partition", p, "err", err)
		})
		// In chunks, so that the processor, which takes the lock for every
		// decision, never waits for a whole poll to be applied.
		var chunk []*kgo.Record
		flush := func() {
			v.mu.Lock()
			for _, r := range chunk {
				v.apply(r)
			}
			v.mu.Unlock()
			chunk = chunk[:0]
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if chunk = append(chunk, r); len(chunk) == viewChunk {
				flush()
			}
		})
		flush()
		v.mu.Lock()
		close(v.changed)
		v.changed = make(chan struct{})
		v.mu.Unlock()
	}
}

// apply folds one record into the view. Called with v.mu held.
func (v *view) apply(r *kgo.Record) {
	parts := v.pos[r.Topic]
	if parts == nil {
		parts = make(map[int32]int64)
		v.pos[r.Topic] = parts
	}
	parts[r.Partition] = r.Offset + 1
	if r.Attrs.IsControl() {
		return
	}
	switch r.Topic {
	case kafka.TopicStockChangelog:
		v.applyStock(r)
	case kafka.TopicForecasts:
		f := new(event.Forecast)
		if err := json.Unmarshal(r.Value, f); err != nil {
			v.log.Warn("routing view: skip undecodable forecast", "offset", r.Offset, "err", err)
			return
		}
		k := whKey{f.SKU, f.Warehouse}
		if old := v.forecasts[k]; old == nil || old.Cutoff <= f.Cutoff {
			v.forecasts[k] = f
			v.dirty[k] = struct{}{}
		}
	case kafka.TopicRouting:
		var d event.RoutingDecision
		if err := json.Unmarshal(r.Value, &d); err != nil {
			v.log.Warn("routing view: skip undecodable decision", "offset", r.Offset, "err", err)
			return
		}
		if own, ok := v.own[d.DecisionID]; ok {
			addUse(v.ownUsed, own, -1)
			delete(v.own, d.DecisionID)
		}
		if d.Final {
			addUse(v.used, useOf(&d), +1)
		}
	}
}

var availField = []byte(`"available":`)

// applyStock folds a stock changelog record: a ledger's available stock,
// or a reservation the ledgers now count.
func (v *view) applyStock(r *kgo.Record) {
	switch {
	case bytes.HasPrefix(r.Key, []byte(event.ChangelogLevelPrefix)):
		rest := string(r.Key[len(event.ChangelogLevelPrefix):])
		k, ok := splitKey(rest)
		if !ok {
			return
		}
		if r.Value == nil {
			delete(v.avail, k)
			v.dirty[k] = struct{}{}
			return
		}
		// The ledger's JSON is written by hand in a fixed order; reading
		// the one field needed is much cheaper than decoding it.
		i := bytes.Index(r.Value, availField)
		if i < 0 {
			return
		}
		b := r.Value[i+len(availField):]
		j := bytes.IndexAny(b, ",}")
		if j < 0 {
			return
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b[:j])), 10, 64)
		if err != nil {
			return
		}
		v.avail[k] = n
		v.dirty[k] = struct{}{}
	case bytes.HasPrefix(r.Key, []byte(event.ChangelogReservationPrefix)):
		v.land(string(r.Key[len(event.ChangelogReservationPrefix):]))
	}
}

// land stops counting flight id: the ledger records after it count it.
// Called with v.mu held.
func (v *view) land(id string) {
	f, ok := v.flights[id]
	if !ok {
		return
	}
	delete(v.flights, id)
	v.inFlight[f.key] -= f.qty
	if v.inFlight[f.key] == 0 {
		delete(v.inFlight, f.key)
	}
	v.dirty[f.key] = struct{}{}
}

// splitKey parses "<sku>/<warehouse>"; identifiers contain no slash.
func splitKey(s string) (whKey, bool) {
	i := len(s) - 1
	for i >= 0 && s[i] != '/' {
		i--
	}
	if i <= 0 || i == len(s)-1 {
		return whKey{}, false
	}
	return whKey{event.SKU(s[:i]), event.WarehouseID(s[i+1:])}, true
}

// useOf is what decision d ships, per warehouse.
func useOf(d *event.RoutingDecision) use {
	u := use{day: d.TS.UTC().Format(time.DateOnly), packages: make(map[event.WarehouseID][2]int64)}
	seen := make(map[int]bool)
	for _, a := range d.Assignments {
		x := u.packages[a.Warehouse]
		if !seen[a.Package] {
			seen[a.Package] = true
			x[0]++
		}
		x[1] += a.Qty
		u.packages[a.Warehouse] = x
	}
	return u
}

func addUse(m map[string]map[event.WarehouseID][2]int64, u use, sign int64) {
	day := m[u.day]
	if day == nil {
		day = make(map[event.WarehouseID][2]int64)
		m[u.day] = day
	}
	for wh, x := range u.packages {
		y := day[wh]
		y[0] += sign * x[0]
		y[1] += sign * x[1]
		day[wh] = y
	}
}

// waitFor blocks until the view has read every topic partition up to
// offsets (the committed ends the caller listed), or ctx is done.
func (v *view) waitFor(ctx context.Context, offsets kadm.ListedOffsets) error {
	for {
		v.mu.Lock()
		behind := false
		offsets.Each(func(o kadm.ListedOffset) {
			if o.Err == nil && v.pos[o.Topic][o.Partition] < o.Offset {
				behind = true
			}
		})
		ch := v.changed
		v.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("routing view: catching up: %w", context.Cause(ctx))
		case <-ch:
		}
	}
}

// reserve counts requests made by this instance against their stock until
// the changelog shows them.
func (v *view) reserve(rs []event.Reservation, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, r := range rs {
		k := whKey{r.SKU, r.Warehouse}
		v.flights[r.ReservationID] = flight{key: k, qty: r.Qty, at: now}
		v.inFlight[k] += r.Qty
		v.dirty[k] = struct{}{}
	}
}

// use counts this instance's decision d against its warehouses' capacity
// until routing.v1 shows it (as final or not: an attempt whose
// reservations fail is recorded as not final and uses nothing).
func (v *view) use(d *event.RoutingDecision) {
	if len(d.Assignments) == 0 {
		return
	}
	u := useOf(d)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.own[d.DecisionID] = u
	addUse(v.ownUsed, u, +1)
}

// pull calls fn for every key that changed since the last pull (all keys
// with all set), with its available stock net of flights and its latest
// forecast (nil when none), and drops flights older than flightTTL.
func (v *view) pull(now time.Time, all bool, fn func(k whKey, avail int64, f *event.Forecast)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for id, f := range v.flights {
		if now.Sub(f.at) > flightTTL {
			v.log.Warn("routing view: reservation never seen in the stock changelog; no longer counted", "reservation_id", id)
			v.land(id)
		}
	}
	if all {
		for k := range v.avail {
			v.dirty[k] = struct{}{}
		}
		for k := range v.forecasts {
			v.dirty[k] = struct{}{}
		}
	}
	for k := range v.dirty {
		fn(k, v.avail[k]-v.inFlight[k], v.forecasts[k])
	}
	clear(v.dirty)
}

// usageInto sets orders[i] and units[i] to what warehouse whs[i] has
// shipped on day, as the view knows it.
func (v *view) usageInto(day string, whs []Warehouse, orders, units []int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	used, own := v.used[day], v.ownUsed[day]
	for i := range whs {
		a, b := used[whs[i].ID], own[whs[i].ID]
		orders[i], units[i] = a[0]+b[0], a[1]+b[1]
	}
}

// withdraw forgets the flights and uses of an aborted transaction.
func (v *view) withdraw(flights, uses []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range flights {
		v.land(id)
	}
	for _, id := range uses {
		if own, ok := v.own[id]; ok {
			addUse(v.ownUsed, own, -1)
			delete(v.own, id)
		}
	}
}

// demandOf is the demand routing sees at a key on day from its latest
// forecast f: the forecast days from day on, and beyond them their
// average (a key without a forecast has no known demand, and so no
// opportunity cost).
func demandOf(f *event.Forecast, day string) Demand {
	if f == nil || len(f.Days) == 0 {
		return Demand{}
	}
	i := 0
	for i < len(f.Days) && f.Days[i].Day < day {
		i++
	}
	var mean, sd float64
	for j := range f.Days {
		mean += f.Days[j].Mean
		sd += daySD(&f.Days[j], 0)
	}
	n := float64(len(f.Days))
	return Demand{Days: f.Days[i:], Rate: mean / n, RateSD: sd / n}
}
