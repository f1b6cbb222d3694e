package chsink_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/testenv"
)

// One embedded ClickHouse engine per test binary (chDB runs one per
// process); every test works in a database of its own inside it.
var (
	engineDir string
	engine    *embedded.Store // holds the engine open for the whole run
	engineErr error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var closeEngine func()
	engine, engineDir, closeEngine, engineErr = testenv.Engine(ctx)
	cancel()
	defer closeEngine()
	return m.Run()
}

// openStore is the storetest.Opener of this binary's engine. It fails the
// test, naming the library, when the engine could not be opened.
func openStore(t *testing.T, database string) store.Store {
	t.Helper()
	if engineErr != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so; run deploy/scripts/fetch-chdb.sh and set STOCKFLOW_CHDB_LIB): %v", engineErr)
	}
	s, err := embedded.Open(t.Context(), embedded.Options{Path: engineDir, Database: database})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	return s
}
