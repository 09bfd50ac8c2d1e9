package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	tests := []struct {
		hosts   []string
		wantDNS []string
		wantIPs []string
	}{
		{nil, []string{"localhost"}, []string{"127.0.0.1", "::1"}},
		{[]string{"dev.test", "*.dev.test", "192.0.2.7"}, []string{"dev.test", "*.dev.test"}, []string{"192.0.2.7"}},
	}
	fpForm := regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){31}$`)
	for _, tt := range tests {
		t.Run(strings.Join(tt.hosts, ","), func(t *testing.T) {
			now := time.Now()
			cert, fp, err := selfSigned(tt.hosts, now)
			if err != nil {
				t.Fatal(err)
			}
			leaf := cert.Leaf
			sum := sha256.Sum256(leaf.Raw)
			var want []string
			for _, b := range sum {
				want = append(want, fmt.Sprintf("%02X", b))
			}
			if w := strings.Join(want, ":"); fp != w {
				t.Errorf("fingerprint = %s, want %s", fp, w)
			}
			if !fpForm.MatchString(fp) {
				t.Errorf("fingerprint %q is not 32 upper-case hex pairs joined by ':'", fp)
			}
			if !slices.Equal(leaf.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames = %q, want %q", leaf.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IPAddresses = %q, want %q", ips, tt.wantIPs)
			}
			if got, want := leaf.NotBefore, now.Add(-time.Hour).Truncate(time.Second); !got.Equal(want) {
				t.Errorf("NotBefore = %v, want %v", got, want)
			}
			if got, want := leaf.NotAfter.Sub(leaf.NotBefore), 30*24*time.Hour; got != want {
				t.Errorf("valid for %v, want %v", got, want)
			}
			pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				t.Errorf("public key %T, want ECDSA P-256", leaf.PublicKey)
			}
			if !keyMatches(leaf, cert.PrivateKey.(*ecdsa.PrivateKey)) {
				t.Error("private key does not match the certificate")
			}
			// It must verify as its own root for each host it names.
			roots := x509.NewCertPool()
			roots.AddCert(leaf)
			for _, h := range append(tt.wantDNS, tt.wantIPs...) {
				h = strings.Replace(h, "*", "x", 1) // a name the wildcard covers
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots, CurrentTime: now}); err != nil {
					t.Errorf("Verify for %q: %v", h, err)
				}
			}
		})
	}
}

func TestSelfSignedEmptyHost(t *testing.T) {
	_, _, err := SelfSigned([]string{"a.test", " "})
	want := "self-signed certificate: host 2 is empty (give a host name or IP address)"
	if err == nil || err.Error() != want {
		t.Errorf("SelfSigned error = %v, want %q", err, want)
	}
}
