package routing

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/stockflow/stockflow/internal/event"
)

// Band is one distance band of a rate card: packages travelling at most
// MaxKm great-circle kilometres (and more than the previous band's) cost
// Base + PerKg × their weight and arrive TransitDays after dispatch. The
// band's position in its card (1, 2, ...) is its zone.
type Band struct {
	MaxKm       float64 `json:"max_km"`
	TransitDays int     `json:"transit_days"`
	Base        float64 `json:"base"`
	PerKg       float64 `json:"per_kg"`
}

// RateCard prices one carrier service on the lanes from warehouses in
// market From to ship-to points in market To ("*" matches any market,
// an unknown one included). Bands are in ascending MaxKm; a distance
// beyond the last band is not served.
type RateCard struct {
	Service string `json:"service"`
	From    string `json:"from"`
	To      string `json:"to"`
	Bands   []Band `json:"bands"`
}

// Handling is a warehouse's cost of picking and packing: per package and
// per unit.
type Handling struct {
	PerPackage float64 `json:"per_package"`
	PerUnit    float64 `json:"per_unit"`
}

// Warehouse is a stocking location that can ship web orders.
type Warehouse struct {
	ID      event.WarehouseID `json:"id"`
	Region  string            `json:"region"`
	Country string            `json:"country"`
	Lat     float64           `json:"lat"`
	Lon     float64           `json:"lon"`
	// Handling overrides Config.Handling for this warehouse.
	Handling *Handling `json:"handling,omitempty"`
	// DispatchDays is the days between the order and the hand-over to
	// the carrier (0: the same day).
	DispatchDays int `json:"dispatch_days,omitempty"`
	// OrderCapacity and UnitCapacity are the packages and units the
	// warehouse can ship a day (0: unlimited). State holds what today's
	// decisions have used.
	OrderCapacity int64 `json:"order_capacity,omitempty"`
	UnitCapacity  int64 `json:"unit_capacity,omitempty"`
}

// BatchConfig sets regional batching: the orders of one region that
// arrive within Window (from the first of them) are decided together by
// Batch, a batch closing early when it holds MaxOrders orders.
type BatchConfig struct {
	WindowMs  int64 `json:"window_ms"`
	MaxOrders int   `json:"max_orders"`
	// MaxPasses bounds Batch's improvement passes over a batch.
	MaxPasses int `json:"max_passes"`
}

// Config is routing's configuration: the network, the carriers' rate
// cards, the costs and the limits. It is plain data (JSON, snake_case)
// with Validate; DefaultConfig fills everything but the warehouses.
type Config struct {
	Warehouses []Warehouse `json:"warehouses"`
	Cards      []RateCard  `json:"cards"`
	// Markets maps ship-to and warehouse countries (ISO 3166-1 alpha-2)
	// to the markets rate cards name; nil means DefaultMarkets. A
	// country it lacks is in no market: only "*" cards serve it.
	Markets map[string]string `json:"markets,omitempty"`
	// ServiceDays are the days from order to delivery of each service
	// level, used when an order has no promised_by.
	ServiceDays map[string]int `json:"service_days"`
	// Handling applies to warehouses without their own.
	Handling Handling `json:"handling"`
	// SplitPenalty is the cost of each package beyond an order's first
	// (on top of its own shipping and handling).
	SplitPenalty float64 `json:"split_penalty"`
	// ShortageCost is the cost of one unit of demand short, for stock
	// without a cost of its own.
	ShortageCost float64 `json:"shortage_cost"`
	// BackorderCost is charged per backordered order on top of the
	// shortage cost of its units.
	BackorderCost float64 `json:"backorder_cost"`
	// HorizonDays is how far ahead the opportunity cost looks (the next
	// receipt, when sooner, ends the window).
	HorizonDays float64 `json:"horizon_days"`
	// MaxSplits is the number of packages an order may ship in beyond
	// its first.
	MaxSplits int `json:"max_splits"`
	// MaxLines is the most (distinct-SKU) lines an order may have; more
	// is rejected.
	MaxLines int `json:"max_lines"`
	// UnitKg is the weight of a unit whose stock does not say.
	UnitKg float64     `json:"unit_kg"`
	Batch  BatchConfig `json:"batch"`
}

