// Package server owns a running stoa: it builds the sites of a
// configuration, opens the listeners and the admin endpoint, and applies a
// new configuration while serving (a reload) without dropping a request:
// the new sites answer requests that start after the switch, requests in
// progress finish with the sites they started with, listeners that the new
// configuration no longer names are closed and new ones are opened.
//
// Settings read once at start (timeouts, max_conns, the access log,
// proxy_protocol) keep their value across reloads; a reload that changes
// one says so.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/admin"
	"github.com/stoahttp/stoa/internal/clientip"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/metrics"
	"github.com/stoahttp/stoa/internal/releasesrc"
	"github.com/stoahttp/stoa/internal/site"
	"github.com/stoahttp/stoa/internal/stdhttp"
	"github.com/stoahttp/stoa/internal/systemd"
	"github.com/stoahttp/stoa/internal/vhost"
)

// Loader returns the configuration to serve: the file read again and the
// command line's flags laid over it. Reload calls it.
type Loader func() (*config.Config, error)

// Server is a running stoa.
type Server struct {
	load   Loader
	stdout io.Writer
	stderr io.Writer

	eng    *engine.Server
	loop   loopEngine // engine = "loop": plain HTTP/1.1 listeners; nil otherwise
	sw     *vhost.Switch
	reg    *metrics.Registry
	logger *accesslog.Logger
	panics *guard.Panics // of every protocol, logged to stderr
	errc   chan error
	ready  atomic.Bool

	mu        sync.Mutex     // serializes Reload and Shutdown
	first     *config.Config // at start: restart-only settings come from it
	cfg       *config.Config
	sites     []*builtSite
	store     *content.Store    // bodies and open files of every site, kept across reloads
	releases  *releasesrc.Roots // the release stores sites serve, and their disk cache
	listeners []*listener
	certs     atomic.Pointer[certSource]
	adminSrv  *http.Server
	adminAddr string
	// inherited are the listening sockets systemd passed (socket
	// activation); the configuration decides their roles (systemd.Assign).
	inherited []*systemd.Socket
}

// builtSite is a site and the configuration it was built from, so that a
// reload keeps a site whose block did not change, with its warm cache.
type builtSite struct {
	cfg  config.Site
	opts site.Options
	site *site.Site
}

