package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var testStart = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// smallConfig runs in well under a second and still has every feature:
// both continents, campaigns, transfers, web orders, every bad class.
func smallConfig(seed uint64) Config {
	return Config{Seed: seed, SKUs: 150, Warehouses: 10, Days: 60, Start: testStart, BadShare: 0.01}
}

type run struct {
	sim  *Sim
	recs []Record
	st   Stats
	pos  []purchaseOrder
}

// history runs History on cfg, keeping every record and purchase order;
// check, if not nil, runs after every record.
func history(t testing.TB, cfg Config, check func(*Sim, Record) error) run {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var r run
	r.sim = s
	s.onPO = func(po purchaseOrder) { r.pos = append(r.pos, po) }
	r.st, err = s.History(t.Context(), func(rec Record) error {
		r.recs = append(r.recs, rec)
		if check != nil {
			return check(s, rec)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return r
}

func hashRecords(recs []Record) string {
	h := sha256.New()
	var n [8]byte
	for _, r := range recs {
		for _, b := range [][]byte{[]byte(r.Topic), r.Key, r.Value, []byte(r.Bad)} {
			binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
			h.Write(n[:])
			h.Write(b)
		}
		binary.LittleEndian.PutUint64(n[:], uint64(r.TS.UnixNano()))
		h.Write(n[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	base := history(t, smallConfig(7), nil)
	baseHash := hashRecords(base.recs)
	tests := []struct {
		name string
		cfg  Config
		same bool
	}{
		{"same seed", smallConfig(7), true},
		{"different seed", smallConfig(8), false},
		{"different bad share", func() Config { c := smallConfig(7); c.BadShare = 0.02; return c }(), false},
		{"different start", func() Config { c := smallConfig(7); c.Start = c.Start.AddDate(0, 0, 1); return c }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hashRecords(history(t, tt.cfg, nil).recs)
			if (got == baseHash) != tt.same {
				t.Errorf("hash %s vs %s: want same=%v", got, baseHash, tt.same)
			}
		})
	}
}

// TestGolden pins the output of a small run; rerun with -update after an
// intended change of the model or the wire format.
func TestGolden(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 42, SKUs: 40, Warehouses: 4, Days: 14, Start: testStart, BadShare: 0.01}
	r := history(t, cfg, nil)
	var b bytes.Buffer
	fmt.Fprintf(&b, "sha256 %s\nevents %d\nbad %d\nsold %d\nlost %d\n", hashRecords(r.recs), r.st.Events, r.st.Bad, r.st.SoldUnits, r.st.LostUnits)
	for i, rec := range r.recs {
		if i < 8 || rec.Bad != "" {
			v := rec.Value
			if len(v) > 240 {
				v = v[:240]
			}
			fmt.Fprintf(&b, "%s %s %q %s\n", rec.Topic, rec.Key, rec.Bad, v)
		}
	}
	path := filepath.Join("testdata", "history.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (create it with -update): %v", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("output differs from %s; rerun with -update if the change is intended", path)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"zero is defaults", Config{}, ""},
		{"explicit", Config{Seed: 3, SKUs: 10, Warehouses: 20, Days: 1, BadShare: 0.5, LiveRate: 1}, ""},
		{"no bad records", Config{BadShare: -1}, ""},
		{"negative SKUs", Config{SKUs: -1}, "SKUs"},
		{"too many SKUs", Config{SKUs: MaxSKUs + 1}, "SKUs"},
		{"too many warehouses", Config{Warehouses: MaxWarehouses + 1}, "Warehouses"},
		{"negative days", Config{Days: -5}, "Days"},
		{"bad share too high", Config{BadShare: 0.6}, "BadShare"},
		{"negative live rate", Config{LiveRate: -1}, "LiveRate"},
		{"run id", Config{RunID: "1700000000"}, ""},
		{"run id with a space", Config{RunID: "run 2"}, "RunID"},
		{"run id too long", Config{RunID: strings.Repeat("x", 33)}, "RunID"},
		{"ancient start", Config{Start: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, "Start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want an error about %s", err, tt.wantErr)
			}
			if _, nerr := New(tt.cfg); (nerr == nil) != (err == nil) {
				t.Errorf("New error %v disagrees with Validate %v", nerr, err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Seed: 1, Start: time.Date(2025, 6, 3, 17, 4, 0, 0, time.FixedZone("X", 3600))})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.SKUs != DefaultSKUs || c.Warehouses != DefaultWarehouses || c.Days != DefaultDays ||
		c.BadShare != DefaultBadShare || c.LiveRate != DefaultLiveRate {
		t.Errorf("defaults not applied: %+v", c)
	}
	if want := time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC); !c.Start.Equal(want) || c.Start.Location() != time.UTC {
		t.Errorf("Start = %v, want %v", c.Start, want)
	}
	if len(s.Warehouses()) != 10 || len(s.Items()) != 1000 {
		t.Errorf("got %d warehouses, %d items", len(s.Warehouses()), len(s.Items()))
	}
}

func TestWarehousesAndItems(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Seed: 5, SKUs: 2000, Warehouses: MaxWarehouses})
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]bool{}
	ids := map[event.WarehouseID]bool{}
	for i, w := range s.Warehouses() {
		if want := event.WarehouseID(fmt.Sprintf("WH%02d", i+1)); w.ID != want {
			t.Errorf("warehouse %d is %s, want %s", i, w.ID, want)
		}
		ids[w.ID] = true
		regions[w.Region] = true
		if w.Lat < 20 || w.Lat > 70 || w.Lon < -130 || w.Lon > 30 {
			t.Errorf("%s at %v,%v is not in the US or Europe", w.ID, w.Lat, w.Lon)
		}
		if (w.Currency == "USD") != (w.Country == "US") {
			t.Errorf("%s in %s sells in %s", w.ID, w.Country, w.Currency)
		}
	}
	for _, r := range []string{"US-West", "US-Central", "US-East", "EU-West", "EU-Central", "EU-South"} {
		if !regions[r] {
			t.Errorf("no warehouse in %s", r)
		}
	}

	items := s.Items()
	var total, intermittent float64
	demand := make([]float64, len(items))
	skus := map[event.SKU]bool{}
	for i, it := range items {
		if want := event.SKU(fmt.Sprintf("SKU-%06d", i+1)); it.SKU != want {
			t.Fatalf("item %d is %s, want %s", i, it.SKU, want)
		}
		skus[it.SKU] = true
		if it.Price <= 0 || it.CasePack < 1 || it.Category == "" || it.Supplier == "" {
			t.Errorf("implausible item %+v", it)
		}
		demand[i] = it.MeanDailyDemand
		total += it.MeanDailyDemand
		if it.Intermittent {
			intermittent++
		}
	}
	if f := intermittent / float64(len(items)); f < 0.15 || f > 0.25 {
		t.Errorf("%.0f%% intermittent items, want about 20%%", 100*f)
	}
	// Heavy tail: the top 10% of SKUs carry far more than 10% of demand.
	sorted := slices.Clone(demand)
	slices.Sort(sorted)
	var top float64
	for _, d := range sorted[len(sorted)*9/10:] {
		top += d
	}
	if share := top / total; share < 0.35 {
		t.Errorf("top 10%% of SKUs carry %.0f%% of demand, want a heavy tail", 100*share)
	}
	// Same seed, same catalog.
	s2, _ := New(Config{Seed: 5, SKUs: 2000, Warehouses: MaxWarehouses})
	if fmt.Sprint(s2.Items()) != fmt.Sprint(items) || fmt.Sprint(s2.Warehouses()) != fmt.Sprint(s.Warehouses()) {
		t.Error("catalog or network differs for the same seed")
	}
}

