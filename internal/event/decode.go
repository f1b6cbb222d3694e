package event

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"time"
)

// DecodeSale decodes a stockflow.sales.v1 record into s, by the rules in
// the package documentation. On error s is left as it was.
func DecodeSale(b []byte, s *Sale) error {
	const (
		fEventID = 1 << iota
		fTS
		fSKU
		fWarehouse
		fQty
		fOrderID
		fChannel
		fUnitPrice
		fCurrency
		required = fEventID | fTS | fSKU | fWarehouse | fQty | fChannel | fUnitPrice | fCurrency
	)
	d := decoder{b: b}
	var (
		v                                            Sale
		seen                                         uint32
		eventID, sku, wh, orderID, channel, currency text
	)
	if d.top() {
		for first := true; d.next(&first); {
			switch string(d.key) {
			case "event_id":
				if x, ok := d.str(field("event_id")); ok {
					eventID, seen = x, seen|fEventID
				}
			case "ts":
				if x, ok := d.timestamp(field("ts")); ok {
					v.TS, seen = x, seen|fTS
				}
			case "sku":
				if x, ok := d.str(field("sku")); ok {
					sku, seen = x, seen|fSKU
				}
			case "warehouse":
				if x, ok := d.str(field("warehouse")); ok {
					wh, seen = x, seen|fWarehouse
				}
			case "qty":
				if x, ok := d.integer(field("qty")); ok {
					v.Qty, seen = x, seen|fQty
				}
			case "order_id":
				if x, ok := d.str(field("order_id")); ok {
					orderID, seen = x, seen|fOrderID
				}
			case "channel":
				if x, ok := d.str(field("channel")); ok {
					channel, seen = x, seen|fChannel
				}
			case "unit_price":
				if x, ok := d.float(field("unit_price")); ok {
					v.UnitPrice, seen = x, seen|fUnitPrice
				}
			case "currency":
				if x, ok := d.str(field("currency")); ok {
					currency, seen = x, seen|fCurrency
				}
			default:
				d.skip()
			}
		}
	}
	if err := d.finish(); err != nil {
		return err
	}
	if err := missing(seen, required, saleFields[:]); err != nil {
		return err
	}
	v.EventID = d.own(eventID)
	a := arena{in: b}
	a.sb.Grow(sku.n() + wh.n() + orderID.n() + channel.n() + currency.n())
	a.add(&sku)
	a.add(&wh)
	a.add(&orderID)
	a.add(&channel)
	a.add(&currency)
	all := a.sb.String()
	v.SKU = SKU(sku.of(all))
	v.Warehouse = WarehouseID(wh.of(all))
	v.OrderID = orderID.of(all)
	v.Channel = channel.of(all)
	v.Currency = currency.of(all)
	switch {
	case v.EventID == "":
		return emptyErr(field("event_id"))
	case v.SKU == "":
		return emptyErr(field("sku"))
	case v.Warehouse == "":
		return emptyErr(field("warehouse"))
	case v.Qty <= 0:
		return qtyErr(field("qty"), "must be > 0", v.Qty)
	case seen&fOrderID != 0 && v.OrderID == "":
		return emptyErr(field("order_id"))
	case v.Channel == "":
		return emptyErr(field("channel"))
	case v.UnitPrice < 0:
		return invalid(field("unit_price"), fmt.Sprintf("must be >= 0, got %v", v.UnitPrice))
	case !upper(v.Currency, 3):
		return invalid(field("currency"), fmt.Sprintf("%q is not an ISO 4217 code (three upper-case letters)", v.Currency))
	}
	*s = v
	return nil
}

var saleFields = [...]string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency"}

