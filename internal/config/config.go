// Package config holds the settings shared by stockflow's subcommands and
// their layering: defaults, then an optional JSON config file, then
// environment variables (STOCKFLOW_*), then command-line flags. It never
// reads the environment or flags itself: cmd/ hands them in.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
)

// Settings are the store and broker settings every subcommand takes.
type Settings struct {
	// Data is the embedded-mode directory (broker and ClickHouse engine).
	Data string `json:"data"`
	// Brokers, when set, selects external Kafka.
	Brokers []string `json:"brokers"`
	// ClickHouse, when set, is a server DSN (clickhouse://user:pass@host:9000/db).
	// It also comes from STOCKFLOW_CLICKHOUSE, or from the file named by
	// STOCKFLOW_CLICKHOUSE_FILE (a mounted secret).
	ClickHouse string `json:"clickhouse"`
	// ClickHousePassword, when set, replaces the DSN's password, so the
	// DSN in a config file or manifest can leave it out. It never comes
	// from the config file: set STOCKFLOW_CLICKHOUSE_PASSWORD or
	// STOCKFLOW_CLICKHOUSE_PASSWORD_FILE.
	ClickHousePassword string `json:"-"`
	// Database inside the embedded engine; default "stockflow".
	Database string `json:"database"`
	// ClickHouseCluster, when its name is set, selects the sharded,
	// replicated schema on the ClickHouse cluster of that name (server mode
	// only): migrations run ON CLUSTER with Replicated*MergeTree local
	// tables behind Distributed tables (store.MigrateCluster,
	// deploy/README.md "ClickHouse cluster"). The name also comes from
	// STOCKFLOW_CLICKHOUSE_CLUSTER; sharding keys and deduplication windows
	// only from the config file.
	ClickHouseCluster store.Cluster `json:"clickhouse_cluster"`
	// HTTP is the listen address of /healthz, /readyz and /metrics.
	HTTP string `json:"http"`
	// Partitions of every stockflow topic when stockflow creates them.
	Partitions int32 `json:"partitions"`
	// InstanceID makes the transactional id of this instance unique and
	// stable across its restarts; run defaults it to "0", process to the
	// host name (a pod name under Kubernetes).
	InstanceID string `json:"instance_id"`
	// Warehouses registered when none are in the store (process mode).
	Warehouses []string `json:"warehouses"`
	// MaxFuture is the accepted clock skew of event timestamps.
	MaxFuture Duration `json:"max_future"`
	// WindowGrace is how long after its end an event-time window still
	// takes events before its final result; later sales become corrections.
	WindowGrace Duration `json:"window_grace"`
	// IdleFlush is how long a caught-up partition may see no records before
	// the wall clock closes its windows; 0 disables.
	IdleFlush Duration `json:"idle_flush"`
	// ForecastInterval is how often `stockflow run` trains the demand
	// forecasts after its first training (which follows the simulated
	// history); 0 disables training inside run.
	ForecastInterval Duration `json:"forecast_interval"`
	// ReplenishConfig is the path of a JSON file with the replenishment
	// pipeline's planning rules and item master ({"planning": …, "items":
	// […], "default_item": …}); empty means the built-in defaults.
	ReplenishConfig string `json:"replenish_config"`
	// RoutingConfig is the path of a JSON file with the routing
	// pipeline's network, rate cards, costs and item weights ({"config":
	// …, "items": {…}}); empty means the built-in defaults over the
	// registered warehouses.
	RoutingConfig string `json:"routing_config"`
	// AdminToken is the bearer token of the HTTP API's admin endpoints
	// (approving suggested reorders). It never comes from the config file:
	// set STOCKFLOW_API_ADMIN_TOKEN or STOCKFLOW_API_ADMIN_TOKEN_FILE.
	AdminToken string `json:"-"`
	// ReadToken is the bearer token of the HTTP API's read endpoints
	// (queries, export); the admin token is accepted there too. It never
	// comes from the config file: set STOCKFLOW_API_TOKEN or
	// STOCKFLOW_API_TOKEN_FILE.
	ReadToken string `json:"-"`
	// LogLevel is debug, info, warn or error.
	LogLevel string     `json:"log_level"`
	Kafka    kafka.SASL `json:"kafka_sasl"`
	TLS      kafka.TLS  `json:"kafka_tls"`
	Shutdown Duration   `json:"shutdown_timeout"`
}

// Defaults returns the built-in settings.
func Defaults() Settings {
	return Settings{
		Data:        "./stockflow-data",
		Database:    "stockflow",
		HTTP:        "127.0.0.1:8686",
		Partitions:  6,
		MaxFuture:   Duration(time.Hour),
		WindowGrace: Duration(time.Hour),
		IdleFlush:   Duration(30 * time.Second),
		LogLevel:    "info",
		Shutdown:    Duration(60 * time.Second),
		// Daily demand changes once a day.
		ForecastInterval: Duration(24 * time.Hour),
	}
}

