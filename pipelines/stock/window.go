package stock

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

const (
	hourMS = int64(time.Hour / time.Millisecond)
	dayMS  = 24 * hourMS
	// velocityDays is the longest demand-velocity horizon; the daily units
	// of that many days are kept per ledger.
	velocityDays = 28
)

// windowSizes are the tumbling window lengths, epoch-aligned in UTC.
var windowSizes = [...]struct {
	ms   int64
	name string
}{{hourMS, event.WindowHour}, {dayMS, event.WindowDay}}

func sizeName(ms int64) string {
	if ms == dayMS {
		return event.WindowDay
	}
	return event.WindowHour
}

// floorTo rounds t (Unix ms) down to a multiple of size, also for t < 0.
func floorTo(t, size int64) int64 {
	f := t / size * size
	if f > t {
		f -= size
	}
	return f
}

// slot is one window of one size: [start, start+size).
type slot struct{ size, start int64 }

func (s slot) end() int64 { return s.start + s.size }

// agg is the running aggregate of one open window of one ledger.
type agg struct {
	Units      int64   `json:"u"`
	Revenue    float64 `json:"r"`
	Sales      int64   `json:"n"`
	StockoutMS int64   `json:"so,omitempty"`
	// saved: the changelog holds this aggregate, so closing it needs a
	// tombstone. Restored aggregates are saved.
	saved bool
}

// outage is an open stockout interval of one ledger: available has been
// zero or below since Since; the seconds up to Charged are already in day
// windows.
type outage struct {
	Since   int64 `json:"since"`
	Charged int64 `json:"charged"`
}

// dayUnits is the units sold on one day (day number since the epoch).
type dayUnits struct {
	Day   int64 `json:"d"`
	Units int64 `json:"u"`
}

type slotKey struct {
	s slot
	k Key
}

// windows is one partition's event-time window state: the open window
// aggregates of every ledger, open stockout intervals, and the recent
// daily units behind demand velocity.
//
// Windows close when the partition's close time passes their end plus the
// grace period. The close time follows the stream time (the maximum event
// time seen) and, when the partition is idle, the wall clock. A sale for a
// closed window becomes a correction record (an increment), so every sale
// is counted exactly once in final + corrections.
type windows struct {
	grace     int64
	closeTime int64 // windows with end + grace <= closeTime are closed
	// safe bounds how far open stockouts are charged: the stock topic's
	// time (or the wall clock once the partition is caught up). Only stock
	// events end a stockout, and they arrive in order on their topic, so
	// up to safe no receipt can still come that would end one earlier.
	// The sales topic may run days ahead of it while a backlog is read.
	safe    int64
	open    map[slot]map[Key]*agg
	outages map[Key]*outage
	hist    map[Key][]dayUnits // ascending by day, within velocityDays of the newest

	// Changed since the last flush, for the changelog.
	dirtyAgg  map[slotKey]struct{}
	dirtyOut  map[Key]struct{}
	dirtyHist map[Key]struct{}

	// out collects the records to emit; the processor drains it.
	out []event.Window
	// late counts sales after their window closed, by size (0 hour, 1 day).
	late [len(windowSizes)]uint64
}

func newWindows(grace time.Duration) *windows {
	return &windows{
		grace:     grace.Milliseconds(),
		open:      make(map[slot]map[Key]*agg),
		outages:   make(map[Key]*outage),
		hist:      make(map[Key][]dayUnits),
		dirtyAgg:  make(map[slotKey]struct{}),
		dirtyOut:  make(map[Key]struct{}),
		dirtyHist: make(map[Key]struct{}),
	}
}

func (w *windows) closed(s slot) bool { return s.end()+w.grace <= w.closeTime }

func (w *windows) agg(s slot, k Key) *agg {
	m := w.open[s]
	if m == nil {
		m = make(map[Key]*agg)
		w.open[s] = m
	}
	a := m[k]
	if a == nil {
		a = &agg{}
		m[k] = a
	}
	w.dirtyAgg[slotKey{s, k}] = struct{}{}
	return a
}

func (w *windows) record(s slot, k Key, kind event.WindowKind) event.Window {
	return event.Window{
		SKU: k.SKU, Warehouse: k.Warehouse, Size: sizeName(s.size),
		Start: time.UnixMilli(s.start).UTC(), End: time.UnixMilli(s.end()).UTC(),
		Kind: kind, StreamTime: time.UnixMilli(w.closeTime).UTC(),
	}
}

