package site

import (
	"encoding/base64"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/basicauth"
	"github.com/stoahttp/stoa/internal/clientip"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

// tree writes files (name -> content) below a new root.
func tree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, files)
	return root
}

func writeFiles(t testing.TB, root string, files map[string]string) {
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var testFiles = map[string]string{
	"index.html":       "<h1>home</h1>",
	"assets/app.css":   "body{}",
	"posts/hello.html": "hello post",
	"new/page.html":    "new page",
	"fonts/a.woff2":    "font",
	"staging/s.txt":    "secret staging",
	"admin/a.txt":      "admin only",
}

// answer is a response as a test reads it.
type answer struct {
	status int
	header string // every header line, "Name: value\r\n"
	body   string
}

func (a answer) has(line string) bool { return strings.Contains(a.header, line+"\r\n") }

func get(t *testing.T, s *Site, req respond.Request) answer {
	t.Helper()
	if req.Method == "" {
		req.Method = "GET"
	}
	if req.Path == "" {
		req.Path = "/"
	}
	if !req.Peer.IsValid() {
		req.Peer = netip.MustParseAddr("192.0.2.10")
	}
	var resp respond.Response
	s.Serve(&req, &resp)
	a := answer{status: resp.Status, header: string(resp.Head.HTTP1()) + string(resp.Extra), body: string(resp.Body)}
	if resp.File != nil {
		b, _ := io.ReadAll(io.NewSectionReader(resp.File, resp.FileOff, resp.FileLen))
		a.body = string(b)
	}
	if resp.Handle != nil {
		resp.Handle.Release()
	}
	return a
}

func newSite(t testing.TB, c config.Site) *Site {
	t.Helper()
	if c.Root == "" {
		c.Root = tree(t, testFiles)
	}
	if c.Index == nil {
		c.Index = []string{"index.html"}
	}
	if c.Dotfiles == "" {
		c.Dotfiles = "hide"
	}
	if c.SecurityHeaders == "" {
		c.SecurityHeaders = "basic"
	}
	c.Compress, c.Precompressed = true, true
	s, err := New(&c, Options{File: "stoa.toml", Index: 1, Revalidate: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ops(kv ...string) []config.HeaderOp {
	var out []config.HeaderOp
	for i := 0; i < len(kv); i += 2 {
		name, op := kv[i], byte('=')
		if name[0] == '+' || name[0] == '-' {
			op, name = name[0], name[1:]
		}
		out = append(out, config.HeaderOp{Op: op, Name: name, Value: kv[i+1]})
	}
	return out
}

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

func TestRuleHeaders(t *testing.T) {
	s := newSite(t, config.Site{
		Headers: ops("X-Site", "1", "X-Both", "site"),
		Rules: []config.Rule{
			{Match: "/assets/*", Headers: ops("Cache-Control", "public, max-age=31536000, immutable", "X-Both", "rule", "-X-Site", "")},
		},
		CacheControl: "no-cache",
	})
	a := get(t, s, respond.Request{Path: "/assets/app.css"})
	if a.status != 200 || !a.has("Cache-Control: public, max-age=31536000, immutable") || a.has("Cache-Control: no-cache") {
		t.Errorf("asset: status %d, header:\n%s\nwant 200 with the rule's Cache-Control only", a.status, a.header)
	}
	if !a.has("X-Both: rule") || a.has("X-Both: site") || strings.Contains(a.header, "X-Site") {
		t.Errorf("asset: rule headers not applied over the site's:\n%s", a.header)
	}
	a = get(t, s, respond.Request{Path: "/index.html"})
	if !a.has("X-Site: 1") || !a.has("X-Both: site") || !a.has("Cache-Control: no-cache") {
		t.Errorf("page outside the rule: header\n%s\nwant the site's headers", a.header)
	}
	// Not on errors: a 404 must not be cached for a year.
	a = get(t, s, respond.Request{Path: "/assets/missing.css"})
	if a.status != 404 || strings.Contains(a.header, "immutable") {
		t.Errorf("missing asset: status %d header\n%s\nwant 404 without the rule's headers", a.status, a.header)
	}
	if !a.has("Referrer-Policy: strict-origin-when-cross-origin") {
		t.Errorf("missing asset: no security header on the error:\n%s", a.header)
	}
}

func TestRuleHeadersOn304(t *testing.T) {
	s := newSite(t, config.Site{Rules: []config.Rule{{Match: "*.css", Headers: ops("Cache-Control", "max-age=60")}}})
	a := get(t, s, respond.Request{Path: "/assets/app.css"})
	etag := ""
	for _, l := range strings.Split(a.header, "\r\n") {
		if v, ok := strings.CutPrefix(l, "ETag: "); ok {
			etag = v
		}
	}
	req := respond.Request{Path: "/assets/app.css"}
	req.Cond.IfNoneMatch = etag
	a = get(t, s, req)
	if a.status != 304 || !a.has("Cache-Control: max-age=60") {
		t.Errorf("304: status %d header\n%s\nwant 304 with the rule's Cache-Control", a.status, a.header)
	}
}

func TestRedirect(t *testing.T) {
	s := newSite(t, config.Site{Rules: []config.Rule{
		{Match: "/old/*", Redirect: "/new/{1}", Status: 301},
		{Match: "/go/*", Redirect: "https://{host}/x/{1}?from=go", Status: 308},
	}})
	for _, tt := range []struct {
		req      respond.Request
		status   int
		location string
	}{
		{respond.Request{Path: "/old/page.html"}, 301, "/new/page.html"},
		{respond.Request{Path: "/old/a%20b.html", Query: "q=1", HasQuery: true}, 301, "/new/a%20b.html?q=1"},
		{respond.Request{Path: "/go/a", Host: "example.com", Query: "q=1", HasQuery: true}, 308, "https://example.com/x/a?from=go"},
		{respond.Request{Path: "/old/%3Fx"}, 301, "/new/%3Fx"},
	} {
		a := get(t, s, tt.req)
		if a.status != tt.status || !a.has("Location: "+tt.location) {
			t.Errorf("%s?%s: status %d header\n%s\nwant %d to %s", tt.req.Path, tt.req.Query, a.status, a.header, tt.status, tt.location)
		}
	}
}

func TestRewrite(t *testing.T) {
	s := newSite(t, config.Site{Rules: []config.Rule{{Match: "/blog/*", Rewrite: "/posts/{1}.html"}}})
	a := get(t, s, respond.Request{Path: "/blog/hello"})
	if a.status != 200 || a.body != "hello post" {
		t.Errorf("rewrite: %d %q, want 200 %q", a.status, a.body, "hello post")
	}
	if a := get(t, s, respond.Request{Path: "/blog/..%2f..%2fsecret"}); a.status == 200 {
		t.Errorf("rewrite with an encoded traversal: %d %q, want no file", a.status, a.body)
	}
}

func TestTryFilesSPA(t *testing.T) {
	s := newSite(t, config.Site{Rules: []config.Rule{
		{Match: "/assets/*", Headers: ops("Cache-Control", "immutable")},
		{Match: "/*", TryFiles: []string{"{path}", "/index.html"}},
	}})
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/", 200, "<h1>home</h1>"},
		{"/dashboard/settings", 200, "<h1>home</h1>"},
		{"/new/page.html", 200, "new page"},
		{"/assets/app.css", 200, "body{}"},
		{"/assets/missing.js", 404, ""},
	} {
		// A browser's navigation: the fallback, an HTML file,
		// answers navigations only (TestShellFallbackNavigationOnly).
		a := get(t, s, respond.Request{Path: tt.path, Accept: "text/html"})
		if a.status != tt.status || (tt.body != "" && a.body != tt.body) {
			t.Errorf("%s: %d %q, want %d %q", tt.path, a.status, a.body, tt.status, tt.body)
		}
	}
	s = newSite(t, config.Site{Rules: []config.Rule{{Match: "/*", TryFiles: []string{"{path}", "{path}.html", "=404"}}}})
	if a := get(t, s, respond.Request{Path: "/new/page"}); a.status != 200 || a.body != "new page" {
		t.Errorf("/new/page with {path}.html: %d %q", a.status, a.body)
	}
	if a := get(t, s, respond.Request{Path: "/nothing"}); a.status != 404 {
		t.Errorf("/nothing with =404: %d", a.status)
	}
}

func TestFirstMatchWins(t *testing.T) {
	s := newSite(t, config.Site{Rules: []config.Rule{
		{Match: "/assets/*", Headers: ops("X-Rule", "first")},
		{Match: "*.css", Headers: ops("X-Rule", "second")},
	}})
	if a := get(t, s, respond.Request{Path: "/assets/app.css"}); !a.has("X-Rule: first") || a.has("X-Rule: second") {
		t.Errorf("two matching rules: header\n%s\nwant only the first rule's", a.header)
	}
}

func TestCORS(t *testing.T) {
	s := newSite(t, config.Site{Rules: []config.Rule{{Match: "/fonts/*", CORS: &config.CORS{
		Origins: []string{"https://app.example"}, Methods: []string{"GET", "HEAD"}, Headers: []string{"X-Token"},
		MaxAge: config.Duration{Duration: time.Hour}}}}})
	pre := respond.Request{Method: "OPTIONS", Path: "/fonts/a.woff2", Origin: "https://app.example",
		ACRequestMethod: "GET", ACRequestHeaders: "x-token"}
	a := get(t, s, pre)
	if a.status != 204 || !a.has("Access-Control-Allow-Origin: https://app.example") || !a.has("Access-Control-Max-Age: 3600") {
		t.Errorf("preflight: %d\n%s", a.status, a.header)
	}
	a = get(t, s, respond.Request{Path: "/fonts/a.woff2", Origin: "https://app.example"})
	if a.status != 200 || !a.has("Access-Control-Allow-Origin: https://app.example") || !strings.Contains(a.header, "Vary: Origin") {
		t.Errorf("actual request: %d\n%s", a.status, a.header)
	}
	a = get(t, s, respond.Request{Path: "/fonts/a.woff2", Origin: "https://evil.example"})
	if strings.Contains(a.header, "Access-Control-Allow-Origin") {
		t.Errorf("other origin allowed:\n%s", a.header)
	}
	a = get(t, s, respond.Request{Path: "/index.html", Origin: "https://app.example"})
	if strings.Contains(a.header, "Access-Control") {
		t.Errorf("CORS outside its rule:\n%s", a.header)
	}
}

func TestBasicAuth(t *testing.T) {
	hash, err := basicauth.Hash([]byte("s3cret:x"), "argon2id")
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, config.Site{Rules: []config.Rule{{Match: "/staging/*", BasicAuth: &config.BasicAuth{
		Realm: "staging", Users: []config.User{{Name: "alice", Hash: hash}}}}}})
	basic := func(up string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(up)) }
	for _, tt := range []struct {
		auth   string
		status int
	}{
		{"", 401},
		{basic("alice:wrong"), 401},
		{basic("bob:s3cret:x"), 401},
		{basic("alice:s3cret:x"), 200},
		{basic("alice:s3cret:x"), 200}, // from the cache of good credentials
	} {
		a := get(t, s, respond.Request{Path: "/staging/s.txt", Authorization: tt.auth})
		if a.status != tt.status {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, a.status, tt.status)
		}
		if a.status == 401 && (!a.has(`WWW-Authenticate: Basic realm="staging", charset="UTF-8"`) || strings.Contains(a.body, "secret staging")) {
			t.Errorf("401: header\n%s\nbody %q", a.header, a.body)
		}
	}
	if a := get(t, s, respond.Request{Path: "/index.html"}); a.status != 200 {
		t.Errorf("page outside the auth rule: %d", a.status)
	}
	// The rule matches the clean path: no spelling gets around it.
	for _, p := range []string{"/staging//s.txt", "/x/../staging/s.txt", "/%73taging/s.txt", "/staging/./s.txt"} {
		if a := get(t, s, respond.Request{Path: p}); a.status == 200 {
			t.Errorf("%s without credentials: %d %q", p, a.status, a.body)
		}
	}
}

