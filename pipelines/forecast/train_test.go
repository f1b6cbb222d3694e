package forecast_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/pipelines/forecast"
)

var cutoff = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// meanOver is the mean forecast over the days.
func meanOver(days []forecast.DayForecast) float64 {
	var s float64
	for _, d := range days {
		s += d.Mean
	}
	return s / float64(len(days))
}

func train(t *testing.T, cfg forecast.Config, in forecast.Input) *forecast.Result {
	t.Helper()
	if cfg.Cutoff.IsZero() {
		cfg.Cutoff = cutoff
	}
	res, err := forecast.Train(t.Context(), cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTrainCensoring: stocked-out days with low observed sales must not
// drag the forecast down, and are never scored.
func TestTrainCensoring(t *testing.T) {
	base := synth(keyA, cutoff, 180, 1, constant(10))
	censored := base
	censored.Units = slices.Clone(base.Units)
	censored.Censored = make([]bool, len(base.Units))
	n := len(base.Units)
	// 12 of the last 28 days (every other day from n-28) stocked out,
	// selling 1 or 2 units.
	for i := n - 28; i < n-4; i += 2 {
		censored.Units[i] = float64(1 + i%3%2)
		censored.Censored[i] = true
	}
	flagsDropped := censored
	flagsDropped.Censored = make([]bool, n)

	cases := []struct {
		name          string
		series        forecast.Series
		minMean       float64
		maxMean       float64
		wantCensored  int
		wantEvalDays  int
		wantAccurate  bool
		wantCoverage0 bool
	}{
		{name: "no stockouts", series: base, minMean: 9, maxMean: 11, wantEvalDays: 28, wantAccurate: true},
		{name: "stockouts flagged: imputed, excluded from scoring", series: censored, minMean: 9, maxMean: 11, wantCensored: 12, wantEvalDays: 16, wantAccurate: true},
		{name: "stockouts not flagged: zero demand drags the level", series: flagsDropped, minMean: 0, maxMean: 8.8, wantEvalDays: 28},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := train(t, forecast.Config{}, forecast.Input{Series: []forecast.Series{tc.series}})
			f := res.Forecasts[0]
			if m := meanOver(f.Days); m < tc.minMean || m > tc.maxMean {
				t.Errorf("mean forecast %.2f (model %s), want in [%g, %g]", m, f.Model, tc.minMean, tc.maxMean)
			}
			if f.Accuracy.CensoredDays != tc.wantCensored || f.Accuracy.EvalDays != tc.wantEvalDays {
				t.Errorf("censored %d, scored %d days; want %d, %d", f.Accuracy.CensoredDays, f.Accuracy.EvalDays, tc.wantCensored, tc.wantEvalDays)
			}
			if tc.wantAccurate && !(f.Accuracy.WAPE < 0.35 && math.Abs(f.Accuracy.Bias) < 0.15) {
				t.Errorf("accuracy %+v, want WAPE < 0.35 and |bias| < 0.15 on the uncensored days", f.Accuracy)
			}
			if s := res.Summary(); s.CensoredDays != tc.wantCensored {
				t.Errorf("summary censored days %d, want %d", s.CensoredDays, tc.wantCensored)
			}
		})
	}
}

