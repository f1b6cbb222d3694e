// Package storetest is the contract suite every store.Store implementation
// must pass: the embedded engine and a ClickHouse server run the same
// tests, so both modes give the same answers (DESIGN.md §3, invariant 6).
//
// It imports package store, package sql and the standard library only.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/sql"
)

// Opener opens a store on database (which the store creates if missing).
// The suite drops the database and closes the store when the test ends.
type Opener func(t *testing.T, database string) store.Store

// CoreTables are the tables created by sql/migrations/0001_core.sql.
var CoreTables = []string{"sales", "stock_movements", "orders", "campaigns", "stock_levels", "dlq", "warehouses"}

// Run runs the contract suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Identity", testIdentity},
		{"MigrateTwice", testMigrateTwice},
		{"MigrateRefuses", testMigrateRefuses},
		{"RoundTripTable", testRoundTripTable},
		{"RoundTripComputed", testRoundTripComputed},
		{"CoreTables", testCoreTables},
		{"DedupToken", testDedupToken},
		{"DedupViews", testDedupViews},
		{"Params", testParams},
		{"Errors", testErrors},
		{"VerifyStock", testVerifyStock},
		{"VerifyReorders", testVerifyReorders},
		{"VerifyRouting", testVerifyRouting},
		{"Isolation", testIsolation},
		{"Concurrent", testConcurrent},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// NewDatabase opens a store on a fresh database named after the test and
