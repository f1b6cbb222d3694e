package stock

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

var awkward = []string{
	"", "SKU-1", "WH/BER", `quo"te`, `back\slash`, "tab\tnew\nline\r", "\x00\x1f\x7f", "<html>&amp;",
	"ümlaut-日本", "\u2028\u2029", "bad\xffutf8", "\xe2\x82", "emoji-😀",
}

// TestEncodeMatchesJSON proves the hand-written changelog encoders write
// byte for byte what encoding/json writes, for awkward strings, extreme
// numbers and random values.
func TestEncodeMatchesJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-7, 1.5e-6, 123456.789, 1e20, 1e21, 1.7976931348623157e308, 5e-324, -2.5e-9}
	for i := range 2000 {
		lv := Level{
			SKU: event.SKU(awkward[rng.IntN(len(awkward))]), Warehouse: event.WarehouseID(awkward[rng.IntN(len(awkward))]),
			OnHand: rng.Int64() - math.MaxInt64/2, Reserved: rng.Int64N(100), Available: -rng.Int64(),
			LastEventTS: rng.Int64(), Version: rng.Uint64(), HasCount: rng.IntN(2) == 0, CountTS: rng.Int64(),
			CountID: awkward[rng.IntN(len(awkward))], CountQty: rng.Int64N(1000), Folded: -rng.Int64N(1000), FoldedMaxTS: rng.Int64(),
		}
		for range rng.IntN(3) {
			lv.Pending = append(lv.Pending, delta{TS: rng.Int64(), Qty: rng.Int64N(21) - 10})
		}
		want, err := json.Marshal(&lv)
		if err != nil {
			t.Fatal(err)
		}
		if got := lv.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("level %d:\n got %s\nwant %s", i, got, want)
		}
		ws := windowState{SKU: lv.SKU, Warehouse: lv.Warehouse, Size: dayMS, Start: rng.Int64() - math.MaxInt64/2,
			agg: agg{Units: rng.Int64N(1e6), Revenue: floats[rng.IntN(len(floats))] * float64(rng.IntN(3)-1), Sales: rng.Int64N(100)}}
		if rng.IntN(2) == 0 {
			ws.StockoutMS = rng.Int64N(dayMS)
		}
		want, err = json.Marshal(&ws)
		if err != nil {
			t.Fatal(err)
		}
		if got := ws.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("window state %d:\n got %s\nwant %s", i, got, want)
		}
		start := time.UnixMilli(rng.Int64N(4e12)).UTC()
		w := event.Window{SKU: lv.SKU, Warehouse: lv.Warehouse, Size: awkward[rng.IntN(len(awkward))], Start: start,
			End: start.Add(time.Hour), Kind: event.WindowKind(awkward[rng.IntN(len(awkward))]), Units: rng.Int64() - math.MaxInt64/2,
			Revenue: ws.Revenue, Sales: rng.Int64N(100), StockoutSeconds: rng.Int64N(86400),
			Velocity7: floats[rng.IntN(len(floats))], Velocity28: float64(rng.IntN(1000)) / 28,
			StreamTime: time.Unix(0, rng.Int64N(4e18)).UTC()}
		want, err = json.Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendWindow(nil, &w); !bytes.Equal(got, want) {
			t.Fatalf("window result %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkEncodeLevel(b *testing.B) {
	lv := Level{SKU: "SKU-000123", Warehouse: "WH03", OnHand: 42, Available: 42, LastEventTS: 1767225600000, Version: 17,
		HasCount: true, CountTS: 1767225000000, CountID: "evt-count-1234", CountQty: 50, Pending: []delta{{1767225600000, -2}}}
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&lv); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = lv.appendJSON(buf[:0])
		}
	})
}
