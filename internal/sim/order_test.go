package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// testPipeline stands in for stockflow's replenishment pipeline: it keeps
// the recorded stock of every key from the records, as the stock pipeline
// does, and at each day end orders up to upTo for the keys whose position
// (recorded + on order) is at or below rop, and asks for a transfer to a
// key that is out of stock from the warehouse of the SKU that shows most.
// It also replays the previous day's reorders, as a restarted pipeline
// may, which Order must ignore.
type testPipeline struct {
	s         *Sim
	rop, upTo int64
	next      int     // records consumed
	level     []int64 // per key, recorded stock
	onOrder   []int64 // per key, ordered and not received
	cycle     []int64 // per key, purchase cycles
	trOpenTil []int64 // per key, Unix ms until which a transfer in is awaited
	open      map[string]event.Reorder
	trN       int
	last      []event.Reorder
}

func newTestPipeline(s *Sim, rop, upTo int64) *testPipeline {
	return &testPipeline{
		s: s, rop: rop, upTo: upTo,
		level: make([]int64, s.nK), onOrder: make([]int64, s.nK), cycle: make([]int64, s.nK),
		trOpenTil: make([]int64, s.nK), open: map[string]event.Reorder{},
	}
}

func (p *testPipeline) key(t testing.TB, sku event.SKU, wh event.WarehouseID) int {
	i, ok1 := p.s.skuIndex(sku)
	w, ok2 := p.s.warehouseIndex(wh)
	if !ok1 || !ok2 {
		t.Fatalf("record for unknown key %s %s", sku, wh)
	}
	return i*p.s.nW + w
}

// dayEnd consumes the records emitted since the last call and returns the
// reorders to hand to Order: yesterday's again, then today's.
func (p *testPipeline) dayEnd(t testing.TB, recs []Record, end time.Time) []event.Reorder {
	for _, rec := range recs[p.next:] {
		if rec.Bad != "" {
			continue
		}
		d, err := decodeStd(rec)
		if err != nil {
			t.Fatalf("good record does not decode: %v", err)
		}
		switch {
		case d.sale != nil:
			p.level[p.key(t, d.sale.SKU, d.sale.Warehouse)] -= d.sale.Qty
		case d.stock != nil:
			e := d.stock
			k := p.key(t, e.SKU, e.Warehouse)
			if e.Kind == event.KindCount {
				p.level[k] = e.Qty
			} else {
				p.level[k] += e.Kind.Delta(e.Qty)
			}
			if ro, ok := p.open[e.Ref]; ok && e.Kind == event.KindReceipt {
				p.onOrder[k] -= ro.Qty
				delete(p.open, e.Ref)
			}
		}
	}
	p.next = len(recs)
	out := p.last
	var today []event.Reorder
	ts := end.Add(-time.Hour)
	s := p.s
	for i := range s.nS {
		for w := range s.nW {
			k := i*s.nW + w
			if pos := p.level[k] + p.onOrder[k]; pos <= p.rop {
				p.cycle[k]++
				ro := event.Reorder{
					ReorderID: fmt.Sprintf("RO-%s-%s-%d", s.items[i].SKU, s.whs[w].ID, p.cycle[k]),
					Kind:      event.ReorderPurchase, Status: event.ReorderOrdered, TS: ts,
					SKU: s.items[i].SKU, Warehouse: s.whs[w].ID, Supplier: s.items[i].Supplier,
					Cycle: p.cycle[k], Qty: p.upTo - pos,
				}
				p.open[ro.ReorderID] = ro
				p.onOrder[k] += ro.Qty
				today = append(today, ro)
			}
			if p.level[k] > 0 || p.trOpenTil[k] > end.UnixMilli() {
				continue
			}
			best := -1
			for w2 := range s.nW {
				if k2 := i*s.nW + w2; w2 != w && p.level[k2] >= 2*p.upTo && (best < 0 || p.level[k2] > p.level[i*s.nW+best]) {
					best = w2
				}
			}
			if best < 0 {
				continue
			}
			p.trN++
			// Asks for more than half of what the source shows, sometimes
			// more than it has: the source ships what is available.
			ro := event.Reorder{
				ReorderID: fmt.Sprintf("TO-%s-%s-%s-%d", s.items[i].SKU, s.whs[best].ID, s.whs[w].ID, p.trN),
				Kind:      event.ReorderTransfer, Status: event.ReorderOrdered, TS: ts,
				SKU: s.items[i].SKU, Warehouse: s.whs[w].ID, FromWarehouse: s.whs[best].ID,
				Cycle: int64(p.trN), Qty: p.level[i*s.nW+best]/2 + int64(p.trN%3)*p.upTo,
			}
			p.trOpenTil[k] = end.UnixMilli() + 5*dayMs
			today = append(today, ro)
		}
	}
	p.last = today
	return append(out, today...)
}

