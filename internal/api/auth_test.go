package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stockflow/stockflow/internal/event"
)

// TestTokens checks who may call what, for every kind of endpoint, with
// the read and admin tokens set, with only the admin token, and with
// none: the read token reads but never approves; the admin token does
// both; a wrong token, a token with a different prefix or suffix, a
// scheme other than "Bearer " and no token are refused with 401 and a
// WWW-Authenticate header; the probes and /metrics stay open (Kubernetes
// and Prometheus call them without credentials); and no answer echoes a
// token.
func TestTokens(t *testing.T) {
	const (
		read  = "read-tok-3f9a"
		admin = "admin-tok-8c21"
	)
	reg := prometheus.NewRegistry()
	exported := func(_ context.Context, _ ExportRequest, w io.Writer) error {
		_, err := io.WriteString(w, "PAR1")
		return err
	}
	routed := func(_ context.Context, o *event.Order) (event.RoutingDecision, error) {
		return event.RoutingDecision{OrderID: o.OrderID}, nil
	}
	approve := func(context.Context, event.Approval) error { return nil }
	start := func(readTok, adminTok string) string {
		t.Helper()
		srv, err := Listen(Config{Addr: "127.0.0.1:0", Gatherer: reg, ReadToken: readTok, AdminToken: adminTok,
			Approve: approve, Export: exported, Route: routed}, slog.New(slog.DiscardHandler))
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
	both := start(read, admin)
	adminOnly := start("", admin)
	open := start("", "")

	const approval = `{"sku":"SKU-1","warehouse":"WH1"}`
	// A query route without a store answers 503 once the token passed:
	// 503 means "authorized".
	tests := []struct {
		name, base, method, path, auth, body string
		code                                 int
	}{
		{"query: no token", both, http.MethodGet, "/api/v1/stock", "", "", http.StatusUnauthorized},
		{"query: read token", both, http.MethodGet, "/api/v1/stock", "Bearer " + read, "", http.StatusServiceUnavailable},
		{"query: admin token", both, http.MethodGet, "/api/v1/stock", "Bearer " + admin, "", http.StatusServiceUnavailable},
		{"query: token with a suffix", both, http.MethodGet, "/api/v1/stock", "Bearer " + read + "x", "", http.StatusUnauthorized},
		{"query: prefix of the token", both, http.MethodGet, "/api/v1/stock", "Bearer " + read[:len(read)-1], "", http.StatusUnauthorized},
		{"query: lower-case scheme", both, http.MethodGet, "/api/v1/stock", "bearer " + read, "", http.StatusUnauthorized},
		{"query: basic auth", both, http.MethodGet, "/api/v1/stock", "Basic " + read, "", http.StatusUnauthorized},
		{"query: empty bearer", both, http.MethodGet, "/api/v1/stock", "Bearer ", "", http.StatusUnauthorized},
		{"status: no token", both, http.MethodGet, "/api/v1/status", "", "", http.StatusUnauthorized},
		{"export: no token", both, http.MethodGet, "/api/v1/export/sales?from=2026-01-01&to=2026-01-02", "", "", http.StatusUnauthorized},
		{"export: wrong token", both, http.MethodGet, "/api/v1/export/sales?from=2026-01-01&to=2026-01-02", "Bearer nope", "", http.StatusUnauthorized},
		{"export: read token", both, http.MethodGet, "/api/v1/export/sales?from=2026-01-01&to=2026-01-02", "Bearer " + read, "", http.StatusOK},
		{"route: no token", both, http.MethodPost, "/api/v1/route", "", "{}", http.StatusUnauthorized},
		{"route: wrong token", both, http.MethodPost, "/api/v1/route", "Bearer nope", "{}", http.StatusUnauthorized},
		{"approve: read token", both, http.MethodPost, "/api/v1/reorders/RO-SKU-1-WH1-1/approve", "Bearer " + read, approval, http.StatusUnauthorized},
		{"reject: read token", both, http.MethodPost, "/api/v1/reorders/RO-SKU-1-WH1-1/reject", "Bearer " + read, approval, http.StatusUnauthorized},
		{"approve: admin token", both, http.MethodPost, "/api/v1/reorders/RO-SKU-1-WH1-1/approve", "Bearer " + admin, approval, http.StatusAccepted},
		{"admin only: reads need the admin token", adminOnly, http.MethodGet, "/api/v1/export/sales?from=2026-01-01&to=2026-01-02", "", "", http.StatusUnauthorized},
		{"admin only: admin token reads", adminOnly, http.MethodGet, "/api/v1/export/sales?from=2026-01-01&to=2026-01-02", "Bearer " + admin, "", http.StatusOK},
		{"no tokens: reads are open", open, http.MethodGet, "/api/v1/export/sales?from=2026-01-01&to=2026-01-02", "", "", http.StatusOK},
		{"no tokens: approvals are disabled", open, http.MethodPost, "/api/v1/reorders/RO-SKU-1-WH1-1/approve", "Bearer anything", approval, http.StatusForbidden},
		{"healthz is open", both, http.MethodGet, "/healthz", "", "", http.StatusOK},
		{"readyz is open", both, http.MethodGet, "/readyz", "", "", http.StatusOK},
		{"metrics are open", both, http.MethodGet, "/metrics", "", "", http.StatusOK},
		{"openapi is open", both, http.MethodGet, "/api/v1/openapi.json", "", "", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, tc.base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s: status %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.code, body)
			}
			if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			for _, tok := range []string{read, admin} {
				if strings.Contains(string(body), tok) {
					t.Errorf("the answer echoes a token: %s", body)
				}
			}
		})
	}
}
