// Package site owns one site of a stoa.toml (one [[site]] block): its
// files, and the per-path rules around them. A request reaches a Site after
// the engine has parsed it and package vhost has picked the site by Host;
// the Site decides, in this order:
//
//  1. who the client is (the peer, or X-Forwarded-For behind a trusted proxy);
//  2. which rule applies: the first whose pattern matches the decoded, clean
//     path, in the order written (no other rule applies);
//  3. access by client address (deny, then allow): 403;
//  4. a CORS preflight: 204 with the policy's answer, before any credentials,
//     which a browser never sends with a preflight;
//  5. basic auth: 401 with a challenge;
//  6. a redirect, an internal rewrite, or try_files; else the path itself,
//     answered by the core (package respond), and with spa a navigation
//     to a missing path gets the app's shell (package spa says which
//     requests are navigations; a try_files fallback that is one HTML
//     file answers only those too);
//  7. response headers: the site's, then the rule's, on 2xx and 3xx
//     answers; CORS lines; the security headers on every answer.
//
// Everything here is a pure function of the request and the configuration,
// like the core it wraps, so one table test runs it without a socket.
//
// A site's files are a tree (view.go): the tree its root leads to, with
// the cache and core built over it. A deploy may swap the root (a symlink
// retargeted, a directory replaced, a release pointer moved); the site
// looks every revalidate and on a reload, and serves the new tree from
// the next request on. Each request is decided by the one tree it entered.
package site

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stoahttp/stoa/internal/basicauth"
	"github.com/stoahttp/stoa/internal/clientip"
	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/cors"
	"github.com/stoahttp/stoa/internal/errpage"
	"github.com/stoahttp/stoa/internal/mimetype"
	"github.com/stoahttp/stoa/internal/releasesrc"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/rules"
	"github.com/stoahttp/stoa/internal/spa"
)

// Options are the settings a site takes from outside its [[site]] block.
type Options struct {
	File       string        // the config file, for error positions
	Index      int           // the site's place in the file, from 1
	Revalidate time.Duration // see content.Options
	// Store holds the bodies and open files of every site, under one
	// budget; nil gives the site one of its own with content's defaults.
	Store   *content.Store
	Trusted *clientip.Set // proxies whose X-Forwarded-For is believed
	Meter   respond.Observer
	// Log gets a line when the site starts serving another tree of its
	// root, and Errors one when its root leads nowhere; nil drops them.
	Log, Errors io.Writer
	// Releases opens a root that is a release store, shared with the
	// other sites; nil gives the site roots of its own.
	Releases *releasesrc.Roots
}

// Site answers the requests of one [[site]] block.
type Site struct {
	name string
	// cur is the tree requests are decided by; see view.go for how it
	// is replaced.
	cur   atomic.Pointer[view]
	roots roots
	// rel is the release store the site serves, nil for a folder, and
	// ownRoots the roots it was opened through when Options had none.
	rel      *releasesrc.Root
	ownRoots *releasesrc.Roots

	trusted *clientip.Set
	meter   respond.Observer
	any     policy // what applies where no rule matches
	rules   []rule
	// plain reports a site with nothing to do around the core but its
	// headers: the common case is kept to a few comparisons.
	plain bool
	// shell is the path a navigation to a missing path gets with spa
	// (the first index file), "" without.
	shell string
}

// policy is what applies to a path: the site's settings with a rule's on
// top of them.
type policy struct {
	allow, deny *clientip.Set
	auth        *basicauth.Realm
	cors        *cors.CORS
	headers     headerSet // on 2xx and 3xx
	always      []byte    // security header lines, on every answer
}

type rule struct {
	pat      *rules.Pattern
	redirect *rules.Template
	status   int
	rewrite  *rules.Template
	try      []*rules.Template
	tryCode  int // the "=4xx" last entry of try_files, or 0
	// navOnly: the fallback of try_files is one HTML file, which answers
	// navigations only (package spa), unless fallback_any.
	navOnly bool
	policy
}

// Name is the name the site goes by in logs and metrics: its first host,
// or "default".
func (s *Site) Name() string { return s.name }

// Cache returns the cache of the tree the site serves now.
func (s *Site) Cache() *content.Cache { return s.cur.Load().cache }

