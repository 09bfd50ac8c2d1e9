package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// defaultHosts are what a self-signed certificate covers when given none:
// the names a browser on the same machine uses.
var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// SelfSigned makes an ECDSA P-256 certificate for hosts (names or IP
// addresses; by default "localhost", "127.0.0.1" and "::1"), valid from an
// hour ago (to allow for skewed clocks) for 30 days. It returns the
// certificate with its SHA-256 fingerprint as upper-case hex pairs joined by
// ':', the form browsers show, so a user can check what their browser warns
// about. Nothing is written to disk.
func SelfSigned(hosts []string) (tls.Certificate, string, error) {
	return selfSigned(hosts, time.Now())
}

func selfSigned(hosts []string, now time.Time) (tls.Certificate, string, error) {
	if len(hosts) == 0 {
		hosts = defaultHosts
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("self-signed certificate: %v", err)
	}
	notBefore := now.Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"stoa self-signed"}, CommonName: hosts[0]},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for i, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			return tls.Certificate{}, "", fmt.Errorf("self-signed certificate: host %d is empty (give a host name or IP address)", i+1)
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("self-signed certificate: %v", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("self-signed certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("self-signed certificate: %v", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return cert, fingerprint(der), nil
}

// fingerprint returns the SHA-256 of a DER certificate as upper-case hex
// pairs joined by ':', e.g. "AB:01:...", the form browsers show.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	b.Grow(len(sum)*3 - 1)
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
