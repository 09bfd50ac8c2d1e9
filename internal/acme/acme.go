// Package acme owns stoa's automatic HTTPS certificates: it obtains them
// from an ACME certificate authority (RFC 8555), answers the CA's HTTP-01
// (RFC 8555 §8.3) and TLS-ALPN-01 (RFC 8737) challenges, keeps the
// accounts, keys and certificates in a folder, staples OCSP responses and
// renews certificates in the background. The ACME work itself is done by
// github.com/caddyserver/certmagic; this package chooses its settings,
// keeps it quiet and turns its failures into one-line errors.
//
// The CA's directory URL is configurable, so a private or staging CA (or
// pebble in the tests) works as well as Let's Encrypt.
//
// The challenges are answered by stoa's own listeners: put
// Manager.HTTPChallenge in front of the port-80 handler and
// Manager.GetCertificate (with ALPN in NextProtos) in the TLS config of the
// port-443 listener, and start both before Manage. If nothing listens on a
// challenge port when a challenge starts, certmagic briefly listens on it
// itself (on every interface), which would then keep stoa from binding it.
package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"
)

// ALPN is the protocol name of the TLS-ALPN-01 challenge (RFC 8737 §6.2).
// A tls.Config whose GetCertificate is Manager.GetCertificate must list it
// in NextProtos, or the handshake of the CA's validation fails.
const ALPN = "acme-tls/1"

// challengePrefix is the path under which HTTP-01 challenges are asked for
// (RFC 8555 §8.3).
const challengePrefix = "/.well-known/acme-challenge/"

// Options configures a Manager. Only Domains is required.
type Options struct {
	// Domains are the host names to obtain certificates for, one
	// certificate each. Wildcards are refused: they need the DNS-01
	// challenge, which stoa does not do.
	Domains []string
	// Email is the ACME account's contact, where a CA sends expiry
	// warnings; it may be "".
	Email string
	// CA is the ACME directory URL; "" means Let's Encrypt's production
	// directory. It must be https (RFC 8555 §6.1).
	CA string
	// Storage is the folder for accounts, keys and certificates; ""
	// means certmagic's default folder under the user's data directory.
	// Several stoa processes sharing the folder share certificates.
	Storage string
	// TrustedRoots are the roots trusted when talking to the CA; nil
	// means the system's roots. A private CA's own root goes here.
	TrustedRoots *x509.CertPool
	// HTTPPort and TLSPort are the ports the CA reaches for the HTTP-01
	// and TLS-ALPN-01 challenges; 0 means 80 and 443. They only differ
	// from those when a port is forwarded or in tests.
	HTTPPort, TLSPort int
	// OnError, if set, receives every error the certificate machinery
	// meets, as one line, while it keeps retrying in the background. It
	// may be called from several goroutines at once.
	OnError func(error)
}

// Manager obtains, stores, renews and serves the certificates of a set of
// domains. It is safe for concurrent use.
type Manager struct {
	domains []string
	config  *certmagic.Config
	issuer  *certmagic.ACMEIssuer
	cache   *certmagic.Cache
	errs    *errorLog

	// ctx bounds certmagic's background work (obtaining with retries);
	// Stop cancels it. It is not the context given to Manage, which only
	// bounds how long Manage waits.
	ctx      context.Context
	cancel   context.CancelFunc
	stopOnce sync.Once

	// changed gets a value when a certificate is cached or an attempt
	// fails, so Manage looks again; it holds one so no signal is lost.
	changed chan struct{}
}

// New checks o and prepares a Manager; it does not talk to the CA yet.
// Errors name the offending option and say what to write instead.
func New(o Options) (*Manager, error) {
	domains, err := checkOptions(o)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		domains: domains,
		errs:    &errorLog{onError: o.OnError},
		changed: make(chan struct{}, 1),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	logger := newLogger(m.errs)

	// A cache of our own rather than certmagic's default one, so two
	// Managers (or a test and stoa) do not share certificates or
	// maintenance goroutines, and Stop ends what New started.
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			return m.config, nil
		},
		Logger: logger,
	})
	cfg := certmagic.Config{
		Logger:         logger,
		OnEvent:        m.onEvent,
		ShouldEmitFunc: wantEvent,
	}
	if o.Storage != "" {
		cfg.Storage = &certmagic.FileStorage{Path: o.Storage}
	}
	m.config = certmagic.New(m.cache, cfg)
	m.issuer = certmagic.NewACMEIssuer(m.config, certmagic.ACMEIssuer{
		CA:    o.CA,
		Email: o.Email,
		// Configuring a CA is taking its subscriber agreement; stoa has
		// no terminal to ask on (certmagic would read stdin).
		Agreed:         true,
		AltHTTPPort:    o.HTTPPort,
		AltTLSALPNPort: o.TLSPort,
		TrustedRoots:   o.TrustedRoots,
		Logger:         logger,
	})
	m.config.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// Manage starts managing the certificates of the domains: it loads them
