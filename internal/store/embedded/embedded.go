// Package embedded implements store.Store on the ClickHouse engine running
// inside the process: chDB's libchdb.so, loaded with purego when the first
// store is opened (never at init, so commands that do not need the engine
// run without the library).
//
// chDB runs one engine per process. Every Store of the process shares it,
// reference counted; stores isolate by database, and the engine serialises
// statements (a chDB connection runs one query at a time). Opening a store
// on a different data directory while the engine is open fails with
// *EngineInUseError instead of silently reading the first directory.
//
// It imports purego and package store only; it must not import the
// ClickHouse driver, pipelines or consumers.
package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/stockflow/stockflow/internal/store"
)

// Options configures an embedded store.
type Options struct {
	// Path is the engine's data directory (created if missing). Empty means a
	// temporary directory that chDB removes on close.
	Path string
	// Database is the database every statement runs against; created if
	// missing. Default "default".
	Database string
	// Lib is the path of libchdb.so. Empty searches LibraryCandidates("").
	Lib string
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Database != "" {
		if err := store.ValidIdent(o.Database); err != nil {
			return fmt.Errorf("embedded options: database: %w", err)
		}
	}
	return nil
}

// Store is a database inside the process's embedded engine.
type Store struct {
	eng  *engine
	db   string
	once sync.Once
	mu   sync.RWMutex // guards closed against Close racing a statement
	done bool
}

var _ store.Store = (*Store)(nil)

// Open loads libchdb.so if needed, opens (or shares) the process's engine
// on opts.Path, and creates opts.Database if missing.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Database == "" {
		opts.Database = "default"
	}
	path := opts.Path
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("embedded clickhouse: data directory: %w", err)
		}
		path = abs
	}
	eng, err := acquire(opts.Lib, path)
	if err != nil {
		return nil, err
	}
	s := &Store{eng: eng, db: opts.Database}
	if _, err := eng.run(ctx, "default", nil, "CREATE DATABASE IF NOT EXISTS "+store.QuoteIdent(opts.Database), "TSV"); err != nil {
		eng.release()
		return nil, fmt.Errorf("embedded clickhouse: create database %s: %w", opts.Database, err)
	}
	return s, nil
}

// Mode returns store.ModeEmbedded.
func (s *Store) Mode() string { return store.ModeEmbedded }

// Database returns the store's database.
func (s *Store) Database() string { return s.db }

// Path returns the engine's data directory ("" for a temporary one).
func (s *Store) Path() string { return s.eng.path }

// Library returns the path of the loaded libchdb.so.
func (s *Store) Library() string { return s.eng.lib.path }

// Version returns the engine's version().
func (s *Store) Version(ctx context.Context) (string, error) {
	res, err := s.Query(ctx, "SELECT version()")
	if err != nil {
		return "", err
	}
	return res.String(0, 0)
}

// begin guards a statement against a concurrent Close.
func (s *Store) begin() error {
	s.mu.RLock()
	if s.done {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (s *Store) end() { s.mu.RUnlock() }

// Exec runs one statement.
func (s *Store) Exec(ctx context.Context, query string, params ...store.Param) error {
	if err := store.CheckParams(query, params); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	_, err := s.eng.run(ctx, s.db, params, query, "TSV")
	return err
}

// Query runs one statement and decodes its whole result.
func (s *Store) Query(ctx context.Context, query string, params ...store.Param) (*store.Result, error) {
	if err := store.CheckParams(query, params); err != nil {
		return nil, err
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	out, err := s.eng.run(ctx, s.db, params, query, resultFormat)
	if err != nil {
		return nil, err
	}
	return decodeRowBinary(out)
}

// QueryFormat runs a statement and returns its output in any ClickHouse
// output format (CSV, Parquet, ArrowStream, JSONEachRow …).
func (s *Store) QueryFormat(ctx context.Context, query, format string, params ...store.Param) ([]byte, error) {
	if err := store.CheckParams(query, params); err != nil {
		return nil, err
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	return s.eng.run(ctx, s.db, params, query, format)
}

// QueryStream runs a statement with chDB's streaming API and calls fn with
// each chunk of output in format, in order. It stops and cancels the query
// when ctx is done or fn returns an error. The engine is held until it
// returns, so fn must not use the engine.
func (s *Store) QueryStream(ctx context.Context, query, format string, fn func(chunk []byte) error, params ...store.Param) error {
	if err := store.CheckParams(query, params); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	return s.eng.stream(ctx, s.db, params, query, format, fn)
}

// Insert writes a batch as INSERT … FORMAT JSONEachRow.
func (s *Store) Insert(ctx context.Context, b *store.Batch) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if len(b.Rows) == 0 {
		return nil
	}
	q, err := insertStatement(b)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table, err)
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if _, err := s.eng.run(ctx, s.db, nil, q, "TSV"); err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table, err)
	}
	return nil
}

// Close releases the store's share of the engine; the last store closes
// it. Close is idempotent.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
		s.eng.release()
	})
	return nil
}
