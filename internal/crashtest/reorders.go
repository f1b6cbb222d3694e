package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
)

// TopicReorders is the replenishment pipeline's output topic.
const TopicReorders = event.TopicReorders

// ReorderStats counts what CheckReorders read.
type ReorderStats struct {
	Records, Ordered, Closed int
	Keys                     int
}

// ReorderChecker checks invariant 5 on reorder records fed in the order
// one partition's consumer sees them, independently of the pipeline's
// code: every (reorder id, status, reason) is committed once; a purchase
// reorder id is RO-<sku>-<warehouse>-<cycle> with the cycles of a key
// counting from 1 without gaps or repeats; no key has a purchase reorder
// opened while another is open; only the open reorder is closed (received
// or cancelled); the records of a key are in time order. Problems go to
// its Findings as Duplicate, Lost or Mismatch.
type ReorderChecker struct {
	f     *Findings
	stats ReorderStats
	seen  map[string]bool
	keys  map[string]*reorderKey
}

type reorderKey struct {
	open   string
	cycles int64
	last   time.Time
}

// NewReorderChecker returns a checker reporting to f.
func NewReorderChecker(f *Findings) *ReorderChecker {
	return &ReorderChecker{f: f, seen: make(map[string]bool), keys: make(map[string]*reorderKey)}
}

// Stats returns what the checker has seen so far.
func (c *ReorderChecker) Stats() ReorderStats {
	st := c.stats
	st.Keys = len(c.keys)
	return st
}

// Add checks one record.
func (c *ReorderChecker) Add(o event.Reorder) {
	f := c.f
	c.stats.Records++
	id := o.ReorderID + " " + string(o.Status) + " " + o.Reason
	if c.seen[id] {
		f.Problem(Duplicate, 1, "reorder record %q committed twice", id)
		return
	}
	c.seen[id] = true
	if o.Kind != event.ReorderPurchase {
		return
	}
	k := string(o.SKU) + "/" + string(o.Warehouse)
	ks := c.keys[k]
	if ks == nil {
		ks = new(reorderKey)
		c.keys[k] = ks
	}
	if o.TS.Before(ks.last) {
		f.Problem(Mismatch, 1, "%s: %s %s at %s, before the key's previous record at %s: open intervals in event time would overlap",
			k, o.ReorderID, o.Status, o.TS.Format(time.RFC3339Nano), ks.last.Format(time.RFC3339Nano))
	}
	ks.last = o.TS
	switch {
	case (o.Status == event.ReorderOrdered || o.Status == event.ReorderSuggested) && o.Reason != "approved":
		c.stats.Ordered++
		if ks.open != "" {
			f.Problem(Duplicate, 1, "%s: reorder %s opened while %s is open (invariant 5)", k, o.ReorderID, ks.open)
		}
		prefix := "RO-" + string(o.SKU) + "-" + string(o.Warehouse) + "-"
		cycle, err := strconv.ParseInt(strings.TrimPrefix(o.ReorderID, prefix), 10, 64)
		switch {
		case !strings.HasPrefix(o.ReorderID, prefix) || err != nil:
			f.Problem(Mismatch, 1, "%s: reorder id %q is not %s<cycle>", k, o.ReorderID, prefix)
		case cycle <= ks.cycles:
			f.Problem(Duplicate, 1, "%s: cycle %d ordered again after cycle %d", k, cycle, ks.cycles)
		case cycle > ks.cycles+1:
			f.Problem(Lost, int(cycle-ks.cycles-1), "%s: cycles %d..%d missing before %s", k, ks.cycles+1, cycle-1, o.ReorderID)
		}
		ks.cycles = max(ks.cycles, cycle)
		ks.open = o.ReorderID
	case o.Status == event.ReorderReceived || o.Status == event.ReorderCancelled:
		c.stats.Closed++
		if ks.open != o.ReorderID {
			f.Problem(Mismatch, 1, "%s: %s %s while the open reorder is %q", k, o.ReorderID, o.Status, ks.open)
		}
		ks.open = ""
	}
}

// CheckReorders reads stockflow.reorders.v1 as a read_committed consumer
// sees it and checks every record with a ReorderChecker.
func CheckReorders(ctx context.Context, opts []kgo.Opt, f *Findings) (ReorderStats, error) {
	c := NewReorderChecker(f)
	err := ReadToEnd(ctx, opts, []string{TopicReorders}, func(r *kgo.Record) error {
		var o event.Reorder
		if err := json.Unmarshal(r.Value, &o); err != nil {
			f.Problem(Mismatch, 1, "reorder record %d@%d does not decode: %v", r.Partition, r.Offset, err)
			return nil
		}
		c.Add(o)
		return nil
	})
	if err != nil {
		return c.Stats(), fmt.Errorf("check reorders: %w", err)
	}
	f.Checked("reorder_records", c.stats.Records)
	return c.Stats(), nil
}
