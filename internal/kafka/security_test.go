package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stockflow/stockflow/internal/tlsfile/tlsfiletest"
)

// The security tests connect through stockflow's own Config and Opts — the
// code path every component uses — to kfake clusters that require SASL
// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), TLS, mutual TLS, or both, and
// prove that the right credentials work end to end (topic creation through
// EnsureTopics, a transactional produce, a read_committed consume) and
// that wrong ones fail with an error that says why and does not carry the
// secret.

const (
	secUser     = "stockflow"
	secPassword = "s3cret-SASL-pw-7f1c" // what a leak would show
)

// secCluster starts a kfake cluster with the given security options.
func secCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// roundTrip proves that cfg reaches the cluster: the topic is created
// (with an empty topic, EnsureTopics creates stockflow's catalogue and the
// sales topic is used), a transactional producer commits one record to
// it, and a read_committed consumer reads it back.
func roundTrip(ctx context.Context, cfg Config, topic string) error {
	opts, err := cfg.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if topic == "" {
		if _, err := EnsureTopics(ctx, adm, TopicsConfig{Partitions: 2}.Specs(), 1); err != nil {
			return err
		}
		topic = "stockflow.sales.v1"
	} else {
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			return err
		}
		defer func() { _, _ = adm.DeleteTopics(context.WithoutCancel(ctx), topic) }()
	}
	prod, err := kgo.NewClient(append(opts, kgo.TransactionalID("security-test-"+topic), kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		return err
	}
	defer prod.Close()
	if err := prod.BeginTransaction(); err != nil {
		return err
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte("SKU-1"), Value: []byte(`{"probe":true}`)}).FirstErr(); err != nil {
		return err
	}
	if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return err
	}
	cons, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return err
	}
	defer cons.Close()
	for {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fs.Err(); err != nil {
			return err
		}
		if fs.NumRecords() > 0 {
			if v := string(fs.Records()[0].Value); v != `{"probe":true}` {
				return errors.New("read back " + v)
			}
			return nil
		}
	}
}

// firstContact returns the error of the first request cfg's client sends.
func firstContact(ctx context.Context, cfg Config) error {
	opts, err := cfg.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RequestRetries(0), kgo.RetryTimeout(2*time.Second))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).ListTopics(ctx)
	return err
}

