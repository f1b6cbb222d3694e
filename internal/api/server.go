// Package api serves stockflow's HTTP endpoints: /healthz (the process is
// up), /readyz (every assigned partition is restored and the store answers)
// and /metrics (Prometheus). It imports neither pipelines nor consumers:
// readiness comes in as a function.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
