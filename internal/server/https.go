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

	"github.com/stoahttp/stoa/internal/acme"
	"github.com/stoahttp/stoa/internal/certs"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/h2"
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

// serveHTTPS serves l with TLS: HTTP/1.1 and HTTP/2 by the engine, and
// HTTP/3 on the same port over UDP when asked.
func (s *Server) serveHTTPS(cfg *config.Config, ln *listener) error {
	port := ln.l.Addr().(*net.TCPAddr).Port
	var udp net.PacketConn
	if ln.quic != nil {
		var err error
		if udp, err = ln.quic.PacketConn(); err != nil {
			return fmt.Errorf("http3: %v", err)
		}
	} else if cfg.HTTP3 {
		host, _, _ := net.SplitHostPort(ln.l.Addr().String())
		var err error
		if udp, err = net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port))); err != nil {
			return fmt.Errorf("http3: listen udp %s: %v (set http3 = false, or free the port)", ln.addr, err)
		}
	}
	extra := httpsExtra(cfg, port, udp != nil)
	tc := s.tlsConfig(cfg)
	if udp != nil {
		// quic-go's HTTP/3 server calls stoa's core through the net/http
		// adapter, with the engine's limits.
		lim := s.eng.Config()
		h := stdhttp.New(s.sw, stdhttp.Options{Log: s.logger, Extra: extra, Proto: "HTTP/3.0", Panics: s.panics,
			BodyTimeout: lim.ReadHeaderTimeout, WriteTimeout: lim.WriteTimeout})
		h3, err := stdhttp.ListenHTTP3(udp, tc, h, stdhttp.Limits{
			ReadHeaderTimeout: lim.ReadHeaderTimeout,
			IdleTimeout:       lim.IdleTimeout,
			MaxHeaderBytes:    lim.Limits.MaxHeaderBytes,
			MaxStreams:        h2.MaxConcurrentStreams,
			Slots:             s.eng,
		})
		if err != nil {
			udp.Close()
			return fmt.Errorf("http3: listen udp %s: %v", ln.addr, err)
		}
		ln.h3 = h3
		go h3.Serve()
	}
	go func() {
		err := s.eng.ServeListener(ln.l, engine.ListenerConfig{
			TLS:   tc,
			Extra: extra,
			HTTP2: true,
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
	// The same limits as the engine's listeners. net/http reads 4 KiB
	// past MaxHeaderBytes (its "bufio slop") before it answers 431:
	// asking for that much less gives the engine's bound on a head. Its
	// WriteTimeout bounds the whole answer, a short one here.
	lim := s.eng.Config()
	srv := &http.Server{
		Handler:           redirectHandler(s.httpsPort(), m),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
		WriteTimeout:      lim.WriteTimeout,
		MaxHeaderBytes:    max(lim.Limits.MaxHeaderBytes-4096, 1),
	}
	ln.plain = srv
	go srv.Serve(newSlotListener(ln.l, s.eng))
}

// slotListener takes one of the engine's connection slots (MaxConns) for
// each connection it accepts, before accepting it, as the engine does, and
// gives it back when the connection is closed.
type slotListener struct {
	net.Listener
	eng    *engine.Server
	ctx    context.Context
	cancel context.CancelFunc
}

func newSlotListener(l net.Listener, eng *engine.Server) *slotListener {
	ctx, cancel := context.WithCancel(context.Background())
	return &slotListener{Listener: l, eng: eng, ctx: ctx, cancel: cancel}
}

func (l *slotListener) Accept() (net.Conn, error) {
	if err := l.eng.Acquire(l.ctx); err != nil {
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.eng.Release()
		return nil, err
	}
	return &slotConn{Conn: c, release: l.eng.Release}, nil
}

// Close closes the listener, and stops a wait for a slot.
func (l *slotListener) Close() error {
	l.cancel()
	return l.Listener.Close()
}

type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
