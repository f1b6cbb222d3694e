package event

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// This file generates random valid events for the differential tests and
// compares decoded events.

// runes are what generated strings are made of: plain ASCII, the characters
// encoding/json escapes (quote, backslash, control characters, <, >, &,
// U+2028), and multi-byte UTF-8 including a character outside the BMP.
var runes = []rune("abcXYZ019-_ ./:\"\\<>&\x00\x01\x1f\x7f\t\néß日本🛒\u2028\u2029\ufffd")

func genString(r *rand.Rand) string {
	n := 1 + r.IntN(12)
	var sb strings.Builder
	for range n {
		if r.IntN(3) == 0 {
			sb.WriteRune(runes[r.IntN(len(runes))])
		} else {
			sb.WriteByte("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"[r.IntN(37)])
		}
	}
	return sb.String()
}

func genCode(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + r.IntN(26))
	}
	return string(b)
}

// genTime returns a time between the years 2 and 9998 (so that any offset
// keeps it inside RFC 3339's four-digit years), at whole seconds or with
// nanoseconds, in UTC or at a fixed offset of whole minutes below 24 hours.
func genTime(r *rand.Rand) time.Time {
	const lo, hi = -62104060800, 253370764800 // 0002-01-01, 9998-12-31
	var t time.Time
	switch r.IntN(4) {
	case 0:
		t = time.Unix(lo+r.Int64N(hi-lo), 0)
	case 1:
		t = time.Unix(lo+r.Int64N(hi-lo), r.Int64N(1e9))
	default: // recent, the usual case
		t = time.Unix(1_700_000_000+r.Int64N(100_000_000), r.Int64N(1e9)/1e6*1e6)
	}
	if r.IntN(2) == 0 {
		return t.UTC()
	}
	off := (r.IntN(2*24*60-1) - (24*60 - 1)) * 60
	return t.In(time.FixedZone("", off))
}

func genQty(r *rand.Rand) int64 {
	switch r.IntN(4) {
	case 0:
		return 1 + r.Int64N(math.MaxInt64)
	case 1:
		return math.MaxInt64
	default:
		return 1 + r.Int64N(100)
	}
}

func genFloat(r *rand.Rand, lo, hi float64) float64 {
	switch r.IntN(6) {
	case 0:
		return lo
	case 1:
		return hi
	case 2:
		return math.Round((lo+r.Float64()*(hi-lo))*100) / 100
	default:
		return lo + r.Float64()*(hi-lo)
	}
}

func genPrice(r *rand.Rand) float64 {
	switch r.IntN(5) {
	case 0:
		return 0
	case 1:
		return math.SmallestNonzeroFloat64 * float64(1+r.IntN(10))
	case 2:
		return math.Abs(math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.IntN(0x7ff))<<52)) // any finite
	default:
		return math.Round(r.Float64()*10000) / 100
	}
}

func genSale(r *rand.Rand) Sale {
	s := Sale{
		EventID: genString(r), TS: genTime(r), SKU: SKU(genString(r)), Warehouse: WarehouseID(genString(r)),
		Qty: genQty(r), Channel: genString(r), UnitPrice: genPrice(r), Currency: genCode(r, 3),
	}
	if r.IntN(2) == 0 {
		s.OrderID = genString(r)
	}
	return s
}

var kinds = []StockKind{KindReceipt, KindAdjustment, KindCount, KindTransferOut, KindTransferIn, KindReturn, KindDamage}

func genStock(r *rand.Rand) Stock {
	s := Stock{
		EventID: genString(r), TS: genTime(r), SKU: SKU(genString(r)), Warehouse: WarehouseID(genString(r)),
		Kind: kinds[r.IntN(len(kinds))], Qty: genQty(r),
	}
	switch s.Kind {
	case KindAdjustment:
		if r.IntN(2) == 0 {
			s.Qty = -s.Qty
		}
		if r.IntN(10) == 0 {
			s.Qty = math.MinInt64
		}
	case KindCount:
		if r.IntN(4) == 0 {
			s.Qty = 0
		}
	}
	if r.IntN(2) == 0 {
		s.Ref = genString(r)
	}
	return s
}

