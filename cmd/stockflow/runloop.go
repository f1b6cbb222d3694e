package main

import (
	"cmp"
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
	"github.com/stockflow/stockflow/pipelines/routing"
)

// replenishFromDay is the simulated day from which stockflow's
// replenishment places the orders (the day it "goes live"); the simulated
// suppliers' own policy runs the days before, so the pipeline has
// sales to estimate demand from when it takes over.
const replenishFromDay = 28

// closedLoop closes the simulation's loops at every simulated day end:
// once the day's records are produced, it waits until the pipelines have
// processed them and hands what they decided back to the simulator: every
// day, the final routing decisions to the simulated warehouses
// (sim.Ship), which ship the web orders as routed; from fromDay on, the
// reorders to the simulated suppliers (sim.Order), whose receipts then
// come back as stock events.
type closedLoop struct {
	sim   *sim.Sim
	flush func(context.Context) error
	adm   *kadm.Client
	cl    *kgo.Client // reads stockflow.reorders.v1 and stockflow.routing.v1, read_committed
	log   *slog.Logger
	// pending are reorders and final routing decisions read but not yet
	// due (TS at or after the end of the day being closed: a restart
	// replaying its history).
	pending   []event.Reorder
	decisions []event.RoutingDecision
	pos       map[string]map[int32]int64 // next offset to read per topic and partition
	fromDay   int
	ordered   int
	shipped   int
	unknown   int // final decisions of orders this simulator never emitted
	// journal records each day end's hand-over (nil: none kept); while
	// replaying, the history days are handed what it says.
	journal   *loopJournal
	replaying bool
	skipped   int // decisions and reorders an earlier run handed live
	missing   int // journaled ids the topics no longer hold
	// emitted counts the records the simulator emitted, settled the count
	// at the last settled day end (-1: none yet): a day that emitted
	// nothing (the silent replay of a restart) has nothing to wait for.
	emitted, settled int64
	timeout          time.Duration
}

// loopTopics are what the closed loop reads back.
var loopTopics = []string{kafka.TopicReorders, kafka.TopicRouting}

func newClosedLoop(kc kafka.Config, s *sim.Sim, fromDay int, log *slog.Logger) (*closedLoop, error) {
	opts, err := kc.Opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumeTopics(loopTopics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // the markers that end the log move the position too
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("closed loop: consumer: %w", err)
	}
	return &closedLoop{sim: s, adm: kadm.NewClient(cl), cl: cl, log: log, fromDay: fromDay,
		pos: map[string]map[int32]int64{}, timeout: 5 * time.Minute, settled: -1}, nil
}

func (c *closedLoop) Close() { c.cl.Close() }

