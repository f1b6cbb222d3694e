package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// RouteFunc decides a hypothetical order on the routing pipeline's current
// view of stock, forecasts and capacity without reserving anything (the
// record it returns is not produced anywhere).
type RouteFunc func(ctx context.Context, o *event.Order) (event.RoutingDecision, error)

// route answers POST /api/v1/route: the body is an order as on
// stockflow.orders.v1 (event_id and ts may be left out: "what-if" and now),
// the answer the decision routing would make for it now, with its cost
// breakdown and alternatives. A body that is not a valid order is a 400
// with the decoder's reason; a routing pipeline that is not running or
// still catching up is a 503.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stockflow"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "a bearer token is required"})
		return
	}
	if s.cfg.Route == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "routing is not running in this process"})
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is not a JSON object", "reason": string(event.ReasonMalformedJSON)})
		return
	}
	if _, ok := m["event_id"]; !ok {
		m["event_id"] = json.RawMessage(`"what-if"`)
	}
	if _, ok := m["ts"]; !ok {
		ts, _ := json.Marshal(s.cfg.Now().UTC().Format(time.RFC3339Nano)) // a string always marshals
		m["ts"] = ts
	}
	if b, err = json.Marshal(m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
		return
	}
	var o event.Order
	if err := event.DecodeOrder(b, &o); err != nil {
		var de *event.Error
		reason := ""
		if errors.As(err, &de) {
			reason = string(de.Reason)
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "reason": reason})
		return
	}
	d, err := s.cfg.Route(r.Context(), &o)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, d)
}