type dayEndCall struct {
	day    int
	end    time.Time
	before int // records emitted before the call
}

type placedOrder struct {
	ro  event.Reorder
	end time.Time // end of the day whose end it was placed at
	err error
}

type loopRun struct {
	run
	ends   []dayEndCall
	orders []placedOrder
}

// closedLoop runs History with cfg, handing testPipeline's reorders to
// Order at every day end.
func closedLoop(t testing.TB, cfg Config, rop, upTo int64, check func(*Sim, Record) error) loopRun {
	t.Helper()
	var lr loopRun
	var p *testPipeline
	var s *Sim
	cfg.OnDayEnd = func(day int, end time.Time) error {
		lr.ends = append(lr.ends, dayEndCall{day, end, len(lr.recs)})
		for _, ro := range p.dayEnd(t, lr.recs, end) {
			err := s.Order(ro)
			lr.orders = append(lr.orders, placedOrder{ro, end, err})
			if err != nil {
				return err
			}
		}
		return nil
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p = newTestPipeline(s, rop, upTo)
	lr.sim = s
	s.onPO = func(po purchaseOrder) { lr.pos = append(lr.pos, po) }
	lr.st, err = s.History(t.Context(), func(rec Record) error {
		lr.recs = append(lr.recs, rec)
		if check != nil {
			return check(s, rec)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return lr
}

// groundTruthOK checks the simulator's bookkeeping after every record.
func groundTruthOK(s *Sim, _ Record) error {
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

func TestDefaultModeUnchanged(t *testing.T) {
	t.Parallel()
	base := hashRecords(history(t, smallConfig(7), nil).recs)
	tests := []struct {
		name string
		cfg  func(*Config)
	}{
		{"OnDayEnd that orders nothing", func(c *Config) { c.OnDayEnd = func(int, time.Time) error { return nil } }},
		{"ExternalFrom without ExternalReplenishment", func(c *Config) { c.ExternalFrom = 3 }},
		{"ExternalFrom beyond the history", func(c *Config) { c.ExternalReplenishment, c.ExternalFrom = true, c.Days }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := smallConfig(7)
			tt.cfg(&cfg)
			if got := hashRecords(history(t, cfg, nil).recs); got != base {
				t.Errorf("hash %s, want the default's %s", got, base)
			}
		})
	}
}

func TestClosedLoop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		from int
	}{
		{"from the start", 0},
		{"from day 20", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := smallConfig(43)
			cfg.SKUs = 60 // groundTruthOK looks at every key after every record
			cfg.ExternalReplenishment, cfg.ExternalFrom = true, tt.from
			lr := closedLoop(t, cfg, 3, 25, groundTruthOK)
			s := lr.sim
			start := cfg.Start.UnixMilli()
			fromMs := start + int64(tt.from)*dayMs
			histEnd := start + int64(cfg.Days)*dayMs
			day := func(ts time.Time) int64 { return (ts.UnixMilli() - start) / dayMs }

			// What was ordered, and which POs the simulator placed itself.
			ordered := map[string]placedOrder{}
			var replays int
			for _, o := range lr.orders {
				if o.err != nil {
					t.Fatalf("Order(%s): %v", o.ro.ReorderID, o.err)
				}
				if _, ok := ordered[o.ro.ReorderID]; ok {
					replays++
					continue
				}
				ordered[o.ro.ReorderID] = o
			}
			own := map[string]purchaseOrder{}
			external := map[string]purchaseOrder{}
			for _, po := range lr.pos {
				if _, ok := ordered[po.ID]; ok {
					if _, dup := external[po.ID]; dup {
						t.Errorf("%s placed twice", po.ID)
					}
					external[po.ID] = po
					continue
				}
				own[po.ID] = po
				if po.PlacedAt >= fromMs {
					t.Errorf("simulator placed %s itself on day %d, after ExternalFrom", po.ID, (po.PlacedAt-start)/dayMs)
				}
			}
			if replays == 0 {
				t.Fatal("the test pipeline replayed nothing")
			}

			received := map[string]bool{}
			outs := map[string]*event.Stock{}
			ins := map[string]bool{}
			var nReceipts, nTransfers int
			for _, d := range good(t, lr.recs) {
				e := d.stock
				if e == nil {
					continue
				}
				switch e.Kind {
				case event.KindReceipt:
					if received[e.Ref] {
						t.Errorf("%s received twice", e.Ref)
					}
					received[e.Ref] = true
					o, ok := ordered[e.Ref]
					if !ok {
						if po, ok := own[e.Ref]; !ok || po.PlacedAt >= fromMs {
							t.Errorf("receipt %s at %v without an Order call", e.Ref, e.TS)
						}
						continue
					}
					nReceipts++
					lead := day(e.TS) - day(o.ro.TS)
					switch {
					case o.ro.Kind != event.ReorderPurchase:
						t.Errorf("receipt for transfer %s", e.Ref)
					case e.SKU != o.ro.SKU || e.Warehouse != o.ro.Warehouse:
						t.Errorf("%s for %s %s received as %s %s", e.Ref, o.ro.SKU, o.ro.Warehouse, e.SKU, e.Warehouse)
					case e.Qty <= 0 || e.Qty > o.ro.Qty:
						t.Errorf("%s delivered %d of %d", e.Ref, e.Qty, o.ro.Qty)
					case lead < 3 || lead > 14:
						t.Errorf("%s ordered %v, received %v: lead %d days", e.Ref, o.ro.TS, e.TS, lead)
					case e.TS.Before(o.ro.TS) || e.TS.Before(o.end):
						t.Errorf("%s received at %v, before it was ordered (%v, day end %v)", e.Ref, e.TS, o.ro.TS, o.end)
					case int64(external[e.Ref].Lead) != lead:
						t.Errorf("%s: lead %d days, sampled %d", e.Ref, lead, external[e.Ref].Lead)
					}
				case event.KindTransferOut:
					if outs[e.Ref] != nil {
						t.Errorf("%s shipped twice", e.Ref)
					}
					outs[e.Ref] = e
					o, ok := ordered[e.Ref]
					switch {
					case !ok:
						if e.TS.UnixMilli() >= fromMs {
							t.Errorf("transfer %s at %v without an Order call", e.Ref, e.TS)
						}
					case o.ro.Kind != event.ReorderTransfer || e.SKU != o.ro.SKU || e.Warehouse != o.ro.FromWarehouse:
						t.Errorf("%s: transfer_out %+v for %+v", e.Ref, e, o.ro)
					case e.Qty <= 0 || e.Qty > o.ro.Qty:
						t.Errorf("%s ships %d of %d", e.Ref, e.Qty, o.ro.Qty)
					case !e.TS.Equal(o.end):
						t.Errorf("%s ordered at the day end %v ships at %v, want at once", e.Ref, o.end, e.TS)
					}
				case event.KindTransferIn:
					ins[e.Ref] = true
					out := outs[e.Ref]
					if out == nil {
						t.Errorf("%s arrives without leaving", e.Ref)
						continue
					}
					if o, ok := ordered[e.Ref]; ok {
						nTransfers++
						wantDays := []int64{2, 3}
						if s.whs[s.mustWarehouse(t, out.Warehouse)].Region == s.whs[s.mustWarehouse(t, e.Warehouse)].Region {
							wantDays = []int64{1}
						}
						if d := day(e.TS) - day(out.TS); e.Warehouse != o.ro.Warehouse || d < wantDays[0] || d > wantDays[len(wantDays)-1] {
							t.Errorf("%s: %s → %s, %d days, want %v days to %s", e.Ref, out.Warehouse, e.Warehouse, d, wantDays, o.ro.Warehouse)
						}
					}
					if e.SKU != out.SKU || e.Qty != out.Qty {
						t.Errorf("%s: out %+v, in %+v", e.Ref, out, e)
					}
				}
			}
			// Everything due inside the history came, and the ground truth
			// counts what did not as on order or in transit.
			pendingOrder := make([]int64, s.nK)
			for _, po := range lr.pos {
				if !received[po.ID] {
					if po.DueAt < histEnd {
						t.Errorf("%s due %v never received", po.ID, time.UnixMilli(po.DueAt).UTC())
					}
					pendingOrder[po.Key] += int64(po.Qty)
				}
			}
			pendingTransit := make([]int64, s.nK)
			for ref, out := range outs {
				if ins[ref] {
					continue
				}
				o, ok := ordered[ref]
				if !ok || out.TS.UnixMilli() < histEnd-4*dayMs {
					t.Errorf("%s left %v and never arrived", ref, out.TS)
					continue
				}
				pendingTransit[s.mustKey(t, o.ro.SKU, o.ro.Warehouse)] += out.Qty
			}
			for k := range s.nK {
				if int64(s.onOrder[k]) != pendingOrder[k] || int64(s.inTransit[k]) != pendingTransit[k] {
					t.Errorf("key %d: on order %d, in transit %d; open orders say %d, %d", k, s.onOrder[k], s.inTransit[k], pendingOrder[k], pendingTransit[k])
				}
			}
			if nReceipts < 50 || nTransfers < 5 {
				t.Errorf("%d receipts, %d transfers ordered through Order; want the loop to work", nReceipts, nTransfers)
			}
			if lr.st.Events != len(lr.recs) || lr.st.SoldUnits == 0 {
				t.Errorf("stats %+v for %d records", lr.st, len(lr.recs))
			}
		})
	}
}

func (s *Sim) mustWarehouse(t testing.TB, id event.WarehouseID) int {
	w, ok := s.warehouseIndex(id)
	if !ok {
		t.Fatalf("unknown warehouse %s", id)
	}
	return w
}

func (s *Sim) mustKey(t testing.TB, sku event.SKU, wh event.WarehouseID) int {
	i, ok := s.skuIndex(sku)
	if !ok {
		t.Fatalf("unknown SKU %s", sku)
	}
	return i*s.nW + s.mustWarehouse(t, wh)
}

// TestDayEnds: OnDayEnd is called once per day, in order, and splits the
// records: those before a call are of the day, those after it are later.
func TestDayEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func(*Config)
	}{
		{"built-in policies and orders", func(*Config) {}},
		{"closed loop", func(c *Config) { c.ExternalReplenishment = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := smallConfig(47)
			cfg.Days = 20
			tt.cfg(&cfg)
			lr := closedLoop(t, cfg, 2, 20, nil)
			if len(lr.ends) != cfg.Days {
				t.Fatalf("%d day ends, want %d", len(lr.ends), cfg.Days)
			}
			for i, e := range lr.ends {
				if want := cfg.Start.AddDate(0, 0, i+1); e.day != i || !e.end.Equal(want) {
					t.Errorf("call %d: day %d ending %v, want day %d ending %v", i, e.day, e.end, i, want)
				}
				for j, rec := range lr.recs {
					if before := j < e.before; before != rec.TS.Before(e.end) {
						t.Fatalf("record %d at %v emitted before=%v the end of day %d at %v", j, rec.TS, before, e.day, e.end)
					}
				}
			}
			if last := lr.ends[len(lr.ends)-1]; last.before != len(lr.recs) {
				t.Errorf("%d records after the last day end", len(lr.recs)-last.before)
			}
			var prev time.Time
			for i, rec := range lr.recs {
				if rec.TS.Before(prev) {
					t.Fatalf("record %d at %v before its predecessor at %v", i, rec.TS, prev)
				}
				prev = rec.TS
			}
		})
	}
}

