// Package plugin is the backend of the stockflow Grafana data source
// (stockflow-inventory-datasource): it answers Grafana's queries, health
// checks, resource calls and live streams by calling the stockflow query
// API (internal/api) over HTTP, so it works against embedded and server
// deployments alike. Query types are the API's query routes
// (api.QueryRoutes) by name.
//
// It imports the Grafana plugin SDK, internal/api (for the route table
// only) and the standard library; it must not import the store, pipelines
// or consumers: everything it knows comes through the API.
package plugin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
)

// ID is the plugin id in plugin.json.
const ID = "stockflow-inventory-datasource"

// Settings are the data source's jsonData; the token is in
// secureJsonData.token.
type Settings struct {
	// URL of the stockflow API (http://host:8686); the data source's URL
	// field wins when set.
	URL string `json:"url"`
	// TimeoutSeconds bounds every API call; default 30.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// StreamIntervalSeconds is how often live stock polls the API;
	// default 5.
	StreamIntervalSeconds int `json:"streamIntervalSeconds"`
}

// Datasource is one configured instance of the data source.
type Datasource struct {
	base     *url.URL
	token    string
	client   *http.Client
	interval time.Duration
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewDatasource is the instance factory datasource.Manage takes.
func NewDatasource(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	var js Settings
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &js); err != nil {
			return nil, fmt.Errorf("parse jsonData: %w", err)
		}
	}
	raw := cmp.Or(s.URL, js.URL)
	if raw == "" {
		return nil, errors.New("no URL: set the stockflow API address (http://host:8686)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("URL %q is not an http(s) address", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	timeout := time.Duration(cmp.Or(js.TimeoutSeconds, 30)) * time.Second
	return &Datasource{
		base:     u,
		token:    s.DecryptedSecureJSONData["token"],
		client:   &http.Client{Timeout: timeout},
		interval: time.Duration(cmp.Or(js.StreamIntervalSeconds, 5)) * time.Second,
	}, nil
}

// Dispose releases the instance's idle connections.
func (d *Datasource) Dispose() { d.client.CloseIdleConnections() }

// APIError is a non-2xx answer of the stockflow API.
type APIError struct {
	Status  int
	Path    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("stockflow API %s: %d %s", e.Path, e.Status, e.Message)
}

// get calls the API and returns the body of a 2xx answer.
func (d *Datasource) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := *d.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call stockflow API: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read stockflow API %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, &APIError{Status: resp.StatusCode, Path: path, Message: msg}
	}
	return b, nil
}

// CheckHealth reaches GET /api/v1/status with the token and reports the
// server's version and store.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	b, err := d.get(ctx, "/api/v1/status", nil)
	if err != nil {
		msg := err.Error()
		if ae := (*APIError)(nil); errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			msg = "the stockflow API rejected the token: set the read token (STOCKFLOW_API_TOKEN) in the data source"
		}
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: msg}, nil
	}
	var st struct {
		Version    string `json:"version"`
		Store      string `json:"store"`
		ClickHouse string `json:"clickhouse"`
	}
	if json.Unmarshal(b, &st) != nil || st.Version == "" {
		// A failed check is a result for Grafana to show, not an error.
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: "unexpected answer from /api/v1/status: " + string(b)}, nil //nolint:nilerr // see above
	}
	return &backend.CheckHealthResult{
		Status:      backend.HealthStatusOk,
		Message:     fmt.Sprintf("stockflow %s (%s store, ClickHouse %s)", st.Version, st.Store, st.ClickHouse),
		JSONDetails: b,
	}, nil
}

// resources are the lists served to template variables: resource path →
// API path and the column holding the value.
var resources = map[string]struct{ path, column string }{
	"skus":       {"/api/v1/skus", "sku"},
	"warehouses": {"/api/v1/warehouses", "warehouse"},
	"regions":    {"/api/v1/regions", "region"},
}

// MetricFindValue is one entry of a resource list, as Grafana's template
// variables take it.
type MetricFindValue struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// CallResource serves GET skus, warehouses and regions (filters sku,
// warehouse and region pass through) as [{text, value}].
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	send := func(code int, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode resource: %w", err)
		}
		return sender.Send(&backend.CallResourceResponse{Status: code, Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: b})
	}
	r, ok := resources[strings.Trim(req.Path, "/")]
	if !ok || req.Method != http.MethodGet {
		return send(http.StatusNotFound, map[string]string{"error": "unknown resource " + req.Path + "; have skus, warehouses, regions"})
	}
	var q url.Values
	if u, err := url.Parse(req.URL); err == nil {
		q = u.Query()
	}
	res, err := d.query(ctx, r.path, q)
	if err != nil {
		code := http.StatusBadGateway
		if ae := (*APIError)(nil); errors.As(err, &ae) {
			code = ae.Status
		}
		return send(code, map[string]string{"error": err.Error()})
	}
	out := []MetricFindValue{}
	for _, row := range res.Rows {
		v := fmt.Sprint(row[r.column])
		out = append(out, MetricFindValue{Text: v, Value: v})
	}
	return send(http.StatusOK, out)
}

// apiResult is the JSON body of an API query route.
type apiResult struct {
	Query   string `json:"query"`
	Shape   string `json:"shape"`
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows []map[string]any `json:"rows"`
}

func (d *Datasource) query(ctx context.Context, path string, q url.Values) (*apiResult, error) {
	b, err := d.get(ctx, path, q)
	if err != nil {
		return nil, err
	}
	var res apiResult
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("decode stockflow API %s: %w", path, err)
	}
	return &res, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
