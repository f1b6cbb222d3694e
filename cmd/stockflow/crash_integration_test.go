//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/crashtest"
	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/internal/testenv"
)

// The crash, rebalance and broker-restart tests prove DESIGN.md §3
// invariants 1-3 with the real `stockflow process` binary: it is built,
// run as a child process against a backlog of simulated events, killed
// with SIGKILL at random moments (the seed is logged; STOCKFLOW_CRASH_SEED
// replays it) and restarted, then drained, stopped with SIGTERM and
// checked against the independent oracle of internal/crashtest, which
// reads the input topics directly.
//
// kfake runs inside the test process, so it outlives the child's kills.
// The real Apache Kafka broker is the test's own (kafka-start.sh in a
// temporary state directory on free ports), so it can be stopped and
// restarted, and its topics hold this test's records only.

// crashConfig is one scenario.
type crashConfig struct {
	label string // in the report line
	real  bool   // own Apache Kafka broker; kfake otherwise
	// The simulated history; minEvents is the least it must produce.
	skus, warehouses, days int
	minEvents              int
	// kills is how many times the primary instance is SIGKILLed while it
	// works through the backlog.
	kills int
	// rebalance: a second instance joins mid-stream and is SIGKILLed.
	rebalance bool
	// brokerRestart: the broker is stopped (state kept) and started again
	// under the running primary (real Kafka only).
	brokerRestart bool
	// deadline bounds the whole test: a generous limit, not a speed check.
	deadline time.Duration
}

// crashPartitions is the partition count of every topic in these tests.
const crashPartitions = 6

// The scenarios' sizes keep the package's integration tests inside the
// default 10-minute `go test` timeout that deploy/scripts/test.sh runs
// them with, on a 2-core machine: the 1M-event history goes to the real
// broker, kfake gets the same harness on a shorter one. The simulator
// makes about 7,900 events a day at 1000 SKUs x 10 warehouses, varying
// with the seed: 125 days gave 992,063 with seed 388278393, so the real
// broker's history is 135 days.

func TestIntegrationCrashRealKafka(t *testing.T) {
	runCrash(t, crashConfig{
		label: "crash(real kafka)", real: true, skus: 1000, warehouses: 10, days: 135, minEvents: 1_000_000,
		kills: 10, deadline: 8 * time.Minute,
	})
}

func TestIntegrationCrashKfake(t *testing.T) {
	runCrash(t, crashConfig{
		label: "crash(kfake)", skus: 1000, warehouses: 10, days: 50, minEvents: 350_000,
		kills: 10, deadline: 6 * time.Minute,
	})
}

func TestIntegrationRebalanceRealKafka(t *testing.T) {
	runCrash(t, crashConfig{
		label: "rebalance(real kafka)", real: true, skus: 500, warehouses: 5, days: 60, minEvents: 100_000,
		rebalance: true, deadline: 5 * time.Minute,
	})
}

func TestIntegrationBrokerRestartRealKafka(t *testing.T) {
	runCrash(t, crashConfig{
		label: "broker-restart(real kafka)", real: true, skus: 500, warehouses: 5, days: 60, minEvents: 100_000,
		brokerRestart: true, deadline: 5 * time.Minute,
	})
}

// instance is one `stockflow process` with a stable instance id and data
// dir, run as successive child processes.
type instance struct {
	id      string
	data    string
	runs    int
	child   *crashtest.Child
	resumed bool            // the current child has processed records
	exits   []string        // unexpected exits
	resumes []time.Duration // start to first record processed, per run
}

// crashHarness holds what one scenario shares.
type crashHarness struct {
	t       *testing.T
	cfg     crashConfig
	rng     *rand.Rand
	bin     string
	brokers []string
	kc      kafka.Config
	opts    []kgo.Opt
	adm     *kadm.Client
	env     []string
	logs    string
	real    *crashtest.RealBroker
	began   time.Time
	runs    []*crashtest.Child // every child process started, in order
	// reorders is how many purchase reorders the replenishment pipeline
	// committed (CheckReorders).
	reorders int
}

// writer names the child processes that were alive at t: who can have
// written an output record with that timestamp.
func (h *crashHarness) writer(t time.Time) string {
	var names []string
	for _, c := range h.runs {
		if t.Before(c.Started) || (!c.Running() && !t.Before(c.Ended())) {
			continue
		}
		names = append(names, c.Name)
	}
	return strings.Join(names, "+")
}

