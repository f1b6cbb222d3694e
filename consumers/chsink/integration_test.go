//go:build integration

package chsink_test

import (
	"testing"

	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/testenv"
)

// TestIntegrationSinkRealKafka runs the sink contract against a real Apache
// Kafka broker: make test starts one and sets STOCKFLOW_KAFKA_BROKERS.
// Other packages' tests use the same broker and topics at the same time,
// so the contract selects only the records of its own run, and the group
// is unique to the run.
func TestIntegrationSinkRealKafka(t *testing.T) {
	brokers := testenv.KafkaBrokers(t, "consumers/chsink")
	b := broker{kc: kafka.Config{Brokers: brokers, ClientID: "chsink-integration"}, shared: true}
	runContract(t, b)
}

// TestIntegrationResumeRealKafka runs the crash-and-resume cases against a
// real broker: offset-commit metadata, static membership and topic ids
// (OffsetCommit and OffsetFetch v10) as Apache Kafka implements them.
func TestIntegrationResumeRealKafka(t *testing.T) {
	brokers := testenv.KafkaBrokers(t, "consumers/chsink")
	b := broker{kc: kafka.Config{Brokers: brokers, ClientID: "chsink-integration"}, shared: true}
	for i, tc := range resumeCases {
		t.Run(tc.name, func(t *testing.T) { runResume(t, b, tc, uint64(i)) })
	}
}

// TestIntegrationStoreUnavailableRealKafka runs the ClickHouse-down case
// against a real broker.
func TestIntegrationStoreUnavailableRealKafka(t *testing.T) {
	brokers := testenv.KafkaBrokers(t, "consumers/chsink")
	runStoreUnavailable(t, broker{kc: kafka.Config{Brokers: brokers, ClientID: "chsink-integration"}, shared: true})
}
