package kafka

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// RestoreError is a failed read of a changelog partition. It is transient
// (a broker restarting, a leader election): the caller keeps the partition
// pending and restores it again.
type RestoreError struct {
	Topic     string
	Partition int32
	Err       error
}

func (e *RestoreError) Error() string {
	return fmt.Sprintf("restore %s partition %d: %v", e.Topic, e.Partition, e.Err)
}

func (e *RestoreError) Unwrap() error { return e.Err }

// ReadCommitted reads one partition of a changelog topic from its start up
// to its last stable offset, as it was when the call began, and passes every
// committed data record to fn in offset order: the restore of a stateful
// processor's partition (Kafka Streams' restore to the end of the
// changelog). Control records are read but not passed on, so the position
// is known exactly even when the log ends with a transaction marker. It
// returns the number of records passed to fn; its errors are
// *RestoreError.
func ReadCommitted(ctx context.Context, cfg Config, topic string, part int32, fn func(*kgo.Record)) (int, error) {
	n, err := readCommitted(ctx, cfg, topic, part, fn)
	if err != nil {
		return n, &RestoreError{Topic: topic, Partition: part, Err: err}
	}
	return n, nil
}

func readCommitted(ctx context.Context, cfg Config, topic string, part int32, fn func(*kgo.Record)) (int, error) {
	opts, err := cfg.Opts()
	if err != nil {
		return 0, err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			topic: {part: kgo.NewOffset().AtStart()},
		}),
	)...)
	if err != nil {
		return 0, fmt.Errorf("restore client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	lso, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("list %s offsets: %w", topic, err)
	}
	end, ok := lso.Lookup(topic, part)
	if !ok {
		return 0, fmt.Errorf("%s partition %d: no stable offset listed", topic, part)
	}
	if end.Err != nil {
		return 0, fmt.Errorf("%s partition %d: list stable offset: %w", topic, part, end.Err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("list %s start offsets: %w", topic, err)
	}
	next := int64(-1)
	if s, ok := starts.Lookup(topic, part); ok && s.Err == nil && s.Offset >= end.Offset {
		next = end.Offset // nothing left to read (empty, or all deleted)
	}
	n := 0
	for next < end.Offset-1 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return n, fmt.Errorf("fetch %s: %w", topic, ferr)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			next = r.Offset
			if r.Attrs.IsControl() {
				return
			}
			n++
			fn(r)
		})
	}
	return n, nil
}

// Pending is the set of assigned partitions whose state a stateful
// processor has not restored yet: marked on assignment and after an
// aborted transaction, cleared once restored or revoked. Mark, Done and
// Has need the caller's lock on its partition state; Count and Ready may
// be called without it (readiness checks).
type Pending struct {
	parts map[int32]bool
	n     atomic.Int64
}

// Mark adds part (no-op if already pending).
func (p *Pending) Mark(part int32) {
	if p.parts == nil {
		p.parts = make(map[int32]bool)
	}
	if !p.parts[part] {
		p.parts[part] = true
		p.n.Add(1)
	}
}

// Done removes part (restored, or no longer assigned).
func (p *Pending) Done(part int32) {
	if p.parts[part] {
		delete(p.parts, part)
		p.n.Add(-1)
	}
}

// Has reports whether part is pending.
func (p *Pending) Has(part int32) bool { return p.parts[part] }

// Parts returns the pending partitions.
func (p *Pending) Parts() []int32 { return slices.Collect(maps.Keys(p.parts)) }

// Count is how many partitions are pending.
func (p *Pending) Count() int { return int(p.n.Load()) }

// Ready reports whether none is pending, and how many are.
func (p *Pending) Ready() (bool, int) {
	n := p.Count()
	return n == 0, n
}
