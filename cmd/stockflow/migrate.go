package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/store"
	sqlfs "github.com/stockflow/stockflow/sql"
)

func cmdMigrate(ctx context.Context, args []string) error {
	c := newCommon("migrate")
	s, err := c.settings(args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, s)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	applied, err := migrations(ctx, st, s)
	if err != nil {
		return err
	}
	if c.jsonOut {
		if applied == nil {
			applied = []string{}
		}
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"applied": applied, "mode": st.Mode()})
	}
	fmt.Fprintf(os.Stderr, "stockflow migrate: %d migrations applied (%s)\n", len(applied), st.Mode())
	return nil
}

// migrations applies the schema's migrations: the single-node schema, or,
// with clickhouse_cluster set, the sharded, replicated one on that
// cluster (store.MigrateCluster).
func migrations(ctx context.Context, st store.Store, s config.Settings) ([]string, error) {
	var applied []string
	var err error
	if s.ClickHouseCluster.Enabled() {
		applied, err = store.MigrateCluster(ctx, st, sqlfs.Migrations(), s.ClickHouseCluster)
	} else {
		applied, err = store.Migrate(ctx, st, sqlfs.Migrations())
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}
