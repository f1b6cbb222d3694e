package routing

import (
	"slices"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// Batch is a group of orders of one region decided together.
type Batch struct {
	Region string
	// Opened is when its first order arrived, Closed when it closed: at
	// Opened + the window, or at the arrival of the order that filled it.
	Opened, Closed time.Time
	Orders         []event.Order
}

// Batcher groups orders into regional batches (BatchConfig): a batch
// opens with the first order of its region (Router.Region) and closes
// when the window has passed since, or when it holds MaxOrders orders.
// It has no clock: the caller passes arrival times and asks for the
// batches due. It is not safe for concurrent use.
type Batcher struct {
	r      *Router
	window time.Duration
	max    int
	open   []*Batch // in the order they opened
}

// NewBatcher returns a batcher with r's batch settings.
func (r *Router) NewBatcher() *Batcher {
	return &Batcher{r: r, window: time.Duration(r.cfg.Batch.WindowMs) * time.Millisecond, max: r.cfg.Batch.MaxOrders}
}

// Add puts o, arrived at at, into its region's open batch (opening one if
// needed) and returns that batch if o filled it, else nil. Call Due(at)
// first so that batches whose window ended before at are closed.
func (b *Batcher) Add(o event.Order, at time.Time) *Batch {
	region := b.r.Region(&o)
	i := slices.IndexFunc(b.open, func(x *Batch) bool { return x.Region == region })
	if i < 0 {
		b.open = append(b.open, &Batch{Region: region, Opened: at})
		i = len(b.open) - 1
	}
	bt := b.open[i]
	bt.Orders = append(bt.Orders, o)
	if len(bt.Orders) < b.max {
		return nil
	}
	bt.Closed = at
	b.open = slices.Delete(b.open, i, i+1)
	return bt
}

// Due closes and returns the batches whose window ended at or before now,
// in the order their windows end.
func (b *Batcher) Due(now time.Time) []*Batch {
	var out []*Batch
	b.open = slices.DeleteFunc(b.open, func(x *Batch) bool {
		if end := x.Opened.Add(b.window); !end.After(now) {
			x.Closed = end
			out = append(out, x)
			return true
		}
		return false
	})
	return out
}

// Next returns when the earliest open window ends (false when none is
// open).
func (b *Batcher) Next() (time.Time, bool) {
	if len(b.open) == 0 {
		return time.Time{}, false
	}
	return b.open[0].Opened.Add(b.window), true
}

// Flush closes every open batch at now and returns them, oldest first.
func (b *Batcher) Flush(now time.Time) []*Batch {
	out := b.open
	for _, x := range out {
		x.Closed = now
	}
	b.open = nil
	return out
}
