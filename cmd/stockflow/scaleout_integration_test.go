//go:build integration

package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/crashtest"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/internal/testenv"
)

// scaleOutPartitions is the partition count of every topic in the
// scale-out test: 12 partitions over three instances, four each.
const scaleOutPartitions = 12

// scaleOutWindow is how long each throughput measurement lasts.
const scaleOutWindow = 10 * time.Second

// TestIntegrationScaleOutRealKafka runs three `stockflow process`
// instances against the test's own Apache Kafka broker, every topic with
// 12 partitions, on one backlog of simulated events:
//
//  1. instance A alone, then A+B, then A+B+C: each time the consumer
//     groups rebalance, the newcomer must process records, and the
//     combined rate (stock pipeline input records per second, summed over
//     the instances' /metrics) is measured over a fixed window while the
//     backlog lasts;
//  2. one of the three, picked at random, is SIGKILLed; the two survivors
//     take over its partitions (after the session timeout of its static
//     membership) and drain the backlog;
//  3. invariants 1-4 of DESIGN.md §3 are checked against the independent
//     oracle of internal/crashtest: the output topics (accepted/DLQ once
//     each, changelog levels, windows), the union of the three embedded
//     ClickHouse stores (every event once, per-day sums), reorders, and
//     routing (every accepted order exactly one final decision, no
//     reserved > on hand) on the committed routing topic and changelog,
//     which — unlike `stockflow verify` on one instance's store — see
//     every instance's work.
//
// Each instance has its own embedded ClickHouse engine (chDB runs one per
// process; no ClickHouse server runs here), so the sink's rows are spread
// over three stores and verify on any one of them is informational.
//
// The throughput printed is measured on whatever the machine has: on a
// 2-core machine three instances share the same two cores with the broker,
// so the figures show the coordination overhead of more members
// (rebalances, more transactions, more fetch sessions), not a speed-up.
func TestIntegrationScaleOutRealKafka(t *testing.T) {
	cfg := crashConfig{
		// The backlog must outlast the third instance's start: while it
		// joins and restores (15 s once), the other two drain ~30k
		// events/s. 80 days (~730k events) ran out before the
		// three-instance window; 140 days is ~1.3M.
		label: "scale-out(real kafka)", real: true, skus: 1000, warehouses: 10, days: 140, minEvents: 1_100_000,
		deadline: 14 * time.Minute,
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), cfg.deadline)
	defer cancel()
	seed := crashSeed(t)
	h := &crashHarness{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x5ca1e)), began: began}
	dir := t.TempDir()
	h.logs = filepath.Join(dir, "logs")
	if err := os.MkdirAll(h.logs, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			keepLogs(t, h.logs)
		}
	})
	h.bin = buildStockflow(ctx, t, dir)
	h.startBroker(ctx, dir)

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := ensureTopics(ctx, h.kc, scaleOutPartitions, log); err != nil {
		t.Fatal(err)
	}
	h.waitTopics(ctx, crashtest.InputTopics, scaleOutPartitions)
	simulator, err := sim.New(sim.Config{Seed: seed, SKUs: cfg.skus, Warehouses: cfg.warehouses, Days: cfg.days, BadShare: sim.DefaultBadShare})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	stats, err := crashtest.Produce(ctx, h.opts, simulator)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events < cfg.minEvents {
		t.Fatalf("the simulator produced %d events; the test needs at least %d", stats.Events, cfg.minEvents)
	}
	h.logf("produced %d events (%d bad) in %s to %v: %d SKUs x %d warehouses x %d days, %d partitions, seed %d",
		stats.Events, stats.Bad, time.Since(t0).Round(time.Millisecond), h.brokers, cfg.skus, cfg.warehouses, cfg.days, scaleOutPartitions, seed)
	whs := make([]event.WarehouseID, 0, cfg.warehouses)
	names := make([]string, 0, cfg.warehouses)
	for _, w := range simulator.Warehouses() {
		whs = append(whs, w.ID)
		names = append(names, string(w.ID))
	}
	h.env = []string{
		"STOCKFLOW_WAREHOUSES=" + strings.Join(names, ","),
		"STOCKFLOW_PARTITIONS=" + strconv.Itoa(scaleOutPartitions),
		"STOCKFLOW_CLICKHOUSE=",
		"STOCKFLOW_ROUTING_CONFIG=" + writeRoutingConfig(t, dir, simulator),
	}

	insts := []*instance{
		{id: "scale-a", data: filepath.Join(dir, "a")},
		{id: "scale-b", data: filepath.Join(dir, "b")},
		{id: "scale-c", data: filepath.Join(dir, "c")},
	}
	t.Cleanup(func() {
		for _, in := range insts {
			if in.child != nil {
				in.child.Kill()
			}
		}
	})

	// 1. One, two, three instances.
	type measured struct {
		instances        int
		stockEPS, rowsPS float64
	}
	var rates []measured
	for n := 1; n <= len(insts); n++ {
		in := insts[n-1]
		h.start(in)
		h.logf("%s (pid %d) starts: %d instance(s) in the groups", in.child.Name, in.child.Pid(), n)
		if _, ok := h.resume(ctx, in); !ok {
			t.Fatalf("the backlog was drained before instance %d of %d processed anything: give the test more events", n, len(insts))
		}
		// The newcomer processes: the rebalance has handed it partitions.
		// A short settle lets the others resume theirs before measuring.
		wait(ctx, in.child, 2*time.Second)
		var stock, rows float64
		for attempt := 1; ; attempt++ {
			var exited *instance
			stock, rows, exited, err = h.measure(ctx, insts[:n], scaleOutWindow)
			if err != nil {
				t.Fatal(err)
			}
			if exited == nil {
				break
			}
			// An instance that exits by itself is restarted, as a
			// supervisor would, recorded (unexpected_exits below) and the
			// window measured again.
			h.unexpectedExit(exited)
			if attempt == 3 {
				t.Fatalf("instances kept exiting during the %d-instance measurement", n)
			}
			h.start(exited)
			if _, ok := h.resume(ctx, exited); !ok {
				t.Fatalf("the backlog was drained while %s restarted: give the test more events", exited.id)
			}
		}
		stockLag, sinkLag, err := h.lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stockLag == 0 {
			t.Fatalf("the stock pipeline's backlog ran out during the %d-instance measurement: give the test more events", n)
		}
		rates = append(rates, measured{n, stock, rows})
		h.logf("%d instance(s): %.0f input events/s through the stock pipeline, %.0f sink rows/s over %s; lag after: stock %d, sink %d",
			n, stock, rows, scaleOutWindow, stockLag, sinkLag)
	}

	// 2. SIGKILL one; the survivors drain.
	for _, in := range insts {
		if !in.child.Running() {
			h.unexpectedExit(in)
			h.start(in)
			h.resume(ctx, in)
		}
	}
	victim := insts[h.rng.IntN(len(insts))]
	m, merr := victim.child.Metrics(ctx)
	victim.child.Kill()
	stockLag, sinkLag, err := h.lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stockLag+sinkLag == 0 {
		t.Fatal("the backlog was drained before the kill: give the test more events")
	}
	h.logf("SIGKILL %s (pid %d); lag at the kill: stock %d, sink %d; it had done %s", victim.child.Name, victim.child.Pid(), stockLag, sinkLag, runStats(m, merr))
	var survivors []*instance
	for _, in := range insts {
		if in != victim {
			survivors = append(survivors, in)
		}
	}
	drained := time.Now()
	h.drainAll(ctx, survivors)
	h.logf("drained by %d survivors: every group at lag 0 (%s, including the killed member's session timeout)", len(survivors), time.Since(drained).Round(time.Millisecond))
	for _, in := range survivors {
		m, merr := in.child.Metrics(ctx)
		if err := in.child.Terminate(time.Minute); err != nil {
			t.Errorf("%s: exit after SIGTERM: %v\n%s", in.child.Name, err, in.child.Tail(20))
		} else {
			h.logf("%s stopped with SIGTERM, exit 0; %s", in.child.Name, runStats(m, merr))
		}
	}

	// 3. Invariants 1-4.
	f := h.check(ctx, stats, whs, insts)
	o, err := crashtest.ReadOracle(ctx, h.opts, whs, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rst, err := crashtest.CheckRouting(ctx, h.opts, o, f)
	if err != nil {
		t.Fatal(err)
	}
	h.logf("routing: %d decision records, %d orders, %d final; %d ledger versions, %d of them raising reserved (%d past on hand while on hand dropped: ambiguous); at the end %d ledgers, %d with reservations, %d with reserved > on hand",
		rst.Records, rst.Orders, rst.Finals, rst.Versions, rst.Grew, rst.Ambiguous, rst.Levels, rst.Reserved, rst.ReservedOver)
	if rst.ReservedOver > 0 || rst.Ambiguous > 0 {
		f.Note("%d ledgers end with reserved > on hand and %d reservation versions went past on hand while on hand dropped: the simulated history's warehouses sell and count stock without consuming stockflow's reservations (no closed loop under process), which verify_routing.sql lists as reserved_above_on_hand (informational)", rst.ReservedOver, rst.Ambiguous)
	}
	if rst.Orders == 0 {
		t.Error("no routing decision was committed: the routing pipeline was not exercised")
	}
	exits := 0
	for _, in := range insts {
		exits += len(in.exits)
		for _, e := range in.exits {
			t.Logf("unexpected exit (restarted like a supervisor would): %s", e)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "scale-out(real kafka, %d partitions, %d events, GOMAXPROCS of each instance = %d cores here): ", scaleOutPartitions, stats.Events, ncpu())
	for i, r := range rates {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d instance(s) %.0f events/s (sink %.0f rows/s)", r.instances, r.stockEPS, r.rowsPS)
	}
	fmt.Fprintf(&b, "; killed %s; mismatches=%d duplicates=%d lost=%d misjudged=%d extra=%d unexpected_exits=%d seed=%d took=%s",
		victim.id, f.Count(crashtest.Mismatch), f.Count(crashtest.Duplicate), f.Count(crashtest.Lost), f.Count(crashtest.Misjudged), f.Count(crashtest.Extra),
		exits, seed, time.Since(began).Round(time.Second))
	line := b.String()
	t.Log(line)
	t.Logf("on a %d-core machine the three instances, the broker and the test share the same cores: these figures measure coordination overhead (rebalances, more transactions and fetch sessions), not speed-up", ncpu())
	t.Logf("compared: %s", f.Summary())
	if p := f.Places(); p != "" {
		t.Logf("problems by place: %s", p)
	}
	for _, n := range f.Notes() {
		t.Log("note: " + n)
	}
	if err := testenv.Report(line); err != nil {
		t.Error(err)
	}
	if err := f.Err(); err != nil {
		t.Errorf("%s: the end state differs from the oracle (seed %d; time line above): %v", cfg.label, seed, err)
	}
}

// measure returns the combined rate of the running instances over d:
// stock pipeline input records per second and sink rows per second, from
// the deltas of their /metrics counters. If one of them exits meanwhile,
// it returns that instance and no rates.
func (h *crashHarness) measure(ctx context.Context, insts []*instance, d time.Duration) (stockEPS, rowsPS float64, exited *instance, err error) {
	sum := func() (stock, rows float64, exited *instance, err error) {
		for _, in := range insts {
			if !in.child.Running() {
				return 0, 0, in, nil
			}
			m, err := in.child.Metrics(ctx)
			if err != nil {
				if !in.child.Running() {
					return 0, 0, in, nil
				}
				return 0, 0, nil, err
			}
			stock += m[progressMetrics[0]]
			rows += m[progressMetrics[1]]
		}
		return stock, rows, nil, nil
	}
	s0, r0, exited, err := sum()
	if exited != nil || err != nil {
		return 0, 0, exited, err
	}
	t0 := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return 0, 0, nil, ctx.Err()
	case <-timer.C:
	}
	s1, r1, exited, err := sum()
	if exited != nil || err != nil {
		return 0, 0, exited, err
	}
	secs := time.Since(t0).Seconds()
	return (s1 - s0) / secs, (r1 - r0) / secs, nil, nil
}

