package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// loaded is what one successful load of a pair produced.
type loaded struct {
	cert  *tls.Certificate
	names []string // the leaf's DNS SANs
}

// fileIDs identifies the contents of a pair's two files as of one look; a
// nil FileInfo means the file could not be looked at.
type fileIDs struct{ cert, key fs.FileInfo }

func statPair(p Pair) fileIDs {
	var ids fileIDs
	if fi, err := os.Stat(p.Cert); err == nil {
		ids.cert = fi
	}
	if fi, err := os.Stat(p.Key); err == nil {
		ids.key = fi
	}
	return ids
}

// changed reports whether either file differs from what ids recorded.
// os.Stat follows symbolic links, so certbot's live/ links switching to new
// archive/ files shows up as a new inode.
func (ids fileIDs) changed(now fileIDs) bool {
	return !sameFile(ids.cert, now.cert) || !sameFile(ids.key, now.key)
}

func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

var errNoPairs = errors.New("tls: no certificate given (name at least one certificate file and its key file)")

// loadPair reads and checks one pair as of now. It returns, even on error,
// the identity of the files taken before reading them, so that a change
// made while reading is noticed at the next look.
func loadPair(p Pair, now time.Time) (*loaded, fileIDs, error) {
	seen := statPair(p)
	certPEM, err := readFile("cert", p.Cert)
	if err != nil {
		return nil, seen, err
	}
	keyPEM, err := readFile("key", p.Key)
	if err != nil {
		return nil, seen, err
	}
	der, chain, err := parseChain(p.Cert, certPEM)
	if err != nil {
		return nil, seen, err
	}
	key, err := parseKey(p.Key, keyPEM)
	if err != nil {
		return nil, seen, err
	}
	leaf := chain[0]
	if !keyMatches(leaf, key) {
		for i, c := range chain[1:] {
			if keyMatches(c, key) {
				return nil, seen, fileErr("cert", p.Cert, "the server certificate must come first in the file (it is certificate %d of %d)", i+2, len(chain))
			}
		}
		return nil, seen, fileErr("key", p.Key, "does not match the certificate of %q", p.Cert)
	}
	if now.Before(leaf.NotBefore) {
		return nil, seen, fileErr("cert", p.Cert, "not valid until %s (check the system clock)", leaf.NotBefore.UTC().Format(time.DateOnly))
	}
	if now.After(leaf.NotAfter) {
		return nil, seen, fileErr("cert", p.Cert, "expired on %s (renew it)", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return &loaded{
		cert:  &tls.Certificate{Certificate: der, PrivateKey: key, Leaf: leaf},
		names: leaf.DNSNames,
	}, seen, nil
}

// fileErr builds the one-line error about one file of a pair:
// `tls cert "/etc/ssl/a.pem": what is wrong (what to do)`.
func fileErr(kind, path, format string, args ...any) error {
	return fmt.Errorf("tls %s %q: %s", kind, path, fmt.Sprintf(format, args...))
}

// readFile reads a pair's file, turning the file system's errors into
// advice. kind is "cert" or "key".
func readFile(kind, path string) ([]byte, error) {
	if path == "" {
		what := "certificate chain"
		if kind == "key" {
			what = "private key"
		}
		return nil, fileErr(kind, path, "no file named (give the path of the %s file)", what)
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fileErr(kind, path, "no such file (check the path)")
	case errors.Is(err, fs.ErrPermission):
		return nil, fileErr(kind, path, "permission denied (let the user stoa runs as read it)")
	}
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		return nil, fileErr(kind, path, "is a directory (name the file, not its directory)")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is already in the message
	}
	return nil, fileErr(kind, path, "cannot read: %v", err)
}

// parseChain returns the DER and parsed form of every CERTIFICATE block in
// data, the server's certificate first. Other blocks are skipped, so a file
// holding the chain and the key together serves as both.
func parseChain(path string, data []byte) ([][]byte, []*x509.Certificate, error) {
	var der [][]byte
	var sawKey, sawCSR bool
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			der = append(der, b.Bytes)
		case b.Type == "CERTIFICATE REQUEST" || b.Type == "NEW CERTIFICATE REQUEST":
			sawCSR = true
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			sawKey = true
		}
	}
	if len(der) == 0 {
		switch {
		case sawKey:
			return nil, nil, fileErr("cert", path, "holds a private key but no certificate (did you swap the cert and key files?)")
		case sawCSR:
			return nil, nil, fileErr("cert", path, "holds a certificate signing request, not a certificate (use the certificate the CA issued for it)")
		}
		return nil, nil, fileErr("cert", path, "no PEM certificate in the file (want the certificate chain, PEM encoded)")
	}
	chain := make([]*x509.Certificate, len(der))
	for i, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, nil, fileErr("cert", path, "certificate %d of %d does not parse: %v (want the chain the CA issued, PEM encoded)", i+1, len(der), err)
		}
		chain[i] = c
	}
	return der, chain, nil
}

// parseKey returns the first private key in data. Like tls.X509KeyPair it
// tries PKCS #1, PKCS #8 and SEC 1 whatever the block's type says.
func parseKey(path string, data []byte) (crypto.Signer, error) {
	sawCert := false
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			sawCert = true
		case b.Type == "ENCRYPTED PRIVATE KEY" || strings.HasSuffix(b.Type, "PRIVATE KEY") && strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"):
			return nil, fileErr("key", path, "the private key is encrypted (stoa needs it unencrypted: openssl pkey -in KEY -out NEWKEY)")
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			return parsePrivateKey(path, b.Bytes)
		}
	}
	if sawCert {
		return nil, fileErr("key", path, "holds a certificate but no private key (did you swap the cert and key files?)")
	}
	return nil, fileErr("key", path, "no PEM private key in the file (want the private key, PEM encoded)")
}

func parsePrivateKey(path string, der []byte) (crypto.Signer, error) {
	var key any
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		key = k
	} else if k, err := x509.ParseECPrivateKey(der); err == nil {
		key = k
	} else {
		return nil, fileErr("key", path, "the private key does not parse (want an RSA, ECDSA or Ed25519 key as PKCS #1, PKCS #8 or SEC 1, PEM encoded)")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fileErr("key", path, "the private key is a %T, which TLS cannot sign with (want an RSA, ECDSA or Ed25519 key)", key)
}

// keyMatches reports whether c certifies key's public half.
func keyMatches(c *x509.Certificate, key crypto.Signer) bool {
	pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}
