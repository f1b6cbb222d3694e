package chsink

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/store"
)

// Steps of a round after which the test hook runs.
const (
	stepIntent   = "intent"   // intents committed, nothing inserted yet
	stepInserted = "inserted" // every insert done, offsets not committed past
)

// partBatch is the records of one partition cut into one batch.
type partBatch struct {
	tp   tp
	recs []*kgo.Record // in offset order, transaction markers included
	// resumed: cut again at the end of an intent from the group's commits.
	resumed bool
	in      intent
	inserts []*partInsert // one per table
}

// partInsert is the insert of one partition batch into one table.
type partInsert struct {
	tp tp
	b  store.Batch
}

// cut takes the next batch of every partition in held. A partition whose
// group commit carried an intent gets exactly that batch: it waits (held,
// for the next poll) until the intent's end offset is in hand, and records
// beyond it stay held for the next batch. Any other partition's batch is
// every record in hand.
func (s *Sink) cut(held map[tp][]*kgo.Record) []*partBatch {
	keys := slices.SortedFunc(maps.Keys(held), lessTP)
	var out []*partBatch
	for _, p := range keys {
		recs := held[p]
		if len(recs) == 0 {
			delete(held, p)
			continue
		}
		in, pending := s.pendingIntent(p)
		if pending && recs[0].Offset > in.end {
			// The intent's records are no longer in the log (retention),
			// or the group's offset was moved past them: nothing to cut
			// again.
			s.log.Warn("the records of a pending batch are gone; cutting afresh",
				"topic", p.topic, "partition", p.partition, "intent_end", in.end, "first_offset", recs[0].Offset)
			s.dropIntent(p)
			pending = false
		}
		if pending && recs[len(recs)-1].Offset < in.end {
			continue // not all of the intent's batch is in hand yet
		}
		n := len(recs)
		b := &partBatch{tp: p}
		if pending {
			n = sort.Search(len(recs), func(i int) bool { return recs[i].Offset > in.end })
			b.resumed, b.in = true, in
			s.dropIntent(p)
		}
		b.recs = recs[:n:n]
		if n == len(recs) {
			delete(held, p)
		} else {
			held[p] = recs[n:]
		}
		out = append(out, b)
	}
	return out
}

