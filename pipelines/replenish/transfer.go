package replenish

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/stockflow/stockflow/internal/event"
)

// Defaults of TransferConfig.
const (
	DefaultExcessCoverDays = 30.0
	DefaultHorizonDays     = 14
	DefaultSameRegionDays  = 1
	DefaultOtherRegionDays = 3
	// DefaultShortageCost is the cost of a unit of demand lost, as a share
	// of its unit cost (the margin lost, roughly).
	DefaultShortageCost = 0.5
	// DefaultTransferCostPerUnit and DefaultTransferCostPerShipment are
	// DefaultPlanning's handling and freight of a transfer, in the unit
	// cost's currency.
	DefaultTransferCostPerUnit     = 0.1
	DefaultTransferCostPerShipment = 5.0
)

// TransferConfig sets lateral transfers. Zero day counts and a zero
// shortage cost take the defaults above; zero transfer costs mean free.
type TransferConfig struct {
	// ExcessCoverDays is the cover (position / mean daily demand) above
	// which a warehouse has stock to give, and which it keeps after giving
	// (default 30).
	ExcessCoverDays float64 `json:"excess_cover_days,omitempty"`
	// HorizonDays is how far ahead stockouts are projected (default 14).
	HorizonDays int `json:"horizon_days,omitempty"`
	// CostPerUnit and CostPerShipment price a transfer.
	CostPerUnit     float64 `json:"cost_per_unit"`
	CostPerShipment float64 `json:"cost_per_shipment"`
	// ShortageCost is the cost of one unit short, as a share of the unit
	// cost (default 0.5).
	ShortageCost float64 `json:"shortage_cost,omitempty"`
	// SameRegionDays and OtherRegionDays are the transit times within a
	// region and between regions (defaults 1 and 3).
	SameRegionDays  int `json:"same_region_days,omitempty"`
	OtherRegionDays int `json:"other_region_days,omitempty"`
}

func (c TransferConfig) withDefaults() TransferConfig {
	if c.ExcessCoverDays == 0 {
		c.ExcessCoverDays = DefaultExcessCoverDays
	}
	if c.HorizonDays == 0 {
		c.HorizonDays = DefaultHorizonDays
	}
	if c.ShortageCost == 0 {
		c.ShortageCost = DefaultShortageCost
	}
	if c.SameRegionDays == 0 {
		c.SameRegionDays = DefaultSameRegionDays
	}
	if c.OtherRegionDays == 0 {
		c.OtherRegionDays = DefaultOtherRegionDays
	}
	return c
}

// Validate reports negative, NaN or infinite settings.
func (c TransferConfig) Validate() error {
	if bad(c.ExcessCoverDays) || bad(c.CostPerUnit) || bad(c.CostPerShipment) || bad(c.ShortageCost) ||
		c.HorizonDays < 0 || c.SameRegionDays < 0 || c.OtherRegionDays < 0 {
		return fmt.Errorf("replenish: transfer settings %+v must be finite and not negative", c)
	}
	if c.HorizonDays > 366 {
		return errors.New("replenish: transfer horizon must be at most 366 days")
	}
	return nil
}

// Site is one warehouse's view of a SKU for transfer planning.
type Site struct {
	Warehouse event.WarehouseID
	// Region decides the transit time (same region or not).
	Region   string
	Position Position
	// Params are the key's current policy numbers (Compute).
	Params Params
	Demand Demand
}

// Transfer is a proposed lateral transfer of Qty units.
type Transfer struct {
	From, To    event.WarehouseID
	Qty         int64
	TransitDays int
	// Cost is CostPerUnit·Qty + CostPerShipment; ShortageCost the
	// expected shortage cost the transfer avoids at the destination.
	Cost, ShortageCost float64
}

// site is a Site with its horizon numbers.
type transferSite struct {
	*Site
	pos      float64
	mean, sd float64 // demand over the horizon
	short    float64 // expected units short over the horizon
	give     int64   // units it can give (sources)
	dest     bool
}

