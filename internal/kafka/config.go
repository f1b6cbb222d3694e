// Package kafka owns stockflow's Kafka plumbing: the one connection config
// (brokers, client id, SASL, TLS) every component uses, the topic catalogue
// with partition counts and cleanup policies, topic creation through kadm,
// and the embedded in-process broker (kfake) persisted under the data
// directory. It must not import pipelines, consumers or the store.
package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/stockflow/stockflow/internal/tlsfile"
)

// SASL mechanisms accepted in Config.SASL.Mechanism.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// Config is the connection config used by every Kafka client stockflow
// creates. Only cmd/ fills it from flags, environment and files.
type Config struct {
	Brokers  []string
	ClientID string
	SASL     SASL
	TLS      TLS
	// DialTimeout bounds each connection attempt; zero means 10s.
	DialTimeout time.Duration
}

// SASL selects SASL authentication; an empty Mechanism disables it.
type SASL struct {
	Mechanism string `json:"mechanism"`
	User      string `json:"user"`
	// Password never comes from a config file: use the environment or a
	// password file.
	Password string `json:"-"`
}

// TLS enables TLS to the brokers. CAFile, CertFile and KeyFile are PEM files;
// without CAFile the system roots are used.
type TLS struct {
	Enabled            bool   `json:"enabled"`
	CAFile             string `json:"ca_file"`
	CertFile           string `json:"cert_file"`
	KeyFile            string `json:"key_file"`
	ServerName         string `json:"server_name"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify"`
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers configured")
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			return errors.New("kafka: empty broker address")
		}
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		if c.SASL.User == "" {
			return fmt.Errorf("kafka: SASL %s needs a user", c.SASL.Mechanism)
		}
	default:
		return fmt.Errorf("kafka: unknown SASL mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", c.SASL.Mechanism)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("kafka: TLS client certificate needs both cert and key files")
	}
	return nil
}

// Opts returns the franz-go options that connect with c. Callers append
// their role-specific options (group, transactional id, ...).
func (c Config) Opts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	clientID := c.ClientID
	if clientID == "" {
		clientID = "stockflow"
	}
	dial := c.DialTimeout
	if dial == 0 {
		dial = 10 * time.Second
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(clientID),
		kgo.DialTimeout(dial),
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case MechanismPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsMechanism()))
	case MechanismScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha256Mechanism()))
	case MechanismScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha512Mechanism()))
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return opts, nil
}

func (t TLS) config() (*tls.Config, error) {
	tc, err := tlsfile.Config{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
		ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}.Load()
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return tc, nil
}

// String shows the mechanism and the user, never the password: a SASL
// value printed with %v or %+v, alone or inside a Config, or logged
// through slog, does not leak it.
func (s SASL) String() string {
	pw := ""
	if s.Password != "" {
		pw = " password=***"
	}
	return fmt.Sprintf("{mechanism=%s user=%s%s}", s.Mechanism, s.User, pw)
}

// GoString is String for %#v.
func (s SASL) GoString() string { return "kafka.SASL" + s.String() }