func (h *crashHarness) logf(format string, args ...any) {
	now := time.Now()
	line := fmt.Sprintf("%s %6.1fs ", now.UTC().Format("15:04:05.000"), now.Sub(h.began).Seconds()) + fmt.Sprintf(format, args...)
	h.t.Log(line)
}

func runCrash(t *testing.T, cfg crashConfig) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), cfg.deadline)
	defer cancel()
	seed := crashSeed(t)
	h := &crashHarness{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), began: began}
	dir := t.TempDir()
	h.logs = filepath.Join(dir, "logs")
	if err := os.MkdirAll(h.logs, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // before the temporary directory goes
		if t.Failed() {
			keepLogs(t, h.logs)
		}
	})
	h.bin = buildStockflow(ctx, t, dir)
	h.startBroker(ctx, dir)

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := ensureTopics(ctx, h.kc, crashPartitions, log); err != nil {
		t.Fatal(err)
	}
	simulator, err := sim.New(sim.Config{Seed: seed, SKUs: cfg.skus, Warehouses: cfg.warehouses, Days: cfg.days, BadShare: sim.DefaultBadShare})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := crashtest.Produce(ctx, h.opts, simulator)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events < cfg.minEvents || stats.Bad == 0 {
		t.Fatalf("the simulator produced %d events (%d bad); the test needs at least %d with bad ones", stats.Events, stats.Bad, cfg.minEvents)
	}
	h.logf("produced %d events (%d bad) to %v: %d SKUs x %d warehouses x %d days, seed %d", stats.Events, stats.Bad, h.brokers, cfg.skus, cfg.warehouses, cfg.days, seed)
	whs := make([]event.WarehouseID, 0, cfg.warehouses)
	names := make([]string, 0, cfg.warehouses)
	for _, w := range simulator.Warehouses() {
		whs = append(whs, w.ID)
		names = append(names, string(w.ID))
	}
	h.env = []string{
		// Routing needs the warehouses' locations; the children's stores
		// have no registry, so they come in a routing config file.
		"STOCKFLOW_ROUTING_CONFIG=" + writeRoutingConfig(t, dir, simulator),
		"STOCKFLOW_WAREHOUSES=" + strings.Join(names, ","),
		"STOCKFLOW_PARTITIONS=" + strconv.Itoa(crashPartitions),
		"STOCKFLOW_CLICKHOUSE=", // the embedded engine under --data, whatever the environment says
	}

	primary := &instance{id: "crash-a", data: filepath.Join(dir, "a")}
	insts := []*instance{primary}
	t.Cleanup(func() {
		for _, in := range insts {
			if in.child != nil {
				in.child.Kill()
			}
		}
	})
	kills := 0
	switch {
	case cfg.rebalance:
		second := &instance{id: "crash-b", data: filepath.Join(dir, "b")}
		insts = append(insts, second)
		h.rebalance(ctx, primary, second)
	case cfg.brokerRestart:
		h.brokerRestart(ctx, primary)
	}
	kills += h.killLoop(ctx, primary, cfg.kills)
	h.resume(ctx, primary) // records how long the last restart took to resume, if it had work left
	drained := time.Now()
	h.drain(ctx, primary)
	h.logf("drained: stock and sink groups at lag 0 (%s)", time.Since(drained).Round(time.Millisecond))
	m, merr := primary.child.Metrics(ctx)
	if err := primary.child.Terminate(time.Minute); err != nil {
		t.Errorf("%s: exit after SIGTERM: %v\n%s", primary.child.Name, err, primary.child.Tail(20))
	} else {
		h.logf("%s stopped with SIGTERM, exit 0; %s", primary.child.Name, runStats(m, merr))
	}

	f := h.check(ctx, stats, whs, insts)
	var resumes []time.Duration
	exits := 0
	for _, in := range insts {
		resumes = append(resumes, in.resumes...)
		exits += len(in.exits)
	}
	line := fmt.Sprintf("%s: kills=%d events=%d accepted=%d dlq=%d reorders=%d mismatches=%d duplicates=%d lost=%d misjudged=%d extra=%d wrong_reason=%d late_count=%d unexpected_exits=%d restart_to_resume=%s seed=%d took=%s",
		cfg.label, kills, stats.Events, f.CheckedCount("accepted_records"), f.CheckedCount("dlq_records"), h.reorders,
		f.Count(crashtest.Mismatch), f.Count(crashtest.Duplicate), f.Count(crashtest.Lost), f.Count(crashtest.Misjudged), f.Count(crashtest.Extra),
		f.Count(crashtest.WrongReason), f.Count(crashtest.LateCount), exits, spread(resumes), seed, time.Since(began).Round(time.Second))
	t.Log(line)
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
	if kills < cfg.kills {
		t.Errorf("only %d of %d kills landed while the backlog was being worked through", kills, cfg.kills)
	}
}