// dayEnd is the sim.DayEnd callback.
func (c *closedLoop) dayEnd(ctx context.Context, day int, end time.Time) error {
	if c.flush != nil {
		if err := c.flush(ctx); err != nil {
			return fmt.Errorf("closed loop: flush day %d: %w", day, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	replenish := day+1 >= c.fromDay
	if c.settled != c.emitted {
		if err := c.settle(wctx); err != nil {
			return err
		}
		if replenish {
			if err := c.waitProcessed(wctx, "stockflow-replenish", []string{kafka.TopicAccepted}); err != nil {
				return err
			}
		}
		if err := c.read(wctx); err != nil {
			return err
		}
		c.settled = c.emitted
	}
	if c.replaying {
		if h, ok := c.journal.replay(day); ok {
			return c.handOver(h)
		}
	}
	// In time order, ties by id. What an earlier run handed at a live day
	// end is not handed again.
	h := handover{Day: day}
	slices.SortStableFunc(c.decisions, func(a, b event.RoutingDecision) int {
		return cmp.Or(a.TS.Compare(b.TS), cmp.Compare(a.DecisionID, b.DecisionID))
	})
	var ship []event.RoutingDecision
	c.decisions, ship, h.Decisions = dueBefore(c.decisions, end, func(d event.RoutingDecision) (time.Time, string, bool) {
		return d.TS, d.DecisionID, true
	}, c.journal.handedEarlier, &c.skipped)
	var order []event.Reorder
	if replenish { // before, the era of the simulator's own replenishment
		slices.SortStableFunc(c.pending, func(a, b event.Reorder) int { return a.TS.Compare(b.TS) })
		c.pending, order, h.Reorders = dueBefore(c.pending, end, func(r event.Reorder) (time.Time, string, bool) {
			return r.TS, r.ReorderID, r.Status == event.ReorderOrdered
		}, c.journal.handedEarlier, &c.skipped)
	}
	// Journaled before it is handed: a replay repeats it exactly.
	if err := c.journal.record(h); err != nil {
		return err
	}
	for _, d := range ship {
		if err := c.ship(d); err != nil {
			return err
		}
	}
	for _, r := range order {
		if err := c.order(r); err != nil {
			return err
		}
	}
	return nil
}

// handOver hands the simulator replaying the history what the journal
// says an earlier run handed it at this day end, in the same order.
func (c *closedLoop) handOver(h handover) error {
	var err error
	c.decisions, err = handByID(c.decisions, h.Decisions, func(d event.RoutingDecision) (string, bool) { return d.DecisionID, true },
		c.ship, &c.missing)
	if err != nil {
		return err
	}
	c.pending, err = handByID(c.pending, h.Reorders, func(r event.Reorder) (string, bool) { return r.ReorderID, r.Status == event.ReorderOrdered },
		c.order, &c.missing)
	return err
}

// dueBefore takes the items timed before end off the front of pool (sorted
// by time) and returns the rest, and those of them to hand with their ids:
// not those that cannot be handed (key's third result), nor, counted in
// skipped, those an earlier run handed.
func dueBefore[T any](pool []T, end time.Time, key func(T) (time.Time, string, bool), earlier func(string) bool, skipped *int) (rest, due []T, ids []string) {
	n := 0
	for _, it := range pool {
		ts, id, ok := key(it)
		if !ts.Before(end) {
			break
		}
		n++
		switch {
		case !ok:
		case earlier(id):
			*skipped++
		default:
			due = append(due, it)
			ids = append(ids, id)
		}
	}
	return slices.Delete(pool, 0, n), due, ids
}

// handByID hands the items of pool named by ids (id gives an item's id,
// and whether it can be handed at all) in the order of ids, and returns
// the pool without them. Ids it does not find are counted in missing.
func handByID[T any](pool []T, ids []string, id func(T) (string, bool), hand func(T) error, missing *int) ([]T, error) {
	at := make(map[string]int, len(pool))
	for i, it := range pool {
		if k, ok := id(it); ok {
			at[k] = i
		}
	}
	taken := make([]bool, len(pool))
	for _, k := range ids {
		i, ok := at[k]
		if !ok || taken[i] {
			*missing++
			continue
		}
		taken[i] = true
		if err := hand(pool[i]); err != nil {
			return pool, err
		}
	}
	i := 0
	return slices.DeleteFunc(pool, func(T) bool { i++; return taken[i-1] }), nil
}

// ship hands a final routing decision to the simulated warehouses.
func (c *closedLoop) ship(d event.RoutingDecision) error {
	var unknown *sim.UnknownOrderError
	switch err := c.sim.Ship(d); {
	case errors.As(err, &unknown):
		// An order an earlier process emitted live: this simulator
		// cannot replay it (the earlier process shipped it).
		c.unknown++
		return nil
	case err != nil:
		return fmt.Errorf("closed loop: hand %s to the simulated warehouses: %w", d.DecisionID, err)
	}
	c.shipped++
	return nil
}

// order hands a reorder to the simulated supplier.
func (c *closedLoop) order(r event.Reorder) error {
	if err := c.sim.Order(r); err != nil {
		return fmt.Errorf("closed loop: hand %s to the simulated supplier: %w", r.ReorderID, err)
	}
	c.ordered++
	return nil
}

// settleTopics are where the stock and routing pipelines talk to each
// other: the day is settled when no record was added to them while both
// groups caught up with them.
var settleTopics = []string{kafka.TopicAccepted, kafka.TopicReservations, kafka.TopicReservationResults, kafka.TopicRouting}

// settle waits until the stock and routing pipelines have processed
// everything, the reservation round trips included: every order of the
// day has its final decision then.
func (c *closedLoop) settle(ctx context.Context) error {
	for {
		before, err := c.adm.ListEndOffsets(ctx, settleTopics...)
		if err == nil {
			err = before.Error()
		}
		if err != nil {
			return fmt.Errorf("closed loop: end offsets: %w", err)
		}
		if err := c.waitProcessed(ctx, "stockflow-stock", kafka.StockInputTopics); err != nil {
			return err
		}
		if err := c.waitProcessed(ctx, "stockflow-routing", routing.InputTopics); err != nil {
			return err
		}
		after, err := c.adm.ListEndOffsets(ctx, settleTopics...)
		if err == nil {
			err = after.Error()
		}
		if err != nil {
			return fmt.Errorf("closed loop: end offsets: %w", err)
		}
		same := true
		after.Each(func(o kadm.ListedOffset) {
			if b, ok := before.Lookup(o.Topic, o.Partition); !ok || b.Offset != o.Offset {
				same = false
			}
		})
		if same {
			return nil
		}
	}
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

// read consumes the reorders and routing decisions committed so far.
func (c *closedLoop) read(ctx context.Context) error {
	ends, err := c.adm.ListEndOffsets(ctx, loopTopics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("closed loop: end offsets: %w", err)
	}
	for {
		caughtUp := true
		ends.Each(func(o kadm.ListedOffset) {
			if c.pos[o.Topic][o.Partition] < o.Offset {
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
			return fmt.Errorf("closed loop: read decisions: %w", err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("closed loop: read decisions: %w", ferr)
		}
		fs.EachRecord(c.take)
	}
}

// take keeps one record read back.
func (c *closedLoop) take(r *kgo.Record) {
	if c.pos[r.Topic] == nil {
		c.pos[r.Topic] = map[int32]int64{}
	}
	c.pos[r.Topic][r.Partition] = r.Offset + 1
	if r.Attrs.IsControl() {
		return
	}
	switch r.Topic {
	case kafka.TopicReorders:
		var o event.Reorder
		if err := json.Unmarshal(r.Value, &o); err != nil {
			c.log.Warn("skip undecodable reorder", "partition", r.Partition, "offset", r.Offset, "err", err)
			return
		}
		c.pending = append(c.pending, o)
	case kafka.TopicRouting:
		var d event.RoutingDecision
		if err := json.Unmarshal(r.Value, &d); err != nil {
			c.log.Warn("skip undecodable routing decision", "partition", r.Partition, "offset", r.Offset, "err", err)
			return
		}
		if d.Final {
			c.decisions = append(c.decisions, d)
		}
	}
}
