package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

func TestLive(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestLiveAfterRestart: a process that goes live for a history an earlier
// process produced continues exactly where that history ended, and with a
// RunID creates ids of its own.
func TestLiveAfterRestart(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 5, SKUs: 40, Warehouses: 10, Days: 5, Start: testStart, BadShare: 0.01, LiveRate: 2000}
	type result struct{ hist, live []Record }
	runLive := func(cfg Config, withHistory bool) result {
		var res result
		synctest.Test(t, func(t *testing.T) {
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if withHistory {
				if _, err := s.History(t.Context(), func(rec Record) error { res.hist = append(res.hist, rec); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second+5*time.Millisecond)
			defer cancel()
			if err := s.Live(ctx, time.Now, func(rec Record) error { res.live = append(res.live, rec); return nil }); err != nil {
				t.Fatal(err)
			}
		})
		return res
	}
	first := runLive(cfg, true)
	t.Run("same run id continues identically", func(t *testing.T) {
		again := runLive(cfg, false)
		if hashRecords(again.live) != hashRecords(first.live) {
			t.Error("live output after a restart differs from live output after History in one process")
		}
	})
	t.Run("new run id has its own ids", func(t *testing.T) {
		cfg2 := cfg
		cfg2.RunID = "r2"
		again := runLive(cfg2, false)
		histOrders := map[string]bool{}
		firstIDs := map[string]bool{}
		for _, rec := range first.hist {
			if d, err := decodeStd(rec); err == nil && rec.Bad == "" && d.order != nil {
				histOrders[d.order.OrderID] = true
			}
		}
		for _, rec := range first.live {
			if d, err := decodeStd(rec); err == nil && rec.Bad == "" {
				firstIDs[eventID(d)] = true
			}
		}
		var orders, shipsOfHistory int
		for _, rec := range again.live {
			if rec.Bad != "" {
				continue
			}
			d, err := decodeStd(rec)
			if err != nil {
				t.Fatal(err)
			}
			if id := eventID(d); firstIDs[id] || !strings.HasPrefix(id, "s-5-r2-") {
				t.Fatalf("live event id %s of run r2", id)
			}
			switch {
			case d.order != nil:
				orders++
				if !strings.HasPrefix(d.order.OrderID, "ORD-5-r2-") {
					t.Errorf("live order id %s", d.order.OrderID)
				}
			case d.camp != nil && !strings.HasPrefix(d.camp.CampaignID, "CMP-5-r2-"):
				t.Errorf("live campaign id %s", d.camp.CampaignID)
			case d.sale != nil && d.sale.OrderID != "":
				if histOrders[d.sale.OrderID] {
					shipsOfHistory++
				} else if !strings.HasPrefix(d.sale.OrderID, "ORD-5-r2-") {
					t.Errorf("live shipment of order %s, neither live nor from the history", d.sale.OrderID)
				}
			case d.stock != nil && d.stock.Kind == event.KindReceipt && !strings.HasPrefix(d.stock.Ref, "PO-5-"):
				t.Errorf("receipt ref %s", d.stock.Ref)
			}
		}
		if orders == 0 || shipsOfHistory == 0 {
			t.Errorf("%d live orders, %d shipments of history orders; want both", orders, shipsOfHistory)
		}
	})
}

func TestLiveEmitError(t *testing.T) {
	t.Parallel()
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

// TestLiveReplayDuplicatesOwnRecords: with the loop closed
// (ExternalRouting), a process that replays the history before going
// live may not repeat what the earlier process emitted, so its
// duplicate_event records copy only records it emitted itself.
func TestLiveReplayDuplicatesOwnRecords(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 6, SKUs: 40, Warehouses: 10, Days: 5, Start: testStart, BadShare: 0.3, LiveRate: 2000,
		ExternalRouting: true, RunID: "r2"}
	synctest.Test(t, func(t *testing.T) {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second+5*time.Millisecond)
		defer cancel()
		emitted := map[string]bool{}
		dups := 0
		err = s.Live(ctx, time.Now, func(rec Record) error {
			switch rec.Bad {
			case "":
				emitted[string(rec.Value)] = true
			case event.ReasonDuplicateEvent:
				dups++
				if !emitted[string(rec.Value)] {
					t.Errorf("duplicate_event of a record this process never emitted: %.120s", rec.Value)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if dups == 0 {
			t.Fatalf("no duplicate_event among %d live records", len(emitted))
		}
	})
}

// TestHistoryDigest: a silent replay of the history (Live on a fresh Sim)
// has the digest of the history emitted by another process, a different
// seed another one, and a history cut short none.
func TestHistoryDigest(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 7, SKUs: 30, Warehouses: 5, Days: 4, Start: testStart, BadShare: 0.01, LiveRate: 1000}
	emitted := func(cfg Config) string {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.History(t.Context(), func(Record) error { return nil }); err != nil {
			t.Fatal(err)
		}
		return s.HistoryDigest()
	}
	want := emitted(cfg)
	synctest.Test(t, func(t *testing.T) {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := s.Live(ctx, time.Now, func(Record) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := s.HistoryDigest(); got != want || len(want) != 16 {
			t.Errorf("replayed history digest %q, emitted %q", got, want)
		}
	})
	other := cfg
	other.Seed++
	if got := emitted(other); got == want {
		t.Errorf("seed %d and %d: the same digest %s", cfg.Seed, other.Seed, got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.History(ctx, func(Record) error { return nil }); err == nil || s.HistoryDigest() != "" {
		t.Errorf("a cancelled history: err %v, digest %q; want an error and no digest", err, s.HistoryDigest())
	}
}
