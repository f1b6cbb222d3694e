package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/sql"
)

// ContentTypeArrow is the media type of an Arrow IPC stream; a query
// request whose Accept header names it gets one instead of JSON.
const ContentTypeArrow = "application/vnd.apache.arrow.stream"

// Shape says what a query's rows are, so clients build the right frame.
type Shape string

// Shapes of query results.
const (
	// ShapeTable is a list: one row per entity.
	ShapeTable Shape = "table"
	// ShapeTimeSeries is a long time series: a "time" column first, then
	// label columns (strings) and value columns (numbers).
	ShapeTimeSeries Shape = "timeseries"
)

// QueryRoute is one query endpoint: GET Path runs the named SQL query Query
// with the parameters its placeholders name, taken from the URL.
type QueryRoute struct {
	// Name is the route's stable id, also the Grafana data source's query
	// type ("stock_current").
	Name    string
	Path    string
	Query   string
	Shape   Shape
	Summary string
	// Fixed parameters override the URL (the transfers route is the
	// reorders query with kind=transfer).
	Fixed map[string]string
	// Lookback and Ahead set the default time range, [now-Lookback,
	// now+Ahead], for queries with from and to.
	Lookback, Ahead time.Duration
}

// QueryRoutes are the query API's endpoints.
var QueryRoutes = []QueryRoute{
	{Name: "skus", Path: "/api/v1/skus", Query: sql.APISKUs, Shape: ShapeTable, Summary: "SKUs with a stock level"},
	{Name: "warehouses", Path: "/api/v1/warehouses", Query: sql.APIWarehouses, Shape: ShapeTable, Summary: "Registered warehouses with region and location"},
	{Name: "regions", Path: "/api/v1/regions", Query: sql.APIRegions, Shape: ShapeTable, Summary: "Regions and their number of warehouses"},
	{Name: "stock_current", Path: "/api/v1/stock", Query: sql.APIStockCurrent, Shape: ShapeTable, Summary: "Current stock per SKU and warehouse"},
	{Name: "stock_history", Path: "/api/v1/stock/history", Query: sql.APIStockHistory, Shape: ShapeTimeSeries, Summary: "End-of-day on hand per SKU and warehouse"},
	{Name: "days_of_cover", Path: "/api/v1/cover", Query: sql.APIDaysOfCover, Shape: ShapeTable, Summary: "Days of cover: available stock ÷ forecast daily demand, against the lead time"},
	{Name: "stockout_risk", Path: "/api/v1/stockout-risk", Query: sql.APIStockoutRisk, Shape: ShapeTable, Summary: "P(demand over lead time > inventory position) and projected stockout date"},
	{Name: "forecast_vs_actual", Path: "/api/v1/forecast", Query: sql.APIForecastVsActual, Shape: ShapeTimeSeries, Summary: "Daily actual demand against the forecast and its p10–p90 band", Ahead: 28 * 24 * time.Hour},
	{Name: "forecast_accuracy", Path: "/api/v1/forecast/accuracy", Query: sql.APIForecastAccuracy, Shape: ShapeTable, Summary: "Forecast accuracy by chosen model over the latest run per series: MASE, RMSSE, WAPE, bias, pinball loss, 90% interval coverage"},
	{Name: "reorders", Path: "/api/v1/reorders", Query: sql.APIReorders, Shape: ShapeTable, Summary: "Reorders and transfers in their latest status"},
	{Name: "transfers", Path: "/api/v1/transfers", Query: sql.APIReorders, Shape: ShapeTable, Summary: "Lateral transfers in their latest status", Fixed: map[string]string{"kind": "transfer"}},
	{Name: "reorders_daily", Path: "/api/v1/reorders/daily", Query: sql.APIReordersDaily, Shape: ShapeTimeSeries, Summary: "Reorders and transfers decided per day, units, value and still open"},
	{Name: "routing_decisions", Path: "/api/v1/routing/decisions", Query: sql.APIRoutingDecisions, Shape: ShapeTable, Summary: "Final routing decisions with their cost breakdown"},
	{Name: "routing_costs", Path: "/api/v1/routing/costs", Query: sql.APIRoutingCosts, Shape: ShapeTimeSeries, Summary: "Routing outcomes, split rate and cost breakdown per day"},
	{Name: "fill_rate", Path: "/api/v1/fill-rate", Query: sql.APIFillRate, Shape: ShapeTable, Summary: "Web order fill rate per SKU and region"},
	{Name: "turns", Path: "/api/v1/turns", Query: sql.APITurns, Shape: ShapeTable, Summary: "Inventory turns, stockout days and in-stock rate per SKU and warehouse"},
	{Name: "pipeline_health", Path: "/api/v1/pipeline/health", Query: sql.APIPipelineHealth, Shape: ShapeTable, Summary: "Rows, ingestion lag and freshness per table"},
	{Name: "pipeline_throughput", Path: "/api/v1/pipeline/throughput", Query: sql.APIPipelineThroughput, Shape: ShapeTimeSeries, Summary: "Rows ingested per table and time bucket", Lookback: 24 * time.Hour},
	{Name: "dlq", Path: "/api/v1/pipeline/dlq", Query: sql.APIDLQ, Shape: ShapeTable, Summary: "Dead-lettered records by reason, topic and event type"},
}

