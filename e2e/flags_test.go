package e2e

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPortFlag: -p N and --port N serve on localhost:N (issue 14: no
// -p), and -p with --listen is refused in one line.
func TestPortFlag(t *testing.T) {
	s := newSite(t)
	for _, name := range []string{"-p", "--port"} {
		port := freePort(t)
		srv := startWith(t, s, "serve", s.root, name, strconv.Itoa(port))
		if want := "127.0.0.1:" + strconv.Itoa(port); srv.addr != want {
			t.Errorf("stoa serve %s %d: serving at %s, want %s", name, port, srv.addr, want)
		}
		if r := srv.get("/"); checkStatus(t, name, r, 200) {
			checkBody(t, name, r, []byte(indexHTML))
		}
	}
	code, _, stderr := runStoa(t, "serve", s.root, "-p", "8080", "--listen", "127.0.0.1:0")
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "give one") {
		t.Errorf("stoa serve -p 8080 --listen ...: exit %d, stderr %q; want 2 and one line saying to give one", code, stderr)
	}
}

// TestCORSFlag: --cors answers a preflight and adds
// Access-Control-Allow-Origin for an allowed origin only.
func TestCORSFlag(t *testing.T) {
	s := newSite(t)
	srv := startServer(t, s, "--cors", "https://app.example", "--cors", "https://b.example:8443")
	const preflight = "Access-Control-Request-Method: GET"
	for _, tt := range []struct {
		name, method, origin string
		header               []string
		status               int
		allow                string // Access-Control-Allow-Origin; "" for none
	}{
		{"GET, allowed", "GET", "https://app.example", nil, 200, "https://app.example"},
		{"GET, second allowed", "GET", "https://b.example:8443", nil, 200, "https://b.example:8443"},
		{"GET, other origin", "GET", "https://evil.example", nil, 200, ""},
		{"GET, no origin", "GET", "", nil, 200, ""},
		{"preflight, allowed", "OPTIONS", "https://app.example", []string{preflight}, 204, "https://app.example"},
		{"preflight, other origin", "OPTIONS", "https://evil.example", []string{preflight}, 0, ""},
	} {
		h := tt.header
		if tt.origin != "" {
			h = append(h, "Origin: "+tt.origin)
		}
		r := srv.roundTrip(request(tt.method, "/", h...))
		if tt.status != 0 {
			checkStatus(t, tt.name, r, tt.status)
		}
		if got, _ := r.lookup("Access-Control-Allow-Origin"); got != tt.allow {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q\n%s", tt.name, got, tt.allow, r)
		}
		if tt.method == "OPTIONS" && tt.allow != "" && !strings.Contains(r.get("Access-Control-Allow-Methods"), "GET") {
			t.Errorf("%s: Access-Control-Allow-Methods %q, want GET in it\n%s", tt.name, r.get("Access-Control-Allow-Methods"), r)
		}
		if tt.origin != "" && !slices.ContainsFunc(r.values("Vary"), func(v string) bool { return strings.Contains(v, "Origin") }) {
			t.Errorf("%s: Vary %q, want Origin in it\n%s", tt.name, r.values("Vary"), r)
		}
	}
	star := startServer(t, s, "--cors", "*")
	if r := star.get("/", "Origin: https://whoever.example"); r.get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("--cors '*': Access-Control-Allow-Origin %q, want *\n%s", r.get("Access-Control-Allow-Origin"), r)
	}
}

// TestHeaderFlag: --header sets a field on 2xx and 3xx answers (200, 304,
// a redirect), as a site's headers table does, and not on a 404, which
// must not be cached for as long as a file (nginx's add_header without
// always); a name given twice is two lines.
func TestHeaderFlag(t *testing.T) {
	s := newSite(t)
	s.mkdir("docs")
	s.write("docs/index.html", "docs\n")
	srv := startServer(t, s, "--header", "X-Robots-Tag: noindex",
		"--header", "Link: </a.css>; rel=preload", "--header", "Link: </b.js>; rel=preload")
	ok := srv.get("/")
	checkStatus(t, "GET /", ok, 200)
	etag := ok.get("ETag")
	for _, tt := range []struct {
		name   string
		r      *response
		status int
		want   bool
	}{
		{"200", ok, 200, true},
		{"304", srv.get("/", "If-None-Match: "+etag), 304, true},
		{"redirect", srv.get("/docs"), 0, true},
		{"404", srv.get("/missing.html"), 404, false},
	} {
		if tt.status != 0 {
			checkStatus(t, tt.name, tt.r, tt.status)
		} else if tt.r.Status < 300 || tt.r.Status > 399 {
			t.Errorf("%s: status %d, want a redirect\n%s", tt.name, tt.r.Status, tt.r)
		}
		robots, links := tt.r.get("X-Robots-Tag"), tt.r.values("Link")
		if tt.want && (robots != "noindex" || !slices.Equal(links, []string{"</a.css>; rel=preload", "</b.js>; rel=preload"})) {
			t.Errorf("%s: X-Robots-Tag %q, Link %q; want noindex and the two links\n%s", tt.name, robots, links, tt.r)
		}
		if !tt.want && (robots != "" || len(links) != 0) {
			t.Errorf("%s: X-Robots-Tag %q, Link %q; want neither on an error\n%s", tt.name, robots, links, tt.r)
		}
	}
}

// TestBasicAuthFlag: --basic-auth USER:HASH guards the site: 401 with a
// challenge without credentials or with wrong ones, 200 with right ones;
// a plain password is refused at start with one line pointing to stoa
// hash-password, and not repeated.
func TestBasicAuthFlag(t *testing.T) {
	s := newSite(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, s, "--basic-auth", "alice:"+string(hash))
	basic := func(user, pass string) string {
		return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tt := range []struct {
		name   string
		header []string
		status int
	}{
		{"no credentials", nil, 401},
		{"wrong password", []string{basic("alice", "guess")}, 401},
		{"unknown user", []string{basic("bob", "s3cret pass")}, 401},
		{"right", []string{basic("alice", "s3cret pass")}, 200},
	} {
		r := srv.get("/", tt.header...)
		checkStatus(t, tt.name, r, tt.status)
		if ch := r.get("WWW-Authenticate"); tt.status == 401 && ch != `Basic realm="restricted", charset="UTF-8"` {
			t.Errorf("%s: WWW-Authenticate %q, want a Basic challenge for realm restricted", tt.name, ch)
		}
		if tt.status == 200 {
			checkBody(t, tt.name, r, []byte(indexHTML))
		}
	}
	code, stdout, stderr := runStoa(t, "serve", s.root, "--listen", "127.0.0.1:0", "--basic-auth", "alice:hunter2")
	if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "stoa hash-password") || strings.Contains(stderr, "hunter2") {
		t.Errorf("stoa serve --basic-auth alice:hunter2: exit %d, stdout %q, stderr %q; want 2 and one line pointing to stoa hash-password, without the password", code, stdout, stderr)
	}
}