// DecodeStock decodes a stockflow.stock.v1 record into s, by the rules in
// the package documentation. On error s is left as it was.
func DecodeStock(b []byte, s *Stock) error {
	const (
		fEventID = 1 << iota
		fTS
		fSKU
		fWarehouse
		fKind
		fQty
		fRef
		required = fEventID | fTS | fSKU | fWarehouse | fKind | fQty
	)
	d := decoder{b: b}
	var (
		v                           Stock
		seen                        uint32
		eventID, sku, wh, kind, ref text
	)
	if d.top() {
		for first := true; d.next(&first); {
			switch string(d.key) {
			case "event_id":
				if x, ok := d.str(field("event_id")); ok {
					eventID, seen = x, seen|fEventID
				}
			case "ts":
				if x, ok := d.timestamp(field("ts")); ok {
					v.TS, seen = x, seen|fTS
				}
			case "sku":
				if x, ok := d.str(field("sku")); ok {
					sku, seen = x, seen|fSKU
				}
			case "warehouse":
				if x, ok := d.str(field("warehouse")); ok {
					wh, seen = x, seen|fWarehouse
				}
			case "kind":
				if x, ok := d.str(field("kind")); ok {
					kind, seen = x, seen|fKind
					v.Kind = d.stockKind(x)
				}
			case "qty":
				if x, ok := d.integer(field("qty")); ok {
					v.Qty, seen = x, seen|fQty
				}
			case "ref":
				if x, ok := d.str(field("ref")); ok {
					ref, seen = x, seen|fRef
				}
			default:
				d.skip()
			}
		}
	}
	if err := d.finish(); err != nil {
		return err
	}
	if err := missing(seen, required, stockFields[:]); err != nil {
		return err
	}
	v.EventID = d.own(eventID)
	a := arena{in: b}
	a.sb.Grow(sku.n() + wh.n() + ref.n())
	a.add(&sku)
	a.add(&wh)
	a.add(&ref)
	all := a.sb.String()
	v.SKU = SKU(sku.of(all))
	v.Warehouse = WarehouseID(wh.of(all))
	v.Ref = ref.of(all)
	switch {
	case v.EventID == "":
		return emptyErr(field("event_id"))
	case v.SKU == "":
		return emptyErr(field("sku"))
	case v.Warehouse == "":
		return emptyErr(field("warehouse"))
	case v.Kind == "":
		return invalid(field("kind"), fmt.Sprintf("%q is not a stock kind (receipt, adjustment, count, transfer_out, transfer_in, return, damage)", d.own(kind)))
	case v.Kind == KindAdjustment && v.Qty == 0:
		return invalid(field("qty"), "an adjustment must not be zero")
	case v.Kind == KindCount && v.Qty < 0:
		return qtyErr(field("qty"), "a count must be >= 0", v.Qty)
	case v.Kind != KindAdjustment && v.Kind != KindCount && v.Qty <= 0:
		return qtyErr(field("qty"), "must be > 0 for kind "+string(v.Kind), v.Qty)
	case seen&fRef != 0 && v.Ref == "":
		return emptyErr(field("ref"))
	}
	*s = v
	return nil
}

var stockFields = [...]string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "ref"}

// stockKind returns the constant for a known kind, or "".
func (d *decoder) stockKind(t text) StockKind {
	b := d.b[t.off:t.end]
	var scratch [scratchSize]byte
	if t.esc {
		b = unescape(scratch[:0], b)
	}
	switch string(b) {
	case "receipt":
		return KindReceipt
	case "adjustment":
		return KindAdjustment
	case "count":
		return KindCount
	case "transfer_out":
		return KindTransferOut
	case "transfer_in":
		return KindTransferIn
	case "return":
		return KindReturn
	case "damage":
		return KindDamage
	}
	return ""
}

// line is an order line while its order is decoded.
type line struct {
	sku  text
	qty  int64
	seen uint8 // 1: sku, 2: qty
}

