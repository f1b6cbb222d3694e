package stock

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stockflow/stockflow/internal/testenv"
)

func TestDeadLettersKfake(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "8388608"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := testenv.Report("kafka: kfake in-process broker (github.com/twmb/franz-go/pkg/kfake) (pipelines/stock)"); err != nil {
		t.Fatal(err)
	}
	runDeadLetterSuite(t, c.ListenAddrs(), false)
}