// Start builds the configuration load returns and starts serving it, on
// the sockets inherited from systemd for the roles they take, and on
// sockets of its own for the others.
func Start(load Loader, stdout, stderr io.Writer, inherited ...*systemd.Socket) (*Server, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	plan, err := systemd.Assign(inherited, want(cfg))
	if err != nil {
		return nil, err
	}
	format, err := accesslog.ParseFormat(cfg.LogFormat)
	if err != nil {
		return nil, fmt.Errorf("log_format: %v", err)
	}
	logger, err := accesslog.Open(cfg.AccessLog, format)
	if err != nil {
		return nil, err
	}
	s := &Server{load: load, stdout: stdout, stderr: stderr, logger: logger,
		panics: guard.New(stderr), errc: make(chan error, 16), store: content.NewStore(storeOptions(cfg)),
		inherited: inherited}
	s.releases = releasesrc.NewRoots(cfg.CacheDir, int64(cfg.CacheDirSize), nil, func(format string, args ...any) {
		fmt.Fprintf(stderr, "stoa: "+format+"\n", args...)
	})
	if cfg.Admin != "" || plan.Admin != nil {
		s.reg = metrics.New()
	}
	sites, table, err := s.build(cfg, nil)
	if err != nil {
		logger.Close()
		s.releases.Close()
		return nil, err
	}
	s.sw = vhost.NewSwitch(table)
	ec := engineConfig(cfg, logger, s.reg != nil)
	ec.Panics = s.panics
	s.eng = engine.New(s.sw, ec)
	if cfg.Engine == "loop" {
		if s.loop, err = newLoopEngine(s.sw, s.eng); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	s.first, s.cfg, s.sites = cfg, cfg, sites
	s.setSources()
	if tlsWanted(cfg) {
		src, err := s.buildCerts(cfg, nil)
		if err != nil {
			s.closeAll()
			return nil, err
		}
		s.certs.Store(src)
	}
	if err := s.openListeners(cfg, plan); err != nil {
		s.closeAll()
		return nil, err
	}
	s.startACME(s.certs.Load())
	// Ready before the admin address is announced: whoever reads that
	// line may ask /readyz at once, and the listeners already serve.
	s.ready.Store(true)
	if err := s.startAdmin(cfg.Admin, plan.Admin); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

// engineConfig is the connection engine's part of cfg.
func engineConfig(cfg *config.Config, log *accesslog.Logger, metrics bool) engine.Config {
	return engine.Config{
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.Duration,
		IdleTimeout:       cfg.IdleTimeout.Duration,
		WriteTimeout:      cfg.WriteTimeout.Duration,
		MaxConns:          cfg.MaxConns,
		Log:               log,
		Metrics:           metrics,
		ProxyProtocol:     cfg.ProxyProtocol,
		TrustedProxies:    clientip.NewSet(cfg.TrustedProxies),
	}
}

// Errors delivers errors that stop a listener.
func (s *Server) Errors() <-chan error { return s.errc }

// ReopenLog reopens the access log file (after rotation).
func (s *Server) ReopenLog() error { return s.logger.Reopen() }

// build makes the sites of cfg, reusing those of old whose block did not
// change, and the host table that routes to them.
func (s *Server) build(cfg *config.Config, old []*builtSite) ([]*builtSite, *vhost.Table, error) {
	if len(cfg.Sites) == 0 {
		return nil, nil, errors.New("no site to serve: add a [[site]] block with a root")
	}
	var built []*builtSite
	fail := func(err error) ([]*builtSite, *vhost.Table, error) {
		for _, b := range built {
			if !contains(old, b) {
				b.site.Close()
			}
		}
		return nil, nil, err
	}
	trusted := clientip.NewSet(cfg.TrustedProxies)
	for i := range cfg.Sites {
		c := cfg.Sites[i]
		opts := site.Options{
			File:       cfg.File,
			Index:      i + 1,
			Revalidate: cfg.Revalidate.Duration,
			Store:      s.store,
			Trusted:    trusted,
			Log:        s.stdout,
			Errors:     s.stderr,
			Releases:   s.releases,
		}
		if b := reusable(old, &c, &opts); b != nil {
			built = append(built, b)
			continue
		}
		if s.reg != nil {
			opts.Meter = s.reg.Site(siteName(&c))
		}
		st, err := site.New(&c, opts)
		if err != nil {
			return fail(err)
		}
		built = append(built, &builtSite{cfg: c, opts: opts, site: st})
	}
	def := 0
	for i := range cfg.Sites {
		if cfg.Sites[i].Default {
			def = i
		}
	}
	table := vhost.NewTable(built[def].site)
	for i, b := range built {
		for _, h := range cfg.Sites[i].Hosts {
			if err := table.Add(h, b.site); err != nil {
				return fail(&config.Error{File: cfg.File, Pos: cfg.Sites[i].Pos, Key: fmt.Sprintf("site[%d].hosts", i+1), Msg: err.Error()})
			}
		}
	}
	return built, table, nil
}

// reusable returns the site of old built from the same block with the same
// options, if any.
func reusable(old []*builtSite, c *config.Site, o *site.Options) *builtSite {
	want, wantOpts := unplaced(*c), unplacedOptions(*o)
	for _, b := range old {
		if reflect.DeepEqual(unplaced(b.cfg), want) && reflect.DeepEqual(unplacedOptions(b.opts), wantOpts) {
			return b
		}
	}
	return nil
}

// unplaced returns a copy of c without the positions of its blocks, which
// move when lines above them change and say nothing of what the site does.
// The copy has its own rules: the kept configuration is not touched.
func unplaced(c config.Site) config.Site {
	c.Pos = config.Pos{}
	c.Rules = slices.Clone(c.Rules)
	for i := range c.Rules {
		c.Rules[i].Pos = config.Pos{}
	}
	return c
}

// unplacedOptions is o without what names the site's place (its index in
// the file) and its meter (the same one for the same name).
func unplacedOptions(o site.Options) site.Options {
	o.Index, o.Meter = 0, nil
	return o
}

func contains(list []*builtSite, b *builtSite) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

// siteName is the name of a site in metrics: its first host, or "default".
func siteName(c *config.Site) string {
	if len(c.Hosts) > 0 {
		return c.Hosts[0]
	}
	return "default"
}

// storeOptions sizes the store all sites share: one memory budget and
// one open-file budget, not a share per site, so a hot site may use all
// of it and adding a site leaves the others' entries where they are.
func storeOptions(cfg *config.Config) content.StoreOptions {
	o := content.StoreOptions{MemoryBudget: max(int64(cfg.CacheSize), 1), MaxOpenFiles: cfg.MaxOpenFiles, Sweep: cfg.Revalidate.Duration}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = -1
	}
	return o
}

func (s *Server) setSources() {
	if s.reg == nil {
		return
	}
	sites := s.sites
	s.reg.SetSources(metrics.Sources{
		Cache: func() []metrics.CacheStats {
			out := make([]metrics.CacheStats, 0, len(sites))
			for _, b := range sites {
				st := b.site.Cache().Stats()
				out = append(out, metrics.CacheStats{Site: b.site.Name(), Hits: st.Hits, Misses: st.Misses,
					Bytes: st.Bytes, Files: st.Files, Compressions: st.Compressions})
			}
			return out
		},
		OpenConns: s.openConns,
		Panics:    s.panics.Count,
		Releases: func() []metrics.ReleaseStats {
			var out []metrics.ReleaseStats
			for _, b := range sites {
				if r := b.site.Release(); r != nil {
					out = append(out, releaseStats(b.site, r))
				}
			}
			return out
		},
	})
}

// releaseStats are the numbers of site st, served from release store r.
func releaseStats(st *site.Site, r *releasesrc.Root) metrics.ReleaseStats {
	b := r.Blobs().Stats()
	return metrics.ReleaseStats{
		Site: st.Name(), Release: r.Follower().Tree().Current.ID,
		MemoryHits: st.Cache().Stats().Hits, DiskHits: b.DiskHits.Load(), Fetched: b.Fetches.Load(),
		Bytes: b.Bytes.Load(), Seconds: time.Duration(b.Nanos.Load()).Seconds(),
		Corrupt: b.Corrupt.Load(), Missing: b.Missing.Load(), Failed: b.Failed.Load(),
		Unavailable: b.Unavailable.Load(), PointerErrors: r.Follower().Failed(),
		Ranged: b.Ranged.Load(), RangedBytes: b.RangedBytes.Load(),
	}
}

// want is what cfg asks to listen on, for giving the inherited sockets
// their roles.
func want(cfg *config.Config) systemd.Want {
	return systemd.Want{HTTP: cfg.Listen, HTTPS: cfg.HTTPS, TLS: tlsWanted(cfg), HTTP3: cfg.HTTP3, Admin: cfg.Admin}
}

// openListeners opens the listeners of cfg and plan that are not open yet
// and closes those they no longer name. An address may be named more than
// once ("127.0.0.1:0" twice is two ports); each name keeps its listener.
func (s *Server) openListeners(cfg *config.Config, plan systemd.Plan) error {
	have := make(map[string][]*listener)
	for _, ln := range s.listeners {
		have[ln.key()] = append(have[ln.key()], ln)
	}
	var next, opened []*listener
	for _, w := range wanted(cfg, plan) {
		if ls := have[w.key()]; len(ls) > 0 {
			next = append(next, ls[0])
			have[w.key()] = ls[1:]
			continue
		}
		l, err := listen(w.addr, w.sock)
		if err != nil {
			for _, o := range opened {
				o.l.Close()
			}
			return err
		}
		ln := &listener{kind: w.kind, addr: w.addr, l: l, sock: w.sock, quic: w.quic}
		opened = append(opened, ln)
		next = append(next, ln)
	}
	for _, ls := range have {
		for _, ln := range ls {
			s.stop(ln)
			fmt.Fprintf(s.stdout, "stoa: stopped listening at %s\n", urlOf(ln.l, ln.kind))
		}
	}
	s.listeners = next
	// The redirect needs the port HTTPS listens on, so HTTPS goes first.
	for _, kind := range []string{"https", "http", "redirect"} {
		for _, ln := range opened {
			if ln.kind != kind {
				continue
			}
			switch kind {
			case "https":
				if err := s.serveHTTPS(cfg, ln); err != nil {
					return err
				}
			case "redirect":
				s.serveRedirect(ln)
			default:
				var lc engine.ListenerConfig
				lc.H2C = cfg.H2C
				serve := func() error { return s.eng.ServeListener(ln.l, lc) }
				if s.onLoop(ln) {
					ln.loop = true
					serve = func() error { return s.loop.Serve(ln.l) }
				}
				go func() {
					err := serve()
					if err != nil && !errors.Is(err, engine.ErrServerClosed) && !errors.Is(err, engine.ErrListenerStopped) {
						s.errc <- err
					}
				}()
			}
		}
	}
	for _, ln := range opened {
		note := ""
		if ln.kind == "redirect" {
			note = " (redirects to https)"
		}
		if ln.sock != nil {
			note += fmt.Sprintf(" (socket from systemd, fd %d)", ln.sock.FD)
		}
		fmt.Fprintf(s.stdout, "stoa: serving %s at %s%s\n", describe(cfg), urlOf(ln.l, ln.kind), note)
	}
	return nil
}

// httpsPort is the port of the first HTTPS listener, 443 without one.
func (s *Server) httpsPort() int {
	for _, ln := range s.listeners {
		if ln.kind == "https" && ln.l != nil {
			return ln.l.Addr().(*net.TCPAddr).Port
		}
	}
	return 443
}

// loopEngine is the event-loop engine (package evloop, Linux only).
type loopEngine interface {
	Serve(l net.Listener) error
	StopListener(l net.Listener) error
	Shutdown(ctx context.Context) error
	OpenConns() int
}

// onLoop reports whether the event loops serve the plain listener ln:
// with engine = "loop", for TCP listeners that speak HTTP/1.1 alone. h2c
// and the PROXY protocol stay with package engine, which has them. A site
// served from a release store is served on the loops too: the loop asks
// it not to wait (respond.Request.NoWait), and an answer that needs a
// fetch goes to a goroutine (package evloop).
func (s *Server) onLoop(ln *listener) bool {
	if s.loop == nil || s.first.H2C || s.first.ProxyProtocol {
		return false
	}
	_, tcp := ln.l.(*net.TCPListener)
	return tcp
}

// openConns counts the connections of both engines.
func (s *Server) openConns() int {
	n := s.eng.OpenConns()
	if s.loop != nil {
		n += s.loop.OpenConns()
	}
	return n
}

// listen opens a listener on addr, or on sock when systemd passed one.
func listen(addr string, sock *systemd.Socket) (net.Listener, error) {
	if sock != nil {
		return sock.Listener()
	}
	return engine.Listen(addr)
}

// listener is an open listener and the address it was opened for.
type listener struct {
	kind  string // "http", "https" or "redirect" (plain, to https)
	addr  string // for an inherited socket, "systemd fd N"
	sock  *systemd.Socket
	quic  *systemd.Socket // https: the inherited UDP socket of its port, for HTTP/3
	l     net.Listener
	h3    *stdhttp.HTTP3Server // https: HTTP/3 on the same port, when on
	plain *http.Server         // redirect
	loop  bool                 // served by the event loops (engine = "loop")
}

func (ln *listener) key() string { return ln.kind + " " + ln.addr }

// stop closes the listener; connections it accepted go on.
func (s *Server) stop(ln *listener) {
	switch {
	case ln.kind == "redirect":
		ln.plain.Close()
	case ln.loop:
		s.loop.StopListener(ln.l)
	default:
		s.eng.StopListener(ln.l)
	}
	if ln.h3 != nil {
		ln.h3.Close()
	}
}

// wanted lists the listeners cfg asks for, in order: for a role with
// inherited sockets (plan), those sockets instead of cfg's addresses.
func wanted(cfg *config.Config, plan systemd.Plan) []listener {
	var out []listener
	plain := "http"
	if cfg.RedirectHTTP && tlsWanted(cfg) {
		plain = "redirect"
	}
	out = appendWanted(out, plain, cfg.Listen, plan.HTTP)
	if tlsWanted(cfg) {
		out = appendWanted(out, "https", cfg.HTTPS, plan.HTTPS)
	}
	// Each UDP socket goes to the first HTTPS listener of its port: one
	// HTTP/3 server reads it.
	for _, q := range plan.QUIC {
		for i := range out {
			addr := out[i].addr
			if out[i].sock != nil {
				addr = out[i].sock.Addr
			}
			if out[i].kind == "https" && cfg.HTTP3 && out[i].quic == nil && samePort(addr, q.Addr) {
				out[i].quic = q
				break
			}
		}
	}
	return out
}

// appendWanted adds listeners of kind: the inherited sockets when there
// are any, else addrs.
func appendWanted(out []listener, kind string, addrs []string, socks []*systemd.Socket) []listener {
	if len(socks) > 0 {
		for _, sk := range socks {
			out = append(out, listener{kind: kind, addr: sockKey(sk), sock: sk})
		}
		return out
	}
	for _, a := range addrs {
		out = append(out, listener{kind: kind, addr: a})
	}
	return out
}

// sockKey stands for an inherited socket where an address would be, so
// that a reload keeps the listener on it.
func sockKey(sk *systemd.Socket) string { return fmt.Sprintf("systemd fd %d", sk.FD) }

// samePort reports whether the socket address have has the port of want.
func samePort(want, have string) bool {
	_, wp, err1 := net.SplitHostPort(want)
	_, hp, err2 := net.SplitHostPort(have)
	return err1 == nil && err2 == nil && wp == hp
}

// describe names what is served, default site first.
func describe(cfg *config.Config) string {
	def := 0
	for i := range cfg.Sites {
		if cfg.Sites[i].Default {
			def = i
		}
	}
	if len(cfg.Sites) == 1 {
		return cfg.Sites[def].Root
	}
	return fmt.Sprintf("%s (default) and %d more sites", cfg.Sites[def].Root, len(cfg.Sites)-1)
}

// startAdmin serves the admin endpoint on addr, or on sock when systemd
// passed one for it.
func (s *Server) startAdmin(addr string, sock *systemd.Socket) error {
	if sock != nil {
		addr = sockKey(sock)
	}
	if addr == s.adminAddr {
		return nil
	}
	if s.adminSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.adminSrv.Shutdown(ctx)
		cancel()
		s.adminSrv, s.adminAddr = nil, ""
	}
	if addr == "" {
		return nil
	}
	l, err := listen(addr, sock)
	if err != nil {
		return fmt.Errorf("admin: %v", err)
	}
	o := admin.Options{Ready: s.ready.Load, Reload: s.adminReload}
	if s.reg != nil {
		o.Metrics = s.reg.Handler()
	}
	s.adminSrv = admin.Serve(l, admin.Handler(o))
	s.adminAddr = addr
	fmt.Fprintf(s.stdout, "stoa: admin at %s (metrics, healthz, readyz, reload)\n", urlOf(l, "http"))
	return nil
}

