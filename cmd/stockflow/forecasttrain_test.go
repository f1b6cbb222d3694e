package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/event/eventtest"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
)

// trainCutoff is the last complete day of the synthetic history.
var trainCutoff = time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)

const trainDays = 112

// trainHistory is the synthetic input of TestForecastTrainEmbedded: five
// series of 112 days with known shapes, stockouts of SKU-OUT in
// demand_windows, campaigns, warehouses, and one sale on the day after the
// cutoff (so that the default cutoff is trainCutoff).
type trainHistory struct {
	sales   [][]any
	windows [][]any
	// censored lists, per "sku@warehouse", the indexes of its censored days
	// (0 is the first day of the history).
	censored map[string][]int
}

// censoredDays counts the censored days of key up to the day cutoff, all
// of them and those in its last 28 days.
func (h trainHistory) censoredDays(key string, cutoff time.Time) (all, lastMonth int) {
	last := trainDays - 1 - days(cutoff, trainCutoff)
	for _, i := range h.censored[key] {
		if i <= last {
			all++
			if i > last-28 {
				lastMonth++
			}
		}
	}
	return all, lastMonth
}

func buildTrainHistory() trainHistory {
	h := trainHistory{censored: map[string][]int{}}
	start := trainCutoff.AddDate(0, 0, -(trainDays - 1))
	weekly := []float64{3, 3, 4, 4, 6, 12, 10}
	levels := []struct {
		sku, wh string
		level   func(t time.Time) float64
	}{
		{"SKU-WEEK", "WH01", func(t time.Time) float64 { return weekly[int(t.Weekday())] }},
		{"SKU-FLAT", "WH01", func(time.Time) float64 { return 5 }},
		{"SKU-FLAT", "WH02", func(time.Time) float64 { return 2 }},
		{"SKU-OUT", "WH02", func(time.Time) float64 { return 10 }},
		{"SKU-PROMO", "WH01", func(time.Time) float64 { return 4 }},
	}
	r := rand.New(rand.NewPCG(42, 1))
	n := 0
	sale := func(sku, wh string, ts time.Time, qty int64) {
		n++
		h.sales = append(h.sales, []any{fmt.Sprintf("e-%06d", n), ts, sku, wh, qty, "", "store", 9.99, "EUR", event.TopicSales, int32(0), int64(n)})
	}
	window := func(sku, wh, size string, day time.Time, kind string, stockout int64) {
		n++
		end := day.Add(24 * time.Hour)
		if size == "1h" {
			end = day.Add(time.Hour)
		}
		h.windows = append(h.windows, []any{sku, wh, size, day, end, kind, int64(0), 0.0, int64(0), stockout, 0.0, 0.0, end, int32(0), int64(n)})
	}
	for _, l := range levels {
		key := l.sku + "@" + l.wh
		for i := range trainDays {
			day := start.AddDate(0, 0, i)
			units := int64(poissonDraw(r, l.level(day)))
			if l.sku == "SKU-OUT" {
				switch {
				case i >= trainDays-28 && i%2 == 0 && i < trainDays-4:
					// Stocked out for 20 h: a unit or none sold.
					units = min(units, int64(i%3%2))
					window(l.sku, l.wh, "1d", day, "final", 20*3600)
					h.censored[key] = append(h.censored[key], i)
				case i == 30:
					// 2 h at close, 3 h more in a late correction: 5 h.
					window(l.sku, l.wh, "1d", day, "final", 2*3600)
					window(l.sku, l.wh, "1d", day, "correction", 3*3600)
					h.censored[key] = append(h.censored[key], i)
				case i == 31:
					// 1 h: below the 4 h threshold.
					window(l.sku, l.wh, "1d", day, "final", 3600)
					// Hourly windows are ignored whatever they hold.
					window(l.sku, l.wh, "1h", day.Add(5*time.Hour), "final", 1<<20)
				}
			}
			for units > 0 {
				q := min(units, 1+int64(r.IntN(3)))
				sale(l.sku, l.wh, day.Add(time.Duration(8+r.IntN(12))*time.Hour+time.Duration(r.IntN(3600))*time.Second), q)
				units -= q
			}
		}
	}
	// The day after the cutoff has started: it is not complete.
	sale("SKU-FLAT", "WH01", trainCutoff.Add(25*time.Hour), 1)
	return h
}

