package stock

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// day0 is a UTC midnight; the cases place events relative to it.
var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) int64 { return day0.Add(d).UnixMilli() }

var kA = Key{SKU: "SKU-A", Warehouse: "WH-1"}

// step is one input of a window case: a sale, an available-stock change
// or an advance of the close time (stream time or idle flush).
type step struct {
	sale    int64 // units; revenue is units × 2
	avail   *int64
	advance bool
	at      time.Duration
}

func sold(units int64, d time.Duration) step { return step{sale: units, at: d} }
func stockAt(v int64, d time.Duration) step  { return step{avail: &v, at: d} }
func upTo(d time.Duration) step              { return step{advance: true, at: d} }

// rec renders a window record compactly for comparison.
func rec(w event.Window) string {
	s := fmt.Sprintf("%s %s %s+%s u=%d n=%d", w.Kind, w.Size, w.Start.Sub(day0), w.End.Sub(w.Start), w.Units, w.Sales)
	if w.StockoutSeconds != 0 {
		s += fmt.Sprintf(" so=%ds", w.StockoutSeconds)
	}
	if w.Velocity7 != 0 || w.Velocity28 != 0 {
		s += fmt.Sprintf(" v7=%.3f v28=%.3f", w.Velocity7, w.Velocity28)
	}
	return s
}

// run feeds steps to a windows of the given grace like the processor does
// (a sale advances the close time to its event time, a stock event the
// time up to which stockouts are charged) and returns the emitted
// records, sorted.
func run(grace time.Duration, steps []step) ([]string, *windows) {
	w := newWindows(grace)
	var got []string
	for _, s := range steps {
		ts := at(s.at)
		switch {
		case s.advance: // an idle flush: caught up on every topic
			w.setSafe(ts)
			w.advance(ts)
		case s.avail != nil: // a stock event
			w.available(kA, ts, *s.avail)
			w.setSafe(ts)
		default:
			w.addSale(kA, ts, s.sale, float64(s.sale*2))
			w.advance(ts)
		}
		for _, r := range w.drain() {
			if r.Revenue != float64(r.Units*2) {
				got = append(got, "revenue mismatch: "+rec(r))
			}
			got = append(got, rec(r))
		}
	}
	slices.Sort(got)
	return got, w
}

