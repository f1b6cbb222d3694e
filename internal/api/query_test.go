package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/stockflow/stockflow/internal/api/apitest"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/store/storetest"
	"github.com/stockflow/stockflow/internal/testenv"
)

// One embedded ClickHouse engine per test binary (chDB allows one per
// process); every test that needs it works in its own database.
var (
	engineDir string
	engineErr error
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var closeEngine func()
	_, engineDir, closeEngine, engineErr = testenv.Engine(ctx)
	cancel()
	code := m.Run()
	closeEngine()
	os.Exit(code)
}

func openEngine(t *testing.T, database string) store.Store {
	t.Helper()
	if engineErr != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine (libchdb.so, STOCKFLOW_CHDB_LIB): %v", engineErr)
	}
	s, err := embedded.Open(t.Context(), embedded.Options{Path: engineDir, Database: database})
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	return s
}

const (
	readToken  = "read-secret"
	adminToken = "admin-secret"
	sigma      = apitest.Sigma
	z90        = apitest.Z90
)

var fixtureNow = apitest.Now

// testServer starts the API over a migrated, seeded database.
func testServer(t *testing.T) string {
	t.Helper()
	st := storetest.Migrated(t, openEngine)
	apitest.Seed(t, st)
	srv, err := Listen(Config{
		Addr: "127.0.0.1:0", Version: "v-test", Store: st, ReadToken: readToken, AdminToken: adminToken,
		Now: func() time.Time { return fixtureNow },
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return "http://" + srv.Addr()
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func call(t *testing.T, method, u, token, accept string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
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
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// getRows runs a query route and returns its JSON rows.
func getRows(t *testing.T, base, path string, q url.Values) []map[string]any {
	t.Helper()
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	r := call(t, http.MethodGet, u, readToken, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", u, r.code, r.body)
	}
	var res QueryResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatalf("GET %s: decode: %v", u, err)
	}
	return res.Rows
}

// find returns the row whose columns equal the key values.
func find(t *testing.T, rows []map[string]any, key map[string]any) map[string]any {
	t.Helper()
	for _, r := range rows {
		ok := true
		for k, v := range key {
			ok = ok && fmt.Sprint(r[k]) == fmt.Sprint(v)
		}
		if ok {
			return r
		}
	}
	t.Fatalf("no row with %v in %v", key, rows)
	return nil
}

func num(t *testing.T, row map[string]any, col string) float64 {
	t.Helper()
	f, ok := row[col].(float64)
	if !ok {
		t.Fatalf("column %s = %#v (%T), want a number; row %v", col, row[col], row[col], row)
	}
	return f
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// phi is the standard normal CDF.
func phi(z float64) float64 { return 0.5 * (1 + math.Erf(z/math.Sqrt2)) }

func TestQueryFigures(t *testing.T) {
	base := testServer(t)
	window := url.Values{"from": {"2026-01-14"}, "to": {"2026-01-17"}}
	type check struct {
		key  map[string]any
		want map[string]any // numbers compared with near, others as text; nil means JSON null
	}
	tests := []struct {
		name   string
		path   string
		q      url.Values
		rows   int
		checks []check
	}{
		{name: "current stock", path: "/api/v1/stock", rows: 3, checks: []check{
			{key: map[string]any{"sku": "A", "warehouse": "W1"}, want: map[string]any{"region": "north", "on_hand": 30.0, "reserved": 5.0, "available": 25.0}},
		}},
		{name: "current stock by region", path: "/api/v1/stock", q: url.Values{"region": {"south"}}, rows: 1},
		{name: "current stock by sku list", path: "/api/v1/stock", q: url.Values{"sku": {"A,B"}, "warehouse": {"W1"}}, rows: 2},
		{name: "skus", path: "/api/v1/skus", rows: 2},
		{name: "warehouses", path: "/api/v1/warehouses", q: url.Values{"region": {"north"}}, rows: 1, checks: []check{
			{key: map[string]any{"warehouse": "W1"}, want: map[string]any{"name": "North DC"}},
		}},
		{name: "regions", path: "/api/v1/regions", rows: 2},
		{name: "days of cover is available over the latest forecast's daily mean", path: "/api/v1/cover", rows: 3, checks: []check{
			{key: map[string]any{"sku": "A", "warehouse": "W1"}, want: map[string]any{"daily_demand": 10.0, "days_of_cover": 2.5, "lead_time_days": 3.0, "cover_below_lead_time": 1.0}},
			{key: map[string]any{"sku": "A", "warehouse": "W2"}, want: map[string]any{"daily_demand": 4.0, "days_of_cover": 5.0, "lead_time_days": nil, "cover_below_lead_time": 0.0}},
			{key: map[string]any{"sku": "B", "warehouse": "W1"}, want: map[string]any{"days_of_cover": nil}},
		}},
		{name: "stockout risk", path: "/api/v1/stockout-risk", rows: 2, checks: []check{
			// IP = 30 on hand + 7 in transit - 5 reserved = 32; demand over the
			// learned 3 days: mean 30, sd sqrt(3)·2.
			{key: map[string]any{"sku": "A", "warehouse": "W1"}, want: map[string]any{
				"inventory_position": 32.0, "in_transit": 7.0, "on_order": 0.0, "lead_time_days": 3.0,
				"lead_time_demand": 30.0, "lead_time_demand_sd": math.Sqrt(3) * sigma,
				"stockout_probability": 1 - phi((32-30)/(math.Sqrt(3)*sigma)), "projected_stockout": "2026-01-17T00:00:00Z"}},
			// No learned lead time: the default 7 days, 28 > 20 with no spread.
			{key: map[string]any{"sku": "A", "warehouse": "W2"}, want: map[string]any{
				"inventory_position": 20.0, "lead_time_days": 7.0, "lead_time_demand": 28.0, "stockout_probability": 1.0,
				"projected_stockout": "2026-01-19T00:00:00Z"}},
		}},
		{name: "stockout risk with a shorter default lead time", path: "/api/v1/stockout-risk", q: url.Values{"lead_time_days": {"2"}, "warehouse": {"W2"}}, rows: 1, checks: []check{
			{key: map[string]any{"sku": "A"}, want: map[string]any{"lead_time_demand": 8.0, "stockout_probability": 0.0}},
		}},
		{name: "stock history", path: "/api/v1/stock/history", q: url.Values{"from": {"2026-01-14"}, "to": {"2026-01-17"}, "sku": {"A"}}, rows: 4, checks: []check{
			{key: map[string]any{"time": "2026-01-14T00:00:00Z"}, want: map[string]any{"on_hand": 50.0}},
			{key: map[string]any{"time": "2026-01-15T00:00:00Z"}, want: map[string]any{"on_hand": 43.0}},
			{key: map[string]any{"time": "2026-01-17T00:00:00Z"}, want: map[string]any{"on_hand": 31.0}},
		}},
		{name: "forecast vs actual", path: "/api/v1/forecast", q: url.Values{"from": {"2026-01-15"}, "to": {"2026-01-17"}, "sku": {"A"}, "warehouse": {"W1"}}, rows: 3, checks: []check{
			{key: map[string]any{"time": "2026-01-15T00:00:00Z"}, want: map[string]any{"actual": 7.0, "forecast": 10.0, "lower": 10 - z90*sigma, "upper": 10 + z90*sigma, "model": "theta"}},
			{key: map[string]any{"time": "2026-01-16T00:00:00Z"}, want: map[string]any{"actual": 12.0}},
			{key: map[string]any{"time": "2026-01-17T00:00:00Z"}, want: map[string]any{"actual": nil, "forecast": 10.0}},
		}},
		{name: "forecast accuracy by model, latest run per series", path: "/api/v1/forecast/accuracy", q: url.Values{"from": {"2026-01-01"}, "to": {"2026-02-01"}}, rows: 2, checks: []check{
			{key: map[string]any{"model": "theta"}, want: map[string]any{"series": 2.0, "mase": 0.7, "rmsse": 0.7, "wape": 0.4, "bias": 0.1, "coverage_90": 0.9, "censored_days": 1.0, "last_cutoff": "2026-01-14T00:00:00Z"}},
			{key: map[string]any{"model": "croston"}, want: map[string]any{"series": 1.0, "mase": 1.5, "bias": -0.2, "censored_days": 2.0}},
		}},
		{name: "forecast accuracy of the runs before the 12th", path: "/api/v1/forecast/accuracy", q: url.Values{"from": {"2026-01-01"}, "to": {"2026-01-12"}}, rows: 2, checks: []check{
			{key: map[string]any{"model": "ets"}, want: map[string]any{"series": 1.0, "mase": 1.2}},
		}},
		{name: "forecast accuracy of the window's run only", path: "/api/v1/forecast/accuracy", q: window, rows: 1},
		{name: "forecast accuracy of one warehouse", path: "/api/v1/forecast/accuracy", q: url.Values{"warehouse": {"W2"}, "from": {"2026-01-01"}, "to": {"2026-02-01"}}, rows: 1, checks: []check{
			{key: map[string]any{"model": "theta"}, want: map[string]any{"series": 1.0, "bias": nil, "wape": 0.5}},
		}},
		{name: "reorders in their latest status", path: "/api/v1/reorders", q: window, rows: 2, checks: []check{
			{key: map[string]any{"reorder_id": "RO-A-W1-1"}, want: map[string]any{"status": "received", "kind": "purchase", "qty": 50.0, "received_qty": 50.0, "reorder_point": 40.0}},
		}},
		{name: "open reorders", path: "/api/v1/reorders", q: url.Values{"status": {"open"}, "from": {"2026-01-01"}}, rows: 1},
		{name: "transfers", path: "/api/v1/transfers", q: url.Values{"kind": {"purchase"}, "from": {"2026-01-01"}}, rows: 1, checks: []check{
			{key: map[string]any{"reorder_id": "TO-A-W2-W1-1"}, want: map[string]any{"from_warehouse": "W2"}},
		}},
		{name: "reorders per day", path: "/api/v1/reorders/daily", q: url.Values{"from": {"2026-01-10"}, "to": {"2026-01-17"}}, rows: 2, checks: []check{
			{key: map[string]any{"time": "2026-01-11T00:00:00Z"}, want: map[string]any{"kind": "purchase", "reorders": 1.0, "units": 50.0, "value": 100.0, "open": 0.0}},
			{key: map[string]any{"time": "2026-01-16T00:00:00Z"}, want: map[string]any{"kind": "transfer", "open": 1.0}},
		}},
		{name: "routing decisions", path: "/api/v1/routing/decisions", q: window, rows: 3, checks: []check{
			{key: map[string]any{"order_id": "O2"}, want: map[string]any{"shipped_from": "W1,W2", "cost_total": 20.0}},
		}},
		{name: "routing decisions from a warehouse", path: "/api/v1/routing/decisions", q: url.Values{"warehouse": {"W2"}, "from": {"2026-01-14"}}, rows: 1},
		{name: "routing costs", path: "/api/v1/routing/costs", q: window, rows: 1, checks: []check{
			{key: map[string]any{"time": "2026-01-16T00:00:00Z"}, want: map[string]any{"orders": 3.0, "split_rate": 0.5, "cost_per_order": 15.0, "total_cost": 30.0, "shipping_cost": 18.0, "opportunity_share": 4.0 / 30}},
		}},
		{name: "fill rate", path: "/api/v1/fill-rate", q: window, rows: 1, checks: []check{
			{key: map[string]any{"sku": "A", "region": "north"}, want: map[string]any{"ordered_units": 9.0, "shipped_units": 5.0, "fill_rate": 5.0 / 9, "line_fill_rate": 2.0 / 3}},
		}},
		{name: "turns", path: "/api/v1/turns", q: url.Values{"from": {"2026-01-14"}, "to": {"2026-01-17"}, "sku": {"A"}, "warehouse": {"W1"}}, rows: 1, checks: []check{
			{key: map[string]any{"sku": "A"}, want: map[string]any{"days": 4.0, "units_sold": 19.0, "avg_on_hand": (50 + 43 + 31 + 31) / 4.0, "turns": 19 / ((50 + 43 + 31 + 31) / 4.0)}},
		}},
		{name: "pipeline health", path: "/api/v1/pipeline/health", q: window, rows: 6, checks: []check{
			{key: map[string]any{"source": "sales"}, want: map[string]any{"rows": 2.0}},
			{key: map[string]any{"source": "dlq"}, want: map[string]any{"rows": 3.0}},
		}},
		{name: "pipeline throughput", path: "/api/v1/pipeline/throughput", q: url.Values{"from": {"2026-01-14"}, "to": {"2026-01-17"}, "step_seconds": {"86400"}}, rows: 2},
		{name: "dlq by reason", path: "/api/v1/pipeline/dlq", q: window, rows: 2, checks: []check{
			{key: map[string]any{"reason": "malformed_json"}, want: map[string]any{"records": 2.0, "topic": "stockflow.sales.v1"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := getRows(t, base, tc.path, tc.q)
			if len(rows) != tc.rows {
				t.Fatalf("%d rows, want %d: %v", len(rows), tc.rows, rows)
			}
			for _, c := range tc.checks {
				row := find(t, rows, c.key)
				for col, want := range c.want {
					switch w := want.(type) {
					case nil:
						if row[col] != nil {
							t.Errorf("%v: %s = %v, want null", c.key, col, row[col])
						}
					case float64:
						if got := num(t, row, col); !near(got, w) {
							t.Errorf("%v: %s = %v, want %v", c.key, col, got, w)
						}
					default:
						if got := fmt.Sprint(row[col]); got != fmt.Sprint(w) {
							t.Errorf("%v: %s = %q, want %q", c.key, col, got, w)
						}
					}
				}
			}
		})
	}
}

func TestQueryAuthAndErrors(t *testing.T) {
	base := testServer(t)
	tests := []struct {
		name  string
		path  string
		token string
		code  int
		body  string
	}{
		{name: "no token", path: "/api/v1/stock", code: http.StatusUnauthorized},
		{name: "wrong token", path: "/api/v1/stock", token: "nope", code: http.StatusUnauthorized},
		{name: "read token", path: "/api/v1/stock", token: readToken, code: http.StatusOK},
		{name: "admin token reads too", path: "/api/v1/stock", token: adminToken, code: http.StatusOK},
		{name: "bad time", path: "/api/v1/stock/history?from=yesterday", token: readToken, code: http.StatusBadRequest, body: "from"},
		{name: "to before from", path: "/api/v1/forecast?from=2026-01-10&to=2026-01-01", token: readToken, code: http.StatusBadRequest, body: "before from"},
		{name: "limit out of range", path: "/api/v1/reorders?limit=0", token: readToken, code: http.StatusBadRequest, body: "limit"},
		{name: "injection is a value", path: "/api/v1/stock?sku=" + url.QueryEscape("A') OR 1=1 --"), token: readToken, code: http.StatusOK, body: `"rows":[]`},
		{name: "unix milliseconds", path: "/api/v1/routing/costs?from=1768521600000&to=1768694399000", token: readToken, code: http.StatusOK, body: `"orders":3`},
		{name: "status", path: "/api/v1/status", token: readToken, code: http.StatusOK, body: `"version":"v-test"`},
		{name: "openapi is public", path: "/api/v1/openapi.json", code: http.StatusOK, body: `"openapi":"3.0.3"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodGet, base+tc.path, tc.token, "")
			if r.code != tc.code {
				t.Fatalf("status %d, want %d: %s", r.code, tc.code, r.body)
			}
			if !strings.Contains(string(r.body), tc.body) {
				t.Fatalf("body %s does not contain %s", r.body, tc.body)
			}
			if tc.code == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestQueryArrow(t *testing.T) {
	base := testServer(t)
	r := call(t, http.MethodGet, base+"/api/v1/forecast?sku=A&warehouse=W1&from=2026-01-15&to=2026-01-17", readToken, "application/json;q=0.5, "+ContentTypeArrow)
	if r.code != http.StatusOK || r.header.Get("Content-Type") != ContentTypeArrow {
		t.Fatalf("status %d, content type %q: %s", r.code, r.header.Get("Content-Type"), r.body)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rdr, err := ipc.NewReader(strings.NewReader(string(r.body)), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	s := rdr.Schema()
	want := map[string]arrow.DataType{
		"time": &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, "sku": arrow.BinaryTypes.String,
		"actual": arrow.PrimitiveTypes.Float64, "forecast": arrow.PrimitiveTypes.Float64, "lower": arrow.PrimitiveTypes.Float64, "upper": arrow.PrimitiveTypes.Float64,
	}
	for name, typ := range want {
		idx := s.FieldIndices(name)
		if len(idx) != 1 || !arrow.TypeEqual(s.Field(idx[0]).Type, typ) {
			t.Errorf("field %s: %v, want %v", name, s.FieldIndices(name), typ)
		}
	}
	var rows int64
	var actuals []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rows += rec.NumRows()
		col, ok := rec.Column(s.FieldIndices("actual")[0]).(*array.Float64)
		if !ok {
			t.Fatalf("actual is %T", rec.Column(s.FieldIndices("actual")[0]))
		}
		for i := range col.Len() {
			if col.IsNull(i) {
				actuals = append(actuals, "null")
			} else {
				actuals = append(actuals, fmt.Sprint(col.Value(i)))
			}
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 3 || strings.Join(actuals, ",") != "7,12,null" {
		t.Fatalf("rows %d, actuals %v; want 3 rows, 7,12,null", rows, actuals)
	}
}

func TestWantsArrow(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"application/json", false},
		{ContentTypeArrow, true},
		{"text/html, " + ContentTypeArrow + ";q=0.9", true},
		{ContentTypeArrow + ";q=0", false},
		{"*/*", false},
	}
	for _, tc := range tests {
		t.Run(tc.accept, func(t *testing.T) {
			if got := wantsArrow(tc.accept); got != tc.want {
				t.Fatalf("wantsArrow(%q) = %v, want %v", tc.accept, got, tc.want)
			}
		})
	}
}
