package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/stockflow/stockflow/internal/export"
	"github.com/stockflow/stockflow/internal/store/embedded"
)

// benchExport is `stockflow bench export`: stockflow's Parquet export
// against the engine's own Parquet output and pyarrow, in one run, on a
// scratch embedded engine.
func benchExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench export", flag.ContinueOnError)
	rows := fs.Int64("rows", 10_000_000, "sales rows to export")
	days := fs.Int("days", 30, "days the rows spread over (one partition each)")
	python := fs.String("python", os.Getenv("STOCKFLOW_PYEXPORT"), "python with pyarrow (default: deploy/scripts/fetch-pyexport.sh)")
	jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of stockflow's export (query and writing) to this file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *python == "" {
		out, err := exec.CommandContext(ctx, "deploy/scripts/fetch-pyexport.sh").Output()
		if err != nil {
			return fmt.Errorf("python with pyarrow: run from the repository root or pass --python (deploy/scripts/fetch-pyexport.sh: %w)", err)
		}
		*python = strings.TrimSpace(string(out))
	}
	dir, err := os.MkdirTemp("", "stockflow-bench-export-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // scratch; nothing to do if it fails
	st, err := embedded.Open(ctx, embedded.Options{Path: dir + "/engine", Database: "bench_export"})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := migrate(ctx, st, newLogger("warn")); err != nil {
		return err
	}
	bopts := export.BenchOptions{Rows: *rows, Days: *days, Dir: dir, Python: *python}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // the profile is written when Bench returns; a lost tail only shortens it
		bopts.CPUProfile = f
	}
	res, err := export.Bench(ctx, st, bopts)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("stockflow export: %d rows in %.2fs, %.0f rows/s, %.1f MB/s (%d partitions, %.1f MB)\n",
		res.Rows, res.Seconds, res.RowsPerS, res.MBPerS, res.Partitions, float64(res.Bytes)/1e6)
	fmt.Printf("engine INTO OUTFILE Parquet: %.0f rows/s (%.1f MB) → ratio %.2f\n", res.ClickHouseRowsPerS, float64(res.ClickHouseBytes)/1e6, res.RatioVsClickHouse)
	fmt.Printf("pyarrow write_table:         %.0f rows/s (%.1f MB) → ratio %.2f\n", res.PyarrowRowsPerS, float64(res.PyarrowBytes)/1e6, res.RatioVsPyarrow)
	fmt.Printf("split: the query alone (read and decoded, nothing written) %.0f rows/s; "+
		"stockflow from pyarrow's Arrow file (no query) %.0f rows/s → ratio %.2f to pyarrow on the same input\n",
		res.QueryRowsPerS, res.FromArrowRowsPerS, res.RatioVsPyarrowFromArrow)
	return nil
}
