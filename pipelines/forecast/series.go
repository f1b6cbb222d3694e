package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// Key identifies one demand series.
type Key struct {
	SKU       event.SKU
	Warehouse event.WarehouseID
}

// Compare orders keys by SKU, then warehouse.
func (k Key) Compare(o Key) int {
	if c := cmp.Compare(k.SKU, o.SKU); c != 0 {
		return c
	}
	return cmp.Compare(k.Warehouse, o.Warehouse)
}

func (k Key) String() string { return string(k.SKU) + "@" + string(k.Warehouse) }

// DailyUnits is the number of units of one key sold on one UTC day.
type DailyUnits struct {
	Key   Key
	Day   time.Time
	Units float64
}

// StockoutDay is how long one key was out of stock on one UTC day.
type StockoutDay struct {
	Key     Key
	Day     time.Time
	Seconds int64
}

// Series is the daily demand of one key, from its first sale through the
// cutoff.
type Series struct {
	Key Key
	// Start is the first day (UTC midnight).
	Start time.Time
	// Units are the units sold per day from Start, 0 on days without sales.
	Units []float64
	// Censored marks days stocked out for at least the censoring
	// threshold: their Units are a lower bound of demand.
	Censored []bool
}

// Day returns the date of index i.
func (s *Series) Day(i int) time.Time { return s.Start.AddDate(0, 0, i) }

// CensoredDays counts the censored days.
func (s *Series) CensoredDays() int {
	n := 0
	for _, c := range s.Censored {
		if c {
			n++
		}
	}
	return n
}

// Validate checks the series' shape.
func (s *Series) Validate() error {
	switch {
	case s.Key.SKU == "" || s.Key.Warehouse == "":
		return fmt.Errorf("series %s: empty sku or warehouse", s.Key)
	case !s.Start.Equal(Date(s.Start)):
		return fmt.Errorf("series %s: start %s is not a UTC midnight", s.Key, s.Start)
	case len(s.Censored) != len(s.Units):
		return fmt.Errorf("series %s: %d censor flags for %d days", s.Key, len(s.Censored), len(s.Units))
	}
	for i, v := range s.Units {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("series %s: units %g on %s", s.Key, v, s.Day(i).Format(time.DateOnly))
		}
	}
	return nil
}

// Date returns the UTC date of t as a UTC midnight.
func Date(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// days is the number of whole days from a to b (both UTC midnights).
func days(a, b time.Time) int { return int(b.Sub(a).Hours()) / 24 }

// BuildSeries turns daily sales and stockouts into one series per key that
// sold anything on or before cutoff, sorted by key: each runs from the
// key's first sale day through the cutoff day, with zeros on days without
// sales (several entries of one key and day add up). A day is censored when
// the key's stockout seconds on it (added up) reach censorAfter; a negative
// censorAfter censors nothing. Days after the cutoff, and stockouts before
// a key's first sale or of keys without sales, are ignored.
func BuildSeries(sales []DailyUnits, stockouts []StockoutDay, cutoff time.Time, censorAfter time.Duration) []Series {
	cutoff = Date(cutoff)
	first := make(map[Key]time.Time)
	for _, s := range sales {
		d := Date(s.Day)
		if d.After(cutoff) {
			continue
		}
		if f, ok := first[s.Key]; !ok || d.Before(f) {
			first[s.Key] = d
		}
	}
	keys := make([]Key, 0, len(first))
	for k := range first {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, Key.Compare)
	out := make([]Series, len(keys))
	idx := make(map[Key]int, len(keys))
	for i, k := range keys {
		n := days(first[k], cutoff) + 1
		out[i] = Series{Key: k, Start: first[k], Units: make([]float64, n), Censored: make([]bool, n)}
		idx[k] = i
	}
	for _, s := range sales {
		d := Date(s.Day)
		if d.After(cutoff) {
			continue
		}
		sr := &out[idx[s.Key]]
		sr.Units[days(sr.Start, d)] += s.Units
	}
	if censorAfter < 0 {
		return out
	}
	type kd struct {
		k Key
		d time.Time
	}
	secs := make(map[kd]int64)
	for _, so := range stockouts {
		secs[kd{so.Key, Date(so.Day)}] += so.Seconds
	}
	limit := int64(censorAfter / time.Second)
	for at, s := range secs {
		i, ok := idx[at.k]
		if !ok || s < limit || s <= 0 {
			continue
		}
		sr := &out[i]
		if at.d.Before(sr.Start) || at.d.After(cutoff) {
			continue
		}
		sr.Censored[days(sr.Start, at.d)] = true
	}
	return out
}

// levelWindow is how many days before (or after) a censored day its
// imputation level is taken from.
const levelWindow = 28

// profilePrior is the shrinkage of the day-of-week index towards 1, in
// weeks at the overall mean (as models/backtest.Profile).
const profilePrior = 2

// Impute returns a copy of y in which every censored day holds
// max(observed, level × index): index is the day-of-week profile of the
// uncensored days (position i mod 7, shrunk towards 1), level the mean of
// the de-seasonalised uncensored days among the levelWindow days before
// the censored one, else among the levelWindow days after it, else over the
// whole series. With no uncensored day at all, y is returned unchanged.
func Impute(y []float64, censored []bool) []float64 {
	out := slices.Clone(y)
	if !slices.Contains(censored, true) {
		return out
	}
	idx, ok := dayOfWeekIndex(y, censored)
	if !ok {
		return out
	}
	des := func(t int) float64 { return y[t] / idx[t%7] }
	var allSum float64
	allN := 0
	for t := range y {
		if !censored[t] {
			allSum += des(t)
			allN++
		}
	}
	for t := range y {
		if !censored[t] {
			continue
		}
		level, ok := meanUncensored(censored, des, max(0, t-levelWindow), t)
		if !ok {
			level, ok = meanUncensored(censored, des, t+1, min(len(y), t+1+levelWindow))
		}
		if !ok {
			level = allSum / float64(allN)
		}
		out[t] = max(y[t], level*idx[t%7])
	}
	return out
}

func meanUncensored(censored []bool, des func(int) float64, from, to int) (float64, bool) {
	var s float64
	n := 0
	for t := from; t < to; t++ {
		if !censored[t] {
			s += des(t)
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return s / float64(n), true
}

// dayOfWeekIndex is the day-of-week profile (position t mod 7) of the
// uncensored days: each position's mean over the overall mean, shrunk
// towards 1 by profilePrior weeks at the overall mean. All ones when the
// uncensored days sum to zero; ok is false when there is none. The index
// is positive wherever a position has demand or the prior.
func dayOfWeekIndex(y []float64, censored []bool) ([7]float64, bool) {
	var sums [7]float64
	var counts [7]int
	var total float64
	n := 0
	for t, v := range y {
		if censored[t] {
			continue
		}
		sums[t%7] += v
		counts[t%7]++
		total += v
		n++
	}
	idx := [7]float64{1, 1, 1, 1, 1, 1, 1}
	if n == 0 {
		return idx, false
	}
	mean := total / float64(n)
	if mean <= 0 {
		return idx, true
	}
	for p := range idx {
		idx[p] = (sums[p]/mean + profilePrior) / float64(counts[p]+profilePrior)
	}
	return idx, true
}