// Error fills resp with the site's error page for status.
func (s *Site) Error(status int, method string, resp *respond.Response) {
	s.cur.Load().Error(status, method, resp)
}

// Serve decides the answer to req from the tree the site serves now,
// without a lease on it: for callers that never retire the site nor swap
// its root (a test, stoa check). The Host switch enters the site instead
// (Enter), and serves with the lease.
func (s *Site) Serve(req *respond.Request, resp *respond.Response) {
	s.serve(s.cur.Load(), req, resp)
}

// serve decides the answer to req from tree t.
func (s *Site) serve(t *view, req *respond.Request, resp *respond.Response) {
	resp.Observer = s.meter
	if s.plain {
		s.servePath(t, req, resp)
		s.finish(req, resp, &s.any)
		return
	}
	client := req.Peer
	if s.trusted != nil && req.XForwardedFor != "" {
		client = clientip.Client(req.Peer, req.XForwardedFor, s.trusted)
		resp.Client = client
	}
	var capsBuf [9]string
	var caps []string
	p, r := &s.any, (*rule)(nil)
	clean, dir, err := resolve.CleanPath(req.Path)
	if err == nil && req.Path != "*" {
		if r, caps = s.match(clean, dirPath(req.Path, clean, dir), capsBuf[:0]); r != nil {
			p = &r.policy
		}
	}
	if !p.admits(client) {
		s.refuse(t, 403, req, resp, p)
		return
	}
	if p.cors != nil && cors.IsPreflight(req.Method, req.Origin, req.ACRequestMethod) {
		resp.Status = 204
		resp.Extra, _ = p.cors.Preflight(resp.Extra, req.Origin, req.ACRequestMethod, req.ACRequestHeaders)
		resp.Extra = append(resp.Extra, p.always...)
		return
	}
	if p.auth != nil && !p.auth.Check(req.Authorization) {
		s.refuse(t, 401, req, resp, p)
		resp.Extra = append(resp.Extra, "WWW-Authenticate: "...)
		resp.Extra = append(resp.Extra, p.auth.Challenge()...)
		resp.Extra = append(resp.Extra, "\r\n"...)
		return
	}
	switch {
	case r == nil:
		s.servePath(t, req, resp)
	case r.redirect != nil:
		redirect(t, req, resp, r, clean, caps)
	case r.rewrite != nil:
		serveAs(t, req, resp, r.rewrite, clean, caps)
	case r.try != nil:
		tryFiles(t, req, resp, r, clean, caps)
	default:
		s.servePath(t, req, resp)
	}
	s.finish(req, resp, p)
}

// match returns the first rule whose pattern matches clean, a cleaned
// path, or slashed, the same path with its final slash when the request
// named a directory ("" otherwise), and the rule's captures, appended to
// caps. A directory is tried in both forms so that "/staging/*" guards
// "/staging/" (its listing, index file and archive), as Caddy's
// "/staging/*" and nginx's "location /staging/" do, while "/docs", which
// matched "/docs/" before, still does.
func (s *Site) match(clean, slashed string, caps []string) (*rule, []string) {
	for i := range s.rules {
		if c, ok := s.rules[i].pat.Match(clean, caps); ok {
			return &s.rules[i], c
		}
		if slashed != "" {
			if c, ok := s.rules[i].pat.Match(slashed, caps); ok {
				return &s.rules[i], c
			}
		}
	}
	return nil, nil
}

// dirPath returns clean with a final slash when the request path raw named
// a directory (dir, from resolve.CleanPath) other than the root, and ""
// otherwise. The slashed form is taken from raw when raw spells it as it
// is, which is the common case and allocates nothing.
func dirPath(raw, clean string, dir bool) string {
	if !dir || clean == "/" {
		return ""
	}
	if len(raw) == len(clean)+1 && raw[len(clean)] == '/' && raw[:len(clean)] == clean {
		return raw
	}
	return clean + "/"
}

// servePath answers req with the file its path names; with spa, a
// navigation to a missing path gets the shell instead.
func (s *Site) servePath(t *view, req *respond.Request, resp *respond.Response) {
	t.core.Serve(req, resp)
	if s.shell == "" || resp.Status != 404 {
		return
	}
	if navigation(req, req.Path) {
		resp.Reset() // a 404 holds nothing
		r2 := *req
		r2.Path, r2.Query, r2.HasQuery = s.shell, "", false
		t.core.Serve(&r2, resp)
	}
	resp.Extra = append(resp.Extra, varyNavigation...)
}

