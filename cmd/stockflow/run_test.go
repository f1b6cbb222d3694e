package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/export"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/pipelines/forecast"
)

// TestRunEmbeddedConservation runs the embedded all-in-one twice on one
// data dir (the second replaying the history exactly, by the closed
// loop's journal), the first until its history is produced plus two seconds, the
// second for eight seconds (it restores from the changelog and carries on;
// at 200 live events/s with 1% bad, eight seconds leave about a 1e-7
// chance of no bad record, three seconds left 0.3%: a clean-clone run had
// 585 events and none bad),
// then checks the summary against the store and the conservation oracle:
// every stored stock level equals the level recomputed from the raw events
// (DESIGN §3 invariant 1), and every dead-lettered record is in the dlq
// table (invariant 3). It also checks the forecast training inside run
// (checkRunForecasts): the first run trains once the history is sunk, the
// second, within the interval, does not train again.
func TestRunEmbeddedConservation(t *testing.T) {
	dir := t.TempDir()
	s := config.Defaults()
	s.Data = dir
	s.HTTP = "127.0.0.1:0"
	s.Partitions = 3
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f := runFlags{skus: 200, warehouses: 5, days: 30, seed: 1, badShare: 0.01, liveRate: 200}

	var accepted, dead uint64
	var trained *runForecastRun
	for i, dur := range []time.Duration{0, 8 * time.Second} {
		f.forDur = dur
		f.summary = filepath.Join(dir, "summary.json")
		before := historyDone(t, dir)
		ctx, stop := context.WithCancel(t.Context())
		if dur == 0 {
			// The first run lasts until its history is produced, however
			// slow the machine (-race), plus two seconds of live events.
			go func() {
				defer stop()
				for deadline := time.Now().Add(2 * time.Minute); !historyDone(t, dir) && time.Now().Before(deadline); {
					select {
					case <-ctx.Done():
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
			}()
		}
		err := run(ctx, s, f, log)
		stop()
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		sum := readSummary(t, f.summary)
		fc := sum.Forecast
		// The run that completes the history trains once; another run,
		// before it (no history yet) or after it (within the interval),
		// does not.
		wantRuns := 0
		if !before && historyDone(t, dir) {
			wantRuns = 1
		}
		switch {
		case fc == nil:
			t.Fatalf("run %d: no forecast in the summary", i+1)
		case fc.Runs != wantRuns || fc.Failures != 0 || fc.Error != "":
			t.Fatalf("run %d: forecast %+v; want %d training runs and no failure", i+1, fc, wantRuns)
		case wantRuns == 1 && (fc.Last == nil || fc.Last.RunID == "" || fc.Last.Series == 0 || fc.Last.Seconds <= 0):
			t.Fatalf("run %d: forecast %+v; want the run id, the series and the seconds of the training", i+1, fc.Last)
		case wantRuns == 1:
			trained = fc.Last
			t.Logf("run %d: forecast training %+v", i+1, *trained)
			if sum.Rows["forecast_runs"] != 1 || sum.Rows["forecasts"] != uint64(trained.Series)*28 {
				t.Errorf("run %d: %d forecast runs and %d forecasts in the store; want 1 and %d", i+1, sum.Rows["forecast_runs"], sum.Rows["forecasts"], trained.Series*28)
			}
		}
		// The second run replays the history the first produced, handed
		// what the first run's closed loop handed it (the journal): the
		// same history, record for record.
		switch r := sum.Replay; {
		case i == 0 && r != nil:
			t.Errorf("run 1 produced the history, but its summary has a replay: %+v", *r)
		case i == 1 && r == nil:
			t.Error("run 2: no replay in the summary")
		case i == 1 && (!r.Matches || r.JournalMissing != 0):
			t.Errorf("run 2: the replayed history differs from the produced one: %+v", *r)
		}
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

	if trained == nil {
		t.Fatalf("the simulated history (%d days) was not produced within two minutes", f.days)
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
			t.Errorf("%s: %d rows for %d event ids; %s", table, n, u, repeatedIDs(ctx, t, st, table))
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
	checkRunForecasts(ctx, t, st, trained)

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
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	checkRunExport(ctx, t, dir, f.days)
}

// repeatedIDs describes the rows of the event ids that table holds more
// than once (FINAL), for a failure message.
func repeatedIDs(ctx context.Context, t *testing.T, st store.Store, table string) string {
	t.Helper()
	res, err := st.Query(ctx, "SELECT event_id, groupArray(tuple(toString(ts), src_topic, src_partition, src_offset, toString(ingested_at))) "+
		"FROM "+table+" FINAL GROUP BY event_id HAVING count() > 1 ORDER BY event_id LIMIT 5")
	if err != nil {
		return "listing them failed: " + err.Error()
	}
	return fmt.Sprintf("repeated ids (event_id, [(ts, source topic, partition, offset, ingested)]): %v", res.Rows)
}

// checkRunExport runs `stockflow export --dataset features` on the data
// dir of a run, as the README shows it: a partition for every simulated
// day (the history and today), in a directory of Parquet only, with
// README.md and _schema.json beside it.
func checkRunExport(ctx context.Context, t *testing.T, dataDir string, days int) {
	t.Helper()
	out := t.TempDir()
	today := time.Now().UTC()
	from, to := today.AddDate(0, 0, -days-30).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)
	if err := cmdExport(ctx, []string{"--data", dataDir, "--dataset", "features", "--from", from, "--to", to, "--out", out}); err != nil {
		t.Fatalf("stockflow export: %v", err)
	}
	for _, f := range []string{export.ReadmeFile, export.SchemaFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("export: %v", err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(out, "features"))
	if err != nil {
		t.Fatal(err)
	}
	// The history's days, today, and the day the history began when the
	// simulator's clock crossed midnight while it ran: days+1 or days+2.
	if n := len(entries); n < days+1 || n > days+2 {
		t.Errorf("export: %d entries in the features directory, want a partition per simulated day (%d or %d)", n, days+1, days+2)
	}
	for _, e := range entries {
		part := filepath.Join(out, "features", e.Name(), export.PartitionFile)
		if _, err := os.Stat(part); err != nil || !e.IsDir() || !strings.HasPrefix(e.Name(), "date=") {
			t.Errorf("export: %s is not a date partition with %s (%v)", e.Name(), export.PartitionFile, err)
		}
	}
}

// checkRunForecasts checks the training run of `stockflow run`: 28 days of
// ordered quantile forecasts for every (SKU, warehouse) with history (a
// first sale at least the minimum history before the cutoff), for no other
// key, and the run's forecast_runs row.
func checkRunForecasts(ctx context.Context, t *testing.T, st store.Store, fc *runForecastRun) {
	t.Helper()
	cutoff, err := time.Parse(time.DateOnly, fc.Cutoff)
	if err != nil {
		t.Fatalf("cutoff %q: %v", fc.Cutoff, err)
	}
	if want := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1); !cutoff.Equal(want) {
		t.Errorf("cutoff %s, want the last complete day %s", fc.Cutoff, want.Format(time.DateOnly))
	}
	params := []store.Param{{Name: "run", Value: fc.RunID}, {Name: "cutoff", Value: fc.Cutoff},
		{Name: "min", Value: strconv.Itoa(forecast.DefaultMinHistory)}}
	keys := func(sql string) map[string]bool {
		t.Helper()
		res, err := st.Query(ctx, sql, params...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		out := map[string]bool{}
		for i := range res.Rows {
			sku, _ := res.String(i, 0)
			wh, _ := res.String(i, 1)
			out[sku+"@"+wh] = true
		}
		return out
	}
	sold := keys(`SELECT sku, warehouse FROM sales FINAL WHERE toDate(ts, 'UTC') <= {cutoff:Date} GROUP BY sku, warehouse`)
	history := keys(`SELECT sku, warehouse FROM sales FINAL WHERE toDate(ts, 'UTC') <= {cutoff:Date} GROUP BY sku, warehouse
		HAVING dateDiff('day', min(toDate(ts, 'UTC')), {cutoff:Date}) + 1 >= {min:UInt32}`)
	forecastKeys := keys(`SELECT sku, warehouse FROM forecasts FINAL WHERE run_id = {run:String} GROUP BY sku, warehouse`)
	if len(history) < len(sold)/2 {
		t.Fatalf("%d of %d keys sold have %d days of history: the simulated history is too short for this test", len(history), len(sold), forecast.DefaultMinHistory)
	}
	for k := range history {
		if !forecastKeys[k] {
			t.Errorf("%s has history but no forecast", k)
		}
	}
	for k := range forecastKeys {
		if !history[k] {
			t.Errorf("%s has a forecast but not %d days of history", k, forecast.DefaultMinHistory)
		}
	}
	if fc.Series != len(history) || fc.Skipped != len(sold)-len(history) {
		t.Errorf("summary: %d series forecast, %d skipped; want %d and %d", fc.Series, fc.Skipped, len(history), len(sold)-len(history))
	}

	res, err := st.Query(ctx, `SELECT count(), uniqExact(sku, warehouse, day), min(day), max(day), countIf(horizon != day - cutoff),
		countIf(NOT (0 <= p05 AND p05 <= p10 AND p10 <= p50 AND p50 <= p90 AND p90 <= p95 AND p95 <= p99 AND mean >= 0)),
		countIf(cutoff != {cutoff:Date})
		FROM forecasts FINAL WHERE run_id = {run:String}`, params...)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.Uint64(0, 0)
	distinct, _ := res.Uint64(0, 1)
	first, _ := res.Time(0, 2)
	last, _ := res.Time(0, 3)
	badHorizon, _ := res.Uint64(0, 4)
	unordered, _ := res.Uint64(0, 5)
	otherCutoff, _ := res.Uint64(0, 6)
	want := uint64(len(history) * forecast.DefaultHorizon)
	if n != want || distinct != want || !first.Equal(cutoff.AddDate(0, 0, 1)) || !last.Equal(cutoff.AddDate(0, 0, forecast.DefaultHorizon)) ||
		badHorizon != 0 || unordered != 0 || otherCutoff != 0 {
		t.Errorf("forecasts: %d rows (%d distinct key-days) from %s to %s, %d bad horizons, %d with unordered quantiles, %d with another cutoff; want %d rows over the 28 days after %s",
			n, distinct, first.Format(time.DateOnly), last.Format(time.DateOnly), badHorizon, unordered, otherCutoff, want, fc.Cutoff)
	}

	res, err = st.Query(ctx, `SELECT series, skipped, cutoff, horizon, models FROM forecast_runs FINAL WHERE run_id = {run:String}`, params...)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("%d forecast_runs rows for %s, want 1", len(res.Rows), fc.RunID)
	}
	series, _ := res.Uint64(0, 0)
	skipped, _ := res.Uint64(0, 1)
	rc, _ := res.Time(0, 2)
	hz, _ := res.Uint64(0, 3)
	models, _ := res.String(0, 4)
	if int(series) != len(history) || int(skipped) != fc.Skipped || !rc.Equal(cutoff) || hz != forecast.DefaultHorizon || models != forecast.SetDefault {
		t.Errorf("forecast_runs row %v; want %d series, %d skipped, cutoff %s, horizon 28, models default", res.Rows[0], len(history), fc.Skipped, fc.Cutoff)
	}
}

// historyDone reports whether the data dir's simulation.json says the
// simulated history has been produced.
func historyDone(t *testing.T, dir string) bool {
	t.Helper()
	st, ok, err := loadSimState(filepath.Join(dir, "simulation.json"))
	if err != nil {
		t.Error(err)
		return false
	}
	return ok && st.HistoryDone
}

type summary struct {
	EventsIn       uint64              `json:"events_in"`
	EventsAccepted uint64              `json:"events_accepted"`
	EventsDLQ      uint64              `json:"events_dlq"`
	Drained        bool                `json:"drained"`
	Rows           map[string]uint64   `json:"clickhouse_rows"`
	Forecast       *runForecastSummary `json:"forecast"`
	Replay         *replaySummary      `json:"replay"`
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
