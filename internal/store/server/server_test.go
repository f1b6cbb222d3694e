package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/chtype"
	"github.com/stockflow/stockflow/internal/store/storetest"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		want    Options
		tls     bool
		wantErr bool
	}{
		{dsn: "clickhouse://host", want: Options{Addr: []string{"host:9000"}}},
		{dsn: "clickhouse://user:p%40ss@host:9001/db", want: Options{Addr: []string{"host:9001"}, Username: "user", Password: "p@ss", Database: "db"}},
		{dsn: "clickhouse://u@a:9000,b,[::1]/sf?secure=true&max_open_conns=4&dial_timeout=3s&retries=5",
			want: Options{Addr: []string{"a:9000", "b:9440", "[::1]:9440"}, Username: "u", Database: "sf", MaxOpenConns: 4, DialTimeout: 3 * time.Second, Retries: 5},
			tls:  true},
		{dsn: "tcp://h:9000/?read_timeout=1m&conn_max_lifetime=1h&max_idle_conns=2&retry_backoff=50ms",
			want: Options{Addr: []string{"h:9000"}, ReadTimeout: time.Minute, ConnMaxLifetime: time.Hour, MaxIdleConns: 2, RetryBackoff: 50 * time.Millisecond}},
		{dsn: "clickhouse://h/db?server_name=ch.internal", want: Options{Addr: []string{"h:9440"}, Database: "db"}, tls: true},
		{dsn: "clickhouse://h/db?ca_file=/nonexistent/ca.pem", wantErr: true},
		{dsn: "clickhouse://h/db?cert_file=/nonexistent/client.pem", wantErr: true}, // no key_file
		{dsn: "http://host", wantErr: true},
		{dsn: "clickhouse://", wantErr: true},
		{dsn: "clickhouse://host/db?sekure=true", wantErr: true},
		{dsn: "clickhouse://host/db?max_open_conns=x", wantErr: true},
		{dsn: "clickhouse://host/bad-db", wantErr: true},
		{dsn: "clickhouse://host?max_idle_conns=5&max_open_conns=2", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			got, err := ParseDSN(tc.dsn)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseDSN accepted %q: %+v", tc.dsn, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got.TLS != nil) != tc.tls {
				t.Errorf("TLS = %v, want %v", got.TLS != nil, tc.tls)
			}
			if got.TLS != nil && strings.Contains(tc.dsn, "server_name=ch.internal") && got.TLS.ServerName != "ch.internal" {
				t.Errorf("TLS server name %q, want ch.internal", got.TLS.ServerName)
			}
			got.TLS = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseDSN = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); strings.Contains(s, "p@ss") {
				t.Errorf("String() leaks the password: %s", s)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"minimal", Options{Addr: []string{"localhost:9000"}}, true},
		{"no address", Options{}, false},
		{"address without port", Options{Addr: []string{"localhost"}}, false},
		{"bad database", Options{Addr: []string{"h:1"}, Database: "a;b"}, false},
		{"negative conns", Options{Addr: []string{"h:1"}, MaxOpenConns: -1}, false},
		{"idle over open", Options{Addr: []string{"h:1"}, MaxOpenConns: 1, MaxIdleConns: 2}, false},
		{"negative timeout", Options{Addr: []string{"h:1"}, DialTimeout: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.opts.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	d := Options{Addr: []string{"h:1"}}.withDefaults()
	if d.Database != DefaultDatabase || d.MaxOpenConns != DefaultMaxOpenConns || d.Retries != DefaultRetries || d.MaxIdleConns != d.MaxOpenConns {
		t.Errorf("defaults = %+v", d)
	}
	if n := (Options{Addr: []string{"h:1"}, Retries: -1}).withDefaults().Retries; n != 0 {
		t.Errorf("Retries -1 → %d, want 0 (never)", n)
	}
}

func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = Open(ctx, Options{Addr: []string{addr}, Retries: 1, RetryBackoff: time.Millisecond, DialTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open on a closed port: error = %v, want one naming %s", err, addr)
	}
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{mapError(&clickhouse.Exception{Code: 252, Message: "Too many parts"}), true},
		{mapError(&clickhouse.Exception{Code: 60, Message: "Table x does not exist. (UNKNOWN_TABLE)"}), false},
		{fmt.Errorf("read: %w", io.EOF), true},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{context.Canceled, false},
		{errors.New("bad value"), false},
	}
	for _, tc := range tests {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	err := mapError(fmt.Errorf("query: %w", &clickhouse.Exception{Code: 60, Message: "Table x does not exist. (UNKNOWN_TABLE)"}))
	var ex *store.Exception
	var chex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 60 || ex.Name != "UNKNOWN_TABLE" || !errors.As(err, &chex) {
		t.Errorf("mapError = %#v, want a *store.Exception{60, UNKNOWN_TABLE} that still unwraps to the driver's", err)
	}
}

// TestDriverColumns passes Batch values through coerce into the driver's
// own column implementations and reads them back through normalize: the
// server path's type handling, checked without a server.
func TestDriverColumns(t *testing.T) {
	ts := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("X", 3600))
	tests := []struct {
		typ  string
		in   any
		want any
	}{
		{"String", "a\x00\xff", "a\x00\xff"},
		{"LowCardinality(String)", "lc", "lc"},
		{"FixedString(3)", "ab", "ab\x00"},
		{"Int64", int64(math.MinInt64), int64(math.MinInt64)},
		{"Int64", 7, int64(7)},
		{"Int32", int64(-5), int64(-5)},
		{"Int32", int32(math.MaxInt32), int64(math.MaxInt32)},
		{"UInt32", uint32(7), uint64(7)},
		{"UInt32", int64(7), uint64(7)},
		{"UInt64", uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"UInt8", true, uint64(1)},
		{"Float64", math.Inf(-1), math.Inf(-1)},
		{"Float64", int64(3), 3.0},
		{"Float32", 0.5, 0.5},
		{"Bool", true, true},
		{"DateTime64(3, 'UTC')", ts, ts.UTC().Truncate(time.Millisecond)},
		{"DateTime64(9, 'UTC')", ts, ts.UTC()},
		{"DateTime64(3, 'UTC')", time.Time{}, time.Unix(0, 0).UTC()},
		{"DateTime('UTC')", ts, ts.UTC().Truncate(time.Second)},
		{"Array(String)", []string{"a", ""}, []any{"a", ""}},
		{"Array(Int64)", []int64{1, -2}, []any{int64(1), int64(-2)}},
		{"Array(Int32)", []int64{1, -2}, []any{int64(1), int64(-2)}},
		{"Array(Int64)", []any{int64(3), 4}, []any{int64(3), int64(4)}},
		{"Array(Float64)", []float64{}, []any{}},
		{"Array(Nullable(Int64))", []any{nil, int64(1)}, []any{nil, int64(1)}},
		{"Nullable(Int64)", nil, nil},
		{"Nullable(Int64)", int64(42), int64(42)},
		{"Nullable(String)", "x", "x"},
		{"Int128", big.NewInt(-1), big.NewInt(-1)},
		{"LowCardinality(String)", namedString("sku"), "sku"},
		{"Array(String)", []namedString{"a"}, []any{"a"}},
		{"Int64", namedInt(-3), int64(-3)},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%T", tc.typ, tc.in), func(t *testing.T) {
			ct, err := chtype.Parse(tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			col, err := column.Type(tc.typ).Column("c", &column.ServerContext{Timezone: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			v, err := coerce(ct, tc.in)
			if err != nil {
				t.Fatalf("coerce: %v", err)
			}
			if err := col.AppendRow(v); err != nil {
				t.Fatalf("driver AppendRow(%T): %v", v, err)
			}
			col = wire(t, tc.typ, col)
			dest := reflect.New(col.ScanType())
			if err := col.ScanRow(dest.Interface(), 0); err != nil {
				t.Fatalf("driver ScanRow: %v", err)
			}
			got, err := normalize(ct, dest.Elem().Interface())
			if err != nil {
				t.Fatalf("normalize: %v", err)
			}
			if !storetest.Equal(got, tc.want) {
				t.Errorf("round trip = %#v (%T), want %#v", got, got, tc.want)
			}
		})
	}
	bad := []struct {
		typ string
		in  any
	}{
		{"Int32", int64(math.MaxInt32) + 1},
		{"UInt64", int64(-1)},
		{"Int64", "12"},
		{"String", 12},
		{"DateTime64(3, 'UTC')", "2024-01-01"},
	}
	for _, tc := range bad {
		ct, _ := chtype.Parse(tc.typ)
		if v, err := coerce(ct, tc.in); err == nil {
			t.Errorf("coerce(%s, %#v) = %#v, want an error", tc.typ, tc.in, v)
		}
	}
}

func TestNormalizeDriverTypes(t *testing.T) {
	// Values of column types the suite reads from computed expressions.
	tests := []struct {
		typ  string
		fill func(column.Interface) error
		want any
	}{
		{"Date", func(c column.Interface) error { return c.AppendRow(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)) }, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"Enum8('a' = 1, 'b' = 2)", func(c column.Interface) error { return c.AppendRow("b") }, "b"},
		{"UUID", func(c column.Interface) error { return c.AppendRow("61f0c404-5cb3-11e7-907b-a6006ad3dba0") }, "61f0c404-5cb3-11e7-907b-a6006ad3dba0"},
		{"IPv4", func(c column.Interface) error { return c.AppendRow("10.1.2.3") }, "10.1.2.3"},
		{"Decimal(18, 3)", func(c column.Interface) error { return c.AppendRow("12.345") }, 12.345},
		{"Map(String, UInt8)", func(c column.Interface) error { return c.AppendRow(map[string]uint8{"k": 1}) }, map[string]any{"k": uint64(1)}},
		{"Tuple(UInt8, String)", func(c column.Interface) error { return c.AppendRow([]any{uint8(1), "x"}) }, []any{uint64(1), "x"}},
		{"Tuple(a UInt8, b String)", func(c column.Interface) error { return c.AppendRow(map[string]any{"a": uint8(1), "b": "x"}) }, []any{uint64(1), "x"}},
		{"Array(Array(UInt8))", func(c column.Interface) error { return c.AppendRow([][]uint8{{1, 2}, {3}}) }, []any{[]any{uint64(1), uint64(2)}, []any{uint64(3)}}},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			ct, err := chtype.Parse(tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			col, err := column.Type(tc.typ).Column("c", &column.ServerContext{Timezone: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.fill(col); err != nil {
				t.Fatalf("fill: %v", err)
			}
			col = wire(t, tc.typ, col)
			dest := reflect.New(col.ScanType())
			if err := col.ScanRow(dest.Interface(), 0); err != nil {
				t.Fatalf("ScanRow: %v", err)
			}
			got, err := normalize(ct, dest.Elem().Interface())
			if err != nil {
				t.Fatalf("normalize: %v", err)
			}
			if !storetest.Equal(got, tc.want) {
				t.Errorf("normalize = %#v (%T), want %#v", got, got, tc.want)
			}
		})
	}
}

// wire encodes col as the native protocol sends it and decodes it into a
// fresh column, as rows read from a server are.
func wire(t *testing.T, typ string, col column.Interface) column.Interface {
	t.Helper()
	var buf chproto.Buffer
	if cs, ok := col.(column.CustomSerialization); ok {
		if err := cs.WriteStatePrefix(&buf); err != nil {
			t.Fatal(err)
		}
	}
	col.Encode(&buf)
	out, err := column.Type(typ).Column("c", &column.ServerContext{Timezone: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	r := chproto.NewReader(bytes.NewReader(buf.Buf))
	if cs, ok := out.(column.CustomSerialization); ok {
		if err := cs.ReadStatePrefix(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Decode(r, col.Rows()); err != nil {
		t.Fatalf("decode %s: %v", typ, err)
	}
	return out
}

type (
	namedString string
	namedInt    int64
)
