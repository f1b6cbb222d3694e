package sim

import (
	"slices"
	"testing"
	"time"
)

// TestDemandLeavesHistoryAlone checks that Demand is deterministic, follows
// the seed, and does not change what History produces.
func TestDemandLeavesHistoryAlone(t *testing.T) {
	t.Parallel()
	cfg := smallConfig(3)
	want := hashRecords(history(t, cfg, nil).recs)

	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Demand(), s.Demand()
	if len(a) != cfg.SKUs*cfg.Warehouses || len(a[0]) != cfg.Days {
		t.Fatalf("%d series of %d days, want %d of %d", len(a), len(a[0]), cfg.SKUs*cfg.Warehouses, cfg.Days)
	}
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Error("two calls of Demand differ")
	}
	other, err := New(smallConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	if slices.EqualFunc(a, other.Demand(), slices.Equal) {
		t.Error("another seed gives the same demand")
	}
	var got []Record
	if _, err := s.History(t.Context(), func(r Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if h := hashRecords(got); h != want {
		t.Errorf("History after Demand hashes to %s, want %s (as without Demand)", h, want)
	}
}

// TestDemandSeries checks the demand model's traits on a year of demand:
// the level matches the catalogue's expected demand, slow movers are
// intermittent and fast movers are not, and weekend-peaking categories
// peak at the weekend.
func TestDemandSeries(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 11, SKUs: 400, Warehouses: 4, Days: 364, Start: time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dem := s.Demand()
	var sold, expected float64
	var slowZero, fastZero []float64
	var sat, tue float64
	for i, it := range s.Items() {
		expected += it.MeanDailyDemand * float64(cfg.Days)
		var zeros, days int
		for w := range cfg.Warehouses {
			for d, u := range dem[i*cfg.Warehouses+w] {
				if u < 0 || u != float64(int(u)) {
					t.Fatalf("%s day %d: %v units", it.SKU, d, u)
				}
				sold += u
				days++
				if u == 0 {
					zeros++
				}
				if it.Category == "toys" || it.Category == "apparel" {
					switch cfg.Start.AddDate(0, 0, d).Weekday() {
					case time.Saturday:
						sat += u
					case time.Tuesday:
						tue += u
					}
				}
			}
		}
		share := float64(zeros) / float64(days)
		switch {
		case it.Intermittent:
			slowZero = append(slowZero, share)
		case it.MeanDailyDemand > 20:
			fastZero = append(fastZero, share)
		}
	}
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	if r := sold / expected; r < 0.85 || r > 1.3 {
		t.Errorf("demand is %.2f times the catalogue's expected demand, want about 1", r)
	}
	if len(slowZero) == 0 || mean(slowZero) < 0.6 {
		t.Errorf("%d slow movers with %.2f zero days on average, want mostly zero days", len(slowZero), mean(slowZero))
	}
	if len(fastZero) == 0 || mean(fastZero) > 0.1 {
		t.Errorf("%d fast movers with %.2f zero days on average, want almost none", len(fastZero), mean(fastZero))
	}
	if sat < 1.3*tue {
		t.Errorf("toys and apparel: %v units on Saturdays, %v on Tuesdays; want a weekend peak", sat, tue)
	}
	t.Logf("demand/expected %.3f, slow movers %d (zero share %.2f), fast %d (%.3f), Saturday/Tuesday %.2f",
		sold/expected, len(slowZero), mean(slowZero), len(fastZero), mean(fastZero), sat/tue)
}