// varyNavigation is sent with the answers to a missing path that a
// navigation would get the shell for, and with the shell: they depend on
// the fields that tell a navigation (spa.Navigation), so a shared cache
// must not give one to the other.
const varyNavigation = "Vary: Accept, Sec-Fetch-Dest\r\n"

// navigation reports whether req, for the clean path, is a navigation
// (package spa).
func navigation(req *respond.Request, path string) bool {
	return spa.Navigation(spa.Request{Method: req.Method, Path: path, Accept: req.Accept, SecFetchDest: req.SecFetchDest})
}

// admits reports whether client may be served: not denied, and allowed
// when there is an allow list. A client of unknown address (a Unix socket)
// is refused by an allow list and let through a deny list.
func (p *policy) admits(client netip.Addr) bool {
	if p.deny != nil && client.IsValid() && p.deny.Contains(client) {
		return false
	}
	return p.allow == nil || (client.IsValid() && p.allow.Contains(client))
}

func (s *Site) refuse(t *view, status int, req *respond.Request, resp *respond.Response, p *policy) {
	t.core.Error(status, req.Method, resp)
	resp.Extra = append(resp.Extra, p.always...)
	if p.cors != nil && req.Origin != "" {
		resp.Extra = p.cors.Actual(resp.Extra, req.Origin)
	}
}

// finish adds the header lines of policy p to the core's answer.
func (s *Site) finish(req *respond.Request, resp *respond.Response, p *policy) {
	if resp.Status >= 200 && resp.Status < 400 {
		p.headers.apply(resp)
	}
	if p.cors != nil && req.Origin != "" {
		resp.Extra = p.cors.Actual(resp.Extra, req.Origin)
	}
	resp.Extra = append(resp.Extra, p.always...)
}

func redirect(t *view, req *respond.Request, resp *respond.Response, r *rule, clean string, caps []string) {
	v := rules.Values{Path: clean, Query: req.Query, Host: req.Host, Caps: caps}
	loc := r.redirect.AppendEscaped(make([]byte, 0, 128), &v)
	// The request's query goes along unless the target says otherwise,
	// as with nginx's rewrite and Caddy's redir.
	if req.HasQuery && !r.redirect.HasQuestionMark() {
		loc = append(loc, '?')
		loc = append(loc, req.Query...)
	}
	t.core.Redirect(r.status, loc, req.Method, resp)
}

// serveAs answers req as if it had asked for the expansion of t.
func serveAs(tr *view, req *respond.Request, resp *respond.Response, t *rules.Template, clean string, caps []string) {
	v := rules.Values{Path: clean, Query: req.Query, Host: req.Host, Caps: caps}
	target := string(t.AppendEscaped(make([]byte, 0, 128), &v))
	r2 := *req
	r2.Path = target
	if i := strings.IndexByte(target, '?'); i >= 0 {
		r2.Path, r2.Query, r2.HasQuery = target[:i], target[i+1:], true
	}
	tr.core.Serve(&r2, resp)
}

// tryFiles serves the first candidate that exists (a file, or a directory
// that answers with its index, a listing or the redirect to its slash
// form), else the last one, as nginx's try_files does.
func tryFiles(tr *view, req *respond.Request, resp *respond.Response, r *rule, clean string, caps []string) {
	v := rules.Values{Path: clean, Query: req.Query, Host: req.Host, Caps: caps}
	var buf [256]byte
	for i, t := range r.try {
		last := i == len(r.try)-1 && r.tryCode == 0
		if last && r.navOnly {
			if navigation(req, clean) {
				serveAs(tr, req, resp, t, clean, caps)
			} else {
				tr.core.Error(404, req.Method, resp)
			}
			resp.Extra = append(resp.Extra, varyNavigation...)
			return
		}
		if last {
			serveAs(tr, req, resp, t, clean, caps)
			return
		}
		cand := t.AppendEscaped(buf[:0], &v)
		switch tr.cache.LookupAt(string(cand), req.NoWait, req.Time()).Kind {
		case resolve.WouldWait:
			resp.WouldWait = true
			return
		case resolve.File, resolve.Listing, resolve.Redirect, resolve.Unavailable, resolve.BadGateway:
			// A file whose storage fails is there: its 503 or 502,
			// not the fallback, answers for it.
			serveAs(tr, req, resp, t, clean, caps)
			return
		}
	}
	tr.core.Error(r.tryCode, req.Method, resp)
}