// Defaults of DefaultConfig. Money is in one currency, USD in the default
// rate cards.
const (
	DefaultSplitPenalty = 2.0
	DefaultShortageCost = 5.0
	// DefaultBackorderCost makes waiting dearer than any parcel the
	// default cards price below 100 kg: an order is backordered when
	// nothing can ship it, practically never to save cost.
	DefaultBackorderCost = 250.0
	DefaultHorizonDays   = 14.0
	DefaultMaxSplits     = 2
	DefaultMaxLines      = 50
	DefaultUnitKg        = 0.5
	DefaultWindowMs      = 2000
	DefaultBatchOrders   = 16
	DefaultMaxPasses     = 4
)

// Markets of DefaultMarkets.
const (
	MarketNA = "NA"
	MarketEU = "EU"
)

// DefaultMarkets maps the United States, Canada and Mexico to MarketNA and
// the countries of the EU, the EEA, Switzerland and the United Kingdom to
// MarketEU.
func DefaultMarkets() map[string]string {
	m := map[string]string{"US": MarketNA, "CA": MarketNA, "MX": MarketNA}
	for _, c := range []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU",
		"IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
		"IS", "LI", "NO", "CH", "GB"} {
		m[c] = MarketEU
	}
	return m
}

// DefaultCards are parcel rate cards in the shape of published US and EU
// list prices (2025, rounded, fuel surcharge included): ground services
// whose transit grows with distance, and a two-day express service, in
// each market. There is no card between markets: cross-continent
// shipping is not allowed unless a card is added for it.
func DefaultCards() []RateCard {
	return []RateCard{
		{Service: "ground", From: MarketNA, To: MarketNA, Bands: []Band{
			{MaxKm: 300, TransitDays: 1, Base: 7.90, PerKg: 0.35},
			{MaxKm: 800, TransitDays: 2, Base: 8.70, PerKg: 0.50},
			{MaxKm: 1500, TransitDays: 3, Base: 9.80, PerKg: 0.70},
			{MaxKm: 2500, TransitDays: 4, Base: 11.30, PerKg: 0.90},
			{MaxKm: 4800, TransitDays: 5, Base: 12.90, PerKg: 1.10},
		}},
		{Service: "express", From: MarketNA, To: MarketNA, Bands: []Band{
			{MaxKm: 800, TransitDays: 1, Base: 15.50, PerKg: 1.40},
			{MaxKm: 4800, TransitDays: 2, Base: 21.00, PerKg: 2.10},
		}},
		{Service: "ground", From: MarketEU, To: MarketEU, Bands: []Band{
			{MaxKm: 300, TransitDays: 1, Base: 6.40, PerKg: 0.30},
			{MaxKm: 800, TransitDays: 2, Base: 7.60, PerKg: 0.45},
			{MaxKm: 1500, TransitDays: 3, Base: 9.90, PerKg: 0.65},
			{MaxKm: 3500, TransitDays: 4, Base: 13.80, PerKg: 0.95},
		}},
		{Service: "express", From: MarketEU, To: MarketEU, Bands: []Band{
			{MaxKm: 1000, TransitDays: 1, Base: 17.00, PerKg: 1.60},
			{MaxKm: 3500, TransitDays: 2, Base: 24.00, PerKg: 2.40},
		}},
	}
}

// DefaultConfig returns the default cards, markets and costs for the
// given warehouses: standard delivery in 5 days and express in 2 (the
// simulator's promises), handling 2.50 a package and 0.25 a unit, a split
// penalty of DefaultSplitPenalty, shortage DefaultShortageCost a unit,
// DefaultBackorderCost per backorder, a 14-day horizon, at most two extra
// packages, 0.5 kg a unit, and batches of up to 16 orders within 2 s.
func DefaultConfig(whs []Warehouse) Config {
	return Config{
		Warehouses:    slices.Clone(whs),
		Cards:         DefaultCards(),
		ServiceDays:   map[string]int{"standard": 5, "express": 2},
		Handling:      Handling{PerPackage: 2.50, PerUnit: 0.25},
		SplitPenalty:  DefaultSplitPenalty,
		ShortageCost:  DefaultShortageCost,
		BackorderCost: DefaultBackorderCost,
		HorizonDays:   DefaultHorizonDays,
		MaxSplits:     DefaultMaxSplits,
		MaxLines:      DefaultMaxLines,
		UnitKg:        DefaultUnitKg,
		Batch:         BatchConfig{WindowMs: DefaultWindowMs, MaxOrders: DefaultBatchOrders, MaxPasses: DefaultMaxPasses},
	}
}