// Embedded reports whether the settings select the embedded broker and
// engine (no external brokers and no ClickHouse DSN).
func (s Settings) Embedded() bool { return s.EmbeddedKafka() && s.EmbeddedClickHouse() }

// EmbeddedKafka reports whether the in-process broker under Data is used
// (no --brokers).
func (s Settings) EmbeddedKafka() bool { return len(s.Brokers) == 0 }

// EmbeddedClickHouse reports whether the in-process engine under Data is
// used (no --clickhouse DSN). Mixing is allowed: external Kafka with the
// embedded engine, say, for a single-node deployment on an existing cluster.
func (s Settings) EmbeddedClickHouse() bool { return s.ClickHouse == "" }

// Validate reports the first problem with s.
func (s Settings) Validate() error {
	if (s.EmbeddedKafka() || s.EmbeddedClickHouse()) && s.Data == "" {
		return errors.New("config: the embedded broker or engine needs --data DIR")
	}
	if s.Partitions <= 0 {
		return errors.New("config: partitions must be positive")
	}
	if s.WindowGrace < 0 || s.IdleFlush < 0 {
		return errors.New("config: window_grace and idle_flush must not be negative")
	}
	if err := s.ClickHouseCluster.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if s.ClickHouseCluster.Enabled() && s.EmbeddedClickHouse() {
		return errors.New("config: clickhouse_cluster needs a ClickHouse server (--clickhouse DSN); the embedded engine is a single node")
	}
	if s.ForecastInterval < 0 {
		return errors.New("config: forecast_interval must not be negative (0 disables training in run)")
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: unknown log level %q", s.LogLevel)
	}
	return nil
}

// KafkaDir is where the embedded broker keeps its log.
func (s Settings) KafkaDir() string { return filepath.Join(s.Data, "kafka") }

// ClickHouseDir is where the embedded ClickHouse engine keeps its data.
func (s Settings) ClickHouseDir() string { return filepath.Join(s.Data, "clickhouse") }

// LoadFile overlays the JSON config file at path onto s.
func (s *Settings) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: read %s: %w", path, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return fmt.Errorf("config: parse %s: %w", path, err)
	}
	return nil
}

// Env lists the environment variables ApplyEnv reads.
var Env = []string{
	"STOCKFLOW_DATA", "STOCKFLOW_BROKERS", "STOCKFLOW_CLICKHOUSE", "STOCKFLOW_CLICKHOUSE_FILE",
	"STOCKFLOW_CLICKHOUSE_PASSWORD", "STOCKFLOW_CLICKHOUSE_PASSWORD_FILE", "STOCKFLOW_CLICKHOUSE_CLUSTER", "STOCKFLOW_DATABASE", "STOCKFLOW_HTTP",
	"STOCKFLOW_PARTITIONS", "STOCKFLOW_INSTANCE_ID", "STOCKFLOW_WAREHOUSES", "STOCKFLOW_LOG_LEVEL",
	"STOCKFLOW_WINDOW_GRACE", "STOCKFLOW_IDLE_FLUSH", "STOCKFLOW_FORECAST_INTERVAL", "STOCKFLOW_REPLENISH_CONFIG", "STOCKFLOW_ROUTING_CONFIG",
	"STOCKFLOW_API_ADMIN_TOKEN", "STOCKFLOW_API_ADMIN_TOKEN_FILE", "STOCKFLOW_API_TOKEN", "STOCKFLOW_API_TOKEN_FILE",
	"STOCKFLOW_KAFKA_SASL_MECHANISM", "STOCKFLOW_KAFKA_SASL_USER", "STOCKFLOW_KAFKA_SASL_PASSWORD",
	"STOCKFLOW_KAFKA_SASL_PASSWORD_FILE", "STOCKFLOW_KAFKA_TLS", "STOCKFLOW_KAFKA_TLS_CA",
	"STOCKFLOW_KAFKA_TLS_CERT", "STOCKFLOW_KAFKA_TLS_KEY",
}

