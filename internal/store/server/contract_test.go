//go:build chserver

package server

import (
	"os"
	"strings"
	"testing"

	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/storetest"
)

// TestContract runs the store contract suite against the ClickHouse server
// named by CLICKHOUSE_ADDR (host:port, or a clickhouse:// DSN). It is built
// with the chserver tag (go test -tags chserver ./internal/store/server),
// and fails, naming the variable, when no server is given. make test has
// no ClickHouse server to start, so it does not run this suite.
func TestContract(t *testing.T) {
	opts := serverOptions(t)
	probe, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("open ClickHouse server %s: %v", opts, err)
	}
	v, err := probe.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ClickHouse server %s at %s", v, opts)
	_ = probe.Close()
	storetest.Run(t, func(t *testing.T, database string) store.Store {
		t.Helper()
		o := opts
		o.Database = database
		s, err := Open(t.Context(), o)
		if err != nil {
			t.Fatalf("open server store: %v", err)
		}
		return s
	})
}

func serverOptions(t *testing.T) Options {
	t.Helper()
	addr := os.Getenv("CLICKHOUSE_ADDR")
	if addr == "" {
		t.Fatal("CLICKHOUSE_ADDR is not set: the server-mode contract suite needs a ClickHouse server (host:port or clickhouse://user:pass@host:9000/db)")
	}
	if strings.Contains(addr, "://") {
		o, err := ParseDSN(addr)
		if err != nil {
			t.Fatalf("CLICKHOUSE_ADDR: %v", err)
		}
		return o
	}
	return Options{Addr: strings.Split(addr, ","), Username: os.Getenv("CLICKHOUSE_USER"), Password: os.Getenv("CLICKHOUSE_PASSWORD")}
}
