package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/stockflow/stockflow/dashboards/report"
)

// cmdReport is `stockflow report`: the planners' key views (stock by
// warehouse, forecast bands of the top SKUs, projected stockouts, routing
// cost breakdown) as PNG charts and an index.html in --out, from the
// store (--data or --clickhouse), for people without Grafana.
func cmdReport(ctx context.Context, args []string) error {
	c := newCommon("report")
	var opt report.Options
	var now string
	c.fs.StringVar(&opt.Out, "out", "./stockflow-report", "directory for the PNG charts and index.html")
	c.fs.StringVar(&now, "now", "", "anchor of the time range, RFC 3339 or YYYY-MM-DD (default: the latest stock event in the store)")
	c.fs.DurationVar(&opt.Lookback, "lookback", 30*24*time.Hour, "time range before the anchor")
	c.fs.DurationVar(&opt.Ahead, "ahead", 14*24*time.Hour, "time range after the anchor (forecasts)")
	c.fs.IntVar(&opt.TopSKUs, "top", 3, "forecast bands for this many SKU × warehouses with the most demand")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	if now != "" {
		t, err := time.Parse(time.RFC3339, now)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, now); err != nil {
				return fmt.Errorf("--now %q: %w", now, err)
			}
		}
		opt.Now = t.UTC()
	}
	if err := opt.Validate(); err != nil {
		return err
	}
	st, err := openStore(ctx, s)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() { _ = st.Close() }()
	res, err := report.Render(ctx, st, opt)
	if err != nil {
		return err
	}
	if c.jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Fprintf(os.Stderr, "stockflow report: %s (%s to %s)\n", res, res.From.Format(time.DateOnly), res.To.Format(time.DateOnly))
	return nil
}
