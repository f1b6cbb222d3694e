package kafka

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
)

// Producer is what a Txn produces through: a kgo.Client or a
// kgo.GroupTransactSession.
type Producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// Txn collects the produce results of one transaction of a
// consume-transform-produce loop: records are produced asynchronously, and
// before the transaction ends Wait says whether every one of them was
// written (a failed one must abort it). Fail records an error found while
// building the transaction's records. The zero value is ready to use; a
// Txn is safe for concurrent use.
type Txn struct {
	firstErr atomic.Pointer[error]
	wg       sync.WaitGroup
}

// Produce produces r through p and tracks its result.
func (t *Txn) Produce(ctx context.Context, p Producer, r *kgo.Record) {
	t.wg.Add(1)
	p.Produce(ctx, r, func(_ *kgo.Record, err error) {
		defer t.wg.Done()
		if err != nil {
			t.Fail(err)
		}
	})
}

// Fail records err (the first one is kept).
func (t *Txn) Fail(err error) { t.firstErr.CompareAndSwap(nil, &err) }

// Wait waits for every produced record and returns the first error.
func (t *Txn) Wait() error {
	t.wg.Wait()
	if e := t.firstErr.Load(); e != nil {
		return *e
	}
	return nil
}

// DeadLetter is the stockflow.dlq.v1 record of r, which a pipeline could
// not use: the original key and value, in r's partition, with headers
// naming the source coordinates, the event type, the reason code of err
// (event.ReasonOf) and its message (the contract in
// internal/event/schema/dlq.v1.md).
func DeadLetter(r *kgo.Record, eventType string, err error) *kgo.Record {
	return &kgo.Record{
		Topic: TopicDLQ, Partition: r.Partition, Key: r.Key, Value: r.Value,
		Headers: []kgo.RecordHeader{
			{Key: event.HeaderSourceTopic, Value: []byte(r.Topic)},
			{Key: event.HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			{Key: event.HeaderSourceOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
			{Key: event.HeaderEventType, Value: []byte(eventType)},
			{Key: event.HeaderReason, Value: []byte(event.ReasonOf(err))},
			{Key: event.HeaderMessage, Value: []byte(err.Error())},
		},
	}
}

// InitTransactions loads cl's producer id, as Kafka's initTransactions
// does: the coordinator aborts (or completes) any transaction left open by
// an earlier producer with the same transactional id, and fences it. A
// stateful processor calls it before restoring its first partition, so
// that a transaction its own killed incarnation left open is aborted at
// once instead of blocking the restore (ReadCommitted waits for open
// transactions) until it times out.
func InitTransactions(ctx context.Context, cl *kgo.Client) error {
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return fmt.Errorf("init producer id: %w", err)
	}
	return nil
}