// addSale counts a sale of qty units for revenue at event time ts.
func (w *windows) addSale(k Key, ts, qty int64, revenue float64) {
	for i, sz := range windowSizes {
		s := slot{sz.ms, floorTo(ts, sz.ms)}
		if w.closed(s) {
			w.late[i]++
			r := w.record(s, k, event.WindowCorrection)
			r.Units, r.Revenue, r.Sales = qty, revenue, 1
			w.out = append(w.out, r)
			if sz.ms == dayMS {
				w.addHistory(k, s.start/dayMS, qty)
			}
			continue
		}
		a := w.agg(s, k)
		a.Units += qty
		a.Revenue += revenue
		a.Sales++
	}
}

// available tracks stockouts: called after every ledger change with the
// ledger's latest event time and its available stock.
func (w *windows) available(k Key, ts, avail int64) {
	o := w.outages[k]
	switch {
	case avail <= 0 && o == nil:
		w.outages[k] = &outage{Since: ts, Charged: ts}
		w.dirtyOut[k] = struct{}{}
	case avail > 0 && o != nil:
		if ts > o.Charged {
			w.charge(k, o.Charged, ts)
		}
		delete(w.outages, k)
		w.dirtyOut[k] = struct{}{}
	}
}

// charge adds the stockout time [from, to) to the day windows it spans:
// to open ones as part of their total, to closed ones as corrections.
func (w *windows) charge(k Key, from, to int64) {
	for d := floorTo(from, dayMS); d < to; d += dayMS {
		ms := min(to, d+dayMS) - max(from, d)
		if ms <= 0 {
			continue
		}
		s := slot{dayMS, d}
		if w.closed(s) {
			if sec := ms / 1000; sec > 0 {
				r := w.record(s, k, event.WindowCorrection)
				r.StockoutSeconds = sec
				w.out = append(w.out, r)
			}
			continue
		}
		w.agg(s, k).StockoutMS += ms
	}
}

// addHistory adds units to a ledger's daily history, keeping the days
// within velocityDays of the newest.
func (w *windows) addHistory(k Key, day, units int64) {
	if units == 0 {
		return
	}
	h := w.hist[k]
	i, found := slices.BinarySearchFunc(h, day, func(e dayUnits, d int64) int { return int(e.Day - d) })
	if found {
		h[i].Units += units
	} else {
		h = slices.Insert(h, i, dayUnits{Day: day, Units: units})
	}
	newest := h[len(h)-1].Day
	cut := 0
	for cut < len(h) && h[cut].Day <= newest-velocityDays {
		cut++
	}
	w.hist[k] = slices.Delete(h, 0, cut)
	w.dirtyHist[k] = struct{}{}
}

// velocity returns the mean daily units over the n days ending with day.
func (w *windows) velocity(k Key, day int64, n int64) float64 {
	var sum int64
	for _, e := range w.hist[k] {
		if e.Day > day-n && e.Day <= day {
			sum += e.Units
		}
	}
	return float64(sum) / float64(n)
}

// setSafe raises the time up to which stockouts may be charged, charging
// the whole days it releases (to closed days as corrections).
func (w *windows) setSafe(t int64) {
	if t <= w.safe {
		return
	}
	old := w.safe
	w.safe = t
	if floorTo(old, dayMS) != floorTo(t, dayMS) {
		w.chargeOutages(floorTo(w.closeTime-w.grace, dayMS))
	}
}

// chargeOutages charges every open stockout up to the day boundary, but
// no further than the last whole day before safe.
func (w *windows) chargeOutages(boundary int64) {
	limit := min(boundary, floorTo(w.safe, dayMS))
	for k, o := range w.outages {
		if o.Charged < limit {
			w.charge(k, o.Charged, limit)
			o.Charged = limit
			w.dirtyOut[k] = struct{}{}
		}
	}
}