func TestClosedLoopDeterminism(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(53)
	cfg.Days, cfg.ExternalReplenishment, cfg.ExternalFrom = 30, true, 5
	base := hashRecords(closedLoop(t, cfg, 3, 25, nil).recs)
	tests := []struct {
		name      string
		rop, upTo int64
		same      bool
	}{
		{"same orders", 3, 25, true},
		{"other orders", 3, 30, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := hashRecords(closedLoop(t, cfg, tt.rop, tt.upTo, nil).recs); (got == base) != tt.same {
				t.Errorf("hash %s vs %s: want same=%v", got, base, tt.same)
			}
		})
	}
	t.Run("not the built-in supplier's", func(t *testing.T) {
		t.Parallel()
		def := cfg
		def.ExternalReplenishment = false
		if hashRecords(history(t, def, nil).recs) == base {
			t.Error("the closed loop produced the built-in policies' records")
		}
	})
}

// orderAt runs a 20-day closed-loop History that hands orders(s, day, end)
// to Order at each day end, and returns the good stock records whose ref
// starts with "X-".
func orderAt(t *testing.T, orders func(s *Sim, day int, end time.Time) []event.Reorder) (*Sim, []*event.Stock) {
	t.Helper()
	cfg := smallConfig(59)
	cfg.Days, cfg.ExternalReplenishment = 20, true
	var s *Sim
	cfg.OnDayEnd = func(day int, end time.Time) error {
		for _, ro := range orders(s, day, end) {
			if err := s.Order(ro); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if s, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	var got []*event.Stock
	_, err = s.History(t.Context(), func(rec Record) error {
		if rec.Bad == "" && rec.Topic == event.TopicStock {
			d, err := decodeStd(rec)
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.stock.Ref, "X-") {
				got = append(got, d.stock)
			}
		}
		return groundTruthOK(s, rec)
	})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return s, got
}

func TestOrderIdempotent(t *testing.T) {
	t.Parallel()
	ro := event.Reorder{
		ReorderID: "X-1", Kind: event.ReorderPurchase, Status: event.ReorderOrdered,
		SKU: "SKU-000007", Warehouse: "WH03", Qty: 40,
	}
	tests := []struct {
		name  string
		plan  map[int][]event.Reorder // day → orders
		wantQ int64
	}{
		{"once", map[int][]event.Reorder{2: {ro}}, 40},
		{"twice the same day", map[int][]event.Reorder{2: {ro, ro}}, 40},
		{"again days later", map[int][]event.Reorder{2: {ro}, 4: {ro}, 9: {ro}}, 40},
		{"again with another quantity", map[int][]event.Reorder{2: {ro}, 3: {func() event.Reorder { r := ro; r.Qty = 400; return r }()}}, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := orderAt(t, func(_ *Sim, day int, end time.Time) []event.Reorder {
				var out []event.Reorder
				for _, r := range tt.plan[day] {
					r.TS = end.Add(-time.Minute)
					out = append(out, r)
				}
				return out
			})
			if len(got) != 1 {
				t.Fatalf("%d receipts, want one: %+v", len(got), got)
			}
			if e := got[0]; e.Kind != event.KindReceipt || e.Ref != "X-1" || e.Qty > tt.wantQ || e.Qty < tt.wantQ*7/10 {
				t.Errorf("got %+v, want a receipt of up to %d", e, tt.wantQ)
			}
		})
	}
}

