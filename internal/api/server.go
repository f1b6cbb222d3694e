// Package api serves stockflow's HTTP endpoints: /healthz (the process is
// up), /readyz (every assigned partition is restored and the store answers),
// /metrics (Prometheus), and the planners' approval of suggested reorders
// (POST /api/v1/reorders/{id}/approve and …/reject, admin token), and the
// planners' read-only query API over the store (GET /api/v1/…, the named
// api_*.sql queries, as JSON or Arrow IPC streams, described at
// /api/v1/openapi.json). It imports neither pipelines nor consumers:
// readiness and approvals come in as functions, the store as a
// store.Store.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/store"
)

// Check is one readiness check: ok, and a detail for the response.
type Check func(ctx context.Context) (ok bool, detail string)

// Config configures the server.
type Config struct {
	Addr     string
	Gatherer prometheus.Gatherer
	// Checks are run by /readyz, by name.
	Checks map[string]Check
	// Version is reported by /healthz.
	Version string
	// Approve submits a planner's decision on a suggested reorder or
	// transfer (it is produced to stockflow.approvals.v1, where the
	// replenishment pipeline applies or dead-letters it). Nil disables the
	// approval endpoints.
	Approve func(ctx context.Context, a event.Approval) error
	// AdminToken is the bearer token the approval endpoints require; empty
	// disables them.
	AdminToken string
	// ReadToken is the bearer token of the read endpoints (export); the
	// admin token is accepted too. With neither set, reads are open.
	ReadToken string
	// Export writes a dataset as one Parquet file (GET
	// /api/v1/export/{dataset}); nil disables the endpoint.
	Export ExportFunc
	// Route answers what-if routing (POST /api/v1/route, read token); nil
	// answers 503.
	Route RouteFunc
	// Store answers the query API (GET /api/v1/stock, …); nil makes
	// those routes answer 503.
	Store store.Store
	// Now is the clock stamped on approvals; default time.Now.
	Now func() time.Time
}

// Server is the HTTP server.
type Server struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener
	srv *http.Server
}

// Listen binds the address, so the caller can print it before Run.
func Listen(cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("api: no listen address")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("api: listen %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, log: log, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	if cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	mux.HandleFunc("POST /api/v1/reorders/{id}/approve", func(w http.ResponseWriter, r *http.Request) { s.decide(w, r, true) })
	mux.HandleFunc("POST /api/v1/reorders/{id}/reject", func(w http.ResponseWriter, r *http.Request) { s.decide(w, r, false) })
	mux.HandleFunc("GET /api/v1/export/{dataset}", s.export)
	s.registerQueries(mux)
	mux.HandleFunc("POST /api/v1/route", s.route)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("api: shutdown: %w", err)
		}
		return nil
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.cfg.Version})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	ready := true
	details := map[string]any{}
	for name, check := range s.cfg.Checks {
		ok, detail := check(ctx)
		ready = ready && ok
		details[name] = map[string]any{"ok": ok, "detail": detail}
	}
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ready, "checks": details})
}

// decisionBody is the body of an approval or rejection.
type decisionBody struct {
	SKU       event.SKU         `json:"sku"`
	Warehouse event.WarehouseID `json:"warehouse"`
	// Qty, when positive, replaces the suggested quantity (approve only).
	Qty int64 `json:"qty"`
	// By names the planner, for the record.
	By string `json:"by"`
}

// decide submits a planner's approval (or rejection) of suggestion {id}.
// The decision is asynchronous: 202 means it is on its way to the
// replenishment pipeline, which orders the suggestion under the same id,
// or dead-letters the approval when no such suggestion is open.
func (s *Server) decide(w http.ResponseWriter, r *http.Request, approve bool) {
	if s.cfg.Approve == nil || s.cfg.AdminToken == "" {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "approvals are disabled: set STOCKFLOW_API_ADMIN_TOKEN"})
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AdminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stockflow"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "an admin bearer token is required"})
		return
	}
	var b decisionBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
		return
	}
	id := r.PathValue("id")
	switch {
	case b.SKU == "" || b.Warehouse == "":
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body needs sku and warehouse (the reorder's destination)"})
		return
	case b.Qty < 0 || !approve && b.Qty != 0:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "qty must be positive, and only when approving"})
		return
	}
	a := event.Approval{ReorderID: id, SKU: b.SKU, Warehouse: b.Warehouse, Approve: approve, By: b.By, Qty: b.Qty, TS: s.cfg.Now().UTC()}
	if err := s.cfg.Approve(r.Context(), a); err != nil {
		s.log.Warn("submit approval", "reorder_id", id, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "submit: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"reorder_id": id, "approve": approve, "status": "submitted"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
