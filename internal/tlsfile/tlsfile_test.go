package tlsfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki is a throw-away certificate authority with a server and a client
// certificate, written as PEM files.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherCA                                              string // a CA that signed nothing here
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	serial := int64(0)
	issue := func(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key, der
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	caTmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	}
	ca, caKey, caDER := issue(caTmpl("test CA"), nil, nil)
	_, _, otherDER := issue(caTmpl("other CA"), nil, nil)
	_, sKey, sDER := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "clickhouse"}, DNSNames: []string{"ch.internal"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	_, cKey, cDER := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "stockflow"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	return pki{
		caFile:     write("ca.pem", "CERTIFICATE", caDER),
		otherCA:    write("other-ca.pem", "CERTIFICATE", otherDER),
		serverCert: write("server.pem", "CERTIFICATE", sDER),
		serverKey:  write("server-key.pem", "EC PRIVATE KEY", keyDER(sKey)),
		clientCert: write("client.pem", "CERTIFICATE", cDER),
		clientKey:  write("client-key.pem", "EC PRIVATE KEY", keyDER(cKey)),
	}
}

// TestLoadHandshake runs real TLS handshakes against a server that
// presents a certificate for ch.internal from the test CA and requires a
// client certificate from the same CA.
func TestLoadHandshake(t *testing.T) {
	p := newPKI(t)
	serverCert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AppendCertsFromPEM(caPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverCert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients, MinVersion: tls.VersionTLS12})
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
		{"trusted CA, client certificate, server name", Config{CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey, ServerName: "ch.internal"}, true},
		{"wrong CA", Config{CAFile: p.otherCA, CertFile: p.clientCert, KeyFile: p.clientKey, ServerName: "ch.internal"}, false},
		{"wrong server name", Config{CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey, ServerName: "other.internal"}, false},
		{"no client certificate", Config{CAFile: p.caFile, ServerName: "ch.internal"}, false},
		{"system roots only", Config{CertFile: p.clientCert, KeyFile: p.clientKey, ServerName: "ch.internal"}, false},
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
	p := newPKI(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"missing CA file", Config{CAFile: filepath.Join(t.TempDir(), "none.pem")}},
		{"CA file without certificates", Config{CAFile: p.clientKey}},
		{"certificate without key", Config{CertFile: p.clientCert}},
		{"key without certificate", Config{KeyFile: p.clientKey}},
		{"key that does not match", Config{CertFile: p.clientCert, KeyFile: p.serverKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.cfg.Load(); err == nil {
				t.Error("Load accepted it")
			}
		})
	}
}