// Validate reports every problem with c: no warehouse, a duplicate or
// empty warehouse id, coordinates out of range, negative costs,
// capacities or dispatch days; cards without a service, markets or bands,
// bands not ascending, negative prices or transit days; a horizon outside
// (0, 366], negative splits, lines below one, a unit weight that is not
// positive, and batch settings below one.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("routing: "+format, args...)) }
	if len(c.Warehouses) == 0 {
		add("no warehouses")
	}
	seen := map[event.WarehouseID]bool{}
	for i, w := range c.Warehouses {
		switch {
		case w.ID == "":
			add("warehouse %d has no id", i)
		case seen[w.ID]:
			add("warehouse %s twice", w.ID)
		}
		seen[w.ID] = true
		if !(w.Lat >= -90 && w.Lat <= 90 && w.Lon >= -180 && w.Lon <= 180) {
			add("warehouse %s at (%v, %v): not a latitude and longitude", w.ID, w.Lat, w.Lon)
		}
		if w.Handling != nil && (bad(w.Handling.PerPackage) || bad(w.Handling.PerUnit)) {
			add("warehouse %s handling %+v must be finite and not negative", w.ID, *w.Handling)
		}
		if w.DispatchDays < 0 || w.OrderCapacity < 0 || w.UnitCapacity < 0 {
			add("warehouse %s: dispatch days and capacities must not be negative", w.ID)
		}
	}
	for i, card := range c.Cards {
		if card.Service == "" || card.From == "" || card.To == "" {
			add("card %d: want a service and from and to markets", i)
		}
		if len(card.Bands) == 0 {
			add("card %d (%s %s→%s) has no bands", i, card.Service, card.From, card.To)
		}
		for j, b := range card.Bands {
			if !(b.MaxKm > 0) || math.IsInf(b.MaxKm, 0) || j > 0 && b.MaxKm <= card.Bands[j-1].MaxKm {
				add("card %d band %d: max_km %v must be positive, finite and ascending", i, j, b.MaxKm)
			}
			if bad(b.Base) || bad(b.PerKg) || b.TransitDays < 0 {
				add("card %d band %d: prices and transit days must be finite and not negative", i, j)
			}
		}
	}
	for name, d := range c.ServiceDays {
		if name == "" || d < 0 {
			add("service level %q: %d days", name, d)
		}
	}
	if bad(c.Handling.PerPackage) || bad(c.Handling.PerUnit) {
		add("handling %+v must be finite and not negative", c.Handling)
	}
	if bad(c.SplitPenalty) || bad(c.ShortageCost) || bad(c.BackorderCost) {
		add("split penalty %v, shortage cost %v and backorder cost %v must be finite and not negative",
			c.SplitPenalty, c.ShortageCost, c.BackorderCost)
	}
	if !(c.HorizonDays > 0 && c.HorizonDays <= 366) {
		add("horizon %v days: want (0, 366]", c.HorizonDays)
	}
	if c.MaxSplits < 0 || c.MaxLines < 1 {
		add("max splits %d must not be negative and max lines %d positive", c.MaxSplits, c.MaxLines)
	}
	if !(c.UnitKg > 0) || math.IsInf(c.UnitKg, 0) {
		add("unit weight %v kg must be positive", c.UnitKg)
	}
	if c.Batch.WindowMs < 1 || c.Batch.MaxOrders < 1 || c.Batch.MaxPasses < 1 {
		add("batch %+v: window, max orders and passes must be at least 1", c.Batch)
	}
	return errors.Join(errs...)
}

// bad is true for negative, NaN and infinite values.
func bad(v float64) bool { return !(v >= 0) || math.IsInf(v, 0) }
