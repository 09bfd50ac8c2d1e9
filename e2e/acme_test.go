package e2e

// Automatic HTTPS end to end: the stoa binary obtains a certificate from
// pebble, Let's Encrypt's small ACME test server, answering pebble's
// validation on its own listeners, then serves the site with it. pebble
// (run by internal/acme/acmetest) resolves the site's name through a tiny
// DNS server of the test's own that answers 127.0.0.1 for every name, so
// every packet stays on loopback; the test checks that too.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/acme/acmetest"
)

const (
	// acmeDomain is the name stoa obtains a certificate for; the test's
	// DNS server maps it (and every other name) to 127.0.0.1.
	acmeDomain = "stoa.test"
	// acmeTimeout bounds the wait for the certificate, the ACME exchange
	// with its retries included (it takes about a second).
	acmeTimeout = 60 * time.Second
)

// TestACME runs `stoa serve --domain stoa.test` against pebble, once per
// challenge type. In each subtest pebble is told a dead port for the other
// challenge, so a certificate can only come from the challenge named: the
// HTTP-01 answer on stoa's plain listener, or the TLS-ALPN-01 handshake on
// its HTTPS listener.
func TestACME(t *testing.T) {
	acmetest.Require(t)
	for _, tt := range []struct {
		challenge string
		deadHTTP  bool // pebble validates HTTP-01 on a port nothing listens on
		deadTLS   bool // and TLS-ALPN-01
	}{
		{challenge: "http-01", deadTLS: true},
		{challenge: "tls-alpn-01", deadHTTP: true},
	} {
		t.Run(tt.challenge, func(t *testing.T) {
			httpPort, tlsPort := freePort(t), freePort(t)
			pebbleHTTP, pebbleTLS := httpPort, tlsPort
			if tt.deadHTTP {
				pebbleHTTP = freePort(t)
			}
			if tt.deadTLS {
				pebbleTLS = freePort(t)
			}
			p := acmetest.Start(t, acmetest.Options{HTTPPort: pebbleHTTP, TLSPort: pebbleTLS})

			// stoa trusts pebble's API through the system roots, which
			// Go takes from SSL_CERT_FILE. Every proxy variable points
			// at a trap: Go never proxies loopback, so a connection to
			// the trap is a request stoa meant for somewhere else.
			trap := startProxyTrap(t)
			t.Setenv("SSL_CERT_FILE", p.APIRootsFile)
			for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
				t.Setenv(k, "http://"+trap.addr)
			}
			t.Setenv("NO_PROXY", "")
			t.Setenv("no_proxy", "")

			s := newSite(t)
			plainAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
			tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
			srv := startWith(t, s, "serve", s.root,
				"--domain", acmeDomain,
				"--acme-ca", p.Directory,
				"--acme-storage", t.TempDir(),
				"--https", tlsAddr,
				"--listen", plainAddr,
				"--http3=false")
			watch := watchSockets(t, srv.cmd.Process.Pid, p.PID)
			if srv.addr != plainAddr {
				t.Errorf("plain listener at %s, want %s", srv.addr, plainAddr)
			}
			if got := httpsAddr(t, srv); got != tlsAddr {
				t.Errorf("HTTPS listener at %s, want %s", got, tlsAddr)
			}

			root, inter := p.IssuingChain(t)
			roots := x509.NewCertPool()
			roots.AddCert(root)

			start := time.Now()
			state := waitACMECert(t, srv, tlsAddr, roots)
			t.Logf("certificate served %v after stoa started", time.Since(start).Round(time.Millisecond))
			checkIssuedByPebble(t, state, root, inter)

			// The site over HTTPS with the new certificate, over both
			// protocols the TCP listener speaks.
			for _, proto := range []string{"http/1.1", "h2"} {
				t.Run("GET/"+proto, func(t *testing.T) {
					c := acmeClient(tlsAddr, roots, proto)
					defer c.CloseIdleConnections()
					resp, err := c.Get("https://" + acmeDomain + "/")
					if err != nil {
						t.Fatalf("GET https://%s/ (dialling %s): %v", acmeDomain, tlsAddr, err)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Fatalf("reading the body: %v", err)
					}
					if bytes.Contains(body, []byte(s.marker)) {
						t.Fatalf("the secret beside the root leaked: %q", body)
					}
					if resp.StatusCode != http.StatusOK || string(body) != indexHTML {
						t.Errorf("GET /: status %d body %q, want 200 %q", resp.StatusCode, clip(body, 200), indexHTML)
					}
					if want := map[string]int{"http/1.1": 1, "h2": 2}[proto]; resp.ProtoMajor != want {
						t.Errorf("answered over %s, want HTTP/%d", resp.Proto, want)
					}
				})
			}

			// The plain port sends everything else to https, on the
			// HTTPS listener's port (RFC 9110 §15.4.9: 308 keeps the
			// method).
			for _, rt := range []struct{ method, target, want string }{
				{"GET", "/", "https://stoa.test:" + strconv.Itoa(tlsPort) + "/"},
				{"GET", "/a/b?c=1&d", "https://stoa.test:" + strconv.Itoa(tlsPort) + "/a/b?c=1&d"},
				{"HEAD", "/index.html", "https://stoa.test:" + strconv.Itoa(tlsPort) + "/index.html"},
			} {
				r := srv.roundTrip(requestHost(rt.method, acmeDomain, rt.target))
				if r.Status != http.StatusPermanentRedirect || r.get("Location") != rt.want {
					t.Errorf("%s %s on the plain port: %d Location %q, want 308 to %q", rt.method, rt.target, r.Status, r.get("Location"), rt.want)
				}
			}

			// Nothing left loopback: pebble only resolved the site's
			// name (to 127.0.0.1, through the test's server), stoa sent
			// nothing to a proxy, and no socket of stoa or pebble had a
			// peer off loopback.
			names := p.Resolved()
			if len(names) == 0 {
				t.Errorf("pebble asked the test's DNS server nothing; it must have resolved %s elsewhere", acmeDomain)
			}
			for _, n := range names {
				if n != acmeDomain+"." {
					t.Errorf("pebble resolved %q, want only %q", n, acmeDomain+".")
				}
			}
			if n := trap.conns.Load(); n != 0 {
				t.Errorf("the proxy trap got %d connections: stoa asked for something off loopback; first request:\n%s", n, trap.first())
			}
			if off := watch.stop(); len(off) > 0 {
				t.Errorf("sockets with a peer off loopback:\n%s", strings.Join(off, "\n"))
			}
			if t.Failed() {
				t.Logf("stoa's stderr:\n%s", srv.stderrText())
			}
		})
	}
}

