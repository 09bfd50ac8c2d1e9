package acme

// An end-to-end test against pebble, Let's Encrypt's small ACME test
// server: a real account, order, challenge, validation and certificate,
// with every packet on loopback. pebble's validation authority resolves
// the test's names through a tiny DNS server of the test's own that
// answers 127.0.0.1 for every name.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	pebbleModule  = "github.com/letsencrypt/pebble/v2"
	pebbleVersion = "v2.10.1"
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
	bin := findPebble(t)
	mod := pebbleModuleDir(t)
	dnsAddr := startDNS(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := startChallengeServers(t)
			p := startPebble(t, bin, mod, dnsAddr, ch.httpPort(), ch.tlsPort())
			storage := t.TempDir()
			opts := Options{
				Domains:      []string{tt.domain},
				CA:           p.directory,
				Storage:      storage,
				TrustedRoots: p.apiRoots,
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

			roots := p.issuingRoots(t)
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

// pebbleProcess is a running pebble.
type pebbleProcess struct {
	directory string         // ACME directory URL
	mgmt      string         // management interface, https://host:port
	apiRoots  *x509.CertPool // trusts the TLS certificate of both
}

// issuingRoots fetches the root pebble made up at start and signs
// certificates under (it changes with every run).
func (p *pebbleProcess) issuingRoots(t *testing.T) *x509.CertPool {
	t.Helper()
	c := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.apiRoots}, Proxy: nil},
	}
	resp, err := c.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("fetching pebble's issuing root: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetching pebble's issuing root: status %d, %v", resp.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(body) {
		t.Fatalf("pebble's issuing root is not PEM: %.100q", body)
	}
	return pool
}

// findPebble returns the pebble binary's path or skips the test.
func findPebble(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for dir := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			p := filepath.Join(dir, "bin", "pebble")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Skip("pebble not installed: go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1 (the CI installs it)")
	return ""
}

// pebbleModuleDir returns the folder of pebble's module source, for its
// test certificates, downloading it into the module cache if needed. It
// runs outside stoa's module, so stoa's go.mod is never touched.
func pebbleModuleDir(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", pebbleModule+"@"+pebbleVersion)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); jerr != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s@%s: %v %s %s", pebbleModule, pebbleVersion, err, mod.Error, out)
	}
	return mod.Dir
}

// startPebble runs pebble with the challenge ports httpPort and tlsPort
// and the DNS server dnsAddr, and kills it when the test ends.
func startPebble(t *testing.T, bin, mod, dnsAddr string, httpPort, tlsPort int) *pebbleProcess {
	t.Helper()
	listen, mgmt := freeAddr(t), freeAddr(t)
	var conf struct {
		Pebble map[string]any `json:"pebble"`
	}
	conf.Pebble = map[string]any{
		"listenAddress":                  listen,
		"managementListenAddress":        mgmt,
		"certificate":                    filepath.Join(mod, "test/certs/localhost/cert.pem"),
		"privateKey":                     filepath.Join(mod, "test/certs/localhost/key.pem"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
	}
	confJSON, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(t.TempDir(), "pebble-config.json")
	if err := os.WriteFile(confPath, confJSON, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-config", confPath, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(),
		"PEBBLE_VA_NOSLEEP=1",
		"PEBBLE_WFE_NONCEREJECT=0",
		"NO_PROXY=*", "no_proxy=*", // everything stays on loopback
	)
	out := &lockedBuffer{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting pebble: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // by its own PID
		<-exited
		if t.Failed() {
			t.Logf("pebble's output:\n%s", out)
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(out, sc.Text())
			if !signalled && strings.Contains(sc.Text(), "ACME directory available at") {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("pebble exited at start:\n%s", out)
	case <-time.After(30 * time.Second):
		t.Fatalf("pebble did not start within 30s:\n%s", out)
	}
	// pebble logs the address just before it listens.
	for _, addr := range []string{listen, mgmt} {
		waitListening(t, addr)
	}

	apiRoots := x509.NewCertPool()
	minica, err := os.ReadFile(filepath.Join(mod, "test/certs/pebble.minica.pem"))
	if err != nil || !apiRoots.AppendCertsFromPEM(minica) {
		t.Fatalf("pebble's test CA: %v", err)
	}
	return &pebbleProcess{
		directory: "https://" + listen + "/dir",
		mgmt:      "https://" + mgmt,
		apiRoots:  apiRoots,
	}
}

// freeAddr returns a loopback address nothing listens on, for pebble,
// which takes its addresses from its configuration file.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening waits, up to 10s, until something accepts on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer collects a process's output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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

// startDNS runs a DNS server over TCP (pebble's resolver uses TCP) that
// answers every A question with 127.0.0.1 and every other question with
// no records, and returns its address.
func startDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveDNS(c)
		}
	}()
	return ln.Addr().String()
}

// serveDNS answers the length-prefixed queries of one TCP connection
// (RFC 1035 §4.2.2).
func serveDNS(c net.Conn) {
	defer c.Close()
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		answer, err := dnsAnswer(query)
		if err != nil {
			return
		}
		msg := binary.BigEndian.AppendUint16(nil, uint16(len(answer)))
		if _, err := c.Write(append(msg, answer...)); err != nil {
			return
		}
	}
}

// dnsAnswer builds the answer to a one-question query (RFC 1035 §4.1):
// A 127.0.0.1 for type A, no records for any other type.
func dnsAnswer(q []byte) ([]byte, error) {
	const typeA, classIN = 1, 1
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil, errors.New("not a query with one question")
	}
	end := 12 // walk QNAME's labels to the root label
	for {
		if end >= len(q) {
			return nil, errors.New("truncated name")
		}
		n := int(q[end])
		end++
		if n == 0 {
			break
		}
		if n&0xC0 != 0 {
			return nil, errors.New("compressed name in a question")
		}
		end += n
	}
	if end+4 > len(q) {
		return nil, errors.New("truncated question")
	}
	qtype, qclass := binary.BigEndian.Uint16(q[end:]), binary.BigEndian.Uint16(q[end+2:])
	question := q[12 : end+4]
	answers := uint16(0)
	if qtype == typeA && qclass == classIN {
		answers = 1
	}
	r := append([]byte(nil), q[0], q[1]) // ID
	r = append(r, 0x84|q[2]&0x01, 0x80)  // QR, AA, RD as asked; RA; NOERROR
	r = binary.BigEndian.AppendUint16(r, 1)
	r = binary.BigEndian.AppendUint16(r, answers)
	r = binary.BigEndian.AppendUint32(r, 0) // NSCOUNT, ARCOUNT
	r = append(r, question...)
	if answers == 1 {
		r = append(r, 0xC0, 12) // the name, by pointer to the question's
		r = binary.BigEndian.AppendUint16(r, typeA)
		r = binary.BigEndian.AppendUint16(r, classIN)
		r = binary.BigEndian.AppendUint32(r, 60) // TTL
		r = binary.BigEndian.AppendUint16(r, 4)
		r = append(r, 127, 0, 0, 1)
	}
	return r, nil
}