// crashSeed returns STOCKFLOW_CRASH_SEED or a fresh seed, and logs it.
func crashSeed(t *testing.T) uint64 {
	if v := os.Getenv("STOCKFLOW_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("STOCKFLOW_CRASH_SEED=%q: %v", v, err)
		}
		t.Logf("seed %d (from STOCKFLOW_CRASH_SEED)", s)
		return s
	}
	s := uint64(time.Now().UnixNano())%1_000_000_000 + 1
	t.Logf("seed %d (STOCKFLOW_CRASH_SEED=%d replays the simulation and the kill delays)", s, s)
	return s
}

// buildStockflow builds the binary from the working tree, as it is now.
func buildStockflow(ctx context.Context, t *testing.T, dir string) string {
	bin := filepath.Join(dir, "stockflow")
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/stockflow: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(t0).Round(time.Millisecond))
	return bin
}

// startBroker starts kfake in this process or the test's own Apache Kafka
// broker, and connects the harness to it.
func (h *crashHarness) startBroker(ctx context.Context, dir string) {
	t := h.t
	if h.cfg.real {
		scripts, err := filepath.Abs(filepath.Join("..", "..", "deploy", "scripts"))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		b, err := crashtest.StartRealBroker(ctx, scripts, filepath.Join(dir, "kafka"))
		if err != nil {
			t.Fatalf("this test starts its own Apache Kafka broker with deploy/scripts/kafka-start.sh (Java 17+, jars from deploy/scripts/fetch-kafka.sh): %v", err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if err := b.Stop(sctx, false); err != nil {
				t.Errorf("stop the test's Apache Kafka broker: %v", err)
			}
		})
		h.real = b
		h.brokers = []string{b.Addr}
		h.logf("own Apache Kafka broker at %s, started in %s", b.Addr, time.Since(t0).Round(time.Millisecond))
		if err := testenv.Report(fmt.Sprintf("kafka: Apache Kafka broker of its own at %s, started by kafka-start.sh (cmd/stockflow %s)", b.Addr, h.cfg.label)); err != nil {
			t.Fatal(err)
		}
	} else {
		broker, err := kafka.StartBroker(kafka.BrokerConfig{})
		if err != nil {
			t.Fatalf("kfake broker: %v", err)
		}
		t.Cleanup(broker.Close)
		h.brokers = broker.Addrs()
		h.logf("kfake broker in the test process at %v", h.brokers)
	}
	h.kc = kafka.Config{Brokers: h.brokers, ClientID: "stockflow-crashtest"}
	opts, err := h.kc.Opts()
	if err != nil {
		t.Fatal(err)
	}
	h.opts = opts
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	h.adm = kadm.NewClient(cl)
}

// start runs the instance as a new child process.
func (h *crashHarness) start(in *instance) {
	in.runs++
	name := fmt.Sprintf("%s#%d", in.id, in.runs)
	args := []string{"process", "--brokers", strings.Join(h.brokers, ","), "--data", in.data,
		"--instance-id", in.id, "--http", "127.0.0.1:0", "--log-level", "info"}
	c, err := crashtest.Start(name, h.bin, args, h.env, filepath.Join(h.logs, fmt.Sprintf("%s-%02d.log", in.id, in.runs)))
	if err != nil {
		h.t.Fatal(err)
	}
	in.child = c
	in.resumed = false
	h.runs = append(h.runs, c)
}

// progressMetrics become positive once a run has processed something.
var progressMetrics = []string{"stockflow_stock_records_in_total", "stockflow_sink_rows_total"}

