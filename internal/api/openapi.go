package api

import (
	"net/http"
	"slices"
	"strings"
)

// staticOp describes a route that is not a query route, for the OpenAPI
// description.
type staticOp struct {
	Method, Path, Summary string
	// Auth is "", "read" or "admin".
	Auth string
	// Body is the media type of the response body on success.
	Body string
	// Request is a request body's description ("" for none).
	Request string
}

// staticOps are the server's routes other than QueryRoutes. The test
// TestOpenAPIMatchesRoutes fails when a route is registered without an
// entry here (or in QueryRoutes), or an entry has no route.
var staticOps = []staticOp{
	{Method: "GET", Path: "/healthz", Summary: "The process is up; reports its version", Body: "application/json"},
	{Method: "GET", Path: "/readyz", Summary: "Every assigned partition is restored and the store answers", Body: "application/json"},
	{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics", Body: "text/plain"},
	{Method: "POST", Path: "/api/v1/reorders/{id}/approve", Summary: "Approve a suggested reorder or transfer", Auth: "admin", Body: "application/json",
		Request: `{"sku", "warehouse", "qty" (optional replacement quantity), "by"}`},
	{Method: "POST", Path: "/api/v1/reorders/{id}/reject", Summary: "Reject a suggested reorder or transfer", Auth: "admin", Body: "application/json",
		Request: `{"sku", "warehouse", "by"}`},
	{Method: "GET", Path: "/api/v1/export/{dataset}", Summary: "A dataset of a date range as one Parquet file", Auth: "read", Body: "application/vnd.apache.parquet"},
	{Method: "POST", Path: "/api/v1/route", Summary: "What-if routing of an order on the current view of stock, without reserving", Auth: "read", Body: "application/json",
		Request: "an order as on stockflow.orders.v1 (event_id and ts optional)"},
	{Method: "GET", Path: "/api/v1/status", Summary: "Server version and its store (mode, ClickHouse version, database)", Auth: "read", Body: "application/json"},
	{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This description", Body: "application/json"},
}

// OpenAPI returns the OpenAPI 3.0 description of the server's routes.
func OpenAPI(version string) map[string]any {
	paths := map[string]any{}
	add := func(method, path string, op map[string]any) {
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(method)] = op
	}
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	for _, o := range staticOps {
		responses := map[string]any{
			"200": map[string]any{"description": "OK", "content": map[string]any{o.Body: map[string]any{}}},
		}
		op := map[string]any{"operationId": opID(o.Method, o.Path), "summary": o.Summary, "responses": responses}
		var ps []any
		for _, seg := range strings.Split(o.Path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				ps = append(ps, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		if len(ps) > 0 {
			op["parameters"] = ps
		}
		if o.Request != "" {
			op["requestBody"] = map[string]any{"description": o.Request, "required": true,
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		switch o.Auth {
		case "read":
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			responses["401"] = errResp("no valid read or admin token")
		case "admin":
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			responses["401"] = errResp("no valid admin token")
		default:
			op["security"] = []any{}
		}
		add(o.Method, o.Path, op)
	}
	for _, r := range QueryRoutes {
		var ps []any
		for _, name := range routeParams(r) {
			p := params[name]
			if _, fixed := r.Fixed[p.URL]; fixed {
				continue
			}
			var schema map[string]any
			switch p.Type {
			case "array":
				schema = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
			case "time":
				schema = map[string]any{"type": "string"}
			default:
				schema = map[string]any{"type": p.Type}
				if p.Type != "string" {
					schema["minimum"], schema["maximum"] = p.Min, p.Max
				}
				if p.Default != "" {
					schema["default"] = p.Default
				}
			}
			pm := map[string]any{"name": p.URL, "in": "query", "required": false, "description": p.Doc, "schema": schema}
			if p.Type == "array" {
				pm["style"], pm["explode"] = "form", true
			}
			ps = append(ps, pm)
		}
		op := map[string]any{
			"operationId": r.Name,
			"summary":     r.Summary,
			"description": "Runs the named query sql/queries/" + r.Query + ".sql; its header documents every column. Shape: " + string(r.Shape) + ".",
			"security":    []any{map[string]any{"bearer": []any{}}},
			"responses": map[string]any{
				"200": map[string]any{"description": "The rows: JSON by default, an Arrow IPC stream when Accept names " + ContentTypeArrow,
					"content": map[string]any{
						"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/QueryResult"}},
						ContentTypeArrow:   map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}},
					}},
				"400": errResp("a parameter is invalid"),
				"401": errResp("no valid read or admin token"),
				"502": errResp("the store failed the query"),
				"503": errResp("no store behind this server"),
			},
		}
		if len(ps) > 0 {
			op["parameters"] = ps
		}
		add("GET", r.Path, op)
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "stockflow API",
			"version":     version,
			"description": "Planners' read-only queries over the stockflow store, approvals, export and what-if routing. Read routes take the read-only or the admin bearer token.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "properties": map[string]any{"error": map[string]any{"type": "string"}}},
				"QueryResult": map[string]any{
					"type":     "object",
					"required": []any{"query", "shape", "columns", "rows"},
					"properties": map[string]any{
						"query": map[string]any{"type": "string"},
						"shape": map[string]any{"type": "string", "enum": []any{string(ShapeTable), string(ShapeTimeSeries)}},
						"columns": map[string]any{"type": "array", "items": map[string]any{
							"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}, "type": map[string]any{"type": "string"}},
						}},
						"rows": map[string]any{"type": "array", "items": map[string]any{"type": "object", "additionalProperties": true}},
					},
				},
			},
		},
	}
}

// opID makes an operation id from a method and a path.
func opID(method, path string) string {
	f := strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '.' || r == '-' })
	f = slices.DeleteFunc(f, func(s string) bool { return s == "api" || s == "v1" })
	return strings.ToLower(method) + "_" + strings.Join(f, "_")
}

// openapi serves GET /api/v1/openapi.json.
func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, OpenAPI(s.cfg.Version))
}
