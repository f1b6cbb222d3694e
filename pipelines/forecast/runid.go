package forecast

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"slices"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// runIDVersion changes when the training logic changes what a run computes
// from the same input, so that a new binary does not reuse old run ids.
const runIDVersion = "stockflow-forecast/1"

// RunID derives a run id from the cutoff, the settings that change the
// result (horizon, minimum history, model set, uplift minimums) and the
// input (every series with its censor flags, the campaigns and the
// catalogue), in an order-independent way: "fc-YYYYMMDD-" and 16 hex
// digits of a SHA-256. The same data trained with the same settings gets
// the same id, so a repeated run overwrites its own rows instead of adding
// a run; new data gets a new id.
func RunID(cfg Config, in Input) string {
	cfg, err := cfg.withDefaults()
	if err != nil && cfg.Cutoff.IsZero() {
		cfg.Cutoff = time.Unix(0, 0).UTC()
	}
	h := sha256.New()
	w := hasher{h: h}
	w.str(runIDVersion)
	w.time(cfg.Cutoff)
	w.int(int64(cfg.Horizon))
	w.int(int64(cfg.MinHistory))
	w.str(cfg.Models.Name)
	w.int(int64(cfg.Models.Origins))
	w.int(int64(cfg.Models.Combine))
	w.float(cfg.MinUpliftBaseline)
	w.int(int64(cfg.MinUpliftCampaigns))

	idx := make([]int, len(in.Series))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return in.Series[a].Key.Compare(in.Series[b].Key) })
	w.int(int64(len(idx)))
	for _, i := range idx {
		s := &in.Series[i]
		w.str(string(s.Key.SKU))
		w.str(string(s.Key.Warehouse))
		w.time(s.Start)
		w.int(int64(len(s.Units)))
		for _, v := range s.Units {
			w.float(v)
		}
		var censored []int64
		for j, c := range s.Censored {
			if c {
				censored = append(censored, int64(j))
			}
		}
		w.int(int64(len(censored)))
		for _, j := range censored {
			w.int(j)
		}
	}
	cs := sortCampaigns(in.Campaigns)
	w.int(int64(len(cs)))
	for _, c := range cs {
		w.str(c.ID)
		w.strs(skuStrings(c.SKUs))
		w.str(c.Category)
		w.strs(c.Regions)
		w.strs(warehouseStrings(c.Warehouses))
		w.time(c.Start)
		w.time(c.End)
		w.float(c.ExpectedUplift)
	}
	cats := make([]string, 0, len(in.Catalog.Categories))
	for k := range in.Catalog.Categories {
		cats = append(cats, string(k))
	}
	slices.Sort(cats)
	w.int(int64(len(cats)))
	for _, k := range cats {
		w.str(k)
		w.str(in.Catalog.Categories[event.SKU(k)])
	}
	regs := make([]string, 0, len(in.Catalog.Regions))
	for k := range in.Catalog.Regions {
		regs = append(regs, string(k))
	}
	slices.Sort(regs)
	w.int(int64(len(regs)))
	for _, k := range regs {
		w.str(k)
		w.str(in.Catalog.Regions[event.WarehouseID(k)])
	}
	return "fc-" + cfg.Cutoff.Format("20060102") + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}

func skuStrings(v []event.SKU) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	return out
}

func warehouseStrings(v []event.WarehouseID) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	return out
}

// hasher writes length-prefixed values, so that no two inputs share an
// encoding.
type hasher struct {
	h   hash.Hash
	buf [8]byte
}

func (w *hasher) int(v int64) {
	binary.LittleEndian.PutUint64(w.buf[:], uint64(v))
	w.h.Write(w.buf[:])
}

func (w *hasher) float(v float64) { w.int(int64(math.Float64bits(v))) }

func (w *hasher) time(t time.Time) { w.int(t.UnixNano()) }

func (w *hasher) str(s string) {
	w.int(int64(len(s)))
	w.h.Write([]byte(s))
}

func (w *hasher) strs(v []string) {
	w.int(int64(len(v)))
	for _, s := range v {
		w.str(s)
	}
}
