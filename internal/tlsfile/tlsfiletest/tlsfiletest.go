// Package tlsfiletest makes throw-away certificate authorities for tests
// of TLS connections: a CA, a server certificate for 127.0.0.1 and
// localhost, and a client certificate, the CA and the client's as PEM
// files. Tests only; it imports the standard library alone.
package tlsfiletest

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

// PKI is one throw-away CA with its server and client certificates.
type PKI struct {
	// CAFile, ClientCert and ClientKey are PEM files.
	CAFile, ClientCert, ClientKey string
	// Pool holds the CA, for a server that checks client certificates.
	Pool *x509.CertPool
	// Server is the server certificate (127.0.0.1 and localhost) with its
	// key.
	Server tls.Certificate
}

// New makes a PKI whose files are written to dir, their names starting
// with name.
func New(t testing.TB, dir, name string) *PKI {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
			DNSNames:     dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	srvDER, srvKey := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
	cliDER, cliKey := leaf(3, "stockflow-client", x509.ExtKeyUsageClientAuth, nil, nil)
	write := func(file, typ string, der []byte) string {
		p := filepath.Join(dir, name+"-"+file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cliKeyDER, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{
		CAFile:     write("ca.pem", "CERTIFICATE", caDER),
		ClientCert: write("client.pem", "CERTIFICATE", cliDER),
		ClientKey:  write("client-key.pem", "EC PRIVATE KEY", cliKeyDER),
		Pool:       x509.NewCertPool(),
		Server:     tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
	}
	p.Pool.AddCert(caCert)
	return p
}

// ServerTLS is the server side: the server certificate, and with mutual
// a client certificate is required and checked against the CA.
func (p *PKI) ServerTLS(mutual bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.Server}, MinVersion: tls.VersionTLS12}
	if mutual {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.Pool
	}
	return c
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
