package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// good decodes the good records of a run with encoding/json.
func good(t *testing.T, recs []Record) []decoded {
	t.Helper()
	var out []decoded
	for _, rec := range recs {
		if rec.Bad != "" {
			continue
		}
		d, err := decodeStd(rec)
		if err != nil {
			t.Fatalf("good record does not decode: %v", err)
		}
		out = append(out, d)
	}
	return out
}

type skuWH struct {
	sku event.SKU
	wh  event.WarehouseID
}

func TestPhysicalStockNeverNegative(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(19)
	cfg.SKUs = 60
	check := func(s *Sim, _ Record) error {
		for k := range s.nK {
			switch {
			case s.reserved[k] < 0, s.phys[k] < s.reserved[k]:
				return fmt.Errorf("key %d: physical %d, reserved %d", k, s.phys[k], s.reserved[k])
			case s.onOrder[k] < 0, s.inTransit[k] < 0:
				return fmt.Errorf("key %d: on order %d, in transit %d", k, s.onOrder[k], s.inTransit[k])
			case s.recorded[k] < s.phys[k]:
				return fmt.Errorf("key %d: recorded %d below physical %d", k, s.recorded[k], s.phys[k])
			}
		}
		return nil
	}
	r := history(t, cfg, check)
	if r.st.LostUnits == 0 {
		t.Error("no demand was lost to stockouts; forecasting needs censored days")
	}
}

// TestLedgerReplay rebuilds the recorded stock from the good records alone,
// as the pipeline's oracle would: it never goes negative, sales never take
// more than it shows, and cycle counts correct it downwards (shrinkage).
func TestLedgerReplay(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(23)
	r := history(t, cfg, nil)
	level := map[skuWH]int64{}
	opened := map[skuWH]bool{}
	var counts, corrected int
	for _, d := range good(t, r.recs) {
		switch {
		case d.stock != nil:
			e := d.stock
			k := skuWH{e.SKU, e.Warehouse}
			if !opened[k] {
				if e.Kind != event.KindCount || !e.TS.Equal(cfg.Start) {
					t.Fatalf("first event of %v is %s at %v, want the opening count at Start", k, e.Kind, e.TS)
				}
				opened[k] = true
				level[k] = e.Qty
				continue
			}
			if e.Kind == event.KindCount {
				counts++
				if e.Qty > level[k] {
					t.Errorf("count of %v found %d, more than the recorded %d: only shrinkage is unrecorded", k, e.Qty, level[k])
				}
				if e.Qty != level[k] {
					corrected++
				}
				level[k] = e.Qty
				continue
			}
			level[k] += e.Kind.Delta(e.Qty)
			if level[k] < 0 {
				t.Fatalf("%v goes to %d after %s", k, level[k], e.Kind)
			}
		case d.sale != nil:
			e := d.sale
			k := skuWH{e.SKU, e.Warehouse}
			if !opened[k] {
				t.Fatalf("sale of %v before its opening count", k)
			}
			if level[k] -= e.Qty; level[k] < 0 {
				t.Fatalf("sale of %d takes %v to %d", e.Qty, k, level[k])
			}
		}
	}
	if want := cfg.SKUs * cfg.Warehouses; len(opened) != want {
		t.Errorf("%d keys opened, want %d", len(opened), want)
	}
	if counts == 0 || corrected == 0 {
		t.Errorf("%d cycle counts, %d corrected the record; want both", counts, corrected)
	}
}