// adminReload is Reload for POST /reload, which answers 422 when the file
// is at fault (unreadable, missing or invalid) and 500 otherwise. A refusal
// is logged as SIGHUP's is: the operator watching the log must see it too.
func (s *Server) adminReload() error {
	err := s.Reload()
	if err == nil {
		fmt.Fprintln(s.stdout, "stoa: reloaded (POST /reload)")
		return nil
	}
	fmt.Fprintf(s.stderr, "stoa: reload (POST /reload) refused, still serving the previous configuration:\n%v\n", err)
	var one *config.Error
	var many config.Errors
	var unreadable *config.UnreadableError
	if errors.As(err, &one) || errors.As(err, &many) || errors.As(err, &unreadable) {
		return admin.InvalidConfig(err)
	}
	return err
}

// Reload reads the configuration again and applies it. An invalid one
// changes nothing: the error is returned and the old one keeps serving.
func (s *Server) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.reload()
	if s.reg != nil {
		s.reg.Reloaded(err == nil)
	}
	return err
}

func (s *Server) reload() error {
	cfg, err := s.load()
	if err != nil {
		return err
	}
	plan, err := systemd.Assign(s.inherited, want(cfg))
	if err != nil {
		return err
	}
	if (cfg.Admin != "" || plan.Admin != nil) && s.reg == nil {
		return fmt.Errorf("admin: the admin endpoint was off at start; turning it on takes a restart")
	}
	sites, table, err := s.build(cfg, s.sites)
	if err != nil {
		return err
	}
	if o := storeOptions(cfg); o != storeOptions(s.cfg) {
		s.store.SetLimits(o.MemoryBudget, o.MaxOpenFiles)
	}
	var src *certSource
	if tlsWanted(cfg) {
		if src, err = s.buildCerts(cfg, s.certs.Load()); err != nil {
			for _, b := range sites {
				if !contains(s.sites, b) {
					b.site.Close()
				}
			}
			return err
		}
	}
	oldCerts := s.certs.Swap(src)
	if err := s.openListeners(cfg, plan); err != nil {
		s.certs.Store(oldCerts)
		if src != nil && src.fresh {
			src.acme.Stop()
		}
		for _, b := range sites {
			if !contains(s.sites, b) {
				b.site.Close()
			}
		}
		return err
	}
	if oldCerts != nil && oldCerts.acme != nil && (src == nil || src.acme != oldCerts.acme) {
		oldCerts.acme.Stop()
	}
	s.startACME(src)
	if err := s.startAdmin(cfg.Admin, plan.Admin); err != nil {
		fmt.Fprintln(s.stderr, "stoa: reload:", err)
	}
	s.sw.Store(table)
	old := s.sites
	s.cfg, s.sites = cfg, sites
	// A site kept as it was looks at its root now: a deploy that swapped
	// it is served from the reload on, not a revalidate later.
	for _, b := range sites {
		if contains(old, b) {
			b.site.Recheck()
		}
	}
	s.setSources()
	// A retired site releases its root and files as soon as the requests
	// it is deciding are done (site.Site.Close); responses still sending
	// hold the files they send, each closed when its response is done.
	for _, b := range old {
		if !contains(sites, b) {
			b.site.Close()
		}
	}
	for _, k := range config.RestartOnly(s.first, cfg) {
		fmt.Fprintf(s.stderr, "stoa: reload: %s changed; the new value takes effect at restart\n", k)
	}
	return nil
}

