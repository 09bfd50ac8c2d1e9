package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/basicauth"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/server"
)

// effect is one setting of a site, a rule, a cors or a basic_auth table
// set to a value other than its default, and a request whose answer shows
// it taken into account.
type effect struct {
	covers []string // scope.key: "site.index", "rule.match", "cors.methods", "auth.realm"
	lines  string   // the site's keys after hosts and root; tables and rules last
	method string   // GET when ""
	path   string
	header map[string]string
	want   func(r *http.Response, body string) string // what is wrong, or ""
}

// notCovered are the settings TestEverySiteSettingTakesEffect leaves to
// other tests, with the reason.
var notCovered = map[string]string{
	"site.tls_cert":        "needs a TLS listener: the https tests of internal/server and e2e",
	"site.tls_key":         "needs a TLS listener: the https tests of internal/server and e2e",
	"site.acme":            "needs an ACME CA: the acme tests of internal/server and e2e",
	"site.compress_levels": "a level changes the bytes, not what a client can tell apart: internal/site's tests",
	"site.origin_timeout":  "needs a release store root: internal/releasesrc's tests and e2e/release_test.go",
	"site.release_poll":    "needs a release store root: internal/releasesrc's tests and e2e/release_test.go",
	"site.skew_window":     "needs a release store root: internal/releasesrc's tests and e2e/release_test.go",
	"site.skew_html":       "needs a release store root: internal/releasesrc's tests and e2e/release_test.go",
	"site.release_header":  "needs a release store root: internal/releasesrc's tests and e2e/release_test.go",
}

func hasHeader(name, want string) func(*http.Response, string) string {
	return func(r *http.Response, _ string) string {
		if got := r.Header.Get(name); !strings.Contains(got, want) {
			return fmt.Sprintf("%s: %q, want it to contain %q", name, got, want)
		}
		return ""
	}
}

func hasStatus(code int, body string) func(*http.Response, string) string {
	return func(r *http.Response, b string) string {
		if r.StatusCode != code || !strings.Contains(b, body) {
			return fmt.Sprintf("status %d, body %q; want %d with %q", r.StatusCode, b, code, body)
		}
		return ""
	}
}

func noCoding(r *http.Response, _ string) string {
	if ce := r.Header.Get("Content-Encoding"); ce != "" {
		return "Content-Encoding: " + ce + ", want none"
	}
	return ""
}

