package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// certOpts describes a test certificate; zero fields get sensible values.
type certOpts struct {
	names               []string
	notBefore, notAfter time.Time
	key                 crypto.Signer // the certified key; a new P-256 key if nil
	isCA                bool
	parent              *x509.Certificate // issuer; self-signed if nil
	parentKey           crypto.Signer
}

// testCert is a generated certificate with its key.
type testCert struct {
	der     []byte
	leaf    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte // PKCS #8
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func makeCert(t testing.TB, o certOpts) testCert {
	t.Helper()
	if o.key == nil {
		o.key = newKey(t)
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(24 * time.Hour)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	cn := "test"
	if len(o.names) > 0 {
		cn = o.names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              o.names,
		NotBefore:             o.notBefore,
		NotAfter:              o.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  o.isCA,
	}
	if o.isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	parent, parentKey := tmpl, o.key
	if o.parent != nil {
		parent, parentKey = o.parent, o.parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, o.key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	k8, err := x509.MarshalPKCS8PrivateKey(o.key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		der:     der,
		leaf:    leaf,
		key:     o.key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}),
	}
}

// writeAtomic replaces path the way certbot and most tools do: a new file
// renamed over the old, so the inode changes.
func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// writePair writes c's certificate and key as name.pem and name.key in dir.
func writePair(t testing.TB, dir, name string, c testCert) Pair {
	t.Helper()
	p := Pair{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+".key")}
	writeAtomic(t, p.Cert, c.certPEM)
	writeAtomic(t, p.Key, c.keyPEM)
	return p
}

// fakeClock is a clock tests move by hand; safe for concurrent use.
type fakeClock struct {
	base time.Time
	off  atomic.Int64
}

func newClock() *fakeClock                   { return &fakeClock{base: time.Now()} }
func (c *fakeClock) now() time.Time          { return c.base.Add(time.Duration(c.off.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// mustLoad loads pairs with clock c.
func mustLoad(t testing.TB, c *fakeClock, pairs ...Pair) *Store {
	t.Helper()
	s, err := load(pairs, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
