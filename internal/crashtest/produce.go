package crashtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/sim"
)

// Produce sends the simulator's history to its topics, as an upstream
// producer would (keyed records, record timestamps at produce time, in
// the simulator's event-time order), and returns the simulator's own count
// of what it sent, bad records by expected reason included.
func Produce(ctx context.Context, opts []kgo.Opt, s *sim.Sim) (sim.Stats, error) {
	cl, err := kgo.NewClient(append(opts,
		kgo.ProducerLinger(5*time.Millisecond),
		// Under the broker's default message.max.bytes (1 MiB): a real
		// Kafka broker refuses larger batches.
		kgo.ProducerBatchMaxBytes(1_000_000),
		kgo.MaxBufferedRecords(100_000),
	)...)
	if err != nil {
		return sim.Stats{}, fmt.Errorf("produce: client: %w", err)
	}
	defer cl.Close()
	var firstErr atomic.Pointer[error]
	stats, err := s.History(ctx, func(r sim.Record) error {
		if e := firstErr.Load(); e != nil {
			return *e
		}
		cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
			}
		})
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("produce history: %w", err)
	}
	if err := cl.Flush(ctx); err != nil {
		return stats, fmt.Errorf("produce: flush: %w", err)
	}
	if e := firstErr.Load(); e != nil {
		return stats, fmt.Errorf("produce: %w", *e)
	}
	return stats, nil
}