// TestOrderTransfer: a transfer ships what is available of its quantity at
// once, nothing at all when nothing is, and arrives with the same ref and
// quantity.
func TestOrderTransfer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		qty  func(avail int32) int64 // 0: pick a source with nothing available
		want func(avail int32) int64
	}{
		{"part of the stock", func(a int32) int64 { return int64(a / 2) }, func(a int32) int64 { return int64(a / 2) }},
		{"more than there is", func(a int32) int64 { return int64(a) + 500 }, func(a int32) int64 { return int64(a) }},
		{"nothing available", nil, func(int32) int64 { return 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var avail int32
			var want event.Reorder
			var orderedAt time.Time
			_, got := orderAt(t, func(s *Sim, day int, end time.Time) []event.Reorder {
				if day != 5 {
					return nil
				}
				// A SKU with a source and a destination in the same region
				// (WH.. in order: find one) with the source stocked or empty.
				for i := range s.nS {
					for from := range s.nW {
						for to := range s.nW {
							k := i*s.nW + from
							if from == to || sites[from].region != sites[to].region ||
								(tt.qty == nil) != (s.avail(k) == 0) || tt.qty != nil && s.avail(k) < 10 {
								continue
							}
							avail = s.avail(k)
							q := int64(7)
							if tt.qty != nil {
								q = tt.qty(avail)
							}
							orderedAt = end
							want = event.Reorder{
								ReorderID: "X-T", Kind: event.ReorderTransfer, Status: event.ReorderOrdered,
								TS: end.Add(-2 * time.Hour), SKU: s.items[i].SKU, Warehouse: s.whs[to].ID,
								FromWarehouse: s.whs[from].ID, Qty: q,
							}
							return []event.Reorder{want}
						}
					}
				}
				t.Fatal("no SKU fits")
				return nil
			})
			wantQ := tt.want(avail)
			if wantQ == 0 {
				if len(got) != 0 {
					t.Errorf("transfer from a key with nothing available: %+v", got)
				}
				return
			}
			if len(got) != 2 {
				t.Fatalf("%d records, want transfer_out and transfer_in: %+v", len(got), got)
			}
			out, in := got[0], got[1]
			switch {
			case out.Kind != event.KindTransferOut || out.Warehouse != want.FromWarehouse || out.Qty != wantQ || !out.TS.Equal(orderedAt):
				t.Errorf("transfer_out %+v, want %d from %s at %v", out, wantQ, want.FromWarehouse, orderedAt)
			case in.Kind != event.KindTransferIn || in.Warehouse != want.Warehouse || in.Qty != wantQ || in.SKU != want.SKU:
				t.Errorf("transfer_in %+v, want %d into %s", in, wantQ, want.Warehouse)
			case in.TS.Sub(out.TS) < 6*time.Hour || in.TS.Sub(out.TS) > 2*24*time.Hour:
				t.Errorf("a day in the same region took %v", in.TS.Sub(out.TS))
			}
		})
	}
}

