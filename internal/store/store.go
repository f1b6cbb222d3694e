// Package store is stockflow's access to ClickHouse: the Store interface
// that both the embedded engine (package store/embedded, chDB loaded at run
// time) and a ClickHouse server (package store/server, native protocol)
// implement, the forward-only migrations runner, and helpers that read
// normalised result values. Both modes run the same SQL from package sql.
//
// It imports only the standard library and store/chtype; it must not import
// the ClickHouse driver, chDB, pipelines or consumers.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Mode names reported by Store.Mode.
const (
	ModeEmbedded = "embedded"
	ModeServer   = "server"
)

// Param is one ClickHouse query parameter, referenced in SQL as
// {name:Type}. Value is in ClickHouse's text ("escaped") format, exactly as
// clickhouse-client --param_name or the HTTP param_name take it: plain
// identifiers and numbers pass as they are; strings that may contain a
// backslash, tab or newline should be built with StringParam; arrays are
// written as literals ("['a','b']", see ArrayParam).
type Param struct{ Name, Value string }

// Batch is a set of rows for one INSERT.
type Batch struct {
	Table   string
	Columns []string
	// Rows hold Go values: string, int64, int32, int, uint64, uint32,
	// float64, float32, bool, time.Time (stored as UTC; the zero time is
	// stored as the Unix epoch), []string, []int64, []float64, []any, nil
	// (NULL for Nullable columns, the default otherwise), and named types of
	// those kinds (type SKU string). Integers must fit the column's type.
	Rows [][]any
	// DedupToken, when set, is sent as insert_deduplication_token: a batch
	// replayed with the same token is inserted once (tables need
	// non_replicated_deduplication_window, which every migration sets).
	DedupToken string
}

// SettingDedupViews is set to 1 on every Insert, in both modes: a block
// that a table drops as a replay (the same insert_deduplication_token, or
// the same data without one) is then dropped in the targets of its
// materialized views too, instead of being aggregated again. The targets
// need non_replicated_deduplication_window as well. Some ClickHouse
// versions default the setting to 0, so it is always sent.
const SettingDedupViews = "deduplicate_blocks_in_dependent_materialized_views"

// Column describes one result column: its name and ClickHouse type.
type Column struct{ Name, Type string }

// Result is a fully read query result. Values are normalised the same way
// in both modes: signed integers → int64, unsigned → uint64 (Int128 and
// wider → *big.Int), floats and decimals → float64, String, FixedString,
// Enum, UUID and IP → string, Bool → bool, Date/DateTime/DateTime64 →
// time.Time in UTC, Array and Tuple → []any, Map → map[string]any,
// NULL → nil.
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Store is a ClickHouse database: one database inside one engine or server.
// Implementations are safe for concurrent use.
type Store interface {
	// Mode is ModeEmbedded or ModeServer.
	Mode() string
	// Database is the database every statement runs against.
	Database() string
	// Version is the engine's SELECT version().
	Version(ctx context.Context) (string, error)
	// Exec runs one statement that returns no rows.
	Exec(ctx context.Context, query string, params ...Param) error
	// Insert writes a batch of rows.
	Insert(ctx context.Context, b *Batch) error
	// Query runs one statement and reads its whole result.
	Query(ctx context.Context, query string, params ...Param) (*Result, error)
	// Close releases the store; it is idempotent.
	Close() error
}

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("store: closed")

// ErrMissingParam is wrapped by errors for a query that references a
// {name:Type} parameter the call did not supply.
var ErrMissingParam = errors.New("query parameter not supplied")

// Exception is an error reported by the ClickHouse engine or server: the
// same type in both modes, so callers can branch on Code (for example 60,
// UNKNOWN_TABLE).
type Exception struct {
	Code    int32
	Name    string // symbolic name such as "UNKNOWN_TABLE", when known
	Message string
}

func (e *Exception) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("clickhouse exception %d (%s): %s", e.Code, e.Name, e.Message)
	}
	return fmt.Sprintf("clickhouse exception %d: %s", e.Code, e.Message)
}

// ExceptionCode returns the ClickHouse error code carried by err, if any.
func ExceptionCode(err error) (int32, bool) {
	var e *Exception
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

// Validate checks a batch before it is sent: a table, at least one column,
// and every row as wide as the column list.
func (b *Batch) Validate() error {
	if b == nil {
		return errors.New("batch is nil")
	}
	if err := ValidIdent(b.Table); err != nil {
		return fmt.Errorf("batch table: %w", err)
	}
	if len(b.Columns) == 0 {
		return fmt.Errorf("batch for %s has no columns", b.Table)
	}
	for _, c := range b.Columns {
		if err := ValidColumn(c); err != nil {
			return fmt.Errorf("batch for %s: column: %w", b.Table, err)
		}
	}
	for i, r := range b.Rows {
		if len(r) != len(b.Columns) {
			return fmt.Errorf("batch for %s: row %d has %d values for %d columns", b.Table, i, len(r), len(b.Columns))
		}
	}
	return nil
}

// SplitExceptionName separates the symbolic name ClickHouse appends to an
// exception message, as in "Table x does not exist. (UNKNOWN_TABLE)", and
// drops a trailing "(version …)".
func SplitExceptionName(msg string) (message, name string) {
	msg = strings.TrimSpace(msg)
	if i := strings.LastIndex(msg, " (version "); i >= 0 && strings.HasSuffix(msg, ")") {
		msg = strings.TrimSpace(msg[:i])
	}
	msg = strings.TrimSuffix(msg, ".")
	if strings.HasSuffix(msg, ")") {
		if i := strings.LastIndex(msg, " ("); i >= 0 {
			cand := msg[i+2 : len(msg)-1]
			if cand != "" && strings.Trim(cand, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == "" {
				return strings.TrimSpace(msg[:i]), cand
			}
		}
	}
	return msg, ""
}
