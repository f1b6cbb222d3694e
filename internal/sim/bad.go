package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// The bad-input classes, in the order of badReasons.
const (
	badMalformed = iota
	badMissing
	badWrongType
	badNegative
	badUnknownWarehouse
	badFuture
	badOversize
	badDuplicate
	nReasons
)

// badReasons are the DLQ reasons the pipeline is expected to give.
var badReasons = [nReasons]event.Reason{
	event.ReasonMalformedJSON,
	event.ReasonMissingField,
	event.ReasonWrongType,
	event.ReasonNegativeQty,
	event.ReasonUnknownWarehouse,
	event.ReasonFutureTimestamp,
	event.ReasonOversize,
	event.ReasonDuplicateEvent,
}

// maxValue is the largest value the pipeline accepts.
const maxValue = event.DefaultMaxBytes

// badTopics lists the topics on which each class can occur.
var badTopics = [nReasons][]int{
	badMalformed:        {topicSales, topicStock, topicOrders, topicCampaigns},
	badMissing:          {topicSales, topicStock, topicOrders, topicCampaigns},
	badWrongType:        {topicSales, topicStock, topicOrders, topicCampaigns},
	badNegative:         {topicSales, topicStock, topicOrders},
	badUnknownWarehouse: {topicSales, topicStock},
	badFuture:           {topicSales, topicStock, topicOrders, topicCampaigns},
	badOversize:         {topicSales, topicStock, topicOrders, topicCampaigns},
}

// missingFields are fields whose absence no decoder can mistake for another
// defect (no quantities: a missing qty decodes as 0).
var missingFields = [nTopics][]string{
	topicSales:     {"event_id", "ts", "sku", "warehouse"},
	topicStock:     {"event_id", "ts", "sku", "warehouse", "kind"},
	topicOrders:    {"event_id", "ts", "order_id", "lines"},
	topicCampaigns: {"event_id", "ts", "campaign_id", "start", "end"},
}

// wrongTypes replace a field with a value of the wrong JSON type, one that
// encoding/json refuses with an UnmarshalTypeError.
var wrongTypes = [nTopics][][2]string{
	topicSales:     {{"qty", `"2"`}, {"sku", `123`}, {"warehouse", `1`}, {"unit_price", `"9.99"`}},
	topicStock:     {{"qty", `"5"`}, {"kind", `3`}, {"sku", `{}`}},
	topicOrders:    {{"lines", `"SKU-000001"`}, {"order_id", `42`}, {"ship_to", `"10001"`}},
	topicCampaigns: {{"expected_uplift", `"high"`}, {"campaign_id", `7`}, {"skus", `"SKU-000001"`}},
}