func TestReceiptsFollowReorders(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(29)
	r := history(t, cfg, nil)
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	pos := map[string]purchaseOrder{}
	for _, po := range r.pos {
		pos[po.ID] = po
	}
	day := func(ms int64) int64 { return (ms - cfg.Start.UnixMilli()) / dayMs }
	received := map[string]bool{}
	leads := map[int]int{}
	for _, d := range good(t, r.recs) {
		if d.stock == nil || d.stock.Kind != event.KindReceipt {
			continue
		}
		e := d.stock
		po, ok := pos[e.Ref]
		switch {
		case !ok:
			t.Errorf("receipt %s has no purchase order", e.Ref)
			continue
		case received[e.Ref]:
			t.Errorf("%s received twice", e.Ref)
		case e.TS.UnixMilli() != po.DueAt:
			t.Errorf("%s received at %v, due %v", e.Ref, e.TS, time.UnixMilli(po.DueAt).UTC())
		case day(po.DueAt)-day(po.PlacedAt) != int64(po.Lead):
			t.Errorf("%s placed on day %d, received day %d, lead %d", e.Ref, day(po.PlacedAt), day(po.DueAt), po.Lead)
		case po.Lead < 3 || po.Lead > 14:
			t.Errorf("%s lead time %d days", e.Ref, po.Lead)
		case e.Qty <= 0 || e.Qty > int64(po.Qty):
			t.Errorf("%s delivered %d of %d", e.Ref, e.Qty, po.Qty)
		case e.SKU != r.sim.items[po.Key/r.sim.nW].SKU || e.Warehouse != r.sim.whs[po.Key%r.sim.nW].ID:
			t.Errorf("%s delivered to the wrong key", e.Ref)
		}
		received[e.Ref] = true
		leads[po.Lead]++
	}
	for _, po := range r.pos {
		if po.DueAt < end.UnixMilli() && !received[po.ID] {
			t.Errorf("%s due %v never received", po.ID, time.UnixMilli(po.DueAt).UTC())
		}
	}
	if len(received) < 50 || len(leads) < 4 {
		t.Errorf("%d receipts with %d distinct lead times; want a sample", len(received), len(leads))
	}
}

func TestTransfers(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(31)
	r := history(t, cfg, nil)
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	eu := map[event.WarehouseID]bool{}
	for _, w := range r.sim.Warehouses() {
		eu[w.ID] = w.Country != "US"
	}
	outs := map[string]*event.Stock{}
	ins := 0
	for _, d := range good(t, r.recs) {
		if d.stock == nil {
			continue
		}
		e := d.stock
		switch e.Kind {
		case event.KindTransferOut:
			if outs[e.Ref] != nil {
				t.Errorf("%s shipped twice", e.Ref)
			}
			outs[e.Ref] = e
		case event.KindTransferIn:
			ins++
			out := outs[e.Ref]
			switch {
			case out == nil:
				t.Errorf("%s arrives without leaving", e.Ref)
				continue
			case out.SKU != e.SKU || out.Qty != e.Qty || out.Warehouse == e.Warehouse || eu[out.Warehouse] != eu[e.Warehouse]:
				t.Errorf("%s: out %+v, in %+v", e.Ref, out, e)
			case e.TS.Sub(out.TS) < 6*time.Hour || e.TS.Sub(out.TS) > 4*24*time.Hour:
				t.Errorf("%s in transit %v", e.Ref, e.TS.Sub(out.TS))
			}
			delete(outs, e.Ref)
		}
	}
	for ref, out := range outs {
		if out.TS.Before(end.Add(-4 * 24 * time.Hour)) {
			t.Errorf("%s left %v and never arrived", ref, out.TS)
		}
	}
	if ins == 0 {
		t.Error("no transfers")
	}
}

func TestWebOrders(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(37)
	r := history(t, cfg, nil)
	eu := map[event.WarehouseID]bool{}
	for _, w := range r.sim.Warehouses() {
		eu[w.ID] = w.Country != "US"
	}
	type line struct {
		order string
		sku   event.SKU
	}
	orders := map[string]*event.Order{}
	open := map[line]int64{}
	var multi, express, shipped int
	for _, d := range good(t, r.recs) {
		switch {
		case d.order != nil:
			o := d.order
			orders[o.OrderID] = o
			for _, l := range o.Lines {
				open[line{o.OrderID, l.SKU}] += l.Qty
			}
			if len(o.Lines) > 1 {
				multi++
			}
			if o.ServiceLevel == "express" {
				express++
			}
		case d.sale != nil && d.sale.OrderID != "":
			s := d.sale
			o := orders[s.OrderID]
			l := line{s.OrderID, s.SKU}
			switch {
			case o == nil:
				t.Errorf("sale %s ships unknown order %s", s.EventID, s.OrderID)
				continue
			case open[l] < s.Qty:
				t.Errorf("order %s ships %d of %s, only %d open", s.OrderID, s.Qty, s.SKU, open[l])
			case !s.TS.After(o.TS) || s.TS.Sub(o.TS) > 11*time.Hour:
				t.Errorf("order %s shipped %v after it came in", s.OrderID, s.TS.Sub(o.TS))
			case eu[s.Warehouse] != (o.ShipTo.Country != "US"):
				t.Errorf("order %s to %s shipped from %s", s.OrderID, o.ShipTo.Country, s.Warehouse)
			}
			open[l] -= s.Qty
			shipped++
		}
	}
	if len(orders) == 0 || multi == 0 || express == 0 || shipped == 0 {
		t.Errorf("%d orders, %d multi-line, %d express, %d shipments", len(orders), multi, express, shipped)
	}
}

