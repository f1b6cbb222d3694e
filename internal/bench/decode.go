// Package bench measures stockflow's components against a baseline in the
// same run and reports ratios, which survive noisy machines where absolute
// figures do not (DESIGN.md §9). `stockflow bench` prints its results; unit
// tests only check that they are well-formed. It must not import cmd/.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// DecodeResult compares the event decoder with encoding/json on the same
// records, measured in one run.
type DecodeResult struct {
	// StockflowEPS is events per second decoded by internal/event.
	StockflowEPS float64 `json:"stockflow_eps"`
	// EncodingJSONEPS is events per second decoded by json.Unmarshal into
	// the same structs.
	EncodingJSONEPS float64 `json:"encoding_json_eps"`
	// Ratio is StockflowEPS / EncodingJSONEPS.
	Ratio float64 `json:"ratio"`
}

// Corpus parameters: a fixed seed makes every run decode the same records.
const (
	corpusSize = 10_000
	corpusSeed = 20250601
)

// record is one corpus record and the decoder it needs.
type record struct {
	typ  event.Type
	data []byte
}

// Decode builds a corpus of sales and stock records and decodes it with
// both decoders in alternating rounds (stockflow, encoding/json, stockflow,
// ...) until d has passed, at least one round each. It fails if the
// decoders disagree on the corpus or ctx ends first.
func Decode(ctx context.Context, d time.Duration) (DecodeResult, error) {
	corpus, err := corpus(corpusSize, corpusSeed)
	if err != nil {
		return DecodeResult{}, fmt.Errorf("decode bench: %w", err)
	}
	var (
		sf, ej       time.Duration
		sfSum, ejSum int64
		rounds       int
		deadline     = time.Now().Add(d)
	)
	for rounds == 0 || time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return DecodeResult{}, fmt.Errorf("decode bench: %w", err)
		}
		t, sum, err := round(corpus, decodeStockflow)
		if err != nil {
			return DecodeResult{}, fmt.Errorf("decode bench: stockflow: %w", err)
		}
		sf, sfSum = sf+t, sum
		t, sum, err = round(corpus, decodeEncodingJSON)
		if err != nil {
			return DecodeResult{}, fmt.Errorf("decode bench: encoding/json: %w", err)
		}
		ej, ejSum = ej+t, sum
		if sfSum != ejSum {
			return DecodeResult{}, fmt.Errorf("decode bench: decoders disagree: qty checksum %d vs %d", sfSum, ejSum)
		}
		rounds++
	}
	events := float64(rounds * len(corpus))
	res := DecodeResult{
		StockflowEPS:    events / sf.Seconds(),
		EncodingJSONEPS: events / ej.Seconds(),
	}
	res.Ratio = res.StockflowEPS / res.EncodingJSONEPS
	return res, nil
}

// decodeFunc decodes one record into the reused targets.
type decodeFunc func(r record, s *event.Sale, k *event.Stock) error

func decodeStockflow(r record, s *event.Sale, k *event.Stock) error {
	if r.typ == event.TypeSale {
		return event.DecodeSale(r.data, s)
	}
	return event.DecodeStock(r.data, k)
}

func decodeEncodingJSON(r record, s *event.Sale, k *event.Stock) error {
	if r.typ == event.TypeSale {
		*s = event.Sale{}
		return json.Unmarshal(r.data, s)
	}
	*k = event.Stock{}
	return json.Unmarshal(r.data, k)
}

// round decodes the corpus once and returns the time it took and a
// checksum of the quantities, which keeps the work observable.
func round(corpus []record, decode decodeFunc) (time.Duration, int64, error) {
	var (
		s   event.Sale
		k   event.Stock
		sum int64
	)
	start := time.Now()
	for i, r := range corpus {
		if err := decode(r, &s, &k); err != nil {
			return 0, 0, fmt.Errorf("record %d: %w", i, err)
		}
		if r.typ == event.TypeSale {
			sum += s.Qty
		} else {
			sum += k.Qty
		}
	}
	return time.Since(start), sum, nil
}

// corpus generates n records as upstream systems would send them: about
// 70 % sales and 30 % stock movements over 2000 SKUs in 12 warehouses,
// marshaled by encoding/json.
func corpus(n int, seed uint64) ([]record, error) {
	r := rand.New(rand.NewPCG(seed, seed>>1|1))
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	channels := []string{"store", "store", "store", "marketplace", "web"}
	kinds := []event.StockKind{
		event.KindReceipt, event.KindReceipt, event.KindAdjustment, event.KindCount,
		event.KindTransferOut, event.KindTransferIn, event.KindReturn, event.KindDamage,
	}
	out := make([]record, 0, n)
	for i := range n {
		ts := start.Add(time.Duration(i)*time.Second + time.Duration(r.IntN(1000))*time.Millisecond)
		sku := event.SKU(fmt.Sprintf("SKU-%06d", r.IntN(2000)))
		wh := event.WarehouseID(fmt.Sprintf("WH-%02d", 1+r.IntN(12)))
		id := fmt.Sprintf("%016x-%08x", r.Uint64(), i)
		var (
			v   any
			typ event.Type
		)
		if r.IntN(10) < 7 {
			s := event.Sale{
				EventID: id, TS: ts, SKU: sku, Warehouse: wh, Qty: 1 + r.Int64N(4),
				Channel: channels[r.IntN(len(channels))], UnitPrice: float64(99+r.IntN(20000)) / 100, Currency: "EUR",
			}
			if s.Channel == "web" {
				s.OrderID = "ORD-" + strconv.Itoa(r.IntN(1_000_000))
			}
			v, typ = &s, event.TypeSale
		} else {
			k := event.Stock{EventID: id, TS: ts, SKU: sku, Warehouse: wh, Kind: kinds[r.IntN(len(kinds))], Qty: 1 + r.Int64N(200)}
			switch k.Kind {
			case event.KindAdjustment:
				k.Qty -= 100
				if k.Qty == 0 {
					k.Qty = 1
				}
			case event.KindReceipt:
				k.Ref = "PO-" + strconv.Itoa(r.IntN(100_000))
			case event.KindTransferIn, event.KindTransferOut:
				k.Ref = "TR-" + strconv.Itoa(r.IntN(100_000))
			}
			v, typ = &k, event.TypeStock
		}
		b, err := event.Encode(v)
		if err != nil {
			return nil, fmt.Errorf("corpus record %d: %w", i, err)
		}
		out = append(out, record{typ: typ, data: b})
	}
	return out, nil
}
