// Package testenv is for tests only: it finds the real services a test
// suite runs against (the Apache Kafka broker make test starts, the
// embedded ClickHouse engine) and
// records which engines the tests used in the file named by
// STOCKFLOW_TEST_REPORT, which make test prints at the end. A test that
// needs a service it cannot find fails and names it.
//
// It imports neither pipelines nor consumers.
package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/store/embedded"
)

// EnvBrokers names the variable holding the real broker's addresses.
const EnvBrokers = "STOCKFLOW_KAFKA_BROKERS"

// Report appends line to the STOCKFLOW_TEST_REPORT file, if one is set, in
// one write, so concurrent test binaries do not interleave.
func Report(line string) error {
	path := os.Getenv("STOCKFLOW_TEST_REPORT")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600) //nolint:gosec // path from the test harness
	if err != nil {
		return fmt.Errorf("test report: %w", err)
	}
	if _, err := f.WriteString(strings.TrimRight(line, "\n") + "\n"); err != nil {
		_ = f.Close()
		return fmt.Errorf("test report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("test report: %w", err)
	}
	return nil
}

// KafkaBrokers returns the real Apache Kafka broker of STOCKFLOW_KAFKA_BROKERS,
// failing t when it is unset or does not answer. It reports the broker and
// its protocol version, as who (the suite's name), to the test report.
func KafkaBrokers(t testing.TB, who string) []string {
	t.Helper()
	v := os.Getenv(EnvBrokers)
	if v == "" {
		t.Fatalf("%s is not set: this test needs a real Apache Kafka broker (make test starts one with deploy/scripts/kafka-start.sh)", EnvBrokers)
	}
	brokers := strings.Split(v, ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vers, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		t.Fatalf("Apache Kafka broker at %s (%s): %v", v, EnvBrokers, err)
	}
	guess := ""
	vers.Each(func(b kadm.BrokerApiVersions) {
		if b.Err != nil {
			t.Fatalf("Apache Kafka broker %d at %s: ApiVersions: %v", b.NodeID, v, b.Err)
		}
		guess = b.VersionGuess()
	})
	t.Logf("Apache Kafka broker at %s: %s", v, guess)
	if err := Report(fmt.Sprintf("kafka: Apache Kafka broker at %s, protocol version guess %s (%s)", v, guess, who)); err != nil {
		t.Fatal(err)
	}
	return brokers
}

// Engine opens the embedded ClickHouse engine for a test binary (chDB runs
// one engine per process; tests isolate with a database each) in a fresh
// temporary directory, and reports its version. The returned dir is the
// engine's path, for stores opened on other databases; closeFn closes the
// engine and removes the directory.
func Engine(ctx context.Context) (engine *embedded.Store, dir string, closeFn func(), err error) {
	tmp, err := os.MkdirTemp("", "stockflow-test-")
	if err != nil {
		return nil, "", nil, fmt.Errorf("engine dir: %w", err)
	}
	dir = filepath.Join(tmp, "clickhouse")
	engine, err = embedded.Open(ctx, embedded.Options{Path: dir})
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, dir, func() {}, err
	}
	closeFn = func() {
		_ = engine.Close()
		_ = os.RemoveAll(tmp)
	}
	v, err := engine.Version(ctx)
	if err == nil {
		err = Report(fmt.Sprintf("clickhouse: embedded chDB %s (libchdb at %s)", v, engine.Library()))
	}
	if err != nil {
		closeFn()
		return nil, dir, func() {}, err
	}
	return engine, dir, closeFn, nil
}
