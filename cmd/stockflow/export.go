package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/export"
)

// cmdExport is `stockflow export`: a dataset of a date range as
// Hive-partitioned Parquet (internal/export).
func cmdExport(ctx context.Context, args []string) error {
	c := newCommon("export")
	var dataset, from, to, out, skus, warehouses, regions string
	var rowGroup int64
	c.fs.StringVar(&dataset, "dataset", "", "dataset: "+strings.Join(export.Names(), ", "))
	c.fs.StringVar(&from, "from", "", "first UTC day, YYYY-MM-DD")
	c.fs.StringVar(&to, "to", "", "last UTC day, YYYY-MM-DD (inclusive)")
	c.fs.StringVar(&out, "out", "", "export directory: DATASET/date=YYYY-MM-DD/part-00000.parquet, README.md and _schema.json (shared by the datasets exported there)")
	c.fs.StringVar(&skus, "skus", "", "only these SKUs, comma-separated")
	c.fs.StringVar(&warehouses, "warehouses", "", "only these warehouses, comma-separated")
	c.fs.StringVar(&regions, "regions", "", "only the warehouses of these regions, comma-separated")
	c.fs.Int64Var(&rowGroup, "row-group-rows", export.DefaultRowGroupRows, "rows per Parquet row group")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	q, err := exportQuery(dataset, from, to, skus, warehouses, regions)
	if err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("--out is required")
	}
	st, err := openStore(ctx, s)
	if err != nil {
		return err
	}
	defer st.Close()
	if q.Categories, err = exportCategories(s); err != nil {
		return err
	}
	opts := export.Options{Query: q, Out: out, Writer: export.WriterOptions{RowGroupRows: rowGroup, CreatedBy: "stockflow " + version}, Version: version}
	var bar *rateBar
	if isTerminal(os.Stderr) {
		bar = &rateBar{w: os.Stderr, label: "export " + q.Dataset.Name, start: time.Now()}
		opts.Progress = bar.update
	}
	res, err := export.Export(ctx, st, opts)
	bar.finish()
	if err != nil {
		return err
	}
	if c.jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("exported %s %s..%s: %d rows, %d partitions, %.1f MB in %.2fs (%.0f rows/s) to %s (described in %s)\n",
		res.Dataset, res.From, res.To, res.Rows, len(res.Partitions), float64(res.Bytes)/1e6, res.Seconds, float64(res.Rows)/max(res.Seconds, 1e-9),
		res.Dir, filepath.Join(res.Out, export.ReadmeFile))
	if len(res.Removed) > 0 {
		fmt.Printf("removed stale partitions: %s\n", strings.Join(res.Removed, ", "))
	}
	return nil
}

// exportQuery parses the dataset, the range and the filters.
func exportQuery(dataset, from, to, skus, warehouses, regions string) (export.Query, error) {
	var q export.Query
	ds, err := export.Lookup(dataset)
	if err != nil {
		return q, err
	}
	q.Dataset = ds
	if q.From, err = time.Parse(time.DateOnly, from); err != nil {
		return q, fmt.Errorf("--from: %w", err)
	}
	if q.To, err = time.Parse(time.DateOnly, to); err != nil {
		return q, fmt.Errorf("--to: %w", err)
	}
	q.SKUs, q.Warehouses, q.Regions = config.SplitList(skus), config.SplitList(warehouses), config.SplitList(regions)
	return q, q.Validate()
}

// exportCategories is the simulated catalogue's SKU categories in embedded
// mode (category campaigns of the features need them), nil otherwise.
func exportCategories(s config.Settings) (map[string]string, error) {
	if !s.EmbeddedClickHouse() {
		return nil, nil
	}
	cats, err := simCategories(s.Data)
	if err != nil || cats == nil {
		return nil, err
	}
	out := make(map[string]string, len(cats))
	for k, v := range cats {
		out[string(k)] = v
	}
	return out, nil
}

// rateBar draws "label: N rows, R rows/s, P partitions" on a terminal,
// redrawn at most every 100 ms.
type rateBar struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	drawn bool
}

func (b *rateBar) update(rows int64, partitions int) {
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	b.drawn = true
	rate := float64(rows) / max(now.Sub(b.start).Seconds(), 1e-9)
	_, _ = fmt.Fprintf(b.w, "\r%s: %d rows, %.0f rows/s, %d partitions ", b.label, rows, rate, partitions)
}

func (b *rateBar) finish() {
	if b != nil && b.drawn {
		_, _ = fmt.Fprintln(b.w)
	}
}
