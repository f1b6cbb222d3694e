package config

import (
	"strings"
	"testing"
	"time"
)

func TestLayering(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		check   func(t *testing.T, s Settings)
		wantErr string
	}{
		{
			name: "defaults are embedded",
			check: func(t *testing.T, s Settings) {
				if !s.Embedded() || s.Data != "./stockflow-data" || s.MaxFuture.Std() != time.Hour || s.ForecastInterval.Std() != 24*time.Hour {
					t.Errorf("defaults: %+v", s)
				}
			},
		},
		{
			name: "file with durations and kafka security",
			file: "testdata/server.json",
			check: func(t *testing.T, s Settings) {
				if s.EmbeddedKafka() || s.EmbeddedClickHouse() || s.Partitions != 12 {
					t.Errorf("server settings not read: %+v", s)
				}
				if s.MaxFuture.Std() != 30*time.Minute || s.Shutdown.Std() != 90*time.Second || s.ForecastInterval.Std() != 6*time.Hour {
					t.Errorf("durations: %v %v %v", s.MaxFuture.Std(), s.Shutdown.Std(), s.ForecastInterval.Std())
				}
				if s.Kafka.Mechanism != "SCRAM-SHA-512" || s.Kafka.User != "stockflow" || !s.TLS.Enabled || s.TLS.CAFile != "/etc/stockflow/ca.pem" {
					t.Errorf("kafka security: %+v %+v", s.Kafka, s.TLS)
				}
			},
		},
		{
			name: "environment wins over the file",
			file: "testdata/server.json",
			env: map[string]string{
				"STOCKFLOW_PARTITIONS":          "24",
				"STOCKFLOW_BROKERS":             " a:1, b:2 ,",
				"STOCKFLOW_KAFKA_SASL_PASSWORD": "s3cret",
				"STOCKFLOW_WAREHOUSES":          "WH01,WH02",
			},
			check: func(t *testing.T, s Settings) {
				if s.Partitions != 24 || strings.Join(s.Brokers, "|") != "a:1|b:2" || s.Kafka.Password != "s3cret" || len(s.Warehouses) != 2 {
					t.Errorf("env not applied: %+v", s)
				}
			},
		},
		{
			name: "forecast interval from the environment",
			file: "testdata/server.json",
			env:  map[string]string{"STOCKFLOW_FORECAST_INTERVAL": "90m"},
			check: func(t *testing.T, s Settings) {
				if s.ForecastInterval.Std() != 90*time.Minute {
					t.Errorf("forecast interval %v, want 1h30m", s.ForecastInterval.Std())
				}
			},
		},
		{
			name: "forecast interval 0 disables",
			env:  map[string]string{"STOCKFLOW_FORECAST_INTERVAL": "0s"},
			check: func(t *testing.T, s Settings) {
				if s.ForecastInterval != 0 {
					t.Errorf("forecast interval %v, want 0", s.ForecastInterval.Std())
				}
			},
		},
		{name: "bad forecast interval", env: map[string]string{"STOCKFLOW_FORECAST_INTERVAL": "daily"}, wantErr: "STOCKFLOW_FORECAST_INTERVAL"},
		{name: "negative forecast interval", env: map[string]string{"STOCKFLOW_FORECAST_INTERVAL": "-1h"}, wantErr: "forecast_interval must not be negative"},
		{name: "unknown file field", file: "testdata/unknown.json", wantErr: "unknown field"},
		{name: "bad partitions", env: map[string]string{"STOCKFLOW_PARTITIONS": "many"}, wantErr: "STOCKFLOW_PARTITIONS"},
		{name: "zero partitions", env: map[string]string{"STOCKFLOW_PARTITIONS": "0"}, wantErr: "partitions must be positive"},
		{name: "bad log level", env: map[string]string{"STOCKFLOW_LOG_LEVEL": "loud"}, wantErr: "log level"},
		{
			name: "clickhouse cluster from the file",
			file: "testdata/cluster.json",
			check: func(t *testing.T, s Settings) {
				c := s.ClickHouseCluster
				if !c.Enabled() || c.Name != "stockflow" || c.DedupWindow != 200000 || c.DedupWindowSeconds != 86400 || c.ShardingKeys["warehouses"] != "cityHash64(id)" {
					t.Errorf("cluster settings not read: %+v", c)
				}
			},
		},
		{
			name: "clickhouse cluster name from the environment",
			file: "testdata/server.json",
			env:  map[string]string{"STOCKFLOW_CLICKHOUSE_CLUSTER": "prod"},
			check: func(t *testing.T, s Settings) {
				if s.ClickHouseCluster.Name != "prod" {
					t.Errorf("cluster name %q, want prod", s.ClickHouseCluster.Name)
				}
			},
		},
		{name: "clickhouse cluster with the embedded engine", env: map[string]string{"STOCKFLOW_CLICKHOUSE_CLUSTER": "prod"}, wantErr: "needs a ClickHouse server"},
		{
			name: "api tokens from the environment",
			env:  map[string]string{"STOCKFLOW_API_TOKEN": " r1 ", "STOCKFLOW_API_ADMIN_TOKEN": "a1"},
			check: func(t *testing.T, s Settings) {
				if s.ReadToken != "r1" || s.AdminToken != "a1" {
					t.Errorf("tokens %q %q, want r1 a1", s.ReadToken, s.AdminToken)
				}
			},
		},
		{
			name: "read token from a file wins over the variable",
			env:  map[string]string{"STOCKFLOW_API_TOKEN": "r1", "STOCKFLOW_API_TOKEN_FILE": "testdata/api-token.txt"},
			check: func(t *testing.T, s Settings) {
				if s.ReadToken != "read-from-file" {
					t.Errorf("read token %q, want read-from-file", s.ReadToken)
				}
			},
		},
		{
			name: "clickhouse DSN and password from files (mounted secrets)",
			env:  map[string]string{"STOCKFLOW_CLICKHOUSE": "clickhouse://other", "STOCKFLOW_CLICKHOUSE_FILE": "testdata/clickhouse-dsn.txt", "STOCKFLOW_CLICKHOUSE_PASSWORD": "pw", "STOCKFLOW_CLICKHOUSE_PASSWORD_FILE": "testdata/clickhouse-password.txt"},
			check: func(t *testing.T, s Settings) {
				if want := "clickhouse://stockflow@ch-0.ch:9440/stockflow?ca_file=/etc/stockflow/tls/ca.pem"; s.ClickHouse != want {
					t.Errorf("DSN %q, want %q", s.ClickHouse, want)
				}
				if s.ClickHousePassword != "s3cret-from-file" {
					t.Errorf("ClickHouse password %q, want the file's", s.ClickHousePassword)
				}
			},
		},
		{name: "missing clickhouse password file", env: map[string]string{"STOCKFLOW_CLICKHOUSE_PASSWORD_FILE": "testdata/nope"}, wantErr: "read ClickHouse password file"},
		{name: "missing read token file", env: map[string]string{"STOCKFLOW_API_TOKEN_FILE": "testdata/nope"}, wantErr: "read API token file"},
		{name: "bad clickhouse cluster name", file: "testdata/server.json", env: map[string]string{"STOCKFLOW_CLICKHOUSE_CLUSTER": "a'b"}, wantErr: "clickhouse cluster: name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Defaults()
			err := func() error {
				if tc.file != "" {
					if err := s.LoadFile(tc.file); err != nil {
						return err
					}
				}
				if err := s.ApplyEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }); err != nil {
					return err
				}
				return s.Validate()
			}()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	for in, want := range map[string]time.Duration{`"90s"`: 90 * time.Second, `1500000000`: 1500 * time.Millisecond} {
		if err := d.UnmarshalJSON([]byte(in)); err != nil || d.Std() != want {
			t.Errorf("%s: %v, %v; want %v", in, d.Std(), err, want)
		}
	}
	if err := d.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Error("bad duration accepted")
	}
	b, err := Duration(time.Minute).MarshalJSON()
	if err != nil || string(b) != `"1m0s"` {
		t.Errorf("marshal: %s %v", b, err)
	}
}
