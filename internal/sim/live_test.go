package sim

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestLive(t *testing.T) {
	tests := []struct {
		name    string
		history bool
		rate    float64
		dur     time.Duration
	}{
		{"after history", true, 200, 10 * time.Second},
		{"without history", false, 1000, 3 * time.Second},
		{"slow", false, 5, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := Config{Seed: 5, SKUs: 50, Warehouses: 4, Days: 3, Start: testStart, LiveRate: tt.rate, BadShare: 0.01}
				s, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				ids := map[string]bool{}
				if tt.history {
					_, err := s.History(t.Context(), func(rec Record) error {
						if rec.Bad == "" {
							d, _ := decodeStd(rec)
							ids[eventID(d)] = true
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				base := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
				t0 := time.Now()
				clock := func() time.Time { return base.Add(time.Since(t0)) }
				ctx, cancel := context.WithTimeout(t.Context(), tt.dur)
				defer cancel()
				var recs []Record
				if err := s.Live(ctx, clock, func(rec Record) error { recs = append(recs, rec); return nil }); err != nil {
					t.Fatalf("Live = %v, want nil on cancel", err)
				}
				if el := time.Since(t0); el != tt.dur {
					t.Errorf("Live returned after %v, want %v", el, tt.dur)
				}
				want := tt.rate * tt.dur.Seconds()
				if n := float64(len(recs)); n < 0.95*want || n > want+tt.rate/10+8 {
					t.Errorf("%d records in %v, want about %.0f", len(recs), tt.dur, want)
				}
				prev := base
				var bad int
				for _, rec := range recs {
					if rec.TS.Before(prev) || rec.TS.After(base.Add(tt.dur)) {
						t.Fatalf("record at %v outside the clock's [%v, %v] or out of order", rec.TS, prev, base.Add(tt.dur))
					}
					prev = rec.TS
					if rec.Bad != "" {
						bad++
						continue
					}
					d, err := decodeStd(rec)
					if err != nil {
						t.Fatalf("bad live record: %v", err)
					}
					if ts := eventTS(d); !ts.Equal(rec.TS) {
						t.Errorf("payload ts %v, record %v", ts, rec.TS)
					}
					if id := eventID(d); ids[id] {
						t.Errorf("event id %s repeats", id)
					} else {
						ids[id] = true
					}
					if d.camp != nil && (!d.camp.Start.After(d.camp.TS) || !d.camp.End.After(d.camp.Start)) {
						t.Errorf("live campaign %s", rec.Value)
					}
				}
				if tt.rate*tt.dur.Seconds() > 1000 && bad == 0 {
					t.Error("no bad records in live mode")
				}
			})
		})
	}
}

// TestLiveDeterministic: in a synctest bubble the clock starts at the same
// instant, so two runs of the same seed are byte-identical.
func TestLiveDeterministic(t *testing.T) {
	runLive := func(seed uint64) string {
		var h string
		synctest.Test(t, func(t *testing.T) {
			s, err := New(Config{Seed: seed, SKUs: 30, Warehouses: 3, Days: 2, Start: testStart, BadShare: 0.01})
			if err != nil {
				t.Fatal(err)
			}
			// Not a multiple of the tick: a tick and the deadline at the
			// same instant would race.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second+5*time.Millisecond)
			defer cancel()
			var recs []Record
			if err := s.Live(ctx, time.Now, func(rec Record) error { recs = append(recs, rec); return nil }); err != nil {
				t.Fatal(err)
			}
			h = hashRecords(recs)
		})
		return h
	}
	a, b, c := runLive(1), runLive(1), runLive(2)
	if a != b {
		t.Error("same seed, different live output")
	}
	if a == c {
		t.Error("different seed, same live output")
	}
}

func TestLiveEmitError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Seed: 1, SKUs: 10, Warehouses: 2, Days: 1, Start: testStart})
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("broker down")
		n := 0
		err = s.Live(t.Context(), time.Now, func(Record) error {
			if n++; n == 50 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("Live = %v, want %v", err, boom)
		}
	})
}

func eventID(d decoded) string {
	switch {
	case d.sale != nil:
		return d.sale.EventID
	case d.stock != nil:
		return d.stock.EventID
	case d.order != nil:
		return d.order.EventID
	}
	return d.camp.EventID
}

func eventTS(d decoded) time.Time {
	switch {
	case d.sale != nil:
		return d.sale.TS
	case d.stock != nil:
		return d.stock.TS
	case d.order != nil:
		return d.order.TS
	}
	return d.camp.TS
}