func poissonDraw(r *rand.Rand, lambda float64) float64 {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return float64(k)
		}
		k++
	}
}

// TestForecastTrainEmbedded runs `stockflow forecast train` end to end on
// the embedded ClickHouse engine and the embedded broker of one data dir:
// a synthetic sales history with known seasonality, stockout days in
// demand_windows and campaigns goes in; forecasts (28 days per series,
// ordered quantiles, uplift on campaign days only), accuracy rows and the
// run record come out, and the Kafka records validate. A repeated run is
// recognised (same run id, no new rows, identical records); other settings
// make other runs.
func TestForecastTrainEmbedded(t *testing.T) {
	dir := t.TempDir()
	s := config.Defaults()
	s.Data = dir
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, s)
	if err != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so; run deploy/scripts/fetch-chdb.sh or set STOCKFLOW_CHDB_LIB): %v", err)
	}
	defer func() { _ = st.Close() }()
	if err := migrate(ctx, st, log); err != nil {
		t.Fatal(err)
	}
	h := buildTrainHistory()
	salesCols := []string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency", "src_topic", "src_partition", "src_offset"}
	inserts := []*store.Batch{
		{Table: "sales", Columns: salesCols, Rows: h.sales},
		// A replay of some sales under another block: FINAL must drop it.
		{Table: "sales", Columns: salesCols, Rows: h.sales[100:160]},
		{Table: "demand_windows", Columns: []string{"sku", "warehouse", "size", "window_start", "window_end", "kind", "units", "revenue", "sales",
			"stockout_seconds", "velocity_7d", "velocity_28d", "stream_time", "src_partition", "src_offset"}, Rows: h.windows},
		{Table: "warehouses", Columns: []string{"id", "region", "lat", "lon", "name", "updated_at"}, Rows: [][]any{
			{"WH01", "EU-West", 51.4, 6.2, "Venlo", trainCutoff}, {"WH02", "US-East", 40.6, -75.5, "Allentown", trainCutoff},
		}},
		{Table: "campaigns", Columns: []string{"event_id", "ts", "campaign_id", "skus", "category", "regions", "warehouses", "start", "end", "expected_uplift", "src_topic", "src_partition", "src_offset"},
			Rows: [][]any{
				// An older version of c-promo, replaced by the next row.
				{"c1", trainCutoff.AddDate(0, 0, -3), "c-promo", []string{"SKU-PROMO"}, "", []string{}, []string{"WH01"}, trainCutoff.AddDate(0, 0, 2), trainCutoff.AddDate(0, 0, 4), 2.0, event.TopicCampaigns, int32(0), int64(1)},
				{"c2", trainCutoff.AddDate(0, 0, -2), "c-promo", []string{"SKU-PROMO"}, "", []string{}, []string{"WH01"}, trainCutoff.AddDate(0, 0, 5), trainCutoff.AddDate(0, 0, 12), 0.5, event.TopicCampaigns, int32(0), int64(2)},
				// Targets SKU-PROMO where it has no history: nothing.
				{"c3", trainCutoff, "c-promo-us", []string{"SKU-PROMO"}, "", []string{}, []string{"WH02"}, trainCutoff.AddDate(0, 0, 1), trainCutoff.AddDate(0, 0, 28), 1.0, event.TopicCampaigns, int32(0), int64(3)},
				// A region: SKU-FLAT in WH02 only, half of the second day.
				{"c4", trainCutoff, "c-flat-us", []string{"SKU-FLAT"}, "", []string{"US-East"}, []string{}, trainCutoff.AddDate(0, 0, 20), trainCutoff.AddDate(0, 0, 21).Add(12 * time.Hour), 0.2, event.TopicCampaigns, int32(0), int64(4)},
			}},
	}
	for _, b := range inserts {
		if err := st.Insert(ctx, b); err != nil {
			t.Fatalf("insert %s: %v", b.Table, err)
		}
	}

	type report struct {
		RunID        string         `json:"run_id"`
		Cutoff       string         `json:"cutoff"`
		Series       int            `json:"series"`
		CensoredDays int            `json:"censored_days"`
		Models       map[string]int `json:"models"`
		MASE         *float64       `json:"mase"`
		RMSSE        *float64       `json:"rmsse"`
		Coverage90   *float64       `json:"coverage_90"`
		Seconds      *float64       `json:"seconds"`
		Published    int            `json:"published"`
	}
	runs := []struct {
		name         string
		args         []string
		cutoff       time.Time
		sameRunAs    int // index of an earlier run with the same id, or -1
		censoring    bool
		published    int
		outMeanRange [2]float64 // of SKU-OUT's baseline forecast; its demand is 10 a day
	}{
		{name: "defaults", cutoff: trainCutoff, sameRunAs: -1, censoring: true, published: 5, outMeanRange: [2]float64{8.5, 11.5}},
		{name: "repeated", cutoff: trainCutoff, sameRunAs: 0, censoring: true, published: 5, outMeanRange: [2]float64{8.5, 11.5}},
		{name: "no censoring", args: []string{"--censor-hours", "0", "--no-publish"}, cutoff: trainCutoff, sameRunAs: -1, outMeanRange: [2]float64{0, 8.5}},
		{name: "earlier cutoff, fast models", args: []string{"--cutoff", "2026-03-24", "--models", "fast", "--no-publish"}, cutoff: trainCutoff.AddDate(0, 0, -7), sameRunAs: -1, censoring: true, outMeanRange: [2]float64{8.5, 11.5}},
	}
	var reps []report
	for i, run := range runs {
		var out bytes.Buffer
		args := append([]string{"--data", dir, "--json", "--log-level", "warn"}, run.args...)
		if err := forecastTrain(ctx, args, &out); err != nil {
			t.Fatalf("run %q: %v", run.name, err)
		}
		var rep report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil || strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
			t.Fatalf("run %q printed %q, want one JSON object (%v)", run.name, out.String(), err)
		}
		reps = append(reps, rep)
		t.Logf("run %q: %s", run.name, strings.TrimSpace(out.String()))
		models := 0
		for _, n := range rep.Models {
			models += n
		}
		censored := 0
		if run.censoring {
			censored, _ = h.censoredDays("SKU-OUT@WH02", run.cutoff)
		}
		if rep.Series != 5 || models != 5 || rep.CensoredDays != censored || rep.Cutoff != run.cutoff.Format(time.DateOnly) ||
			rep.MASE == nil || rep.RMSSE == nil || rep.Coverage90 == nil || rep.Seconds == nil || rep.Published != run.published {
			t.Errorf("run %q: report %+v; want 5 series, %d censored days, cutoff %s, %d published and every figure", run.name, rep, censored, run.cutoff.Format(time.DateOnly), run.published)
		}
		if run.sameRunAs >= 0 && rep.RunID != reps[run.sameRunAs].RunID {
			t.Errorf("run %q: run id %s, want %s (same input and settings)", run.name, rep.RunID, reps[run.sameRunAs].RunID)
		}
		for j := range i {
			if run.sameRunAs != j && rep.RunID == reps[j].RunID {
				t.Errorf("run %q has the run id of run %q", run.name, runs[j].name)
			}
		}
		if want := "fc-" + run.cutoff.Format("20060102") + "-"; !strings.HasPrefix(rep.RunID, want) {
			t.Errorf("run %q: run id %s, want prefix %s", run.name, rep.RunID, want)
		}
		checkTrainTables(ctx, t, st, run.name, rep.RunID, run.cutoff, h, run.censoring, run.outMeanRange)
	}

	// Repeating a run adds no row, not even before merges (the tokens drop
	// the repeated blocks).
	raw, err := store.CountRows(ctx, st, "forecasts", "forecast_accuracy", "forecast_runs")
	if err != nil {
		t.Fatal(err)
	}
	if raw["forecasts"] != 3*5*28 || raw["forecast_accuracy"] != 3*5 || raw["forecast_runs"] != 3 {
		t.Errorf("rows %v, want %d forecasts, %d accuracy and 3 runs: a repeated run inserted again", raw, 3*5*28, 3*5)
	}
	checkPublished(ctx, t, s, reps[0].RunID)
}

