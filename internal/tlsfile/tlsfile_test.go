package tlsfile

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/tlsfile/tlsfiletest"
)

// TestLoadHandshake runs real TLS handshakes against a server that
// presents a certificate for localhost from the test CA and requires a
// client certificate from the same CA.
func TestLoadHandshake(t *testing.T) {
	dir := t.TempDir()
	p := tlsfiletest.New(t, dir, "good")
	other := tlsfiletest.New(t, dir, "other") // a CA that signed nothing the server has
	ln, err := tls.Listen("tcp", "127.0.0.1:0", p.ServerTLS(true))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc, ok := c.(*tls.Conn)
				if !ok || tc.Handshake() != nil {
					return // the client reports the failure
				}
				_, _ = c.Write([]byte("ok"))
			}()
		}
	}()
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"trusted CA, client certificate, server name", Config{CAFile: p.CAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey, ServerName: "localhost"}, true},
		{"wrong CA", Config{CAFile: other.CAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey, ServerName: "localhost"}, false},
		{"wrong server name", Config{CAFile: p.CAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey, ServerName: "ch.internal"}, false},
		{"no client certificate", Config{CAFile: p.CAFile, ServerName: "localhost"}, false},
		{"client certificate of another CA", Config{CAFile: p.CAFile, CertFile: other.ClientCert, KeyFile: other.ClientKey, ServerName: "localhost"}, false},
		{"system roots only", Config{CertFile: p.ClientCert, KeyFile: p.ClientKey, ServerName: "localhost"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tt.cfg.Load()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), tc)
			if err == nil {
				// TLS 1.3 reports a rejected client certificate on the
				// first read, not in the handshake.
				buf := make([]byte, 2)
				_, err = conn.Read(buf)
				conn.Close()
			}
			if (err == nil) != tt.ok {
				t.Errorf("connection error %v, want success %v", err, tt.ok)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	p := tlsfiletest.New(t, dir, "good")
	other := tlsfiletest.New(t, dir, "other")
	tests := []struct {
		name string
		cfg  Config
	}{
		{"missing CA file", Config{CAFile: filepath.Join(dir, "none.pem")}},
		{"CA file without certificates", Config{CAFile: p.ClientKey}},
		{"certificate without key", Config{CertFile: p.ClientCert}},
		{"key without certificate", Config{KeyFile: p.ClientKey}},
		{"key that does not match", Config{CertFile: p.ClientCert, KeyFile: other.ClientKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.cfg.Load(); err == nil {
				t.Error("Load accepted it")
			}
		})
	}
}
