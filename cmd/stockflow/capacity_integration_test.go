//go:build integration

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/crashtest"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
)

// BenchmarkProcessCapacity measures what an operator sizes `stockflow
// process` with (deploy/README.md, "Capacity planning"). The built binary
// works through a simulated history of few keys and then of many (the
// same days, so about the same events per key), on kfake in the test
// process (the broker's memory and CPU are not the child's) with the
// embedded ClickHouse engine. Reported, for the larger run:
//
//   - B/key: the live Go heap per (SKU, warehouse) key with all its state
//     (ledger, windows, event-id deduplication, replenishment and routing
//     views): the slope of the live heap between the two runs, read from
//     the child's GODEBUG=gctrace=1 lines (the heap marked live by the
//     first GC after the groups reached lag 0);
//   - events/s: input records over the time from the first processed
//     record to lag 0 in every group (the sink and the other pipelines
//     included), on whatever cores the machine gives;
//   - inserts/s and parts/s: the sink's insert batches
//     (stockflow_sink_inserts_total) and the MergeTree parts they created
//     (the highest block number of every table in system.parts: one block
//     per insert into a partition) over the same time.
//
// Run it with
//
//	go test -tags integration -run '^$' -bench ProcessCapacity -benchtime 1x ./cmd/stockflow
func BenchmarkProcessCapacity(b *testing.B) {
	const (
		warehouses = 10
		days       = 30
	)
	skus := []int{100, 2000}
	for b.Loop() {
		runs := make([]capacityRun, len(skus))
		for i, n := range skus {
			runs[i] = processCapacity(b, n, warehouses, days)
			r := runs[i]
			b.Logf("%d SKUs x %d warehouses = %d keys, %d days: %d events in %.1fs = %.0f events/s; live heap %.1f MB; %d inserts (%.1f/s), %d parts (%.1f/s), %d rows; %d active parts at the end",
				n, warehouses, n*warehouses, days, r.events, r.seconds, float64(r.events)/r.seconds, r.liveHeap/1e6,
				r.inserts, float64(r.inserts)/r.seconds, r.parts, float64(r.parts)/r.seconds, r.rows, r.activeParts)
		}
		last := runs[len(runs)-1]
		keys := float64((skus[1] - skus[0]) * warehouses)
		b.ReportMetric((last.liveHeap-runs[0].liveHeap)/keys, "B/key")
		b.ReportMetric(float64(last.events)/last.seconds, "events/s")
		b.ReportMetric(float64(last.inserts)/last.seconds, "inserts/s")
		b.ReportMetric(float64(last.parts)/last.seconds, "parts/s")
	}
}

// capacityRun is what one processCapacity run measured.
type capacityRun struct {
	events             int
	seconds            float64
	liveHeap           float64 // bytes
	inserts, rows      int64
	parts, activeParts int64
}

var gcLiveRE = regexp.MustCompile(`gc \d+ @[^:]+: .* \d+->\d+->(\d+) MB`)

// processCapacity runs process on a fresh kfake broker and history until
// it drained, and measures it.
func processCapacity(b *testing.B, skus, warehouses, days int) capacityRun {
	ctx, cancel := context.WithTimeout(b.Context(), 15*time.Minute)
	defer cancel()
	dir := b.TempDir()
	broker, err := kafka.StartBroker(kafka.BrokerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	kc := kafka.Config{Brokers: broker.Addrs(), ClientID: "stockflow-capacity"}
	opts, err := kc.Opts()
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	simulator, err := sim.New(sim.Config{Seed: 11, SKUs: skus, Warehouses: warehouses, Days: days, BadShare: sim.DefaultBadShare})
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for _, w := range simulator.Warehouses() {
		names = append(names, string(w.ID))
	}
	bin := filepath.Join(dir, "stockflow")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	env := []string{
		"GODEBUG=gctrace=1",
		"STOCKFLOW_PARTITIONS=6",
		"STOCKFLOW_WAREHOUSES=" + strings.Join(names, ","),
		"STOCKFLOW_ROUTING_CONFIG=" + writeRoutingConfig(b, dir, simulator),
		"STOCKFLOW_CLICKHOUSE=",
	}
	c, err := crashtest.Start("process", bin, []string{"process", "--brokers", strings.Join(broker.Addrs(), ","), "--data", data,
		"--instance-id", "capacity", "--http", "127.0.0.1:0", "--log-level", "warn"}, env, filepath.Join(dir, "process.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Kill()
	if _, err := c.Addr(ctx); err != nil {
		b.Fatal(err)
	}
	// Produce first, then measure from the first processed record.
	stats, err := crashtest.Produce(ctx, opts, simulator)
	if err != nil {
		b.Fatal(err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var began time.Time
	for began.IsZero() {
		if m, err := c.Metrics(ctx); err == nil && m[progressMetrics[0]] > 0 {
			began = time.Now()
		}
		select {
		case <-ctx.Done():
			b.Fatalf("process did not start processing:\n%s", c.Tail(20))
		case <-tick.C:
		}
	}
	for {
		var total int64
		for _, g := range pipelineGroups("stockflow-sink") {
			n, err := kafka.GroupLag(ctx, adm, g.group, g.topics...)
			if err != nil {
				total = -1
				break
			}
			total += n
		}
		if total == 0 {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatalf("not drained:\n%s", c.Tail(20))
		case <-tick.C:
		}
	}
	run := capacityRun{events: stats.Events, seconds: time.Since(began).Seconds()}
	m, err := c.Metrics(ctx)
	if err != nil {
		b.Fatal(err)
	}
	run.inserts, run.rows = int64(m["stockflow_sink_inserts_total"]), int64(m["stockflow_sink_rows_total"])
	// One more collection on the settled state (the runtime forces one
	// at the latest two minutes after the last).
	gcs := func() int { return len(gcLiveRE.FindAllString(readFileTB(b, c.LogPath), -1)) }
	for start := gcs(); gcs() < start+1; {
		select {
		case <-ctx.Done():
			b.Fatal("no more GC cycles after the drain")
		case <-tick.C:
		}
	}
	if err := c.Terminate(time.Minute); err != nil {
		b.Fatal(err)
	}
	gc := gcLiveRE.FindAllStringSubmatch(readFileTB(b, c.LogPath), -1)
	mb, err := strconv.ParseFloat(gc[len(gc)-1][1], 64)
	if err != nil {
		b.Fatal(err)
	}
	run.liveHeap = mb * 1e6

	s := config.Defaults()
	s.Data = data
	st, err := openStore(ctx, s)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	res, err := st.Query(ctx, "SELECT toInt64(sum(blocks)), toInt64(sum(active)) FROM (SELECT table, max(max_block_number) AS blocks, countIf(active) AS active FROM system.parts WHERE database = 'stockflow' GROUP BY table)")
	if err != nil {
		b.Fatal(err)
	}
	if run.parts, err = res.Int64(0, 0); err != nil {
		b.Fatal(err)
	}
	if run.activeParts, err = res.Int64(0, 1); err != nil {
		b.Fatal(err)
	}
	return run
}

func readFileTB(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
