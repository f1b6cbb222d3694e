package crashtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
)

// InputTopics are the upstream topics the oracle reads.
var InputTopics = []string{event.TopicSales, event.TopicStock, event.TopicOrders, event.TopicCampaigns}

// ReadToEnd reads topics as a read_committed consumer sees them, from the
// start of every partition to its last stable offset when the call began,
// and calls fn with every data record (each topic-partition in offset
// order). It is a plain consumer: no group, nothing committed.
func ReadToEnd(ctx context.Context, opts []kgo.Opt, topics []string, fn func(*kgo.Record) error) error {
	admCl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("read %v: client: %w", topics, err)
	}
	adm := kadm.NewClient(admCl)
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		admCl.Close()
		return fmt.Errorf("read %v: stable offsets: %w", topics, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	admCl.Close()
	if err != nil {
		return fmt.Errorf("read %v: start offsets: %w", topics, err)
	}
	from := make(map[string]map[int32]kgo.Offset)
	left := make(map[string]map[int32]int64)
	n := 0
	ends.Each(func(e kadm.ListedOffset) {
		var start int64
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok {
			start = s.Offset
		}
		if e.Offset <= start {
			return
		}
		if from[e.Topic] == nil {
			from[e.Topic] = make(map[int32]kgo.Offset)
			left[e.Topic] = make(map[int32]int64)
		}
		from[e.Topic][e.Partition] = kgo.NewOffset().At(start)
		left[e.Topic][e.Partition] = e.Offset
		n++
	})
	if n == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // the position is known exactly even where a partition ends with a marker
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(16<<20),
	)...)
	if err != nil {
		return fmt.Errorf("read %v: consumer: %w", topics, err)
	}
	defer cl.Close()
	for n > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %v: %d partitions not read to the end: %w", topics, n, err)
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("%s/%d: %w", t, p, err))
		})
		if len(errs) > 0 {
			return fmt.Errorf("read %v: %w", topics, errors.Join(errs...))
		}
		var cbErr error
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Topic][r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() && cbErr == nil {
				cbErr = fn(r)
			}
			if r.Offset+1 >= end {
				delete(left[r.Topic], r.Partition)
				n--
			}
		})
		if cbErr != nil {
			return cbErr
		}
	}
	return nil
}

// ReadOracle reads the input topics into a new oracle (see NewOracle).
func ReadOracle(ctx context.Context, opts []kgo.Opt, warehouses []event.WarehouseID, dedupWindow time.Duration) (*Oracle, error) {
	o := NewOracle(warehouses, time.Now(), dedupWindow)
	err := ReadToEnd(ctx, opts, InputTopics, func(r *kgo.Record) error {
		o.Add(r.Topic, r.Partition, r.Offset, r.Value)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	return o, nil
}
