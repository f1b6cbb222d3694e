//go:build integration

package stock

import (
	"testing"

	"github.com/stockflow/stockflow/internal/testenv"
)

// TestIntegrationDeadLettersRealKafka runs the dead-letter suite against a
// real Apache Kafka broker (make test starts one and sets the variable).
func TestIntegrationDeadLettersRealKafka(t *testing.T) {
	runDeadLetterSuite(t, testenv.KafkaBrokers(t, "pipelines/stock"), true)
}