// TestDemandShape checks traits forecasting relies on: weekend peaks,
// intermittent series with many zero days, and campaign uplift.
func TestDemandShape(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(41)
	cfg.SKUs, cfg.Days = 300, 120
	r := history(t, cfg, nil)
	s := r.sim
	cat := map[event.SKU]string{}
	intermittent := map[event.SKU]bool{}
	for _, it := range s.Items() {
		cat[it.SKU] = it.Category
		intermittent[it.SKU] = it.Intermittent
	}
	weekend := map[string]bool{"toys": true, "apparel": true, "garden": true, "sports": true}
	var byDow [7]float64
	daily := map[skuWH]map[int]int64{}
	dayOf := func(ts time.Time) int { return int(ts.Sub(cfg.Start) / (24 * time.Hour)) }
	var camps []*event.Campaign
	for _, d := range good(t, r.recs) {
		if d.camp != nil {
			camps = append(camps, d.camp)
		}
		if d.sale == nil {
			continue
		}
		e := d.sale
		if weekend[cat[e.SKU]] {
			byDow[e.TS.Weekday()] += float64(e.Qty)
		}
		k := skuWH{e.SKU, e.Warehouse}
		if daily[k] == nil {
			daily[k] = map[int]int64{}
		}
		daily[k][dayOf(e.TS)] += e.Qty
	}
	if ratio := byDow[time.Saturday] / byDow[time.Tuesday]; ratio < 1.2 {
		t.Errorf("weekend categories sell %.2f× on Saturday vs Tuesday, want a weekend peak", ratio)
	}
	var zero, all float64
	for k, days := range daily {
		if intermittent[k.sku] {
			zero += float64(cfg.Days - len(days))
			all += float64(cfg.Days)
		}
	}
	for _, it := range s.Items() { // intermittent keys that never sold
		if it.Intermittent {
			for _, w := range s.Warehouses() {
				if daily[skuWH{it.SKU, w.ID}] == nil {
					zero += float64(cfg.Days)
					all += float64(cfg.Days)
				}
			}
		}
	}
	if share := zero / all; share < 0.6 {
		t.Errorf("intermittent series have %.0f%% zero days, want most", 100*share)
	}

	// Campaigns lift sales of their targets against the week before.
	regionOf := map[event.WarehouseID]string{}
	for _, w := range s.Warehouses() {
		regionOf[w.ID] = w.Region
	}
	var during, before, expected float64
	var n int
	for _, c := range camps {
		d0, d1 := dayOf(c.Start), dayOf(c.End)
		if d1 > cfg.Days || d0 < 7 {
			continue
		}
		for k, days := range daily {
			if !targets(c, k, cat[k.sku], regionOf[k.wh]) {
				continue
			}
			for d := d0; d < d1; d++ {
				during += float64(days[d])
			}
			for d := d0 - 7; d < d0; d++ {
				before += float64(days[d]) * float64(d1-d0) / 7
			}
		}
		expected += c.ExpectedUplift
		n++
	}
	if n == 0 {
		t.Fatal("no campaign fully inside the history")
	}
	if lift := during/before - 1; lift < 0.5*expected/float64(n) {
		t.Errorf("campaigns lifted sales by %.0f%%, announced %.0f%% on average", 100*lift, 100*expected/float64(n))
	}
}

func targets(c *event.Campaign, k skuWH, category, region string) bool {
	skuOK := c.Category == category
	for _, s := range c.SKUs {
		skuOK = skuOK || s == k.sku
	}
	whOK := len(c.Regions) == 0 && len(c.Warehouses) == 0
	for _, r := range c.Regions {
		whOK = whOK || r == region
	}
	for _, w := range c.Warehouses {
		whOK = whOK || w == k.wh
	}
	return skuOK && whOK
}
