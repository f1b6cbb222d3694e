package embedded_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/store/storetest"
	"github.com/stockflow/stockflow/internal/testenv"
	"github.com/stockflow/stockflow/sql"
)

// One engine per test binary (chDB allows one per process); every test
// works in its own database inside it.
var (
	engineDir string
	engine    *embedded.Store // holds the engine open for the whole run
	engineErr error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(helperEnv) != "" {
		return m.Run() // a child of TestReopenOtherPath: it opens engines itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var closeEngine func()
	engine, engineDir, closeEngine, engineErr = testenv.Engine(ctx)
	cancel()
	defer closeEngine()
	return m.Run()
}

// needEngine fails the test, naming the library, when the engine could not
// be opened.
func needEngine(t *testing.T) {
	t.Helper()
	if engineErr != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so): %v", engineErr)
	}
}

func open(t *testing.T, database string) store.Store {
	t.Helper()
	needEngine(t)
	s, err := embedded.Open(t.Context(), embedded.Options{Path: engineDir, Database: database})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	needEngine(t)
	v, err := engine.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded chDB %s (libchdb at %s)", v, engine.Library())
	storetest.Run(t, open)
}

func TestLibraryNotFound(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libchdb.so")
	_, err := embedded.FindLibrary(missing)
	var nf *embedded.LibraryNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("FindLibrary(%q) error = %v, want *LibraryNotFoundError", missing, err)
	}
	msg := err.Error()
	for _, want := range []string{"libchdb.so", missing, "deploy/scripts/fetch-chdb.sh", "STOCKFLOW_CHDB_LIB"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message %q is not one line", msg)
	}
}

func TestLibraryCandidates(t *testing.T) {
	t.Setenv("STOCKFLOW_CHDB_LIB", "/a/libchdb.so")
	t.Setenv("CHDB_LIB_PATH", "/b/libchdb.so")
	t.Setenv("STOCKFLOW_CACHE", "/cache")
	got := embedded.LibraryCandidates("")
	want := []string{"/a/libchdb.so", "/b/libchdb.so", "/cache/chdb/" + embedded.LibVersion + "/libchdb.so", "/usr/local/lib/libchdb.so"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("LibraryCandidates = %v, want %v", got, want)
	}
	t.Setenv("STOCKFLOW_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := embedded.LibraryCandidates(""); got[2] != "/xdg/stockflow/chdb/"+embedded.LibVersion+"/libchdb.so" {
		t.Errorf("with XDG_CACHE_HOME: %v", got)
	}
	if got := embedded.LibraryCandidates("/explicit.so"); len(got) != 1 || got[0] != "/explicit.so" {
		t.Errorf("explicit: %v", got)
	}
}

func TestEngineInUse(t *testing.T) {
	needEngine(t)
	_, err := embedded.Open(t.Context(), embedded.Options{Path: t.TempDir()})
	var inUse *embedded.EngineInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second path while open: error = %v, want *EngineInUseError", err)
	}
	// The same path shares the engine.
	s, err := embedded.Open(t.Context(), embedded.Options{Path: engineDir, Database: storetest.DatabaseName(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(t.Context(), "DROP DATABASE "+store.QuoteIdent(s.Database())); err != nil {
		t.Error(err)
	}
	s.Close()
}

func TestGoSignalsSurvive(t *testing.T) {
	needEngine(t)
	// A nil dereference must stay a recoverable Go panic: with chDB's own
	// handlers it hangs for minutes and then kills the process.
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("no panic from nil dereference")
			}
		}()
		var p *int
		*p = 1 //nolint:govet // deliberate nil dereference
	}()
	if _, err := engine.Query(t.Context(), "SELECT count() FROM numbers(1000000)"); err != nil {
		t.Fatal(err)
	}
	// signal.NotifyContext must still see SIGINT.
	ctx, stop := signal.NotifyContext(t.Context(), syscall.SIGINT)
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT not delivered to signal.NotifyContext")
	}
}

