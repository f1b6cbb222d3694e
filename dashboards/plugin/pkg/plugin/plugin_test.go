package plugin

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/stockflow/stockflow/internal/api"
	"github.com/stockflow/stockflow/internal/api/apitest"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/store/storetest"
	"github.com/stockflow/stockflow/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/")

// One embedded ClickHouse engine per test binary; a database per test.
var (
	engineDir string
	engineErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
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

const token = "plugin-read-token"

// startAPI runs the real stockflow API over a seeded embedded database
// and returns its base URL.
func startAPI(t *testing.T) string {
	t.Helper()
	st := storetest.Migrated(t, openEngine)
	apitest.Seed(t, st)
	srv, err := api.Listen(api.Config{Addr: "127.0.0.1:0", Version: "v-plugin-test", Store: st, ReadToken: token,
		Now: func() time.Time { return apitest.Now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api: %v", err)
		}
	})
	return "http://" + srv.Addr()
}

func newDS(t *testing.T, base, tok string) *Datasource {
	t.Helper()
	inst, err := NewDatasource(t.Context(), backend.DataSourceInstanceSettings{
		JSONData:                json.RawMessage(`{"url":"` + base + `","streamIntervalSeconds":1}`),
		DecryptedSecureJSONData: map[string]string{"token": tok},
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, ok := inst.(*Datasource)
	if !ok {
		t.Fatalf("instance is %T", inst)
	}
	t.Cleanup(ds.Dispose)
	return ds
}

var window = backend.TimeRange{From: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 25, 0, 0, 0, 0, time.UTC)}

func TestQueryData(t *testing.T) {
	ds := newDS(t, startAPI(t), token)
	tests := []struct {
		name   string
		qt     string
		model  string
		frame  data.FrameType
		golden bool
	}{
		{name: "stock_current", qt: "stock_current", frame: data.FrameTypeTable, golden: true},
		{name: "stock_history", qt: "stock_history", model: `{"sku":["A"]}`, frame: data.FrameTypeTimeSeriesWide, golden: true},
		{name: "days_of_cover", qt: "days_of_cover", frame: data.FrameTypeTable, golden: true},
		{name: "stockout_risk", qt: "stockout_risk", frame: data.FrameTypeTable, golden: true},
		{name: "forecast_vs_actual", qt: "forecast_vs_actual", model: `{"sku":["A"],"warehouse":["W1"]}`, frame: data.FrameTypeTimeSeriesWide, golden: true},
		{name: "forecast_vs_actual_long", qt: "forecast_vs_actual", model: `{"sku":["A"],"format":"long"}`, frame: data.FrameTypeTimeSeriesLong, golden: true},
		{name: "reorders", qt: "reorders", frame: data.FrameTypeTable, golden: true},
		{name: "transfers", qt: "transfers", frame: data.FrameTypeTable},
		{name: "reorders_daily", qt: "reorders_daily", frame: data.FrameTypeTimeSeriesWide, golden: true},
		{name: "routing_decisions", qt: "routing_decisions", frame: data.FrameTypeTable, golden: true},
		{name: "routing_costs", qt: "routing_costs", frame: data.FrameTypeTimeSeriesWide, golden: true},
		{name: "fill_rate", qt: "fill_rate", frame: data.FrameTypeTable, golden: true},
		{name: "turns", qt: "turns", frame: data.FrameTypeTable, golden: true},
		{name: "pipeline_health", qt: "pipeline_health", frame: data.FrameTypeTable},
		{name: "pipeline_throughput", qt: "pipeline_throughput", model: `{"stepSeconds":86400}`, frame: data.FrameTypeTimeSeriesWide},
		{name: "dlq", qt: "dlq", frame: data.FrameTypeTable, golden: true},
		{name: "skus", qt: "skus", frame: data.FrameTypeTable},
		{name: "query type in the model", model: `{"queryType":"regions"}`, frame: data.FrameTypeTable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model := tc.model
			if model == "" {
				model = "{}"
			}
			resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
				{RefID: "A", QueryType: tc.qt, TimeRange: window, JSON: json.RawMessage(model)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			dr := resp.Responses["A"]
			if dr.Error != nil {
				t.Fatalf("query error: %v", dr.Error)
			}
			if len(dr.Frames) != 1 || dr.Frames[0].Meta == nil || dr.Frames[0].Meta.Type != tc.frame {
				t.Fatalf("frames %v, want one %s frame", dr.Frames, tc.frame)
			}
			if n, _ := dr.Frames[0].RowLen(); n == 0 {
				t.Fatalf("no rows")
			}
			if tc.golden {
				experimental.CheckGoldenJSONResponse(t, "testdata", tc.name, &dr, *update)
			}
		})
	}
}

// TestForecastBand checks the wide forecast frame carries the fields a
// filled band needs, with the figures of the fixture.
func TestForecastBand(t *testing.T) {
	ds := newDS(t, startAPI(t), token)
	resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
		RefID: "F", QueryType: "forecast_vs_actual", JSON: json.RawMessage(`{"sku":["A"],"warehouse":["W1"]}`),
		TimeRange: backend.TimeRange{From: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 15, 23, 0, 0, 0, time.UTC)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	dr := resp.Responses["F"]
	if dr.Error != nil || len(dr.Frames) != 1 {
		t.Fatalf("response %+v", dr)
	}
	f := dr.Frames[0]
	want := map[string]float64{"actual": 7, "forecast": 10, "lower": 10 - apitest.Z90*apitest.Sigma, "upper": 10 + apitest.Z90*apitest.Sigma}
	for name, v := range want {
		field, idx := f.FieldByName(name)
		if idx < 0 {
			t.Fatalf("no field %s in %v", name, f.Fields)
		}
		got, ok := field.ConcreteAt(0)
		if f, isFloat := got.(float64); !ok || !isFloat || f != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
		if field.Labels["sku"] != "A" || field.Labels["warehouse"] != "W1" {
			t.Errorf("%s labels %v", name, field.Labels)
		}
	}
}

func TestQueryDataErrors(t *testing.T) {
	base := startAPI(t)
	tests := []struct {
		name   string
		tok    string
		qt     string
		status backend.Status
	}{
		{name: "unknown query type", tok: token, qt: "nope", status: backend.StatusBadRequest},
		{name: "bad token", tok: "wrong", qt: "stock_current", status: backend.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(t, base, tc.tok)
			resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A", QueryType: tc.qt, TimeRange: window}}})
			if err != nil {
				t.Fatal(err)
			}
			if dr := resp.Responses["A"]; dr.Error == nil || dr.Status != tc.status {
				t.Fatalf("status %v error %v, want %v", dr.Status, dr.Error, tc.status)
			}
		})
	}
}

func TestCheckHealth(t *testing.T) {
	base := startAPI(t)
	tests := []struct {
		name    string
		base    string
		tok     string
		status  backend.HealthStatus
		message string
	}{
		{name: "ok", base: base, tok: token, status: backend.HealthStatusOk, message: "stockflow v-plugin-test (embedded store"},
		{name: "bad token", base: base, tok: "wrong", status: backend.HealthStatusError, message: "rejected the token"},
		{name: "nothing listening", base: "http://127.0.0.1:1", tok: token, status: backend.HealthStatusError, message: "call stockflow API"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := newDS(t, tc.base, tc.tok).CheckHealth(t.Context(), &backend.CheckHealthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status || !contains(res.Message, tc.message) {
				t.Fatalf("%v %q, want %v and %q", res.Status, res.Message, tc.status, tc.message)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestCallResource(t *testing.T) {
	ds := newDS(t, startAPI(t), token)
	tests := []struct {
		path, url string
		code      int
		want      []MetricFindValue
	}{
		{path: "skus", url: "skus", code: http.StatusOK, want: []MetricFindValue{{"A", "A"}, {"B", "B"}}},
		{path: "warehouses", url: "warehouses?region=south", code: http.StatusOK, want: []MetricFindValue{{"W2", "W2"}}},
		{path: "regions", url: "regions", code: http.StatusOK, want: []MetricFindValue{{"north", "north"}, {"south", "south"}}},
		{path: "nope", url: "nope", code: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			var got *backend.CallResourceResponse
			err := ds.CallResource(t.Context(), &backend.CallResourceRequest{Path: tc.path, Method: http.MethodGet, URL: tc.url},
				backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { got = r; return nil }))
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Status != tc.code {
				t.Fatalf("response %+v, want status %d", got, tc.code)
			}
			if tc.want == nil {
				return
			}
			var vals []MetricFindValue
			if err := json.Unmarshal(got.Body, &vals); err != nil {
				t.Fatal(err)
			}
			if len(vals) != len(tc.want) {
				t.Fatalf("%v, want %v", vals, tc.want)
			}
			for i := range vals {
				if vals[i] != tc.want[i] {
					t.Fatalf("%v, want %v", vals, tc.want)
				}
			}
		})
	}
}

// packets collects what RunStream sends.
type packets chan *backend.StreamPacket

func (p packets) Send(pk *backend.StreamPacket) error { p <- pk; return nil }

func TestStream(t *testing.T) {
	ds := newDS(t, startAPI(t), token)
	sub, err := ds.SubscribeStream(t.Context(), &backend.SubscribeStreamRequest{Path: "stock/warehouse/W1"})
	if err != nil || sub.Status != backend.SubscribeStreamStatusOK {
		t.Fatalf("subscribe: %v %v", sub, err)
	}
	bad, err := ds.SubscribeStream(t.Context(), &backend.SubscribeStreamRequest{Path: "orders"})
	if err != nil || bad.Status != backend.SubscribeStreamStatusNotFound {
		t.Fatalf("subscribe to an unknown channel: %v %v", bad, err)
	}
	pub, err := ds.PublishStream(t.Context(), &backend.PublishStreamRequest{Path: "stock"})
	if err != nil || pub.Status != backend.PublishStreamStatusPermissionDenied {
		t.Fatalf("publish: %v %v", pub, err)
	}

	// The first poll sends every level of W1; an unchanged second poll
	// sends nothing.
	last := map[[2]string]stockRow{}
	f, err := ds.stockChanges(t.Context(), map[string][]string{"warehouse": {"W1"}}, last, apitest.Now)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := f.RowLen(); n != 2 {
		t.Fatalf("first poll: %d rows, want 2 (A and B at W1)", n)
	}
	if f, err = ds.stockChanges(t.Context(), map[string][]string{"warehouse": {"W1"}}, last, apitest.Now); err != nil || f != nil {
		t.Fatalf("unchanged poll: %v %v, want nothing", f, err)
	}

	// RunStream sends the first frame, then stops with its context.
	ctx, cancel := context.WithCancel(t.Context())
	p := make(packets, 4)
	done := make(chan error, 1)
	go func() {
		done <- ds.RunStream(ctx, &backend.RunStreamRequest{Path: "stock/sku/A"}, backend.NewStreamSender(p))
	}()
	pk := <-p
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var frame data.Frame
	if err := json.Unmarshal(pk.Data, &frame); err != nil {
		t.Fatal(err)
	}
	if n, _ := frame.RowLen(); n != 2 || frame.Name != "stock" {
		t.Fatalf("stream frame %s with %d rows, want stock with A at W1 and W2", frame.Name, n)
	}
}