func TestOrderErrors(t *testing.T) {
	t.Parallel()
	good := event.Reorder{
		ReorderID: "X-1", Kind: event.ReorderPurchase, Status: event.ReorderOrdered,
		SKU: "SKU-000003", Warehouse: "WH02", Qty: 10,
	}
	with := func(f func(*event.Reorder)) event.Reorder { r := good; f(&r); return r }
	transfer := with(func(r *event.Reorder) { r.Kind, r.FromWarehouse = event.ReorderTransfer, "WH01" })
	tests := []struct {
		name    string
		ro      event.Reorder
		wantErr string // "" for accepted
		effect  bool   // schedules something
	}{
		{"purchase", good, "", true},
		{"transfer", transfer, "", true},
		{"suggested is ignored", with(func(r *event.Reorder) { r.Status = event.ReorderSuggested }), "", false},
		{"received is ignored", with(func(r *event.Reorder) { r.Status = event.ReorderReceived }), "", false},
		{"cancelled is ignored", with(func(r *event.Reorder) { r.Status = event.ReorderCancelled }), "", false},
		{"no id", with(func(r *event.Reorder) { r.ReorderID = "" }), "reorder id", false},
		{"unknown SKU", with(func(r *event.Reorder) { r.SKU = "SKU-000999" }), "unknown SKU", false},
		{"malformed SKU", with(func(r *event.Reorder) { r.SKU = "SKU-3" }), "unknown SKU", false},
		{"unknown warehouse", with(func(r *event.Reorder) { r.Warehouse = "WH09" }), "unknown warehouse", false},
		{"malformed warehouse", with(func(r *event.Reorder) { r.Warehouse = "WH2" }), "unknown warehouse", false},
		{"zero quantity", with(func(r *event.Reorder) { r.Qty = 0 }), "quantity", false},
		{"huge quantity", with(func(r *event.Reorder) { r.Qty = 1 << 40 }), "quantity", false},
		{"unknown kind", with(func(r *event.Reorder) { r.Kind = "gift" }), "unknown kind", false},
		{"transfer without source", with(func(r *event.Reorder) { r.Kind = event.ReorderTransfer }), "unknown source", false},
		{"transfer to itself", with(func(r *event.Reorder) { r.Kind, r.FromWarehouse = event.ReorderTransfer, r.Warehouse }), "to itself", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(Config{Seed: 1, SKUs: 20, Warehouses: 4, Days: 2, Start: testStart, ExternalReplenishment: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Order(good); err == nil || !strings.Contains(err.Error(), "before History") {
				t.Errorf("Order before the simulation = %v, want an error", err)
			}
			if _, err := s.History(t.Context(), func(Record) error { return nil }); err != nil {
				t.Fatal(err)
			}
			n := s.h.len()
			err = s.Order(tt.ro)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Order: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Order = %v, want an error about %s", err, tt.wantErr)
			}
			if effect := s.h.len() > n; effect != tt.effect {
				t.Errorf("scheduled something: %v, want %v", effect, tt.effect)
			}
			if tt.wantErr != "" && tt.ro.ReorderID != "" { // an order that failed may come again, fixed
				if err := s.Order(good); err != nil || s.h.len() != n+1 {
					t.Errorf("the fixed order after a failed one: %v, %d scheduled", err, s.h.len()-n)
				}
			}
		})
	}
}