// ShutdownTimeout is how long responses in progress may take to finish
// when the server is told to stop: shutdown_timeout of the configuration
// now served (the file's, or the flag's when given).
func (s *Server) ShutdownTimeout() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.ShutdownTimeout.Duration
}

// DrainDelay is how long the server goes on serving, with /readyz
// answering 503, between a stop signal and Shutdown: drain_delay of the
// configuration now served.
func (s *Server) DrainDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.DrainDelay.Duration
}

// Unready makes /readyz answer 503 from now on while every listener goes
// on serving, new connections included: the start of a drain, so that
// load balancers take this server out of rotation before Shutdown stops
// accepting. Nothing makes it ready again.
func (s *Server) Unready() { s.ready.Store(false) }

// Shutdown stops accepting, lets responses in progress finish until ctx is
// done, and closes everything.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready.Store(false)
	// HTTP/2 and HTTP/3 connections wind down with GOAWAY; HTTP/1.1 ones
	// finish their response and close.
	for _, ln := range s.listeners {
		switch {
		case ln.plain != nil:
			go ln.plain.Shutdown(ctx)
		}
		if ln.h3 != nil {
			go ln.h3.Shutdown(ctx)
		}
	}
	var loopErr error
	loopDone := make(chan struct{})
	go func() {
		if s.loop != nil {
			loopErr = s.loop.Shutdown(ctx)
		}
		close(loopDone)
	}()
	err := s.eng.Shutdown(ctx)
	<-loopDone
	if err == nil {
		err = loopErr
	}
	s.closeAll()
	return err
}