func genOrder(r *rand.Rand) Order {
	o := Order{
		EventID: genString(r), TS: genTime(r), OrderID: genString(r),
		ShipTo: Address{
			PostalCode: genString(r), Country: genCode(r, 2),
			Lat: genFloat(r, -90, 90), Lon: genFloat(r, -180, 180),
		},
		ServiceLevel: genString(r), PromisedBy: genTime(r),
	}
	o.Lines = make([]OrderLine, 1+r.IntN(20))
	for i := range o.Lines {
		o.Lines[i] = OrderLine{SKU: SKU(genString(r)), Qty: genQty(r)}
	}
	return o
}

func genList[T ~string](r *rand.Rand) []T {
	if r.IntN(2) == 0 {
		return nil
	}
	l := make([]T, 1+r.IntN(20))
	for i := range l {
		l[i] = T(genString(r))
	}
	return l
}

func genCampaign(r *rand.Rand) Campaign {
	c := Campaign{
		EventID: genString(r), TS: genTime(r), CampaignID: genString(r),
		Regions: genList[string](r), Warehouses: genList[WarehouseID](r),
		Start: genTime(r), ExpectedUplift: genFloat(r, -1, 5),
	}
	c.End = c.Start.Add(1 + time.Duration(r.Int64N(int64(365*24*time.Hour))))
	switch r.IntN(3) {
	case 0:
		c.Category = genString(r)
	case 1:
		c.SKUs = genList[SKU](r)
		c.Category = genString(r)
	default:
		for c.SKUs == nil {
			c.SKUs = genList[SKU](r)
		}
	}
	return c
}

// gen returns a pointer to a random valid event of type t.
func gen(r *rand.Rand, t Type) any {
	switch t {
	case TypeSale:
		v := genSale(r)
		return &v
	case TypeStock:
		v := genStock(r)
		return &v
	case TypeOrder:
		v := genOrder(r)
		return &v
	case TypeCampaign:
		v := genCampaign(r)
		return &v
	}
	panic("gen: unknown type")
}

// newEvent returns a pointer to a zero event of type t.
func newEvent(t Type) any {
	switch t {
	case TypeSale:
		return new(Sale)
	case TypeStock:
		return new(Stock)
	case TypeOrder:
		return new(Order)
	case TypeCampaign:
		return new(Campaign)
	}
	panic("newEvent: unknown type")
}

var types = []Type{TypeSale, TypeStock, TypeOrder, TypeCampaign}

// sameEvent reports whether two events (pointers) are equal: every time
// field is the same instant at the same UTC offset, and the rest is deeply
// equal. It does not compare *time.Location pointers, which differ between
// two parses of the same fixed offset.
func sameEvent(a, b any) bool {
	ta, tb := times(a), times(b)
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		_, oa := ta[i].Zone()
		_, ob := tb[i].Zone()
		if !ta[i].Equal(tb[i]) || oa != ob {
			return false
		}
	}
	return reflect.DeepEqual(inUTC(a), inUTC(b))
}

func times(v any) []time.Time {
	switch e := v.(type) {
	case *Sale:
		return []time.Time{e.TS}
	case *Stock:
		return []time.Time{e.TS}
	case *Order:
		return []time.Time{e.TS, e.PromisedBy}
	case *Campaign:
		return []time.Time{e.TS, e.Start, e.End}
	}
	return nil
}

func inUTC(v any) any {
	switch e := v.(type) {
	case *Sale:
		c := *e
		c.TS = c.TS.UTC()
		return c
	case *Stock:
		c := *e
		c.TS = c.TS.UTC()
		return c
	case *Order:
		c := *e
		c.TS, c.PromisedBy = c.TS.UTC(), c.PromisedBy.UTC()
		return c
	case *Campaign:
		c := *e
		c.TS, c.Start, c.End = c.TS.UTC(), c.Start.UTC(), c.End.UTC()
		return c
	}
	return v
}

// asciiOnly rewrites every non-ASCII character of a JSON text as a \u
// escape (with surrogate pairs outside the BMP). In a JSON text non-ASCII
// can only occur inside strings, so the result means the same.
func asciiOnly(b []byte) []byte {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(b)*2)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			continue
		}
		units := []rune{r}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			units = []rune{r1, r2}
		}
		for _, u := range units {
			out = append(out, '\\', 'u', hex[u>>12&15], hex[u>>8&15], hex[u>>4&15], hex[u&15])
		}
	}
	return out
}