func TestDayEndError(t *testing.T) {
	t.Parallel()
	boom := errors.New("pipeline stuck")
	tests := []struct {
		name string
		live bool
	}{
		{"history", false},
		{"live", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				cfg := Config{Seed: 61, SKUs: 30, Warehouses: 4, Days: 10, Start: testStart, BadShare: 0.01, LiveRate: 2000}
				if tt.live {
					cfg.Days = 1
				}
				var days []int
				cfg.OnDayEnd = func(day int, _ time.Time) error {
					days = append(days, day)
					if day == 3 {
						return boom
					}
					return nil
				}
				s, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				var last time.Time
				var n int
				emit := func(rec Record) error { last = rec.TS; n++; return nil }
				if tt.live {
					err = s.Live(t.Context(), time.Now, emit)
					last = time.UnixMilli(s.curAt).UTC() // Live's ts are the clock's
				} else {
					_, err = s.History(t.Context(), emit)
				}
				if !errors.Is(err, boom) || !strings.Contains(err.Error(), "day 3") {
					t.Errorf("got %v, want %v wrapped with the day", err, boom)
				}
				if !slices.Equal(days, []int{0, 1, 2, 3}) || !last.Before(cfg.Start.AddDate(0, 0, 4)) || n == 0 {
					t.Errorf("called for days %v, last record at %v, %d records: want a stop after day 3", days, last, n)
				}
			})
		})
	}
}