// TestTrainUplift: a campaign multiplies the forecast on the days it runs,
// by the share of the day it covers, for the keys it targets, and nowhere
// else.
func TestTrainUplift(t *testing.T) {
	a := synth(keyA, cutoff, 120, 2, constant(8))
	b := synth(keyB, cutoff, 120, 3, constant(5))
	c := synth(keyC, cutoff, 120, 4, constant(3))
	series := []forecast.Series{a, b, c}
	catalog := forecast.Catalog{
		Categories: map[event.SKU]string{"SKU-A": "toys", "SKU-B": "books"},
		Regions:    map[event.WarehouseID]string{"WH1": "EU-West", "WH2": "US-East"},
	}
	noCampaign := train(t, forecast.Config{}, forecast.Input{Series: series, Catalog: catalog})
	at := func(h int) time.Time { return cutoff.AddDate(0, 0, h) } // midnight starting horizon day h
	type uplift map[forecast.Key]map[int]float64                   // key -> horizon -> uplift
	cases := []struct {
		name     string
		campaign forecast.Campaign
		want     uplift
	}{
		{
			name:     "sku list, whole days",
			campaign: forecast.Campaign{ID: "c1", SKUs: []event.SKU{"SKU-A"}, Start: at(5), End: at(8), ExpectedUplift: 0.5},
			want:     uplift{keyA: {5: 0.5, 6: 0.5, 7: 0.5}, keyC: {5: 0.5, 6: 0.5, 7: 0.5}},
		},
		{
			name:     "partial days count by their share",
			campaign: forecast.Campaign{ID: "c2", SKUs: []event.SKU{"SKU-B"}, Start: at(3).Add(12 * time.Hour), End: at(4).Add(6 * time.Hour), ExpectedUplift: 0.4},
			want:     uplift{keyB: {3: 0.2, 4: 0.1}},
		},
		{
			name:     "listed warehouses only",
			campaign: forecast.Campaign{ID: "c3", SKUs: []event.SKU{"SKU-A"}, Warehouses: []event.WarehouseID{"WH2"}, Start: at(1), End: at(2), ExpectedUplift: 1},
			want:     uplift{keyC: {1: 1}},
		},
		{
			name:     "regions through the catalogue",
			campaign: forecast.Campaign{ID: "c4", SKUs: []event.SKU{"SKU-A", "SKU-B"}, Regions: []string{"EU-West"}, Start: at(10), End: at(11), ExpectedUplift: 0.3},
			want:     uplift{keyA: {10: 0.3}, keyB: {10: 0.3}},
		},
		{
			name:     "category through the catalogue",
			campaign: forecast.Campaign{ID: "c5", Category: "toys", Start: at(28), End: at(40), ExpectedUplift: 0.25},
			want:     uplift{keyA: {28: 0.25}, keyC: {28: 0.25}},
		},
		{
			name:     "negative uplift",
			campaign: forecast.Campaign{ID: "c6", Category: "books", Start: at(2), End: at(3), ExpectedUplift: -0.5},
			want:     uplift{keyB: {2: -0.5}},
		},
		{
			name:     "after the horizon: nothing",
			campaign: forecast.Campaign{ID: "c7", Category: "toys", Start: at(29), End: at(35), ExpectedUplift: 2},
			want:     uplift{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := train(t, forecast.Config{}, forecast.Input{Series: series, Catalog: catalog, Campaigns: []forecast.Campaign{tc.campaign}})
			for i, f := range res.Forecasts {
				base := noCampaign.Forecasts[i]
				if f.Model != base.Model {
					t.Fatalf("%s: model %s, without the campaign %s: the future campaign changed the history", f.Key, f.Model, base.Model)
				}
				for k, day := range f.Days {
					want := tc.want[f.Key][day.Horizon]
					if math.Abs(day.Uplift-want) > 1e-6 {
						t.Errorf("%s horizon %d: uplift %g, want %g", f.Key, day.Horizon, day.Uplift, want)
					}
					b := base.Days[k]
					for _, p := range [][2]float64{{day.Mean, b.Mean}, {day.P10, b.P10}, {day.P50, b.P50}, {day.P99, b.P99}} {
						if math.Abs(p[0]-p[1]*(1+want)) > 2e-4 {
							t.Errorf("%s horizon %d: %g, want the baseline %g times %g", f.Key, day.Horizon, p[0], p[1], 1+want)
						}
					}
				}
			}
		})
	}
}

