package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/config"
)

// cmdServe is `stockflow serve`: the HTTP API (queries, export, approvals
// when a broker is configured elsewhere) over the store alone, embedded
// (--data) or a ClickHouse server (--clickhouse). Tokens come from
// STOCKFLOW_API_TOKEN[_FILE] (read) and STOCKFLOW_API_ADMIN_TOKEN[_FILE].
func cmdServe(ctx context.Context, args []string) error {
	c := newCommon("serve")
	var addr string
	var doMigrate bool
	c.fs.StringVar(&addr, "http", "", "listen address of the API (default from STOCKFLOW_HTTP or 127.0.0.1:8686)")
	c.fs.BoolVar(&doMigrate, "migrate", false, "apply the ClickHouse migrations before serving (a fresh store)")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	if addr != "" {
		s.HTTP = addr
	}
	log := newLogger(s.LogLevel)
	return serve(ctx, s, doMigrate, log, func(a string) {
		fmt.Fprintf(os.Stderr, "stockflow serve: API on http://%s/api/v1/ (OpenAPI at /api/v1/openapi.json)\n", a)
	})
}

// serve runs the API over the store of s until ctx is done; listening is
// called with the bound address.
func serve(ctx context.Context, s config.Settings, doMigrate bool, log *slog.Logger, listening func(addr string)) error {
	st, err := openStore(ctx, s)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() { _ = st.Close() }()
	if doMigrate {
		if _, err := migrations(ctx, st, s); err != nil {
			return err
		}
	}
	if s.ReadToken == "" && s.AdminToken == "" {
		log.Warn("no API tokens: reads are open to anyone who reaches the address; set STOCKFLOW_API_TOKEN")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := api.Listen(api.Config{
		Addr: s.HTTP, Gatherer: reg, Version: version, Store: st,
		ReadToken: s.ReadToken, AdminToken: s.AdminToken,
		Checks: map[string]api.Check{
			"clickhouse": func(ctx context.Context) (bool, string) {
				v, err := st.Version(ctx)
				if err != nil {
					return false, err.Error()
				}
				return true, v
			},
		},
	}, log)
	if err != nil {
		return err
	}
	listening(srv.Addr())
	return srv.Run(ctx)
}
