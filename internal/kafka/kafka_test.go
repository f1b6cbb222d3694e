package kafka

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "plain", cfg: Config{Brokers: []string{"127.0.0.1:9092"}}},
		{name: "scram", cfg: Config{Brokers: []string{"b:9092"}, SASL: SASL{Mechanism: "scram-sha-512", User: "u", Password: "p"}}},
		{name: "no brokers", cfg: Config{}, wantErr: "no brokers"},
		{name: "blank broker", cfg: Config{Brokers: []string{" "}}, wantErr: "empty broker"},
		{name: "unknown mechanism", cfg: Config{Brokers: []string{"b"}, SASL: SASL{Mechanism: "KERBEROS", User: "u"}}, wantErr: "unknown SASL mechanism"},
		{name: "sasl without user", cfg: Config{Brokers: []string{"b"}, SASL: SASL{Mechanism: "PLAIN"}}, wantErr: "needs a user"},
		{name: "cert without key", cfg: Config{Brokers: []string{"b"}, TLS: TLS{Enabled: true, CertFile: "c.pem"}}, wantErr: "both cert and key"},
		{name: "bad CA file", cfg: Config{Brokers: []string{"b"}, TLS: TLS{Enabled: true, CAFile: ca}}, wantErr: "no certificates"},
		{name: "missing CA file", cfg: Config{Brokers: []string{"b"}, TLS: TLS{Enabled: true, CAFile: filepath.Join(dir, "nope.pem")}}, wantErr: "read TLS CA file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.Opts()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestEnsureTopicsOnEmbeddedBroker(t *testing.T) {
	dir := t.TempDir()
	b, err := StartBroker(BrokerConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// A short metadata cache: the test lists topics right after creating them.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	specs := TopicsConfig{Partitions: 4}.Specs()
	created, err := EnsureTopics(ctx, adm, specs, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != len(specs) {
		t.Fatalf("created %d topics, want %d", len(created), len(specs))
	}
	again, err := EnsureTopics(ctx, adm, specs, 1)
	if err != nil || len(again) != 0 {
		t.Fatalf("second ensure created %v, err %v; want nothing", again, err)
	}
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{TopicStockChangelog, TopicSales} {
		if got := len(details[name].Partitions); got != 4 {
			t.Errorf("%s has %d partitions, want 4 (%+v)", name, got, details[name])
		}
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, TopicStockChangelog)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On(TopicStockChangelog, nil)
	if err != nil {
		t.Fatal(err)
	}
	var policy, maxBytes string
	for _, c := range rc.Configs {
		switch c.Key {
		case "cleanup.policy":
			policy = c.MaybeValue()
		case "max.message.bytes":
			maxBytes = c.MaybeValue()
		}
	}
	if policy != "compact" {
		t.Errorf("changelog cleanup.policy %q, want compact", policy)
	}
	if maxBytes != maxMessageBytes {
		t.Errorf("changelog max.message.bytes %q, want %s (the pipelines' batch size)", maxBytes, maxMessageBytes)
	}

	// Co-partitioning: a topic with another partition count is refused.
	_, err = EnsureTopics(ctx, adm, TopicsConfig{Partitions: 8}.Specs(), 1)
	var mismatch *PartitionMismatchError
	if !errors.As(err, &mismatch) || mismatch.Have != 4 || mismatch.Want != 8 {
		t.Fatalf("error %v, want a partition mismatch 4 vs 8", err)
	}
}

// TestEmbeddedBrokerPersists restarts the embedded broker on the same
// directory and reads back what was produced before.
func TestEmbeddedBrokerPersists(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b, err := StartBroker(BrokerConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureTopics(ctx, kadm.NewClient(cl), TopicsConfig{Partitions: 1}.Specs(), 1); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: TopicSales, Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()
	b.Close() // idempotent

	b2, err := StartBroker(BrokerConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	cl2, err := kgo.NewClient(kgo.SeedBrokers(b2.Addrs()...), kgo.ConsumeTopics(TopicSales), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	for {
		fs := cl2.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("record produced before the restart was not read back")
		}
		if fs.NumRecords() > 0 {
			if v := string(fs.Records()[0].Value); v != "kept" {
				t.Fatalf("read %q, want kept", v)
			}
			return
		}
	}
}

// TestGroupLagTo checks the lag of a group against end offsets listed
// earlier (records produced afterwards do not count) and against the
// current ones.
func TestGroupLagTo(t *testing.T) {
	b, err := StartBroker(BrokerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic(TopicSales), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := EnsureTopics(ctx, adm, TopicsConfig{Partitions: 2}.Specs(), 1); err != nil {
		t.Fatal(err)
	}
	produce := func(partition int32, n int) {
		t.Helper()
		for range n {
			if err := cl.ProduceSync(ctx, &kgo.Record{Partition: partition, Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(0, 6)
	produce(1, 4)
	targets, err := adm.ListEndOffsets(ctx, TopicSales)
	if err != nil {
		t.Fatal(err)
	}
	produce(0, 5) // after the targets were listed

	const group = "g"
	commit := func(p0, p1 int64) {
		t.Helper()
		var o kadm.Offsets
		o.Add(kadm.Offset{Topic: TopicSales, Partition: 0, At: p0})
		o.Add(kadm.Offset{Topic: TopicSales, Partition: 1, At: p1})
		if _, err := adm.CommitOffsets(ctx, group, o); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		commit     func()
		lagTo, lag int64
	}{
		{"group unknown: everything", func() {}, 10, 15},
		{"part of the targets", func() { commit(3, 4) }, 3, 8},
		{"at the targets", func() { commit(6, 4) }, 0, 5},
		{"past the targets", func() { commit(11, 4) }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.commit()
			lagTo, err := GroupLagTo(ctx, adm, group, targets)
			if err != nil {
				t.Fatal(err)
			}
			lag, err := GroupLag(ctx, adm, group, TopicSales)
			if err != nil {
				t.Fatal(err)
			}
			if lagTo != tt.lagTo || lag != tt.lag {
				t.Errorf("GroupLagTo %d, GroupLag %d; want %d and %d", lagTo, lag, tt.lagTo, tt.lag)
			}
		})
	}
}
