package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stockflow/stockflow/internal/api"
)

// Query is a panel query's model (the frontend's query editor writes it).
// The query type is backend.DataQuery.QueryType, falling back to
// QueryType here; it names an api.QueryRoute.
type Query struct {
	QueryType    string   `json:"queryType"`
	SKU          []string `json:"sku"`
	Warehouse    []string `json:"warehouse"`
	Region       []string `json:"region"`
	Kind         string   `json:"kind"`
	Status       string   `json:"status"`
	Limit        int64    `json:"limit"`
	LeadTimeDays float64  `json:"leadTimeDays"`
	StepSeconds  int64    `json:"stepSeconds"`
	// Format of time series: "wide" (default; one field per series, what
	// alert rules and the forecast band want) or "long".
	Format string `json:"format"`
}

// labels are the string columns that identify a series in a time series
// result; other string columns are dropped from time series frames.
var labels = []string{"sku", "warehouse", "region", "kind", "source"}

// QueryData answers each query by calling its API route.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	out := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		out.Responses[q.RefID] = d.queryOne(ctx, q)
	}
	return out, nil
}

// params builds the URL of a query from its model and time range.
func (q Query) params(tr backend.TimeRange) url.Values {
	v := url.Values{}
	for k, list := range map[string][]string{"sku": q.SKU, "warehouse": q.Warehouse, "region": q.Region} {
		for _, s := range list {
			if s = strings.TrimSpace(s); s != "" && s != "$__all" {
				v.Add(k, s)
			}
		}
	}
	if !tr.From.IsZero() {
		v.Set("from", itoa(tr.From.UnixMilli()))
	}
	if !tr.To.IsZero() {
		v.Set("to", itoa(tr.To.UnixMilli()))
	}
	if q.Kind != "" {
		v.Set("kind", q.Kind)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Limit > 0 {
		v.Set("limit", itoa(q.Limit))
	}
	if q.LeadTimeDays > 0 {
		v.Set("lead_time_days", fmt.Sprint(q.LeadTimeDays))
	}
	if q.StepSeconds > 0 {
		v.Set("step_seconds", itoa(q.StepSeconds))
	}
	return v
}

func (d *Datasource) queryOne(ctx context.Context, dq backend.DataQuery) backend.DataResponse {
	var q Query
	if len(dq.JSON) > 0 {
		if err := json.Unmarshal(dq.JSON, &q); err != nil {
			return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "query model: "+err.Error())
		}
	}
	qt := dq.QueryType
	if qt == "" {
		qt = q.QueryType
	}
	r, ok := api.QueryRouteByName(qt)
	if !ok {
		return backend.ErrDataResponse(backend.StatusBadRequest, fmt.Sprintf("unknown query type %q", qt))
	}
	res, err := d.query(ctx, r.Path, q.params(dq.TimeRange))
	if err != nil {
		status := backend.StatusBadGateway
		if ae := (*APIError)(nil); asAPIError(err, &ae) {
			status = backend.Status(ae.Status)
			if ae.Status == http.StatusUnauthorized {
				status = backend.StatusUnauthorized
			}
		}
		return backend.ErrDataResponseWithSource(status, backend.ErrorSourceDownstream, err.Error())
	}
	frame, err := toFrame(r, res, q.Format)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusInternal, err.Error())
	}
	frame.RefID = dq.RefID
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// toFrame builds a data-plane frame: a table for lists; for time series a
// long frame (time, label strings, numbers), converted to wide unless
// format is "long".
func toFrame(r api.QueryRoute, res *apiResult, format string) (*data.Frame, error) {
	ts := r.Shape == api.ShapeTimeSeries
	frame := data.NewFrame(r.Name)
	for _, c := range res.Columns {
		kind := columnKind(c.Type)
		if ts && kind == kindString && !slices.Contains(labels, c.Name) {
			continue
		}
		f, err := buildField(c.Name, kind, res.Rows, ts && c.Name == "time")
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		frame.Fields = append(frame.Fields, f)
	}
	if !ts {
		frame.SetMeta(&data.FrameMeta{Type: data.FrameTypeTable, PreferredVisualization: data.VisTypeTable})
		return frame, nil
	}
	frame.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesLong, TypeVersion: data.FrameTypeVersion{0, 1}})
	if format == "long" {
		return frame, nil
	}
	hasLabels := slices.ContainsFunc(frame.Fields, func(f *data.Field) bool { return f.Type() == data.FieldTypeString })
	if n, _ := frame.RowLen(); n == 0 || !hasLabels {
		// One series (no label columns) is wide already; LongToWide
		// needs rows, and an empty wide frame keeps the fields.
		frame.Meta.Type = data.FrameTypeTimeSeriesWide
		return frame, nil
	}
	wide, err := data.LongToWide(frame, nil)
	if err != nil {
		return nil, fmt.Errorf("long to wide: %w", err)
	}
	wide.Name = r.Name
	wide.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}})
	return wide, nil
}

type fieldKind int

const (
	kindString fieldKind = iota
	kindInt
	kindFloat
	kindTime
	kindBool
)

// columnKind maps a ClickHouse column type to a field kind.
func columnKind(t string) fieldKind {
	t = strings.TrimPrefix(t, "LowCardinality(")
	t = strings.TrimPrefix(t, "Nullable(")
	switch {
	case strings.HasPrefix(t, "Int") || strings.HasPrefix(t, "UInt"):
		return kindInt
	case strings.HasPrefix(t, "Float") || strings.HasPrefix(t, "Decimal"):
		return kindFloat
	case strings.HasPrefix(t, "Date"):
		return kindTime
	case strings.HasPrefix(t, "Bool"):
		return kindBool
	}
	return kindString
}

// buildField makes a nullable field (a non-null time field for the time
// index of a time series).
func buildField(name string, kind fieldKind, rows []map[string]any, index bool) (*data.Field, error) {
	switch kind {
	case kindInt, kindFloat:
		vals := make([]*float64, len(rows))
		ints := make([]*int64, len(rows))
		for i, r := range rows {
			n, ok := r[name].(json.Number)
			if !ok {
				continue
			}
			if kind == kindInt {
				x, err := n.Int64()
				if err != nil {
					f, ferr := n.Float64()
					if ferr != nil {
						return nil, fmt.Errorf("row %d: %w", i, err)
					}
					x = int64(f)
				}
				ints[i] = &x
				continue
			}
			f, err := n.Float64()
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
			vals[i] = &f
		}
		if kind == kindInt {
			return data.NewField(name, nil, ints), nil
		}
		return data.NewField(name, nil, vals), nil
	case kindTime:
		vals := make([]*time.Time, len(rows))
		plain := make([]time.Time, len(rows))
		for i, r := range rows {
			s, ok := r[name].(string)
			if !ok {
				if index {
					return nil, fmt.Errorf("row %d: no time", i)
				}
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
			vals[i], plain[i] = &t, t
		}
		if index {
			return data.NewField(name, nil, plain), nil
		}
		return data.NewField(name, nil, vals), nil
	case kindBool:
		vals := make([]*bool, len(rows))
		for i, r := range rows {
			if b, ok := r[name].(bool); ok {
				vals[i] = &b
			}
		}
		return data.NewField(name, nil, vals), nil
	}
	vals := make([]string, len(rows))
	for i, r := range rows {
		switch v := r[name].(type) {
		case nil:
		case string:
			vals[i] = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
			vals[i] = string(b)
		}
	}
	return data.NewField(name, nil, vals), nil
}
