package acme

// An end-to-end test against pebble, Let's Encrypt's small ACME test
// server: a real account, order, challenge, validation and certificate,
// with every packet on loopback. acmetest runs pebble, whose validation
// authority resolves the test's names through a tiny DNS server that
// answers 127.0.0.1 for every name.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/acme/acmetest"
)

func TestPebble(t *testing.T) {
	tests := []struct {
		name      string
		domain    string
		challenge string // the one left enabled
	}{
		{name: "http-01", domain: "stoa.test", challenge: "http-01"},
		{name: "tls-alpn-01", domain: "alpn.stoa.test", challenge: "tls-alpn-01"},
	}
	acmetest.Require(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := startChallengeServers(t)
			p := acmetest.Start(t, acmetest.Options{HTTPPort: ch.httpPort(), TLSPort: ch.tlsPort()})
			storage := t.TempDir()
			opts := Options{
				Domains:      []string{tt.domain},
				CA:           p.Directory,
				Storage:      storage,
				TrustedRoots: p.APIRoots,
				HTTPPort:     ch.httpPort(),
				TLSPort:      ch.tlsPort(),
				OnError:      func(err error) { t.Logf("OnError: %v", err) },
			}
			m := newTestManager(t, opts, tt.challenge)
			ch.set(m)

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := m.Manage(ctx); err != nil {
				t.Fatalf("Manage: %v", err)
			}
			httpAnswers, alpnHellos := ch.httpAnswers.Load(), ch.alpnHellos.Load()
			switch tt.challenge {
			case "http-01":
				if httpAnswers == 0 || alpnHellos != 0 {
					t.Errorf("challenge requests: HTTP-01 answered %d, TLS-ALPN-01 hellos %d; want > 0 and 0", httpAnswers, alpnHellos)
				}
			case "tls-alpn-01":
				if alpnHellos == 0 || httpAnswers != 0 {
					t.Errorf("challenge requests: TLS-ALPN-01 hellos %d, HTTP-01 answered %d; want > 0 and 0", alpnHellos, httpAnswers)
				}
			}
			if ch.unanswered.Load() != 0 {
				t.Errorf("challenge requests that reached the next handler: %d, want 0", ch.unanswered.Load())
			}

			root, _ := p.IssuingChain(t)
			roots := x509.NewCertPool()
			roots.AddCert(root)
			leaf := handshake(t, m, tt.domain, roots)
			if err := leaf.VerifyHostname(tt.domain); err != nil {
				t.Errorf("leaf certificate: %v (DNSNames=%q)", err, leaf.DNSNames)
			}

			// The certificate is in the storage folder: a second manager
			// over the same folder serves it without a new challenge.
			if n := countFiles(t, storage, ".crt"); n == 0 {
				t.Fatalf("storage %s holds no .crt file after Manage", storage)
			}
			m.Stop()
			m2 := newTestManager(t, opts, tt.challenge)
			ch.set(m2)
			before := ch.httpAnswers.Load() + ch.alpnHellos.Load()
			if err := m2.Manage(ctx); err != nil {
				t.Fatalf("Manage over the same storage: %v", err)
			}
			if after := ch.httpAnswers.Load() + ch.alpnHellos.Load(); after != before {
				t.Errorf("Manage over the same storage answered %d challenges, want 0", after-before)
			}
			leaf2 := handshake(t, m2, tt.domain, roots)
			if !leaf2.Equal(leaf) {
				t.Errorf("second manager serves serial %v, want the stored %v", leaf2.SerialNumber, leaf.SerialNumber)
			}
		})
	}
}

// newTestManager makes a Manager that uses only the named challenge, so
// each subtest proves that challenge works, and stops it at the end.
func newTestManager(t *testing.T, o Options, challenge string) *Manager {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(m.Stop)
	m.issuer.DisableHTTPChallenge = challenge != "http-01"
	m.issuer.DisableTLSALPNChallenge = challenge != "tls-alpn-01"
	return m
}

// handshake connects to a TLS server that uses m.GetCertificate, as a
// client that trusts roots, and returns the server's leaf certificate.
func handshake(t *testing.T, m *Manager, serverName string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		GetCertificate: m.GetCertificate,
		NextProtos:     []string{"http/1.1", ALPN},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.(*tls.Conn).Handshake()
		io.Copy(io.Discard, c) // until the client closes
	}()
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{
		ServerName: serverName,
		RootCAs:    roots,
	})
	if err != nil {
		t.Fatalf("TLS handshake for %q: %v", serverName, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// challengeServers answer pebble's validation requests on the ports
// pebble was told about, through whichever Manager is current.
type challengeServers struct {
	httpLn, tlsLn net.Listener
	m             atomic.Pointer[Manager]

	httpAnswers atomic.Int64 // HTTP-01 requests the Manager answered
	unanswered  atomic.Int64 // challenge paths that fell through to next
	alpnHellos  atomic.Int64 // ClientHellos offering only acme-tls/1
}

func (s *challengeServers) httpPort() int  { return s.httpLn.Addr().(*net.TCPAddr).Port }
func (s *challengeServers) tlsPort() int   { return s.tlsLn.Addr().(*net.TCPAddr).Port }
func (s *challengeServers) set(m *Manager) { s.m.Store(m) }

func startChallengeServers(t *testing.T) *challengeServers {
	t.Helper()
	s := &challengeServers{}
	var err error
	if s.httpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if s.tlsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}

	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsChallenge(r.URL.Path) {
			s.unanswered.Add(1)
		}
		http.NotFound(w, r)
	})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if IsChallenge(r.URL.Path) {
				s.httpAnswers.Add(1)
			}
			s.m.Load().HTTPChallenge(next).ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(s.httpLn)
	t.Cleanup(func() { srv.Close() })

	tlsConfig := &tls.Config{
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if slices.Equal(hello.SupportedProtos, []string{ALPN}) {
				s.alpnHellos.Add(1)
			}
			return s.m.Load().GetCertificate(hello)
		},
		NextProtos: []string{"http/1.1", ALPN},
	}
	ln := tls.NewListener(s.tlsLn, tlsConfig)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return s
}

// countFiles counts the files under dir whose names end in suffix.
func countFiles(t *testing.T, dir, suffix string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), suffix) {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
