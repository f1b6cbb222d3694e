package chsink_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/stockflow/stockflow/consumers/chsink"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/storetest"
)

func TestIntentMetadata(t *testing.T) {
	tests := []struct {
		name             string
		md               string
		end, first, last int64
		ok               bool
	}{
		{name: "data range", md: "stockflow-sink/v1 end=41 data=30-40", end: 41, first: 30, last: 40, ok: true},
		{name: "markers only", md: "stockflow-sink/v1 end=7", end: 7, first: -1, last: -1, ok: true},
		{name: "single record", md: "stockflow-sink/v1 end=0 data=0-0", end: 0, first: 0, last: 0, ok: true},
		{name: "empty: committed past", md: ""},
		{name: "kgo's default metadata, a member id", md: "chsink-test-3f2a9c1e-4b7d"},
		{name: "another version", md: "stockflow-sink/v2 end=41"},
		{name: "no end", md: "stockflow-sink/v1 data=30-40"},
		{name: "data past the end", md: "stockflow-sink/v1 end=39 data=30-40"},
		{name: "reversed data", md: "stockflow-sink/v1 end=41 data=40-30"},
		{name: "negative end", md: "stockflow-sink/v1 end=-1"},
		{name: "not a number", md: "stockflow-sink/v1 end=x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end, first, last, ok := chsink.ParseIntent(tc.md)
			if ok != tc.ok || ok && (end != tc.end || first != tc.first || last != tc.last) {
				t.Fatalf("ParseIntent(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.md, end, first, last, ok, tc.end, tc.first, tc.last, tc.ok)
			}
			if ok {
				if back := chsink.IntentMetadata(end, first, last); back != tc.md {
					t.Errorf("IntentMetadata(%d, %d, %d) = %q, want %q", end, first, last, back, tc.md)
				}
			}
		})
	}
}

var errCrash = errors.New("simulated crash")

// TestResumeAfterCrash stops a sink at each point between recording a round
// of batches and committing past them, then runs a new sink on the same
// group after more records arrived. The new sink must cut every pending
// batch exactly as it was cut (same tables, same tokens, same rows), though
// it polls fewer records at a time and has records beyond the batches in
// hand; and every table must hold each record once, counted without FINAL
// (merges are stopped), with the daily rollup's sums equal to the raw
// table's.
func TestResumeAfterCrash(t *testing.T) {
	for i, tc := range resumeCases {
		t.Run(tc.name, func(t *testing.T) { runResume(t, newKfake(t), tc, uint64(i)) })
	}
}

// resumeCase is where the first sink of runResume stops.
type resumeCase struct {
	name string
	// crashAt is the step whose hook fails the first sink; "" stops it
	// during its inserts instead: its first insert lands, the others fail,
	// until the sink is stopped.
	crashAt string
	// instance: both sinks are static members with this instance id; the
	// first does not leave the group as it stops, and the second takes its
	// partitions over at once.
	instance string
}

var resumeCases = []resumeCase{
	{name: "before any insert", crashAt: chsink.StepIntent},
	{name: "during the inserts", crashAt: ""},
	{name: "after every insert", crashAt: chsink.StepInserted},
	{name: "static member after every insert", crashAt: chsink.StepInserted, instance: "sink-0"},
}

func runResume(t *testing.T, b broker, tc resumeCase, seed uint64) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	st := storetest.Migrated(t, openStore)
	stopMerges(ctx, t, st)
	r := newRun()
	w := r.workload(t, rand.New(rand.NewPCG(7, seed)), 16, 20)
	half := len(w.txns) / 2
	produce(ctx, t, b, r, w.txns[:half])
	group := "chsink-resume-" + r.id

	// The first sink crashes in a round.
	fs := &faultStore{Store: st}
	if tc.crashAt == "" {
		// The first insert lands, every later one fails.
		fs.setFault(func(*store.Batch) fault {
			if len(fs.attempts) == 0 {
				return pass
			}
			return failDown
		})
	}
	// The inserts of the last round that recorded its intents:
	// the round in progress when the sink stopped.
	var planned []insertRecord
	hook := func(step string, inserts []*store.Batch) error {
		if step == chsink.StepIntent {
			planned = planned[:0]
			for _, in := range inserts {
				planned = append(planned, record(in))
			}
		}
		if step == tc.crashAt {
			return errCrash
		}
		return nil
	}
	first := startSinkWith(ctx, t, b, fs, chsink.Config{Group: group, InstanceID: tc.instance}, nil,
		func(s *chsink.Sink) { chsink.SetHook(s, hook) })
	if tc.crashAt == "" {
		waitFor(ctx, t, "a failed insert after one landed", func() bool { return fs.failures() > 0 })
		first.stop(t)
	} else {
		first.crashed(t, errCrash)
	}
	if len(planned) == 0 {
		t.Fatal("the first sink cut no batch")
	}
	intents := pendingIntents(ctx, t, first.adm, group)
	checkPlannedIntents(t, planned, intents)

	// More records arrive before the restart.
	ends := produce(ctx, t, b, r, w.txns[half:])
	reg := prometheus.NewRegistry()
	rec := &faultStore{Store: st}
	second := startSink(ctx, t, b, rec, chsink.Config{Group: group, InstanceID: tc.instance, MaxBatchRecords: 3}, chsink.NewMetrics(reg))
	second.waitCaughtUp(ctx, t, ends)
	second.stop(t)

	got := map[string]insertRecord{}
	for _, in := range rec.inserts() {
		if _, seen := got[in.table+" "+in.token]; !seen {
			got[in.table+" "+in.token] = in
		}
	}
	for _, p := range planned {
		if g, ok := got[p.table+" "+p.token]; !ok || g.rows != p.rows {
			t.Errorf("pending batch %s %s of %d rows: the new sink inserted %+v (found %v)", p.table, p.token, p.rows, g, ok)
		}
	}
	if n := value(t, reg, "stockflow_sink_resumed_batches_total"); n != float64(len(intents)) {
		t.Errorf("resumed batches = %v, want %d (the partitions with an intent)", n, len(intents))
	}
	checkExactlyOnce(ctx, t, st, r, w.checks)
	if tc.instance != "" {
		checkStaticMember(ctx, t, second.adm, group, tc.instance)
	}
}

