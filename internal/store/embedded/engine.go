package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/stockflow/stockflow/internal/store"
)

// EngineInUseError says the process's engine is open on another data
// directory. chDB runs one engine per process, and a second connection on a
// different path would silently read the first one's data, so Open refuses.
type EngineInUseError struct {
	Open, Requested string
}

func (e *EngineInUseError) Error() string {
	return fmt.Sprintf("embedded clickhouse: engine already open on %q in this process, cannot open %q (one engine per process; use another database instead)", e.Open, e.Requested)
}

// LibraryMismatchError says a different libchdb.so is already loaded.
type LibraryMismatchError struct {
	Loaded, Requested string
}

func (e *LibraryMismatchError) Error() string {
	return fmt.Sprintf("embedded clickhouse: %s already loaded, cannot load %s", e.Loaded, e.Requested)
}

// process holds the one loaded library and the one open engine. This is the
// package's only mutable global, and it mirrors a fact of chDB: the engine
// is process-wide, so the handle to it must be too.
var process struct {
	mu  sync.Mutex
	lib *library
	eng *engine
}

// engine is one open chDB connection, shared by every Store of the process
// and reference counted. A chDB connection runs one query at a time: sem is
// the engine lock (a channel so that waiting honours contexts).
type engine struct {
	lib  *library
	path string // absolute data directory; "" for a temporary one
	conn *uintptr
	sem  chan struct{}
	refs int // guarded by process.mu

	// Session state, guarded by sem.
	curDB string
}

// acquire opens (or shares) the engine on path with the library at lib.
func acquire(lib, path string) (*engine, error) {
	if lib != "" {
		abs, err := filepath.Abs(lib)
		if err != nil {
			return nil, fmt.Errorf("embedded clickhouse: library path: %w", err)
		}
		lib = abs
	}
	process.mu.Lock()
	defer process.mu.Unlock()
	if e := process.eng; e != nil {
		if e.path != path {
			return nil, &EngineInUseError{Open: e.path, Requested: path}
		}
		if lib != "" && lib != e.lib.path {
			return nil, &LibraryMismatchError{Loaded: e.lib.path, Requested: lib}
		}
		e.refs++
		return e, nil
	}
	if process.lib == nil {
		found, err := FindLibrary(lib)
		if err != nil {
			return nil, err
		}
		l, err := loadLibrary(found)
		if err != nil {
			return nil, err
		}
		process.lib = l
	} else if lib != "" && lib != process.lib.path {
		return nil, &LibraryMismatchError{Loaded: process.lib.path, Requested: lib}
	}
	args := []string{"clickhouse"}
	if path != "" {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, fmt.Errorf("embedded clickhouse: data directory: %w", err)
		}
		args = append(args, "--path="+path)
	}
	argv := make([]*byte, len(args)+1) // NULL-terminated like a real argv
	bufs := make([][]byte, len(args))
	for i, a := range args {
		bufs[i] = append([]byte(a), 0)
		argv[i] = &bufs[i][0]
	}
	saved := saveSignals()
	conn := process.lib.connect(int32(len(args)), argv)
	restoreSignals(saved)
	runtime.KeepAlive(bufs)
	if conn == nil || *conn == 0 {
		return nil, fmt.Errorf("embedded clickhouse: chdb_connect on %q failed", path)
	}
	e := &engine{lib: process.lib, path: path, conn: conn, sem: make(chan struct{}, 1), refs: 1}
	process.eng = e
	return e, nil
}

// release drops one reference; the last one closes the connection after
// the running query, if any, has finished.
func (e *engine) release() {
	process.mu.Lock()
	defer process.mu.Unlock()
	e.refs--
	if e.refs > 0 {
		return
	}
	e.sem <- struct{}{}
	saved := saveSignals()
	e.lib.closeConn(e.conn)
	restoreSignals(saved)
	e.conn = nil
	<-e.sem
	if process.eng == e {
		process.eng = nil
	}
}