// from storage or obtains them from the CA, and returns once every domain
// has a usable certificate, or with an error when ctx ends first. Either
// way the work goes on in the background until Stop: failed attempts are
// retried with backoff (certmagic's schedule, for up to 30 days) and the
// certificates are renewed before they expire.
//
// Manage runs the ACME exchange non-interactively on purpose: certmagic's
// interactive mode would prompt on stdin for an email address.
func (m *Manager) Manage(ctx context.Context) error {
	if m.ctx.Err() != nil {
		return errors.New("acme: the certificate manager was stopped; make a new one with acme.New")
	}
	if err := m.config.ManageAsync(m.ctx, m.domains); err != nil {
		return fmt.Errorf("acme: managing certificates: %w", err)
	}
	for {
		missing := m.missing()
		if missing == "" {
			return nil
		}
		select {
		case <-m.changed:
		case <-m.ctx.Done():
			return errors.New("acme: the certificate manager was stopped before it had every certificate")
		case <-ctx.Done():
			cause := "no error reported yet"
			if last := m.errs.last(); last != "" {
				cause = "last error: " + last
			}
			return fmt.Errorf("acme: no certificate for %q yet (%v); %s; still trying in the background", missing, ctx.Err(), cause)
		}
	}
}

// missing returns the first domain without a usable certificate in the
// cache, or "" when every domain has one.
func (m *Manager) missing() string {
	for _, d := range m.domains {
		usable := false
		for _, c := range m.cache.AllMatchingCertificates(d) {
			if !c.Expired() {
				usable = true
				break
			}
		}
		if !usable {
			return d
		}
	}
	return ""
}

// wantEvent lists the certmagic events onEvent reacts to; the others (one
// is emitted per TLS handshake) are not even built.
func wantEvent(event string) bool {
	switch event {
	case "cached_managed_cert", "cert_obtained", "cert_failed":
		return true
	}
	return false
}

// onEvent wakes Manage when the cache may have changed.
func (m *Manager) onEvent(_ context.Context, event string, _ map[string]any) error {
	if wantEvent(event) {
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
	return nil
}

// GetCertificate returns the certificate for hello's server name, for
// tls.Config.GetCertificate. It also answers TLS-ALPN-01 challenges, which
// arrive as handshakes offering only ALPN; the tls.Config must list ALPN in
// NextProtos for those to succeed.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return m.config.GetCertificate(hello)
}

// HTTPChallenge returns a handler that answers the CA's HTTP-01 challenge
// requests (GET /.well-known/acme-challenge/TOKEN for a challenge this
// Manager, or another sharing its storage, started) and passes every other
// request to next. A challenge path with an unknown token goes to next too,
// which typically answers 404.
func (m *Manager) HTTPChallenge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsChallenge(r.URL.Path) && m.issuer.HandleHTTPChallenge(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsChallenge reports whether path is an ACME HTTP-01 challenge path
// (RFC 8555 §8.3), so a server can route it to HTTPChallenge rather than,
// say, redirect it to https. It does not allocate.
func IsChallenge(path string) bool {
	return strings.HasPrefix(path, challengePrefix)
}

// Stop ends the background work: retries, renewals and OCSP stapling. It
// blocks until certmagic's maintenance goroutine has finished. The
// certificates already obtained stay in storage for the next start.
// Stop may be called more than once.
func (m *Manager) Stop() {
	m.stopOnce.Do(func() {
		m.errs.stopped.Store(true)
		m.cancel()
		m.cache.Stop()
	})
}