// DecodeOrder decodes a stockflow.orders.v1 record into o, by the rules in
// the package documentation. On error o is left as it was.
func DecodeOrder(b []byte, o *Order) error {
	const (
		fEventID = 1 << iota
		fTS
		fOrderID
		fLines
		fShipTo
		fServiceLevel
		fPromisedBy
		required = fEventID | fTS | fOrderID | fLines | fShipTo | fServiceLevel | fPromisedBy
	)
	const (
		fPostalCode = 1 << iota
		fCountry
		fLat
		fLon
		shipRequired = fPostalCode | fCountry | fLat | fLon
	)
	d := decoder{b: b}
	var (
		v                                               Order
		seen, shipSeen                                  uint32
		eventID, orderID, serviceLevel, postal, country text
		lineArr                                         [16]line
	)
	lines := lineArr[:0]
	if d.top() {
		for first := true; d.next(&first); {
			switch string(d.key) {
			case "event_id":
				if x, ok := d.str(field("event_id")); ok {
					eventID, seen = x, seen|fEventID
				}
			case "ts":
				if x, ok := d.timestamp(field("ts")); ok {
					v.TS, seen = x, seen|fTS
				}
			case "order_id":
				if x, ok := d.str(field("order_id")); ok {
					orderID, seen = x, seen|fOrderID
				}
			case "lines":
				lines, seen = lines[:0], seen&^fLines
				if d.b[d.i] != '[' {
					if !d.null() {
						d.wrongType(field("lines"), "array")
					}
					break
				}
				seen |= fLines
				if !d.open() {
					break
				}
				for first := true; d.nextElem(&first); {
					lines = append(lines, d.orderLine(len(lines)))
				}
			case "ship_to":
				shipSeen, seen = 0, seen&^fShipTo
				if d.b[d.i] != '{' {
					if !d.null() {
						d.wrongType(field("ship_to"), "object")
					}
					break
				}
				seen |= fShipTo
				v.ShipTo = Address{}
				if !d.open() {
					break
				}
				for first := true; d.next(&first); {
					switch string(d.key) {
					case "postal_code":
						if x, ok := d.str(shipTo("postal_code")); ok {
							postal, shipSeen = x, shipSeen|fPostalCode
						}
					case "country":
						if x, ok := d.str(shipTo("country")); ok {
							country, shipSeen = x, shipSeen|fCountry
						}
					case "lat":
						if x, ok := d.float(shipTo("lat")); ok {
							v.ShipTo.Lat, shipSeen = x, shipSeen|fLat
						}
					case "lon":
						if x, ok := d.float(shipTo("lon")); ok {
							v.ShipTo.Lon, shipSeen = x, shipSeen|fLon
						}
					default:
						d.skip()
					}
				}
			case "service_level":
				if x, ok := d.str(field("service_level")); ok {
					serviceLevel, seen = x, seen|fServiceLevel
				}
			case "promised_by":
				if x, ok := d.timestamp(field("promised_by")); ok {
					v.PromisedBy, seen = x, seen|fPromisedBy
				}
			default:
				d.skip()
			}
		}
	}
	if err := d.finish(); err != nil {
		return err
	}
	// Missing fields, in declaration order, nested ones included.
	if err := missing(seen, fEventID|fTS|fOrderID|fLines, orderFields[:]); err != nil {
		return err
	}
	for i, l := range lines {
		if l.seen&1 == 0 {
			return missingErr(path{outer: "lines", idx: i, name: "sku"})
		}
		if l.seen&2 == 0 {
			return missingErr(path{outer: "lines", idx: i, name: "qty"})
		}
	}
	if seen&fShipTo == 0 {
		return missingErr(field("ship_to"))
	}
	if err := missing(shipSeen, shipRequired, shipToFields[:]); err != nil {
		return err
	}
	if err := missing(seen, required, orderFields[:]); err != nil {
		return err
	}
	v.EventID = d.own(eventID)
	a := arena{in: b}
	n := orderID.n() + postal.n() + country.n() + serviceLevel.n()
	for _, l := range lines {
		n += l.sku.n()
	}
	a.sb.Grow(n)
	a.add(&orderID)
	for i := range lines {
		a.add(&lines[i].sku)
	}
	a.add(&postal)
	a.add(&country)
	a.add(&serviceLevel)
	all := a.sb.String()
	v.OrderID = orderID.of(all)
	if len(lines) > 0 {
		v.Lines = make([]OrderLine, len(lines))
		for i, l := range lines {
			v.Lines[i] = OrderLine{SKU: SKU(l.sku.of(all)), Qty: l.qty}
		}
	}
	v.ShipTo.PostalCode = postal.of(all)
	v.ShipTo.Country = country.of(all)
	v.ServiceLevel = serviceLevel.of(all)
	// Values, in declaration order.
	switch {
	case v.EventID == "":
		return emptyErr(field("event_id"))
	case v.OrderID == "":
		return emptyErr(field("order_id"))
	case len(v.Lines) == 0:
		return invalid(field("lines"), "an order needs at least one line")
	}
	for i, l := range v.Lines {
		if l.SKU == "" {
			return emptyErr(path{outer: "lines", idx: i, name: "sku"})
		}
		if l.Qty <= 0 {
			return qtyErr(path{outer: "lines", idx: i, name: "qty"}, "must be > 0", l.Qty)
		}
	}
	switch {
	case v.ShipTo.PostalCode == "":
		return emptyErr(shipTo("postal_code"))
	case !upper(v.ShipTo.Country, 2):
		return invalid(shipTo("country"), fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 code (two upper-case letters)", v.ShipTo.Country))
	case v.ShipTo.Lat < -90 || v.ShipTo.Lat > 90:
		return invalid(shipTo("lat"), fmt.Sprintf("%v is not a latitude in [-90, 90]", v.ShipTo.Lat))
	case v.ShipTo.Lon < -180 || v.ShipTo.Lon > 180:
		return invalid(shipTo("lon"), fmt.Sprintf("%v is not a longitude in [-180, 180]", v.ShipTo.Lon))
	case v.ServiceLevel == "":
		return emptyErr(field("service_level"))
	}
	*o = v
	return nil
}

var (
	orderFields  = [...]string{"event_id", "ts", "order_id", "lines", "ship_to", "service_level", "promised_by"}
	shipToFields = [...]string{"ship_to.postal_code", "ship_to.country", "ship_to.lat", "ship_to.lon"}
)

func shipTo(name string) path { return path{outer: "ship_to", idx: -1, name: name} }

// orderLine reads element i of an order's lines.
func (d *decoder) orderLine(i int) line {
	var l line
	if d.b[d.i] != '{' {
		d.wrongType(path{outer: "lines", idx: i}, "object")
		return l
	}
	if !d.open() {
		return l
	}
	for first := true; d.next(&first); {
		switch string(d.key) {
		case "sku":
			if x, ok := d.str(path{outer: "lines", idx: i, name: "sku"}); ok {
				l.sku, l.seen = x, l.seen|1
			}
		case "qty":
			if x, ok := d.integer(path{outer: "lines", idx: i, name: "qty"}); ok {
				l.qty, l.seen = x, l.seen|2
			}
		default:
			d.skip()
		}
	}
	return l
}

// list is a decoded array of strings: the texts pool[from:to].
type list struct{ from, to int }

// strList reads an array of strings, appending their texts to pool. It
// returns ok false when the field has no value (null, a type error or a
// syntax error).
func (d *decoder) strList(name string, pool []text) (_ []text, l list, ok bool) {
	if d.b[d.i] != '[' {
		if !d.null() {
			d.wrongType(field(name), "array")
		}
		return pool, list{}, false
	}
	l.from = len(pool)
	if !d.open() {
		return pool, l, false
	}
	for first := true; d.nextElem(&first); {
		p := path{outer: name, idx: len(pool) - l.from}
		if d.b[d.i] != '"' {
			d.wrongType(p, "string")
			continue
		}
		if x, ok := d.str(p); ok {
			pool = append(pool, x)
		}
	}
	l.to = len(pool)
	return pool, l, true
}

// DecodeCampaign decodes a stockflow.campaigns.v1 record into c, by the
// rules in the package documentation. On error c is left as it was.
func DecodeCampaign(b []byte, c *Campaign) error {
	const (
		fEventID = 1 << iota
		fTS
		fCampaignID
		fSKUs
		fCategory
		fRegions
		fWarehouses
		fStart
		fEnd
		fUplift
	)
	d := decoder{b: b}
	var (
		v                             Campaign
		seen                          uint32
		eventID, campaignID, category text
		skus, regions, warehouses     list
		ok                            bool
		poolArr                       [16]text
	)
	pool := poolArr[:0]
	if d.top() {
		for first := true; d.next(&first); {
			switch string(d.key) {
			case "event_id":
				if x, ok := d.str(field("event_id")); ok {
					eventID, seen = x, seen|fEventID
				}
			case "ts":
				if x, ok := d.timestamp(field("ts")); ok {
					v.TS, seen = x, seen|fTS
				}
			case "campaign_id":
				if x, ok := d.str(field("campaign_id")); ok {
					campaignID, seen = x, seen|fCampaignID
				}
			case "skus":
				seen &^= fSKUs
				if pool, skus, ok = d.strList("skus", pool); ok {
					seen |= fSKUs
				}
			case "category":
				if x, ok := d.str(field("category")); ok {
					category, seen = x, seen|fCategory
				}
			case "regions":
				seen &^= fRegions
				if pool, regions, ok = d.strList("regions", pool); ok {
					seen |= fRegions
				}
			case "warehouses":
				seen &^= fWarehouses
				if pool, warehouses, ok = d.strList("warehouses", pool); ok {
					seen |= fWarehouses
				}
			case "start":
				if x, ok := d.timestamp(field("start")); ok {
					v.Start, seen = x, seen|fStart
				}
			case "end":
				if x, ok := d.timestamp(field("end")); ok {
					v.End, seen = x, seen|fEnd
				}
			case "expected_uplift":
				if x, ok := d.float(field("expected_uplift")); ok {
					v.ExpectedUplift, seen = x, seen|fUplift
				}
			default:
				d.skip()
			}
		}
	}
	if err := d.finish(); err != nil {
		return err
	}
	if err := missing(seen, fEventID|fTS|fCampaignID, campaignFields[:]); err != nil {
		return err
	}
	if seen&(fSKUs|fCategory) == 0 {
		return &Error{Reason: ReasonMissingField, Field: "skus", Msg: "a campaign needs skus or category (or both)"}
	}
	if err := missing(seen, fStart|fEnd|fUplift, campaignFields[:]); err != nil {
		return err
	}
	v.EventID = d.own(eventID)
	// Only the winning lists go into the arena.
	a := arena{in: b}
	n := campaignID.n() + category.n()
	for _, l := range [...]list{skus, regions, warehouses} {
		for _, t := range pool[l.from:l.to] {
			n += t.n()
		}
	}
	a.sb.Grow(n)
	a.add(&campaignID)
	a.add(&category)
	for _, l := range [...]list{skus, regions, warehouses} {
		for i := l.from; i < l.to; i++ {
			a.add(&pool[i])
		}
	}
	all := a.sb.String()
	v.CampaignID = campaignID.of(all)
	v.Category = category.of(all)
	v.SKUs = strs[SKU](all, pool[skus.from:skus.to])
	v.Regions = strs[string](all, pool[regions.from:regions.to])
	v.Warehouses = strs[WarehouseID](all, pool[warehouses.from:warehouses.to])
	switch {
	case v.EventID == "":
		return emptyErr(field("event_id"))
	case v.CampaignID == "":
		return emptyErr(field("campaign_id"))
	}
	if seen&fSKUs != 0 {
		if err := checkList(field("skus"), v.SKUs); err != nil {
			return err
		}
	}
	if seen&fCategory != 0 && v.Category == "" {
		return emptyErr(field("category"))
	}
	if seen&fRegions != 0 {
		if err := checkList(field("regions"), v.Regions); err != nil {
			return err
		}
	}
	if seen&fWarehouses != 0 {
		if err := checkList(field("warehouses"), v.Warehouses); err != nil {
			return err
		}
	}
	switch {
	case !v.End.After(v.Start):
		return invalid(field("end"), fmt.Sprintf("end %s is not after start %s",
			v.End.Format(time.RFC3339Nano), v.Start.Format(time.RFC3339Nano)))
	case v.ExpectedUplift < -1:
		return invalid(field("expected_uplift"), fmt.Sprintf("must be >= -1 (demand cannot fall below zero), got %v", v.ExpectedUplift))
	}
	*c = v
	return nil
}

var campaignFields = [...]string{"event_id", "ts", "campaign_id", "skus", "category", "regions", "warehouses", "start", "end", "expected_uplift"}

// checkList checks that a present list is non-empty and has no empty item.
func checkList[T ~string](p path, l []T) error {
	if len(l) == 0 {
		return invalid(p, "must not be empty when present (omit it instead)")
	}
	for i, s := range l {
		if s == "" {
			return emptyErr(path{outer: p.name, idx: i})
		}
	}
	return nil
}

// strs returns the strings of texts (added to the arena) in all, or nil for
// none.
func strs[T ~string](all string, texts []text) []T {
	if len(texts) == 0 {
		return nil
	}
	out := make([]T, len(texts))
	for i, t := range texts {
		out[i] = T(t.of(all))
	}
	return out
}

// missing returns a missing_field error for the first field (in bit order)
// that is required but not seen.
func missing(seen, required uint32, names []string) error {
	if m := required &^ seen; m != 0 {
		return &Error{Reason: ReasonMissingField, Field: names[bits.TrailingZeros32(m)], Msg: "required field is missing"}
	}
	return nil
}

func missingErr(p path) error {
	return &Error{Reason: ReasonMissingField, Field: p.String(), Msg: "required field is missing"}
}

func emptyErr(p path) error {
	return &Error{Reason: ReasonInvalidValue, Field: p.String(), Msg: "must not be empty"}
}

func invalid(p path, msg string) error {
	return &Error{Reason: ReasonInvalidValue, Field: p.String(), Msg: msg}
}

func qtyErr(p path, rule string, qty int64) error {
	return &Error{Reason: ReasonNegativeQty, Field: p.String(), Msg: fmt.Sprintf("%s, got %d", rule, qty)}
}

// upper reports whether b is exactly n upper-case ASCII letters.
func upper(b string, n int) bool {
	if len(b) != n {
		return false
	}
	for _, c := range []byte(b) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// Decode decodes a record of type t and returns a *Sale, *Stock, *Order or
// *Campaign.
func Decode(t Type, b []byte) (any, error) {
	var (
		v   any
		err error
	)
	switch t {
	case TypeSale:
		e := new(Sale)
		v, err = e, DecodeSale(b, e)
	case TypeStock:
		e := new(Stock)
		v, err = e, DecodeStock(b, e)
	case TypeOrder:
		e := new(Order)
		v, err = e, DecodeOrder(b, e)
	case TypeCampaign:
		e := new(Campaign)
		v, err = e, DecodeCampaign(b, e)
	default:
		return nil, fmt.Errorf("decode: no decoder for event type %s", t)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Encode returns the JSON of an event (a Sale, Stock, Order or Campaign,
// or a pointer to one): encoding/json on the tagged types is the encoder,
// and the decoders read back everything it writes.
func Encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return b, nil
}
