package stock

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
)

func TestSeenBatchRoundTrip(t *testing.T) {
	if len(topicLetters) != len(kafka.InputTopics) {
		t.Fatalf("topicLetters %q does not abbreviate the %d input topics", topicLetters, len(kafka.InputTopics))
	}
	in := []seenEntry{{"a", 1}, {"", -5}, {"id with\nnewline/and/slashes", 1767225600000}, {strings.Repeat("x", 300), 0}, {"ü日本", 1 << 62}}
	b := encodeSeen(in)
	var out []seenEntry
	if err := decodeSeen(b, func(id string, ts int64) { out = append(out, seenEntry{id, ts}) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, out) {
		t.Fatalf("round trip: %v -> %v", in, out)
	}
	for cut := 1; cut < len(b); cut++ { // a cut batch fails or yields a prefix, never garbage
		var got []seenEntry
		if err := decodeSeen(b[:cut], func(id string, ts int64) { got = append(got, seenEntry{id, ts}) }); err == nil &&
			!slices.Equal(got, in[:len(got)]) {
			t.Errorf("truncated at %d of %d bytes: decoded %v", cut, len(b), got)
		}
	}
	if err := decodeSeen([]byte{9, 1, 'a', 2}, func(string, int64) {}); err == nil {
		t.Error("unknown version accepted")
	}
	k1 := batchKey(3, map[string]int64{kafka.TopicSales: 12})
	k2 := batchKey(3, map[string]int64{kafka.TopicStock: 12})
	k3 := batchKey(3, map[string]int64{kafka.TopicSales: 1, kafka.TopicStock: 2})
	k4 := batchKey(3, map[string]int64{kafka.TopicSales: 12, kafka.TopicStock: 0})
	if keys := []string{k1, k2, k3, k4}; len(slices.Compact(slices.Sorted(slices.Values(keys)))) != 4 || k1 != "B/3/s12" {
		t.Errorf("batch keys not distinct or not as documented: %v", keys)
	}
}

// TestDedupSurvivesRestart checks that the event ids remembered in the
// changelog batches reject a duplicate after a restart (a new processor
// restores them), and that a batch is tombstoned once its ids leave the
// deduplication window.
func TestDedupSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	env := newResvEnv(ctx, t, 1)
	cl, kc, opts := env.cl, env.kc, env.opts
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	runUntil := func(n int, values ...string) {
		t.Helper()
		recs := make([]*kgo.Record, len(values))
		for i, v := range values {
			recs[i] = &kgo.Record{Topic: kafka.TopicSales, Key: []byte("SKU-1"), Value: []byte(v)}
		}
		runDedup(ctx, t, cl, kc, t0.Add(30*24*time.Hour), n, recs...)
	}
	a := sale("a", t0, "SKU-1", "WH1", 1)
	runUntil(1, a)
	// A new processor restores the ids: the repeat of a is a duplicate;
	// c lies 8 days later, so a's batch leaves the 7-day window.
	runUntil(2, a, sale("b", t0.Add(time.Hour), "SKU-1", "WH1", 1), sale("c", t0.Add(8*24*time.Hour), "SKU-1", "WH1", 1))
	// The next transaction, after another restore, writes the tombstone.
	runUntil(1, sale("d", t0.Add(8*24*time.Hour+time.Minute), "SKU-1", "WH1", 1))

	reasons := map[string]string{}
	readToEnd(ctx, t, opts, kafka.TopicDLQ, func(r *kgo.Record) { reasons[string(r.Value)] = headers(r)[event.HeaderReason] })
	if reasons[a] != string(event.ReasonDuplicateEvent) || len(reasons) != 1 {
		t.Errorf("dlq after restart = %v, want only the repeat of a as duplicate_event", reasons)
	}
	live, dead := map[string]bool{}, map[string]bool{}
	readToEnd(ctx, t, opts, kafka.TopicStockChangelog, func(r *kgo.Record) {
		k := string(r.Key)
		if !strings.HasPrefix(k, event.ChangelogSeenBatchPrefix) {
			return
		}
		if r.Value == nil {
			dead[k] = true
		} else {
			live[k] = true
		}
	})
	if len(live) < 2 || len(dead) == 0 {
		t.Errorf("event-id batches written %v, tombstoned %v: want two or more batches and a tombstone for a's", live, dead)
	}
	for k := range dead {
		if !live[k] {
			t.Errorf("tombstone for batch %s that was never written", k)
		}
	}
}

// runDedup produces recs, then runs a new processor of group "dedup" (so
// it restores the partition from the changelog first) until it has
// accepted or dead-lettered n records, and stops it.
func runDedup(ctx context.Context, t *testing.T, cl *kgo.Client, kc kafka.Config, now time.Time, n int, recs ...*kgo.Record) {
	t.Helper()
	for _, r := range recs {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(Config{
		Kafka: kc, Group: "dedup", TransactionalID: "dedup",
		Checker:   event.Checker{Warehouses: map[event.WarehouseID]struct{}{"WH1": {}}, MaxFuture: time.Hour},
		Now:       func() time.Time { return now },
		IdleFlush: -1,
	}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	for {
		if st := p.Stats(); int(st.Accepted+st.DLQ) >= n {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("processed %+v, want %d records", p.Stats(), n)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDedupWindowFollowsSlowerTopic: while the stock topic runs months
// ahead of the sales topic (a backlog), the deduplication window is
// measured in the sales topic's time, so a sale repeated after a restart
// is still a duplicate. Measured against the stream time (the stock
// topic's), the restore forgot the sale and accepted its repeat, as the
// crash harness found (seed 62653673).
func TestDedupWindowFollowsSlowerTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	env := newResvEnv(ctx, t, 1)
	cl, kc, opts := env.cl, env.kc, env.opts
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	now := t0.Add(130 * 24 * time.Hour)
	a := sale("a", t0, "SKU-1", "WH1", 1)
	runDedup(ctx, t, cl, kc, now, 2,
		&kgo.Record{Topic: kafka.TopicStock, Key: []byte("SKU-1"), Value: []byte(move("m", t0.Add(120*24*time.Hour), "SKU-1", "WH1", "receipt", 5))},
		&kgo.Record{Topic: kafka.TopicSales, Key: []byte("SKU-1"), Value: []byte(a)})
	runDedup(ctx, t, cl, kc, now, 1, &kgo.Record{Topic: kafka.TopicSales, Key: []byte("SKU-1"), Value: []byte(a)})

	reasons := map[string]string{}
	readToEnd(ctx, t, opts, kafka.TopicDLQ, func(r *kgo.Record) { reasons[string(r.Value)] = headers(r)[event.HeaderReason] })
	if reasons[a] != string(event.ReasonDuplicateEvent) || len(reasons) != 1 {
		t.Errorf("dlq = %v, want the repeat of a as duplicate_event", reasons)
	}
}