// QueryRouteByName returns the route with the name, or false.
func QueryRouteByName(name string) (QueryRoute, bool) {
	for _, r := range QueryRoutes {
		if r.Name == name {
			return r, true
		}
	}
	return QueryRoute{}, false
}

// defaultLookback is the default start of the time range before now.
const defaultLookback = 30 * 24 * time.Hour

// param describes how one SQL placeholder is filled from the URL.
type param struct {
	// URL is the query-string name (several values or comma-separated
	// lists for arrays).
	URL  string
	Type string // OpenAPI type: "array", "string", "integer", "number"
	Doc  string
	// Default is the value when the URL has none ("" for none needed).
	Default string
	// Min and Max bound numbers.
	Min, Max float64
}

// params are the placeholders the api_*.sql queries may use, by name.
var params = map[string]param{
	"skus":           {URL: "sku", Type: "array", Doc: "SKUs (repeat or comma-separate); none means all"},
	"warehouses":     {URL: "warehouse", Type: "array", Doc: "warehouse ids (repeat or comma-separate); none means all"},
	"regions":        {URL: "region", Type: "array", Doc: "regions (repeat or comma-separate); none means all"},
	"from":           {URL: "from", Type: "time", Doc: "start of the time range: RFC 3339, YYYY-MM-DD or Unix milliseconds; default 30 days ago"},
	"to":             {URL: "to", Type: "time", Doc: "end of the time range (inclusive), same forms; default now"},
	"kind":           {URL: "kind", Type: "string", Doc: "purchase or transfer; empty means both"},
	"status":         {URL: "status", Type: "string", Doc: "suggested, ordered, received, cancelled, or open (suggested or ordered); empty means all"},
	"limit":          {URL: "limit", Type: "integer", Doc: "maximum number of rows", Default: "1000", Min: 1, Max: 100000},
	"lead_time_days": {URL: "lead_time_days", Type: "number", Doc: "lead time in days for keys without a learned one", Default: "7", Min: 0, Max: 365},
	"step_seconds":   {URL: "step_seconds", Type: "integer", Doc: "bucket width in seconds", Default: "3600", Min: 1, Max: 31 * 24 * 3600},
}

// ParamError is a request parameter the API cannot use.
type ParamError struct {
	Param, Value, Reason string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("parameter %s=%q: %s", e.Param, e.Value, e.Reason)
}

// routeParams returns the SQL placeholders of route's query, in order.
func routeParams(r QueryRoute) []string {
	return store.ParamNames(sql.MustQuery(r.Query))
}

// bindParams builds the store parameters of route's query from the URL
// values; now anchors the default time range.
func bindParams(r QueryRoute, values map[string][]string, now time.Time) ([]store.Param, error) {
	get := func(name string) []string {
		if v, ok := r.Fixed[name]; ok {
			return []string{v}
		}
		return values[name]
	}
	var out []store.Param
	var from, to time.Time
	for _, name := range routeParams(r) {
		p, ok := params[name]
		if !ok {
			return nil, fmt.Errorf("query %s: placeholder {%s} has no URL parameter", r.Query, name)
		}
		raw := get(p.URL)
		first := ""
		if len(raw) > 0 {
			first = strings.TrimSpace(raw[len(raw)-1])
		}
		switch p.Type {
		case "array":
			var list []string
			for _, v := range raw {
				list = append(list, splitList(v)...)
			}
			out = append(out, store.ArrayParam(name, list))
		case "time":
			var t time.Time
			switch {
			case first != "":
				var err error
				if t, err = parseTime(first); err != nil {
					return nil, &ParamError{Param: p.URL, Value: first, Reason: err.Error()}
				}
			case name == "from":
				lb := r.Lookback
				if lb == 0 {
					lb = defaultLookback
				}
				t = now.Add(-lb)
			default:
				t = now.Add(r.Ahead)
			}
			if name == "from" {
				from = t
			} else {
				to = t
			}
			out = append(out, store.TimeParam(name, t))
		case "string":
			out = append(out, store.StringParam(name, first))
		case "integer", "number":
			if first == "" {
				first = p.Default
			}
			f, err := strconv.ParseFloat(first, 64)
			if err != nil || math.IsNaN(f) || f < p.Min || f > p.Max || p.Type == "integer" && f != math.Trunc(f) {
				return nil, &ParamError{Param: p.URL, Value: first, Reason: fmt.Sprintf("want a %s from %g to %g", p.Type, p.Min, p.Max)}
			}
			out = append(out, store.Param{Name: name, Value: store.FormatFloat(f)})
		default:
			return nil, fmt.Errorf("param %s: unknown type %s", name, p.Type)
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return nil, &ParamError{Param: "to", Value: to.Format(time.RFC3339), Reason: "before from"}
	}
	return out, nil
}

// parseTime reads RFC 3339, a date (YYYY-MM-DD, UTC midnight) or Unix
// milliseconds (what Grafana sends).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, errors.New("want RFC 3339, YYYY-MM-DD or Unix milliseconds")
}