// build turns a batch's data records into one insert per table and sets its
// intent. A resumed batch keeps the intent it was cut from, so its tokens
// are the ones its first inserts carried even if compaction or retention
// removed some of its records since.
func (s *Sink) build(b *partBatch, now time.Time) {
	first, last := int64(-1), int64(-1)
	tables := make(map[string]*partInsert)
	add := func(table string, columns []string, row []any) {
		t := tables[table]
		if t == nil {
			t = &partInsert{tp: b.tp, b: store.Batch{Table: table, Columns: columns}}
			tables[table] = t
		}
		t.b.Rows = append(t.b.Rows, row)
	}
	for _, r := range b.recs {
		if r.Attrs.IsControl() {
			continue
		}
		if first < 0 {
			first = r.Offset
		}
		last = r.Offset
		if err := toRows(r, now, add); err != nil {
			reason := string(event.ReasonOf(err))
			s.metrics.Skipped.WithLabelValues(reason).Inc()
			s.log.Error("record skipped: not a valid row", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		}
	}
	cut := intent{end: b.recs[len(b.recs)-1].Offset, first: first, last: last}
	if b.resumed {
		if cut.first != b.in.first || cut.last != b.in.last {
			s.log.Warn("a pending batch holds other records than when it was cut; its inserts keep their tokens",
				"topic", b.tp.topic, "partition", b.tp.partition, "intent", b.in.metadata(), "now", cut.metadata())
		}
		cut = b.in
	}
	b.in = cut
	token := cut.token(b.tp)
	for _, t := range tables {
		t.b.DedupToken = token
		b.inserts = append(b.inserts, t)
	}
}

// round writes a set of partition batches exactly once:
//
//  1. commit every batch's first offset again, with its intent as metadata
//     (a batch without rows needs none);
//  2. insert every (table, partition) batch with its token, raw tables
//     before stock_levels, retrying failures;
//  3. commit past every batch, with empty metadata.
//
// A batch whose intent the group refused is not inserted: its partition is
// rewound to the batch, which is cut again from the same intent if this
// member still owns it.
func (s *Sink) round(ctx context.Context, batches []*partBatch, held map[tp][]*kgo.Record) error {
	now := time.Now().UTC()
	intents := make(map[tp]kgo.EpochOffset)
	meta := make(map[tp]string)
	for _, b := range batches {
		s.build(b, now)
		if b.resumed {
			s.metrics.Resumed.Inc()
		}
		if len(b.inserts) > 0 {
			first := b.recs[0]
			intents[b.tp] = kgo.EpochOffset{Epoch: first.LeaderEpoch, Offset: first.Offset}
			meta[b.tp] = b.in.metadata()
		}
	}
	refused, err := s.commit(ctx, intents, meta)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("chsink: commit intents: %w", err)
		}
		refused = make(map[tp]error, len(intents))
		for p := range intents {
			refused[p] = err
		}
	}
	if len(refused) > 0 {
		rewind := make(map[string]map[int32]kgo.EpochOffset)
		kept := batches[:0]
		for _, b := range batches {
			err, ok := refused[b.tp]
			if !ok {
				kept = append(kept, b)
				continue
			}
			s.log.Warn("intent not committed; the batch is fetched and cut again", "topic", b.tp.topic, "partition", b.tp.partition, "err", err)
			// The commit may have been applied even so: cut the same
			// batch again whatever it did.
			s.setIntent(b.tp, b.in)
			delete(held, b.tp)
			if rewind[b.tp.topic] == nil {
				rewind[b.tp.topic] = make(map[int32]kgo.EpochOffset)
			}
			rewind[b.tp.topic][b.tp.partition] = intents[b.tp]
		}
		s.cl.SetOffsets(rewind)
		batches = kept
	}

	var inserts []*partInsert
	for _, b := range batches {
		inserts = append(inserts, b.inserts...)
	}
	sortInserts(inserts)
	if err := s.runHook(stepIntent, inserts); err != nil {
		return err
	}
	for _, ins := range inserts {
		if err := s.insert(ctx, &ins.b); err != nil {
			return err
		}
	}
	if err := s.runHook(stepInserted, inserts); err != nil {
		return err
	}

	// Past the batch: a shutdown that began during the inserts still
	// commits, so the next run has nothing to replay.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.InsertTimeout)
	defer cancel()
	done := make(map[tp]kgo.EpochOffset, len(batches))
	for _, b := range batches {
		last := b.recs[len(b.recs)-1]
		done[b.tp] = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: max(b.in.end, last.Offset) + 1}
	}
	refused, err = s.commit(cctx, done, nil)
	if err == nil && len(refused) > 0 {
		err = fmt.Errorf("%d partitions refused, e.g. %w", len(refused), firstErr(refused))
	}
	if err != nil {
		// The rows are in. The intents stay committed, so whoever consumes
		// these partitions next cuts the same batches and ClickHouse drops
		// them.
		s.log.Warn("commit past inserted batches", "err", err)
	}
	return nil
}

func firstErr(m map[tp]error) error {
	keys := slices.SortedFunc(maps.Keys(m), lessTP)
	return m[keys[0]]
}

func (s *Sink) runHook(step string, inserts []*partInsert) error {
	if s.hook == nil {
		return nil
	}
	bs := make([]*store.Batch, len(inserts))
	for i, ins := range inserts {
		bs[i] = &ins.b
	}
	return s.hook(step, bs)
}

// insert writes one batch, retrying failures with capped exponential
// backoff while ctx is alive. An attempt under way when ctx ends is allowed
// to finish, so a shutdown flushes what ClickHouse takes; no attempt starts
// after.
func (s *Sink) insert(ctx context.Context, b *store.Batch) error {
	backoff := s.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.InsertTimeout)
		err := s.store.Insert(actx, b)
		cancel()
		if err == nil {
			s.metrics.StoreUp.Set(1)
			s.rows.Add(uint64(len(b.Rows)))
			s.metrics.Rows.WithLabelValues(b.Table).Add(float64(len(b.Rows)))
			s.metrics.Inserts.WithLabelValues(b.Table).Inc()
			return nil
		}
		s.metrics.StoreUp.Set(0)
		if ctx.Err() != nil {
			return fmt.Errorf("chsink: insert %d rows into %s (token %s): %w", len(b.Rows), b.Table, b.DedupToken, err)
		}
		s.metrics.Retries.Inc()
		s.log.Warn("insert failed; retrying", "table", b.Table, "rows", len(b.Rows), "token", b.DedupToken,
			"attempt", attempt, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("chsink: insert %d rows into %s (token %s): %w", len(b.Rows), b.Table, b.DedupToken, err)
		case <-t.C:
		}
		backoff = min(backoff*2, s.cfg.MaxRetryBackoff)
	}
}