// checkTrainTables checks what one run wrote.
func checkTrainTables(ctx context.Context, t *testing.T, st store.Store, name, runID string, cutoff time.Time, h trainHistory, censoring bool, outMean [2]float64) {
	t.Helper()
	p := store.Param{Name: "run", Value: runID}
	q := func(sql string) *store.Result {
		t.Helper()
		res, err := st.Query(ctx, sql, p)
		if err != nil {
			t.Fatalf("run %q: %s: %v", name, sql, err)
		}
		return res
	}
	res := q(`SELECT count(), uniqExact(sku, warehouse), min(day), max(day), countIf(horizon != day - cutoff),
		countIf(NOT (0 <= p05 AND p05 <= p10 AND p10 <= p50 AND p50 <= p90 AND p90 <= p95 AND p95 <= p99 AND mean >= 0)),
		any(cutoff)
		FROM forecasts FINAL WHERE run_id = {run:String}`)
	n, _ := res.Uint64(0, 0)
	keys, _ := res.Uint64(0, 1)
	first, _ := res.Time(0, 2)
	last, _ := res.Time(0, 3)
	badHorizon, _ := res.Uint64(0, 4)
	unordered, _ := res.Uint64(0, 5)
	gotCutoff, _ := res.Time(0, 6)
	if n != 5*28 || keys != 5 || !first.Equal(cutoff.AddDate(0, 0, 1)) || !last.Equal(cutoff.AddDate(0, 0, 28)) || badHorizon != 0 || unordered != 0 || !gotCutoff.Equal(cutoff) {
		t.Errorf("run %q: %d forecasts of %d series from %s to %s (cutoff %s), %d bad horizons, %d unordered; want 140 of 5 over the 28 days after %s",
			name, n, keys, first, last, gotCutoff, badHorizon, unordered, cutoff.Format(time.DateOnly))
	}

	// Uplift: on the campaign days of the keys they target, nowhere else.
	res = q(`SELECT sku, warehouse, horizon, uplift FROM forecasts FINAL WHERE run_id = {run:String} AND uplift != 0 ORDER BY sku, warehouse, horizon`)
	var got []string
	for i := range res.Rows {
		sku, _ := res.String(i, 0)
		wh, _ := res.String(i, 1)
		hz, _ := res.Uint64(i, 2)
		u, _ := res.Float64(i, 3)
		got = append(got, fmt.Sprintf("%s@%s+%d:%g", sku, wh, hz-uint64(days(cutoff, trainCutoff)), u))
	}
	// Days after trainCutoff: c-promo runs on days 5..11 (its latest
	// version), c-flat-us on day 20 and half of day 21; both are inside the
	// horizon of every cutoff tested.
	want := []string{"SKU-FLAT@WH02+20:0.2", "SKU-FLAT@WH02+21:0.1"}
	for d := 5; d < 12; d++ {
		want = append(want, fmt.Sprintf("SKU-PROMO@WH01+%d:0.5", d))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("run %q: uplifted days (key+days after %s:uplift)\n got %v\nwant %v", name, trainCutoff.Format(time.DateOnly), got, want)
	}

	// Censored demand is imputed, not read as zero demand.
	res = q(`SELECT avg(mean / (1 + uplift)) FROM forecasts FINAL WHERE run_id = {run:String} AND sku = 'SKU-OUT'`)
	if m, _ := res.Float64(0, 0); m < outMean[0] || m > outMean[1] {
		t.Errorf("run %q: SKU-OUT forecasts %.2f a day, want in %v (true demand 10)", name, m, outMean)
	}

	res = q(`SELECT sku, warehouse, model, n_censored_days, eval_days, mase, coverage_90, history_days
		FROM forecast_accuracy FINAL WHERE run_id = {run:String} ORDER BY sku, warehouse`)
	if len(res.Rows) != 5 {
		t.Fatalf("run %q: %d accuracy rows, want 5", name, len(res.Rows))
	}
	for i := range res.Rows {
		sku, _ := res.String(i, 0)
		wh, _ := res.String(i, 1)
		model, _ := res.String(i, 2)
		nc, _ := res.Uint64(i, 3)
		ev, _ := res.Uint64(i, 4)
		hist, _ := res.Uint64(i, 7)
		key := sku + "@" + wh
		wantCensored, wantEval := 0, 28
		if censoring {
			all, lastMonth := h.censoredDays(key, cutoff)
			wantCensored, wantEval = all, 28-lastMonth
		}
		if model == "" || int(nc) != wantCensored || int(ev) != wantEval || res.Rows[i][5] == nil || res.Rows[i][6] == nil {
			t.Errorf("run %q: accuracy of %s: model %q, %d censored, %d scored, mase %v, coverage %v; want %d censored, %d scored, both measures",
				name, key, model, nc, ev, res.Rows[i][5], res.Rows[i][6], wantCensored, wantEval)
		}
		if want := uint64(trainDays - days(cutoff, trainCutoff)); hist != want {
			t.Errorf("run %q: %s history %d days, want %d", name, key, hist, want)
		}
		t.Logf("run %q: %s: %s, MASE %v, coverage %v", name, key, model, res.Rows[i][5], res.Rows[i][6])
	}

	res = q(`SELECT series, cutoff, length(chosen.model), arraySum(chosen.series), has(campaigns.campaign_id, 'c-promo') FROM forecast_runs FINAL WHERE run_id = {run:String}`)
	if len(res.Rows) != 1 {
		t.Fatalf("run %q: %d forecast_runs rows, want 1", name, len(res.Rows))
	}
	series, _ := res.Uint64(0, 0)
	rc, _ := res.Time(0, 1)
	chosen, _ := res.Uint64(0, 3)
	promo, _ := res.Uint64(0, 4)
	if series != 5 || !rc.Equal(cutoff) || chosen != 5 || promo != 1 {
		t.Errorf("run %q: run row %v, want 5 series, cutoff %s, 5 chosen, campaign c-promo", name, res.Rows[0], cutoff.Format(time.DateOnly))
	}
}

