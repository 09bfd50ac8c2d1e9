package e2e

import (
	"encoding/json"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// evilName is a file name that is live HTML if a listing does not escape
// it. (A real "</script>" cannot be part of a Unix file name: '/' is the
// separator.)
const evilName = `<script>x<&>"'.txt`

// hrefRE finds the links of an HTML listing.
var hrefRE = regexp.MustCompile(`<a href="([^"]*)"`)

// TestListing checks --browse: HTML with names escaped, JSON for
// Accept: application/json, no hidden names or links out of the root, and
// 404 for a directory without index when browsing is off.
func TestListing(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write("list/"+evilName, "evil\n")
	s.write("list/plain.txt", "plain\n")
	s.write("list/a b.txt", "space\n")
	s.write("list/q?x.txt", "question\n")
	s.write("list/#frag.txt", "hash\n")
	s.write("list/100%.txt", "percent\n")
	s.write("list/.hidden-file", "hidden\n")
	s.mkdir("list/subdir")
	s.symlink("../../secret.txt", "list/escape-link.txt")
	browse := startServer(t, s, "--browse")
	plain := startServer(t, s)

	t.Run("HTML", func(t *testing.T) {
		t.Parallel()
		r := browse.get("/list/", "Accept: text/html,application/xhtml+xml,*/*;q=0.8")
		if !checkStatus(t, "GET /list/", r, 200) {
			return
		}
		body := string(r.Body)
		checkField(t, "GET /list/", r, "Content-Type", "text/html; charset=utf-8")
		if cl := r.get("Content-Length"); cl != strconv.Itoa(len(r.Body)) {
			t.Errorf("GET /list/: Content-Length = %q, body has %d bytes", cl, len(r.Body))
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("GET /list/: the file name %q appears unescaped: the listing is open to XSS", evilName)
		}
		if !strings.Contains(body, "&lt;script&gt;x&lt;&amp;&gt;") {
			t.Errorf("GET /list/: the escaped name %q is missing from:\n%s", "&lt;script&gt;x&lt;&amp;&gt;", clip(r.Body, 3000))
		}
		for _, name := range []string{"plain.txt", "subdir"} {
			if !strings.Contains(body, name) {
				t.Errorf("GET /list/: %q is not listed", name)
			}
		}
		for _, name := range []string{".hidden-file", "escape-link.txt"} {
			if strings.Contains(body, name) {
				t.Errorf("GET /list/: %q is listed, want it left out", name)
			}
		}
	})

	t.Run("links lead to the files", func(t *testing.T) {
		t.Parallel()
		r := browse.get("/list/")
		if !checkStatus(t, "GET /list/", r, 200) {
			return
		}
		want := map[string]string{
			evilName: "evil\n", "plain.txt": "plain\n", "a b.txt": "space\n",
			"q?x.txt": "question\n", "#frag.txt": "hash\n", "100%.txt": "percent\n",
		}
		found := map[string]bool{}
		for _, m := range hrefRE.FindAllStringSubmatch(string(r.Body), -1) {
			href := html.UnescapeString(m[1])
			if strings.HasPrefix(href, "?") || strings.HasPrefix(href, "../") || strings.HasSuffix(href, "/") {
				continue
			}
			name, err := url.PathUnescape(href)
			if err != nil {
				t.Errorf("listing href %q: %v", href, err)
				continue
			}
			body, ok := want[name]
			if !ok {
				t.Errorf("listing href %q names %q, which is not a listed file", href, name)
				continue
			}
			found[name] = true
			fr := browse.get("/list/" + href)
			if checkStatus(t, "GET /list/"+href+" (a link in the listing)", fr, 200) {
				checkBody(t, "GET /list/"+href, fr, []byte(body))
			}
		}
		for name := range want {
			if !found[name] {
				t.Errorf("listing has no link to %q", name)
			}
		}
	})

	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		r := browse.get("/list/", "Accept: application/json")
		if !checkStatus(t, "GET /list/ as JSON", r, 200) {
			return
		}
		if ct := r.get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET /list/ as JSON: Content-Type = %q, want application/json", ct)
		}
		var doc struct {
			Entries []struct {
				Name string `json:"name"`
				Dir  bool   `json:"dir"`
				Size int64  `json:"size"`
			} `json:"entries"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("GET /list/ as JSON: %v in %s", err, clip(r.Body, 500))
		}
		got := map[string]bool{}
		for _, e := range doc.Entries {
			got[e.Name] = e.Dir
			if e.Name == "plain.txt" && e.Size != int64(len("plain\n")) {
				t.Errorf("JSON entry plain.txt: size = %d, want %d", e.Size, len("plain\n"))
			}
		}
		want := map[string]bool{evilName: false, "plain.txt": false, "a b.txt": false, "subdir": true}
		for name, dir := range want {
			if d, ok := got[name]; !ok || d != dir {
				t.Errorf("JSON entries: %q present=%v dir=%v, want present with dir=%v; entries %v", name, ok, d, dir, got)
			}
		}
		for _, name := range []string{".hidden-file", "escape-link.txt"} {
			if _, ok := got[name]; ok {
				t.Errorf("JSON entries: %q is listed, want it left out", name)
			}
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		t.Parallel()
		c := browse.dial()
		c.send(request("HEAD", "/list/") + request("GET", "/list/"))
		h, g := c.read("HEAD"), c.read("GET")
		checkStatus(t, "HEAD /list/", h, 200)
		if h.get("Content-Length") != g.get("Content-Length") {
			t.Errorf("HEAD /list/: Content-Length %q, GET has %q", h.get("Content-Length"), g.get("Content-Length"))
		}
	})

	t.Run("redirect without slash", func(t *testing.T) {
		t.Parallel()
		r := browse.get("/list")
		if checkStatus(t, "GET /list with --browse", r, 301) {
			checkField(t, "GET /list with --browse", r, "Location", "/list/")
		}
	})

	t.Run("without --browse", func(t *testing.T) {
		t.Parallel()
		for _, target := range []string{"/list/", "/list/subdir/"} {
			r := plain.get(target)
			if checkStatus(t, "GET "+target+" without --browse", r, 404) && strings.Contains(string(r.Body), "plain.txt") {
				t.Errorf("GET %s without --browse: the 404 page lists the directory", target)
			}
		}
	})

	t.Run("root with index is not listed", func(t *testing.T) {
		t.Parallel()
		r := browse.get("/")
		if checkStatus(t, "GET / with --browse", r, 200) {
			checkBody(t, "GET / with --browse", r, []byte(indexHTML))
		}
	})
}

// TestErrorPages checks --error-pages: a 404.html in the directory is the
// body of every 404, with the 404 status.
func TestErrorPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	pages := filepath.Join(s.base, "errors")
	const custom = "<!doctype html><h1>Custom not-found page</h1>\n"
	if err := os.MkdirAll(pages, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pages, "404.html"), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, s, "--error-pages", pages)
	for _, target := range []string{"/missing", "/deep/missing.txt", "/.env"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			c := srv.dial()
			c.send(request("HEAD", target) + request("GET", target))
			h, r := c.read("HEAD"), c.read("GET")
			if checkStatus(t, "GET "+target, r, 404) {
				checkBody(t, "GET "+target, r, []byte(custom))
				checkField(t, "GET "+target, r, "Content-Type", "text/html; charset=utf-8")
			}
			if checkStatus(t, "HEAD "+target, h, 404) {
				checkField(t, "HEAD "+target, h, "Content-Length", strconv.Itoa(len(custom)))
			}
		})
	}
	t.Run("other statuses keep the built-in page", func(t *testing.T) {
		t.Parallel()
		r := srv.roundTrip("DELETE /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
		if checkStatus(t, "DELETE", r, 405) && string(r.Body) == custom {
			t.Errorf("DELETE: the 405 has the 404 page as its body")
		}
	})
}

// TestChangeDetection checks --revalidate: a rewritten file is served with
// its new bytes and a new ETag, a deleted one becomes 404 and a created one
// appears, all within a second.
func TestChangeDetection(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	srv := startServer(t, s, "--revalidate", "100ms")
	tests := []struct {
		name     string
		old, new string
		// sameMtime keeps the modification time across the rewrite, as
		// deploy tools that copy mtimes do (rsync -t): the server must
		// notice the change anyway (size, inode, ctime).
		sameMtime bool
	}{
		{"same size", "version-1\n", "version-2\n", false},
		{"same size and mtime", "version-1\n", "version-2\n", true},
		{"grows", "short\n", "a much longer second version\n", false},
		{"shrinks", "a long first version of the file\n", "tiny\n", false},
		{"large", string(patterned(600 << 10)), "X" + string(patterned(600 << 10))[1:], false},
	}
	for i, tc := range tests {
		name := "change" + strconv.Itoa(i) + ".txt"
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s.write(name, tc.old)
			if tc.sameMtime {
				s.setModTime(name, fixedModTime)
			}
			var etag string
			if !eventually(2*time.Second, func() bool {
				r := srv.get("/" + name)
				etag = r.get("ETag")
				return r.Status == 200 && string(r.Body) == tc.old && etag != ""
			}) {
				t.Fatalf("GET /%s: never served the first version with an ETag", name)
			}
			s.write(name, tc.new)
			if tc.sameMtime {
				s.setModTime(name, fixedModTime)
			}
			changed := time.Now()
			var last *response
			ok := eventually(1500*time.Millisecond, func() bool {
				last = srv.get("/" + name)
				return string(last.Body) == tc.new && last.get("ETag") != "" && last.get("ETag") != etag
			})
			if !ok || time.Since(changed) > time.Second+200*time.Millisecond {
				t.Errorf("GET /%s: new version with a new ETag not served within 1s of the change (ok=%v after %v); last ETag %q (old %q), body %q",
					name, ok, time.Since(changed).Round(time.Millisecond), last.get("ETag"), etag, clip(last.Body, 60))
			}
			if err := os.Remove(s.path(name)); err != nil {
				t.Fatal(err)
			}
			removed := time.Now()
			if !eventually(1500*time.Millisecond, func() bool { return srv.get("/"+name).Status == 404 }) ||
				time.Since(removed) > time.Second+200*time.Millisecond {
				t.Errorf("GET /%s: still served %v after it was deleted, want 404 within 1s", name, time.Since(removed).Round(time.Millisecond))
			}
		})
	}
	t.Run("created", func(t *testing.T) {
		t.Parallel()
		if r := srv.get("/created.txt"); r.Status != 404 {
			t.Fatalf("GET /created.txt before it exists: status %d, want 404", r.Status)
		}
		s.write("created.txt", "now here\n")
		created := time.Now()
		if !eventually(1500*time.Millisecond, func() bool { return string(srv.get("/created.txt").Body) == "now here\n" }) ||
			time.Since(created) > time.Second+200*time.Millisecond {
			t.Errorf("GET /created.txt: not served within 1s of its creation")
		}
	})
}

// TestEntryNameAliasing checks that what the server caches about a file
// does not depend on bytes later received on the connection that first
// asked for it. A large file's entry is created on one connection; then
// that connection carries other requests, and the file is asked for again,
// on it and on another connection, while the entry is still trusted
// (--revalidate 1m).
func TestEntryNameAliasing(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	big := patterned(1 << 20)
	s.write("big.bin", string(big))
	s.write("other.txt", "other\n")
	srv := startServer(t, s, "--revalidate", "1m")
	c := srv.dial()
	// The ETag of a large file is computed in the background; the entry
	// that carries it is made by the first request after that.
	if !eventually(5*time.Second, func() bool {
		return c.do(request("GET", "/big.bin", "Range: bytes=0-0")).get("ETag") != ""
	}) {
		t.Fatalf("GET /big.bin: no ETag within 5s")
	}
	// Same length as "big.bin", at the same offset of the read buffer.
	c.send(request("GET", "/zzzzzzz") + request("GET", "/big.bin", "Range: bytes=0-9"))
	checkStatus(t, "GET /zzzzzzz", c.read("GET"), 404)
	r := c.read("GET")
	if checkStatus(t, "GET /big.bin after GET /zzzzzzz on the same connection", r, 206) {
		checkBody(t, "GET /big.bin after GET /zzzzzzz", r, big[:10])
	}
	r = srv.get("/big.bin", "Range: bytes=0-9")
	if checkStatus(t, "GET /big.bin on another connection", r, 206) {
		checkBody(t, "GET /big.bin on another connection", r, big[:10])
	}
}