// advance moves the close time to t (Unix ms) and closes every window
// that ends at or before t - grace, emitting its final record. Stockouts
// still open are charged to the days that close.
func (w *windows) advance(t int64) {
	if t <= w.closeTime {
		return
	}
	// Only whole hours close, so nothing changes until t - grace crosses an
	// hour boundary.
	if w.closeTime != 0 && floorTo(t-w.grace, hourMS) == floorTo(w.closeTime-w.grace, hourMS) {
		w.closeTime = t
		return
	}
	w.chargeOutages(floorTo(t-w.grace, dayMS)) // days ending at or before it close now
	var closing []slot
	for s := range w.open {
		if s.end()+w.grace <= t {
			closing = append(closing, s)
		}
	}
	slices.SortFunc(closing, func(a, b slot) int {
		if a.start != b.start {
			return cmpInt(a.start, b.start)
		}
		return cmpInt(a.size, b.size)
	})
	w.closeTime = t
	for _, s := range closing {
		for k, a := range w.open[s] {
			r := w.record(s, k, event.WindowFinal)
			r.Units, r.Revenue, r.Sales, r.StockoutSeconds = a.Units, a.Revenue, a.Sales, a.StockoutMS/1000
			if s.size == dayMS {
				day := s.start / dayMS
				w.addHistory(k, day, a.Units)
				r.Velocity7, r.Velocity28 = w.velocity(k, day, 7), w.velocity(k, day, velocityDays)
			}
			w.out = append(w.out, r)
			sk := slotKey{s, k}
			if a.saved {
				w.dirtyAgg[sk] = struct{}{} // tombstone
			} else {
				delete(w.dirtyAgg, sk)
			}
		}
		delete(w.open, s)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// drain returns the records to emit and forgets them.
func (w *windows) drain() []event.Window {
	out := w.out
	w.out = nil
	return out
}

// Changelog records of the window state. Values carry the whole identity,
// so restore never parses keys; a tombstone (nil value) deletes the key.

type windowState struct {
	SKU       event.SKU         `json:"sku"`
	Warehouse event.WarehouseID `json:"warehouse"`
	Size      int64             `json:"size"`
	Start     int64             `json:"start"`
	agg
}

type outageState struct {
	SKU       event.SKU         `json:"sku"`
	Warehouse event.WarehouseID `json:"warehouse"`
	outage
}

type historyState struct {
	SKU       event.SKU         `json:"sku"`
	Warehouse event.WarehouseID `json:"warehouse"`
	Days      []dayUnits        `json:"days"`
}

func windowKey(sk slotKey) string {
	return event.ChangelogWindowPrefix + strconv.FormatInt(sk.s.size, 10) + "/" + strconv.FormatInt(sk.s.start, 10) + "/" + sk.k.String()
}

// flush writes the state changed since the last flush through put (value
// nil for a tombstone) and clears the dirty sets.
func (w *windows) flush(put func(key string, value []byte)) error {
	for sk := range w.dirtyAgg {
		a := w.open[sk.s][sk.k]
		if a == nil {
			put(windowKey(sk), nil)
			continue
		}
		ws := windowState{SKU: sk.k.SKU, Warehouse: sk.k.Warehouse, Size: sk.s.size, Start: sk.s.start, agg: *a}
		v := ws.appendJSON(make([]byte, 0, 128))
		a.saved = true
		put(windowKey(sk), v)
	}
	clear(w.dirtyAgg)
	for k := range w.dirtyOut {
		key := event.ChangelogStockoutPrefix + k.String()
		o := w.outages[k]
		if o == nil {
			put(key, nil)
			continue
		}
		v, err := json.Marshal(outageState{SKU: k.SKU, Warehouse: k.Warehouse, outage: *o})
		if err != nil {
			return fmt.Errorf("encode stockout %s: %w", key, err)
		}
		put(key, v)
	}
	clear(w.dirtyOut)
	for k := range w.dirtyHist {
		key := event.ChangelogVelocityPrefix + k.String()
		h := w.hist[k]
		if len(h) == 0 {
			put(key, nil)
			continue
		}
		v, err := json.Marshal(historyState{SKU: k.SKU, Warehouse: k.Warehouse, Days: h})
		if err != nil {
			return fmt.Errorf("encode velocity history %s: %w", key, err)
		}
		put(key, v)
	}
	clear(w.dirtyHist)
	return nil
}

// restoreRecord applies one changelog value (after compaction semantics:
// the caller passes only the latest value per key, nil ones excluded).
func (w *windows) restoreRecord(key string, value []byte) error {
	switch {
	case len(key) > 2 && key[:2] == event.ChangelogWindowPrefix:
		var s windowState
		if err := json.Unmarshal(value, &s); err != nil {
			return err
		}
		a := s.agg
		a.saved = true
		sl := slot{s.Size, s.Start}
		if w.open[sl] == nil {
			w.open[sl] = make(map[Key]*agg)
		}
		w.open[sl][Key{SKU: s.SKU, Warehouse: s.Warehouse}] = &a
	case len(key) > 2 && key[:2] == event.ChangelogStockoutPrefix:
		var s outageState
		if err := json.Unmarshal(value, &s); err != nil {
			return err
		}
		o := s.outage
		w.outages[Key{SKU: s.SKU, Warehouse: s.Warehouse}] = &o
	case len(key) > 2 && key[:2] == event.ChangelogVelocityPrefix:
		var s historyState
		if err := json.Unmarshal(value, &s); err != nil {
			return err
		}
		w.hist[Key{SKU: s.SKU, Warehouse: s.Warehouse}] = s.Days
	}
	return nil
}