func TestQueryFormatAndStream(t *testing.T) {
	needEngine(t)
	s, ok := storetest.NewDatabase(t, open).(*embedded.Store)
	if !ok {
		t.Fatal("the embedded opener returned another store type")
	}
	ctx := t.Context()
	out, err := s.QueryFormat(ctx, "SELECT number, {p:String} AS p FROM numbers(3)", "CSV", store.Param{Name: "p", Value: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != "0,\"x\"\n1,\"x\"\n2,\"x\"\n" {
		t.Errorf("CSV = %q", got)
	}
	out, err = s.QueryFormat(ctx, "SELECT number FROM numbers(10)", "Parquet")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 8 || string(out[:4]) != "PAR1" {
		t.Errorf("Parquet output does not start with PAR1: %q", out[:min(len(out), 8)])
	}

	var total, chunks int
	err = s.QueryStream(ctx, "SELECT number FROM numbers(300000)", "TSV", func(b []byte) error {
		chunks++
		total += strings.Count(string(b), "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 300000 {
		t.Errorf("streamed %d rows in %d chunks, want 300000", total, chunks)
	}
	t.Logf("streamed 300000 rows in %d chunks", chunks)

	stop := errors.New("stop")
	err = s.QueryStream(ctx, "SELECT number FROM numbers(100000000)", "TSV", func([]byte) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("stream stopped by callback: error = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err = s.QueryStream(cctx, "SELECT number FROM numbers(100000000)", "TSV", func([]byte) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("stream with cancelled context: error = %v", err)
	}
	// The engine is usable after cancelled streams.
	res, err := s.Query(ctx, "SELECT 42")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CompareRows(t, res, [][]any{{uint64(42)}})
}

func TestMigrationsEmbedded(t *testing.T) {
	// Also covered by the contract suite; this pins the file list.
	migs, err := store.LoadMigrations(sql.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 || migs[0].File != "0001_core.sql" || len(migs[0].Statements) != len(storetest.CoreTables) {
		t.Fatalf("migrations = %+v", migs)
	}
}

const helperEnv = "STOCKFLOW_EMBEDDED_REOPEN_HELPER"

// TestReopenOtherPath checks the engine's life cycle in a fresh process
// (this one holds its engine for the whole run): after the last store
// closes, another data directory opens cleanly and sees none of the first
// one's data, and the first directory's data survives a reopen.
func TestReopenOtherPath(t *testing.T) {
	if dir := os.Getenv(helperEnv); dir != "" {
		reopen(t, dir) // the child process
		return
	}
	needEngine(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestReopenOtherPath$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestReopenOtherPath") {
		t.Fatalf("child process failed: %v\n%s", err, out)
	}
}

func reopen(t *testing.T, dir string) {
	ctx := t.Context()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	openAt := func(path string) *embedded.Store {
		t.Helper()
		s, err := embedded.Open(ctx, embedded.Options{Path: path, Database: "sf"})
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		return s
	}
	tables := func(s *embedded.Store) []any {
		t.Helper()
		res, err := s.Query(ctx, "SELECT name FROM system.tables WHERE database = 'sf' ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		var out []any
		for _, r := range res.Rows {
			out = append(out, r[0])
		}
		return out
	}
	sa := openAt(a)
	if err := sa.Exec(ctx, "CREATE TABLE only_in_a (x UInt8) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	if err := sa.Insert(ctx, &store.Batch{Table: "only_in_a", Columns: []string{"x"}, Rows: [][]any{{uint8(7)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Open(ctx, embedded.Options{Path: b}); err == nil {
		t.Fatal("opened a second path while the first is open")
	}
	sa.Close()

	sb := openAt(b)
	if got := tables(sb); len(got) != 0 {
		t.Errorf("fresh path %s sees tables %v", b, got)
	}
	sb.Close()

	sa = openAt(a)
	defer sa.Close()
	res, err := sa.Query(ctx, "SELECT x FROM only_in_a")
	if err != nil {
		t.Fatalf("data of %s after reopen: %v", a, err)
	}
	storetest.CompareRows(t, res, [][]any{{uint64(7)}})
}
