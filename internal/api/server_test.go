package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stockflow/stockflow/internal/event"
)

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "stockflow_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var ready atomic.Bool
	srv, err := Listen(Config{
		Addr: "127.0.0.1:0", Gatherer: reg, Version: "v-test",
		Checks: map[string]Check{"stock": func(context.Context) (bool, string) { return ready.Load(), "2 partitions restoring" }},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base := "http://" + srv.Addr()

	get := func(path string) (int, string) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer rcancel()
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
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
		return resp.StatusCode, string(b)
	}

	tests := []struct {
		name     string
		path     string
		setReady bool
		code     int
		contains string
	}{
		{name: "healthz", path: "/healthz", code: http.StatusOK, contains: `"version":"v-test"`},
		{name: "readyz while restoring", path: "/readyz", code: http.StatusServiceUnavailable, contains: "2 partitions restoring"},
		{name: "readyz when restored", path: "/readyz", setReady: true, code: http.StatusOK, contains: `"ready":true`},
		{name: "metrics", path: "/metrics", code: http.StatusOK, contains: "stockflow_test_total 3"},
		{name: "unknown path", path: "/nope", code: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready.Store(tc.setReady)
			code, body := get(tc.path)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if !strings.Contains(body, tc.contains) {
				t.Fatalf("body %q does not contain %q", body, tc.contains)
			}
			if strings.HasPrefix(tc.path, "/readyz") {
				var v map[string]any
				if err := json.Unmarshal([]byte(body), &v); err != nil {
					t.Fatalf("readyz is not JSON: %v", err)
				}
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestApprovals drives the approval endpoints: the admin token is required
// and checked, bodies are validated, and an accepted decision reaches the
// Approve function as an event.Approval with the path's reorder id.
func TestApprovals(t *testing.T) {
	var got []event.Approval
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	start := func(token string, approve func(context.Context, event.Approval) error) string {
		t.Helper()
		srv, err := Listen(Config{Addr: "127.0.0.1:0", AdminToken: token, Approve: approve,
			Now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
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
	record := func(_ context.Context, a event.Approval) error {
		got = append(got, a)
		return nil
	}
	base := start("s3cret", record)
	disabled := start("", record)
	post := func(url, token, body string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	const ok = `{"sku":"SKU-1","warehouse":"WH1","qty":24,"by":"ana"}`
	tests := []struct {
		name, url, token, body string
		code                   int
	}{
		{"disabled without a token", disabled + "/api/v1/reorders/RO-SKU-1-WH1-3/approve", "x", ok, http.StatusForbidden},
		{"no token", base + "/api/v1/reorders/RO-SKU-1-WH1-3/approve", "", ok, http.StatusUnauthorized},
		{"wrong token", base + "/api/v1/reorders/RO-SKU-1-WH1-3/approve", "s3cre", ok, http.StatusUnauthorized},
		{"no warehouse", base + "/api/v1/reorders/RO-SKU-1-WH1-3/approve", "s3cret", `{"sku":"SKU-1"}`, http.StatusBadRequest},
		{"unknown field", base + "/api/v1/reorders/RO-SKU-1-WH1-3/approve", "s3cret", `{"sku":"SKU-1","warehouse":"WH1","qyt":3}`, http.StatusBadRequest},
		{"qty on reject", base + "/api/v1/reorders/RO-SKU-1-WH1-3/reject", "s3cret", ok, http.StatusBadRequest},
		{"approve", base + "/api/v1/reorders/RO-SKU-1-WH1-3/approve", "s3cret", ok, http.StatusAccepted},
		{"reject", base + "/api/v1/reorders/TO-SKU-1-WH2-WH1-1/reject", "s3cret", `{"sku":"SKU-1","warehouse":"WH1"}`, http.StatusAccepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := post(tc.url, tc.token, tc.body); code != tc.code {
				t.Errorf("status %d, want %d", code, tc.code)
			}
		})
	}
	want := []event.Approval{
		{ReorderID: "RO-SKU-1-WH1-3", SKU: "SKU-1", Warehouse: "WH1", Approve: true, By: "ana", TS: now, Qty: 24},
		{ReorderID: "TO-SKU-1-WH2-WH1-1", SKU: "SKU-1", Warehouse: "WH1", Approve: false, TS: now},
	}
	if len(got) != len(want) {
		t.Fatalf("approvals submitted: %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("approval %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