// New builds the site described by c, opening its root.
func New(c *config.Site, o Options) (*Site, error) {
	key := fmt.Sprintf("site[%d]", o.Index)
	fail := func(pos config.Pos, k, format string, args ...any) error {
		return &config.Error{File: o.File, Pos: pos, Key: k, Msg: fmt.Sprintf(format, args...)}
	}
	dot, err := resolve.ParseDotfiles(c.Dotfiles)
	if err != nil {
		return nil, fail(c.Pos, key+".dotfiles", "%v", err)
	}
	// The file's reader refuses this at the key; --archive and
	// STOA_ARCHIVE, laid over a file or a folder, are refused here, as
	// alone they would do nothing. Turning browse on instead would list
	// folders nobody asked to list.
	if c.Archive && !c.Browse {
		return nil, fail(c.Pos, key+".archive", "--archive offers the folders a listing shows, and browse is off; add --browse (or STOA_BROWSE=true, browse = true)")
	}
	levels := coding.DefaultLevels
	if c.CompressLevels != "" {
		if levels, err = coding.ParseLevels(c.CompressLevels, coding.DefaultLevels); err != nil {
			return nil, fail(c.Pos, key+".compress_levels", "%v", err)
		}
	}
	pages := errpage.Default()
	if c.ErrorPages != "" {
		if pages, err = errpage.Load(c.ErrorPages); err != nil {
			return nil, fail(c.Pos, key+".error_pages", "%v", err)
		}
	}
	s := &Site{name: "default", trusted: o.Trusted, meter: o.Meter}
	if len(c.Hosts) > 0 {
		s.name = c.Hosts[0]
	}
	if o.Trusted != nil && o.Trusted.Len() == 0 {
		s.trusted = nil
	}
	if s.any, err = newPolicy(nil, c, nil); err != nil {
		return nil, fail(c.Pos, key, "%v", err)
	}
	for j := range c.Rules {
		cr := &c.Rules[j]
		r, err := newRule(&s.any, c, cr)
		if err != nil {
			return nil, fail(cr.Pos, fmt.Sprintf("%s.rule[%d]", key, j+1), "%v", err)
		}
		s.rules = append(s.rules, r)
	}
	if c.SPA {
		index := c.Index
		if len(index) == 0 {
			index = config.DefaultList("index")
		}
		s.shell = "/" + index[0]
	}
	s.plain = len(s.rules) == 0 && s.any.allow == nil && s.any.deny == nil &&
		s.any.auth == nil && s.any.cors == nil && s.trusted == nil

	var admit func(dirURL, entryURL string) bool
	if (c.Archive || c.Readme) && len(s.rules) > 0 {
		admit = s.archivable
	}
	root, every, err := s.rootOf(c, &o)
	if err == nil {
		s.roots = roots{
			root:   root,
			every:  every,
			res:    resolve.Options{Index: c.Index, Dotfiles: dot, Browse: c.Browse},
			core:   respond.Options{Pages: pages, Archive: c.Archive, Readme: c.Readme, Admit: admit},
			log:    o.Log,
			errors: o.Errors,
			cache: content.Options{
				CacheControl: cacheControl(c),
				Revalidate:   o.Revalidate,
				// A release's encodings are made at deploy time:
				// its server never compresses.
				DisableCompression: !c.Compress || s.rel != nil,
				DisableSidecars:    !c.Precompressed,
				CompressMinSize:    max(c.CompressMinSize, 1),
				Levels:             levels,
				Store:              o.Store,
			},
		}
		err = s.start()
	}
	if err != nil {
		var re *resolve.RootError
		if errors.As(err, &re) {
			return nil, fail(c.Pos, key+".root", "%q: %s; create it or point root at an existing directory", re.Dir, re.Why)
		}
		return nil, fail(c.Pos, key+".root", "%v", err)
	}
	return s, nil
}