// TestStoreUnavailable makes ClickHouse refuse every insert for a while:
// the sink must keep its batches, retry them without committing past them
// (its commits carry the intents), report the store down, and land every
// record once when ClickHouse is back, even though the first insert that
// gets through reports a failure after the rows landed (a lost
// acknowledgement), so its retry repeats an insert that is already there.
func TestStoreUnavailable(t *testing.T) {
	runStoreUnavailable(t, newKfake(t))
}

func runStoreUnavailable(t *testing.T, b broker) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	st := storetest.Migrated(t, openStore)
	stopMerges(ctx, t, st)
	r := newRun()
	w := r.workload(t, rand.New(rand.NewPCG(3, 4)), 9, 20)
	ends := produce(ctx, t, b, r, w.txns)
	group := "chsink-unavailable-" + r.id

	fs := &faultStore{Store: st}
	fs.setFault(func(*store.Batch) fault { return failDown })
	reg := prometheus.NewRegistry()
	s := startSink(ctx, t, b, fs, chsink.Config{Group: group, RetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond},
		chsink.NewMetrics(reg))
	waitFor(ctx, t, "five failed inserts", func() bool { return fs.failures() >= 5 })

	// Down: nothing landed, nothing was committed past, and the sink says so.
	intents := pendingIntents(ctx, t, s.adm, group)
	if len(intents) == 0 {
		t.Error("no partition carries an intent while its batch cannot be inserted")
	}
	if ok, why, err := s.caughtUp(ctx, ends); err != nil || ok {
		t.Errorf("the group committed past batches that were never inserted (caught up %v: %s, %v)", ok, why, err)
	}
	if n := rawCount(ctx, t, st, tableCheck{table: "sales", filter: "startsWith(event_id, {run:String})"}, r); n != 0 {
		t.Errorf("%d sales rows while every insert fails", n)
	}
	if up := value(t, reg, "stockflow_sink_store_up"); up != 0 {
		t.Errorf("stockflow_sink_store_up = %v while inserts fail, want 0", up)
	}
	if n := value(t, reg, "stockflow_sink_insert_retries_total"); n < 4 {
		t.Errorf("stockflow_sink_insert_retries_total = %v after 5 failures, want at least 4", n)
	}

	// Back, but the first insert's acknowledgement is lost.
	var once sync.Once
	fs.setFault(func(*store.Batch) fault {
		f := pass
		once.Do(func() { f = failLanded })
		return f
	})
	s.waitCaughtUp(ctx, t, ends)
	s.stop(t)
	landed := fs.inserts()
	if len(landed) < 2 || landed[0] != landed[1] {
		t.Errorf("after the lost acknowledgement, the next insert was %v, want the same batch again", landed[:min(2, len(landed))])
	}
	if up := value(t, reg, "stockflow_sink_store_up"); up != 1 {
		t.Errorf("stockflow_sink_store_up = %v after inserts succeed again, want 1", up)
	}
	checkExactlyOnce(ctx, t, st, r, w.checks)
}

// checkExactlyOnce checks that each table holds every committed record of
// the workload once, counted without FINAL (every check but stock_levels,
// whose versions of one key may collapse within a block), that FINAL gives
// the workload's sums, and that the daily rollup of sales equals the sums
// of the raw table.
func checkExactlyOnce(ctx context.Context, t *testing.T, st store.Store, r run, checks []tableCheck) {
	t.Helper()
	checkTables(ctx, t, st, r, checks)
	for _, c := range checks {
		n := rawCount(ctx, t, st, c, r)
		switch {
		case c.table == "stock_levels" && (n < c.distinct || n > c.records):
			t.Errorf("stock_levels: raw count() = %d, want %d distinct to %d records", n, c.distinct, c.records)
		case c.table != "stock_levels" && n != c.distinct:
			t.Errorf("%s: raw count() = %d, want each of the %d records once", c.table, n, c.distinct)
		}
	}
	res := query(ctx, t, st, `SELECT
		(SELECT (toInt64(sum(qty)), round(sum(qty * unit_price), 6), count()) FROM sales FINAL WHERE startsWith(sku, {run:String})),
		(SELECT (toInt64(sum(units)), round(sum(revenue), 6), sum(sales)) FROM sales_daily WHERE startsWith(sku, {run:String}))`, r.params()...)
	if raw, daily := fmt.Sprint(res.Rows[0][0]), fmt.Sprint(res.Rows[0][1]); raw != daily || raw == "[0 0 0]" {
		t.Errorf("sales_daily (units, revenue, sales) = %s, raw sales FINAL %s: want equal and not empty", daily, raw)
	}
}

