package kafka

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestReadCommittedWaitsForOpenTransaction is the hand-over of a changelog
// partition between owners: the previous owner's transaction is still open
// (its EndTxn succeeded but the marker is not written yet, or it is about
// to be aborted) when the new owner restores. The restore must include a
// committed transaction's records and exclude an aborted one's; reading
// only up to the last stable offset listed when the restore began loses
// the committed records. The transaction ends only after the restore has
// listed the partition's offsets, so the outcome does not depend on timing.
func TestReadCommittedWaitsForOpenTransaction(t *testing.T) {
	tests := []struct {
		name   string
		commit bool
		want   []string
	}{
		{"previous owner commits", true, []string{"a", "b"}},
		{"previous owner aborts", false, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			b, cfg, owner := changelogWithOpenTxn(ctx, t)
			listed := make(chan struct{})
			var once sync.Once
			b.Cluster().ControlKey(kmsg.ListOffsets.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
				b.Cluster().KeepControl()
				if lr, ok := req.(*kmsg.ListOffsetsRequest); ok && lr.IsolationLevel == 1 {
					once.Do(func() { close(listed) })
				}
				return nil, nil, false
			})
			type result struct {
				got []string
				err error
			}
			done := make(chan result, 1)
			go func() {
				var got []string
				_, err := ReadCommitted(ctx, cfg, TopicStockChangelog, 0, nil, func(r *kgo.Record) { got = append(got, string(r.Value)) })
				done <- result{got, err}
			}()
			select {
			case <-listed:
			case r := <-done:
				t.Fatalf("restore returned before listing offsets: %v, %v", r.got, r.err)
			}
			if err := owner.EndTransaction(ctx, kgo.TransactionEndTry(tt.commit)); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !slices.Equal(r.got, tt.want) {
				t.Errorf("restored %q, want %q", r.got, tt.want)
			}
		})
	}
}

// TestInitTransactionsAbortsOwnOpenTransaction is a processor restarting
// after kill -9 with the same transactional id: initialising its producer
// aborts the transaction it left open (no transaction is open on the
// partition once it returns), so the restore neither waits for it nor
// sees its records.
func TestInitTransactionsAbortsOwnOpenTransaction(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b, cfg, _ := changelogWithOpenTxn(ctx, t) // the "killed" producer is never ended
	restarted, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.TransactionalID("owner"))
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	if err := InitTransactions(ctx, restarted); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(restarted)
	stable, err := listed(ctx, adm.ListCommittedOffsets, TopicStockChangelog, 0)
	if err != nil {
		t.Fatal(err)
	}
	hwm, err := listed(ctx, adm.ListEndOffsets, TopicStockChangelog, 0)
	if err != nil {
		t.Fatal(err)
	}
	if stable.Offset != hwm.Offset {
		t.Fatalf("after InitTransactions the partition's last stable offset is %d, its high watermark %d: the old transaction is still open", stable.Offset, hwm.Offset)
	}
	var got []string
	if _, err := ReadCommitted(ctx, cfg, TopicStockChangelog, 0, nil, func(r *kgo.Record) { got = append(got, string(r.Value)) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("restored %q, want %q", got, want)
	}
}

// changelogWithOpenTxn starts a broker whose stock changelog partition 0
// holds a committed record "a" and, in a transaction of the producer
// "owner" left open, a record "b".
func changelogWithOpenTxn(ctx context.Context, t *testing.T) (*Broker, Config, *kgo.Client) {
	t.Helper()
	b, err := StartBroker(BrokerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := Config{Brokers: b.Addrs()}
	owner, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.TransactionalID("owner"),
		kgo.DefaultProduceTopic(TopicStockChangelog), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	if _, err := EnsureTopics(ctx, kadm.NewClient(owner), TopicsConfig{Partitions: 1}.Specs(), 1); err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"a", "b"} {
		if err := owner.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := owner.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := owner.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b, cfg, owner
}
