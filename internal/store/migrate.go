package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MigrationsTable records applied migrations.
const MigrationsTable = "schema_migrations"

// Sentinels wrapped by MigrationError, for callers that branch on the cause.
var (
	ErrMigrationName      = errors.New("migration file name is not NNNN_name.sql")
	ErrMigrationGap       = errors.New("migration versions have a gap")
	ErrMigrationDuplicate = errors.New("two migration files share a version")
	ErrMigrationEdited    = errors.New("applied migration was edited (checksum differs)")
	ErrMigrationUnknown   = errors.New("database has a migration this binary does not know")
)

// MigrationError says which migration file is at fault and why.
type MigrationError struct {
	File    string
	Version uint32
	Err     error
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("migration %s (version %d): %v", e.File, e.Version, e.Err)
}

func (e *MigrationError) Unwrap() error { return e.Err }

// Migration is one numbered, forward-only migration file.
type Migration struct {
	Version    uint32
	Name       string // "core" for 0001_core.sql
	File       string // "0001_core.sql"
	Checksum   string // hex SHA-256 of the file
	Statements []string
}

var migrationFile = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// LoadMigrations reads the *.sql files at the root of fsys, sorted by
// version. Versions must run 1, 2, 3… without gaps or duplicates.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, &MigrationError{File: e.Name(), Err: ErrMigrationName}
		}
		v, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil || v == 0 {
			return nil, &MigrationError{File: e.Name(), Err: ErrMigrationName}
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{
			Version:    uint32(v),
			Name:       m[2],
			File:       e.Name(),
			Checksum:   hex.EncodeToString(sum[:]),
			Statements: SplitStatements(string(body)),
		})
	}
	slices.SortFunc(out, func(a, b Migration) int { return int(a.Version) - int(b.Version) })
	for i, m := range out {
		if i > 0 && out[i-1].Version == m.Version {
			return nil, &MigrationError{File: m.File, Version: m.Version, Err: fmt.Errorf("%w: %s", ErrMigrationDuplicate, out[i-1].File)}
		}
		if m.Version != uint32(i+1) {
			return nil, &MigrationError{File: m.File, Version: m.Version, Err: fmt.Errorf("%w: expected version %d", ErrMigrationGap, i+1)}
		}
	}
	return out, nil
}

// SplitStatements splits a migration into statements: a statement ends at a
// line whose last non-blank character is ';'. Blank statements and
// statements made only of "--" comments are dropped.
func SplitStatements(text string) []string {
	var (
		out []string
		cur strings.Builder
	)
	flush := func() {
		st := strings.TrimSpace(cur.String())
		cur.Reset()
		if st == "" {
			return
		}
		for _, l := range strings.Split(st, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				out = append(out, st)
				return
			}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimRight(line, " \t\r")
		if strings.HasSuffix(trimmed, ";") {
			cur.WriteString(strings.TrimSuffix(trimmed, ";"))
			flush()
			continue
		}
		cur.WriteString(trimmed)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + MigrationsTable + ` (
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY version`

// Migrate applies the migrations in fsys that s has not applied yet, in
// order, and records each in schema_migrations. It refuses gaps, duplicate
// versions, applied files whose content changed, and a database that has
// applied a version fsys does not contain. A migration is recorded after
// all its statements ran, so its statements must be idempotent (IF NOT
// EXISTS): a run cut short is completed by the next one. It returns the
// file names it applied.
func Migrate(ctx context.Context, s Store, fsys fs.FS) ([]string, error) {
	migs, err := LoadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	return migrate(ctx, s, migs, createMigrationsTable)
}

// migrate applies migs after creating the migrations table with
// createTable: the part of Migrate that MigrateCluster shares.
func migrate(ctx context.Context, s Store, migs []Migration, createTable string) ([]string, error) {
	if err := s.Exec(ctx, createTable); err != nil {
		return nil, fmt.Errorf("create %s: %w", MigrationsTable, err)
	}
	res, err := s.Query(ctx, `SELECT version, name, checksum FROM `+MigrationsTable+` FINAL ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", MigrationsTable, err)
	}
	done := make(map[uint32]bool, len(res.Rows))
	for i := range res.Rows {
		v, err := res.Uint64(i, 0)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", MigrationsTable, err)
		}
		name, _ := res.String(i, 1)
		sum, _ := res.String(i, 2)
		idx := slices.IndexFunc(migs, func(m Migration) bool { return uint64(m.Version) == v })
		if idx < 0 {
			return nil, &MigrationError{File: fmt.Sprintf("%04d_%s.sql", v, name), Version: uint32(v), Err: ErrMigrationUnknown}
		}
		if migs[idx].Checksum != sum {
			return nil, &MigrationError{File: migs[idx].File, Version: uint32(v), Err: ErrMigrationEdited}
		}
		done[uint32(v)] = true
	}
	var applied []string
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for i, st := range m.Statements {
			if err := s.Exec(ctx, st); err != nil {
				return applied, &MigrationError{File: m.File, Version: m.Version, Err: fmt.Errorf("statement %d: %w", i+1, err)}
			}
		}
		err := s.Insert(ctx, &Batch{
			Table:   MigrationsTable,
			Columns: []string{"version", "name", "checksum", "applied_at"},
			Rows:    [][]any{{m.Version, m.Name, m.Checksum, time.Now().UTC()}},
		})
		if err != nil {
			return applied, &MigrationError{File: m.File, Version: m.Version, Err: fmt.Errorf("record: %w", err)}
		}
		applied = append(applied, m.File)
	}
	return applied, nil
}

// CountRows returns count() of each table, without FINAL: duplicates that
// a ReplacingMergeTree has not merged yet are counted, which is what
// exactly-once checks need.
func CountRows(ctx context.Context, s Store, tables ...string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(tables))
	for _, t := range tables {
		if err := ValidIdent(t); err != nil {
			return nil, fmt.Errorf("count rows: %w", err)
		}
		res, err := s.Query(ctx, "SELECT count() FROM "+QuoteIdent(t))
		if err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", t, err)
		}
		n, err := res.Uint64(0, 0)
		if err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}