// resume starts the instance if it is not running and waits until it
// processes records, and reports whether it did: false means the groups
// reached lag 0 first (what was left needed no rows, such as transaction
// markers). A child that exits meanwhile is restarted, as a supervisor
// would, and the exit is recorded.
func (h *crashHarness) resume(ctx context.Context, in *instance) (map[string]float64, bool) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lagAt := time.Now()
	for {
		if in.child == nil || !in.child.Running() {
			if in.child != nil && !in.child.Stopped() {
				h.unexpectedExit(in)
			}
			h.start(in)
		}
		// Metrics waits for the child to listen; until it serves, errors
		// just mean "not yet".
		if m, err := in.child.Metrics(ctx); err == nil && (m[progressMetrics[0]] > 0 || m[progressMetrics[1]] > 0) {
			if !in.resumed {
				in.resumed = true
				d := time.Since(in.child.Started)
				in.resumes = append(in.resumes, d)
				h.logf("%s (pid %d) processing %s after its start", in.child.Name, in.child.Pid(), d.Round(time.Millisecond))
			}
			return m, true
		}
		if time.Since(lagAt) > 250*time.Millisecond {
			lagAt = time.Now()
			if stock, sink, err := h.lag(ctx); err == nil && stock+sink == 0 {
				h.logf("%s: the groups reached lag 0 before it processed a record", in.child.Name)
				return nil, false
			}
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("%s did not resume by the deadline\nlast lines of its log:\n%s", in.child.Name, in.child.Tail(30))
		case <-tick.C:
		}
	}
}

func (h *crashHarness) unexpectedExit(in *instance) {
	c := in.child
	in.exits = append(in.exits, fmt.Sprintf("%s: %v", c.Name, c.ExitErr()))
	h.logf("%s (pid %d) exited by itself (%v); restarting it like a supervisor would. Last lines of its log:\n%s", c.Name, c.Pid(), c.ExitErr(), c.Tail(15))
	if len(in.exits) > 20 {
		h.t.Fatalf("%s exited by itself %d times; giving up", in.id, len(in.exits))
	}
}

// lag returns the stock pipeline's consumer group lag and that of the
// groups downstream of it (replenishment and sink).
func (h *crashHarness) lag(ctx context.Context) (stock, sink int64, err error) {
	for i, g := range pipelineGroups("stockflow-sink") {
		n, err := kafka.GroupLag(ctx, h.adm, g.group, g.topics...)
		if err != nil {
			return 0, 0, err
		}
		if i == 0 {
			stock = n
		} else {
			sink += n
		}
	}
	return stock, sink, nil
}

// wait waits d, or less if the child exits; it reports whether the child
// is still running.
func wait(ctx context.Context, c *crashtest.Child, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.Done():
		return false
	case <-ctx.Done():
		return c.Running()
	}
}

