package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

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

// SettleTimeout bounds how long ReadCommitted waits for a transaction left
// open on the partition it restores. A hand-over's open transaction ends
// within moments: the previous owner aborts it when it sees the
// revocation, or its commit marker is being written. What stays open
// longer is a transaction that hangs (a broker stopped between the end of
// a transaction and its markers, KAFKA-12671) or one of a killed producer
// that the coordinator aborts only after the transaction timeout; the
// restore then goes on from the last stable offset, as it did before it
// waited, and logs it.
const SettleTimeout = 15 * time.Second

// ReadCommitted reads one partition of a changelog topic from its start up
// to its end and passes every committed data record to fn in offset order:
// the restore of a stateful processor's partition (Kafka Streams' restore
// to the end of the changelog). Control records are read but not passed
// on, so the position is known exactly even when the log ends with a
// transaction marker. It returns the number of records passed to fn; its
// errors are *RestoreError.
//
// Before reading, it waits until no transaction is open on the partition
// (its last stable offset reaches its high watermark), at most
// SettleTimeout; then it reads up to the last stable offset and logs an
// *OpenTransactionError to log. Only the partition's owner writes a changelog partition,
// so an open transaction there belongs to the previous owner: a rebalance
// can hand the partition over after that owner's EndTxn succeeded but
// before the coordinator wrote the commit marker. Reading only up to the
// last stable offset would then restore state without that transaction's
// changes, while the input offsets it committed (fetched with
// RequireStable, which waits for the marker) skip its records: they would
// be lost, and their event ids missing from the dedup set. The caller must
// not have produced to the partition in its own open transaction, and
// should have initialised its producer id first, so that a transaction
// left by its own previous incarnation (same transactional id) is aborted
// rather than waited out.
func ReadCommitted(ctx context.Context, cfg Config, topic string, part int32, log *slog.Logger, fn func(*kgo.Record)) (int, error) {
	n, err := readCommitted(ctx, cfg, topic, part, log, fn)
	if err != nil {
		return n, &RestoreError{Topic: topic, Partition: part, Err: err}
	}
	return n, nil
}

func readCommitted(ctx context.Context, cfg Config, topic string, part int32, log *slog.Logger, fn func(*kgo.Record)) (int, error) {
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
	end, err := settle(ctx, adm, topic, part)
	var open *OpenTransactionError
	if errors.As(err, &open) {
		if log != nil {
			log.Warn("changelog partition still has an open transaction; restoring up to its last stable offset", "err", err)
		}
	} else if err != nil {
		return 0, err
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
			// A fetch may reach past end (transactions committed since
			// it was listed); the restore stops at end exactly.
			if r.Attrs.IsControl() || r.Offset >= end.Offset {
				return
			}
			n++
			fn(r)
		})
	}
	return n, nil
}

// OpenTransactionError is a changelog partition whose last stable offset
// stayed below its high watermark for SettleTimeout. ReadCommitted logs it
// and goes on.
type OpenTransactionError struct {
	Topic                   string
	Partition               int32
	StableOffset, Watermark int64
	Waited                  time.Duration
}

func (e *OpenTransactionError) Error() string {
	return fmt.Sprintf("%s partition %d: a transaction is still open after %s (last stable offset %d, high watermark %d)",
		e.Topic, e.Partition, e.Waited.Round(time.Second), e.StableOffset, e.Watermark)
}

// settle waits until part has no open transaction and returns its end.
func settle(ctx context.Context, adm *kadm.Client, topic string, part int32) (kadm.ListedOffset, error) {
	start := time.Now()
	backoff := 10 * time.Millisecond
	for {
		stable, err := listed(ctx, adm.ListCommittedOffsets, topic, part)
		if err != nil {
			return stable, err
		}
		hwm, err := listed(ctx, adm.ListEndOffsets, topic, part)
		if err != nil {
			return stable, err
		}
		if stable.Offset >= hwm.Offset {
			return stable, nil
		}
		waited := time.Since(start)
		if waited >= SettleTimeout {
			return stable, &OpenTransactionError{Topic: topic, Partition: part,
				StableOffset: stable.Offset, Watermark: hwm.Offset, Waited: waited}
		}
		select {
		case <-ctx.Done():
			return stable, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// listed is part's offset from one of kadm's List*Offsets.
func listed(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topic string, part int32) (kadm.ListedOffset, error) {
	offs, err := list(ctx, topic)
	if err != nil {
		return kadm.ListedOffset{}, fmt.Errorf("list %s offsets: %w", topic, err)
	}
	o, ok := offs.Lookup(topic, part)
	if !ok {
		return o, fmt.Errorf("%s partition %d: no offset listed", topic, part)
	}
	if o.Err != nil {
		return o, fmt.Errorf("%s partition %d: list offset: %w", topic, part, o.Err)
	}
	return o, nil
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
