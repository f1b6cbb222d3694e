package replenish

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stockflow/stockflow/internal/event"
)

func TestProposeTransfers(t *testing.T) {
	item := Item{SKU: "SKU-1", UnitCost: 10}
	cfg := TransferConfig{CostPerUnit: 0.1, CostPerShipment: 5}
	// short: position 5 against 112 ± 11 over the 14-day horizon.
	short := func(wh event.WarehouseID, region string) Site {
		return Site{Warehouse: wh, Region: region, Position: Position{OnHand: 5},
			Params: Params{ReorderPoint: 50, SafetyStock: 10, ProtectionDays: 5}, Demand: Demand{Rate: 8, RateSD: 2}}
	}
	// stocked: on hand, on order, at 8 a day (30 days' cover is 240,
	// 14 days' demand 112).
	stocked := func(wh event.WarehouseID, region string, onHand, onOrder int64) Site {
		return Site{Warehouse: wh, Region: region, Position: Position{OnHand: onHand, OnOrder: onOrder},
			Params: Params{ReorderPoint: 50, SafetyStock: 10, ProtectionDays: 5}, Demand: Demand{Rate: 8, RateSD: 2}}
	}
	tests := []struct {
		name  string
		cfg   TransferConfig
		sites []Site
		want  []Transfer // Cost and ShortageCost checked separately
	}{
		{
			name:  "excess feeds a projected stockout up to its horizon demand and safety stock",
			cfg:   cfg,
			sites: []Site{short("WH01", "US-West"), stocked("WH02", "US-West", 1000, 0)},
			want:  []Transfer{{From: "WH02", To: "WH01", Qty: 117, TransitDays: 1}},
		},
		{
			name:  "not when it costs more than the shortage it avoids",
			cfg:   TransferConfig{CostPerShipment: 1000},
			sites: []Site{short("WH01", "US-West"), stocked("WH02", "US-West", 1000, 0)},
		},
		{
			name:  "not from a site without excess cover",
			cfg:   cfg,
			sites: []Site{short("WH01", "US-West"), stocked("WH02", "US-West", 200, 0)},
		},
		{
			name:  "what a source has on order does not count",
			cfg:   cfg,
			sites: []Site{short("WH01", "US-West"), stocked("WH02", "US-West", 100, 900)},
		},
		{
			name:  "limited to the excess above the source's cover",
			cfg:   cfg,
			sites: []Site{short("WH01", "US-West"), stocked("WH02", "US-West", 260, 0)},
			want:  []Transfer{{From: "WH02", To: "WH01", Qty: 19, TransitDays: 1}},
		},
		{
			name:  "other regions take longer",
			cfg:   cfg,
			sites: []Site{short("WH01", "US-West"), stocked("WH07", "EU-West", 1000, 0)},
			want:  []Transfer{{From: "WH07", To: "WH01", Qty: 117, TransitDays: 3}},
		},
		{
			name:  "of equal sources the nearer",
			cfg:   cfg,
			sites: []Site{stocked("WH07", "EU-West", 1000, 0), short("WH01", "US-West"), stocked("WH02", "US-West", 1000, 0)},
			want:  []Transfer{{From: "WH02", To: "WH01", Qty: 117, TransitDays: 1}},
		},
		{
			name: "one source feeds two destinations, the shorter first",
			cfg:  cfg,
			sites: []Site{
				func() Site { s := short("WH01", "US-West"); s.Position.OnHand = 20; return s }(),
				short("WH03", "US-Central"), stocked("WH02", "US-West", 1000, 0),
			},
			want: []Transfer{{From: "WH02", To: "WH03", Qty: 117, TransitDays: 3}, {From: "WH02", To: "WH01", Qty: 102, TransitDays: 1}},
		},
		{
			name:  "the source runs out of excess (ties: by warehouse)",
			cfg:   cfg,
			sites: []Site{short("WH01", "US-West"), short("WH03", "US-West"), stocked("WH02", "US-West", 300, 0)},
			want:  []Transfer{{From: "WH02", To: "WH01", Qty: 59, TransitDays: 1}},
		},
		{
			name:  "a site without demand gives what is above its reorder point",
			cfg:   cfg,
			sites: []Site{short("WH01", "US-West"), {Warehouse: "WH02", Region: "US-West", Position: Position{OnHand: 30}, Params: Params{ReorderPoint: 2}}},
			want:  []Transfer{{From: "WH02", To: "WH01", Qty: 27, TransitDays: 1}},
		},
		{
			name:  "nothing to do when stocked",
			cfg:   cfg,
			sites: []Site{stocked("WH01", "US-West", 200, 0), stocked("WH02", "US-West", 1000, 0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ProposeTransfers(item, tt.sites, tt.cfg)
			bare := make([]Transfer, len(got))
			for i, tr := range got {
				if tr.ShortageCost <= tr.Cost || tr.Cost != tt.cfg.CostPerUnit*float64(tr.Qty)+tt.cfg.CostPerShipment {
					t.Errorf("transfer %+v: want cost = per unit × qty + per shipment < shortage cost", tr)
				}
				if tr.ShortageCost > float64(tr.Qty)*DefaultShortageCost*item.UnitCost+1e-9 {
					t.Errorf("transfer %+v: avoids more shortage cost than its units", tr)
				}
				tr.Cost, tr.ShortageCost = 0, 0
				bare[i] = tr
			}
			if len(tt.want) == 0 && len(bare) == 0 {
				return
			}
			if !reflect.DeepEqual(bare, tt.want) {
				t.Errorf("got %+v\nwant %+v", bare, tt.want)
			}
			// The input order does not matter.
			rev := slices.Clone(tt.sites)
			slices.Reverse(rev)
			if again := ProposeTransfers(item, rev, tt.cfg); !reflect.DeepEqual(again, got) {
				t.Errorf("reversed sites: %+v, want %+v", again, got)
			}
		})
	}
}

func TestTransferConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   TransferConfig
		valid bool
	}{
		{"zero", TransferConfig{}, true},
		{"set", TransferConfig{ExcessCoverDays: 45, HorizonDays: 21, CostPerUnit: 1, CostPerShipment: 20, ShortageCost: 0.3, SameRegionDays: 2, OtherRegionDays: 5}, true},
		{"negative days", TransferConfig{HorizonDays: -1}, false},
		{"negative cost", TransferConfig{CostPerShipment: -1}, false},
		{"horizon beyond a year", TransferConfig{HorizonDays: 400}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate: %v, want valid %v", err, tt.valid)
			}
		})
	}
}