// TestTrainRealisedUplift: past campaigns whose demand doubled (announced
// +50%) are measured against the baseline, history is cleaned of them, and
// the announced uplift of an upcoming campaign is calibrated.
func TestTrainRealisedUplift(t *testing.T) {
	const n = 200
	start := cutoff.AddDate(0, 0, -(n - 1))
	past := []forecast.Campaign{
		{ID: "p1", SKUs: []event.SKU{"SKU-A"}, Start: start.AddDate(0, 0, 60), End: start.AddDate(0, 0, 70), ExpectedUplift: 0.5},
		{ID: "p2", SKUs: []event.SKU{"SKU-A"}, Start: start.AddDate(0, 0, 110), End: start.AddDate(0, 0, 120), ExpectedUplift: 0.5},
		// Ends 4 days before the cutoff: its days are in the level's window.
		{ID: "p3", SKUs: []event.SKU{"SKU-A"}, Start: start.AddDate(0, 0, n-14), End: start.AddDate(0, 0, n-4), ExpectedUplift: 0.5},
	}
	inside := func(i int) bool {
		day := start.AddDate(0, 0, i)
		for _, c := range past {
			if !day.Before(c.Start) && day.Before(c.End) {
				return true
			}
		}
		return false
	}
	a := synth(keyA, cutoff, n, 5, func(i int) float64 {
		if inside(i) {
			return 80
		}
		return 40
	})
	next := forecast.Campaign{ID: "next", SKUs: []event.SKU{"SKU-A"}, Start: cutoff.AddDate(0, 0, 10), End: cutoff.AddDate(0, 0, 15), ExpectedUplift: 0.5}
	res := train(t, forecast.Config{}, forecast.Input{Series: []forecast.Series{a}, Campaigns: append(slices.Clone(past), next)})
	for _, u := range res.Uplifts {
		if u.Campaign == "next" {
			if !math.IsNaN(u.Realised) {
				t.Errorf("next: realised %g before it ran", u.Realised)
			}
			continue
		}
		if math.Abs(u.Realised-1) > 0.2 || u.Applied != u.Realised || u.Days != 10 {
			t.Errorf("%s: realised %g applied %g over %d days, want about 1 over 10 days", u.Campaign, u.Realised, u.Applied, u.Days)
		}
	}
	if res.Calibration < 1.6 || res.Calibration > 2.4 {
		t.Errorf("calibration %g, want about 2 (realised +100%% for announced +50%%)", res.Calibration)
	}
	f := res.Forecasts[0]
	var outside, during []float64
	for _, d := range f.Days {
		if d.Uplift == 0 {
			outside = append(outside, d.Mean)
		} else {
			during = append(during, d.Mean/(1+d.Uplift))
			if math.Abs(d.Uplift-0.5*res.Calibration) > 1e-6 {
				t.Errorf("horizon %d: uplift %g, want the announced 0.5 calibrated to %g", d.Horizon, d.Uplift, 0.5*res.Calibration)
			}
		}
	}
	if len(during) != 5 {
		t.Fatalf("%d days with uplift, want 5", len(during))
	}
	// Without cleaning, the last 28 days (10 of them at 80) would give 54.
	if m := avg(outside); m < 36 || m > 45 {
		t.Errorf("baseline forecast %.2f (model %s), want about 40: the history was not cleaned of the campaigns", m, f.Model)
	}
}