// effects is one case for each setting a site, a rule, a cors or a
// basic_auth table may have; hash is bob's password hash.
func effects(hash string) []effect {
	auth := `basic_auth = { realm = "zone", users = { bob = ` + strconv.Quote(hash) + ` } }`
	gz := map[string]string{"Accept-Encoding": "gzip"}
	return []effect{
		{covers: []string{"site.hosts", "site.root"}, path: "/", want: hasStatus(200, "www index")},
		{covers: []string{"site.index"}, lines: `index = ["home.htm"]`, path: "/", want: hasStatus(200, "home")},
		{covers: []string{"site.dotfiles"}, lines: `dotfiles = "allow"`, path: "/.env", want: hasStatus(200, "secret")},
		{covers: []string{"site.follow_symlinks"}, lines: `follow_symlinks = true`, path: "/link.txt", want: hasStatus(200, "outside")},
		{covers: []string{"site.browse"}, lines: `browse = true`, path: "/dir/", want: hasStatus(200, "f.txt")},
		{covers: []string{"site.archive"}, lines: "browse = true\narchive = true", path: "/dir/?archive=zip", want: hasHeader("Content-Type", "application/zip")},
		{covers: []string{"site.readme"}, lines: "browse = true\nreadme = true", path: "/dir/", want: hasStatus(200, "<em>me</em>")},
		{covers: []string{"site.compress"}, lines: `compress = false`, path: "/big.css", header: gz, want: noCoding},
		{covers: []string{"site.precompressed"}, lines: "precompressed = false\ncompress = false", path: "/pre.css", header: gz, want: noCoding},
		{covers: []string{"site.compress_min_size"}, lines: `compress_min_size = 100000`, path: "/big.css", header: gz, want: noCoding},
		{covers: []string{"site.cache_control"}, lines: `cache_control = "public, max-age=7"`, path: "/", want: hasHeader("Cache-Control", "max-age=7")},
		{covers: []string{"site.spa"}, lines: `spa = true`, path: "/deep/route", header: map[string]string{"Sec-Fetch-Dest": "document"},
			want: hasStatus(200, "www index")},
		{covers: []string{"site.error_pages"}, lines: `error_pages = "errors"`, path: "/missing", want: hasStatus(404, "custom 404")},
		{covers: []string{"site.security_headers"}, lines: `security_headers = "strict"`, path: "/", want: hasHeader("X-Frame-Options", "DENY")},
		{covers: []string{"site.allow"}, lines: `allow = ["10.0.0.0/8"]`, path: "/", want: hasStatus(403, "")},
		{covers: []string{"site.deny"}, lines: `deny = ["127.0.0.0/8", "::1"]`, path: "/", want: hasStatus(403, "")},
		{covers: []string{"site.headers"}, lines: `headers = { "X-Test" = "yes" }`, path: "/", want: hasHeader("X-Test", "yes")},
		{covers: []string{"site.cors", "cors.origins"}, lines: `cors = { origins = ["https://app.test"] }`, path: "/",
			header: map[string]string{"Origin": "https://app.test"}, want: hasHeader("Access-Control-Allow-Origin", "https://app.test")},
		{covers: []string{"cors.methods", "cors.headers", "cors.max_age", "cors.credentials"},
			lines:  `cors = { origins = ["https://app.test"], methods = ["PUT"], headers = ["X-A"], max_age = "1m", credentials = true }`,
			method: "OPTIONS", path: "/", header: map[string]string{"Origin": "https://app.test", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "X-A"},
			want: func(r *http.Response, b string) string {
				for _, f := range []func(*http.Response, string) string{hasHeader("Access-Control-Allow-Methods", "PUT"),
					hasHeader("Access-Control-Allow-Headers", "X-A"), hasHeader("Access-Control-Max-Age", "60"),
					hasHeader("Access-Control-Allow-Credentials", "true")} {
					if msg := f(r, b); msg != "" {
						return msg
					}
				}
				return ""
			}},
		{covers: []string{"cors.expose"}, lines: `cors = { origins = ["https://app.test"], expose = ["X-B"] }`, path: "/",
			header: map[string]string{"Origin": "https://app.test"}, want: hasHeader("Access-Control-Expose-Headers", "X-B")},
		{covers: []string{"site.basic_auth", "auth.realm"}, lines: auth, path: "/", want: hasHeader("WWW-Authenticate", `realm="zone"`)},
		{covers: []string{"auth.users"}, lines: auth, path: "/", header: map[string]string{"Authorization": "Basic Ym9iOnNlY3JldA=="},
			want: hasStatus(200, "www index")},
		{covers: []string{"site.rule", "rule.match", "rule.redirect", "rule.status"},
			lines: "[[site.rule]]\nmatch = \"/old/*\"\nredirect = \"/new/{1}\"\nstatus = 308", path: "/old/x",
			want: func(r *http.Response, b string) string {
				if r.StatusCode != 308 || r.Header.Get("Location") != "/new/x" {
					return fmt.Sprintf("status %d, Location %q; want 308 to /new/x", r.StatusCode, r.Header.Get("Location"))
				}
				return ""
			}},
		{covers: []string{"rule.rewrite"}, lines: "[[site.rule]]\nmatch = \"/r\"\nrewrite = \"/home.htm\"", path: "/r", want: hasStatus(200, "home")},
		{covers: []string{"rule.try_files"}, lines: "[[site.rule]]\nmatch = \"/*\"\ntry_files = [\"{path}\", \"/home.htm\"]", path: "/nope",
			header: map[string]string{"Accept": "text/html"}, want: hasStatus(200, "home")},
		{covers: []string{"rule.fallback_any"}, lines: "[[site.rule]]\nmatch = \"/*\"\ntry_files = [\"{path}\", \"/home.htm\"]\nfallback_any = true",
			path: "/nope.js", want: hasStatus(200, "home")},
		{covers: []string{"rule.headers"}, lines: "[[site.rule]]\nmatch = \"/*\"\nheaders = { \"X-Rule\" = \"yes\" }", path: "/", want: hasHeader("X-Rule", "yes")},
		{covers: []string{"rule.allow"}, lines: "[[site.rule]]\nmatch = \"/*\"\nallow = [\"10.0.0.0/8\"]", path: "/", want: hasStatus(403, "")},
		{covers: []string{"rule.deny"}, lines: "[[site.rule]]\nmatch = \"/*\"\ndeny = [\"127.0.0.0/8\", \"::1\"]", path: "/", want: hasStatus(403, "")},
		{covers: []string{"rule.cors"}, lines: "[[site.rule]]\nmatch = \"/*\"\ncors = { origins = [\"https://app.test\"] }", path: "/",
			header: map[string]string{"Origin": "https://app.test"}, want: hasHeader("Access-Control-Allow-Origin", "https://app.test")},
		{covers: []string{"rule.basic_auth"}, lines: "[[site.rule]]\nmatch = \"/*\"\n" + auth, path: "/", want: hasStatus(401, "")},
	}
}

