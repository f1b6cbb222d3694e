package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

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

func cmdVerify(ctx context.Context, args []string) error {
	c := newCommon("verify")
	var show int
	c.fs.IntVar(&show, "show", 10, "list at most this many mismatches")
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
	out := map[string]any{"checked": checked, "mismatches": len(bad)}
	if len(bad) > 0 {
		out["examples"] = bad[:min(show, len(bad))]
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d stock levels differ from the event log", len(bad), checked)
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
	cols := map[string]int{}
	for i, col := range res.Columns {
		cols[col.Name] = i
	}
	for _, need := range []string{"sku", "warehouse", "expected", "stored"} {
		if _, ok := cols[need]; !ok {
			return 0, nil, fmt.Errorf("verify query returned no %s column", need)
		}
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