// killLoop SIGKILLs the instance n times at random moments while it works
// through the backlog, restarting it each time, and returns how many kills
// landed while work was left. The random delay after each resume is
// spread so that the kills fit in the time the backlog is expected to
// last.
func (h *crashHarness) killLoop(ctx context.Context, in *instance, n int) int {
	kills := 0
	rate := 0.0 // pipeline records per second of processing, once measured
	for kills < n {
		before, ok := h.resume(ctx, in)
		if !ok {
			h.t.Fatalf("the backlog was drained after %d of %d kills: give the scenario more events", kills, n)
		}
		stockLag, sinkLag, err := h.lag(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if stockLag+sinkLag == 0 {
			h.t.Fatalf("the backlog was drained after %d of %d kills: give the scenario more events", kills, n)
		}
		// Spread the kills over the pipeline's remaining backlog (the mean
		// delay is the backlog's expected duration over the kills left);
		// once the pipeline is through, the sink's catching up is killed.
		spreadOver := 2 * time.Second
		if rate > 0 && stockLag > 0 {
			spreadOver = time.Duration(2 * float64(stockLag) / rate / float64(n-kills) * float64(time.Second))
		}
		spreadOver = min(max(spreadOver, 100*time.Millisecond), 8*time.Second)
		delay := time.Duration(h.rng.Int64N(int64(spreadOver)))
		t0 := time.Now()
		if !wait(ctx, in.child, delay) {
			h.unexpectedExit(in)
			continue
		}
		m, merr := in.child.Metrics(ctx)
		in.child.Kill()
		stockAfter, sinkAfter, err := h.lag(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if merr == nil {
			if done := m[progressMetrics[0]] - before[progressMetrics[0]]; done > 0 {
				rate = done / time.Since(t0).Seconds()
			}
		}
		if stockAfter+sinkAfter == 0 {
			h.logf("kill of %s came after the backlog was drained: not counted", in.child.Name)
			continue
		}
		kills++
		h.logf("kill %d/%d: SIGKILL %s (pid %d) %s after it resumed; lag at the kill: stock %d, sink %d; %s",
			kills, n, in.child.Name, in.child.Pid(), delay.Round(time.Millisecond), stockAfter, sinkAfter, runStats(m, merr))
	}
	return kills
}

// runStats renders what a run had done by the kill, from its metrics.
func runStats(m map[string]float64, err error) string {
	if err != nil {
		return "metrics unknown (" + err.Error() + ")"
	}
	return fmt.Sprintf("%.0f input records, %.0f transactions committed, %.0f aborted, %.0f rows written in this run",
		m[progressMetrics[0]], m["stockflow_stock_transactions_committed_total"], m["stockflow_stock_transactions_aborted_total"], m[progressMetrics[1]])
}

// drain waits until the stock and sink groups have committed past the
// end of their topics, restarting the instance if it exits.
func (h *crashHarness) drain(ctx context.Context, in *instance) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	reported := time.Now()
	for {
		if !in.child.Running() {
			if !in.child.Stopped() {
				h.unexpectedExit(in)
			}
			h.start(in)
		}
		stock, sink, err := h.lag(ctx)
		if err == nil && stock+sink == 0 {
			return
		}
		if err != nil {
			lastErr = err
		} else if time.Since(reported) >= 15*time.Second {
			reported = time.Now()
			h.logf("draining: stock lag %d, sink lag %d", stock, sink)
		}
		select {
		case <-ctx.Done():
			var per []string
			for _, g := range pipelineGroups("stockflow-sink") {
				n, err := kafka.GroupLag(context.WithoutCancel(ctx), h.adm, g.group, g.topics...)
				per = append(per, fmt.Sprintf("%s %d (%v)", g.group, n, err))
			}
			in.child.Dump(10 * time.Second) // goroutine stacks into the kept log
			h.t.Fatalf("not drained by the deadline: lag %s (last error: %v); goroutine dump in the child's log\nlast lines of %s:\n%s",
				strings.Join(per, ", "), lastErr, in.child.Name, in.child.Tail(30))
		case <-tick.C:
		}
	}
}

// rebalance lets a second instance join while the primary works through
// the backlog, waits until it processes records, and SIGKILLs it. The
// primary carries on and takes its partitions back when the killed
// member's session expires.
func (h *crashHarness) rebalance(ctx context.Context, primary, second *instance) {
	h.resume(ctx, primary)
	wait(ctx, primary.child, time.Duration(h.rng.Int64N(int64(time.Second))))
	h.start(second)
	h.logf("%s (pid %d) joins the groups", second.child.Name, second.child.Pid())
	m, ok := h.resume(ctx, second)
	if !ok {
		h.t.Fatal("the backlog was drained before the second instance processed anything: give the scenario more events")
	}
	delay := 200*time.Millisecond + time.Duration(h.rng.Int64N(int64(2*time.Second)))
	if !wait(ctx, second.child, delay) {
		h.unexpectedExit(second)
	}
	if second.child.Running() {
		m2, err := second.child.Metrics(ctx)
		if err == nil {
			m = m2
		}
		second.child.Kill()
	}
	stock, sink, err := h.lag(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	h.logf("SIGKILL %s %s after it resumed: %s; lag at the kill: stock %d, sink %d",
		second.child.Name, delay.Round(time.Millisecond), runStats(m, nil), stock, sink)
	if stock+sink == 0 {
		h.t.Fatal("the backlog was drained before the second instance was killed: give the scenario more events")
	}
	if !primary.child.Running() {
		h.unexpectedExit(primary)
	}
}

// brokerRestart stops the broker under the working primary, keeping its
// state, and starts it again on the same ports.
func (h *crashHarness) brokerRestart(ctx context.Context, primary *instance) {
	if h.real == nil {
		h.t.Fatal("a broker restart needs the real Apache Kafka broker")
	}
	h.resume(ctx, primary)
	wait(ctx, primary.child, time.Duration(h.rng.Int64N(int64(2*time.Second))))
	stock, sink, err := h.lag(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	if stock+sink == 0 {
		h.t.Fatal("the backlog was drained before the broker restart: give the scenario more events")
	}
	t0 := time.Now()
	if err := h.real.Stop(ctx, true); err != nil {
		h.t.Fatal(err)
	}
	h.logf("broker stopped with kafka-stop.sh (KAFKA_KEEP_STATE=1) in %s; lag before: stock %d, sink %d", time.Since(t0).Round(time.Millisecond), stock, sink)
	t1 := time.Now()
	if err := h.real.Restart(ctx); err != nil {
		h.t.Fatalf("%v\n%s", err, h.real.LogTail(40))
	}
	h.logf("broker restarted with kafka-restart.sh on %s in %s (down %s in all); %s still running: %v",
		h.real.Addr, time.Since(t1).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), primary.child.Name, primary.child.Running())
	if !primary.child.Running() {
		h.unexpectedExit(primary)
		h.start(primary)
	}
}

// check reads the oracle from the input topics and compares the output
// topics, `stockflow verify` and the ClickHouse stores with it.
func (h *crashHarness) check(ctx context.Context, stats sim.Stats, whs []event.WarehouseID, insts []*instance) *crashtest.Findings {
	t := h.t
	t0 := time.Now()
	f := crashtest.NewFindings()
	f.SetWriter(h.writer)
	// `stockflow verify` runs beside the reads; the stores are opened
	// here only after it, one engine per data dir at a time.
	verified := make([]verifyResult, len(insts))
	verifyDone := make(chan struct{})
	go func() {
		defer close(verifyDone)
		for i, in := range insts {
			verified[i] = h.verify(ctx, in)
		}
	}()
	// The oracle and the output topics are read at once.
	var (
		o      *crashtest.Oracle
		oerr   error
		oracle = make(chan struct{})
	)
	go func() {
		defer close(oracle)
		o, oerr = crashtest.ReadOracle(ctx, h.opts, whs, 7*24*time.Hour)
	}()
	out, err := crashtest.ReadOutputs(ctx, h.opts, f)
	<-oracle
	if err != nil {
		t.Fatal(err)
	}
	if oerr != nil {
		t.Fatal(oerr)
	}
	h.logf("oracle: %d input records, %d accepted, %d rejected %v; output topics read (%s)",
		o.Records(), o.Accepted(), o.RejectedCount(), o.ByReason(), time.Since(t0).Round(time.Millisecond))
	if o.Records() != stats.Events {
		t.Errorf("the oracle read %d input records, the simulator produced %d", o.Records(), stats.Events)
	}
	if got := o.ByReason(); !maps.Equal(got, stats.ByReason) {
		t.Errorf("the oracle rejects %v, the simulator labelled %v bad: the oracle is wrong", got, stats.ByReason)
	}
	for _, p := range o.Problems() {
		f.Problem(crashtest.Undecidable, 1, "%s", p)
	}
	out.Compare(o, f)
	rst, err := crashtest.CheckReorders(ctx, h.opts, f)
	if err != nil {
		t.Fatal(err)
	}
	h.logf("reorders: %d records, %d reorders opened and %d closed over %d keys", rst.Records, rst.Ordered, rst.Closed, rst.Keys)
	if rst.Ordered == 0 {
		t.Error("no reorder was committed: the replenishment pipeline was not exercised")
	}
	h.reorders = rst.Ordered

	<-verifyDone
	tables := crashtest.NewTables()
	for _, in := range insts {
		t2 := time.Now()
		s := config.Defaults()
		s.Data = in.data
		st, err := openStore(ctx, s)
		if err != nil {
			t.Fatalf("open the ClickHouse store of %s: %v", in.id, err)
		}
		err = tables.Load(ctx, st, in.id, f)
		_ = st.Close()
		if err != nil {
			t.Fatal(err)
		}
		h.logf("ClickHouse store of %s read (%s)", in.id, time.Since(t2).Round(time.Millisecond))
	}
	tables.Compare(o, f)
	if n := tables.Overlap(); n > 0 {
		f.Note("%d raw or dlq rows are in both stores: rows the killed instance's sink inserted but had not committed, inserted again by the survivor", n)
	}
	// verify recomputes the levels from the raw rows of one store. The
	// primary's store must pass it, unless the killed second instance's
	// sink committed rows that only its own store holds: then no single
	// store has the whole history, and the union above is the check.
	complete := true
	for i := 1; i < len(insts); i++ {
		if n := tables.OnlyIn(i); n > 0 {
			complete = false
			f.Note("%d raw or dlq rows are only in the store of %s: stockflow verify on %s alone is informational", n, insts[i].id, insts[0].id)
		}
	}
	for i, v := range verified {
		in := insts[i]
		switch {
		case v.err != nil:
			f.Problem(crashtest.Mismatch, 1, "verify: stockflow verify --data %s: %v", in.data, v.err)
		case i == 0 && complete:
			f.Checked("verify_levels", v.Checked)
			f.Problem(crashtest.Mismatch, v.Mismatches, "verify: stockflow verify --data %s: %d mismatches, e.g. %s", in.data, v.Mismatches, v.Examples)
		default:
			f.Note("stockflow verify on the store of %s: checked %d, mismatches %d (informational: a partial store)", in.id, v.Checked, v.Mismatches)
		}
	}
	return f
}

type verifyResult struct {
	Checked    int             `json:"checked"`
	Mismatches int             `json:"mismatches"`
	Examples   json.RawMessage `json:"examples"`
	Routing    struct {
		ReservedAboveOnHand int `json:"reserved_above_on_hand"`
	} `json:"routing"`
	err error
}

// verify runs the built binary's `stockflow verify --json` on the
// instance's data dir.
func (h *crashHarness) verify(ctx context.Context, in *instance) verifyResult {
	cmd := exec.CommandContext(ctx, h.bin, "verify", "--data", in.data, "--json", "--log-level", "warn")
	cmd.Env = append(os.Environ(), h.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var v verifyResult
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		status := "exit 0"
		if runErr != nil {
			status = runErr.Error()
		}
		v.err = fmt.Errorf("no JSON result (%w; %s): %s %s", err, status, stdout.String(), stderr.String())
		return v
	}
	// The harness's simulator is open loop: its warehouses sell and count
	// stock without consuming routing's reservations, so ledgers may end
	// with reserved > on hand through no decision of routing's; verify
	// lists them as reserved_above_on_hand, informational, not mismatches.
	// An accepted reservation that left available stock below zero
	// (negative_available) is one.
	if n := v.Routing.ReservedAboveOnHand; n > 0 {
		h.logf("verify: %d ledgers end with reserved > on hand (open-loop simulator; informational)", n)
	}
	if runErr != nil && v.Mismatches == 0 {
		v.err = fmt.Errorf("exit %w: %s", runErr, stderr.String())
	}
	h.logf("stockflow verify --data %s --json: %s", in.data, strings.TrimSpace(stdout.String()))
	return v
}

// spread renders durations as min/median/max.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
	return r(s[0]) + "/" + r(s[len(s)/2]) + "/" + r(s[len(s)-1])
}

// keepLogs copies the child logs out of the test's temporary directory so
// a failure can be examined.
func keepLogs(t *testing.T, dir string) {
	dst, err := os.MkdirTemp("", "stockflow-crashtest-logs-")
	if err != nil {
		t.Log(err)
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Log(err)
		return
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600)
		}
		if err != nil {
			t.Log(err)
		}
	}
	t.Logf("child logs kept in %s", dst)
}

// writeRoutingConfig writes the routing config file of the simulated
// network (the warehouses with their locations, rate cards and the items'
// weights, as `stockflow run` builds them) and returns its path: `process`
// reads the warehouses' locations from the store's registry, which a
// fresh embedded store does not have, or from this file.
func writeRoutingConfig(t testing.TB, dir string, sm *sim.Sim) string {
	t.Helper()
	setup, err := runRoutingSetup(config.Defaults(), sm)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(routingFile{Config: &setup.cfg, Items: setup.items})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "routing.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