// closeAll releases what Start opened; the engine must be stopped.
func (s *Server) closeAll() {
	for _, ln := range s.listeners {
		ln.l.Close()
		if ln.h3 != nil {
			ln.h3.Close()
		}
		if ln.plain != nil {
			ln.plain.Close()
		}
	}
	s.listeners = nil
	if src := s.certs.Load(); src != nil && src.acme != nil {
		src.acme.Stop()
	}
	if s.adminSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.adminSrv.Shutdown(ctx)
		cancel()
	}
	for _, b := range s.sites {
		b.site.Close()
	}
	s.releases.Close()
	s.logger.Close()
}

// urlOf returns the address a person can open for listener l.
func urlOf(l net.Listener, kind string) string {
	a := l.Addr()
	if a.Network() == "unix" {
		return "unix:" + a.String()
	}
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http://"
	if kind == "https" {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port) + "/"
}

// Check builds every site of cfg, as Start would, and closes them again: it
// finds what the file alone cannot tell, such as a root that does not exist
// or a rule pattern that does not parse. The errors come back as
// config.Errors, in file order.
func Check(cfg *config.Config) error {
	var errs config.Errors
	store := content.NewStore(content.StoreOptions{MemoryBudget: 1 << 20, MaxOpenFiles: -1})
	releases := releasesrc.NewRoots("", int64(cfg.CacheDirSize), nil, func(string, ...any) {})
	defer releases.Close()
	for i := range cfg.Sites {
		c := cfg.Sites[i]
		st, err := site.New(&c, site.Options{File: cfg.File, Index: i + 1, Revalidate: time.Second, Store: store, Releases: releases})
		if err != nil {
			var ce *config.Error
			if errors.As(err, &ce) {
				errs = append(errs, ce)
			} else {
				errs = append(errs, &config.Error{File: cfg.File, Pos: c.Pos, Key: fmt.Sprintf("site[%d]", i+1), Msg: err.Error()})
			}
			continue
		}
		st.Close()
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