func TestWindows(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name  string
		grace time.Duration
		steps []step
		want  []string
	}{
		{
			name:  "in order: hour closes when stream time passes end plus grace",
			grace: 10 * time.Minute,
			steps: []step{sold(2, 10*time.Minute), sold(3, 50*time.Minute), sold(1, h+9*time.Minute), sold(1, h+10*time.Minute)},
			want:  []string{"final 1h 0s+1h0m0s u=5 n=2"},
		},
		{
			name:  "out of order within the window and grace: counted, no correction",
			grace: 10 * time.Minute,
			steps: []step{sold(1, 30*time.Minute), sold(1, h+5*time.Minute), sold(4, 10*time.Minute), upTo(h + 10*time.Minute)},
			want:  []string{"final 1h 0s+1h0m0s u=5 n=2"},
		},
		{
			name:  "late after grace: a correction increment, counted once",
			grace: 10 * time.Minute,
			steps: []step{sold(1, 30*time.Minute), upTo(h + 10*time.Minute), sold(7, 40*time.Minute)},
			want:  []string{"correction 1h 0s+1h0m0s u=7 n=1", "final 1h 0s+1h0m0s u=1 n=1"},
		},
		{
			name:  "zero grace closes at the end exactly",
			grace: 0,
			steps: []step{sold(1, 59*time.Minute), upTo(h)},
			want:  []string{"final 1h 0s+1h0m0s u=1 n=1"},
		},
		{
			name:  "day boundary in UTC: 23:59 and 00:00 fall in different days",
			grace: 0,
			steps: []step{sold(1, 23*h+59*time.Minute), sold(2, 24*h), upTo(48 * h)},
			want: []string{
				"final 1d 0s+24h0m0s u=1 n=1 v7=0.143 v28=0.036",
				"final 1d 24h0m0s+24h0m0s u=2 n=1 v7=0.429 v28=0.107",
				"final 1h 23h0m0s+1h0m0s u=1 n=1",
				"final 1h 24h0m0s+1h0m0s u=2 n=1",
			},
		},
		{
			name:  "idle flush: the wall clock closes a quiet window",
			grace: 5 * time.Minute,
			steps: []step{sold(3, 20*time.Minute), upTo(h + 5*time.Minute)},
			want:  []string{"final 1h 0s+1h0m0s u=3 n=1"},
		},
		{
			name:  "late beyond the day: corrections for both sizes",
			grace: h,
			steps: []step{sold(1, 2*h), upTo(50 * h), sold(5, 3*h)},
			want: []string{
				"correction 1d 0s+24h0m0s u=5 n=1",
				"correction 1h 3h0m0s+1h0m0s u=5 n=1",
				"final 1d 0s+24h0m0s u=1 n=1 v7=0.143 v28=0.036",
				"final 1h 2h0m0s+1h0m0s u=1 n=1",
			},
		},
		{
			name:  "stockout inside a day",
			grace: 0,
			steps: []step{stockAt(0, 6*h), stockAt(5, 8*h), upTo(24 * h)},
			want:  []string{"final 1d 0s+24h0m0s u=0 n=0 so=7200s"},
		},
		{
			name:  "stockout across midnight: each day gets its share; a day with no sales still has a row",
			grace: 0,
			steps: []step{stockAt(-1, 22*h), upTo(24 * h), stockAt(3, 27*h), upTo(48 * h)},
			want: []string{
				"final 1d 0s+24h0m0s u=0 n=0 so=7200s",
				"final 1d 24h0m0s+24h0m0s u=0 n=0 so=10800s",
			},
		},
		{
			name:  "stockout still open at close: charged to the closing day, then the next",
			grace: 0,
			steps: []step{stockAt(0, 12*h), upTo(24 * h), upTo(48 * h)},
			want: []string{
				"final 1d 0s+24h0m0s u=0 n=0 so=43200s",
				"final 1d 24h0m0s+24h0m0s u=0 n=0 so=86400s",
			},
		},
		{
			name:  "stockout starting in a closed day (late event): a correction for that day",
			grace: 0,
			steps: []step{sold(1, 30*h), stockAt(0, 20*h), stockAt(2, 31*h), upTo(48 * h)},
			want: []string{
				"correction 1d 0s+24h0m0s u=0 n=0 so=14400s",
				"final 1d 24h0m0s+24h0m0s u=1 n=1 so=25200s v7=0.143 v28=0.036",
				"final 1h 30h0m0s+1h0m0s u=1 n=1",
			},
		},
		{
			name:  "sales topic days ahead of the stock topic: a stockout is charged only up to the stock topic's time",
			grace: 0,
			steps: []step{stockAt(0, 10*h), sold(1, 80*h), stockAt(5, 11*h), upTo(96 * h)},
			want: []string{
				"correction 1d 0s+24h0m0s u=0 n=0 so=3600s",
				"final 1d 72h0m0s+24h0m0s u=1 n=1 v7=0.143 v28=0.036",
				"final 1h 80h0m0s+1h0m0s u=1 n=1",
			},
		},
		{
			name:  "velocity: mean daily units over 7 and 28 days, days without sales count zero",
			grace: 0,
			steps: []step{sold(7, 2*h), sold(14, 24*3*h+h), upTo(24 * 4 * h)},
			want: []string{
				"final 1d 0s+24h0m0s u=7 n=1 v7=1.000 v28=0.250",
				"final 1d 72h0m0s+24h0m0s u=14 n=1 v7=3.000 v28=0.750",
				"final 1h 2h0m0s+1h0m0s u=7 n=1",
				"final 1h 73h0m0s+1h0m0s u=14 n=1",
			},
		},
		{
			name:  "velocity forgets days older than 28",
			grace: 0,
			steps: []step{sold(28, h), sold(28, 24*30*h+h), upTo(24 * 31 * h)},
			want: []string{
				"final 1d 0s+24h0m0s u=28 n=1 v7=4.000 v28=1.000",
				"final 1d 720h0m0s+24h0m0s u=28 n=1 v7=4.000 v28=1.000",
				"final 1h 1h0m0s+1h0m0s u=28 n=1",
				"final 1h 721h0m0s+1h0m0s u=28 n=1",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := run(c.grace, c.steps)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("records:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
			}
		})
	}
}

