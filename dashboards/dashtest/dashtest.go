// Package dashtest is for tests only: it runs the real stockflow query API
// over the apitest data set in the embedded ClickHouse engine, for the
// tests of the dashboards, the plugin binary and the static report. A test
// that cannot open the engine fails and names it.
//
// It imports the store, the API and their test packages; nothing but
// tests may import it.
package dashtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/api/apitest"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/store/storetest"
	"github.com/stockflow/stockflow/internal/testenv"
)

// Token is the API's read token.
const Token = "dashtest-read-token"

// Version is the version the API reports.
const Version = "v-dashtest"

// Window covers every row of the apitest data set and its forecast.
var Window = struct{ From, To time.Time }{
	From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	To:   time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
}

// Engine is the embedded ClickHouse engine of one test binary (chDB runs
// one engine per process; each test gets a database of its own).
type Engine struct {
	dir   string
	err   error
	close func()
}

// Open opens the engine; call it from TestMain and Close after m.Run.
func Open() *Engine {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := &Engine{}
	_, e.dir, e.close, e.err = testenv.Engine(ctx)
	return e
}

// Close closes the engine.
func (e *Engine) Close() {
	if e.close != nil {
		e.close()
	}
}

// Store returns a migrated database seeded with the apitest data set.
func (e *Engine) Store(t *testing.T) store.Store {
	t.Helper()
	if e.err != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so, STOCKFLOW_CHDB_LIB; deploy/scripts/fetch-chdb.sh): %v", e.err)
	}
	st := storetest.Migrated(t, func(t *testing.T, database string) store.Store {
		t.Helper()
		s, err := embedded.Open(t.Context(), embedded.Options{Path: e.dir, Database: database})
		if err != nil {
			t.Fatalf("open embedded store: %v", err)
		}
		return s
	})
	apitest.Seed(t, st)
	return st
}

// API runs the real query API over Store and returns its base URL; it
// stops when the test ends.
func (e *Engine) API(t *testing.T) string {
	t.Helper()
	srv, err := api.Listen(api.Config{Addr: "127.0.0.1:0", Version: Version, Store: e.Store(t), ReadToken: Token,
		Now: func() time.Time { return apitest.Now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api: %v", err)
		}
	})
	return "http://" + srv.Addr()
}
