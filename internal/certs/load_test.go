package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func pemBlock(typ string, headers map[string]string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der})
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := makeCert(t, certOpts{names: []string{"a.test"}})
	goodCert, goodKey := file("good.pem", good.certPEM), file("good.key", good.keyPEM)
	otherKey := file("other.key", makeCert(t, certOpts{}).keyPEM)

	expired := makeCert(t, certOpts{
		notBefore: time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC),
		notAfter:  time.Date(2024, 1, 2, 12, 0, 0, 0, time.UTC),
	})
	future := makeCert(t, certOpts{
		notBefore: time.Date(2999, 1, 2, 0, 0, 0, 0, time.UTC),
		notAfter:  time.Date(2999, 6, 1, 0, 0, 0, 0, time.UTC),
	})

	caKey := newKey(t)
	ca := makeCert(t, certOpts{key: caKey, isCA: true})
	leaf := makeCert(t, certOpts{names: []string{"a.test"}, parent: ca.leaf, parentKey: caKey})
	reversed := file("reversed.pem", append(append([]byte{}, ca.certPEM...), leaf.certPEM...))
	leafKey := file("leaf.key", leaf.keyPEM)

	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.test"}}, good.key)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x8, err := x509.MarshalPKCS8PrivateKey(x)
	if err != nil {
		t.Fatal(err)
	}

	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name  string
		pairs []Pair
		want  string
	}{
		{"no pairs", nil,
			`tls: no certificate given (name at least one certificate file and its key file)`},
		{"cert path empty", []Pair{{"", goodKey}},
			`tls cert "": no file named (give the path of the certificate chain file)`},
		{"key path empty", []Pair{{goodCert, ""}},
			`tls key "": no file named (give the path of the private key file)`},
		{"cert missing", []Pair{{missing, goodKey}},
			fmt.Sprintf(`tls cert %q: no such file (check the path)`, missing)},
		{"key missing", []Pair{{goodCert, missing}},
			fmt.Sprintf(`tls key %q: no such file (check the path)`, missing)},
		{"cert is a directory", []Pair{{dir, goodKey}},
			fmt.Sprintf(`tls cert %q: is a directory (name the file, not its directory)`, dir)},
		{"cert not PEM", []Pair{{file("text.pem", []byte("hello\n")), goodKey}},
			fmt.Sprintf(`tls cert %q: no PEM certificate in the file (want the certificate chain, PEM encoded)`, filepath.Join(dir, "text.pem"))},
		{"cert is DER", []Pair{{file("cert.der", good.der), goodKey}},
			fmt.Sprintf(`tls cert %q: no PEM certificate in the file (want the certificate chain, PEM encoded)`, filepath.Join(dir, "cert.der"))},
		{"cert file holds the key", []Pair{{goodKey, goodCert}},
			fmt.Sprintf(`tls cert %q: holds a private key but no certificate (did you swap the cert and key files?)`, goodKey)},
		{"cert file holds a CSR", []Pair{{file("csr.pem", pemBlock("CERTIFICATE REQUEST", nil, csrDER)), goodKey}},
			fmt.Sprintf(`tls cert %q: holds a certificate signing request, not a certificate (use the certificate the CA issued for it)`, filepath.Join(dir, "csr.pem"))},
		{"cert does not parse", []Pair{{file("bad.pem", append(append([]byte{}, good.certPEM...), pemBlock("CERTIFICATE", nil, []byte("junk"))...)), goodKey}},
			fmt.Sprintf(`tls cert %q: certificate 2 of 2 does not parse: x509: malformed certificate (want the chain the CA issued, PEM encoded)`, filepath.Join(dir, "bad.pem"))},
		{"key not PEM", []Pair{{goodCert, file("text.key", []byte("hello\n"))}},
			fmt.Sprintf(`tls key %q: no PEM private key in the file (want the private key, PEM encoded)`, filepath.Join(dir, "text.key"))},
		{"key file holds the cert", []Pair{{goodCert, goodCert}},
			fmt.Sprintf(`tls key %q: holds a certificate but no private key (did you swap the cert and key files?)`, goodCert)},
		{"key encrypted, PKCS #8", []Pair{{goodCert, file("enc8.key", pemBlock("ENCRYPTED PRIVATE KEY", nil, []byte("junk")))}},
			fmt.Sprintf(`tls key %q: the private key is encrypted (stoa needs it unencrypted: openssl pkey -in KEY -out NEWKEY)`, filepath.Join(dir, "enc8.key"))},
		{"key encrypted, legacy PEM", []Pair{{goodCert, file("enc1.key", pemBlock("RSA PRIVATE KEY", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}, []byte("junk")))}},
			fmt.Sprintf(`tls key %q: the private key is encrypted (stoa needs it unencrypted: openssl pkey -in KEY -out NEWKEY)`, filepath.Join(dir, "enc1.key"))},
		{"key does not parse", []Pair{{goodCert, file("junk.key", pemBlock("PRIVATE KEY", nil, []byte("junk")))}},
			fmt.Sprintf(`tls key %q: the private key does not parse (want an RSA, ECDSA or Ed25519 key as PKCS #1, PKCS #8 or SEC 1, PEM encoded)`, filepath.Join(dir, "junk.key"))},
		{"key cannot sign", []Pair{{goodCert, file("x25519.key", pemBlock("PRIVATE KEY", nil, x8))}},
			fmt.Sprintf(`tls key %q: the private key is a *ecdh.PrivateKey, which TLS cannot sign with (want an RSA, ECDSA or Ed25519 key)`, filepath.Join(dir, "x25519.key"))},
		{"key of another cert", []Pair{{goodCert, otherKey}},
			fmt.Sprintf(`tls key %q: does not match the certificate of %q`, otherKey, goodCert)},
		{"chain in the wrong order", []Pair{{reversed, leafKey}},
			fmt.Sprintf(`tls cert %q: the server certificate must come first in the file (it is certificate 2 of 2)`, reversed)},
		{"expired", []Pair{writePair(t, dir, "expired", expired)},
			fmt.Sprintf(`tls cert %q: expired on 2024-01-02 (renew it)`, filepath.Join(dir, "expired.pem"))},
		{"not yet valid", []Pair{writePair(t, dir, "future", future)},
			fmt.Sprintf(`tls cert %q: not valid until 2999-01-02 (check the system clock)`, filepath.Join(dir, "future.pem"))},
		{"second pair bad", []Pair{{goodCert, goodKey}, {goodCert, otherKey}},
			fmt.Sprintf(`tls key %q: does not match the certificate of %q`, otherKey, goodCert)},
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := file("locked.pem", good.certPEM)
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name  string
			pairs []Pair
			want  string
		}{"cert unreadable", []Pair{{locked, goodKey}},
			fmt.Sprintf(`tls cert %q: permission denied (let the user stoa runs as read it)`, locked)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(tt.pairs)
			if err == nil {
				t.Fatalf("Load = %v, nil; want error %q", s, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Load error\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	dir := t.TempDir()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	caKey := newKey(t)
	ca := makeCert(t, certOpts{key: caKey, isCA: true})
	leaf := makeCert(t, certOpts{names: []string{"a.test"}, parent: ca.leaf, parentKey: caKey})

	type fixture struct {
		cert, key []byte
		chainLen  int
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	rsaCert := makeCert(t, certOpts{key: rsaKey})
	ecCert := makeCert(t, certOpts{key: ecKey})
	edCert := makeCert(t, certOpts{key: edKey})
	tests := []struct {
		name string
		f    fixture
	}{
		{"RSA, PKCS #1", fixture{rsaCert.certPEM, pemBlock("RSA PRIVATE KEY", nil, x509.MarshalPKCS1PrivateKey(rsaKey)), 1}},
		{"ECDSA, SEC 1 after EC PARAMETERS (openssl ecparam -genkey)", fixture{ecCert.certPEM,
			cat(pemBlock("EC PARAMETERS", nil, []byte{6, 5, 43, 129, 4, 0, 34}), pemBlock("EC PRIVATE KEY", nil, sec1)), 1}},
		{"Ed25519, PKCS #8", fixture{edCert.certPEM, edCert.keyPEM, 1}},
		{"chain with intermediate, text around the blocks", fixture{
			cat([]byte("subject=CN=a.test\n"), leaf.certPEM, []byte("issuer\n"), ca.certPEM), leaf.keyPEM, 2}},
		{"cert and key in one file", fixture{cat(leaf.keyPEM, leaf.certPEM, ca.certPEM), cat(leaf.keyPEM, leaf.certPEM, ca.certPEM), 2}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Pair{Cert: filepath.Join(dir, fmt.Sprint(i, ".pem")), Key: filepath.Join(dir, fmt.Sprint(i, ".key"))}
			writeAtomic(t, p.Cert, tt.f.cert)
			writeAtomic(t, p.Key, tt.f.key)
			s, err := Load([]Pair{p})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			c, _ := s.GetCertificate(&tls.ClientHelloInfo{})
			if len(c.Certificate) != tt.f.chainLen {
				t.Errorf("chain has %d certificates, want %d", len(c.Certificate), tt.f.chainLen)
			}
			// Cross-check with crypto/tls's own loader.
			want, err := tls.X509KeyPair(tt.f.cert, tt.f.key)
			if err != nil {
				t.Fatalf("tls.X509KeyPair: %v", err)
			}
			if !bytes.Equal(c.Certificate[0], want.Certificate[0]) || !keyMatches(c.Leaf, want.PrivateKey.(crypto.Signer)) {
				t.Errorf("loaded pair differs from tls.X509KeyPair's")
			}
		})
	}
}
