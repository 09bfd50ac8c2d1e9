package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/stoahttp/stoa/internal/acme"
	"github.com/stoahttp/stoa/internal/certs"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/stdhttp"
)

// certSource is where the certificates of one configuration come from.
type certSource struct {
	store *certs.Store     // files: the sites' tls_cert/tls_key and --tls-cert
	self  *tls.Certificate // --tls-self-signed
	acme  *acme.Manager    // domains and the hosts of sites with acme = true
	names map[string]bool  // the names acme manages
	fresh bool             // acme is new: startACME must start it
}

// startACME starts obtaining and renewing the certificates of a new ACME
// manager. It runs once the listeners are open: certmagic binds a
// challenge port itself when nothing listens there, which would take the
// port from stoa.
func (s *Server) startACME(src *certSource) {
	if src == nil || !src.fresh {
		return
	}
	src.fresh = false
	m := src.acme
	go func() {
		if err := m.Manage(context.Background()); err != nil {
			fmt.Fprintln(s.stderr, "stoa: acme:", err)
		}
	}()
}

// tlsWanted reports whether cfg asks for HTTPS at all.
func tlsWanted(cfg *config.Config) bool {
	if len(cfg.Certs) > 0 || cfg.SelfSigned || len(cfg.Domains) > 0 {
		return true
	}
	for i := range cfg.Sites {
		if cfg.Sites[i].TLSCert != "" || cfg.Sites[i].ACME {
			return true
		}
	}
	return false
}

// acmeNames returns the names to obtain certificates for by ACME.
func acmeNames(cfg *config.Config) []string {
	names := append([]string(nil), cfg.Domains...)
	for i := range cfg.Sites {
		if cfg.Sites[i].ACME {
			names = append(names, cfg.Sites[i].Hosts...)
		}
	}
	return names
}

// buildCerts loads the certificates cfg names. old, when not nil, is the
// running source: its self-signed certificate and ACME manager are kept
// when cfg asks for the same.
func (s *Server) buildCerts(cfg *config.Config, old *certSource) (*certSource, error) {
	src := &certSource{}
	var pairs []certs.Pair
	for i := range cfg.Sites {
		if c := &cfg.Sites[i]; c.TLSCert != "" {
			pairs = append(pairs, certs.Pair{Cert: c.TLSCert, Key: c.TLSKey})
		}
	}
	for _, p := range cfg.Certs {
		pairs = append(pairs, certs.Pair{Cert: p.Cert, Key: p.Key})
	}
	if len(pairs) > 0 {
		st, err := certs.Load(pairs)
		if err != nil {
			return nil, err
		}
		st.OnError(func(err error) { fmt.Fprintln(s.stderr, "stoa:", err) })
		src.store = st
	}
	if cfg.SelfSigned {
		if old != nil && old.self != nil {
			src.self = old.self
		} else {
			cert, fp, err := certs.SelfSigned(nil)
			if err != nil {
				return nil, err
			}
			src.self = &cert
			fmt.Fprintf(s.stdout, "stoa: self-signed certificate for localhost, 127.0.0.1 and ::1; SHA-256 fingerprint %s\n", fp)
		}
	}
	if names := acmeNames(cfg); len(names) > 0 {
		if old != nil && old.acme != nil && sameNames(old.names, names) {
			src.acme, src.names = old.acme, old.names
		} else {
			m, err := acme.New(acme.Options{Domains: names, Email: cfg.ACMEEmail, CA: cfg.ACMECA, Storage: cfg.ACMEStorage,
				HTTPPort: portOf(cfg.Listen, 80), TLSPort: portOf(cfg.HTTPS, 443),
				OnError: func(err error) { fmt.Fprintln(s.stderr, "stoa:", err) }})
			if err != nil {
				return nil, err
			}
			src.acme, src.fresh = m, true
			src.names = make(map[string]bool)
			for _, n := range names {
				src.names[n] = true
			}
		}
	}
	return src, nil
}

func sameNames(have map[string]bool, names []string) bool {
	if len(have) != len(names) {
		return false
	}
	for _, n := range names {
		if !have[n] {
			return false
		}
	}
	return true
}

// portOf returns the port of the first TCP address of addrs, or def.
func portOf(addrs []string, def int) int {
	for _, a := range addrs {
		if _, p, err := net.SplitHostPort(a); err == nil {
			if n, err := strconv.Atoi(p); err == nil && n > 0 {
				return n
			}
		}
	}
	return def
}

