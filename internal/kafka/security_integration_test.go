//go:build integration

package kafka

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/stockflow/stockflow/internal/testenv"
)

// saslBroker reads the SASL_PLAINTEXT listener and the credentials of the
// real Apache Kafka broker that kafka-start.sh started (sasl.env in its
// state directory: $KAFKA_STATE_DIR, which make test exports, or the
// script's default). It fails when there is none.
func saslBroker(t *testing.T) (addr, user, password string) {
	t.Helper()
	testenv.KafkaBrokers(t, "internal/kafka SASL") // the broker must be up
	dir := os.Getenv("KAFKA_STATE_DIR")
	if dir == "" {
		state := os.Getenv("STOCKFLOW_STATE")
		if state == "" {
			state = "/tmp/stockflow"
		}
		dir = filepath.Join(state, "kafka")
	}
	path := filepath.Join(dir, "sasl.env")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the Apache Kafka broker's SASL listener: %v (kafka-start.sh writes it; set KAFKA_STATE_DIR to the broker's state directory)", err)
	}
	defer func() { _ = f.Close() }()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vals[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	addr, user, password = vals["KAFKA_SASL_BROKERS"], vals["KAFKA_SASL_USER"], vals["KAFKA_SASL_PASSWORD"]
	if addr == "" || user == "" || password == "" {
		t.Fatalf("%s lacks KAFKA_SASL_BROKERS, KAFKA_SASL_USER or KAFKA_SASL_PASSWORD", path)
	}
	if err := testenv.Report(fmt.Sprintf("kafka: Apache Kafka SASL_PLAINTEXT listener at %s (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; internal/kafka)", addr)); err != nil {
		t.Fatal(err)
	}
	return addr, user, password
}

// TestIntegrationSASLRealKafka connects through Config.Opts to the real
// broker's SASL_PLAINTEXT listener with each mechanism: the right
// password creates a topic, commits a transactional record and reads it
// back; a wrong password and an unknown user fail with the broker's
// SASL_AUTHENTICATION_FAILED, whose message says the credentials are
// invalid, and the error never carries the password.
func TestIntegrationSASLRealKafka(t *testing.T) {
	addr, user, password := saslBroker(t)
	for _, m := range []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512} {
		t.Run(m, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cfg := Config{Brokers: []string{addr}, ClientID: "stockflow-sasl-test", SASL: SASL{Mechanism: m, User: user, Password: password}}
			topic := fmt.Sprintf("stockflow-sasl-test-%s-%d", strings.ToLower(m), time.Now().UnixNano())
			if err := roundTrip(ctx, cfg, topic); err != nil {
				t.Fatalf("%s as %s: %v", m, user, err)
			}
		})
		for name, creds := range map[string][2]string{
			"wrong password": {user, "wrong-" + password},
			"unknown user":   {"mallory", password},
		} {
			t.Run(m+" "+name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				cfg := Config{Brokers: []string{addr}, SASL: SASL{Mechanism: m, User: creds[0], Password: creds[1]}}
				err := firstContact(ctx, cfg)
				if err == nil {
					t.Fatal("connected; want SASL_AUTHENTICATION_FAILED")
				}
				t.Logf("error, as a caller sees it: %v", err)
				if !errors.Is(err, kerr.SaslAuthenticationFailed) {
					t.Errorf("error %v is not SASL_AUTHENTICATION_FAILED", err)
				}
				// The broker says why: "Invalid username or password"
				// (PLAIN), "… invalid credentials with SASL mechanism
				// SCRAM-SHA-256" (SCRAM).
				if !strings.Contains(strings.ToLower(err.Error()), "invalid") {
					t.Errorf("error %q does not say the credentials are invalid", err)
				}
				if strings.Contains(err.Error(), creds[1]) || strings.Contains(err.Error(), password) {
					t.Errorf("the error carries a password: %v", err)
				}
			})
		}
	}
	t.Run("no SASL on the SASL listener", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		err := firstContact(ctx, Config{Brokers: []string{addr}})
		if err == nil {
			t.Fatal("connected without SASL; want an error")
		}
		t.Logf("error, as a caller sees it: %v", err)
	})
}