func TestAllowDeny(t *testing.T) {
	s := newSite(t, config.Site{
		Deny:  prefixes("198.51.100.0/24"),
		Rules: []config.Rule{{Match: "/admin/*", Allow: prefixes("10.0.0.0/8")}},
	})
	for _, tt := range []struct {
		peer, path string
		status     int
	}{
		{"192.0.2.1", "/index.html", 200},
		{"198.51.100.7", "/index.html", 403},
		{"192.0.2.1", "/admin/a.txt", 403},
		{"10.1.2.3", "/admin/a.txt", 200},
		{"::ffff:10.1.2.3", "/admin/a.txt", 200},
	} {
		a := get(t, s, respond.Request{Path: tt.path, Peer: netip.MustParseAddr(tt.peer)})
		if a.status != tt.status {
			t.Errorf("%s from %s: %d, want %d", tt.path, tt.peer, a.status, tt.status)
		}
	}
}

func TestTrustedProxy(t *testing.T) {
	c := config.Site{Rules: []config.Rule{{Match: "/admin/*", Allow: prefixes("10.0.0.0/8")}}}
	c.Root = tree(t, testFiles)
	c.Index, c.Dotfiles, c.SecurityHeaders = []string{"index.html"}, "hide", "basic"
	s, err := New(&c, Options{Revalidate: time.Second,
		Trusted: clientip.NewSet(prefixes("127.0.0.1/32"))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range []struct {
		peer, xff string
		status    int
	}{
		{"127.0.0.1", "10.9.9.9", 200},
		{"127.0.0.1", "10.9.9.9, 203.0.113.5", 403}, // the client forged the first entry
		{"203.0.113.5", "10.9.9.9", 403},            // an untrusted peer is not believed
	} {
		a := get(t, s, respond.Request{Path: "/admin/a.txt", Peer: netip.MustParseAddr(tt.peer), XForwardedFor: tt.xff})
		if a.status != tt.status {
			t.Errorf("peer %s X-Forwarded-For %q: %d, want %d", tt.peer, tt.xff, a.status, tt.status)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, tt := range []struct {
		level   string
		want    []string
		notWant []string
	}{
		{"basic", []string{"Referrer-Policy: strict-origin-when-cross-origin", "X-Content-Type-Options: nosniff"}, []string{"X-Frame-Options"}},
		{"strict", []string{"X-Frame-Options: DENY", "Content-Security-Policy: frame-ancestors 'none'", "Cross-Origin-Opener-Policy: same-origin"}, nil},
		{"off", nil, []string{"Referrer-Policy"}},
	} {
		s := newSite(t, config.Site{SecurityHeaders: tt.level})
		for _, p := range []string{"/index.html", "/missing"} {
			a := get(t, s, respond.Request{Path: p})
			for _, w := range tt.want {
				if !a.has(w) {
					t.Errorf("%s %s: no %q in\n%s", tt.level, p, w, a.header)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(a.header, w) {
					t.Errorf("%s %s: unexpected %q in\n%s", tt.level, p, w, a.header)
				}
			}
		}
	}
	// A site's own value replaces the default one.
	s := newSite(t, config.Site{Headers: ops("Referrer-Policy", "no-referrer")})
	if a := get(t, s, respond.Request{Path: "/index.html"}); !a.has("Referrer-Policy: no-referrer") || strings.Count(a.header, "Referrer-Policy") != 1 {
		t.Errorf("site Referrer-Policy: header\n%s", a.header)
	}
}

func TestRuleErrorsNamePosition(t *testing.T) {
	c := config.Site{Root: t.TempDir(), Index: []string{"index.html"}, Dotfiles: "hide",
		Rules: []config.Rule{{}, {Pos: config.Pos{Line: 12, Col: 1}, Match: "/a/*", Redirect: "/b/{2}"}}}
	c.Rules[0].Match = "/ok"
	_, err := New(&c, Options{File: "stoa.toml", Index: 2, Revalidate: time.Second})
	if err == nil || !strings.HasPrefix(err.Error(), "stoa.toml:12:1: site[2].rule[2]: redirect: ") {
		t.Errorf("error = %v, want one at stoa.toml:12:1 naming site[2].rule[2]", err)
	}
}

// TestCloseWaitsForLeases pins the retirement of a site (issue 10): Close
// releases the root at once when no request is in it, else when the last
// one leaves; a request that enters after Close is turned away.
func TestCloseWaitsForLeases(t *testing.T) {
	s := newSite(t, config.Site{})
	lease := s.Enter()
	if lease == nil {
		t.Fatal("Enter refused on a live site")
	}
	s.Close()
	if a := get(t, s, respond.Request{Path: "/admin/a.txt"}); a.status != 200 {
		t.Errorf("a request in the site when it was closed: status %d, want 200 (its root must stay open)", a.status)
	}
	if s.Enter() != nil {
		t.Error("Enter let a request into a closed site")
	}
	lease.Leave()
	if _, err := s.cur.Load().res.Stat("admin/a.txt"); err == nil {
		t.Error("the root is still open after the last request left a closed site")
	}
}

// TestRuleGuardsTheFolderItMatches is issue 14's leftover: a rule
// `match = "/staging/*"` with basic_auth matched a request for the folder
// "/staging/" as "/staging", which it does not match, so anyone got the
// folder's listing (the names of the guarded files), its index file and
// its archive. A request for a folder is now matched with its final slash
// too, as Caddy's "/staging/*" and nginx's "location /staging/" take it;
// "/staging" without the slash still gets its redirect (which tells no
// more than that the folder exists, as with nginx and Caddy), and a rule
// that matched a folder without its slash ("/posts") still does.
func TestRuleGuardsTheFolderItMatches(t *testing.T) {
	hash, err := basicauth.Hash([]byte("pw"), "argon2id")
	if err != nil {
		t.Fatal(err)
	}
	auth := &config.BasicAuth{Realm: "staging", Users: []config.User{{Name: "alice", Hash: hash}}}
	root := tree(t, map[string]string{
		"staging/s.txt":     "secret staging",
		"staging/sub/t.txt": "deep secret",
		"site/index.html":   "secret index",
		"posts/hello.html":  "hello",
		"public/p.txt":      "public",
		"staging-not/n.txt": "not guarded",
		"stagingfile.txt":   "not guarded either",
	})
	s := newSite(t, config.Site{Root: root, Browse: true, Archive: true, Rules: []config.Rule{
		{Match: "/staging/*", BasicAuth: auth},
		{Match: "/site/*", BasicAuth: auth},
		{Match: "/posts", Headers: ops("X-Posts", "1")},
	}})
	alice := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))
	for _, tt := range []struct {
		path, query, auth string
		status            int
		body              string // in the body; "" skips
	}{
		{"/staging/", "", "", 401, ""},
		{"/staging//", "", "", 401, ""},
		{"/x/../staging/", "", "", 401, ""},
		{"/%73taging/", "", "", 401, ""},
		{"/staging/.", "", "", 401, ""},
		{"/staging/", "archive=zip", "", 401, ""},
		{"/staging/", "archive=tar.gz", "", 401, ""},
		{"/staging/sub/", "", "", 401, ""},
		{"/staging/s.txt", "", "", 401, ""},
		{"/site/", "", "", 401, ""},
		{"/staging", "", "", 301, ""},
		{"/staging/", "", alice, 200, "s.txt"},
		{"/site/", "", alice, 200, "secret index"},
		{"/staging-not/", "", "", 200, "n.txt"},
		{"/stagingfile.txt", "", "", 200, "not guarded either"},
		{"/public/", "", "", 200, "p.txt"},
	} {
		a := get(t, s, respond.Request{Path: tt.path, Query: tt.query, HasQuery: tt.query != "", Authorization: tt.auth})
		if a.status != tt.status || !strings.Contains(a.body, tt.body) {
			t.Errorf("%s?%s (Authorization %q): %d %.80q; want %d with %q", tt.path, tt.query, tt.auth, a.status, a.body, tt.status, tt.body)
		}
		if tt.auth == "" && (strings.Contains(a.body, "s.txt") || strings.Contains(a.body, "secret")) {
			t.Errorf("%s?%s without credentials: the body names what the rule guards: %.200q", tt.path, tt.query, a.body)
		}
	}
	if a := get(t, s, respond.Request{Path: "/posts/"}); a.status != 200 || !a.has("X-Posts: 1") {
		t.Errorf("/posts/ under match = \"/posts\": %d, header\n%s\nwant 200 with the rule's X-Posts", a.status, a.header)
	}
}