func avg(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// shapes are series of every kind the pipeline meets.
func shapes(t *testing.T) []forecast.Series {
	t.Helper()
	weekly := []float64{4, 4, 5, 5, 7, 14, 12}
	out := []forecast.Series{
		synth(forecast.Key{SKU: "flat", Warehouse: "W"}, cutoff, 200, 11, constant(6)),
		synth(forecast.Key{SKU: "weekly", Warehouse: "W"}, cutoff, 365, 12, func(i int) float64 { return weekly[i%7] }),
		synth(forecast.Key{SKU: "slow", Warehouse: "W"}, cutoff, 300, 13, constant(0.15)),
		synth(forecast.Key{SKU: "trend", Warehouse: "W"}, cutoff, 250, 14, func(i int) float64 { return 2 + 0.05*float64(i) }),
		synth(forecast.Key{SKU: "short", Warehouse: "W"}, cutoff, 20, 15, constant(3)),
		synth(forecast.Key{SKU: "tiny", Warehouse: "W"}, cutoff, 5, 16, constant(3)),
	}
	zero := forecast.Series{Key: forecast.Key{SKU: "dead", Warehouse: "W"}, Start: cutoff.AddDate(0, 0, -99), Units: make([]float64, 100), Censored: make([]bool, 100)}
	zero.Units[0] = 1
	out = append(out, zero)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range out[1].Censored {
		out[1].Censored[i] = r.Float64() < 0.05
	}
	return out
}

// TestTrainQuantiles: every forecast day of every shape has ordered,
// non-negative quantiles, and the days follow the cutoff.
func TestTrainQuantiles(t *testing.T) {
	for _, set := range []string{forecast.SetDefault, forecast.SetFast, "ets,croston,theta"} {
		t.Run(set, func(t *testing.T) {
			ms, err := forecast.ParseModelSet(set)
			if err != nil {
				t.Fatal(err)
			}
			res := train(t, forecast.Config{Models: ms}, forecast.Input{Series: shapes(t)})
			if res.Skipped != 1 || len(res.Forecasts) != 6 {
				t.Fatalf("%d forecast, %d skipped; want 6 and 1 (the 5-day series)", len(res.Forecasts), res.Skipped)
			}
			for _, f := range res.Forecasts {
				if len(f.Days) != forecast.DefaultHorizon {
					t.Fatalf("%s: %d days", f.Key, len(f.Days))
				}
				for k, d := range f.Days {
					if !d.Day.Equal(cutoff.AddDate(0, 0, k+1)) || d.Horizon != k+1 {
						t.Errorf("%s day %d: %s horizon %d", f.Key, k, d.Day, d.Horizon)
					}
					q := []float64{d.P05, d.P10, d.P50, d.P90, d.P95, d.P99}
					if !slices.IsSorted(q) || q[0] < 0 || d.Mean < 0 {
						t.Errorf("%s horizon %d: quantiles %v mean %g not ordered and non-negative", f.Key, d.Horizon, q, d.Mean)
					}
				}
			}
			if m := res.Forecasts[slices.IndexFunc(res.Forecasts, func(f forecast.SeriesForecast) bool { return f.Key.SKU == "weekly" })].Model; set == forecast.SetDefault && !strings.Contains(m, "*p7") {
				t.Errorf("weekly series chose %s, want a model with the day-of-week profile", m)
			}
		})
	}
}

// records encodes a result's Kafka records (NaN-free, so comparable).
func records(t *testing.T, res *forecast.Result) []byte {
	t.Helper()
	var out []byte
	for i := range res.Forecasts {
		b, err := json.Marshal(res.Record(i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, b...), '\n')
	}
	return out
}

// TestTrainDeterministic: the same input gives the same result and run id
// whatever the workers and the order of series and campaigns; any change
// of the input changes the run id.
func TestTrainDeterministic(t *testing.T) {
	series := shapes(t)
	for i := range 10 {
		series = append(series, synth(forecast.Key{SKU: event.SKU("r" + string(rune('a'+i))), Warehouse: "W2"}, cutoff, 100+20*i, uint64(100+i), constant(float64(1+i))))
	}
	campaigns := []forecast.Campaign{
		{ID: "x", SKUs: []event.SKU{"flat", "weekly"}, Start: cutoff.AddDate(0, 0, -50), End: cutoff.AddDate(0, 0, -40), ExpectedUplift: 0.3},
		{ID: "y", SKUs: []event.SKU{"ra", "rb"}, Start: cutoff.AddDate(0, 0, 3), End: cutoff.AddDate(0, 0, 9), ExpectedUplift: 0.6},
	}
	in := forecast.Input{Series: series, Campaigns: campaigns}
	ref := train(t, forecast.Config{Workers: 1}, in)
	refRecords := records(t, ref)

	shuffled := slices.Clone(series)
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	slices.Reverse(campaigns)
	for _, workers := range []int{2, 7} {
		got := train(t, forecast.Config{Workers: workers}, forecast.Input{Series: shuffled, Campaigns: campaigns})
		if got.RunID != ref.RunID {
			t.Errorf("workers %d, shuffled: run id %s, want %s", workers, got.RunID, ref.RunID)
		}
		if b := records(t, got); string(b) != string(refRecords) {
			t.Errorf("workers %d, shuffled: records differ", workers)
		}
	}
	if !strings.HasPrefix(ref.RunID, "fc-20260630-") || len(ref.RunID) != len("fc-20260630-")+16 {
		t.Errorf("run id %q, want fc-20260630-<16 hex>", ref.RunID)
	}

	changed := func(edit func(in *forecast.Input, cfg *forecast.Config)) string {
		in := forecast.Input{Series: slices.Clone(series), Campaigns: slices.Clone(campaigns)}
		cfg := forecast.Config{Cutoff: cutoff}
		edit(&in, &cfg)
		return forecast.RunID(cfg, in)
	}
	for name, edit := range map[string]func(in *forecast.Input, cfg *forecast.Config){
		"a unit": func(in *forecast.Input, _ *forecast.Config) {
			in.Series[0].Units = slices.Clone(in.Series[0].Units)
			in.Series[0].Units[3]++
		},
		"a censor flag": func(in *forecast.Input, _ *forecast.Config) {
			in.Series[0].Censored = slices.Clone(in.Series[0].Censored)
			in.Series[0].Censored[3] = !in.Series[0].Censored[3]
		},
		"a campaign": func(in *forecast.Input, _ *forecast.Config) { in.Campaigns[0].ExpectedUplift += 0.1 },
		"the catalogue": func(in *forecast.Input, _ *forecast.Config) {
			in.Catalog.Regions = map[event.WarehouseID]string{"W": "EU"}
		},
		"the horizon": func(_ *forecast.Input, cfg *forecast.Config) { cfg.Horizon = 14 },
		"the models": func(_ *forecast.Input, cfg *forecast.Config) {
			cfg.Models, _ = forecast.ParseModelSet(forecast.SetFast)
		},
	} {
		if id := changed(edit); id == ref.RunID {
			t.Errorf("changing %s kept the run id %s", name, id)
		}
	}
	if id := changed(func(*forecast.Input, *forecast.Config) {}); id != ref.RunID {
		t.Errorf("RunID = %s, Train's run id %s", id, ref.RunID)
	}
	explicit := train(t, forecast.Config{RunID: "manual-1"}, in)
	if explicit.RunID != "manual-1" || explicit.Record(0).RunID != "manual-1" {
		t.Errorf("explicit run id not kept: %s", explicit.RunID)
	}
}

func TestTrainRejects(t *testing.T) {
	ok := synth(keyA, cutoff, 30, 1, constant(2))
	early := synth(keyB, cutoff.AddDate(0, 0, -1), 30, 1, constant(2))
	cases := []struct {
		name string
		cfg  forecast.Config
		in   forecast.Input
		want string
	}{
		{"no cutoff", forecast.Config{}, forecast.Input{Series: []forecast.Series{ok}}, "no cutoff"},
		{"series ends before the cutoff", forecast.Config{Cutoff: cutoff}, forecast.Input{Series: []forecast.Series{ok, early}}, "not on the cutoff"},
		{"duplicate key", forecast.Config{Cutoff: cutoff}, forecast.Input{Series: []forecast.Series{ok, ok}}, "twice"},
		{"negative units", forecast.Config{Cutoff: cutoff}, forecast.Input{Series: []forecast.Series{{Key: keyA, Start: cutoff, Units: []float64{-1}, Censored: []bool{false}}}}, "units -1"},
		{"bad campaign", forecast.Config{Cutoff: cutoff}, forecast.Input{Series: []forecast.Series{ok}, Campaigns: []forecast.Campaign{{ID: "c", Start: cutoff, End: cutoff}}}, "not after start"},
		{"short min history", forecast.Config{Cutoff: cutoff, MinHistory: 3}, forecast.Input{Series: []forecast.Series{ok}}, "min history"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := forecast.Train(t.Context(), tc.cfg, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseModelSet(t *testing.T) {
	cases := []struct {
		spec, name string
		n          int
		err        bool
	}{
		{spec: "", name: "default", n: 12},
		{spec: "default", name: "default", n: 12},
		{spec: "fast", name: "fast", n: 4},
		{spec: "full", name: "full", n: 17},
		{spec: " mean28*p7, tsb ,mean28*p7", name: "mean28*p7,tsb", n: 2},
		{spec: "nope", err: true},
		{spec: ",", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			ms, err := forecast.ParseModelSet(tc.spec)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if ms.Name != tc.name || len(ms.Candidates(nil)) != tc.n {
				t.Errorf("set %q with %d candidates, want %q with %d", ms.Name, len(ms.Candidates(nil)), tc.name, tc.n)
			}
		})
	}
}
