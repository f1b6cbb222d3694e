//go:build integration

package chsink_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/stockflow/stockflow/internal/kafka"
)

// TestIntegrationSinkRealKafka runs the sink contract against a real Apache
// Kafka broker: make test starts one and sets STOCKFLOW_KAFKA_BROKERS.
// Other packages' tests use the same broker and topics at the same time,
// so the contract selects only the records of its own run, and the group
// is unique to the run.
func TestIntegrationSinkRealKafka(t *testing.T) {
	addr := os.Getenv("STOCKFLOW_KAFKA_BROKERS")
	if addr == "" {
		t.Fatal("STOCKFLOW_KAFKA_BROKERS is not set: this test needs a real Apache Kafka broker (make test starts one with deploy/scripts/kafka-start.sh)")
	}
	b := broker{kc: kafka.Config{Brokers: strings.Split(addr, ","), ClientID: "chsink-integration"}, shared: true}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	vers, err := kadm.NewClient(b.client(t)).ApiVersions(ctx)
	if err != nil {
		t.Fatalf("Apache Kafka broker at %s (STOCKFLOW_KAFKA_BROKERS): %v", addr, err)
	}
	var guesses []string
	vers.Each(func(v kadm.BrokerApiVersions) {
		if v.Err != nil {
			t.Fatalf("Apache Kafka broker %d at %s: ApiVersions: %v", v.NodeID, addr, v.Err)
		}
		guesses = append(guesses, v.VersionGuess())
	})
	guess := strings.Join(guesses, ", ")
	t.Logf("Apache Kafka at %s, version guess %s", addr, guess)
	if err := report(fmt.Sprintf("kafka: %s at %s (consumers/chsink)", guess, addr)); err != nil {
		t.Fatalf("test report: %v", err)
	}
	runContract(t, b)
}
