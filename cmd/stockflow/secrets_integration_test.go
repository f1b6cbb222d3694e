//go:build integration

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stockflow/stockflow/internal/crashtest"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/sim"
	"github.com/stockflow/stockflow/internal/testenv"
)

// TestIntegrationSecretsNeverLogged runs the built `stockflow` binary with
// every secret it takes — the Kafka SASL password (from a file, and from
// the environment), the API read token (environment) and admin token
// (file), a ClickHouse password inside the DSN (environment) and one from
// STOCKFLOW_CLICKHOUSE_PASSWORD_FILE — at log
// level debug, and greps everything it wrote for them: the logs (stdout
// and stderr), /metrics, /healthz, /readyz, the API's error answers, and
// the one-line reasons of the runs that fail (wrong Kafka password,
// unreachable ClickHouse server). None may appear, in clear or
// URL-escaped.
//
// The broker is kfake in the test process with SASL (SCRAM-SHA-512)
// required; the store is the embedded ClickHouse engine, since no
// ClickHouse server runs here (the DSN runs point at a closed port).
func TestIntegrationSecretsNeverLogged(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	secret := func(what string) string {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		// Characters a DSN must escape, so the escaped form is checked too.
		return what + "-" + hex.EncodeToString(b) + "+/@:"
	}
	var (
		kafkaPW  = secret("kafkapw")
		wrongPW  = secret("wrongpw")
		readTok  = secret("readtok")
		adminTok = secret("admintok")
		chPW     = secret("chpw")
		chFilePW = secret("chfilepw")
		secrets  = map[string]string{"Kafka SASL password": kafkaPW, "wrong Kafka password": wrongPW, "API read token": readTok, "API admin token": adminTok,
			"ClickHouse password": chPW, "ClickHouse password from a file": chFilePW}
	)
	writeSecret := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kafkaPWFile := writeSecret("kafka-password", kafkaPW)
	adminTokFile := writeSecret("admin-token", adminTok)
	chPWFile := writeSecret("clickhouse-password", chFilePW)

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser(kafka.MechanismScramSHA512, "stockflow", kafkaPW),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "8388608"}))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	if err := testenv.Report("kafka: kfake with SASL SCRAM-SHA-512 in the test process (cmd/stockflow secrets)"); err != nil {
		t.Fatal(err)
	}

	bin := buildStockflow(ctx, t, dir)
	simulator, err := sim.New(sim.Config{Seed: 7, SKUs: 20, Warehouses: 3, Days: 10, BadShare: sim.DefaultBadShare})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range simulator.Warehouses() {
		names = append(names, string(w.ID))
	}
	common := []string{
		"STOCKFLOW_LOG_LEVEL=debug",
		"STOCKFLOW_PARTITIONS=2",
		"STOCKFLOW_WAREHOUSES=" + strings.Join(names, ","),
		"STOCKFLOW_ROUTING_CONFIG=" + writeRoutingConfig(t, dir, simulator),
		"STOCKFLOW_KAFKA_SASL_MECHANISM=" + kafka.MechanismScramSHA512,
		"STOCKFLOW_KAFKA_SASL_USER=stockflow",
		"STOCKFLOW_API_TOKEN=" + readTok,
		"STOCKFLOW_API_ADMIN_TOKEN_FILE=" + adminTokFile,
	}
	var seen []string // everything the binary wrote or answered, by where
	add := func(where, text string) { seen = append(seen, where+"\n"+text) }

	// 1. process, SASL password from a file, working.
	t.Run("process", func(t *testing.T) {
		env := append(append([]string{}, common...), "STOCKFLOW_KAFKA_SASL_PASSWORD_FILE="+kafkaPWFile, "STOCKFLOW_CLICKHOUSE=")
		c, err := crashtest.Start("process", bin, []string{"process", "--brokers", strings.Join(brokers, ","), "--data", filepath.Join(dir, "data"),
			"--instance-id", "secrets", "--http", "127.0.0.1:0"}, env, filepath.Join(dir, "process.log"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Kill()
		addr, err := c.Addr(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kc := kafka.Config{Brokers: brokers, SASL: kafka.SASL{Mechanism: kafka.MechanismScramSHA512, User: "stockflow", Password: kafkaPW}}
		opts, err := kc.Opts()
		if err != nil {
			t.Fatal(err)
		}
		stats, err := crashtest.Produce(ctx, opts, simulator)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("produced %d events over SASL", stats.Events)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			m, err := c.Metrics(ctx)
			if err == nil && m[progressMetrics[0]] > 0 && m[progressMetrics[1]] > 0 {
				t.Logf("process read %.0f records and the sink wrote %.0f rows over SASL", m[progressMetrics[0]], m[progressMetrics[1]])
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("process made no progress over SASL:\n%s", c.Tail(30))
			case <-tick.C:
			}
		}
		base := "http://" + addr
		for _, r := range []struct{ method, path, token string }{
			{http.MethodGet, "/metrics", ""},
			{http.MethodGet, "/healthz", ""},
			{http.MethodGet, "/readyz", ""},
			{http.MethodGet, "/api/v1/status", ""},
			{http.MethodGet, "/api/v1/status", "not-" + readTok},
			{http.MethodGet, "/api/v1/status", readTok},
			{http.MethodGet, "/api/v1/stock?sku=" + url.QueryEscape(readTok), readTok},
			{http.MethodPost, "/api/v1/reorders/RO-X-Y-1/approve", readTok},
			{http.MethodPost, "/api/v1/reorders/RO-X-Y-1/approve", adminTok},
		} {
			code, body := httpCall(ctx, t, r.method, base+r.path, r.token)
			// The stock query echoes its parameter: that is the caller's
			// own input, not a leak.
			if strings.Contains(r.path, "sku=") {
				body = strings.ReplaceAll(body, readTok, "<sku parameter>")
			}
			add(fmt.Sprintf("%s %s (HTTP %d)", r.method, strings.SplitN(r.path, "?", 2)[0], code), body)
		}
		if err := c.Terminate(time.Minute); err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, c.Tail(20))
		}
		// At debug level: stockflow has few debug lines today (and hands
		// franz-go no logger), so this guards the ones to come.
		add("process log", readFile(t, c.LogPath))
	})

	// 2. process with a wrong SASL password from the environment: it must
	// fail with a reason, and the reason must not carry the password.
	t.Run("wrong Kafka password", func(t *testing.T) {
		env := append(append([]string{}, common...), "STOCKFLOW_KAFKA_SASL_PASSWORD="+wrongPW, "STOCKFLOW_CLICKHOUSE=")
		out, err := runBin(ctx, t, bin, env, "process", "--brokers", strings.Join(brokers, ","), "--data", filepath.Join(dir, "data-wrong"),
			"--instance-id", "secrets-wrong", "--http", "127.0.0.1:0")
		if err == nil {
			t.Errorf("process with a wrong SASL password exited 0:\n%s", out)
		}
		t.Logf("its last line: %s", lastLine(out))
		add("process with a wrong SASL password", out)
	})

	// 3. commands with a ClickHouse password in the DSN, server down.
	closed := closedPort(t)
	dsn := "clickhouse://stockflow:" + url.PathEscape(chPW) + "@" + closed + "/stockflow?dial_timeout=1s&retries=-1"
	for _, cmd := range [][]string{
		{"process", "--brokers", strings.Join(brokers, ","), "--instance-id", "secrets-ch", "--http", "127.0.0.1:0"},
		{"migrate"},
		{"verify", "--json"},
	} {
		t.Run(cmd[0]+" with an unreachable ClickHouse", func(t *testing.T) {
			env := append(append([]string{}, common...), "STOCKFLOW_KAFKA_SASL_PASSWORD_FILE="+kafkaPWFile, "STOCKFLOW_CLICKHOUSE="+dsn)
			out, err := runBin(ctx, t, bin, env, cmd...)
			if err == nil {
				t.Errorf("%s against a closed port exited 0:\n%s", cmd[0], out)
			}
			if !strings.Contains(out, closed) {
				t.Errorf("%s: the reason does not name the server %s:\n%s", cmd[0], closed, out)
			}
			t.Logf("its last line: %s", lastLine(out))
			add(cmd[0]+" with an unreachable ClickHouse", out)
		})
	}
	// The password from a mounted file, the DSN without it.
	t.Run("migrate with the ClickHouse password from a file", func(t *testing.T) {
		env := append(append([]string{}, common...), "STOCKFLOW_CLICKHOUSE=clickhouse://stockflow@"+closed+"/stockflow?dial_timeout=1s&retries=-1",
			"STOCKFLOW_CLICKHOUSE_PASSWORD_FILE="+chPWFile)
		out, err := runBin(ctx, t, bin, env, "migrate")
		if err == nil {
			t.Errorf("migrate against a closed port exited 0:\n%s", out)
		}
		add("migrate with the ClickHouse password from a file", out)
	})

	for _, text := range seen {
		where, body, _ := strings.Cut(text, "\n")
		for what, s := range secrets {
			for _, form := range []string{s, url.PathEscape(s), url.QueryEscape(s), strings.TrimSuffix(s, "+/@:")} {
				if strings.Contains(body, form) {
					t.Errorf("%s shows the %s (%q)", where, what, form)
				}
			}
		}
	}
	t.Logf("checked %d outputs for %d secrets", len(seen), len(secrets))
}

// runBin runs the binary to completion (bounded by a minute) and returns
// its combined output.
func runBin(ctx context.Context, t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := crashtest.Start(args[0], bin, args, env, filepath.Join(t.TempDir(), "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		c.Kill()
		return readFile(t, c.LogPath), fmt.Errorf("%s did not exit within a minute", args[0])
	}
	return readFile(t, c.LogPath), c.ExitErr()
}

func httpCall(ctx context.Context, t *testing.T, method, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(`{"sku":"X","warehouse":"Y"}`))
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
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// closedPort returns host:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