// ProposeTransfers proposes lateral transfers of item between sites. All
// numbers look HorizonDays ahead with the sites' Demand (mean and standard
// deviation over the horizon as in Compute, without lead-time variance):
//
//   - A destination is a site whose position minus its expected demand
//     over the horizon falls below its safety stock: it is projected to
//     eat into the buffer that absorbs forecast error, not only to run
//     dry (below zero); whether a transfer is worth it is then decided by
//     the shortage it avoids.
//   - A source is a site with more than ExcessCoverDays of cover in
//     stock that keeps more than that cover, and a position above its
//     reorder point, after giving. Cover counts what it has (on hand + in
//     transit − reserved − backorders, over the mean daily demand of
//     HorizonDays; infinite without demand), not what it has on order: a
//     purchase that has not arrived cannot be shipped on, and giving
//     against it would move the stockout to the source. It can give at
//     most its on hand less reservations and backorders.
//   - The quantity is what lifts the destination's position to the larger
//     of its reorder point and its horizon demand plus safety stock,
//     limited to what the source can give; transfers are in units (no
//     case packs: stock moves between the company's own warehouses).
//   - A transfer is proposed when its cost (CostPerUnit·qty +
//     CostPerShipment) is below the expected shortage cost it avoids: the
//     expected units short over the horizon without it, σ·G((pos − μ)/σ)
//     with the normal loss function G, minus those with it (so never more
//     than the units short without it, nor than qty), times ShortageCost
//     × UnitCost.
//
// Destinations are served most expected shortage first (ties by
// warehouse id), each at most once, from the source with the largest net
// saving (ties: shorter transit, then warehouse id); a source may feed
// several destinations while it has excess. The result is in that order.
func ProposeTransfers(item Item, sites []Site, cfg TransferConfig) []Transfer {
	cfg = cfg.withDefaults()
	h := float64(cfg.HorizonDays)
	ts := make([]transferSite, len(sites))
	for i := range sites {
		s := &ts[i]
		s.Site = &sites[i]
		s.pos = float64(s.Position.Value())
		mean, variance := demandOver(s.Demand, h)
		s.mean, s.sd = mean, math.Sqrt(variance)
		s.short = expectedShort(s.pos, s.mean, s.sd)
		if s.pos-s.mean < s.Params.SafetyStock && s.short > 0 {
			s.dest = true
			continue
		}
		daily := mean / h
		avail := float64(s.Position.OnHand + s.Position.InTransit - s.Position.Reserved - s.Position.Backorders)
		if daily > 0 && avail/daily <= cfg.ExcessCoverDays {
			continue
		}
		// Largest q with avail − q > X·daily and pos − q > s, and no more
		// than is on hand to ship.
		give := min(int64(math.Ceil(avail-cfg.ExcessCoverDays*daily)), int64(math.Ceil(s.pos-max(s.Params.ReorderPoint, 0)))) - 1
		s.give = max(min(give, s.Position.OnHand-s.Position.Reserved-s.Position.Backorders), 0)
	}
	dests := make([]*transferSite, 0, len(ts))
	for i := range ts {
		if ts[i].dest {
			dests = append(dests, &ts[i])
		}
	}
	slices.SortFunc(dests, func(a, b *transferSite) int {
		if c := cmp.Compare(b.short, a.short); c != 0 {
			return c
		}
		return cmp.Compare(a.Warehouse, b.Warehouse)
	})
	var out []Transfer
	for _, d := range dests {
		want := int64(math.Ceil(max(d.Params.ReorderPoint, d.mean+d.Params.SafetyStock) - d.pos - 1e-9))
		if want <= 0 {
			continue
		}
		var (
			best    Transfer
			bestSrc *transferSite
			bestNet float64
		)
		for i := range ts {
			src := &ts[i]
			if src.dest || src.give <= 0 || src.Warehouse == d.Warehouse {
				continue
			}
			qty := min(want, src.give)
			transit := cfg.OtherRegionDays
			if src.Region == d.Region {
				transit = cfg.SameRegionDays
			}
			avoided := (d.short - expectedShort(d.pos+float64(qty), d.mean, d.sd)) * cfg.ShortageCost * item.UnitCost
			cost := cfg.CostPerUnit*float64(qty) + cfg.CostPerShipment
			net := avoided - cost
			if !(net > 0) {
				continue
			}
			better := bestSrc == nil || net > bestNet ||
				net == bestNet && (transit < best.TransitDays || transit == best.TransitDays && src.Warehouse < bestSrc.Warehouse)
			if better {
				best = Transfer{From: src.Warehouse, To: d.Warehouse, Qty: qty, TransitDays: transit, Cost: cost, ShortageCost: avoided}
				bestSrc, bestNet = src, net
			}
		}
		if bestSrc == nil {
			continue
		}
		bestSrc.give -= best.Qty
		out = append(out, best)
	}
	return out
}

// expectedShort is E[(D − pos)⁺] for a normal demand D with the given mean
// and standard deviation (the plain shortfall when sd is 0).
func expectedShort(pos, mean, sd float64) float64 {
	if sd <= 0 {
		return max(mean-pos, 0)
	}
	return sd * NormLoss((pos-mean)/sd)
}
