// Package tlsfile builds client TLS configurations from PEM files on disk
// (a CA bundle, a client certificate and key), as the Kafka and ClickHouse
// connections take them from config and environment. It imports only the
// standard library.
package tlsfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Config names the files and checks of a client TLS connection. The zero
// value verifies the server against the system roots.
type Config struct {
	// CAFile is a PEM bundle of the certificate authorities to trust
	// instead of the system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and its key, for
	// servers that require mutual TLS; both or neither.
	CertFile, KeyFile string
	// ServerName overrides the host name the server certificate is
	// checked against.
	ServerName string
	// InsecureSkipVerify turns certificate checks off (tests only).
	InsecureSkipVerify bool
}

// Load reads the files and returns the TLS configuration (TLS 1.2 or
// newer).
func (c Config) Load() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // explicit operator choice, off by default
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in TLS CA file %s", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, fmt.Errorf("TLS client certificate needs both a certificate file and a key file")
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