// TestWindowsCountEverySaleOnce feeds sales in a scrambled order with
// advances in between and checks that final + corrections per day equal
// the plain per-day sums, whatever closed when.
func TestWindowsCountEverySaleOnce(t *testing.T) {
	w := newWindows(30 * time.Minute)
	want := map[int64]int64{}
	got := map[int64]int64{}
	x := uint64(12345)
	next := func(n uint64) int64 { x = x*6364136223846793005 + 1442695040888963407; return int64((x >> 33) % n) }
	stream := int64(0)
	for i := range 5000 {
		ts := at(time.Duration(i) * 2 * time.Minute)
		if next(5) == 0 { // one in five arrives up to three days late
			ts -= next(3*uint64(dayMS)) + 1
		}
		units := next(4) + 1
		want[floorTo(ts, dayMS)] += units
		w.addSale(kA, ts, units, 0)
		stream = max(stream, ts)
		w.advance(stream)
	}
	w.advance(stream + 2*dayMS)
	for _, r := range w.drain() {
		if r.Size == event.WindowDay {
			got[r.Start.UnixMilli()] += r.Units
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("daily totals differ:\n got %v\nwant %v", got, want)
	}
	if w.late[1] == 0 {
		t.Error("no late day events: the case does not test corrections")
	}
}

// TestWindowsRestore checks that the flushed changelog state restores an
// identical window state: closing the restored copy emits what the
// original emits.
func TestWindowsRestore(t *testing.T) {
	build := func() *windows {
		w := newWindows(time.Hour)
		w.addSale(kA, at(time.Hour), 3, 6)
		w.addSale(Key{SKU: "SKU-B/x", Warehouse: "WH-2"}, at(2*time.Hour), 1, 2.5)
		w.available(kA, at(3*time.Hour), 0)
		w.setSafe(at(30 * time.Hour))
		w.advance(at(30 * time.Hour)) // closes day 0 and its hours, day 1 open
		w.addSale(kA, at(26*time.Hour), 2, 4)
		return w
	}
	orig := build()
	log := map[string][]byte{}
	if err := orig.flush(func(k string, v []byte) {
		if v == nil {
			delete(log, k)
			return
		}
		log[k] = v
	}); err != nil {
		t.Fatal(err)
	}
	restored := newWindows(time.Hour)
	restored.closeTime, restored.safe = orig.closeTime, orig.safe
	for k, v := range log {
		if err := restored.restoreRecord(k, v); err != nil {
			t.Fatalf("restore %s: %v", k, err)
		}
	}
	orig.drain()
	for _, w := range []*windows{orig, restored} {
		w.advance(at(72 * time.Hour))
	}
	a, b := orig.drain(), restored.drain()
	render := func(rs []event.Window) []string {
		var out []string
		for _, r := range rs {
			out = append(out, string(r.SKU)+" "+rec(r))
		}
		slices.Sort(out)
		return out
	}
	if ra, rb := render(a), render(b); !slices.Equal(ra, rb) || len(ra) == 0 {
		t.Errorf("restored state emits differently:\n orig     %v\n restored %v", ra, rb)
	}
}