// emitBad sends one bad record of class reason (random when < 0) on topic
// (random among those the class allows when < 0, or when not allowed).
// Bad records never touch the simulated stock.
func (s *Sim) emitBad(reason, topic int) error {
	r := s.r
	if reason < 0 {
		reason = r.IntN(nReasons)
	}
	t := s.ts(s.curAt)
	if reason == badDuplicate {
		if rec, ok := s.duplicable(topic, t); ok {
			tp := 0
			for tp < nTopics-1 && topicNames[tp] != rec.Topic {
				tp++
			}
			return s.send(Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, TS: t}, tp, badDuplicate)
		}
		reason = badMalformed
	}
	if ok := topic >= 0 && contains(badTopics[reason], topic); !ok {
		topic = badTopics[reason][r.IntN(len(badTopics[reason]))]
	}
	id := s.ids.id()
	tsField := t
	if reason == badFuture {
		base := time.UnixMilli(s.endMs).UTC()
		if s.live {
			base = t
		}
		tsField = base.Add(time.Duration(3+r.IntN(28))*24*time.Hour + time.Duration(r.Int64N(int64(24*time.Hour))))
		tsField = tsField.Truncate(time.Millisecond)
	}
	sku := r.IntN(s.nS)
	w := r.IntN(s.nW)
	whID := s.whs[w].ID
	if reason == badUnknownWarehouse {
		whID = warehouseID(s.nW + r.IntN(99-s.nW))
	}
	neg := reason == badNegative
	big := reason == badOversize

	var key []byte
	var v any
	switch topic {
	case topicSales:
		key = s.skuKey[sku]
		price, cur := s.unitPrice(sku*s.nW + w)
		ev := &event.Sale{
			EventID: id, TS: tsField, SKU: s.items[sku].SKU, Warehouse: whID, Qty: int64(1 + r.IntN(3)),
			Channel: "store", UnitPrice: price, Currency: cur,
		}
		if neg {
			ev.Qty = -ev.Qty
		}
		if big {
			ev.OrderID = "ORD-" + strings.Repeat("0", maxValue+r.IntN(8192))
			ev.Channel = "web"
		}
		v = ev
	case topicStock:
		key = s.skuKey[sku]
		kinds := [...]event.StockKind{event.KindCount, event.KindReturn, event.KindDamage}
		ev := &event.Stock{
			EventID: id, TS: tsField, SKU: s.items[sku].SKU, Warehouse: whID,
			Kind: kinds[r.IntN(len(kinds))], Qty: int64(1 + r.IntN(20)),
		}
		if neg {
			ev.Qty = -ev.Qty
		}
		if big {
			ev.Ref = "NOTE-" + strings.Repeat("x", maxValue+r.IntN(8192))
		}
		v = ev
	case topicOrders:
		orderID := "ORD-" + id
		key = []byte(orderID)
		n := 1 + r.IntN(3)
		if big {
			n = maxValue/24 + r.IntN(512) // each line is at least 27 bytes
		}
		lines := make([]event.OrderLine, n)
		for j := range lines {
			lines[j] = event.OrderLine{SKU: s.items[(sku+j)%s.nS].SKU, Qty: int64(1 + r.IntN(2))}
		}
		if neg {
			lines[r.IntN(n)].Qty = -int64(1 + r.IntN(3))
		}
		cs := s.catchment[w]
		v = &event.Order{
			EventID: id, TS: tsField, OrderID: orderID, Lines: lines,
			ShipTo: s.address(int(cs[r.IntN(len(cs))])), ServiceLevel: "standard",
			PromisedBy: tsField.Truncate(24 * time.Hour).Add(6*24*time.Hour - time.Second),
		}
	case topicCampaigns:
		campaignID := "CMP-" + id
		key = []byte(campaignID)
		day := tsField.Truncate(24 * time.Hour)
		ev := &event.Campaign{
			EventID: id, TS: tsField, CampaignID: campaignID,
			SKUs:    []event.SKU{s.items[sku].SKU},
			Regions: []string{s.whs[w].Region},
			Start:   day.Add(5 * 24 * time.Hour), End: day.Add(12 * 24 * time.Hour), ExpectedUplift: 0.5,
		}
		if big {
			ev.SKUs = make([]event.SKU, maxValue/12+r.IntN(512)) // each entry is at least 13 bytes
			for j := range ev.SKUs {
				ev.SKUs[j] = s.items[(sku+j)%s.nS].SKU
			}
		}
		v = ev
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("sim: encode bad %s event: %w", topicNames[topic], err)
	}
	switch reason {
	case badMalformed:
		b = malform(b, r.IntN(4), r.IntN(len(b)-1))
	case badMissing:
		fs := missingFields[topic]
		b, err = editField(b, fs[r.IntN(len(fs))], "")
	case badWrongType:
		fs := wrongTypes[topic]
		f := fs[r.IntN(len(fs))]
		b, err = editField(b, f[0], f[1])
	}
	if err != nil {
		return fmt.Errorf("sim: make %s record: %w", badReasons[reason], err)
	}
	return s.send(Record{Topic: topicNames[topic], Key: key, Value: b, TS: t}, topic, reason)
}

// duplicable picks a recent good record to send again, on topic if >= 0:
// one from less than a day ago, well inside the 7-day dedup window.
func (s *Sim) duplicable(topic int, now time.Time) (Record, bool) {
	n := min(s.nRec, len(s.recent))
	if n == 0 {
		return Record{}, false
	}
	start := s.r.IntN(n)
	for j := range n {
		rec := s.recent[(start+j)%n]
		if topic >= 0 && rec.Topic != topicNames[topic] {
			continue
		}
		if now.Sub(rec.TS) < 24*time.Hour {
			return rec, true
		}
	}
	return Record{}, false
}

// malform breaks valid JSON b in one of four ways; cut < len(b)-1.
func malform(b []byte, how, cut int) []byte {
	switch how {
	case 0: // truncated: no proper prefix of an object is valid JSON
		return b[:cut+1]
	case 1: // trailing garbage
		return append(b[:len(b):len(b)], "}"...)
	case 2: // key and value joined by '=' instead of ':'
		out := append([]byte(nil), b...)
		for i, c := range out {
			if c == ':' {
				out[i] = '='
				break
			}
		}
		return out
	default: // a proxy's error page
		return []byte("<html><body><h1>502 Bad Gateway</h1></body></html>")
	}
}

// editField removes field from the JSON object b (raw == "") or replaces its
// value with raw. The result has its keys sorted, like any map encoding.
func editField(b []byte, field, raw string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if _, ok := m[field]; !ok {
		return nil, fmt.Errorf("field %q absent", field)
	}
	if raw == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(raw)
	}
	return json.Marshal(m)
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