// registerQueries adds the query routes, GET /api/v1/status and GET
// /api/v1/openapi.json to mux.
func (s *Server) registerQueries(mux *http.ServeMux) {
	for _, r := range QueryRoutes {
		mux.HandleFunc("GET "+r.Path, func(w http.ResponseWriter, req *http.Request) { s.query(w, req, r) })
	}
	mux.HandleFunc("GET /api/v1/status", s.status)
	mux.HandleFunc("GET /api/v1/openapi.json", s.openapi)
}

// readGuard answers the request itself, with false, when the caller
// lacks a read token or there is no store.
func (s *Server) readGuard(w http.ResponseWriter, r *http.Request) bool {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stockflow"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "a bearer token is required"})
		return false
	}
	if s.cfg.Store == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "no store behind this server"})
		return false
	}
	return true
}

// status reports the server's version and its store.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if !s.readGuard(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	v, err := s.cfg.Store.Version(ctx)
	if err != nil {
		s.log.Warn("status: store version", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "store: " + err.Error(), "version": s.cfg.Version})
		return
	}
	writeJSON(w, http.StatusOK, Status{Version: s.cfg.Version, Store: s.cfg.Store.Mode(), ClickHouse: v, Database: s.cfg.Store.Database()})
}

// Status is the body of GET /api/v1/status.
type Status struct {
	Version    string `json:"version"`
	Store      string `json:"store"`
	ClickHouse string `json:"clickhouse"`
	Database   string `json:"database"`
}

// QueryResult is the JSON body of a query route: the columns with their
// ClickHouse types, and one object per row. Times are RFC 3339 in UTC;
// NaN and infinities are null.
type QueryResult struct {
	Query   string           `json:"query"`
	Shape   Shape            `json:"shape"`
	Columns []store.Column   `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

// query runs route r.
func (s *Server) query(w http.ResponseWriter, req *http.Request, r QueryRoute) {
	if !s.readGuard(w, req) {
		return
	}
	ps, err := bindParams(r, req.URL.Query(), s.cfg.Now().UTC())
	if err != nil {
		code := http.StatusInternalServerError
		if pe := (*ParamError)(nil); errors.As(err, &pe) {
			code = http.StatusBadRequest
		}
		writeJSON(w, code, map[string]any{"error": err.Error()})
		return
	}
	res, err := s.cfg.Store.Query(req.Context(), sql.MustQuery(r.Query), ps...)
	if err != nil {
		s.log.Warn("query", "route", r.Name, "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": fmt.Sprintf("query %s: %v", r.Name, err)})
		return
	}
	if wantsArrow(req.Header.Get("Accept")) {
		w.Header().Set("Content-Type", ContentTypeArrow)
		if err := WriteArrow(w, res, nil); err != nil {
			s.log.Warn("write arrow", "route", r.Name, "err", err)
			panic(http.ErrAbortHandler) // the status is sent; cut the body
		}
		return
	}
	writeJSON(w, http.StatusOK, QueryResult{Query: r.Name, Shape: r.Shape, Columns: res.Columns, Rows: jsonRows(res)})
}

// wantsArrow reports whether an Accept header asks for an Arrow IPC
// stream (with a q above zero).
func wantsArrow(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, p, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != ContentTypeArrow {
			continue
		}
		if q, ok := p["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f <= 0 {
				continue
			}
		}
		return true
	}
	return false
}

// jsonRows turns a result into JSON-safe objects.
func jsonRows(res *store.Result) []map[string]any {
	rows := make([]map[string]any, len(res.Rows))
	for i, r := range res.Rows {
		m := make(map[string]any, len(res.Columns))
		for j, c := range res.Columns {
			if j < len(r) {
				m[c.Name] = jsonValue(r[j])
			}
		}
		rows[i] = m
	}
	return rows
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	case *big.Int:
		return json.Number(x.String())
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	}
	return v
}