// pendingIntents reads the group's committed offsets and returns the
// metadata of those that carry an intent, by "topic/partition".
func pendingIntents(ctx context.Context, t *testing.T, adm *kadm.Client, group string) map[string]string {
	t.Helper()
	committed, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		t.Fatalf("fetch committed offsets: %v", err)
	}
	out := map[string]string{}
	committed.Each(func(o kadm.OffsetResponse) {
		if _, _, _, ok := chsink.ParseIntent(o.Metadata); ok {
			out[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Metadata
		}
	})
	return out
}

// checkPlannedIntents checks that every planned insert's partition carries
// an intent whose data range is the insert's token.
func checkPlannedIntents(t *testing.T, planned []insertRecord, intents map[string]string) {
	t.Helper()
	for _, p := range planned {
		// <topic>-<partition>-<first>-<last>; topics contain no '-' after
		// their last '.'.
		parts := strings.Split(p.token, "-")
		if len(parts) < 4 {
			t.Fatalf("token %q is not <topic>-<partition>-<first>-<last>", p.token)
		}
		n := len(parts)
		key := strings.Join(parts[:n-3], "-") + "/" + parts[n-3]
		md, ok := intents[key]
		if !ok {
			t.Errorf("no intent committed for %s, whose batch %s was cut (intents: %v)", key, p.token, slices.Sorted(maps.Keys(intents)))
			continue
		}
		if !strings.HasSuffix(md, " data="+parts[n-2]+"-"+parts[n-1]) {
			t.Errorf("intent of %s is %q, want the data range of token %s", key, md, p.token)
		}
	}
}

// checkStaticMember checks that group has exactly one member, the static
// member instance: the crashed instance did not stay as a second member.
func checkStaticMember(ctx context.Context, t *testing.T, adm *kadm.Client, group, instance string) {
	t.Helper()
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := described[group]
	if !ok || g.Err != nil {
		t.Fatalf("describe group %s: %v", group, g.Err)
	}
	var ids []string
	for _, m := range g.Members {
		id := "<dynamic>"
		if m.InstanceID != nil {
			id = *m.InstanceID
		}
		ids = append(ids, id)
	}
	// The second sink left the group when it stopped unless it is static.
	if !slices.Equal(ids, []string{instance}) {
		t.Errorf("group %s members by instance id = %v, want only %s", group, ids, instance)
	}
}

// crashed waits for Run to return and checks that it returned want.
func (rs *runningSink) crashed(t *testing.T, want error) {
	t.Helper()
	rs.once.Do(func() {
		<-rs.done
		rs.cancel()
		if !errors.Is(rs.err, want) {
			t.Errorf("sink Run returned %v, want %v", rs.err, want)
		}
	})
}

// waitFor polls cond until it holds, failing t after a minute.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// value reads the unlabelled counter or gauge name from reg.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// fault is what a faultStore does with one insert.
type fault int

const (
	pass       fault = iota
	failDown         // refuse the insert: ClickHouse is down
	failLanded       // insert, then report a failure: the acknowledgement was lost
)

var (
	errDown      = errors.New("test: clickhouse unavailable")
	errLostReply = errors.New("test: connection reset after the insert was sent")
)

// insertRecord is one insert that reached the engine.
type insertRecord struct {
	table, token string
	rows         int
}

func record(b *store.Batch) insertRecord {
	return insertRecord{table: b.Table, token: b.DedupToken, rows: len(b.Rows)}
}

// faultStore is the real embedded store with a switch in front of Insert
// (not a mock of ClickHouse: every insert it lets through is a real one).
// It records the inserts that reached the engine.
type faultStore struct {
	store.Store
	mu       sync.Mutex
	fault    func(*store.Batch) fault
	failed   int
	attempts []insertRecord
}

func (f *faultStore) setFault(fn func(*store.Batch) fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fn
}

func (f *faultStore) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *faultStore) inserts() []insertRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attempts)
}

func (f *faultStore) Insert(ctx context.Context, b *store.Batch) error {
	f.mu.Lock()
	what := pass
	if f.fault != nil {
		what = f.fault(b)
	}
	if what == failDown {
		f.failed++
	}
	f.mu.Unlock()
	if what == failDown {
		return errDown
	}
	if err := f.Store.Insert(ctx, b); err != nil {
		return err
	}
	f.mu.Lock()
	f.attempts = append(f.attempts, record(b))
	f.mu.Unlock()
	if what == failLanded {
		return errLostReply
	}
	return nil
}
