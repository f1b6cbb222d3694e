package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/export"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/store/storetest"
)

// exportEngine opens a database of the process's embedded engine, the one
// the package's TestMain started (chDB allows one per process; its
// EngineInUseError names it).
func exportEngine(t *testing.T, database string) store.Store {
	t.Helper()
	s, err := embedded.Open(t.Context(), embedded.Options{Database: database})
	if inUse := (*embedded.EngineInUseError)(nil); errors.As(err, &inUse) {
		s, err = embedded.Open(t.Context(), embedded.Options{Path: inUse.Open, Database: database})
	}
	if err != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so, STOCKFLOW_CHDB_LIB): %v", err)
	}
	t.Cleanup(func() { _ = s.Close() }) // the engine outlives the database
	return s
}

// TestExport serves GET /api/v1/export/{dataset} over the embedded engine
// (export.API) and checks who may call it, the requests refused with 400,
// and the Parquet files streamed back, read with parquet-go: the rows of
// the range and filters, and their quantities.
func TestExport(t *testing.T) {
	const (
		readTok  = "export-read-5e1d"
		adminTok = "export-admin-9b07"
	)
	st := storetest.Migrated(t, exportEngine)
	day := func(d, h int) time.Time { return time.Date(2026, 2, d, h, 0, 0, 0, time.UTC) }
	sales := [][]any{
		{"e1", day(1, 9), "A", "W1", int64(2), 1.5},
		{"e2", day(1, 10), "B", "W1", int64(1), 2.0},
		{"e3", day(1, 11), "A", "W2", int64(3), 1.5},
		{"e4", day(2, 9), "A", "W1", int64(1), 1.5},
		{"e5", day(2, 23), "B", "W2", int64(4), 2.0},
		{"e6", day(3, 0), "B", "W1", int64(2), 2.0},
	}
	for _, b := range []*store.Batch{
		{Table: "sales", Columns: []string{"event_id", "ts", "sku", "warehouse", "qty", "unit_price"}, Rows: sales},
		{Table: "warehouses", Columns: []string{"id", "region", "lat", "lon", "name", "updated_at"}, Rows: [][]any{
			{"W1", "north", 59.3, 18.1, "North DC", day(1, 0)}, {"W2", "south", 41.4, 2.2, "South DC", day(1, 0)},
		}},
	} {
		if err := st.Insert(t.Context(), b); err != nil {
			t.Fatalf("insert %s: %v", b.Table, err)
		}
	}
	fn := export.API(st, export.APIOptions{})
	start := func(readTok, adminTok string) string {
		t.Helper()
		srv, err := api.Listen(api.Config{Addr: "127.0.0.1:0", ReadToken: readTok, AdminToken: adminTok, Export: fn}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		return "http://" + srv.Addr()
	}
	secured, open := start(readTok, adminTok), start("", "")

	const all = "/api/v1/export/sales?from=2026-02-01&to=2026-02-03"
	tests := []struct {
		name, base, path, auth string
		code                   int
		rows, qty              int64  // of a 200
		errText                string // in the JSON error of a 4xx
	}{
		{name: "no token", base: secured, path: all, code: http.StatusUnauthorized, errText: "bearer token"},
		{name: "wrong token", base: secured, path: all, auth: "Bearer nope", code: http.StatusUnauthorized, errText: "bearer token"},
		{name: "read token", base: secured, path: all, auth: "Bearer " + readTok, code: http.StatusOK, rows: 6, qty: 13},
		{name: "admin token", base: secured, path: all, auth: "Bearer " + adminTok, code: http.StatusOK, rows: 6, qty: 13},
		{name: "no tokens configured", base: open, path: all, code: http.StatusOK, rows: 6, qty: 13},
		{name: "one day", base: open, path: "/api/v1/export/sales?from=2026-02-02&to=2026-02-02", code: http.StatusOK, rows: 2, qty: 5},
		{name: "skus", base: open, path: all + "&skus=A", code: http.StatusOK, rows: 3, qty: 6},
		{name: "warehouses", base: open, path: all + "&warehouses=W2", code: http.StatusOK, rows: 2, qty: 7},
		{name: "regions", base: open, path: all + "&regions=north", code: http.StatusOK, rows: 4, qty: 6},
		{name: "no rows", base: open, path: "/api/v1/export/sales?from=2026-03-01&to=2026-03-02", code: http.StatusOK},
		{name: "unknown dataset", base: open, path: "/api/v1/export/nope?from=2026-02-01&to=2026-02-03", code: http.StatusBadRequest, errText: "unknown dataset"},
		{name: "bad from", base: open, path: "/api/v1/export/sales?from=2026-02-30&to=2026-03-01", code: http.StatusBadRequest, errText: "from: "},
		{name: "bad to", base: open, path: "/api/v1/export/sales?from=2026-02-01&to=tomorrow", code: http.StatusBadRequest, errText: "to: "},
		{name: "to before from", base: open, path: "/api/v1/export/sales?from=2026-02-03&to=2026-02-01", code: http.StatusBadRequest, errText: "before"},
		{name: "no to", base: open, path: "/api/v1/export/sales?from=2026-02-01", code: http.StatusBadRequest, errText: "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, header, body := get(t, tc.base+tc.path, tc.auth)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %.200s", code, tc.code, body)
			}
			if tc.code != http.StatusOK {
				if !strings.Contains(string(body), tc.errText) {
					t.Errorf("error %s does not say %q", body, tc.errText)
				}
				if tc.code == http.StatusUnauthorized && header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			if ct := header.Get("Content-Type"); ct != "application/vnd.apache.parquet" {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := header.Get("Content-Disposition"); !strings.Contains(cd, ".parquet") {
				t.Errorf("Content-Disposition %q", cd)
			}
			rows, qty := readSales(t, body)
			if rows != tc.rows || qty != tc.qty {
				t.Errorf("the file has %d rows of %d units, want %d rows of %d", rows, qty, tc.rows, tc.qty)
			}
		})
	}
}

// get returns the status, the header and the body of GET url.
func get(t *testing.T, url, auth string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// readSales opens a Parquet file of the sales dataset with parquet-go and
// returns its rows and the sum of their qty.
func readSales(t *testing.T, b []byte) (rows, qty int64) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a Parquet file (%d bytes): %v", len(b), err)
	}
	col, ok := f.Schema().Lookup("qty")
	if !ok {
		t.Fatal("no qty column")
	}
	r := parquet.NewReader(f)
	defer func() { _ = r.Close() }() // read only
	buf := make([]parquet.Row, 16)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			qty += row[col.ColumnIndex].Int64()
		}
		rows += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if rows != f.NumRows() {
		t.Fatalf("read %d rows, the footer says %d", rows, f.NumRows())
	}
	return rows, qty
}