// decoded is a good record read back with encoding/json.
type decoded struct {
	rec   Record
	sale  *event.Sale
	stock *event.Stock
	order *event.Order
	camp  *event.Campaign
}

func decodeStd(rec Record) (decoded, error) {
	d := decoded{rec: rec}
	var v any
	switch rec.Topic {
	case event.TopicSales:
		d.sale = new(event.Sale)
		v = d.sale
	case event.TopicStock:
		d.stock = new(event.Stock)
		v = d.stock
	case event.TopicOrders:
		d.order = new(event.Order)
		v = d.order
	case event.TopicCampaigns:
		d.camp = new(event.Campaign)
		v = d.camp
	default:
		return d, fmt.Errorf("unknown topic %q", rec.Topic)
	}
	return d, json.Unmarshal(rec.Value, v)
}

func TestGoodRecords(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(11)
	r := history(t, cfg, nil)
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	known := map[event.WarehouseID]bool{}
	for _, w := range r.sim.Warehouses() {
		known[w.ID] = true
	}
	ids := map[string]bool{}
	kinds := map[event.StockKind]int{}
	byTopic := map[string]int{}
	var prev time.Time
	for i, rec := range r.recs {
		if rec.TS.Before(prev) {
			t.Fatalf("record %d at %v is before its predecessor at %v", i, rec.TS, prev)
		}
		prev = rec.TS
		if rec.Bad != "" {
			continue
		}
		byTopic[rec.Topic]++
		d, err := decodeStd(rec)
		if err != nil {
			t.Fatalf("record %d does not decode: %v\n%s", i, err, rec.Value)
		}
		again, _ := json.Marshal(firstNonNil(d))
		if !bytes.Equal(again, rec.Value) {
			t.Fatalf("record %d does not round-trip:\n%s\n%s", i, rec.Value, again)
		}
		var id string
		var ts time.Time
		var key string
		switch {
		case d.sale != nil:
			e := d.sale
			id, ts, key = e.EventID, e.TS, string(e.SKU)
			if e.Qty <= 0 || !known[e.Warehouse] || e.UnitPrice <= 0 || e.Channel == "" {
				t.Errorf("bad sale %s", rec.Value)
			}
			if (e.Channel == "web") != (e.OrderID != "") {
				t.Errorf("web sales and only they carry an order id: %s", rec.Value)
			}
		case d.stock != nil:
			e := d.stock
			id, ts, key = e.EventID, e.TS, string(e.SKU)
			kinds[e.Kind]++
			switch {
			case !known[e.Warehouse] || !e.Kind.Valid():
				t.Errorf("bad stock event %s", rec.Value)
			case e.Kind == event.KindAdjustment && e.Qty == 0,
				e.Kind == event.KindCount && e.Qty < 0,
				e.Kind != event.KindAdjustment && e.Kind != event.KindCount && e.Qty <= 0:
				t.Errorf("bad quantity %s", rec.Value)
			case (e.Kind == event.KindReceipt || e.Kind == event.KindTransferIn || e.Kind == event.KindTransferOut) && e.Ref == "":
				t.Errorf("movement without ref %s", rec.Value)
			}
		case d.order != nil:
			e := d.order
			id, ts, key = e.EventID, e.TS, e.OrderID
			if len(e.Lines) < 1 || len(e.Lines) > 4 || !e.PromisedBy.After(e.TS) || e.ShipTo.PostalCode == "" {
				t.Errorf("bad order %s", rec.Value)
			}
			for _, l := range e.Lines {
				if l.Qty <= 0 {
					t.Errorf("bad order line %s", rec.Value)
				}
			}
		case d.camp != nil:
			e := d.camp
			id, ts, key = e.EventID, e.TS, e.CampaignID
			if !e.Start.After(e.TS) || !e.End.After(e.Start) || e.ExpectedUplift <= 0 ||
				(len(e.SKUs) == 0) == (e.Category == "") || (len(e.Regions) == 0) == (len(e.Warehouses) == 0) {
				t.Errorf("bad campaign %s", rec.Value)
			}
			for _, w := range e.Warehouses {
				if !known[w] {
					t.Errorf("campaign with unknown warehouse %s", rec.Value)
				}
			}
		}
		if ids[id] {
			t.Errorf("event_id %s repeats in good records", id)
		}
		ids[id] = true
		if !ts.Equal(rec.TS) || ts.Before(cfg.Start) || !ts.Before(end) {
			t.Errorf("record %d: ts %v (record %v) outside [%v, %v)", i, ts, rec.TS, cfg.Start, end)
		}
		if key != string(rec.Key) {
			t.Errorf("record %d: key %q, want %q", i, rec.Key, key)
		}
	}
	for _, topic := range topicNames {
		if byTopic[topic] == 0 {
			t.Errorf("no good records on %s", topic)
		}
	}
	for _, k := range []event.StockKind{event.KindReceipt, event.KindAdjustment, event.KindCount, event.KindTransferOut,
		event.KindTransferIn, event.KindReturn, event.KindDamage} {
		if kinds[k] == 0 {
			t.Errorf("no %s events", k)
		}
	}
	// Stats agree with the records.
	var bad int
	for _, rec := range r.recs {
		if rec.Bad != "" {
			bad++
		}
	}
	if r.st.Events != len(r.recs) || r.st.Bad != bad {
		t.Errorf("stats %d events %d bad; records %d, %d bad", r.st.Events, r.st.Bad, len(r.recs), bad)
	}
}

