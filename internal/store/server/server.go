// Package server implements store.Store on a ClickHouse server or cluster
// through the native protocol (github.com/ClickHouse/clickhouse-go/v2):
// pooled connections, batch inserts (PrepareBatch → defer Close → Append →
// Send), query parameters sent as protocol parameters, and retries with
// backoff on transient errors.
//
// It imports the ClickHouse driver and package store; it must not import
// chDB, pipelines or consumers.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/chtype"
)

// Defaults applied by Open to zero Options fields.
const (
	DefaultDatabase     = "default"
	DefaultMaxOpenConns = 10
	DefaultDialTimeout  = 10 * time.Second
	DefaultReadTimeout  = 5 * time.Minute
	DefaultRetries      = 3
	DefaultRetryBackoff = 200 * time.Millisecond
	maxRetryBackoff     = 10 * time.Second
)

// Options configures a server store.
type Options struct {
	// Addr lists host:port of the native protocol (9000, or 9440 with TLS);
	// connections are spread over them.
	Addr     []string
	Database string // created if missing; default "default"
	Username string
	Password string
	// TLS enables TLS when set.
	TLS *tls.Config
	// MaxOpenConns caps the pool; default 10. MaxIdleConns defaults to it.
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration // default 1h
	DialTimeout     time.Duration // default 10s
	ReadTimeout     time.Duration // default 5m
	// Retries is how many times a statement is retried after a transient
	// error (network errors, timeouts, TOO_MANY_PARTS …): 0 means
	// DefaultRetries, negative means never. Inserts are retried safely
	// because tables deduplicate replayed blocks (see store.Batch).
	Retries int
	// RetryBackoff is the first wait between attempts, doubled each time up
	// to 10s, with jitter; default 200ms.
	RetryBackoff time.Duration
	// Logger receives retry warnings; nil discards them.
	Logger *slog.Logger
}

// Validate checks the options.
func (o Options) Validate() error {
	if len(o.Addr) == 0 {
		return errors.New("server options: no address")
	}
	for _, a := range o.Addr {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("server options: address %q is not host:port", a)
		}
	}
	if o.Database != "" {
		if err := store.ValidIdent(o.Database); err != nil {
			return fmt.Errorf("server options: database: %w", err)
		}
	}
	switch {
	case o.MaxOpenConns < 0:
		return fmt.Errorf("server options: MaxOpenConns %d < 0", o.MaxOpenConns)
	case o.MaxIdleConns < 0:
		return fmt.Errorf("server options: MaxIdleConns %d < 0", o.MaxIdleConns)
	case o.MaxOpenConns > 0 && o.MaxIdleConns > o.MaxOpenConns:
		return fmt.Errorf("server options: MaxIdleConns %d > MaxOpenConns %d", o.MaxIdleConns, o.MaxOpenConns)
	case o.DialTimeout < 0, o.ReadTimeout < 0, o.ConnMaxLifetime < 0, o.RetryBackoff < 0:
		return errors.New("server options: negative duration")
	}
	return nil
}

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	if o.Database == "" {
		o.Database = DefaultDatabase
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = DefaultMaxOpenConns
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = o.MaxOpenConns
	}
	if o.ConnMaxLifetime == 0 {
		o.ConnMaxLifetime = time.Hour
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) driverOptions(database string) *clickhouse.Options {
	return &clickhouse.Options{
		Addr:             o.Addr,
		Auth:             clickhouse.Auth{Database: database, Username: o.Username, Password: o.Password},
		TLS:              o.TLS,
		DialTimeout:      o.DialTimeout,
		ReadTimeout:      o.ReadTimeout,
		MaxOpenConns:     o.MaxOpenConns,
		MaxIdleConns:     o.MaxIdleConns,
		ConnMaxLifetime:  o.ConnMaxLifetime,
		ConnOpenStrategy: clickhouse.ConnOpenRoundRobin,
		Compression:      &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		ClientInfo: clickhouse.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "stockflow", Version: "1"},
		}},
	}
}

// Store is a database on a ClickHouse server.
type Store struct {
	conn   driver.Conn
	opts   Options
	closed atomic.Bool
	once   sync.Once
	err    error
}

var _ store.Store = (*Store)(nil)

// codeUnknownDatabase is ClickHouse's UNKNOWN_DATABASE.
const codeUnknownDatabase = 81

// Open connects, creates opts.Database if missing, and checks the server
// answers.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Store{opts: opts}
	conn, err := s.connect(ctx, opts.Database)
	if code, ok := store.ExceptionCode(err); ok && code == codeUnknownDatabase {
		if err := s.createDatabase(ctx); err != nil {
			return nil, err
		}
		conn, err = s.connect(ctx, opts.Database)
	}
	if err != nil {
		return nil, err
	}
	s.conn = conn
	return s, nil
}

func (s *Store) connect(ctx context.Context, database string) (driver.Conn, error) {
	conn, err := clickhouse.Open(s.opts.driverOptions(database))
	if err != nil {
		return nil, fmt.Errorf("clickhouse server %v: %w", s.opts.Addr, err)
	}
	err = s.retry(ctx, "ping", func(ctx context.Context) error { return conn.Ping(ctx) })
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse server %v: %w", s.opts.Addr, err)
	}
	return conn, nil
}