// days is the number of days from a to b.
func days(a, b time.Time) int { return int(b.Sub(a).Hours() / 24) }

// checkPublished restarts the embedded broker of the data dir and reads
// stockflow.forecasts.v1: the run was published twice (the repeated run),
// one record per series each time, identical, and valid.
func checkPublished(ctx context.Context, t *testing.T, s config.Settings, runID string) {
	t.Helper()
	broker, err := kafka.StartBroker(kafka.BrokerConfig{Dir: s.KafkaDir()})
	if err != nil {
		t.Fatalf("restart the embedded broker (kfake): %v", err)
	}
	defer broker.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...), kgo.ConsumeTopics(kafka.TopicForecasts),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < 10 {
		f := cl.PollFetches(ctx)
		if err := f.Err0(); err != nil {
			t.Fatalf("read %s: %d records of 10: %v", kafka.TopicForecasts, len(recs), err)
		}
		recs = append(recs, f.Records()...)
	}
	sch := eventtest.Schema(t, "forecasts.v1.json")
	byKey := map[string][]string{}
	classes := map[string]int{}
	for _, r := range recs {
		var f event.Forecast
		if err := json.Unmarshal(r.Value, &f); err != nil {
			t.Fatal(err)
		}
		if err := eventtest.Validate(sch, r.Value); err != nil {
			t.Errorf("record %s@%s: %v", f.SKU, f.Warehouse, err)
		}
		if string(r.Key) != string(f.SKU) || f.RunID != runID || len(f.Days) != 28 {
			t.Errorf("record key %s: %s@%s run %s with %d days; want keyed by SKU, run %s, 28 days", r.Key, f.SKU, f.Warehouse, f.RunID, len(f.Days), runID)
		}
		k := string(f.SKU) + "@" + string(f.Warehouse)
		byKey[k] = append(byKey[k], string(r.Value))
		classes[f.Class]++
	}
	// Five series: ABC by value puts at least the top one in A; every
	// record carries a class.
	if classes[""] > 0 || classes["AX"]+classes["AY"]+classes["AZ"] == 0 {
		t.Errorf("classes of the published records: %v; want every record classified, at least one A", classes)
	}
	if len(recs) != 10 || len(byKey) != 5 {
		t.Fatalf("%d records for %d series, want 10 for 5", len(recs), len(byKey))
	}
	for k, vs := range byKey {
		if len(vs) != 2 || vs[0] != vs[1] {
			t.Errorf("%s: %d records, want the same record twice", k, len(vs))
		}
	}
}
