// Package sql holds stockflow's ClickHouse SQL, embedded into the binary:
// the numbered, forward-only migrations (migrations/NNNN_name.sql, applied
// by store.Migrate) and the named queries used by the API, the Grafana
// plugin, the dashboards and the invariant tests (queries/*.sql). Both
// store modes run exactly this SQL.
//
// It imports only the standard library.
package sql

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed queries/*.sql
var queries embed.FS

// Names of the named queries.
const (
	// VerifyStock is the conservation oracle: sku, warehouse, expected
	// (recomputed from raw events), stored (stock_levels FINAL).
	VerifyStock = "verify_stock"
	// VerifyWindows is the window oracle: per status ('ok', 'mismatch',
	// 'missing', 'open'), the number of windows and examples, comparing
	// demand_windows with the demand recomputed from sales FINAL.
	VerifyWindows = "verify_windows"
	// VerifyReorders is invariant 5: purchase reorders of one (sku,
	// warehouse) whose open intervals overlap, and received reorders
	// without their receipt in stock_movements.
	VerifyReorders = "verify_reorders"
	// VerifyRouting is invariant 4: orders without a final routing
	// decision or with more than one, and stock levels whose reservations
	// exceed on hand.
	VerifyRouting = "verify_routing"
)

// ErrUnknownQuery is returned by Query for a name with no file.
var ErrUnknownQuery = errors.New("unknown named query")

// Migrations returns the migration files, rooted so that the files sit at
// the top level ("0001_core.sql"), as store.Migrate expects.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Query returns the text of a named query ("verify_stock" or
// "verify_stock.sql"), without a trailing semicolon.
func Query(name string) (string, error) {
	name = strings.TrimSuffix(name, ".sql")
	if name == "" || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("%w: %q", ErrUnknownQuery, name)
	}
	b, err := queries.ReadFile(path.Join("queries", name+".sql"))
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrUnknownQuery, name)
	}
	return strings.TrimRight(strings.TrimSpace(string(b)), ";"), nil
}

// MustQuery is Query for names known at compile time; it panics on an
// unknown name.
func MustQuery(name string) string {
	q, err := Query(name)
	if err != nil {
		panic(err)
	}
	return q
}

// QueryNames lists the named queries, sorted.
func QueryNames() []string {
	entries, _ := fs.ReadDir(queries, "queries")
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".sql"); ok && !e.IsDir() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