// waitACMECert polls, up to acmeTimeout, for a TLS handshake with
// tlsAddr as acmeDomain that verifies against roots, and returns its
// state. Until stoa has the certificate the handshakes fail.
func waitACMECert(t *testing.T, srv *server, tlsAddr string, roots *x509.CertPool) tls.ConnectionState {
	t.Helper()
	deadline := time.Now().Add(acmeTimeout)
	for {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", tlsAddr, &tls.Config{
			ServerName: acmeDomain,
			RootCAs:    roots,
			NextProtos: []string{"http/1.1"},
		})
		if err == nil {
			state := c.ConnectionState()
			c.Close()
			return state
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verifiable certificate for %s at %s within %v; last handshake: %v; stoa's stderr:\n%s",
				acmeDomain, tlsAddr, acmeTimeout, err, srv.stderrText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkIssuedByPebble checks that the served chain is a leaf for
// acmeDomain signed by pebble's intermediate inter, which root signed.
func checkIssuedByPebble(t *testing.T, state tls.ConnectionState, root, inter *x509.Certificate) {
	t.Helper()
	chain := state.PeerCertificates
	leaf := chain[0]
	if err := leaf.VerifyHostname(acmeDomain); err != nil {
		t.Errorf("leaf certificate: %v (DNSNames=%q)", err, leaf.DNSNames)
	}
	if !bytes.Equal(leaf.RawIssuer, inter.RawSubject) {
		t.Errorf("leaf issuer %q, want pebble's intermediate %q", leaf.Issuer, inter.Subject)
	}
	if err := leaf.CheckSignatureFrom(inter); err != nil {
		t.Errorf("leaf not signed by pebble's intermediate: %v", err)
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		t.Errorf("pebble's intermediate not signed by its root: %v", err)
	}
	if len(chain) < 2 || !chain[1].Equal(inter) {
		t.Errorf("served chain of %d certificates does not carry pebble's intermediate %q next to the leaf", len(chain), inter.Subject)
	}
	if len(state.VerifiedChains) == 0 || !state.VerifiedChains[0][len(state.VerifiedChains[0])-1].Equal(root) {
		t.Errorf("the handshake did not verify up to pebble's root")
	}
}

// acmeClient is an HTTPS client that reaches every host at addr, trusts
// only roots, offers only proto in ALPN, and never uses a proxy.
func acmeClient(addr string, roots *x509.CertPool, proto string) *http.Client {
	d := &net.Dialer{Timeout: ioTimeout}
	return &http.Client{
		Timeout: ioTimeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig:    &tls.Config{RootCAs: roots, NextProtos: []string{proto}},
			ForceAttemptHTTP2:  proto == "h2",
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// proxyTrap is a listener the proxy variables point at: it counts the
// connections it gets and keeps the start of the first.
type proxyTrap struct {
	addr  string
	conns atomic.Int64
	mu    sync.Mutex
	head  []byte
}

func startProxyTrap(t *testing.T) *proxyTrap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &proxyTrap{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.conns.Add(1) == 1 {
				c.SetReadDeadline(time.Now().Add(time.Second))
				buf := make([]byte, 512)
				n, _ := c.Read(buf) // "CONNECT host:443 HTTP/1.1" or "GET http://..."
				p.mu.Lock()
				p.head = buf[:n]
				p.mu.Unlock()
			}
			c.Close()
		}
	}()
	return p
}

func (p *proxyTrap) first() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.head)
}