// registers its drop and close with t.Cleanup.
func NewDatabase(t *testing.T, open Opener) store.Store {
	t.Helper()
	db := DatabaseName(t)
	s := open(t, db)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Exec(ctx, "DROP DATABASE IF EXISTS "+store.QuoteIdent(db)); err != nil {
			t.Errorf("drop database %s: %v", db, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// DatabaseName returns a database name unique to this test run.
func DatabaseName(t *testing.T) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	return b.String() + "_" + hex.EncodeToString(suffix[:])
}

// Migrated opens a fresh database with sql.Migrations applied.
func Migrated(t *testing.T, open Opener) store.Store {
	t.Helper()
	s := NewDatabase(t, open)
	if _, err := store.Migrate(t.Context(), s, sql.Migrations()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func testIdentity(t *testing.T, open Opener) {
	s := NewDatabase(t, open)
	v, err := s.Version(t.Context())
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	t.Logf("%s store, ClickHouse version %s", s.Mode(), v)
	if v == "" || !strings.Contains(v, ".") {
		t.Errorf("Version = %q, want a dotted version", v)
	}
	if m := s.Mode(); m != store.ModeEmbedded && m != store.ModeServer {
		t.Errorf("Mode = %q", m)
	}
	res, err := s.Query(t.Context(), "SELECT currentDatabase()")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := res.String(0, 0); got != s.Database() {
		t.Errorf("currentDatabase() = %q, want %q", got, s.Database())
	}
	// An empty result still describes its columns.
	res, err = s.Query(t.Context(), "SELECT toInt64(1) AS a, 'x' AS b WHERE 0")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 0 || len(res.Columns) != 2 || res.Columns[0] != (store.Column{Name: "a", Type: "Int64"}) {
		t.Errorf("empty result = %+v", res)
	}
}

func testMigrateTwice(t *testing.T, open Opener) {
	s := NewDatabase(t, open)
	ctx := t.Context()
	applied, err := store.Migrate(ctx, s, sql.Migrations())
	if err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	want, err := store.LoadMigrations(sql.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(want) || applied[0] != "0001_core.sql" {
		t.Errorf("first migrate applied %v, want all %d files starting with 0001_core.sql", applied, len(want))
	}
	again, err := store.Migrate(ctx, s, sql.Migrations())
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second migrate applied %v, want nothing", again)
	}
	counts, err := store.CountRows(ctx, s, append(slices.Clone(CoreTables), store.MigrationsTable)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range CoreTables {
		if counts[tb] != 0 {
			t.Errorf("table %s has %d rows, want 0", tb, counts[tb])
		}
	}
	if counts[store.MigrationsTable] != uint64(len(want)) {
		t.Errorf("%s has %d rows, want %d", store.MigrationsTable, counts[store.MigrationsTable], len(want))
	}
	// Every table carries the deduplication window the sinks depend on.
	res, err := s.Query(ctx, `SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}`,
		store.ArrayParam("tables", CoreTables))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(CoreTables) {
		t.Errorf("found %d core tables, want %d", len(res.Rows), len(CoreTables))
	}
	for i := range res.Rows {
		name, _ := res.String(i, 0)
		ddl, _ := res.String(i, 1)
		if !strings.Contains(ddl, "non_replicated_deduplication_window = 1000") {
			t.Errorf("table %s lacks non_replicated_deduplication_window: %s", name, ddl)
		}
	}
}

func testMigrateRefuses(t *testing.T, open Opener) {
	table := func(name string) string {
		return "CREATE TABLE IF NOT EXISTS " + name + " (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
	}
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name   string
		before fstest.MapFS // applied first, must succeed
		fsys   fstest.MapFS
		want   error // nil: must succeed
		tables []string
	}{
		{
			name:   "multi statement file with comments",
			fsys:   fstest.MapFS{"0001_two.sql": file("-- two tables\n" + table("a") + "\n-- the second one\n" + table("b") + "-- trailing comment\n")},
			tables: []string{"a", "b"},
		},
		{
			name:   "non sql files ignored",
			fsys:   fstest.MapFS{"0001_a.sql": file(table("a")), "README.md": file("notes")},
			tables: []string{"a"},
		},
		{
			name: "gap",
			fsys: fstest.MapFS{"0001_a.sql": file(table("a")), "0003_c.sql": file(table("c"))},
			want: store.ErrMigrationGap,
		},
		{
			name: "not starting at one",
			fsys: fstest.MapFS{"0002_b.sql": file(table("b"))},
			want: store.ErrMigrationGap,
		},
		{
			name: "duplicate version",
			fsys: fstest.MapFS{"0001_a.sql": file(table("a")), "0001_b.sql": file(table("b"))},
			want: store.ErrMigrationDuplicate,
		},
		{
			name: "bad file name",
			fsys: fstest.MapFS{"1_a.sql": file(table("a"))},
			want: store.ErrMigrationName,
		},
		{
			name:   "edited after apply",
			before: fstest.MapFS{"0001_a.sql": file(table("a"))},
			fsys:   fstest.MapFS{"0001_a.sql": file(table("a") + "-- edited\n")},
			want:   store.ErrMigrationEdited,
		},
		{
			name:   "database ahead of binary",
			before: fstest.MapFS{"0001_a.sql": file(table("a")), "0002_b.sql": file(table("b"))},
			fsys:   fstest.MapFS{"0001_a.sql": file(table("a"))},
			want:   store.ErrMigrationUnknown,
		},
		{
			name:   "new migration on top",
			before: fstest.MapFS{"0001_a.sql": file(table("a"))},
			fsys:   fstest.MapFS{"0001_a.sql": file(table("a")), "0002_b.sql": file(table("b"))},
			tables: []string{"a", "b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewDatabase(t, open)
			ctx := t.Context()
			if tc.before != nil {
				if _, err := store.Migrate(ctx, s, tc.before); err != nil {
					t.Fatalf("setup migrate: %v", err)
				}
			}
			_, err := store.Migrate(ctx, s, tc.fsys)
			if tc.want != nil {
				var me *store.MigrationError
				if !errors.Is(err, tc.want) || !errors.As(err, &me) {
					t.Fatalf("Migrate error = %v, want a *MigrationError wrapping %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if _, err := store.CountRows(ctx, s, tc.tables...); err != nil {
				t.Errorf("tables %v not all created: %v", tc.tables, err)
			}
		})
	}
}

// roundTripColumns is a table with a column of every type a Batch carries.
var roundTripColumns = []struct{ name, typ string }{
	{"id", "UInt32"},
	{"s", "String"},
	{"lc", "LowCardinality(String)"},
	{"i64", "Int64"},
	{"i32", "Int32"},
	{"u64", "UInt64"},
	{"f64", "Float64"},
	{"b", "Bool"},
	{"ts", "DateTime64(3, 'UTC')"},
	{"ts9", "DateTime64(9, 'UTC')"},
	{"dt", "DateTime('UTC')"},
	{"arr", "Array(String)"},
	{"ai", "Array(Int64)"},
	{"n", "Nullable(Int64)"},
	{"ns", "Nullable(String)"},
}

// Named types such as event.SKU are stored by their underlying kind.
type (
	namedString string
	namedInt    int64
)

func testRoundTripTable(t *testing.T, open Opener) {
	s := NewDatabase(t, open)
	ctx := t.Context()
	var cols, defs []string
	for _, c := range roundTripColumns {
		cols = append(cols, c.name)
		defs = append(defs, c.name+" "+c.typ)
	}
	ddl := "CREATE TABLE rt (" + strings.Join(defs, ", ") + ") ENGINE = MergeTree ORDER BY id"
	if err := s.Exec(ctx, ddl); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t1 := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.UTC)
	t2 := time.Date(1999, 12, 31, 1, 2, 3, 4_000_000, time.FixedZone("X", 5*3600)) // not UTC on input
	weird := "quote' dq\" back\\ tab\t nl\n cr\r nul\x00 ctl\x01 del\x7f ü 日本 \xff\xfe invalid utf8"
	rows := [][]any{
		{uint32(1), "plain", "a", int64(math.MinInt64), int32(math.MinInt32), uint64(math.MaxUint64), -1.5, true, t1, t1, t1,
			[]string{"x", "y"}, []int64{1, -2}, nil, nil},
		{uint32(2), weird, "b", int64(math.MaxInt64), int32(math.MaxInt32), uint64(0), math.Inf(1), false, t2, t2, t2,
			[]string{}, []int64{}, int64(42), weird},
		{uint32(3), "", "", int64(0), int32(0), uint64(1) << 63, math.SmallestNonzeroFloat64, true, time.Unix(0, 0), time.Unix(0, 0), time.Unix(0, 0),
			[]string{"", weird}, []int64{math.MaxInt64}, int64(-1), ""},
		{uint32(4), "nan", namedString("c"), namedInt(1), int32(1), uint64(1), math.NaN(), false, t1, t1, t1,
			[]namedString{"a"}, []int64{0}, nil, nil},
	}
	if err := s.Insert(ctx, &store.Batch{Table: "rt", Columns: cols, Rows: rows}); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	res, err := s.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM rt ORDER BY id")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	for i, c := range roundTripColumns {
		if i >= len(res.Columns) || res.Columns[i].Name != c.name || res.Columns[i].Type != c.typ {
			t.Errorf("column %d = %+v, want {%s %s}", i, res.Columns[min(i, len(res.Columns)-1)], c.name, c.typ)
		}
	}
	ms := func(tm time.Time) time.Time { return tm.UTC().Truncate(time.Millisecond) }
	sec := func(tm time.Time) time.Time { return tm.UTC().Truncate(time.Second) }
	epoch := time.Unix(0, 0).UTC()
	want := [][]any{
		{uint64(1), "plain", "a", int64(math.MinInt64), int64(math.MinInt32), uint64(math.MaxUint64), -1.5, true, ms(t1), t1, sec(t1),
			[]any{"x", "y"}, []any{int64(1), int64(-2)}, nil, nil},
		{uint64(2), weird, "b", int64(math.MaxInt64), int64(math.MaxInt32), uint64(0), math.Inf(1), false, ms(t2), t2.UTC(), sec(t2),
			[]any{}, []any{}, int64(42), weird},
		{uint64(3), "", "", int64(0), int64(0), uint64(1) << 63, math.SmallestNonzeroFloat64, true, epoch, epoch, epoch,
			[]any{"", weird}, []any{int64(math.MaxInt64)}, int64(-1), ""},
		{uint64(4), "nan", "c", int64(1), int64(1), uint64(1), math.NaN(), false, ms(t1), t1, sec(t1),
			[]any{"a"}, []any{int64(0)}, nil, nil},
	}
	CompareRows(t, res, want)
}

func testRoundTripComputed(t *testing.T, open Opener) {
	s := NewDatabase(t, open)
	tests := []struct {
		expr, typ string
		want      any
	}{
		{"toInt8(-5)", "Int8", int64(-5)},
		{"toInt16(-300)", "Int16", int64(-300)},
		{"toUInt8(200)", "UInt8", uint64(200)},
		{"toUInt16(60000)", "UInt16", uint64(60000)},
		{"toUInt32(4000000000)", "UInt32", uint64(4000000000)},
		{"toFloat32(0.5)", "Float32", 0.5},
		{"toInt128(-1)", "Int128", big.NewInt(-1)},
		{"toUInt256('123456789012345678901234567890')", "UInt256", mustBig("123456789012345678901234567890")},
		{"toDate('2024-02-29')", "Date", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"toDate32('1950-06-01')", "Date32", time.Date(1950, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"toDateTime('2024-01-02 03:04:05', 'UTC')", "DateTime('UTC')", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"toDateTime64('1960-01-02 03:04:05.5', 1, 'UTC')", "DateTime64(1, 'UTC')", time.Date(1960, 1, 2, 3, 4, 5, 500_000_000, time.UTC)},
		{"toDateTime64('2024-01-02 03:04:05.123', 3, 'Asia/Tokyo')", "DateTime64(3, 'Asia/Tokyo')", time.Date(2024, 1, 1, 18, 4, 5, 123_000_000, time.UTC)},
		{"toDecimal64(12.345, 3)", "Decimal(18, 3)", 12.345},
		{"toDecimal128('-0.01', 2)", "Decimal(38, 2)", -0.01},
		{"CAST('b', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)')", "Enum8('a' = 1, 'b' = 2)", "b"},
		{"toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0')", "UUID", "61f0c404-5cb3-11e7-907b-a6006ad3dba0"},
		{"toIPv4('10.1.2.3')", "IPv4", "10.1.2.3"},
		{"toFixedString('ab', 3)", "FixedString(3)", "ab\x00"},
		{"toLowCardinality('lc')", "LowCardinality(String)", "lc"},
		{"tuple(1, 'x')", "Tuple(UInt8, String)", []any{uint64(1), "x"}},
		{"CAST((1, 'x'), 'Tuple(a UInt8, b String)')", "Tuple(\n    a UInt8,\n    b String)", []any{uint64(1), "x"}},
		{"map('k', 1, 'j', 2)", "Map(String, UInt8)", map[string]any{"k": uint64(1), "j": uint64(2)}},
		{"[[1, 2], [3]]", "Array(Array(UInt8))", []any{[]any{uint64(1), uint64(2)}, []any{uint64(3)}}},
		{"[NULL, 1]", "Array(Nullable(UInt8))", []any{nil, uint64(1)}},
		{"NULL", "Nullable(Nothing)", nil},
		{"true", "Bool", true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			res, err := s.Query(t.Context(), "SELECT "+tc.expr+" AS v")
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if len(res.Columns) != 1 || len(res.Rows) != 1 {
				t.Fatalf("got %d columns, %d rows", len(res.Columns), len(res.Rows))
			}
			if got := res.Columns[0].Type; normType(got) != normType(tc.typ) {
				t.Errorf("type = %q, want %q", got, tc.typ)
			}
			if !Equal(res.Rows[0][0], tc.want) {
				t.Errorf("value = %#v, want %#v", res.Rows[0][0], tc.want)
			}
		})
	}
}

// normType drops the whitespace servers are free to vary (ClickHouse
// pretty-prints named tuples over several lines).
func normType(s string) string { return strings.Join(strings.Fields(s), "") }

func mustBig(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return v
}

func testCoreTables(t *testing.T, open Opener) {
	s := Migrated(t, open)
	ctx := t.Context()
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := s.Insert(ctx, &store.Batch{
		Table: "orders",
		Columns: []string{"event_id", "ts", "order_id", "lines.sku", "lines.qty", "ship_postal_code", "ship_country",
			"ship_lat", "ship_lon", "service_level", "promised_by", "src_topic", "src_partition", "src_offset", "ingested_at"},
		Rows: [][]any{{"o-1", ts, "ORD-1", []string{"A", "B"}, []int64{2, 3}, "1011", "NL", 52.37, 4.89, "express",
			ts.Add(48 * time.Hour), "stockflow.orders.v1", int32(0), int64(7), ts}},
	})
	if err != nil {
		t.Fatalf("insert orders: %v", err)
	}
	res, err := s.Query(ctx, "SELECT order_id, lines.sku AS sku, lines.qty AS qty FROM orders FINAL ARRAY JOIN lines ORDER BY sku")
	if err != nil {
		t.Fatalf("query orders: %v", err)
	}
	CompareRows(t, res, [][]any{{"ORD-1", "A", int64(2)}, {"ORD-1", "B", int64(3)}})

	err = s.Insert(ctx, &store.Batch{
		Table: "campaigns",
		Columns: []string{"event_id", "ts", "campaign_id", "skus", "category", "regions", "warehouses", "start", "end",
			"expected_uplift", "src_topic", "src_partition", "src_offset", "ingested_at"},
		Rows: [][]any{{"c-1", ts, "SPRING", []string{"A"}, "", []string{"EU"}, []string{}, ts, ts.Add(24 * time.Hour), 0.25,
			"stockflow.campaigns.v1", int32(1), int64(9), ts}},
	})
	if err != nil {
		t.Fatalf("insert campaigns: %v", err)
	}
	res, err = s.Query(ctx, "SELECT campaign_id, `start`, `end`, regions FROM campaigns FINAL")
	if err != nil {
		t.Fatalf("query campaigns: %v", err)
	}
	CompareRows(t, res, [][]any{{"SPRING", ts, ts.Add(24 * time.Hour), []any{"EU"}}})

	// Leaving out ingested_at fills it with the insert time.
	err = s.Insert(ctx, &store.Batch{
		Table:   "dlq",
		Columns: []string{"ts", "src_topic", "src_partition", "src_offset", "event_type", "reason", "message", "key", "value"},
		Rows:    [][]any{{ts, "stockflow.sales.v1", int32(3), int64(11), "sale", "malformed_json", "unexpected EOF", "A", "{\"sku\":\xff"}},
	})
	if err != nil {
		t.Fatalf("insert dlq: %v", err)
	}
	res, err = s.Query(ctx, "SELECT value FROM dlq")
	if err != nil {
		t.Fatal(err)
	}
	CompareRows(t, res, [][]any{{"{\"sku\":\xff"}})
}

// salesBatch builds n sales rows with event ids prefix-0 … prefix-(n-1).
func salesBatch(prefix string, n int, sku string, qty int64, ts time.Time) *store.Batch {
	b := &store.Batch{
		Table: "sales",
		Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency",
			"src_topic", "src_partition", "src_offset", "ingested_at"},
	}
	for i := range n {
		b.Rows = append(b.Rows, []any{fmt.Sprintf("%s-%d", prefix, i), ts.Add(time.Duration(i) * time.Second), sku, "W1", qty, "",
			"store", 9.99, "EUR", "stockflow.sales.v1", int32(0), int64(i), ts})
	}
	return b
}

func testDedupToken(t *testing.T, open Opener) {
	s := Migrated(t, open)
	ctx := t.Context()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	count := func() uint64 {
		t.Helper()
		c, err := store.CountRows(ctx, s, "sales")
		if err != nil {
			t.Fatal(err)
		}
		return c["sales"]
	}
	b := salesBatch("e", 3, "A", 1, ts)
	b.DedupToken = "sales-0-0-2"
	for i := range 2 {
		if err := s.Insert(ctx, b); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if n := count(); n != 3 {
		t.Errorf("after the same token twice: %d rows, want 3", n)
	}
	b2 := salesBatch("e", 3, "A", 1, ts)
	b2.DedupToken = "sales-0-0-2-other"
	if err := s.Insert(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 6 {
		t.Errorf("same rows under another token: %d rows, want 6 (the token, not the data, decides)", n)
	}
	// Without a token the block's hash decides: an identical block is
	// dropped too (non_replicated_deduplication_window), a different one is
	// kept.
	b3 := salesBatch("f", 2, "B", 1, ts)
	for range 2 {
		if err := s.Insert(ctx, b3); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 8 {
		t.Errorf("identical block without token twice: %d rows, want 8", n)
	}
	res, err := s.Query(ctx, "SELECT count() FROM sales FINAL")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.Uint64(0, 0); n != 5 {
		t.Errorf("count() FINAL = %d, want 5 distinct events", n)
	}
}

// testDedupViews proves that a batch retried with the same token lands
// once in sales and once in sales_daily, the target of the materialized
// view sales_daily_mv (sql/migrations/0002_windows.sql), counted without
// FINAL. The retry carries other ingestion times, as a sink replay does: the
// token, not the data, decides.
//
// It also shows why every view target sets non_replicated_deduplication_window
// (DESIGN.md §5): a second view into a target without it counts the
// retried batch twice, even though sales dropped it.
func testDedupViews(t *testing.T, open Opener) {
	s := Migrated(t, open)
	ctx := t.Context()
	exec := func(q string) {
		t.Helper()
		if err := s.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE sales_daily_nowindow (day Date, sku LowCardinality(String), warehouse LowCardinality(String),
		units Int64, revenue Float64, sales UInt64) ENGINE = SummingMergeTree ORDER BY (sku, warehouse, day)`)
	exec(`CREATE MATERIALIZED VIEW sales_daily_nowindow_mv TO sales_daily_nowindow AS
		SELECT toDate(ts, 'UTC') AS day, sku, warehouse, toInt64(sum(qty)) AS units, sum(qty * unit_price) AS revenue, count() AS sales
		FROM sales GROUP BY day, sku, warehouse`)
	// Two months, so the insert is split into two blocks (one per
	// partition), each deduplicated on its own.
	ts := time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)
	batch := func(ingested time.Time) *store.Batch {
		b := salesBatch("v", 6, "A", 2, ts)
		for i, row := range b.Rows {
			row[1] = ts.Add(time.Duration(i) * 30 * time.Minute)
			row[len(row)-1] = ingested
		}
		b.DedupToken = "stockflow.accepted.v1-0-10-15"
		return b
	}
	sums := func(step string, raw, daily, nowindow int64) {
		t.Helper()
		res, err := s.Query(ctx, `SELECT
			(SELECT toInt64(count()) FROM sales), (SELECT toInt64(sum(qty)) FROM sales),
			(SELECT toInt64(sum(units)) FROM sales_daily), (SELECT toInt64(sum(sales)) FROM sales_daily),
			(SELECT toInt64(sum(units)) FROM sales_daily_nowindow)`)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int64, 5)
		for i := range got {
			if got[i], err = res.Int64(0, i); err != nil {
				t.Fatal(err)
			}
		}
		want := []int64{raw / 2, raw, daily, daily / 2, nowindow}
		if !slices.Equal(got, want) {
			t.Errorf("%s: sales count %d sum %d, sales_daily units %d sales %d, target without window units %d; want %v",
				step, got[0], got[1], got[2], got[3], got[4], want)
		}
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Insert(ctx, batch(t0)); err != nil {
		t.Fatal(err)
	}
	sums("first insert", 12, 12, 12)
	if err := s.Insert(ctx, batch(t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	sums("retried with the same token", 12, 12, 24)
	b := batch(t0)
	b.DedupToken += "-other"
	if err := s.Insert(ctx, b); err != nil {
		t.Fatal(err)
	}
	sums("the same rows under another token", 24, 24, 36)
}

func testParams(t *testing.T, open Opener) {
	s := Migrated(t, open)
	ctx := t.Context()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Insert(ctx, salesBatch("p", 4, "SKU-'1\\", 2, ts)); err != nil {
		t.Fatal(err)
	}
	tricky := "it's a\ttab, a \\backslash\\, a\nnewline, ünïcode"
	tm := time.Date(2026, 5, 6, 7, 8, 9, 987654321, time.UTC)
	tests := []struct {
		name   string
		query  string
		params []store.Param
		want   []any
		err    error
	}{
		{"plain string", "SELECT {s:String}", []store.Param{{Name: "s", Value: "SKU-1"}}, []any{"SKU-1"}, nil},
		{"StringParam literal", "SELECT {s:String}, length({s:String})", []store.Param{store.StringParam("s", tricky)},
			[]any{tricky, uint64(len(tricky))}, nil},
		{"escaped text value", "SELECT {s:String}", []store.Param{{Name: "s", Value: `a\tb`}}, []any{"a\tb"}, nil},
		{"int64 max", "SELECT {n:Int64}", []store.Param{store.IntParam("n", math.MaxInt64)}, []any{int64(math.MaxInt64)}, nil},
		{"uint64 max", "SELECT {n:UInt64}", []store.Param{{Name: "n", Value: "18446744073709551615"}}, []any{uint64(math.MaxUint64)}, nil},
		{"float", "SELECT {f:Float64}", []store.Param{{Name: "f", Value: "0.1"}}, []any{0.1}, nil},
		{"datetime64", "SELECT {t:DateTime64(3, 'UTC')}", []store.Param{store.TimeParam("t", tm)}, []any{tm.Truncate(time.Millisecond)}, nil},
		{"array", "SELECT {a:Array(String)}", []store.Param{store.ArrayParam("a", []string{"a", "b'c", `d\e`, "", "t\tn\n"})},
			[]any{[]any{"a", "b'c", `d\e`, "", "t\tn\n"}}, nil},
		{"table filter", "SELECT count(), sum(qty) FROM sales WHERE sku = {sku:String} AND ts >= {from:DateTime64(3, 'UTC')}",
			[]store.Param{store.StringParam("sku", "SKU-'1\\"), store.TimeParam("from", ts.Add(time.Second))}, []any{uint64(3), int64(6)}, nil},
		{"identifier", "SELECT count() FROM {tbl:Identifier}", []store.Param{{Name: "tbl", Value: "sales"}}, []any{uint64(4)}, nil},
		{"reused and spaced", "SELECT { x : UInt8 } + {x:UInt8}", []store.Param{{Name: "x", Value: "2"}}, []any{uint64(4)}, nil},
		{"placeholder in literal", "SELECT '{x:String}' -- {y:String}\n", nil, []any{"{x:String}"}, nil},
		{"missing", "SELECT {missing:String}", []store.Param{{Name: "other", Value: "1"}}, nil, store.ErrMissingParam},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Query(ctx, tc.query, tc.params...)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			CompareRows(t, res, [][]any{tc.want})
		})
	}
	// A parameter given to an earlier statement is not silently reused.
	if _, err := s.Query(ctx, "SELECT {s:String}"); !errors.Is(err, store.ErrMissingParam) {
		t.Errorf("query without its parameter: error = %v, want ErrMissingParam", err)
	}
	if err := s.Exec(ctx, "ALTER TABLE sales DELETE WHERE sku = {sku:String} AND src_offset = {off:Int64} SETTINGS mutations_sync = 2",
		store.StringParam("sku", "SKU-'1\\"), store.IntParam("off", 0)); err != nil {
		t.Fatalf("Exec with params: %v", err)
	}
	if c, err := store.CountRows(ctx, s, "sales"); err != nil || c["sales"] != 3 {
		t.Errorf("after parameterised delete: %v rows (%v), want 3", c["sales"], err)
	}
}

func testErrors(t *testing.T, open Opener) {
	s := NewDatabase(t, open)
	ctx := t.Context()
	tests := []struct {
		name string
		run  func() error
		code int32
	}{
		{"unknown table", func() error { _, err := s.Query(ctx, "SELECT * FROM no_such_table"); return err }, 60},
		{"syntax", func() error { return s.Exec(ctx, "CREAT TABLE x") }, 62},
		{"unknown function", func() error { _, err := s.Query(ctx, "SELECT no_such_function()"); return err }, 46},
		{"insert unknown table", func() error {
			return s.Insert(ctx, &store.Batch{Table: "no_such_table", Columns: []string{"x"}, Rows: [][]any{{int64(1)}}})
		}, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			code, ok := store.ExceptionCode(err)
			if !ok || code != tc.code {
				t.Fatalf("error = %v (code %d, %v), want a *store.Exception with code %d", err, code, ok, tc.code)
			}
		})
	}
	bad := []*store.Batch{
		nil,
		{Table: "", Columns: []string{"x"}},
		{Table: "t; DROP", Columns: []string{"x"}},
		{Table: "t", Columns: nil},
		{Table: "t", Columns: []string{"x"}, Rows: [][]any{{1, 2}}},
	}
	for i, b := range bad {
		if err := s.Insert(ctx, b); err == nil {
			t.Errorf("invalid batch %d accepted", i)
		}
	}
	// The store is still usable after errors.
	if _, err := s.Query(ctx, "SELECT 1"); err != nil {
		t.Errorf("query after errors: %v", err)
	}
}

// movement is one stock_movements row of the oracle test.
type movement struct {
	id, sku, wh, kind string
	qty               int64
	at                int // minutes after the test's base time
}

func testVerifyStock(t *testing.T, open Opener) {
	s := Migrated(t, open)
	ctx := t.Context()
	base := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	moves := []movement{
		// A/W1: the count at 50 (qty 50) is the latest; the count at 30
		// arrives after it (out of order) and must not win.
		{"m01", "A", "W1", "receipt", 100, 10},
		{"m05", "A", "W1", "count", 50, 50},
		{"m03", "A", "W1", "count", 80, 30},
		{"m04", "A", "W1", "receipt", 20, 40},     // before the latest count: ignored
		{"m00", "A", "W1", "receipt", 9, 50},      // at the count's ts: not strictly after, ignored
		{"m06", "A", "W1", "damage", 5, 60},       // -5
		{"m08", "A", "W1", "transfer_out", 7, 80}, // -7
		{"m09", "A", "W1", "return", 2, 90},       // +2
		{"m10", "A", "W1", "adjustment", -4, 100}, // -4
		{"m11", "A", "W1", "mystery", 99, 110},    // unknown kind: 0
		// A/W2: no count at all.
		{"n01", "A", "W2", "receipt", 30, 10},
		{"n02", "A", "W2", "transfer_in", 12, 20},
		{"n04", "A", "W2", "adjustment", 3, 40},
		// B/W1: two counts at the same ts; the greater event_id wins.
		{"c2", "B", "W1", "count", 20, 50},
		{"c1", "B", "W1", "count", 10, 50},
		{"b0", "B", "W1", "receipt", 1, 40},
		// C/W1: events only, no stored level.
		{"x1", "C", "W1", "receipt", 5, 10},
	}
	mb := &store.Batch{
		Table: "stock_movements",
		Columns: []string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "delta", "ref",
			"src_topic", "src_partition", "src_offset", "ingested_at"},
	}
	for i, m := range moves {
		// delta holds nonsense on purpose: the oracle must not read it.
		mb.Rows = append(mb.Rows, []any{m.id, at(m.at), m.sku, m.wh, m.kind, m.qty, int64(1000), "",
			"stockflow.stock.v1", int32(0), int64(i), base})
	}
	if err := s.Insert(ctx, mb); err != nil {
		t.Fatal(err)
	}
	sales := &store.Batch{
		Table: "sales",
		Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "order_id", "channel", "unit_price", "currency",
			"src_topic", "src_partition", "src_offset", "ingested_at"},
	}
	for _, sl := range []struct {
		id, sku, wh string
		qty         int64
		at          int
	}{
		{"s01", "A", "W1", 10, 20}, // before the latest count: ignored
		{"s02", "A", "W1", 3, 70},  // -3
		{"s03", "A", "W2", 5, 30},  // -5
		{"s04", "B", "W1", 4, 60},  // -4
	} {
		sales.Rows = append(sales.Rows, []any{sl.id, at(sl.at), sl.sku, sl.wh, sl.qty, "", "store", 1.0, "EUR",
			"stockflow.sales.v1", int32(0), int64(0), base})
	}
	if err := s.Insert(ctx, sales); err != nil {
		t.Fatal(err)
	}
	// A replayed sale under another token lands twice in the raw table;
	// FINAL must count it once.
	replay := &store.Batch{Table: "sales", Columns: sales.Columns, Rows: sales.Rows[1:2], DedupToken: "replay"}
	if err := s.Insert(ctx, replay); err != nil {
		t.Fatal(err)
	}
	levels := &store.Batch{
		Table:   "stock_levels",
		Columns: []string{"sku", "warehouse", "on_hand", "reserved", "available", "last_event_ts", "version", "updated_at"},
		Rows: [][]any{
			{"A", "W1", int64(999), int64(0), int64(999), at(10), uint64(1), base},
			{"A", "W1", int64(33), int64(0), int64(33), at(110), uint64(2), base}, // higher version wins
			{"A", "W2", int64(40), int64(0), int64(40), at(40), uint64(1), base},
			{"B", "W1", int64(15), int64(0), int64(15), at(60), uint64(1), base}, // disagrees with the oracle
			{"B", "W2", int64(7), int64(0), int64(7), at(60), uint64(1), base},   // no events at all
		},
	}
	if err := s.Insert(ctx, levels); err != nil {
		t.Fatal(err)
	}
	res, err := s.Query(ctx, sql.MustQuery(sql.VerifyStock))
	if err != nil {
		t.Fatalf("verify_stock: %v", err)
	}
	wantCols := []string{"sku", "warehouse", "expected", "stored"}
	for i, c := range wantCols {
		if i >= len(res.Columns) || res.Columns[i].Name != c {
			t.Fatalf("columns = %+v, want %v", res.Columns, wantCols)
		}
	}
	// Worked by hand:
	//   A/W1: count 50 at 50; then -5 -3 -7 +2 -4 (+0 mystery)  = 33
	//   A/W2: 30 + 12 - 5 + 3                                    = 40
	//   B/W1: count c2 = 20 at 50; then sale -4                  = 16
	//   B/W2: no events                                          = 0
	//   C/W1: receipt 5                                          = 5
	CompareRows(t, res, [][]any{
		{"A", "W1", int64(33), int64(33)},
		{"A", "W2", int64(40), int64(40)},
		{"B", "W1", int64(16), int64(15)},
		{"B", "W2", int64(0), int64(7)},
		{"C", "W1", int64(5), int64(0)},
	})
}

// testVerifyReorders runs the reorder oracle (queries/verify_reorders.sql,
// DESIGN.md §3 invariant 5) on a small hand-worked example, so both modes
// give the same answer. cmd/stockflow's TestVerifyReorders works through
// more cases and the examples' contents.
func testVerifyReorders(t *testing.T, open Opener) {
	s := Migrated(t, open)
	ctx := t.Context()
	base := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return base.Add(time.Duration(n) * 24 * time.Hour) }
	cols := []string{"reorder_id", "kind", "status", "ts", "sku", "warehouse", "cycle", "qty", "received_qty",
		"src_partition", "src_offset", "ingested_at"}
	row := func(id, kind, status string, ts time.Time, sku string, off int64) []any {
		return []any{id, kind, status, ts, sku, "W1", int64(1), int64(10), int64(10), int32(0), off, base}
	}
	rows := [][]any{
		// A: 1 is received on day 2, the instant 2 is ordered (back to
		// back, no overlap); 2 is cancelled on day 4.
		row("RO-A-W1-1", "purchase", "ordered", day(0), "A", 0),
		row("RO-A-W1-1", "purchase", "received", day(2), "A", 1),
		row("RO-A-W1-2", "purchase", "ordered", day(2), "A", 2),
		row("RO-A-W1-2", "purchase", "cancelled", day(4), "A", 3),
		// B: 1 is never closed and 2 opens while it is open (overlap);
		// 2 is received without a receipt (unmatched).
		row("RO-B-W1-1", "purchase", "ordered", day(0), "B", 4),
		row("RO-B-W1-2", "purchase", "ordered", day(1), "B", 5),
		row("RO-B-W1-2", "purchase", "received", day(3), "B", 6),
	}
	if err := s.Insert(ctx, &store.Batch{Table: "reorders", Columns: cols, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	// A replay of B-2's receipt record under another token lands twice in
	// the raw table; FINAL must count it once.
	if err := s.Insert(ctx, &store.Batch{Table: "reorders", Columns: cols, Rows: rows[6:7], DedupToken: "replay"}); err != nil {
		t.Fatal(err)
	}
	mb := &store.Batch{
		Table:   "stock_movements",
		Columns: []string{"event_id", "ts", "sku", "warehouse", "kind", "qty", "delta", "ref", "src_topic", "src_partition", "src_offset", "ingested_at"},
		Rows: [][]any{
			{"m1", day(2), "A", "W1", "receipt", int64(10), int64(10), "RO-A-W1-1", "stockflow.stock.v1", int32(0), int64(0), base},
			{"m2", day(3), "B", "W1", "adjustment", int64(10), int64(10), "RO-B-W1-2", "stockflow.stock.v1", int32(0), int64(1), base},
		},
	}
	if err := s.Insert(ctx, mb); err != nil {
		t.Fatal(err)
	}
	res, err := s.Query(ctx, "SELECT problem, n, arrayMap(e -> (e.3, e.7), examples) FROM ("+sql.MustQuery(sql.VerifyReorders)+")")
	if err != nil {
		t.Fatalf("verify_reorders: %v", err)
	}
	CompareRows(t, res, [][]any{
		{"checked", uint64(4), []any{}},
		{"overlap", uint64(1), []any{[]any{"RO-B-W1-1", "RO-B-W1-2"}}},
		{"unmatched_receipt", uint64(1), []any{[]any{"RO-B-W1-2", ""}}},
	})
}

// testVerifyRouting runs the routing oracle (queries/verify_routing.sql,
// DESIGN.md §3 invariant 4) on a small hand-worked example, so both modes
// give the same answer. cmd/stockflow's TestVerifyRouting works through
// more cases and the examples' contents.
func testVerifyRouting(t *testing.T, open Opener) {
	s := Migrated(t, open)
	ctx := t.Context()
	base := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	cols := []string{"decision_id", "order_id", "ts", "status", "reason", "final", "attempt", "src_partition", "src_offset", "ingested_at"}
	row := func(order string, attempt int64, final bool, off int64) []any {
		return []any{order + "/" + fmt.Sprint(attempt), order, base.Add(time.Duration(off) * time.Second), "routed", "", final, attempt, int32(0), off, base}
	}
	rows := [][]any{
		// O1: a non-final attempt, then the final one.
		row("O1", 1, false, 0),
		row("O1", 2, true, 1),
		// O2: two finals; O3: none.
		row("O2", 1, true, 2),
		row("O2", 2, true, 3),
		row("O3", 1, false, 4),
	}
	if err := s.Insert(ctx, &store.Batch{Table: "routing_decisions", Columns: cols, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	// A replay of O1's final record under another token lands twice in the
	// raw table; FINAL must count it once.
	if err := s.Insert(ctx, &store.Batch{Table: "routing_decisions", Columns: cols, Rows: rows[1:2], DedupToken: "replay"}); err != nil {
		t.Fatal(err)
	}
	lb := &store.Batch{
		Table:   "stock_levels",
		Columns: []string{"sku", "warehouse", "on_hand", "reserved", "available", "last_event_ts", "version", "updated_at"},
		Rows: [][]any{
			{"A", "W1", int64(2), int64(3), int64(-1), base, uint64(1), base},  // reserved > on hand: reported
			{"A", "W2", int64(-1), int64(0), int64(-1), base, uint64(1), base}, // shrinkage, nothing reserved
			{"B", "W1", int64(3), int64(3), int64(0), base, uint64(1), base},
		},
	}
	if err := s.Insert(ctx, lb); err != nil {
		t.Fatal(err)
	}
	rb := &store.Batch{
		Table:   "reservation_results",
		Columns: []string{"reservation_id", "order_id", "sku", "warehouse", "qty", "status", "available", "reason", "ts", "src_partition", "src_offset"},
		Rows: [][]any{
			{"O1/A/W1/1", "O1", "A", "W1", int64(2), "accepted", int64(0), "", base, int32(0), int64(0)},
			{"O2/B/W1/1", "O2", "B", "W1", int64(3), "accepted", int64(-2), "", base, int32(0), int64(1)}, // oversold
			{"O3/B/W1/1", "O3", "B", "W1", int64(9), "rejected", int64(-8), "insufficient_stock", base, int32(0), int64(2)},
		},
	}
	if err := s.Insert(ctx, rb); err != nil {
		t.Fatal(err)
	}
	res, err := s.Query(ctx, "SELECT problem, n, arrayMap(e -> (e.1, e.5, e.6, e.9, e.10), examples) FROM ("+sql.MustQuery(sql.VerifyRouting)+")")
	if err != nil {
		t.Fatalf("verify_routing: %v", err)
	}
	CompareRows(t, res, [][]any{
		{"checked", uint64(3), []any{}},
		{"multiple_final", uint64(1), []any{[]any{"O2", "", "", "", int64(0)}}},
		{"negative_available", uint64(1), []any{[]any{"O2", "B", "W1", "O2/B/W1/1", int64(-2)}}},
		{"no_final", uint64(1), []any{[]any{"O3", "", "", "", int64(0)}}},
		{"reservations_checked", uint64(2), []any{}},
		{"reserved_above_on_hand", uint64(1), []any{[]any{"", "A", "W1", "", int64(0)}}},
	})
}

func testIsolation(t *testing.T, open Opener) {
	a := NewDatabase(t, open)
	b := NewDatabase(t, open)
	ctx := t.Context()
	for _, s := range []store.Store{a, b} {
		if err := s.Exec(ctx, "CREATE TABLE kv (k String, v String) ENGINE = MergeTree ORDER BY k"); err != nil {
			t.Fatal(err)
		}
		if err := s.Insert(ctx, &store.Batch{Table: "kv", Columns: []string{"k", "v"}, Rows: [][]any{{"db", s.Database()}}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // interleave the two databases
		for _, s := range []store.Store{a, b, b, a} {
			res, err := s.Query(ctx, "SELECT v FROM kv")
			if err != nil {
				t.Fatal(err)
			}
			CompareRows(t, res, [][]any{{s.Database()}})
		}
	}
}

func testConcurrent(t *testing.T, open Opener) {
	a := NewDatabase(t, open)
	b := NewDatabase(t, open)
	ctx := t.Context()
	for _, s := range []store.Store{a, b} {
		if err := s.Exec(ctx, "CREATE TABLE kv (k UInt64, v String) ENGINE = MergeTree ORDER BY k"); err != nil {
			t.Fatal(err)
		}
	}
	const workers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		s := []store.Store{a, b}[w%2]
		wg.Go(func() {
			for i := range each {
				k := uint64(w*1000 + i)
				err := s.Insert(ctx, &store.Batch{Table: "kv", Columns: []string{"k", "v"}, Rows: [][]any{{k, s.Database()}}})
				if err != nil {
					errs <- err
					return
				}
				res, err := s.Query(ctx, "SELECT v FROM kv WHERE k = {k:UInt64}", store.Param{Name: "k", Value: fmt.Sprint(k)})
				if err != nil {
					errs <- err
					return
				}
				if v, _ := res.String(0, 0); len(res.Rows) != 1 || v != s.Database() {
					errs <- fmt.Errorf("worker %d: key %d read %v from %s", w, k, res.Rows, s.Database())
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, s := range []store.Store{a, b} {
		c, err := store.CountRows(ctx, s, "kv")
		if err != nil {
			t.Fatal(err)
		}
		if c["kv"] != workers/2*each {
			t.Errorf("%s: %d rows, want %d", s.Database(), c["kv"], workers/2*each)
		}
	}
}

func testClose(t *testing.T, open Opener) {
	keep := NewDatabase(t, open) // holds the database while s is closed
	s := open(t, keep.Database())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Query(t.Context(), "SELECT 1"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Query after Close: error = %v, want store.ErrClosed", err)
	}
	if _, err := keep.Query(t.Context(), "SELECT 1"); err != nil {
		t.Errorf("other store after Close: %v", err)
	}
}

// CompareRows fails t unless res holds exactly want, compared with Equal.
func CompareRows(t *testing.T, res *store.Result, want [][]any) {
	t.Helper()
	if len(res.Rows) != len(want) {
		t.Errorf("got %d rows, want %d:\n got  %#v\n want %#v", len(res.Rows), len(want), res.Rows, want)
		return
	}
	for i, wantRow := range want {
		gotRow := res.Rows[i]
		if len(gotRow) != len(wantRow) {
			t.Errorf("row %d: got %d values, want %d", i, len(gotRow), len(wantRow))
			continue
		}
		for j, w := range wantRow {
			if g := gotRow[j]; !Equal(g, w) {
				name := fmt.Sprint(j)
				if j < len(res.Columns) {
					name = res.Columns[j].Name
				}
				t.Errorf("row %d, column %s: got %#v (%T), want %#v (%T)", i, name, g, g, w, w)
			}
		}
	}
}

// Equal compares normalised values: NaN equals NaN, times by instant,
// *big.Int by value, slices and maps element by element.
func Equal(got, want any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.IsNaN(g) && math.IsNaN(w))
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w) && g.Location() == time.UTC
	case *big.Int:
		g, ok := got.(*big.Int)
		return ok && g.Cmp(w) == 0
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !Equal(g[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !Equal(gv, v) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}
