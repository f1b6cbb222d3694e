//go:build integration

package stock

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIntegrationDeadLettersRealKafka runs the dead-letter suite against a
// real Apache Kafka broker (make test starts one and sets the variable).
func TestIntegrationDeadLettersRealKafka(t *testing.T) {
	brokers := realBrokers(t)
	runDeadLetterSuite(t, brokers, true)
}

// realBrokers returns STOCKFLOW_KAFKA_BROKERS, failing the test when it is
// unset, and reports the broker to STOCKFLOW_TEST_REPORT.
func realBrokers(t *testing.T) []string {
	t.Helper()
	v := os.Getenv("STOCKFLOW_KAFKA_BROKERS")
	if v == "" {
		t.Fatal("STOCKFLOW_KAFKA_BROKERS is not set: this test needs a real Apache Kafka broker (make test starts one with deploy/scripts/kafka-start.sh)")
	}
	brokers := strings.Split(v, ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	vers, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		t.Fatalf("Kafka broker at %s: %v", v, err)
	}
	guess := "unknown"
	vers.Each(func(b kadm.BrokerApiVersions) {
		if b.Err == nil {
			guess = b.VersionGuess()
		}
	})
	t.Logf("Kafka broker at %s: %s", v, guess)
	report(fmt.Sprintf("kafka: Apache Kafka broker at %s, protocol version guess %s (pipelines/stock)", v, guess))
	return brokers
}