func firstNonNil(d decoded) any {
	switch {
	case d.sale != nil:
		return d.sale
	case d.stock != nil:
		return d.stock
	case d.order != nil:
		return d.order
	}
	return d.camp
}

// required lists the fields a bad missing_field record may lack.
var required = map[string][]string{
	event.TopicSales:     {"event_id", "ts", "sku", "warehouse", "qty", "channel", "unit_price", "currency"},
	event.TopicStock:     {"event_id", "ts", "sku", "warehouse", "kind", "qty"},
	event.TopicOrders:    {"event_id", "ts", "order_id", "lines", "ship_to", "service_level", "promised_by"},
	event.TopicCampaigns: {"event_id", "ts", "campaign_id", "start", "end", "expected_uplift"},
}

func TestBadRecords(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(13)
	r := history(t, cfg, nil)
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	known := map[event.WarehouseID]bool{}
	for _, w := range r.sim.Warehouses() {
		known[w.ID] = true
	}
	type earlier struct {
		ts  time.Time
		bad event.Reason
	}
	seen := map[string]earlier{} // topic + key + value of every earlier record
	byReason := map[event.Reason][]Record{}
	badTopics := map[string]int{}
	for _, rec := range r.recs {
		id := rec.Topic + "\x00" + string(rec.Key) + "\x00" + string(rec.Value)
		if rec.Bad == event.ReasonDuplicateEvent {
			orig, ok := seen[id]
			switch {
			case !ok:
				t.Errorf("duplicate without an earlier original: %s", rec.Value)
			case orig.bad != "":
				t.Errorf("duplicate of a bad record (%s): %s", orig.bad, rec.Value)
			case rec.TS.Sub(orig.ts) >= 7*24*time.Hour:
				t.Errorf("duplicate %v after its original, outside the dedup window", rec.TS.Sub(orig.ts))
			}
		} else if _, ok := seen[id]; !ok {
			seen[id] = earlier{rec.TS, rec.Bad}
		}
		if rec.Bad != "" {
			byReason[rec.Bad] = append(byReason[rec.Bad], rec)
			badTopics[rec.Topic]++
		}
	}
	for _, topic := range topicNames {
		if badTopics[topic] == 0 {
			t.Errorf("no bad records on %s", topic)
		}
	}
	if share := float64(r.st.Bad) / float64(r.st.Events); share < cfg.BadShare/2 || share > cfg.BadShare*2 {
		t.Errorf("bad share %.4f, want about %.4f", share, cfg.BadShare)
	}

	tests := []struct {
		reason event.Reason
		check  func(Record) error
	}{
		{event.ReasonMalformedJSON, func(rec Record) error {
			if json.Valid(rec.Value) {
				return errors.New("valid JSON")
			}
			return nil
		}},
		{event.ReasonMissingField, func(rec Record) error {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(rec.Value, &m); err != nil {
				return err
			}
			for _, f := range required[rec.Topic] {
				if _, ok := m[f]; !ok {
					return nil
				}
			}
			return errors.New("no required field is missing")
		}},
		{event.ReasonWrongType, func(rec Record) error {
			_, err := decodeStd(rec)
			if _, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok {
				return fmt.Errorf("decodes with %w, want an UnmarshalTypeError", err)
			}
			return nil
		}},
		{event.ReasonNegativeQty, func(rec Record) error {
			d, err := decodeStd(rec)
			if err != nil {
				return err
			}
			switch {
			case d.sale != nil && d.sale.Qty < 0, d.stock != nil && d.stock.Qty < 0 && d.stock.Kind != event.KindAdjustment:
				return nil
			case d.order != nil:
				for _, l := range d.order.Lines {
					if l.Qty < 0 {
						return nil
					}
				}
			}
			return errors.New("no negative quantity")
		}},
		{event.ReasonUnknownWarehouse, func(rec Record) error {
			d, err := decodeStd(rec)
			if err != nil {
				return err
			}
			switch {
			case d.sale != nil && !known[d.sale.Warehouse], d.stock != nil && !known[d.stock.Warehouse]:
				return nil
			}
			return errors.New("warehouse is known")
		}},
		{event.ReasonFutureTimestamp, func(rec Record) error {
			d, err := decodeStd(rec)
			if err != nil {
				return err
			}
			var ts time.Time
			switch {
			case d.sale != nil:
				ts = d.sale.TS
			case d.stock != nil:
				ts = d.stock.TS
			case d.order != nil:
				ts = d.order.TS
			default:
				ts = d.camp.TS
			}
			if ts.Before(end.Add(48*time.Hour)) || ts.Sub(rec.TS) < 72*time.Hour {
				return fmt.Errorf("ts %v is not days beyond the history end %v", ts, end)
			}
			return nil
		}},
		{event.ReasonOversize, func(rec Record) error {
			if len(rec.Value) <= 64<<10 || !json.Valid(rec.Value) {
				return fmt.Errorf("%d bytes, valid %v", len(rec.Value), json.Valid(rec.Value))
			}
			return nil
		}},
		{event.ReasonDuplicateEvent, func(Record) error { return nil }}, // checked above
	}
	for _, tt := range tests {
		t.Run(string(tt.reason), func(t *testing.T) {
			recs := byReason[tt.reason]
			if len(recs) == 0 {
				t.Fatalf("no %s records", tt.reason)
			}
			if r.st.ByReason[tt.reason] != len(recs) {
				t.Errorf("stats count %d, records %d", r.st.ByReason[tt.reason], len(recs))
			}
			for _, rec := range recs {
				if err := tt.check(rec); err != nil {
					v := rec.Value
					if len(v) > 300 {
						v = v[:300]
					}
					t.Errorf("%s record on %s is not bad that way: %v\n%s", tt.reason, rec.Topic, err, v)
				}
			}
		})
	}
}

