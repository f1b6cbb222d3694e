package replenish

import (
	"encoding/json"
	"math"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// Key prefixes of stockflow.replenish-changelog.v1. Values are JSON private
// to the pipeline.
const (
	// prefixKey keys a (SKU, warehouse)'s state: "K/<sku>/<warehouse>".
	prefixKey = "K/"
	// prefixForecast keys a (SKU, warehouse)'s latest forecast.
	prefixForecast = "F/"
	// prefixLead keys the lead-time statistics of "<supplier>/<warehouse>".
	prefixLead = "T/"
	// prefixSKU keys per-SKU state (the transfer counter): "U/<sku>".
	prefixSKU = "U/"
	// prefixPartition keys the partition's times: "P/<partition>".
	prefixPartition = "P/"
)

// Key identifies one (SKU, warehouse).
type Key struct {
	SKU       event.SKU
	Warehouse event.WarehouseID
}

func (k Key) String() string { return string(k.SKU) + "/" + string(k.Warehouse) }

// open is a reorder or transfer that is not closed yet.
type open struct {
	ID       string              `json:"id"`
	Kind     event.ReorderKind   `json:"kind"`
	Status   event.ReorderStatus `json:"status"` // suggested or ordered
	Cycle    int64               `json:"cycle"`
	Qty      int64               `json:"qty"`
	PlacedMS int64               `json:"placed"` // event time of the order (or approval)
	DueMS    int64               `json:"due"`    // expected receipt
	From     event.WarehouseID   `json:"from,omitempty"`
	To       event.WarehouseID   `json:"to,omitempty"`
	Supplier string              `json:"supplier,omitempty"`
	// Shipped: a transfer's transfer_out has been seen at the source.
	Shipped bool `json:"shipped,omitempty"`
	// The decision's record, re-emitted with a new status on approval.
	Rec *event.Reorder `json:"rec,omitempty"`
}

// keyState is the replenishment state of one (SKU, warehouse).
type keyState struct {
	SKU       event.SKU         `json:"sku"`
	Warehouse event.WarehouseID `json:"warehouse"`
	// OnHand is the stock ledger's on hand after the latest event.
	OnHand int64 `json:"on_hand"`
	// Cycle counts the purchase reorders placed (or suggested).
	Cycle int64 `json:"cycle"`
	// Reorder is the open purchase reorder, if any: at most one
	// (invariant 5).
	Reorder *open `json:"reorder,omitempty"`
	// Inbound are the open transfers into this warehouse, Outbound the
	// ones out of it whose transfer_out has not been seen.
	Inbound  []*open `json:"inbound,omitempty"`
	Outbound []*open `json:"outbound,omitempty"`
	// Rate is the daily-demand estimate from sales (the fallback when no
	// forecast covers the protection period).
	Rate rate `json:"rate"`
	// ReviewedDay is the last UTC day (days since the epoch) a periodic
	// review ordered or looked, for (R, S).
	ReviewedDay int64 `json:"reviewed_day"`
	// Class is the ABC/XYZ class from the latest forecast, "" if none.
	Class string `json:"class,omitempty"`
}

// position is the inventory position: open reorders and inbound transfers
// count, as do transfers promised out of here and not shipped yet (as
// reserved). Suggestions do not count until approved.
func (ks *keyState) position() Position {
	p := Position{OnHand: ks.OnHand}
	if o := ks.Reorder; o != nil && o.Status == event.ReorderOrdered {
		p.OnOrder = o.Qty
	}
	for _, o := range ks.Inbound {
		if o.Status == event.ReorderOrdered {
			p.InTransit += o.Qty
		}
	}
	for _, o := range ks.Outbound {
		if o.Status == event.ReorderOrdered && !o.Shipped {
			p.Reserved += o.Qty
		}
	}
	return p
}

// rate is an exponentially weighted estimate of daily demand from sales.
// Days end when a later event arrives; a day with no sales counts as zero,
// unless the key had nothing on hand (censored demand), which is skipped.
type rate struct {
	Day   int64   `json:"day"` // current UTC day, days since the epoch
	Units float64 `json:"units"`
	Mean  float64 `json:"mean"`
	Var   float64 `json:"var"`
	Days  int64   `json:"days"` // days folded in
	// Stockout: the current day had on hand at or below zero.
	Stockout bool `json:"stockout,omitempty"`
}

// rateAlpha weighs a new day; about the last three weeks dominate.
const rateAlpha = 0.08

// maxIdleDays bounds the zero days folded in at once.
const maxIdleDays = 60

// advance closes the days before day.
func (r *rate) advance(day int64) {
	if r.Days == 0 && r.Units == 0 && r.Day == 0 {
		r.Day = day
		return
	}
	for r.Day < day {
		if !(r.Stockout && r.Units == 0) {
			r.fold(r.Units)
		}
		r.Units, r.Stockout = 0, false
		r.Day++
		if day-r.Day > maxIdleDays {
			r.Day = day - maxIdleDays
		}
	}
}

func (r *rate) fold(x float64) {
	if r.Days == 0 {
		r.Mean, r.Var = x, x // Poisson-like prior on the spread
	} else {
		// The first days weigh as a plain mean, so the estimate does not
		// start from one day's count and creep.
		a := max(rateAlpha, 1/float64(r.Days+1))
		d := x - r.Mean
		r.Mean += a * d
		r.Var = (1 - a) * (r.Var + a*d*d)
	}
	r.Days++
}

// estimate is the mean and standard deviation of daily demand.
func (r *rate) estimate() (float64, float64) {
	if r.Days == 0 {
		return r.Units, math.Sqrt(r.Units)
	}
	return r.Mean, math.Sqrt(r.Var)
}

// forecastState is a key's latest forecast.
type forecastState struct {
	RunID string              `json:"run_id"`
	Class string              `json:"class,omitempty"`
	Days  []event.ForecastDay `json:"days"`
}

// skuState is per-SKU state.
type skuState struct {
	Transfers int64 `json:"transfers"`
}

// partTimes are the partition's event times.
type partTimes struct {
	Stream int64 `json:"stream"` // latest event time seen, Unix ms
	// SweptDay is the last UTC day whose periodic sweep ran.
	SweptDay int64 `json:"swept_day"`
}

// partition is the state one input partition owns.
type partition struct {
	keys      map[Key]*keyState
	forecasts map[Key]*forecastState
	leads     map[string]*LeadStats // "<supplier>/<warehouse>"
	skus      map[event.SKU]*skuState
	times     partTimes
}

func newPartition() *partition {
	return &partition{
		keys:      make(map[Key]*keyState),
		forecasts: make(map[Key]*forecastState),
		leads:     make(map[string]*LeadStats),
		skus:      make(map[event.SKU]*skuState),
	}
}

// dirty collects what a transaction changed, for the changelog.
type dirty struct {
	keys      map[Key]bool
	forecasts map[Key]bool
	leads     map[string]bool
	skus      map[event.SKU]bool
}

func newDirty() *dirty {
	return &dirty{keys: map[Key]bool{}, forecasts: map[Key]bool{}, leads: map[string]bool{}, skus: map[event.SKU]bool{}}
}

// changelog returns the records for what d marks, in a deterministic order
// of kinds (keys within a kind in map order; compaction keeps the latest
// per key, so order across keys does not matter).
func (st *partition) changelog(d *dirty, part int32, put func(key string, value []byte)) error {
	for k := range d.keys {
		v, err := json.Marshal(st.keys[k])
		if err != nil {
			return err
		}
		put(prefixKey+k.String(), v)
	}
	for k := range d.forecasts {
		v, err := json.Marshal(st.forecasts[k])
		if err != nil {
			return err
		}
		put(prefixForecast+k.String(), v)
	}
	for k := range d.leads {
		v, err := json.Marshal(st.leads[k])
		if err != nil {
			return err
		}
		put(prefixLead+k, v)
	}
	for k := range d.skus {
		v, err := json.Marshal(st.skus[k])
		if err != nil {
			return err
		}
		put(prefixSKU+string(k), v)
	}
	v, err := json.Marshal(st.times)
	if err != nil {
		return err
	}
	put(prefixPartition+itoa(int64(part)), v)
	return nil
}

func dayOf(ms int64) int64 { return floorDiv(ms, dayMS) }

const dayMS = int64(24 * time.Hour / time.Millisecond)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
