package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/consumers/chsink"
	"github.com/stockflow/stockflow/internal/config"
	"github.com/stockflow/stockflow/internal/kafka"
	"github.com/stockflow/stockflow/internal/store"
	"github.com/stockflow/stockflow/internal/store/embedded"
	"github.com/stockflow/stockflow/internal/store/server"
	"github.com/stockflow/stockflow/pipelines/replenish"
	"github.com/stockflow/stockflow/pipelines/routing"
	sqlfs "github.com/stockflow/stockflow/sql"
)

var errUsage = errors.New("usage")

// common holds the flags every store-using command takes.
type common struct {
	fs         *flag.FlagSet
	configFile string
	data       string
	brokers    string
	clickhouse string
	logLevel   string
	jsonOut    bool
}

func newCommon(name string) *common {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	d := config.Defaults()
	c.fs.StringVar(&c.configFile, "config", "", "JSON config file (flags win over environment, environment over the file)")
	c.fs.StringVar(&c.data, "data", d.Data, "embedded-mode data directory (broker and ClickHouse engine)")
	c.fs.StringVar(&c.brokers, "brokers", "", "external Kafka brokers, comma-separated (server mode)")
	c.fs.StringVar(&c.clickhouse, "clickhouse", "", "ClickHouse server DSN, e.g. clickhouse://user:pass@host:9000/stockflow (server mode)")
	c.fs.StringVar(&c.logLevel, "log-level", d.LogLevel, "debug, info, warn or error")
	c.fs.BoolVar(&c.jsonOut, "json", false, "print exactly one JSON object on stdout")
	return c
}

// settings layers defaults, the config file, the environment and the flags
// that were set explicitly.
func (c *common) settings(args []string) (config.Settings, error) {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Settings{}, errUsage
		}
		return config.Settings{}, errUsage
	}
	if c.fs.NArg() > 0 {
		return config.Settings{}, fmt.Errorf("unexpected arguments: %s", strings.Join(c.fs.Args(), " "))
	}
	s := config.Defaults()
	if c.configFile != "" {
		if err := s.LoadFile(c.configFile); err != nil {
			return s, err
		}
	}
	if err := s.ApplyEnv(os.LookupEnv); err != nil {
		return s, err
	}
	c.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data":
			s.Data = c.data
		case "brokers":
			s.Brokers = config.SplitList(c.brokers)
		case "clickhouse":
			s.ClickHouse = c.clickhouse
		case "log-level":
			s.LogLevel = c.logLevel
		}
	})
	return s, s.Validate()
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated in Settings.Validate
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// openStore opens the embedded engine under the data dir, or the server.
func openStore(ctx context.Context, s config.Settings) (store.Store, error) {
	if s.ClickHouse != "" {
		opts, err := server.ParseDSN(s.ClickHouse)
		if err != nil {
			return nil, err
		}
		if s.ClickHousePassword != "" {
			opts.Password = s.ClickHousePassword
		}
		return server.Open(ctx, opts)
	}
	if err := os.MkdirAll(s.ClickHouseDir(), 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return embedded.Open(ctx, embedded.Options{Path: s.ClickHouseDir(), Database: s.Database})
}

// migrate applies the embedded migrations.
func migrate(ctx context.Context, st store.Store, log *slog.Logger) error {
	applied, err := store.Migrate(ctx, st, sqlfs.Migrations())
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "migrations", applied)
	}
	return nil
}

// ensureTopics creates the topic catalogue.
func ensureTopics(ctx context.Context, kc kafka.Config, partitions int32, log *slog.Logger) error {
	opts, err := kc.Opts()
	if err != nil {
		return err
	}
	// An admin-only client: a short metadata cache, so topics it just
	// created are listed at once.
	cl, err := kgo.NewClient(append(opts, kgo.MetadataMinAge(100*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	created, err := kafka.EnsureTopics(ctx, adm, kafka.TopicsConfig{Partitions: partitions}.Specs(), 0)
	if err != nil {
		return err
	}
	if len(created) > 0 {
		log.Info("created topics", "topics", created)
	}
	return nil
}

// groupTopics names a consumer group and the topics it consumes.
type groupTopics struct {
	group  string
	topics []string
}

// waitDrained waits until every group has committed past the end of its
// topics, or the timeout. A group that has not started yet is not drained.
func waitDrained(ctx context.Context, kc kafka.Config, timeout time.Duration, groups ...groupTopics) error {
	opts, err := kc.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last int64
	var behind []string
	for {
		err = nil
		last, behind = 0, behind[:0]
		for _, g := range groups {
			n, lerr := kafka.GroupLag(ctx, adm, g.group, g.topics...)
			if lerr != nil {
				err = lerr
				break
			}
			if n > 0 {
				behind = append(behind, fmt.Sprintf("%s %d", g.group, n))
			}
			last += n
		}
		if err == nil && last == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("drain: %w", err)
			}
			return fmt.Errorf("drain: %d records still unprocessed after %s (%s)", last, timeout, strings.Join(behind, ", "))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// pipelineGroups are the groups run and process wait for when draining.
func pipelineGroups(sinkGroup string) []groupTopics {
	return []groupTopics{
		{group: "stockflow-stock", topics: kafka.StockInputTopics},
		{group: "stockflow-replenish", topics: replenish.InputTopics},
		{group: "stockflow-routing", topics: routing.InputTopics},
		{group: sinkGroup, topics: chsink.Topics},
	}
}
