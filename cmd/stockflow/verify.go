package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	sqlfs "github.com/stockflow/stockflow/sql"
)

// mismatch is one (SKU, warehouse) whose stored level differs from the
// level recomputed from the raw events.
type mismatch struct {
	SKU       string `json:"sku"`
	Warehouse string `json:"warehouse"`
	Expected  int64  `json:"expected"`
	Stored    int64  `json:"stored"`
}

// windowsResult is the window check: the windows compared (those with
// stored rows), how many differ from the raw sales, how many closed windows
// with sales have no stored row, and how many windows with sales are not
// closed yet (not checked).
type windowsResult struct {
	Checked    int             `json:"checked"`
	Mismatches int             `json:"mismatches"`
	Missing    int             `json:"missing"`
	Open       int             `json:"open"`
	Examples   []windowProblem `json:"examples,omitempty"`
}

// windowProblem is one window that failed the check: status "mismatch"
// or "missing".
type windowProblem struct {
	Status          string    `json:"status"`
	SKU             string    `json:"sku"`
	Warehouse       string    `json:"warehouse"`
	Size            string    `json:"size"`
	WindowStart     time.Time `json:"window_start"`
	StoredUnits     int64     `json:"stored_units"`
	ExpectedUnits   int64     `json:"expected_units"`
	StoredRevenue   float64   `json:"stored_revenue"`
	ExpectedRevenue float64   `json:"expected_revenue"`
	StoredSales     int64     `json:"stored_sales"`
	ExpectedSales   int64     `json:"expected_sales"`
	FinalRows       uint64    `json:"final_rows"`
}

// reordersResult is the reorder check (invariant 5): the reorders checked
// (purchase reorders that were open, and reorders received), the pairs of
// purchase reorders of one (SKU, warehouse) open at the same time, and the
// received records without their receipt in stock_movements.
type reordersResult struct {
	Checked           int              `json:"checked"`
	Overlaps          int              `json:"overlaps"`
	UnmatchedReceipts int              `json:"unmatched_receipts"`
	Examples          []reorderProblem `json:"examples,omitempty"`
}

// reorderProblem is one failure of the reorder check. Problem "overlap":
// the reorder opened first, ReorderID, and the one opened while it was
// open, OtherReorderID, with their open intervals [opened, closed) (no
// closed: still open). Problem "unmatched_receipt": the received record,
// its kind, time and quantity.
type reorderProblem struct {
	Problem        string     `json:"problem"`
	SKU            string     `json:"sku"`
	Warehouse      string     `json:"warehouse"`
	ReorderID      string     `json:"reorder_id"`
	Kind           string     `json:"kind"`
	Opened         *time.Time `json:"opened,omitempty"`
	Closed         *time.Time `json:"closed,omitempty"`
	OtherReorderID string     `json:"other_reorder_id,omitempty"`
	OtherOpened    *time.Time `json:"other_opened,omitempty"`
	OtherClosed    *time.Time `json:"other_closed,omitempty"`
	ReceivedAt     *time.Time `json:"received_at,omitempty"`
	ReceivedQty    int64      `json:"received_qty,omitempty"`
}

// routingResult is the routing check (invariant 4): the orders with
// routing decisions, those with no final decision, those with more than
// one; the accepted reservations, and those after which available stock
// was below zero (an oversell); and, for information only, the stock
// levels whose reservations exceed on hand now (a count, damage or store
// sale after the reservations can do that; see
// sql/queries/verify_routing.sql).
type routingResult struct {
	Checked             int              `json:"checked"`
	NoFinal             int              `json:"no_final"`
	MultipleFinal       int              `json:"multiple_final"`
	ReservationsChecked int              `json:"reservations_checked"`
	NegativeAvailable   int              `json:"negative_available"`
	ReservedAboveOnHand int              `json:"reserved_above_on_hand"`
	Examples            []routingProblem `json:"examples,omitempty"`
}

// routingProblem is one finding of the routing check. Problems
// "no_final" and "multiple_final": the order, its decision records and
// how many (and which) are final. Problem "negative_available": the
// accepted reservation (its order, SKU, warehouse and qty, as reserved)
// and the available stock after it. "reserved_above_on_hand"
// (informational): the stock level.
type routingProblem struct {
	Problem          string   `json:"problem"`
	OrderID          string   `json:"order_id,omitempty"`
	Decisions        int64    `json:"decisions,omitempty"`
	Finals           int64    `json:"finals,omitempty"`
	FinalDecisionIDs []string `json:"final_decision_ids,omitempty"`
	SKU              string   `json:"sku,omitempty"`
	Warehouse        string   `json:"warehouse,omitempty"`
	OnHand           int64    `json:"on_hand,omitempty"`
	Reserved         int64    `json:"reserved,omitempty"`
	ReservationID    string   `json:"reservation_id,omitempty"`
	Available        int64    `json:"available,omitempty"`
}