// TestLiveClosedLoop: Live reports its simulated day ends, continuing the
// count of the history (replayed or not), and delivers what is ordered then
// or between History and Live; ExternalFrom beyond the history switches
// the built-in supplier off in Live.
func TestLiveClosedLoop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		history bool
		from    int
	}{
		{"after history", true, 0},
		{"replayed history", false, 0},
		{"switch in live", true, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				cfg := Config{
					Seed: 3, SKUs: 20, Warehouses: 3, Days: 3, Start: testStart, BadShare: 0.01, LiveRate: 2000,
					ExternalReplenishment: true, ExternalFrom: tt.from,
				}
				var s *Sim
				var days []int
				var ends []time.Time
				var live bool
				var recs []Record
				liveAt := -1 // records before the first live day end
				cfg.OnDayEnd = func(day int, end time.Time) error {
					days = append(days, day)
					ends = append(ends, end)
					if live && liveAt < 0 {
						liveAt = len(recs)
					}
					if live && len(recs) > 0 && end.Before(recs[len(recs)-1].TS) {
						t.Errorf("day %d ends at %v, before the last record at %v", day, end, recs[len(recs)-1].TS)
					}
					return s.Order(event.Reorder{
						ReorderID: fmt.Sprintf("X-%d", day), Kind: event.ReorderPurchase, Status: event.ReorderOrdered,
						TS: end, SKU: "SKU-000002", Warehouse: "WH01", Qty: 12,
					})
				}
				var err error
				if s, err = New(cfg); err != nil {
					t.Fatal(err)
				}
				s.onPO = func(po purchaseOrder) {
					if strings.HasPrefix(po.ID, "PO-") && s.dayOf(po.PlacedAt) >= tt.from {
						t.Errorf("built-in supplier placed %s on day %d", po.ID, s.dayOf(po.PlacedAt))
					}
				}
				if tt.history {
					if _, err := s.History(t.Context(), func(Record) error { return nil }); err != nil {
						t.Fatal(err)
					}
					best := 0 // the SKU WH01 has most of
					for i := range s.nS {
						if s.avail(i*s.nW) > s.avail(best*s.nW) {
							best = i
						}
					}
					if err := s.Order(event.Reorder{
						ReorderID: "X-between", Kind: event.ReorderTransfer, Status: event.ReorderOrdered,
						SKU: s.items[best].SKU, Warehouse: "WH02", FromWarehouse: "WH01", Qty: 1,
					}); err != nil {
						t.Fatal(err)
					}
				}
				live = true
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second+5*time.Millisecond)
				defer cancel()
				if err := s.Live(ctx, time.Now, func(rec Record) error { recs = append(recs, rec); return nil }); err != nil {
					t.Fatalf("Live = %v", err)
				}
				for i, d := range days {
					if d != i {
						t.Fatalf("day ends %v, want 0, 1, 2, ...", days)
					}
				}
				if len(days) < cfg.Days+15 {
					t.Fatalf("%d day ends; want Live to cover a few weeks", len(days))
				}
				got := map[string]int{}
				for _, d := range good(t, recs) {
					if d.stock != nil && strings.HasPrefix(d.stock.Ref, "X-") {
						got[d.stock.Ref+" "+string(d.stock.Kind)]++
					}
				}
				for day := cfg.Days; day < len(days)-15; day++ {
					if n := got[fmt.Sprintf("X-%d receipt", day)]; n != 1 {
						t.Errorf("order of day %d received %d times", day, n)
					}
				}
				if tt.history && (got["X-between transfer_out"] != 1 || got["X-between transfer_in"] != 1) {
					t.Errorf("transfer ordered between History and Live: %v", got)
				}
				if liveAt < 0 {
					t.Error("no day end in Live")
				}
			})
		})
	}
}