// cacheControl returns the cache_control of c, which is auto for a
// single-page app that does not set it.
func cacheControl(c *config.Site) string {
	if c.SPA && c.CacheControl == "" {
		return spa.Auto
	}
	return c.CacheControl
}

// IsShell reports whether a try_files fallback t is one HTML file (an
// app's shell, such as /index.html), which answers navigations only: a
// template with a placeholder ({path}.html) names a file of the request's
// own, which any request may get.
func IsShell(t *rules.Template) bool {
	lit, ok := t.Literal()
	if i := strings.IndexByte(lit, '?'); i >= 0 {
		lit = lit[:i]
	}
	return ok && strings.HasPrefix(mimetype.ByName(lit), "text/html")
}

func newRule(base *policy, c *config.Site, cr *config.Rule) (rule, error) {
	var r rule
	var err error
	if r.pat, err = rules.ParsePattern(cr.Match); err != nil {
		return r, fmt.Errorf("match: %v", err)
	}
	n := r.pat.NumCaptures()
	switch {
	case cr.Redirect != "":
		if r.redirect, err = rules.ParseTemplate(cr.Redirect, n); err != nil {
			return r, fmt.Errorf("redirect: %v", err)
		}
		r.status = cr.Status
		if r.status == 0 {
			r.status = 301
		}
	case cr.Rewrite != "":
		if r.rewrite, err = rules.ParseTemplate(cr.Rewrite, n); err != nil {
			return r, fmt.Errorf("rewrite: %v", err)
		}
	case len(cr.TryFiles) > 0:
		for i, f := range cr.TryFiles {
			if i == len(cr.TryFiles)-1 && strings.HasPrefix(f, "=") {
				// config checked it is "=4xx".
				r.tryCode, _ = strconv.Atoi(f[1:])
				break
			}
			t, err := rules.ParseTemplate(f, n)
			if err != nil {
				return r, fmt.Errorf("try_files[%d]: %v", i+1, err)
			}
			r.try = append(r.try, t)
		}
		if r.try == nil {
			r.try = []*rules.Template{}
		}
		r.navOnly = r.tryCode == 0 && !cr.FallbackAny && IsShell(r.try[len(r.try)-1])
	}
	r.policy, err = newPolicy(base, c, cr)
	return r, err
}

// newPolicy returns the policy of the site (base nil, cr nil) or of rule
// cr on top of the site's policy base. Objects the rule inherits are
// shared, so that, say, an auth realm's cache of good credentials serves
// every path it guards.
func newPolicy(base *policy, c *config.Site, cr *config.Rule) (policy, error) {
	var p policy
	var corsCfg *config.CORS
	var authCfg *config.BasicAuth
	if base == nil {
		p.allow, p.deny = set(c.Allow), set(c.Deny)
		corsCfg, authCfg = c.CORS, c.BasicAuth
		p.headers = compileHeaders(c.Headers, nil)
	} else {
		p = *base
		if len(cr.Allow) > 0 || len(cr.Deny) > 0 {
			p.allow, p.deny = set(cr.Allow), set(cr.Deny)
		}
		corsCfg, authCfg = cr.CORS, cr.BasicAuth
		p.headers = compileHeaders(c.Headers, cr.Headers)
	}
	var err error
	if corsCfg != nil {
		p.cors, err = cors.New(cors.Policy{Origins: corsCfg.Origins, Methods: corsCfg.Methods, Headers: corsCfg.Headers,
			Expose: corsCfg.Expose, MaxAge: corsCfg.MaxAge.Duration, Credentials: corsCfg.Credentials})
		if err != nil {
			return p, fmt.Errorf("cors: %v", err)
		}
	}
	if authCfg != nil {
		users := make([]basicauth.User, len(authCfg.Users))
		for i, u := range authCfg.Users {
			users[i] = basicauth.User{Name: u.Name, Hash: u.Hash}
		}
		if p.auth, err = basicauth.New(authCfg.Realm, users); err != nil {
			return p, fmt.Errorf("basic_auth: %v", err)
		}
	}
	p.always = securityLines(c.SecurityHeaders, &p.headers)
	return p, nil
}

func set(prefixes []netip.Prefix) *clientip.Set {
	if len(prefixes) == 0 {
		return nil
	}
	return clientip.NewSet(prefixes)
}