// ApplyEnv overlays environment variables, looked up with lookup.
func (s *Settings) ApplyEnv(lookup func(string) (string, bool)) error {
	get := func(k string) (string, bool) {
		v, ok := lookup(k)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	// fromFile sets *dst from the file named by the variable name (a
	// mounted secret), trimmed; what names the file in the error.
	fromFile := func(name, what string, dst *string) error {
		v, ok := get(name)
		if !ok {
			return nil
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("config: read %s file: %w", what, err)
		}
		*dst = strings.TrimSpace(string(b))
		return nil
	}
	if v, ok := get("STOCKFLOW_DATA"); ok {
		s.Data = v
	}
	if v, ok := get("STOCKFLOW_BROKERS"); ok {
		s.Brokers = SplitList(v)
	}
	if v, ok := get("STOCKFLOW_CLICKHOUSE"); ok {
		s.ClickHouse = v
	}
	if err := fromFile("STOCKFLOW_CLICKHOUSE_FILE", "ClickHouse DSN", &s.ClickHouse); err != nil {
		return err
	}
	if v, ok := get("STOCKFLOW_CLICKHOUSE_PASSWORD"); ok {
		s.ClickHousePassword = v
	}
	if err := fromFile("STOCKFLOW_CLICKHOUSE_PASSWORD_FILE", "ClickHouse password", &s.ClickHousePassword); err != nil {
		return err
	}
	if v, ok := get("STOCKFLOW_CLICKHOUSE_CLUSTER"); ok {
		s.ClickHouseCluster.Name = v
	}
	if v, ok := get("STOCKFLOW_DATABASE"); ok {
		s.Database = v
	}
	if v, ok := get("STOCKFLOW_HTTP"); ok {
		s.HTTP = v
	}
	if v, ok := get("STOCKFLOW_PARTITIONS"); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return fmt.Errorf("config: STOCKFLOW_PARTITIONS: %w", err)
		}
		s.Partitions = int32(n)
	}
	if v, ok := get("STOCKFLOW_INSTANCE_ID"); ok {
		s.InstanceID = v
	}
	if v, ok := get("STOCKFLOW_WAREHOUSES"); ok {
		s.Warehouses = SplitList(v)
	}
	if v, ok := get("STOCKFLOW_REPLENISH_CONFIG"); ok {
		s.ReplenishConfig = v
	}
	if v, ok := get("STOCKFLOW_ROUTING_CONFIG"); ok {
		s.RoutingConfig = v
	}
	if v, ok := get("STOCKFLOW_LOG_LEVEL"); ok {
		s.LogLevel = v
	}
	for name, dst := range map[string]*Duration{
		"STOCKFLOW_WINDOW_GRACE": &s.WindowGrace, "STOCKFLOW_IDLE_FLUSH": &s.IdleFlush,
		"STOCKFLOW_FORECAST_INTERVAL": &s.ForecastInterval,
	} {
		if v, ok := get(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("config: %s: %w", name, err)
			}
			*dst = Duration(d)
		}
	}
	if v, ok := get("STOCKFLOW_KAFKA_SASL_MECHANISM"); ok {
		s.Kafka.Mechanism = v
	}
	if v, ok := get("STOCKFLOW_KAFKA_SASL_USER"); ok {
		s.Kafka.User = v
	}
	if v, ok := get("STOCKFLOW_KAFKA_SASL_PASSWORD"); ok {
		s.Kafka.Password = v
	}
	if err := fromFile("STOCKFLOW_KAFKA_SASL_PASSWORD_FILE", "SASL password", &s.Kafka.Password); err != nil {
		return err
	}
	if v, ok := get("STOCKFLOW_API_ADMIN_TOKEN"); ok {
		s.AdminToken = v
	}
	if err := fromFile("STOCKFLOW_API_ADMIN_TOKEN_FILE", "API admin token", &s.AdminToken); err != nil {
		return err
	}
	if v, ok := get("STOCKFLOW_API_TOKEN"); ok {
		s.ReadToken = v
	}
	if err := fromFile("STOCKFLOW_API_TOKEN_FILE", "API token", &s.ReadToken); err != nil {
		return err
	}
	if v, ok := get("STOCKFLOW_KAFKA_TLS"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: STOCKFLOW_KAFKA_TLS: %w", err)
		}
		s.TLS.Enabled = b
	}
	if v, ok := get("STOCKFLOW_KAFKA_TLS_CA"); ok {
		s.TLS.CAFile = v
	}
	if v, ok := get("STOCKFLOW_KAFKA_TLS_CERT"); ok {
		s.TLS.CertFile = v
	}
	if v, ok := get("STOCKFLOW_KAFKA_TLS_KEY"); ok {
		s.TLS.KeyFile = v
	}
	return nil
}

// KafkaConfig returns the Kafka connection config for brokers (the
// external ones, or the embedded broker's addresses).
func (s Settings) KafkaConfig(brokers []string, clientID string) kafka.Config {
	return kafka.Config{Brokers: brokers, ClientID: clientID, SASL: s.Kafka, TLS: s.TLS}
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Duration is a time.Duration that a config file writes as a Go duration
// string ("90s", "1h30m") or as a number of nanoseconds.
type Duration time.Duration

// UnmarshalJSON accepts "1h" or 3600000000000.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	switch x := v.(type) {
	case string:
		p, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("duration: %w", err)
		}
		*d = Duration(p)
	case float64:
		*d = Duration(int64(x))
	default:
		return fmt.Errorf("duration: want a string like \"90s\" or nanoseconds, got %s", b)
	}
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// StockTimes returns the window grace and idle flush in the stock
// pipeline's terms, where zero means "default" and negative "none".
func (s Settings) StockTimes() (grace, idle time.Duration) {
	grace, idle = s.WindowGrace.Std(), s.IdleFlush.Std()
	if grace == 0 {
		grace = -1
	}
	if idle == 0 {
		idle = -1
	}
	return grace, idle
}