// lock takes the engine lock, or fails when ctx is done first.
func (e *engine) lock(ctx context.Context) error {
	select {
	case e.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *engine) unlock() { <-e.sem }

var errNUL = errors.New("embedded clickhouse: statement contains a NUL byte")

var (
	useStmt      = regexp.MustCompile(`(?is)^\s*(USE|DROP\s+DATABASE|RENAME\s+DATABASE)\b`)
	exceptionMsg = regexp.MustCompile(`(?s)^Code: (\d+)\. DB::Exception: (.*)$`)
)

// prepare makes the session ready for a statement of database db with
// params: USE db when the session is elsewhere, and SET param_… for every
// parameter. It must be called with the engine lock held.
func (e *engine) prepare(db string, params []store.Param) error {
	if e.curDB != db {
		if _, err := e.exec("USE "+store.QuoteIdent(db), "TSV"); err != nil {
			return fmt.Errorf("use database %s: %w", db, err)
		}
		e.curDB = db
	}
	if len(params) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("SET ")
	for i, p := range params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("param_")
		b.WriteString(p.Name)
		b.WriteString(" = ")
		b.WriteString(store.QuoteString(p.Value))
	}
	if _, err := e.exec(b.String(), "TSV"); err != nil {
		return fmt.Errorf("set query parameters: %w", err)
	}
	return nil
}

// run executes one statement for database db and returns its output in
// format. Statements cannot be interrupted once started: ctx is honoured
// while waiting for the engine.
func (e *engine) run(ctx context.Context, db string, params []store.Param, query, format string) ([]byte, error) {
	if err := e.lock(ctx); err != nil {
		return nil, err
	}
	defer e.unlock()
	if e.conn == nil {
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.IndexByte(query, 0) >= 0 {
		return nil, errNUL
	}
	if err := e.prepare(db, params); err != nil {
		return nil, err
	}
	if useStmt.MatchString(query) {
		e.curDB = "" // the session may have left db: USE it again next time
	}
	return e.exec(query, format)
}

// exec runs one statement on the connection; the engine lock is held.
func (e *engine) exec(query, format string) ([]byte, error) {
	q, f := cString(query), cString(format)
	res := e.lib.query(*e.conn, q, f)
	runtime.KeepAlive(q)
	runtime.KeepAlive(f)
	if res == 0 {
		return nil, errNoResult
	}
	defer e.lib.destroy(res)
	if err := e.lib.resultErr(res); err != nil {
		return nil, err
	}
	return e.lib.resultBytes(res), nil
}

// stream runs a statement with chdb_stream_query and hands each chunk of
// output to fn, checking ctx between chunks and cancelling the query when
// ctx is done or fn fails.
func (e *engine) stream(ctx context.Context, db string, params []store.Param, query, format string, fn func([]byte) error) error {
	if err := e.lock(ctx); err != nil {
		return err
	}
	defer e.unlock()
	if e.conn == nil {
		return store.ErrClosed
	}
	if strings.IndexByte(query, 0) >= 0 {
		return errNUL
	}
	if err := e.prepare(db, params); err != nil {
		return err
	}
	q, f := cString(query), cString(format)
	st := e.lib.stream(*e.conn, q, f)
	runtime.KeepAlive(q)
	runtime.KeepAlive(f)
	if st == 0 {
		return errNoResult
	}
	defer e.lib.destroy(st)
	if err := e.lib.resultErr(st); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			e.lib.cancel(*e.conn, st)
			return err
		}
		chunk := e.lib.fetch(*e.conn, st)
		if chunk == 0 {
			return nil
		}
		err := e.lib.resultErr(chunk)
		data := e.lib.resultBytes(chunk)
		e.lib.destroy(chunk)
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return nil
		}
		if err := fn(data); err != nil {
			e.lib.cancel(*e.conn, st)
			return err
		}
	}
}

// parseException turns chDB's "Code: N. DB::Exception: … (NAME)" text
// into a *store.Exception.
func parseException(msg string) error {
	msg = strings.TrimSpace(msg)
	m := exceptionMsg.FindStringSubmatch(msg)
	if m == nil {
		return &store.Exception{Code: -1, Message: msg}
	}
	code, _ := strconv.ParseInt(m[1], 10, 32)
	text, name := store.SplitExceptionName(m[2])
	return &store.Exception{Code: int32(code), Name: name, Message: text}
}