func (s *Store) createDatabase(ctx context.Context) error {
	boot, err := s.connect(ctx, "")
	if err != nil {
		return err
	}
	defer boot.Close()
	q := "CREATE DATABASE IF NOT EXISTS " + store.QuoteIdent(s.opts.Database)
	err = s.retry(ctx, "create database", func(ctx context.Context) error { return boot.Exec(ctx, q) })
	if err != nil {
		return fmt.Errorf("create database %s: %w", s.opts.Database, err)
	}
	return nil
}

// Mode returns store.ModeServer.
func (s *Store) Mode() string { return store.ModeServer }

// Database returns the store's database.
func (s *Store) Database() string { return s.opts.Database }

// Version returns the server's version().
func (s *Store) Version(ctx context.Context) (string, error) {
	res, err := s.Query(ctx, "SELECT version()")
	if err != nil {
		return "", err
	}
	return res.String(0, 0)
}

func (s *Store) live() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// withParams attaches query parameters to ctx.
func withParams(ctx context.Context, params []store.Param) context.Context {
	if len(params) == 0 {
		return ctx
	}
	p := make(clickhouse.Parameters, len(params))
	for _, x := range params {
		p[x.Name] = x.Value
	}
	return clickhouse.Context(ctx, clickhouse.WithParameters(p))
}

// Exec runs one statement.
func (s *Store) Exec(ctx context.Context, query string, params ...store.Param) error {
	if err := store.CheckParams(query, params); err != nil {
		return err
	}
	if err := s.live(); err != nil {
		return err
	}
	return s.retry(ctx, "exec", func(ctx context.Context) error {
		return s.conn.Exec(withParams(ctx, params), query)
	})
}

// Query runs one statement and reads its whole result.
func (s *Store) Query(ctx context.Context, query string, params ...store.Param) (*store.Result, error) {
	if err := store.CheckParams(query, params); err != nil {
		return nil, err
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	var res *store.Result
	err := s.retry(ctx, "query", func(ctx context.Context) error {
		var err error
		res, err = s.query(withParams(ctx, params), query)
		return err
	})
	return res, err
}

func (s *Store) query(ctx context.Context, query string) (*store.Result, error) {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cts := rows.ColumnTypes()
	res := &store.Result{Columns: make([]store.Column, len(cts))}
	types := make([]chtype.Type, len(cts))
	for i, ct := range cts {
		res.Columns[i] = store.Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		if types[i], err = chtype.Parse(ct.DatabaseTypeName()); err != nil {
			return nil, err
		}
	}
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]any, len(cts))
		for i := range dest {
			if row[i], err = normalize(types[i], reflect.ValueOf(dest[i]).Elem().Interface()); err != nil {
				return nil, fmt.Errorf("column %s: %w", res.Columns[i].Name, err)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// Insert sends a batch with the native protocol, with store.SettingDedupViews
// and store.SettingForegroundInsert (for the Distributed tables of cluster
// mode); with b.DedupToken set the token goes along as
// insert_deduplication_token.
func (s *Store) Insert(ctx context.Context, b *store.Batch) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if len(b.Rows) == 0 {
		return nil
	}
	if err := s.live(); err != nil {
		return err
	}
	cols := make([]string, len(b.Columns))
	for i, c := range b.Columns {
		cols[i] = store.QuoteIdent(c)
	}
	query := "INSERT INTO " + store.QuoteIdent(b.Table) + " (" + strings.Join(cols, ", ") + ")"
	settings := clickhouse.Settings{store.SettingDedupViews: 1, store.SettingForegroundInsert: 1}
	if b.DedupToken != "" {
		settings["insert_deduplication_token"] = b.DedupToken
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(settings))
	err := s.retry(ctx, "insert into "+b.Table, func(ctx context.Context) error {
		return s.sendBatch(ctx, query, b)
	})
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table, err)
	}
	return nil
}

func (s *Store) sendBatch(ctx context.Context, query string, b *store.Batch) (err error) {
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := batch.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	bcols := batch.Columns()
	if len(bcols) != len(b.Columns) {
		return fmt.Errorf("server prepared %d columns for %d", len(bcols), len(b.Columns))
	}
	types := make([]chtype.Type, len(bcols))
	for i, c := range bcols {
		if types[i], err = chtype.Parse(string(c.Type())); err != nil {
			return err
		}
	}
	vals := make([]any, len(b.Columns))
	for r, row := range b.Rows {
		for i, v := range row {
			if vals[i], err = coerce(types[i], v); err != nil {
				return fmt.Errorf("row %d, column %s: %w", r, b.Columns[i], err)
			}
		}
		if err := batch.Append(vals...); err != nil {
			return fmt.Errorf("row %d: %w", r, err)
		}
	}
	return batch.Send()
}

// Close closes the connection pool; it is idempotent.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		if s.conn != nil {
			s.err = s.conn.Close()
		}
	})
	return s.err
}