func TestSecurityKfake(t *testing.T) {
	dir := t.TempDir()
	pki := tlsfiletest.New(t, dir, "good")
	other := tlsfiletest.New(t, dir, "other") // a CA the broker's certificate does not chain to
	mechs := []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}

	type tcase struct {
		name    string
		cluster []kfake.Opt
		cfg     func(brokers []string) Config
		// wantErr: the error must contain every string.
		wantErr []string
		// authFail: the credentials are refused. A real broker answers
		// SASL_AUTHENTICATION_FAILED with a message (see
		// security_integration_test.go); kfake closes the connection
		// instead, which the client reports as EOF.
		authFail bool
	}
	var tests []tcase
	for _, m := range mechs {
		sasl := []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(m, secUser, secPassword)}
		tests = append(tests,
			tcase{
				name:    m,
				cluster: sasl,
				cfg: func(b []string) Config {
					return Config{Brokers: b, SASL: SASL{Mechanism: m, User: secUser, Password: secPassword}}
				},
			},
			tcase{
				name:    m + " lower-case mechanism name",
				cluster: sasl,
				cfg: func(b []string) Config {
					return Config{Brokers: b, SASL: SASL{Mechanism: strings.ToLower(m), User: secUser, Password: secPassword}}
				},
			},
			tcase{
				name:    m + " over TLS",
				cluster: append([]kfake.Opt{kfake.TLS(pki.ServerTLS(false))}, sasl...),
				cfg: func(b []string) Config {
					return Config{Brokers: b, SASL: SASL{Mechanism: m, User: secUser, Password: secPassword},
						TLS: TLS{Enabled: true, CAFile: pki.CAFile}}
				},
			},
			tcase{
				name:    m + " wrong password",
				cluster: sasl,
				cfg: func(b []string) Config {
					return Config{Brokers: b, SASL: SASL{Mechanism: m, User: secUser, Password: "not-" + secPassword}}
				},
				authFail: true,
			},
			tcase{
				name:    m + " unknown user",
				cluster: sasl,
				cfg: func(b []string) Config {
					return Config{Brokers: b, SASL: SASL{Mechanism: m, User: "mallory", Password: secPassword}}
				},
				authFail: true,
			},
		)
	}
	tests = append(tests,
		tcase{
			name:    "SCRAM-SHA-512 user against a SCRAM-SHA-256 mechanism",
			cluster: []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA512, secUser, secPassword)},
			cfg: func(b []string) Config {
				return Config{Brokers: b, SASL: SASL{Mechanism: MechanismScramSHA256, User: secUser, Password: secPassword}}
			},
			authFail: true,
		},
		tcase{
			name:    "no SASL against a SASL cluster",
			cluster: []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA256, secUser, secPassword)},
			cfg:     func(b []string) Config { return Config{Brokers: b} },
			// The broker closes the connection; franz-go says why that
			// usually happens.
			wantErr: []string{"is SASL missing?"},
		},
		tcase{
			name:    "TLS with the CA file",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(false))},
			cfg: func(b []string) Config {
				return Config{Brokers: b, TLS: TLS{Enabled: true, CAFile: pki.CAFile}}
			},
		},
		tcase{
			name:    "TLS with a server name",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(false))},
			cfg: func(b []string) Config {
				return Config{Brokers: b, TLS: TLS{Enabled: true, CAFile: pki.CAFile, ServerName: "127.0.0.1"}}
			},
		},
		tcase{
			name:    "mutual TLS with a client certificate",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(true))},
			cfg: func(b []string) Config {
				return Config{Brokers: b, TLS: TLS{Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}}
			},
		},
		tcase{
			name:    "mutual TLS with SCRAM-SHA-512",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(true)), kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA512, secUser, secPassword)},
			cfg: func(b []string) Config {
				return Config{Brokers: b, SASL: SASL{Mechanism: MechanismScramSHA512, User: secUser, Password: secPassword},
					TLS: TLS{Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}}
			},
		},
		tcase{
			name:    "TLS with a CA the server does not chain to",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(false))},
			cfg: func(b []string) Config {
				return Config{Brokers: b, TLS: TLS{Enabled: true, CAFile: other.CAFile}}
			},
			wantErr: []string{"certificate signed by unknown authority"},
		},
		tcase{
			name:    "TLS with a server name the certificate does not hold",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(false))},
			cfg: func(b []string) Config {
				return Config{Brokers: b, TLS: TLS{Enabled: true, CAFile: pki.CAFile, ServerName: "kafka.example.com"}}
			},
			wantErr: []string{"kafka.example.com"},
		},
		tcase{
			name:    "mutual TLS without a client certificate",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(true))},
			cfg: func(b []string) Config {
				return Config{Brokers: b, TLS: TLS{Enabled: true, CAFile: pki.CAFile}}
			},
			wantErr: []string{"certificate"},
		},
		tcase{
			name:    "plaintext client against a TLS listener",
			cluster: []kfake.Opt{kfake.TLS(pki.ServerTLS(false))},
			cfg:     func(b []string) Config { return Config{Brokers: b} },
			wantErr: []string{"is TLS missing?"},
		},
	)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cfg := tc.cfg(secCluster(t, tc.cluster...))
			cfg.DialTimeout = 5 * time.Second
			if tc.wantErr == nil && !tc.authFail {
				if err := roundTrip(ctx, cfg, ""); err != nil {
					t.Fatalf("round trip: %v", err)
				}
				return
			}
			err := firstContact(ctx, cfg)
			if err == nil {
				t.Fatal("connected; want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.authFail && !errors.Is(err, kerr.SaslAuthenticationFailed) && !errors.Is(err, io.EOF) {
				t.Errorf("error %v: want SASL_AUTHENTICATION_FAILED, or EOF (kfake closes the connection)", err)
			}
			if strings.Contains(err.Error(), secPassword) {
				t.Errorf("the error carries the password: %v", err)
			}
			t.Logf("error, as a caller sees it: %v", err)
		})
	}
}

// TestSecurityConfigNeverShowsPassword: neither a %v/%+v of the config nor
// its JSON form carries the SASL password.
func TestSecurityConfigNeverShowsPassword(t *testing.T) {
	cfg := Config{Brokers: []string{"b:9092"}, SASL: SASL{Mechanism: MechanismScramSHA512, User: secUser, Password: secPassword}}
	for name, s := range map[string]string{
		"%v":          fmt.Sprintf("%v", cfg),
		"%+v":         fmt.Sprintf("%+v", cfg),
		"%#v":         fmt.Sprintf("%#v", cfg),
		"%v of SASL":  fmt.Sprintf("%v", cfg.SASL),
		"%#v of SASL": fmt.Sprintf("%#v", cfg.SASL),
		"json":        mustJSON(t, cfg.SASL),
		"slog":        slogLine(slog.Any("kafka", cfg)),
	} {
		if strings.Contains(s, secPassword) {
			t.Errorf("%s of the config shows the password: %s", name, s)
		}
	}
	if got := fmt.Sprintf("%v", cfg.SASL); !strings.Contains(got, secUser) || !strings.Contains(got, MechanismScramSHA512) {
		t.Errorf("%%v of SASL = %s: the mechanism and the user should still show", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func slogLine(a slog.Attr) string {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", a)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", a)
	return buf.String()
}
