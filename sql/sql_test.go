package sql_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/sql"
)

func TestQuery(t *testing.T) {
	names := sql.QueryNames()
	for _, want := range []string{sql.VerifyStock, sql.VerifyWindows, sql.VerifyReorders, sql.VerifyRouting} {
		if !slices.Contains(names, want) {
			t.Fatalf("QueryNames() = %v, want it to include %s", names, want)
		}
	}
	for _, n := range names {
		q, err := sql.Query(n)
		if err != nil {
			t.Fatalf("Query(%q): %v", n, err)
		}
		if q == "" || strings.HasSuffix(q, ";") {
			t.Errorf("Query(%q) is empty or ends with ';'", n)
		}
		if q2, _ := sql.Query(n + ".sql"); q2 != q {
			t.Errorf("Query(%q.sql) differs from Query(%q)", n, n)
		}
		if got := len(store.SplitStatements(q + ";")); got != 1 {
			t.Errorf("query %s splits into %d statements, want 1", n, got)
		}
	}
	for _, bad := range []string{"", "nope", "../migrations/0001_core", "queries/verify_stock"} {
		if _, err := sql.Query(bad); !errors.Is(err, sql.ErrUnknownQuery) {
			t.Errorf("Query(%q) error = %v, want ErrUnknownQuery", bad, err)
		}
	}
}

func TestMigrations(t *testing.T) {
	migs, err := store.LoadMigrations(sql.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 || migs[0].File != "0001_core.sql" {
		t.Fatalf("migrations = %+v", migs)
	}
	for _, m := range migs {
		for i, st := range m.Statements {
			upper := strings.ToUpper(st)
			if strings.Contains(upper, "CREATE TABLE") {
				if !strings.Contains(upper, "IF NOT EXISTS") {
					t.Errorf("%s statement %d: CREATE TABLE without IF NOT EXISTS (migrations must be idempotent)", m.File, i+1)
				}
				if !strings.Contains(st, "non_replicated_deduplication_window") {
					t.Errorf("%s statement %d: table without non_replicated_deduplication_window (insert tokens need it)", m.File, i+1)
				}
				if strings.Contains(st, "DateTime64") && strings.Contains(st, "DateTime64(3)") {
					t.Errorf("%s statement %d: DateTime64 without the UTC zone", m.File, i+1)
				}
			}
			if strings.Contains(upper, "CREATE MATERIALIZED VIEW") {
				// A view without TO writes an implicit inner table, which
				// has no deduplication window: a replayed block would be
				// counted twice there.
				if !strings.Contains(upper, "IF NOT EXISTS") || !strings.Contains(upper, " TO ") {
					t.Errorf("%s statement %d: materialized view without IF NOT EXISTS or without a TO target table", m.File, i+1)
				}
			}
		}
	}
}