// drainAll waits until every group has committed past the end of its
// topics, restarting any of insts that exits by itself.
func (h *crashHarness) drainAll(ctx context.Context, insts []*instance) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	reported := time.Now()
	for {
		for _, in := range insts {
			if !in.child.Running() {
				if !in.child.Stopped() {
					h.unexpectedExit(in)
				}
				h.start(in)
			}
		}
		stock, sink, err := h.lag(ctx)
		if err == nil && stock+sink == 0 {
			return
		}
		if err == nil && time.Since(reported) >= 15*time.Second {
			reported = time.Now()
			h.logf("draining: stock lag %d, downstream lag %d", stock, sink)
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("not drained by the deadline (last error: %v); last lines of %s:\n%s", err, insts[0].child.Name, insts[0].child.Tail(30))
		case <-tick.C:
		}
	}
}

// ncpu is the number of CPUs the machine has.
func ncpu() int { return runtime.NumCPU() }

// waitTopics waits until the broker's metadata shows every topic with n
// partitions, each with a leader: a producer that starts right after the
// topics were created can otherwise see UNKNOWN_TOPIC_OR_PARTITION on a
// loaded broker and give up.
func (h *crashHarness) waitTopics(ctx context.Context, topics []string, n int) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		md, err := h.adm.ListTopics(ctx, topics...)
		ready := err == nil
		if err != nil {
			last = err.Error()
		}
		for _, topic := range topics {
			d, ok := md[topic]
			switch {
			case !ok || d.Err != nil || len(d.Partitions) != n:
				ready = false
				last = fmt.Sprintf("%s: %d partitions (%v)", topic, len(d.Partitions), d.Err)
			default:
				for _, p := range d.Partitions {
					if p.Err != nil || p.Leader < 0 {
						ready = false
						last = fmt.Sprintf("%s/%d: leader %d (%v)", topic, p.Partition, p.Leader, p.Err)
					}
				}
			}
		}
		if ready {
			return
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("topics not ready: %s", last)
		case <-tick.C:
		}
	}
}