// getCertificate chooses the certificate for a TLS handshake: ACME's for
// the names it manages (and its TLS-ALPN-01 challenges), else a file's,
// else the self-signed one.
func (s *Server) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	src := s.certs.Load()
	if src == nil {
		return nil, errors.New("no certificate")
	}
	if src.acme != nil && (src.names[strings.ToLower(hello.ServerName)] || isACMEHello(hello)) {
		return src.acme.GetCertificate(hello)
	}
	if src.store != nil {
		return src.store.GetCertificate(hello)
	}
	if src.self != nil {
		return src.self, nil
	}
	if src.acme != nil {
		return src.acme.GetCertificate(hello)
	}
	return nil, errors.New("no certificate")
}

func isACMEHello(hello *tls.ClientHelloInfo) bool {
	for _, p := range hello.SupportedProtos {
		if p == acme.ALPN {
			return true
		}
	}
	return false
}

// tlsConfig is the TLS configuration of every HTTPS listener.
func (s *Server) tlsConfig(cfg *config.Config) *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if len(acmeNames(cfg)) > 0 {
		protos = append(protos, acme.ALPN)
	}
	tc := certs.Config(s.getCertificate, protos)
	if s.reg != nil {
		tc.VerifyConnection = func(tls.ConnectionState) error {
			s.reg.TLSHandshake()
			return nil
		}
	}
	return tc
}

// httpsExtra returns the header lines of the answers of the HTTPS
// listener at port: HSTS, and Alt-Svc when HTTP/3 listens there too.
func httpsExtra(cfg *config.Config, port int, h3 bool) []byte {
	var b []byte
	if cfg.HSTS != "" {
		b = append(b, "Strict-Transport-Security: "+cfg.HSTS+"\r\n"...)
	}
	if h3 {
		b = append(b, fmt.Sprintf("Alt-Svc: h3=\":%d\"; ma=86400\r\n", port)...)
	}
	return b
}

// serveHTTPS serves l with TLS: HTTP/1.1 by the engine, HTTP/2 by net/http's
// server, and HTTP/3 on the same port over UDP when asked.
func (s *Server) serveHTTPS(cfg *config.Config, ln *listener) error {
	port := ln.l.Addr().(*net.TCPAddr).Port
	var h3 *http3.Server
	var udp net.PacketConn
	if cfg.HTTP3 {
		host, _, _ := net.SplitHostPort(ln.l.Addr().String())
		var err error
		if udp, err = net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port))); err != nil {
			return fmt.Errorf("http3: listen udp %s: %v (set http3 = false, or free the port)", ln.addr, err)
		}
	}
	extra := httpsExtra(cfg, port, udp != nil)
	h := stdhttp.New(s.sw, stdhttp.Options{Log: s.logger, Extra: extra})
	// net/http's own HTTP/2 server answers the connections that chose
	// "h2"; the engine hands them over already past the handshake.
	h2 := s.h2Server(cfg, ln, h, false)
	tc := s.tlsConfig(cfg)
	if udp != nil {
		h3 = &http3.Server{Handler: h, TLSConfig: http3.ConfigureTLSConfig(tc)}
		ln.h3 = h3
		go h3.Serve(udp)
	}
	go func() {
		err := s.eng.ServeListener(ln.l, engine.ListenerConfig{
			TLS:   tc,
			Extra: extra,
			HTTP2: func(c *tls.Conn) { h2.serve(c) },
		})
		if err != nil && !errors.Is(err, engine.ErrServerClosed) && !errors.Is(err, engine.ErrListenerStopped) {
			s.errc <- err
		}
	}()
	return nil
}

// redirectHandler answers every request on a plain listener of an HTTPS
// server with a 308 to the same path and query over https (RFC 9110
// §15.4.9 keeps the method), except ACME's HTTP-01 challenges.
func redirectHandler(httpsPort int, m *acme.Manager) http.Handler {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", httpsURL(r.Host, r.RequestURI, httpsPort))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusPermanentRedirect)
		if r.Method != http.MethodHead {
			fmt.Fprintln(w, "This site is served over https.")
		}
	})
	if m != nil {
		h = m.HTTPChallenge(h)
	}
	return h
}

// httpsURL is the https form of a request for target on host: the port
// of host is replaced by httpsPort (left out when 443).
func httpsURL(host, target string, httpsPort int) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if httpsPort != 443 {
		host += ":" + strconv.Itoa(httpsPort)
	}
	if target == "" || target[0] != '/' {
		target = "/" // "*" and absolute forms: the site's root
	}
	return "https://" + host + target
}

