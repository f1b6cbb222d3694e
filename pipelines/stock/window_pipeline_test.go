package stock

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/kafka/kfaketest"
)

type windowID struct {
	key   string
	size  string
	start int64
}

// TestWindowsThroughAborts runs the processor on kfake over three days of
// sales (a share of them delivered hours late, beyond the grace period)
// while the broker fails some of its produce requests, which aborts those
// transactions. Once the idle flush has closed every window, final plus
// corrections must equal the per-window sums of the input, no window may
// have two final records (a window whose every sale came late has none),
// and the changelog must hold the input's on-hand levels: an aborted
// transaction leaves no trace in state or outputs.
func TestWindowsThroughAborts(t *testing.T) {
	c := newKfake(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	kc := kafka.Config{Brokers: c.ListenAddrs(), ClientID: "windows-abort"}
	opts, err := kc.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kafka.EnsureTopics(ctx, kadm.NewClient(cl), kafka.TopicsConfig{Partitions: 3}.Specs(), 1); err != nil {
		t.Fatal(err)
	}

	// Fail every fifth produce request that carries window results, which
	// aborts the transaction it belongs to.
	failed := kfaketest.FailProduces(ctx, t, c, cl, kafka.TopicWindows, func(n int64) bool { return n%5 == 2 })

	t0 := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 11))
	type ev struct {
		topic, key, value string
		ts                time.Time
	}
	var evs []ev
	want := map[windowID]int64{}
	onHand := map[string]int64{}
	id := 0
	for s := range 12 {
		for _, wh := range []string{"WH1", "WH2"} {
			sku := fmt.Sprintf("SKU-%02d", s)
			key := sku + "/" + wh
			id++
			evs = append(evs, ev{kafka.TopicStock, sku, move(fmt.Sprintf("c-%d", id), t0, sku, wh, "count", 40), t0})
			onHand[key] = 40
			for h := 12; h < 72; h += 12 {
				id++
				ts := t0.Add(time.Duration(h) * time.Hour)
				evs = append(evs, ev{kafka.TopicStock, sku, move(fmt.Sprintf("r-%d", id), ts, sku, wh, "receipt", 15), ts})
				onHand[key] += 15
			}
			for range 60 {
				id++
				ts := t0.Add(time.Duration(1 + rng.Int64N(int64(72*time.Hour-2*time.Second))))
				q := 1 + rng.IntN(3)
				evs = append(evs, ev{kafka.TopicSales, sku, sale(fmt.Sprintf("s-%d", id), ts, sku, wh, q), ts})
				onHand[key] -= int64(q)
				for _, sz := range windowSizes {
					want[windowID{key, sz.name, floorTo(ts.UnixMilli(), sz.ms)}] += int64(q)
				}
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.ts.Compare(b.ts) })
	// One sale in twelve is delivered 3 to 30 hours of event time late.
	late := 0
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		if e.topic != kafka.TopicSales || rng.IntN(12) != 0 {
			continue
		}
		j := i
		for j+1 < len(evs) && evs[j+1].ts.Sub(e.ts) < time.Duration(3+rng.IntN(28))*time.Hour {
			j++
		}
		if j == i {
			continue
		}
		copy(evs[i:j], evs[i+1:j+1])
		evs[j] = e
		late++
		i-- // the next event moved into i
	}

	p, err := New(Config{
		Kafka: kc, Group: "windows-abort", TransactionalID: "windows-abort",
		Checker:        event.Checker{Warehouses: map[event.WarehouseID]struct{}{"WH1": {}, "WH2": {}}, MaxFuture: time.Hour},
		Now:            func() time.Time { return t0.Add(10 * 24 * time.Hour) },
		Grace:          time.Hour,
		IdleFlush:      200 * time.Millisecond,
		MaxPollRecords: 150,
	}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	for i := 0; i < len(evs); i += 100 {
		var rs []*kgo.Record
		for _, e := range evs[i:min(i+100, len(evs))] {
			rs = append(rs, &kgo.Record{Topic: e.topic, Key: []byte(e.key), Value: []byte(e.value)})
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// Wait until every sale is in a closed window: the day windows' units
	// add up to the input's (the idle flush closes the last ones on the
	// test's clock).
	var total int64
	for k, v := range want {
		if k.size == event.WindowDay {
			total += v
		}
	}
	got := map[windowID]int64{}
	finals := map[windowID]int{}
	corrections := 0
	for {
		clear(got)
		clear(finals)
		corrections = 0
		var days int64
		readToEnd(ctx, t, opts, kafka.TopicWindows, func(r *kgo.Record) {
			var w event.Window
			if err := json.Unmarshal(r.Value, &w); err != nil {
				t.Fatalf("window record: %v", err)
			}
			k := windowID{string(w.SKU) + "/" + string(w.Warehouse), w.Size, w.Start.UnixMilli()}
			got[k] += w.Units
			if w.Size == event.WindowDay {
				days += w.Units
			}
			if w.Kind == event.WindowFinal {
				finals[k]++
			} else {
				corrections++
			}
		})
		if days == total {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("day windows hold %d of %d units sold before the deadline (%d finals for %d windows)", days, total, len(finals), len(want))
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("processor: %v", err)
	}
	st := p.Stats()
	if st.Aborts == 0 || failed.Load() == 0 {
		t.Errorf("no transaction aborted (%d produce requests failed): the case does not test aborts", failed.Load())
	}
	if st.Late == 0 || corrections == 0 {
		t.Errorf("%d late events, %d corrections: the case does not test lateness (%d sales moved late)", st.Late, corrections, late)
	}
	for k, n := range finals {
		if n > 1 {
			t.Errorf("window %v has %d final records", k, n)
		}
	}
	bad := 0
	for k, v := range want {
		if got[k] != v {
			bad++
			if bad <= 5 {
				t.Errorf("window %v: final + corrections = %d units, input sums to %d", k, got[k], v)
			}
		}
	}
	levels := changelogLevels(ctx, t, opts)
	for k, v := range onHand {
		if levels[k] != v {
			t.Errorf("%s on hand %d, want %d", k, levels[k], v)
		}
	}
	if len(finals) < len(want)/2 {
		t.Errorf("only %d of %d windows have a final record", len(finals), len(want))
	}
	t.Logf("windows %d (with a final record %d), corrections %d, late events %d, transactions committed %d, aborted %d, mismatches %d",
		len(want), len(finals), corrections, st.Late, st.Commits, st.Aborts, bad)
}
