package forecast_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/event/eventtest"
	"github.com/stockflow/stockflow/pipelines/forecast"
)

// TestPublish publishes a run twice to the in-process broker (kfake) and
// reads the topic back: one record per series, keyed by SKU, with the run
// id header, valid against forecasts.v1.json, and the second run's bytes
// equal to the first's.
func TestPublish(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, event.TopicForecasts))
	if err != nil {
		t.Fatalf("start the in-process Kafka broker (kfake): %v", err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	res := train(t, forecast.Config{}, forecast.Input{Series: shapes(t)})
	for range 2 {
		if err := forecast.Publish(t.Context(), cl, event.TopicForecasts, res); err != nil {
			t.Fatal(err)
		}
	}

	want := 2 * len(res.Forecasts)
	cons, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(event.TopicForecasts),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < want {
		fetches := cons.PollFetches(ctx)
		if err := fetches.Err0(); err != nil {
			t.Fatalf("read %d of %d records: %v", len(recs), want, err)
		}
		recs = append(recs, fetches.Records()...)
	}
	if len(recs) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}

	sch := eventtest.Schema(t, "forecasts.v1.json")
	byKey := map[string][][]byte{}
	for _, r := range recs {
		if err := eventtest.Validate(sch, r.Value); err != nil {
			t.Errorf("record %s does not validate: %v\n%s", r.Key, err, r.Value)
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != event.HeaderRunID || string(r.Headers[0].Value) != res.RunID {
			t.Errorf("record %s headers %v, want %s: %s", r.Key, r.Headers, event.HeaderRunID, res.RunID)
		}
		if !strings.Contains(string(r.Value), `"sku":"`+string(r.Key)+`"`) {
			t.Errorf("record keyed %s holds another sku: %s", r.Key, r.Value)
		}
		byKey[string(r.Key)] = append(byKey[string(r.Key)], r.Value)
	}
	for i := range res.Forecasts {
		sku := string(res.Forecasts[i].Key.SKU)
		vs := byKey[sku]
		if len(vs) != 2 || !bytes.Equal(vs[0], vs[1]) {
			t.Errorf("%s: %d records, want 2 identical ones (the same run published twice)", sku, len(vs))
		}
	}
	if keys := len(byKey); keys != len(res.Forecasts) || slices.ContainsFunc(recs, func(r *kgo.Record) bool { return r.Topic != event.TopicForecasts }) {
		t.Errorf("%d keys, want %d, all on %s", keys, len(res.Forecasts), event.TopicForecasts)
	}
}