// serveRedirect serves l with the redirect to https.
func (s *Server) serveRedirect(ln *listener) {
	var m *acme.Manager
	if src := s.certs.Load(); src != nil {
		m = src.acme
	}
	srv := &http.Server{Handler: redirectHandler(s.httpsPort(), m), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	ln.plain = srv
	go srv.Serve(ln.l)
}

// h2Config is the HTTP/2 configuration of every listener.
func h2Config(cfg *config.Config) *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxConcurrentStreams: 250,
		// RFC 9113 §10.5 floods are bounded by the server: rapid
		// resets (more than 1,000 queued handlers, then GOAWAY),
		// CONTINUATION (past the header limit, GOAWAY), PING
		// (10,000 queued replies, then the connection closes);
		// SETTINGS are answered with one merged ACK. WriteByteTimeout
		// closes a peer that stops reading, as the engine's write
		// timeout does.
		WriteByteTimeout: cfg.WriteTimeout.Duration,
		// MaxReadFrameSize stays at the protocol's initial 16 KiB
		// (RFC 9113 §4.2): the Framer keeps a read buffer as large as
		// the largest frame a peer sent, for the life of the
		// connection, and a static server is sent nothing larger
		// than header blocks and small bodies. h2spec http2/4.2/3
		// checks that a larger HEADERS frame is refused.
		MaxReadFrameSize:              1 << 14,
		MaxReceiveBufferPerConnection: 1 << 20,
		MaxReceiveBufferPerStream:     1 << 20,
	}
}

// h2cServer returns the H2C hand-over of plain listener ln: net/http's
// HTTP/2 server, unencrypted, behind the same adapter as over TLS.
func (s *Server) h2cServer(cfg *config.Config, ln *listener) func(net.Conn) {
	h2 := s.h2Server(cfg, ln, stdhttp.New(s.sw, stdhttp.Options{Log: s.logger}), true)
	return func(c net.Conn) { h2.serve(c) }
}

// h2Server starts net/http's HTTP/2 server with h for the connections the
// engine hands over from ln: over TLS, or unencrypted (prior knowledge).
func (s *Server) h2Server(cfg *config.Config, ln *listener, h http.Handler, unencrypted bool) *h2Listener {
	l := newH2Listener(ln.l.Addr())
	base := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.Duration,
		IdleTimeout:       cfg.IdleTimeout.Duration,
		// The same 16 KiB bound on a request's header fields as the
		// HTTP/1.1 engine's (net/http's default would be 1 MiB).
		MaxHeaderBytes: 16 << 10,
		ConnState:      l.connState,
		HTTP2:          h2Config(cfg),
	}
	base.Protocols = new(http.Protocols)
	if unencrypted {
		base.Protocols.SetUnencryptedHTTP2(true)
	} else {
		base.Protocols.SetHTTP1(true)
		base.Protocols.SetHTTP2(true)
	}
	ln.h2 = base
	go base.Serve(l)
	return l
}

// h2Listener gives net/http's server the TLS connections that negotiated
// "h2", and keeps each one's engine goroutine waiting until net/http is
// done with it, so the engine's connection count and shutdown see it.
type h2Listener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	serving map[net.Conn]chan struct{}
}

func newH2Listener(addr net.Addr) *h2Listener {
	return &h2Listener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{}), serving: make(map[net.Conn]chan struct{})}
}

// serve hands c to net/http and returns when the connection is over.
func (l *h2Listener) serve(c net.Conn) {
	over := make(chan struct{})
	l.mu.Lock()
	l.serving[c] = over
	l.mu.Unlock()
	select {
	case l.conns <- c:
		<-over
	case <-l.done:
		l.mu.Lock()
		delete(l.serving, c)
		l.mu.Unlock()
		c.Close()
	}
}

// connState is net/http's ConnState hook: a closed connection releases
// its engine goroutine.
func (l *h2Listener) connState(c net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	l.mu.Lock()
	over, ok := l.serving[c]
	if !ok {
		// An unencrypted HTTP/2 connection reaches the hook wrapped
		// in a *tls.Conn around the one we handed over.
		if tc, isTLS := c.(*tls.Conn); isTLS {
			c = tc.NetConn()
			over = l.serving[c]
		}
	}
	delete(l.serving, c)
	l.mu.Unlock()
	if over != nil {
		close(over)
	}
}

func (l *h2Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *h2Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *h2Listener) Addr() net.Addr { return l.addr }
