package replenish

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

// Reasons on reorder records (the reason field of stockflow.reorders.v1).
const (
	reasonReorderPoint = "reorder_point"
	reasonReview       = "review"
	reasonSweep        = "sweep"
	reasonApproved     = "approved"
	reasonRejected     = "rejected"
	reasonReceipt      = "receipt"
	reasonTransferIn   = "transfer_in"
	reasonOverdue      = "overdue"
	reasonExcessCover  = "excess_cover"
)

// unshippedTTL is how long an ordered transfer may wait for its
// transfer_out before it is cancelled.
const unshippedTTL = 3 * dayMS

// work is one partition's share of a transaction.
type work struct {
	p    *Processor
	tx   *kafka.Txn
	ctx  context.Context
	part int32
	st   *partition
	d    *dirty
}

func (w *work) record(r *kgo.Record) {
	if r.Attrs.IsControl() {
		return
	}
	w.p.in.Add(1)
	w.p.inByTopic[r.Topic].Inc()
	switch r.Topic {
	case kafka.TopicAccepted:
		w.accepted(r)
	case kafka.TopicForecasts:
		w.forecast(r)
	case kafka.TopicApprovals:
		w.approval(r)
	}
}

func header(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// accepted applies a sale or stock event the stock pipeline accepted; its
// on-hand header is the ledger after the event.
func (w *work) accepted(r *kgo.Record) {
	typ := string(header(r, event.HeaderEventType))
	if typ != event.TypeSale.String() && typ != event.TypeStock.String() {
		return // orders and campaigns: routing and forecasting use them
	}
	onHand, err := strconv.ParseInt(string(header(r, event.HeaderOnHand)), 10, 64)
	if err != nil {
		w.deadLetter(r, &event.Error{Reason: event.ReasonInvalidValue, Field: event.HeaderOnHand,
			Msg: "accepted record without a valid on-hand header"})
		return
	}
	if typ == event.TypeSale.String() {
		var s event.Sale
		if err := event.DecodeSale(r.Value, &s); err != nil {
			w.deadLetter(r, err)
			return
		}
		k := Key{SKU: s.SKU, Warehouse: s.Warehouse}
		ks := w.observe(k, s.TS.UnixMilli(), onHand)
		ks.Rate.Units += float64(s.Qty)
		w.review(k, ks, w.st.times.Stream, false)
		return
	}
	var s event.Stock
	if err := event.DecodeStock(r.Value, &s); err != nil {
		w.deadLetter(r, err)
		return
	}
	ts := s.TS.UnixMilli()
	k := Key{SKU: s.SKU, Warehouse: s.Warehouse}
	ks := w.observe(k, ts, onHand)
	// Decisions and status changes are made at the partition's stream
	// time, so the records of a key are in time order even when an input
	// event arrives late.
	now := w.st.times.Stream
	switch s.Kind {
	case event.KindReceipt:
		if o := ks.Reorder; o != nil && s.Ref == o.ID {
			w.observeLead(o.Supplier, k.Warehouse, float64(ts-o.PlacedMS)/float64(dayMS))
			w.close(ks, o, now, s.Qty, event.ReorderReceived, reasonReceipt)
			ks.Reorder = nil
		}
	case event.KindTransferIn:
		if i := indexOf(ks.Inbound, s.Ref); i >= 0 {
			o := ks.Inbound[i]
			w.close(ks, o, now, s.Qty, event.ReorderReceived, reasonTransferIn)
			ks.Inbound = slices.Delete(ks.Inbound, i, i+1)
			w.dropOutbound(Key{SKU: k.SKU, Warehouse: o.From}, o.ID)
		}
	case event.KindTransferOut:
		if i := indexOf(ks.Outbound, s.Ref); i >= 0 {
			w.markShipped(Key{SKU: k.SKU, Warehouse: ks.Outbound[i].To}, s.Ref)
			ks.Outbound = slices.Delete(ks.Outbound, i, i+1)
		}
	}
	w.review(k, ks, now, false)
}

// observe moves stream time to an event of k at ts and records the
// ledger's on hand after it (a day at or below zero is a stockout day,
// censored in the demand rate).
func (w *work) observe(k Key, ts, onHand int64) *keyState {
	w.advance(ts)
	ks := w.key(k)
	ks.Rate.advance(dayOf(ts))
	ks.OnHand = onHand
	ks.Rate.Stockout = ks.Rate.Stockout || onHand <= 0
	return ks
}

func indexOf(os []*open, id string) int {
	return slices.IndexFunc(os, func(o *open) bool { return o.ID == id })
}

// markShipped notes on the destination's inbound transfer that the source
// shipped it.
func (w *work) markShipped(dst Key, id string) {
	if ks := w.st.keys[dst]; ks != nil {
		if i := indexOf(ks.Inbound, id); i >= 0 {
			ks.Inbound[i].Shipped = true
			w.d.keys[dst] = true
		}
	}
}

func (w *work) dropOutbound(k Key, id string) {
	if ks := w.st.keys[k]; ks != nil {
		if i := indexOf(ks.Outbound, id); i >= 0 {
			ks.Outbound = slices.Delete(ks.Outbound, i, i+1)
			w.d.keys[k] = true
		}
	}
}

// forecast stores a key's latest forecast and reviews the key with it.
func (w *work) forecast(r *kgo.Record) {
	var f event.Forecast
	if err := json.Unmarshal(r.Value, &f); err != nil {
		w.deadLetter(r, &event.Error{Reason: event.ReasonMalformedJSON, Msg: "forecast record: " + err.Error()})
		return
	}
	if f.SKU == "" || f.Warehouse == "" {
		w.deadLetter(r, &event.Error{Reason: event.ReasonMissingField, Field: "sku", Msg: "forecast record without sku or warehouse"})
		return
	}
	k := Key{SKU: f.SKU, Warehouse: f.Warehouse}
	w.st.forecasts[k] = &forecastState{RunID: f.RunID, Class: f.Class, Days: f.Days}
	w.d.forecasts[k] = true
	ks := w.key(k)
	ks.Class = f.Class
	// A forecast has no event time of its own: it takes effect at the
	// partition's stream time.
	if ts := w.st.times.Stream; ts > 0 {
		w.review(k, ks, ts, false)
	}
}

// approval applies a planner's decision on a suggestion.
func (w *work) approval(r *kgo.Record) {
	var a event.Approval
	if err := json.Unmarshal(r.Value, &a); err != nil {
		w.deadLetter(r, &event.Error{Reason: event.ReasonMalformedJSON, Msg: "approval: " + err.Error()})
		return
	}
	k := Key{SKU: a.SKU, Warehouse: a.Warehouse}
	ks := w.st.keys[k]
	ts := max(a.TS.UnixMilli(), w.st.times.Stream)
	var o *open
	switch {
	case ks == nil:
	case ks.Reorder != nil && ks.Reorder.ID == a.ReorderID:
		o = ks.Reorder
	default:
		if i := indexOf(ks.Inbound, a.ReorderID); i >= 0 {
			o = ks.Inbound[i]
		}
	}
	if o == nil || o.Status != event.ReorderSuggested {
		w.deadLetter(r, &event.Error{Reason: event.ReasonInvalidValue, Field: "reorder_id",
			Msg: fmt.Sprintf("no suggested reorder %q for %s/%s", a.ReorderID, a.SKU, a.Warehouse)})
		return
	}
	w.d.keys[k] = true
	if !a.Approve {
		w.close(ks, o, ts, 0, event.ReorderCancelled, reasonRejected)
		w.forget(k, ks, o)
		return
	}
	if a.Qty > 0 {
		o.Qty = a.Qty
	}
	shift := ts - o.PlacedMS
	o.PlacedMS, o.DueMS = ts, o.DueMS+shift
	o.Status = event.ReorderOrdered
	rec := *o.Rec
	rec.Status, rec.Reason, rec.TS, rec.Qty = event.ReorderOrdered, reasonApproved, time.UnixMilli(ts).UTC(), o.Qty
	rec.ExpectedBy = time.UnixMilli(o.DueMS).UTC()
	o.Rec = &rec
	if o.Kind == event.ReorderTransfer {
		if src := w.st.keys[Key{SKU: k.SKU, Warehouse: o.From}]; src != nil {
			if i := indexOf(src.Outbound, o.ID); i >= 0 {
				src.Outbound[i].Status, src.Outbound[i].Qty, src.Outbound[i].PlacedMS = event.ReorderOrdered, o.Qty, ts
				w.d.keys[Key{SKU: k.SKU, Warehouse: o.From}] = true
			}
		}
	}
	w.emit(&rec)
}

// forget removes a closed open reorder or transfer from the key's state
// (and a transfer from its source).
func (w *work) forget(k Key, ks *keyState, o *open) {
	if ks.Reorder == o {
		ks.Reorder = nil
		return
	}
	if i := indexOf(ks.Inbound, o.ID); i >= 0 {
		ks.Inbound = slices.Delete(ks.Inbound, i, i+1)
	}
	w.dropOutbound(Key{SKU: k.SKU, Warehouse: o.From}, o.ID)
}

// close emits the record that closes o (received or cancelled).
func (w *work) close(_ *keyState, o *open, ts, receivedQty int64, status event.ReorderStatus, reason string) {
	rec := *o.Rec
	rec.Status, rec.Reason, rec.TS = status, reason, time.UnixMilli(ts).UTC()
	rec.ReceivedQty = receivedQty
	w.emit(&rec)
}

// key returns the state of k, creating it, and marks it changed.
func (w *work) key(k Key) *keyState {
	ks := w.st.keys[k]
	if ks == nil {
		ks = &keyState{SKU: k.SKU, Warehouse: k.Warehouse}
		w.st.keys[k] = ks
		w.p.keys.Add(1)
	}
	w.d.keys[k] = true
	return ks
}

func (w *work) observeLead(supplier string, wh event.WarehouseID, days float64) {
	id := supplier + "/" + string(wh)
	l := w.st.leads[id]
	if l == nil {
		l = new(LeadStats)
		w.st.leads[id] = l
	}
	l.Observe(days)
	w.d.leads[id] = true
}

func (w *work) leadTime(supplier string, wh event.WarehouseID) LeadTime {
	var l LeadStats
	if s := w.st.leads[supplier+"/"+string(wh)]; s != nil {
		l = *s
	}
	return l.Estimate(w.p.cfg.Planning.LeadPrior)
}

func (w *work) item(sku event.SKU) Item {
	if it, ok := w.p.cfg.Items[sku]; ok {
		return it
	}
	it := w.p.cfg.DefaultItem
	it.SKU = sku
	return it
}

// advance moves the partition's stream time to ts; the first event of a
// new UTC day runs the periodic sweep for that day first.
func (w *work) advance(ts int64) {
	t := &w.st.times
	day := dayOf(ts)
	if t.SweptDay == 0 {
		t.SweptDay = day
	}
	if day > t.SweptDay {
		t.SweptDay = day
		t.Stream = max(t.Stream, day*dayMS)
		w.sweep(day * dayMS)
	}
	t.Stream = max(t.Stream, ts)
}

// sweep is the periodic backstop: every key is reviewed (closing its
// demand days, expiring what is overdue, (R, S) reviews), then lateral
// transfers are proposed per SKU.
func (w *work) sweep(ts int64) {
	keys := make([]Key, 0, len(w.st.keys))
	for k := range w.st.keys {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if a.SKU != b.SKU {
			return cmpStr(string(a.SKU), string(b.SKU))
		}
		return cmpStr(string(a.Warehouse), string(b.Warehouse))
	})
	for _, k := range keys {
		// Only a key the review changed goes to the changelog: most keys
		// are quiet on most days.
		if w.review(k, w.st.keys[k], ts, true) {
			w.d.keys[k] = true
		}
	}
	if ts < w.p.cfg.From.UnixMilli() || w.p.cfg.Planning.Transfer.ExcessCoverDays <= 0 {
		return
	}
	for i := 0; i < len(keys); {
		j := i
		for j < len(keys) && keys[j].SKU == keys[i].SKU {
			j++
		}
		if j-i > 1 {
			w.transfers(keys[i:j], ts)
		}
		i = j
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// plan is what the rule of k says at ts.
type plan struct {
	rule   Rule
	item   Item
	demand Demand
	params Params
	pos    Position
}

func (w *work) plan(k Key, ks *keyState, ts int64) plan {
	pl := plan{item: w.item(k.SKU), pos: ks.position()}
	pl.rule = w.p.cfg.Planning.RuleFor(k.SKU, Class(ks.Class))
	lead := w.leadTime(pl.item.Supplier, k.Warehouse)
	r := ks.Rate // days without events are closed on a copy: state changes only with events
	r.advance(dayOf(ts))
	pl.demand.Rate, pl.demand.RateSD = r.estimate()
	if f := w.st.forecasts[k]; f != nil {
		today := time.UnixMilli(ts).UTC().Format(time.DateOnly)
		i := slices.IndexFunc(f.Days, func(d event.ForecastDay) bool { return d.Day > today })
		if i >= 0 {
			pl.demand.Days, pl.demand.RunID = f.Days[i:], f.RunID
		}
	}
	pl.params = Compute(pl.rule, pl.item, w.p.cfg.Planning.Costs, pl.demand, lead)
	return pl
}

// expire cancels what waited too long: suggestions past their TTL,
// reorders far past their expected receipt, transfers never shipped.
func (w *work) expire(k Key, ks *keyState, ts int64) (changed bool) {
	if o := ks.Reorder; o != nil {
		if o.Status == event.ReorderSuggested && ts >= o.PlacedMS+w.p.cfg.SuggestTTL.Milliseconds() ||
			o.Status == event.ReorderOrdered && ts > o.expireMS() {
			w.close(ks, o, ts, 0, event.ReorderCancelled, reasonOverdue)
			ks.Reorder = nil
			changed = true
		}
	}
	for i := 0; i < len(ks.Inbound); i++ {
		o := ks.Inbound[i]
		if o.Status == event.ReorderSuggested && ts >= o.PlacedMS+w.p.cfg.SuggestTTL.Milliseconds() ||
			o.Status == event.ReorderOrdered && !o.Shipped && ts >= o.PlacedMS+unshippedTTL {
			w.close(ks, o, ts, 0, event.ReorderCancelled, reasonOverdue)
			w.forget(k, ks, o)
			i--
			changed = true
		}
	}
	return changed
}

// expireMS is when an ordered reorder is given up: two days, or three
// standard deviations of the lead time, after it was due.
func (o *open) expireMS() int64 {
	slack := 2 * dayMS
	if o.Rec != nil {
		slack = max(slack, int64(3*o.Rec.LeadTimeSDDays*float64(dayMS)))
	}
	return o.DueMS + slack
}

// review is the continuous review of one key at event time ts (periodic:
// the daily sweep). At most one purchase reorder is open per key. It
// reports whether it changed the key's state.
func (w *work) review(k Key, ks *keyState, ts int64, periodic bool) (changed bool) {
	changed = w.expire(k, ks, ts)
	if ks.Reorder != nil || ts < w.p.cfg.From.UnixMilli() {
		return changed
	}
	pl := w.plan(k, ks, ts)
	reason := reasonReorderPoint
	if periodic {
		reason = reasonSweep
	}
	due := false
	if pl.rule.Policy == PolicyRS {
		day := dayOf(ts)
		if !periodic || day-ks.ReviewedDay < int64(max(pl.rule.ReviewDays, 1)) {
			return changed
		}
		ks.ReviewedDay, due, reason, changed = day, true, reasonReview, true
	}
	q := Quantity(pl.rule, pl.item, pl.params, pl.pos.Value(), due)
	if q <= 0 {
		return changed
	}
	ks.Cycle++
	id := fmt.Sprintf("RO-%s-%s-%d", k.SKU, k.Warehouse, ks.Cycle)
	rec := w.decision(k, pl, ts, id, event.ReorderPurchase, ks.Cycle, q, reason)
	rec.Supplier = pl.item.Supplier
	ks.Reorder = &open{ID: id, Kind: event.ReorderPurchase, Status: rec.Status, Cycle: ks.Cycle, Qty: q,
		PlacedMS: ts, DueMS: rec.ExpectedBy.UnixMilli(), Supplier: pl.item.Supplier, Rec: rec}
	w.emit(rec)
	return true
}

// decision builds the record of a new reorder or transfer to k.
func (w *work) decision(k Key, pl plan, ts int64, id string, kind event.ReorderKind, cycle, qty int64, reason string) *event.Reorder {
	status := event.ReorderOrdered
	if pl.rule.Mode == ModeSuggest {
		status = event.ReorderSuggested
	}
	src := "sales"
	if pl.demand.RunID != "" {
		src = "forecast"
	}
	lead := pl.params.Lead
	return &event.Reorder{
		ReorderID: id, Kind: kind, Status: status, TS: time.UnixMilli(ts).UTC(),
		SKU: k.SKU, Warehouse: k.Warehouse, Cycle: cycle, Qty: qty, Reason: reason, Mode: string(pl.rule.Mode),
		Policy: string(pl.rule.Policy), Target: string(pl.rule.Target), Service: pl.rule.Service,
		Class:             w.st.keys[k].Class,
		InventoryPosition: pl.pos.Value(), OnHand: pl.pos.OnHand, OnOrder: pl.pos.OnOrder,
		InTransit: pl.pos.InTransit, Backorders: pl.pos.Backorders, Reserved: pl.pos.Reserved,
		ReorderPoint: round3(pl.params.ReorderPoint), OrderUpTo: round3(pl.params.OrderUpTo),
		OrderQty: round3(pl.params.OrderQty), SafetyStock: round3(pl.params.SafetyStock),
		LeadDemand: round3(pl.params.LeadDemand), LeadDemandSD: round3(pl.params.LeadDemandSD),
		DailyDemand: round3(pl.params.DailyDemand), LeadTimeDays: round3(lead.MeanDays),
		LeadTimeSDDays: round3(lead.SDDays), ForecastRunID: pl.demand.RunID, DemandSource: src,
		UnitCost:   pl.item.UnitCost,
		ExpectedBy: time.UnixMilli(ts + int64(lead.MeanDays*float64(dayMS))).UTC(),
	}
}

func round3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// transfers proposes lateral transfers among one SKU's warehouses (keys
// sorted by warehouse).
func (w *work) transfers(keys []Key, ts int64) {
	sku := keys[0].SKU
	item := w.item(sku)
	sites := make([]Site, 0, len(keys))
	plans := make(map[event.WarehouseID]plan, len(keys))
	for _, k := range keys {
		ks := w.st.keys[k]
		pl := w.plan(k, ks, ts)
		plans[k.Warehouse] = pl
		sites = append(sites, Site{Warehouse: k.Warehouse, Region: w.p.cfg.Regions[k.Warehouse],
			Position: pl.pos, Params: pl.params, Demand: pl.demand})
	}
	for _, tr := range ProposeTransfers(item, sites, w.p.cfg.Planning.Transfer) {
		to, from := Key{SKU: sku, Warehouse: tr.To}, Key{SKU: sku, Warehouse: tr.From}
		dst, src := w.st.keys[to], w.st.keys[from]
		if dst == nil || src == nil || tr.Qty <= 0 || len(dst.Inbound) > 0 || len(src.Outbound) > 0 {
			continue
		}
		ss := w.st.skus[sku]
		if ss == nil {
			ss = new(skuState)
			w.st.skus[sku] = ss
		}
		ss.Transfers++
		w.d.skus[sku] = true
		id := fmt.Sprintf("TO-%s-%s-%s-%d", sku, tr.From, tr.To, ss.Transfers)
		pl := plans[tr.To]
		rec := w.decision(to, pl, ts, id, event.ReorderTransfer, ss.Transfers, tr.Qty, reasonExcessCover)
		rec.FromWarehouse = tr.From
		rec.TransferCost, rec.ShortageCost = round3(tr.Cost), round3(tr.ShortageCost)
		rec.LeadTimeDays, rec.LeadTimeSDDays = float64(tr.TransitDays), 0
		rec.ExpectedBy = time.UnixMilli(ts + int64(tr.TransitDays)*dayMS).UTC()
		o := &open{ID: id, Kind: event.ReorderTransfer, Status: rec.Status, Cycle: ss.Transfers, Qty: tr.Qty,
			PlacedMS: ts, DueMS: rec.ExpectedBy.UnixMilli(), From: tr.From, To: tr.To, Rec: rec}
		dst.Inbound = append(dst.Inbound, o)
		out := *o
		out.Rec = nil
		src.Outbound = append(src.Outbound, &out)
		w.d.keys[to], w.d.keys[from] = true, true
		w.emit(rec)
	}
}

// emit produces a reorder record keyed by SKU to the partition in hand.
func (w *work) emit(rec *event.Reorder) {
	v, err := json.Marshal(rec)
	if err != nil {
		w.tx.Fail(fmt.Errorf("encode reorder %s: %w", rec.ReorderID, err))
		return
	}
	w.p.produce(w.ctx, w.tx, &kgo.Record{Topic: kafka.TopicReorders, Partition: w.part, Key: []byte(rec.SKU), Value: v})
	w.p.metrics.Records.WithLabelValues(string(rec.Kind), string(rec.Status)).Inc()
	switch rec.Status {
	case event.ReorderOrdered, event.ReorderSuggested:
		if rec.Reason == reasonApproved {
			break
		}
		if rec.Kind == event.ReorderTransfer {
			w.p.transfers.Add(1)
		} else {
			w.p.reorders.Add(1)
		}
	case event.ReorderReceived:
		w.p.received.Add(1)
	case event.ReorderCancelled:
		w.p.cancelled.Add(1)
	}
}

// deadLetter sends an input record the pipeline cannot use to the DLQ with
// its reason; the pipeline goes on.
func (w *work) deadLetter(r *kgo.Record, err error) {
	w.p.dlq.Add(1)
	w.p.metrics.DLQ.WithLabelValues(string(event.ReasonOf(err))).Inc()
	typ := "approval"
	switch r.Topic {
	case kafka.TopicForecasts:
		typ = "forecast"
	case kafka.TopicAccepted:
		typ = string(header(r, event.HeaderEventType))
	}
	w.p.produce(w.ctx, w.tx, kafka.DeadLetter(r, typ, err))
}