// socketWatch polls the sockets of some processes (Linux /proc) and
// records every one whose peer is neither loopback nor unset. Polling can
// miss a connection that opens and closes between two looks; one that
// waits on an unreachable address, the usual case in a sandbox, is seen.
type socketWatch struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	off  map[string]bool
}

func watchSockets(t *testing.T, pids ...int) *socketWatch {
	t.Helper()
	w := &socketWatch{done: make(chan struct{}), off: make(map[string]bool)}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/net/tcp", pids[0])); err != nil {
		t.Logf("cannot watch sockets (%v); the proxy trap and DNS checks remain", err)
		close(w.done)
		return w
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, pid := range pids {
				for _, s := range offLoopback(pid) {
					w.mu.Lock()
					w.off[s] = true
					w.mu.Unlock()
				}
			}
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

// stop ends the watch and returns what it saw.
func (w *socketWatch) stop() []string {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for s := range w.off {
		out = append(out, s)
	}
	return out
}

// offLoopback lists the sockets process pid holds whose peer address is
// set and not loopback, as "pid PID PROTO LOCAL -> PEER".
func offLoopback(pid int) []string {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil // the process has exited
	}
	inodes := make(map[string]bool)
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var out []string
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		table, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, proto))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(table), "\n") {
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			peer := procAddr(f[2])
			if peer == nil || peer.IP.IsUnspecified() || peer.IP.IsLoopback() {
				continue
			}
			out = append(out, fmt.Sprintf("pid %d %s %s -> %s", pid, proto, procAddr(f[1]), peer))
		}
	}
	return out
}

// procAddr parses an address of /proc/net/tcp: the IP in hex as 32-bit
// words in host (little-endian) order, a colon, the port in hex.
func procAddr(s string) *net.TCPAddr {
	ipHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	port, perr := strconv.ParseUint(portHex, 16, 16)
	if !ok || err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	return &net.TCPAddr{IP: net.IP(raw), Port: int(port)}
}
