// Package kfaketest holds fault injections for tests on the in-process
// broker (github.com/twmb/franz-go/pkg/kfake). It is imported by tests
// only.
package kfaketest

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FailProduces makes c answer some produce requests that write to topic
// with INVALID_RECORD for every partition in them, which aborts the
// transaction they belong to: the n-th such request (counting from 1)
// fails when fail(n) is true. It returns how many requests failed so far.
// cl looks up the topic's id (produce v13+ names topics by id).
func FailProduces(ctx context.Context, t *testing.T, c *kfake.Cluster, cl *kgo.Client, topic string, fail func(n int64) bool) *atomic.Int64 {
	t.Helper()
	md, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		t.Fatalf("fault injection: topic %s: %v", topic, err)
	}
	id := md[topic].ID
	var seen, failed atomic.Int64
	c.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr, ok := req.(*kmsg.ProduceRequest)
		if !ok {
			return nil, nil, false
		}
		has := false
		for _, tp := range pr.Topics {
			has = has || tp.Topic == topic || tp.TopicID == id
		}
		if !has || !fail(seen.Add(1)) {
			return nil, nil, false
		}
		resp, ok := pr.ResponseKind().(*kmsg.ProduceResponse)
		if !ok {
			return nil, nil, false
		}
		failed.Add(1)
		for _, tp := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.InvalidRecord.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	return &failed
}