// writeTree writes the files the effects ask for under dir.
func writeTree(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"www/index.html":    "www index",
		"www/home.htm":      "home",
		"www/.env":          "secret",
		"www/dir/f.txt":     "f",
		"www/dir/README.md": "# Read *me*",
		"www/big.css":       strings.Repeat(".a{color:red}\n", 200),
		"www/pre.css":       strings.Repeat(".b{color:red}\n", 200),
		"www/pre.css.gz":    "not really gzip, but a sidecar all the same",
		"other/index.html":  "other index",
		"outside.txt":       "outside",
		"errors/404.html":   "custom 404",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The sidecar must not be older than the file it stands for.
	now := time.Now()
	os.Chtimes(filepath.Join(dir, "www/pre.css.gz"), now, now.Add(time.Minute))
	if err := os.Symlink(filepath.Join(dir, "outside.txt"), filepath.Join(dir, "www/link.txt")); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer the server may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEverySiteSettingTakesEffect sets each setting of a site, a rule, a
// cors and a basic_auth table to a value other than its default in a
// stoa.toml, one site each, serves the file, and asks for something whose
// answer shows the value taken into account. A setting added to the table
// without a case here fails the test.
func TestEverySiteSettingTakesEffect(t *testing.T) {
	hash, err := basicauth.Hash([]byte("secret"), "bcrypt")
	if err != nil {
		t.Fatal(err)
	}
	cases := effects(hash)
	// The default site is asked for after the cases, below.
	covered := map[string]bool{"site.default": true}
	for _, c := range cases {
		for _, k := range c.covers {
			covered[k] = true
		}
	}
	for _, s := range config.Settings {
		for _, sc := range []struct {
			scope config.Scope
			name  string
		}{{config.ScopeSite, "site"}, {config.ScopeRule, "rule"}, {config.ScopeCORS, "cors"}, {config.ScopeAuth, "auth"}} {
			k := sc.name + "." + s.Key
			if s.Scope&sc.scope != 0 && s.Key != "" && !covered[k] && notCovered[k] == "" {
				t.Errorf("%s: no case shows it taking effect; add one to effects", k)
			}
		}
	}

	dir := t.TempDir()
	writeTree(t, dir)
	var file strings.Builder
	file.WriteString("listen = [\"127.0.0.1:0\"]\n")
	for i, c := range cases {
		fmt.Fprintf(&file, "[[site]]\nhosts = [\"case%d.test\"]\nroot = \"www\"\n%s\n", i, c.lines)
	}
	file.WriteString("[[site]]\ndefault = true\nroot = \"other\"\n")
	path := filepath.Join(dir, "stoa.toml")
	if err := os.WriteFile(path, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseServe([]string{"--config", path}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	srv, err := server.Start(func() (*config.Config, error) { return loadConfig(path, o) }, &out, &errb)
	if err != nil {
		t.Fatalf("%v\nin:\n%s", err, file.String())
	}
	defer srv.Shutdown(t.Context())
	base := serverURL(t, &out)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ask := func(host string, c effect) (*http.Response, string) {
		t.Helper()
		method := c.method
		if method == "" {
			method = "GET"
		}
		req, _ := http.NewRequest(method, base+strings.TrimPrefix(c.path, "/"), nil)
		req.Host = host
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s (Host %s): %v", method, c.path, host, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for i, c := range cases {
		resp, body := ask(fmt.Sprintf("case%d.test", i), c)
		if msg := c.want(resp, body); msg != "" {
			t.Errorf("%v: %s", c.covers, msg)
		}
	}
	// default: a Host no site names gets the default site, not the first.
	if resp, body := ask("unknown.test", effect{path: "/"}); !strings.Contains(body, "other index") {
		t.Errorf("site.default: Host unknown.test: status %d, body %q; want the default site's \"other index\"", resp.StatusCode, body)
	}
}

// serverURL waits for the line that says where the server listens.
func serverURL(t *testing.T, out *syncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no listening address in the output:\n%s", out.String())
	return ""
}
