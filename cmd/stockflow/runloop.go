package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
)

// replenishFromDay is the simulated day from which stockflow's
// replenishment places the orders (the day it "goes live"); the simulated
// suppliers' own policy runs the days before, so the pipeline has
// sales to estimate demand from when it takes over.
const replenishFromDay = 28

// closedLoop closes the simulation's loop at every simulated day end:
// once the day's records are produced, it waits until the stock and
// replenishment pipelines have processed them, reads the reorders they
// committed and hands them to the simulated suppliers (sim.Order), whose
// receipts then come back as stock events.
type closedLoop struct {
	sim   *sim.Sim
	flush func(context.Context) error
	adm   *kadm.Client
	cl    *kgo.Client // reads stockflow.reorders.v1, read_committed
	log   *slog.Logger
	// pending are reorders read but not yet due (TS at or after the end
	// of the day being closed: a restart replaying its history).
	pending []event.Reorder
	pos     map[int32]int64 // next offset to read per partition
	fromDay int
	ordered int
	timeout time.Duration
}

func newClosedLoop(kc kafka.Config, s *sim.Sim, fromDay int, log *slog.Logger) (*closedLoop, error) {
	opts, err := kc.Opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumeTopics(kafka.TopicReorders),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // the markers that end the log move the position too
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("closed loop: reorder consumer: %w", err)
	}
	return &closedLoop{sim: s, adm: kadm.NewClient(cl), cl: cl, log: log, fromDay: fromDay, pos: map[int32]int64{}, timeout: 5 * time.Minute}, nil
}

func (c *closedLoop) Close() { c.cl.Close() }

// dayEnd is the sim.DayEnd callback.
func (c *closedLoop) dayEnd(ctx context.Context, day int, end time.Time) error {
	if day+1 < c.fromDay {
		return nil // the era before stockflow: nothing to hand over
	}
	if c.flush != nil {
		if err := c.flush(ctx); err != nil {
			return fmt.Errorf("closed loop: flush day %d: %w", day, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.waitProcessed(wctx, "stockflow-stock", kafka.StockInputTopics); err != nil {
		return err
	}
	if err := c.waitProcessed(wctx, "stockflow-replenish", []string{kafka.TopicAccepted}); err != nil {
		return err
	}
	if err := c.read(wctx); err != nil {
		return err
	}
	slices.SortStableFunc(c.pending, func(a, b event.Reorder) int { return a.TS.Compare(b.TS) })
	n := 0
	for _, r := range c.pending {
		if !r.TS.Before(end) {
			break
		}
		n++
		if r.Status != event.ReorderOrdered {
			continue
		}
		if err := c.sim.Order(r); err != nil {
			return fmt.Errorf("closed loop: hand %s to the simulated supplier: %w", r.ReorderID, err)
		}
		c.ordered++
	}
	c.pending = slices.Delete(c.pending, 0, n)
	return nil
}

// waitProcessed waits until group has committed past the current end of
// topics.
func (c *closedLoop) waitProcessed(ctx context.Context, group string, topics []string) error {
	ends, err := c.adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("closed loop: end offsets: %w", err)
	}
	for {
		lag, err := kafka.GroupLagTo(ctx, c.adm, group, ends)
		if err == nil && lag == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("closed loop: waiting for %s (lag %d): %w", group, lag, context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// read consumes the reorders committed so far into pending.
func (c *closedLoop) read(ctx context.Context) error {
	ends, err := c.adm.ListEndOffsets(ctx, kafka.TopicReorders)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("closed loop: reorder end offsets: %w", err)
	}
	for {
		caughtUp := true
		ends.Each(func(o kadm.ListedOffset) {
			if c.pos[o.Partition] < o.Offset {
				caughtUp = false
			}
		})
		if caughtUp {
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := c.cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("closed loop: read reorders: %w", err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("closed loop: read reorders: %w", ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			c.pos[r.Partition] = r.Offset + 1
			if r.Attrs.IsControl() {
				return
			}
			var o event.Reorder
			if err := json.Unmarshal(r.Value, &o); err != nil {
				c.log.Warn("skip undecodable reorder", "partition", r.Partition, "offset", r.Offset, "err", err)
				return
			}
			c.pending = append(c.pending, o)
		})
	}
}
