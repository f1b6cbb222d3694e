package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/stockflow/stockflow/internal/bench"
)

func cmdBench(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: stockflow bench decode|pipeline|forecast|replenish|routing|export [--json] ...")
		return errUsage
	}
	switch args[0] {
	case "pipeline":
		return benchPipeline(ctx, args[1:])
	case "forecast":
		return benchForecast(ctx, args[1:])
	case "replenish":
		return benchReplenish(ctx, args[1:])
	case "routing":
		return benchRouting(ctx, args[1:])
	case "export":
		return benchExport(ctx, args[1:])
	case "decode":
		fs := flag.NewFlagSet("bench decode", flag.ContinueOnError)
		jsonOut := fs.Bool("json", false, "print exactly one JSON object on stdout")
		dur := fs.Duration("duration", 3*time.Second, "measuring time, split between the two decoders")
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		res, err := bench.Decode(ctx, *dur)
		if err != nil {
			return err
		}
		if *jsonOut {
			return json.NewEncoder(os.Stdout).Encode(res)
		}
		fmt.Printf("stockflow decoder: %.0f events/s\nencoding/json:     %.0f events/s\nratio:             %.2fx\n",
			res.StockflowEPS, res.EncodingJSONEPS, res.Ratio)
		return nil
	default:
		return fmt.Errorf("unknown benchmark %q (have: decode, pipeline, forecast, replenish, routing, export)", args[0])
	}
}
