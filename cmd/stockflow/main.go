// Command stockflow is the one binary of stockflow: the embedded all-in-one
// (run), the pipelines against servers (process), the simulator (simulate),
// migrations (migrate), the stock oracle (verify), forecasting (forecast
// train and eval) and benchmarks (bench). It only wires packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

var commands = map[string]func(ctx context.Context, args []string) error{
	"run":      cmdRun,
	"process":  cmdProcess,
	"simulate": cmdSimulate,
	"migrate":  cmdMigrate,
	"verify":   cmdVerify,
	"export":   cmdExport,
	"serve":    cmdServe,
	"report":   cmdReport,
	"bench":    cmdBench,
	"forecast": cmdForecast,
	"version":  cmdVersion,
}

const usage = `stockflow — real-time multi-warehouse inventory

usage: stockflow <command> [flags]

commands:
  run       embedded all-in-one: broker, ClickHouse engine, simulator, pipelines, HTTP
  process   the pipelines and sinks against --brokers and --clickhouse (or --data)
  simulate  produce simulated upstream events to Kafka
  migrate   apply the ClickHouse migrations
  verify    recompute every stock level from the raw events and compare
  serve     the query API (JSON, Arrow) over the store, for Grafana and scripts
  export    a dataset of a date range as Hive-partitioned Parquet (sales, features …)
  bench     measure (bench decode, pipeline, forecast)
  forecast  train demand forecasts into ClickHouse and Kafka (forecast train), or
            evaluate the models on benchmark data (forecast eval)
  version   print the version

Run 'stockflow <command> -h' for a command's flags.
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "stockflow: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second signal forces exit.
		<-ctx.Done()
		stop()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		fmt.Fprintln(os.Stderr, "stockflow: second signal, exiting now")
		os.Exit(130)
	}()
	if err := cmd(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "stockflow %s: %v\n", os.Args[1], err)
		stop()
		os.Exit(1)
	}
}

func cmdVersion(_ context.Context, _ []string) error {
	fmt.Println(version)
	return nil
}