// TestContract runs every record through the event package's decoders and
// checker, with a deduplication window of 7 days, as the stock pipeline
// does, and expects exactly the reason the simulator annotated.
func TestContract(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(17)
	r := history(t, cfg, nil)
	chk := &event.Checker{Warehouses: map[event.WarehouseID]struct{}{}}
	for _, w := range r.sim.Warehouses() {
		chk.Warehouses[w.ID] = struct{}{}
	}
	applied := map[string]time.Time{}
	got := map[event.Reason]int{}
	for i, rec := range r.recs {
		reason, id, ts := classify(chk, rec, rec.TS)
		if reason == "" {
			if first, ok := applied[id]; ok && ts.Sub(first) < 7*24*time.Hour {
				reason = event.ReasonDuplicateEvent
			} else {
				applied[id] = ts
			}
		}
		got[reason]++
		if reason != rec.Bad {
			v := rec.Value
			if len(v) > 300 {
				v = v[:300]
			}
			t.Errorf("record %d on %s: pipeline reason %q, simulator says %q\n%s", i, rec.Topic, reason, rec.Bad, v)
		}
	}
	for _, reason := range badReasons {
		if got[reason] == 0 {
			t.Errorf("no %s", reason)
		}
	}
}

// classify returns the reason the decoder or checker gives, or the event id
// and time of an acceptable event.
func classify(chk *event.Checker, rec Record, now time.Time) (event.Reason, string, time.Time) {
	if err := chk.CheckSize(len(rec.Value)); err != nil {
		return event.ReasonOf(err), "", time.Time{}
	}
	v, err := event.Decode(event.TypeOf(rec.Topic), rec.Value)
	if err != nil {
		return event.ReasonOf(err), "", time.Time{}
	}
	switch e := v.(type) {
	case *event.Sale:
		err = chk.CheckSale(e, now)
		return event.ReasonOf(err), e.EventID, e.TS
	case *event.Stock:
		err = chk.CheckStock(e, now)
		return event.ReasonOf(err), e.EventID, e.TS
	case *event.Order:
		err = chk.CheckOrder(e, now)
		return event.ReasonOf(err), e.EventID, e.TS
	case *event.Campaign:
		err = chk.CheckCampaign(e, now)
		return event.ReasonOf(err), e.EventID, e.TS
	}
	return "unexpected type", "", time.Time{}
}

func TestForcedBadClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		badShare float64
		wantBad  bool
	}{
		{"tiny share still has every class", 1e-6, true},
		{"off", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Seed: 3, SKUs: 5, Warehouses: 2, Days: 3, Start: testStart, BadShare: tt.badShare}
			r := history(t, cfg, nil)
			if !tt.wantBad {
				if r.st.Bad != 0 {
					t.Errorf("%d bad records with bad records off", r.st.Bad)
				}
				return
			}
			for _, reason := range badReasons {
				if r.st.ByReason[reason] == 0 {
					t.Errorf("no %s", reason)
				}
			}
			for _, topic := range topicNames {
				found := false
				for _, rec := range r.recs {
					found = found || rec.Topic == topic && rec.Bad != ""
				}
				if !found {
					t.Errorf("no bad record on %s", topic)
				}
			}
		})
	}
}

func TestHistoryTwice(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Seed: 1, SKUs: 3, Warehouses: 1, Days: 1, Start: testStart})
	if err != nil {
		t.Fatal(err)
	}
	nop := func(Record) error { return nil }
	if _, err := s.History(t.Context(), nop); err != nil {
		t.Fatal(err)
	}
	if _, err := s.History(t.Context(), nop); err == nil {
		t.Error("second History succeeded")
	}
}

func TestHistoryStops(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		emit func(cancel context.CancelFunc, n int) error
		want error
	}{
		{"emit error", func(_ context.CancelFunc, n int) error {
			if n == 100 {
				return boom
			}
			return nil
		}, boom},
		{"cancel", func(cancel context.CancelFunc, n int) error {
			if n == 100 {
				cancel()
			}
			return nil
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(smallConfig(1))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			n := 0
			st, err := s.History(ctx, func(Record) error { n++; return tt.emit(cancel, n) })
			if !errors.Is(err, tt.want) {
				t.Errorf("History = %v, want %v", err, tt.want)
			}
			if n > 100+1024 || st.Events != n {
				t.Errorf("emitted %d records after the stop, stats say %d", n, st.Events)
			}
		})
	}
}
