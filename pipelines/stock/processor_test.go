package stock

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stockflow/stockflow/internal/testenv"
)

func TestDeadLettersKfake(t *testing.T) {
	c := newKfake(t)
	runDeadLetterSuite(t, c.ListenAddrs(), false)
}

// newKfake starts a one-broker in-process cluster that takes records up to
// 8 MiB (the pipeline's batch limit), closed when t ends, and reports it.
func newKfake(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "8388608"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := testenv.Report("kafka: kfake in-process broker (github.com/twmb/franz-go/pkg/kfake) (pipelines/stock)"); err != nil {
		t.Fatal(err)
	}
	return c
}
