package kafka

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is the embedded, in-process Kafka broker (kfake) used by
// `stockflow run`. With a directory it persists records and committed group
// offsets there and reloads them on the next start.
type Broker struct {
	cluster *kfake.Cluster
	dir     string
}

// BrokerConfig configures the embedded broker.
type BrokerConfig struct {
	// Dir persists the broker's log; empty keeps everything in memory.
	Dir string
	// Port to listen on (loopback); zero picks a free port.
	Port int
	// Logger receives the broker's warnings and errors; nil discards.
	Logger *slog.Logger
}

// StartBroker starts the embedded broker on loopback.
func StartBroker(cfg BrokerConfig) (*Broker, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.ClusterID("stockflow-embedded"),
		kfake.BrokerConfigs(map[string]string{
			// Large simulated batches and oversize test records must reach
			// the pipeline, which dead-letters them itself.
			"message.max.bytes": "8388608",
		}),
	}
	if cfg.Logger != nil {
		opts = append(opts, kfake.WithLogger(slogLogger{cfg.Logger}))
	}
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("create broker dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(filepath.Clean(cfg.Dir)))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker: %w", err)
	}
	return &Broker{cluster: c, dir: cfg.Dir}, nil
}

// Addrs returns the broker's listen addresses.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Cluster exposes the kfake cluster for fault injection in tests.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker, persisting its state when it has a directory.
// It is safe to call more than once.
func (b *Broker) Close() {
	if b.cluster != nil {
		b.cluster.Close()
		b.cluster = nil
	}
}

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		s.l.Error(fmt.Sprintf(msg, args...), "component", "kfake")
	case kfake.LogLevelWarn:
		s.l.Warn(fmt.Sprintf(msg, args...), "component", "kfake")
	}
}
