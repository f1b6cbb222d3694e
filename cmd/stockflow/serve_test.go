package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/config"
)

// TestServeEmbedded starts `stockflow serve` over a fresh embedded store
// and reads its status and an (empty) query through the read token.
func TestServeEmbedded(t *testing.T) {
	s := config.Defaults()
	s.Data = filepath.Join(t.TempDir(), "data")
	s.HTTP = "127.0.0.1:0"
	s.ReadToken = "r"
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, s, true, slog.New(slog.DiscardHandler), func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before listening (this test needs the embedded ClickHouse engine, libchdb.so: run deploy/scripts/fetch-chdb.sh or set STOCKFLOW_CHDB_LIB): %v", err)
	}
	tests := []struct {
		name, path, token string
		code              int
	}{
		{name: "status", path: "/api/v1/status", token: "r", code: http.StatusOK},
		{name: "query", path: "/api/v1/stock", token: "r", code: http.StatusOK},
		{name: "no token", path: "/api/v1/stock", code: http.StatusUnauthorized},
		{name: "readyz", path: "/readyz", code: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rctx, rcancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer rcancel()
			req, err := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+addr+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.code, body)
			}
			if tc.name == "status" && (body["store"] != "embedded" || body["version"] != version) {
				t.Errorf("status body %v", body)
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
