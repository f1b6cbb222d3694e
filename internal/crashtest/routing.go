package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/event"
)

// RoutingStats counts what CheckRouting read.
type RoutingStats struct {
	// Records on stockflow.routing.v1; Orders with at least one of them;
	// Final records.
	Records, Orders, Finals int
	// Levels is how many (SKU, warehouse) ledgers the changelog holds;
	// Reserved how many of them hold a reservation; ReservedOver how many
	// hold more reserved than on hand.
	Levels, Reserved, ReservedOver int
	// Versions is how many ledger versions were read; Grew how many of
	// them increased reserved; Ambiguous how many of those went past on
	// hand while on hand dropped in the same version.
	Versions, Grew, Ambiguous int
}

// CheckRouting checks invariant 4 of DESIGN.md §3 on the committed output
// topics, independently of the stores (so it holds when several
// instances' sinks each wrote part of the rows):
//
//   - stockflow.routing.v1: every order the oracle accepted has decision
//     records, exactly one of them final (none: Lost; two or more final
//     records, or one decision id committed twice: Duplicate);
//   - stockflow.stock-changelog.v1, every version of every ledger in
//     order: routing never drives available stock below zero. A version
//     whose reserved grew past its on hand while its on hand did not drop
//     is a reservation accepted beyond what was available (Mismatch). A
//     version where on hand dropped too is ambiguous — a sale, count or
//     damage in the same transaction can lower on hand below what was
//     already reserved, which is not routing's doing (see
//     verify_routing.sql) — and is counted in RoutingStats.Ambiguous; so
//     are the latest ledgers with reserved > on hand (ReservedOver): with
//     an upstream that ships from stock without consuming reservations, as
//     the simulated history does, they are expected.
func CheckRouting(ctx context.Context, opts []kgo.Opt, o *Oracle, f *Findings) (RoutingStats, error) {
	var st RoutingStats
	finals := make(map[string]int)
	seen := make(map[string]bool)
	err := ReadToEnd(ctx, opts, []string{event.TopicRouting}, func(r *kgo.Record) error {
		st.Records++
		var d event.RoutingDecision
		if err := json.Unmarshal(r.Value, &d); err != nil {
			f.Problem(Mismatch, 1, "routing record %d@%d does not decode: %v", r.Partition, r.Offset, err)
			return nil
		}
		if seen[d.DecisionID] {
			f.Problem(Duplicate, 1, "routing decision %s committed twice (%d@%d)", d.DecisionID, r.Partition, r.Offset)
		}
		seen[d.DecisionID] = true
		if _, ok := finals[d.OrderID]; !ok {
			finals[d.OrderID] = 0
		}
		if d.Final {
			finals[d.OrderID]++
			st.Finals++
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("check routing: %w", err)
	}
	st.Orders = len(finals)
	for id, n := range finals {
		switch {
		case n == 0:
			f.Problem(Lost, 1, "order %s has routing decisions but no final one (invariant 4)", id)
		case n > 1:
			f.Problem(Duplicate, n-1, "order %s has %d final routing decisions (invariant 4)", id, n)
		}
	}
	if want := o.AcceptedIn(RawTables[event.TopicOrders]); len(finals) < want {
		f.Problem(Lost, want-len(finals), "%d orders accepted, %d have routing decisions", want, len(finals))
	}
	f.Checked("routing_orders", len(finals))

	latest := make(map[string]event.StockLevel)
	prefix := []byte(event.ChangelogLevelPrefix)
	err = ReadToEnd(ctx, opts, []string{TopicChangelog}, func(r *kgo.Record) error {
		if !bytes.HasPrefix(r.Key, prefix) {
			return nil
		}
		k := string(r.Key)
		if r.Value == nil {
			delete(latest, k)
			return nil
		}
		var lv event.StockLevel
		if err := json.Unmarshal(r.Value, &lv); err != nil {
			f.Problem(Mismatch, 1, "changelog ledger %s at %d@%d: %v", k, r.Partition, r.Offset, err)
			return nil
		}
		st.Versions++
		prev := latest[k]
		if lv.Reserved > prev.Reserved {
			st.Grew++
			if lv.Reserved > lv.OnHand {
				if lv.OnHand >= prev.OnHand {
					f.Problem(Mismatch, 1, "%s/%s: a reservation took reserved from %d to %d with on hand %d (was %d) at %d@%d (invariant 4: available below zero through routing)",
						lv.SKU, lv.Warehouse, prev.Reserved, lv.Reserved, lv.OnHand, prev.OnHand, r.Partition, r.Offset)
				} else {
					st.Ambiguous++
				}
			}
		}
		latest[k] = lv
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("check routing: %w", err)
	}
	for _, lv := range latest {
		st.Levels++
		if lv.Reserved > 0 {
			st.Reserved++
		}
		if lv.Reserved > 0 && lv.Reserved > lv.OnHand {
			st.ReservedOver++
		}
	}
	f.Checked("routing_levels", st.Levels)
	f.Checked("routing_reservation_versions", st.Grew)
	return st, nil
}