func cmdVerify(ctx context.Context, args []string) error {
	c := newCommon("verify")
	var show int
	c.fs.IntVar(&show, "show", 10, "list at most this many mismatches of each check")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	checked, bad, err := verifyStock(ctx, st)
	if err != nil {
		return err
	}
	win, err := verifyWindows(ctx, st)
	if err != nil {
		return err
	}
	win.Examples = win.Examples[:min(max(show, 0), len(win.Examples))]
	ro, err := verifyReorders(ctx, st)
	if err != nil {
		return err
	}
	ro.Examples = ro.Examples[:min(max(show, 0), len(ro.Examples))]
	rt, err := verifyRouting(ctx, st)
	if err != nil {
		return err
	}
	rt.Examples = rt.Examples[:min(max(show, 0), len(rt.Examples))]
	problems := len(bad) + win.Mismatches + win.Missing + ro.Overlaps + ro.UnmatchedReceipts +
		rt.NoFinal + rt.MultipleFinal + rt.NegativeAvailable
	out := map[string]any{
		"checked":    checked + win.Checked + ro.Checked + rt.Checked,
		"mismatches": problems,
		"stock":      map[string]int{"checked": checked, "mismatches": len(bad)},
		"windows":    win,
		"reorders":   ro,
		"routing":    rt,
	}
	if len(bad) > 0 {
		out["examples"] = bad[:min(max(show, 0), len(bad))]
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if problems > 0 {
		var why []string
		if len(bad) > 0 {
			why = append(why, fmt.Sprintf("%d of %d stock levels differ from the event log", len(bad), checked))
		}
		if win.Mismatches > 0 {
			why = append(why, fmt.Sprintf("%d of %d windows differ from the raw sales", win.Mismatches, win.Checked))
		}
		if win.Missing > 0 {
			why = append(why, fmt.Sprintf("%d closed windows with sales have no window record", win.Missing))
		}
		if ro.Overlaps > 0 {
			why = append(why, fmt.Sprintf("%d pairs of purchase reorders of one SKU and warehouse were open at the same time", ro.Overlaps))
		}
		if ro.UnmatchedReceipts > 0 {
			why = append(why, fmt.Sprintf("%d received reorders have no receipt in stock_movements", ro.UnmatchedReceipts))
		}
		if rt.NoFinal > 0 {
			why = append(why, fmt.Sprintf("%d of %d routed orders have no final decision", rt.NoFinal, rt.Checked))
		}
		if rt.MultipleFinal > 0 {
			why = append(why, fmt.Sprintf("%d of %d routed orders have more than one final decision", rt.MultipleFinal, rt.Checked))
		}
		if rt.NegativeAvailable > 0 {
			why = append(why, fmt.Sprintf("%d of %d accepted reservations left available stock below zero (oversell)", rt.NegativeAvailable, rt.ReservationsChecked))
		}
		return fmt.Errorf("verify: %s", strings.Join(why, "; "))
	}
	return nil
}

// verifyStock runs the conservation oracle (sql/queries/verify_stock.sql):
// every (SKU, warehouse) level recomputed from the raw event tables,
// compared with the stored level.
func verifyStock(ctx context.Context, st store.Store) (int, []mismatch, error) {
	q, err := sqlfs.Query(sqlfs.VerifyStock)
	if err != nil {
		return 0, nil, err
	}
	res, err := st.Query(ctx, q)
	if err != nil {
		return 0, nil, fmt.Errorf("verify query: %w", err)
	}
	cols, err := columnIndex(res, "sku", "warehouse", "expected", "stored")
	if err != nil {
		return 0, nil, fmt.Errorf("verify query: %w", err)
	}
	var bad []mismatch
	for _, row := range res.Rows {
		exp, err := store.AsInt64(row[cols["expected"]])
		if err != nil {
			return 0, nil, fmt.Errorf("verify: expected: %w", err)
		}
		got, err := store.AsInt64(row[cols["stored"]])
		if err != nil {
			return 0, nil, fmt.Errorf("verify: stored: %w", err)
		}
		if exp != got {
			sku, _ := row[cols["sku"]].(string)
			wh, _ := row[cols["warehouse"]].(string)
			bad = append(bad, mismatch{SKU: sku, Warehouse: wh, Expected: exp, Stored: got})
		}
	}
	return len(res.Rows), bad, nil
}

// verifyWindows runs the window oracle (sql/queries/verify_windows.sql):
// the demand of every hourly and daily window in demand_windows (final row
// plus corrections) against the same sums over the raw sales. Examples
// list mismatches first, then missing windows.
func verifyWindows(ctx context.Context, st store.Store) (windowsResult, error) {
	var out windowsResult
	q, err := sqlfs.Query(sqlfs.VerifyWindows)
	if err != nil {
		return out, err
	}
	res, err := st.Query(ctx, q)
	if err != nil {
		return out, fmt.Errorf("verify windows query: %w", err)
	}
	cols, err := columnIndex(res, "status", "windows", "examples")
	if err != nil {
		return out, fmt.Errorf("verify windows query: %w", err)
	}
	problems := map[string][]windowProblem{}
	for _, row := range res.Rows {
		status, _ := row[cols["status"]].(string)
		n, err := store.AsInt64(row[cols["windows"]])
		if err != nil {
			return out, fmt.Errorf("verify windows: count: %w", err)
		}
		switch status {
		case "ok":
			out.Checked += int(n)
		case "mismatch":
			out.Checked += int(n)
			out.Mismatches = int(n)
		case "missing":
			out.Missing = int(n)
		case "open":
			out.Open = int(n)
			continue
		default:
			return out, fmt.Errorf("verify windows: unknown status %q", status)
		}
		if status == "ok" {
			continue
		}
		examples, _ := row[cols["examples"]].([]any)
		for _, e := range examples {
			p, err := windowExample(status, e)
			if err != nil {
				return out, err
			}
			problems[status] = append(problems[status], p)
		}
	}
	out.Examples = append(problems["mismatch"], problems["missing"]...)
	return out, nil
}

// windowExample reads one example tuple of verify_windows.sql.
func windowExample(status string, v any) (windowProblem, error) {
	t, ok := v.([]any)
	if !ok || len(t) != 11 {
		return windowProblem{}, fmt.Errorf("verify windows: example %v is not a tuple of 11", v)
	}
	p := windowProblem{Status: status}
	p.SKU, _ = t[0].(string)
	p.Warehouse, _ = t[1].(string)
	p.Size, _ = t[2].(string)
	p.WindowStart, _ = t[3].(time.Time)
	ints := []*int64{&p.StoredUnits, &p.ExpectedUnits, nil, nil, &p.StoredSales, &p.ExpectedSales}
	for i, dst := range ints {
		if dst == nil {
			continue
		}
		n, err := store.AsInt64(t[4+i])
		if err != nil {
			return p, fmt.Errorf("verify windows: example column %d: %w", 4+i, err)
		}
		*dst = n
	}
	p.StoredRevenue, _ = t[6].(float64)
	p.ExpectedRevenue, _ = t[7].(float64)
	finals, err := store.AsInt64(t[10])
	if err != nil {
		return p, fmt.Errorf("verify windows: example finals: %w", err)
	}
	p.FinalRows = uint64(finals)
	return p, nil
}

// verifyReorders runs the reorder oracle (sql/queries/verify_reorders.sql,
// invariant 5): no two purchase reorders of one (SKU, warehouse) open at
// once, and every received reorder matched by its receipt. Examples list
// overlaps first, then unmatched receipts.
func verifyReorders(ctx context.Context, st store.Store) (reordersResult, error) {
	var out reordersResult
	q, err := sqlfs.Query(sqlfs.VerifyReorders)
	if err != nil {
		return out, err
	}
	res, err := st.Query(ctx, q)
	if err != nil {
		if code, ok := store.ExceptionCode(err); ok && code == 60 { // UNKNOWN_TABLE
			return out, fmt.Errorf("verify reorders query: table reorders is missing (migration 0004_replenish.sql not applied; run stockflow migrate): %w", err)
		}
		return out, fmt.Errorf("verify reorders query: %w", err)
	}
	cols, err := columnIndex(res, "problem", "n", "examples")
	if err != nil {
		return out, fmt.Errorf("verify reorders query: %w", err)
	}
	problems := map[string][]reorderProblem{}
	for _, row := range res.Rows {
		problem, _ := row[cols["problem"]].(string)
		n, err := store.AsInt64(row[cols["n"]])
		if err != nil {
			return out, fmt.Errorf("verify reorders: count: %w", err)
		}
		switch problem {
		case "checked":
			out.Checked = int(n)
			continue
		case "overlap":
			out.Overlaps = int(n)
		case "unmatched_receipt":
			out.UnmatchedReceipts = int(n)
		default:
			return out, fmt.Errorf("verify reorders: unknown problem %q", problem)
		}
		examples, _ := row[cols["examples"]].([]any)
		for _, e := range examples {
			p, err := reorderExample(problem, e)
			if err != nil {
				return out, err
			}
			problems[problem] = append(problems[problem], p)
		}
	}
	out.Examples = append(problems["overlap"], problems["unmatched_receipt"]...)
	return out, nil
}

// reorderExample reads one example tuple of verify_reorders.sql.
func reorderExample(problem string, v any) (reorderProblem, error) {
	t, ok := v.([]any)
	if !ok || len(t) != 11 {
		return reorderProblem{}, fmt.Errorf("verify reorders: example %v is not a tuple of 11", v)
	}
	p := reorderProblem{Problem: problem}
	p.SKU, _ = t[0].(string)
	p.Warehouse, _ = t[1].(string)
	p.ReorderID, _ = t[2].(string)
	p.Kind, _ = t[3].(string)
	p.OtherReorderID, _ = t[6].(string)
	for i, dst := range map[int]**time.Time{4: &p.Opened, 5: &p.Closed, 7: &p.OtherOpened, 8: &p.OtherClosed, 9: &p.ReceivedAt} {
		if t[i] == nil {
			continue
		}
		ts, err := store.AsTime(t[i])
		if err != nil {
			return p, fmt.Errorf("verify reorders: example column %d: %w", i, err)
		}
		*dst = &ts
	}
	qty, err := store.AsInt64(t[10])
	if err != nil {
		return p, fmt.Errorf("verify reorders: example received_qty: %w", err)
	}
	p.ReceivedQty = qty
	return p, nil
}

// verifyRouting runs the routing oracle (sql/queries/verify_routing.sql,
// invariant 4): every order with routing decisions has exactly one final
// decision, and no accepted reservation left available stock below zero.
// Examples list orders without a final decision, then orders with
// several, then the oversold reservations, then (informational) the stock
// levels with more reserved than on hand.
func verifyRouting(ctx context.Context, st store.Store) (routingResult, error) {
	var out routingResult
	q, err := sqlfs.Query(sqlfs.VerifyRouting)
	if err != nil {
		return out, err
	}
	res, err := st.Query(ctx, q)
	if err != nil {
		if code, ok := store.ExceptionCode(err); ok && code == 60 { // UNKNOWN_TABLE
			return out, fmt.Errorf("verify routing query: table routing_decisions is missing (migration 0005_routing.sql not applied; run stockflow migrate): %w", err)
		}
		return out, fmt.Errorf("verify routing query: %w", err)
	}
	cols, err := columnIndex(res, "problem", "n", "examples")
	if err != nil {
		return out, fmt.Errorf("verify routing query: %w", err)
	}
	problems := map[string][]routingProblem{}
	for _, row := range res.Rows {
		problem, _ := row[cols["problem"]].(string)
		n, err := store.AsInt64(row[cols["n"]])
		if err != nil {
			return out, fmt.Errorf("verify routing: count: %w", err)
		}
		switch problem {
		case "checked":
			out.Checked = int(n)
			continue
		case "reservations_checked":
			out.ReservationsChecked = int(n)
			continue
		case "reserved_above_on_hand":
			out.ReservedAboveOnHand = int(n)
		case "no_final":
			out.NoFinal = int(n)
		case "multiple_final":
			out.MultipleFinal = int(n)
		case "negative_available":
			out.NegativeAvailable = int(n)
		default:
			return out, fmt.Errorf("verify routing: unknown problem %q", problem)
		}
		examples, _ := row[cols["examples"]].([]any)
		for _, e := range examples {
			p, err := routingExample(problem, e)
			if err != nil {
				return out, err
			}
			problems[problem] = append(problems[problem], p)
		}
	}
	for _, kind := range []string{"no_final", "multiple_final", "negative_available", "reserved_above_on_hand"} {
		out.Examples = append(out.Examples, problems[kind]...)
	}
	return out, nil
}

// routingExample reads one example tuple of verify_routing.sql.
func routingExample(problem string, v any) (routingProblem, error) {
	t, ok := v.([]any)
	if !ok || len(t) != 10 {
		return routingProblem{}, fmt.Errorf("verify routing: example %v is not a tuple of 10", v)
	}
	p := routingProblem{Problem: problem}
	p.OrderID, _ = t[0].(string)
	ids, _ := t[3].([]any)
	for _, id := range ids {
		if s, ok := id.(string); ok {
			p.FinalDecisionIDs = append(p.FinalDecisionIDs, s)
		}
	}
	p.SKU, _ = t[4].(string)
	p.Warehouse, _ = t[5].(string)
	p.ReservationID, _ = t[8].(string)
	for i, dst := range map[int]*int64{1: &p.Decisions, 2: &p.Finals, 6: &p.OnHand, 7: &p.Reserved, 9: &p.Available} {
		n, err := store.AsInt64(t[i])
		if err != nil {
			return p, fmt.Errorf("verify routing: example column %d: %w", i, err)
		}
		*dst = n
	}
	return p, nil
}

// columnIndex maps the result's column names to their positions, failing
// when one of need is absent.
func columnIndex(res *store.Result, need ...string) (map[string]int, error) {
	cols := map[string]int{}
	for i, col := range res.Columns {
		cols[col.Name] = i
	}
	for _, n := range need {
		if _, ok := cols[n]; !ok {
			return nil, fmt.Errorf("no %s column", n)
		}
	}
	return cols, nil
}
