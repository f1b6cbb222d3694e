package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/store"
)

// TestRunEmbeddedConservation runs the embedded all-in-one twice on one
// data dir (the second run restores from the changelog and carries on),
// then checks the summary against the store and the conservation oracle:
// every stored stock level equals the level recomputed from the raw events
// (DESIGN §3 invariant 1), and every dead-lettered record is in the dlq
// table (invariant 3).
func TestRunEmbeddedConservation(t *testing.T) {
	dir := t.TempDir()
	s := config.Defaults()
	s.Data = dir
	s.HTTP = "127.0.0.1:0"
	s.Partitions = 3
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f := runFlags{skus: 200, warehouses: 5, days: 30, seed: 1, badShare: 0.01, liveRate: 200}

	var accepted, dead uint64
	for i, dur := range []time.Duration{4 * time.Second, 3 * time.Second} {
		f.forDur = dur
		f.summary = filepath.Join(dir, "summary.json")
		if err := run(t.Context(), s, f, log); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		sum := readSummary(t, f.summary)
		if sum.EventsIn == 0 || sum.EventsDLQ == 0 {
			t.Fatalf("run %d: events_in %d, events_dlq %d; want both > 0", i+1, sum.EventsIn, sum.EventsDLQ)
		}
		accepted += sum.EventsAccepted
		dead += sum.EventsDLQ
		if !sum.Drained {
			t.Fatalf("run %d: pipelines did not drain before exit", i+1)
		}
		for _, table := range []string{"sales", "stock_movements", "stock_levels", "dlq"} {
			if sum.Rows[table] == 0 {
				t.Errorf("run %d: no rows in %s", i+1, table)
			}
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := openStore(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	checked, bad, err := verifyStock(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if checked != f.skus*f.warehouses {
		t.Errorf("checked %d stock levels, want %d", checked, f.skus*f.warehouses)
	}
	if len(bad) > 0 {
		t.Errorf("%d stock levels differ from the event log, e.g. %+v", len(bad), bad[0])
	}
	// Nothing lost: accepted events are in the raw tables, rejects in dlq,
	// and the raw tables hold each event id once.
	var raw uint64
	for _, table := range []string{"sales", "stock_movements", "orders", "campaigns"} {
		res, err := st.Query(ctx, "SELECT count(), uniqExact(event_id) FROM "+table+" FINAL")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := res.Uint64(0, 0)
		u, _ := res.Uint64(0, 1)
		if n != u {
			t.Errorf("%s: %d rows for %d event ids", table, n, u)
		}
		raw += n
	}
	if raw != accepted {
		t.Errorf("raw tables hold %d events, the pipeline accepted %d", raw, accepted)
	}
	res, err := st.Query(ctx, "SELECT count(), countIf(reason = '') FROM dlq FINAL")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := store.AsUint64(res.Rows[0][0]); n != dead {
		t.Errorf("dlq table holds %d records, the pipeline dead-lettered %d", n, dead)
	}
	if n, _ := store.AsUint64(res.Rows[0][1]); n != 0 {
		t.Errorf("%d dlq rows without a reason", n)
	}
	// The simulator emits each topic in event-time order, so no count is
	// ever late: a late_count here means the topics were merged out of
	// order while catching up the history.
	res, err = st.Query(ctx, "SELECT count() FROM dlq FINAL WHERE reason = 'late_count'")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := store.AsUint64(res.Rows[0][0]); n != 0 {
		t.Errorf("%d valid counts were dead-lettered as late", n)
	}
}

type summary struct {
	EventsIn       uint64            `json:"events_in"`
	EventsAccepted uint64            `json:"events_accepted"`
	EventsDLQ      uint64            `json:"events_dlq"`
	Drained        bool              `json:"drained"`
	Rows           map[string]uint64 `json:"clickhouse_rows"`
}

func readSummary(t *testing.T, path string) summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, b)
	}
	return s
}
