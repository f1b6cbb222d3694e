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
