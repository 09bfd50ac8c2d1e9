package e2e

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixedModTime is the modification time given to files whose Last-Modified
// a test checks; it is well in the past, so Last-Modified is a strong
// validator (RFC 9110 §8.8.2.2).
var fixedModTime = time.Date(2024, time.January, 2, 3, 4, 5, 0, time.UTC)

const fixedModTimeHTTP = "Tue, 02 Jan 2024 03:04:05 GMT"

// strongETag matches a strong entity-tag (RFC 9110 §8.8.3).
var strongETag = regexp.MustCompile(`^"[\x21\x23-\x7e\x80-\xff]*"$`)

// TestBasics checks the fields of a plain 200 (RFC 9110 §6.6.1, §8.3, §8.6,
// §8.8, §14.3), the trailing-slash redirect and the 404 page.
func TestBasics(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.setModTime("index.html", fixedModTime)
	s.write("dir/index.html", "dir index\n")
	s.write("dir/sub/file.txt", "sub file\n")
	s.mkdir("evil.example")
	s.mkdir("my dir")
	s.write("a b.txt", "space\n")
	s.write("café.txt", "accent\n")
	s.write("empty.txt", "")
	srv := startServer(t, s)

	t.Run("GET / serves index.html", func(t *testing.T) {
		t.Parallel()
		before := time.Now().Add(-2 * time.Second)
		r := srv.get("/")
		after := time.Now().Add(2 * time.Second)
		if !checkStatus(t, "GET /", r, 200) {
			return
		}
		if r.Proto != "HTTP/1.1" {
			t.Errorf("GET /: protocol = %q, want HTTP/1.1", r.Proto)
		}
		checkBody(t, "GET /", r, []byte(indexHTML))
		checkField(t, "GET /", r, "Content-Type", "text/html; charset=utf-8")
		checkField(t, "GET /", r, "Accept-Ranges", "bytes")
		checkField(t, "GET /", r, "X-Content-Type-Options", "nosniff")
		checkField(t, "GET /", r, "Last-Modified", fixedModTimeHTTP)
		if d, err := http.ParseTime(r.get("Date")); err != nil || d.Before(before) || d.After(after) || !strings.HasSuffix(r.get("Date"), " GMT") {
			t.Errorf("GET /: Date = %q, want an IMF-fixdate close to now", r.get("Date"))
		}
		if et := r.get("ETag"); !strongETag.MatchString(et) || len(et) < 3 {
			t.Errorf("GET /: ETag = %q, want a strong entity-tag \"...\"", et)
		}
		for _, name := range []string{"Date", "ETag", "Last-Modified", "Content-Type", "Content-Length"} {
			if n := len(r.values(name)); n != 1 {
				t.Errorf("GET /: %d %s fields, want 1", n, name)
			}
		}
	})

	t.Run("GET /index.html and / agree", func(t *testing.T) {
		t.Parallel()
		a, b := srv.get("/"), srv.get("/index.html")
		if a.get("ETag") != b.get("ETag") || string(a.Body) != string(b.Body) {
			t.Errorf("GET / and GET /index.html differ: ETag %q vs %q", a.get("ETag"), b.get("ETag"))
		}
	})

	redirects := []struct{ target, location string }{
		{"/dir", "/dir/"},
		{"/dir?x=1", "/dir/?x=1"},
		{"/dir?", "/dir/?"},
		{"/dir/sub", "/dir/sub/"},
		{"/dir/sub?a=b&c=%20d", "/dir/sub/?a=b&c=%20d"},
		{"/my%20dir", "/my%20dir/"},
		// A Location starting with "//" would send the browser to
		// another host (an open redirect).
		{"//evil.example", "/evil.example/"},
		{"/%2Fevil.example", "/evil.example/"},
		{"/%2f%2fevil.example", "/evil.example/"},
	}
	for _, tc := range redirects {
		t.Run("redirect "+tc.target, func(t *testing.T) {
			t.Parallel()
			r := srv.get(tc.target)
			if checkStatus(t, "GET "+tc.target, r, 301) {
				checkField(t, "GET "+tc.target, r, "Location", tc.location)
			}
			if loc := r.get("Location"); strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Errorf("GET %s: Location %q leads to another host", tc.target, loc)
			}
		})
	}

	files := []struct{ target, body string }{
		{"/a%20b.txt", "space\n"},
		{"/caf%C3%A9.txt", "accent\n"},
		{"/caf%c3%a9.txt", "accent\n"},
		{"/index.html?v=1", indexHTML},
		{"/dir/./sub/../sub/file.txt", "sub file\n"},
		{"/dir//sub/file.txt", "sub file\n"},
	}
	for _, tc := range files {
		t.Run("file "+tc.target, func(t *testing.T) {
			t.Parallel()
			r := srv.get(tc.target)
			if checkStatus(t, "GET "+tc.target, r, 200) {
				checkBody(t, "GET "+tc.target, r, []byte(tc.body))
			}
		})
	}

	t.Run("empty file", func(t *testing.T) {
		t.Parallel()
		r := srv.get("/empty.txt")
		if checkStatus(t, "GET /empty.txt", r, 200) {
			checkBody(t, "GET /empty.txt", r, nil)
		}
		r = srv.get("/empty.txt", "Range: bytes=0-")
		if checkStatus(t, "GET /empty.txt with Range: bytes=0-", r, 416) {
			checkField(t, "GET /empty.txt with Range: bytes=0-", r, "Content-Range", "bytes */0")
		}
	})

	t.Run("GET /dir/ serves its index", func(t *testing.T) {
		t.Parallel()
		r := srv.get("/dir/")
		if checkStatus(t, "GET /dir/", r, 200) {
			checkBody(t, "GET /dir/", r, []byte("dir index\n"))
		}
	})

	for _, target := range []string{"/missing", "/missing.html", "/dir/missing/", "/index.html/"} {
		t.Run("404 "+target, func(t *testing.T) {
			t.Parallel()
			r := srv.get(target)
			if !checkStatus(t, "GET "+target, r, 404) {
				return
			}
			if ct := r.get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("GET %s: Content-Type = %q, want text/html", target, ct)
			}
			if !strings.Contains(strings.ToLower(string(r.Body)), "<html") && !strings.Contains(strings.ToLower(string(r.Body)), "<!doctype html") {
				t.Errorf("GET %s: body %q is not an HTML page", target, clip(r.Body, 200))
			}
			if cl := r.get("Content-Length"); cl != strconv.Itoa(len(r.Body)) {
				t.Errorf("GET %s: Content-Length = %q, body has %d bytes", target, cl, len(r.Body))
			}
		})
	}
}

// TestContentType checks the media type chosen by extension (RFC 9110
// §8.3); an unknown extension is application/octet-stream, never sniffed.
func TestContentType(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	tests := []struct{ name, body, want string }{
		{"style.css", "body{}", "text/css; charset=utf-8"},
		{"app.js", "let x=1", "text/javascript; charset=utf-8"},
		{"mod.mjs", "export {}", "text/javascript; charset=utf-8"},
		{"logo.svg", "<svg/>", "image/svg+xml; charset=utf-8"},
		{"pic.png", "\x89PNG\r\n\x1a\n", "image/png"},
		{"pic.PNG", "\x89PNG\r\n\x1a\n", "image/png"},
		{"prog.wasm", "\x00asm\x01\x00\x00\x00", "application/wasm"},
		{"data.json", `{"a":1}`, "application/json; charset=utf-8"},
		{"notes.txt", "plain", "text/plain; charset=utf-8"},
		{"page.htm", "<p>x</p>", "text/html; charset=utf-8"},
		{"blob.unknownext", "<html>sniff me</html>", "application/octet-stream"},
		{"noext", "<html>sniff me</html>", "application/octet-stream"},
	}
	for _, tc := range tests {
		s.write(tc.name, tc.body)
	}
	srv := startServer(t, s)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := srv.get("/" + tc.name)
			if checkStatus(t, "GET /"+tc.name, r, 200) {
				checkField(t, "GET /"+tc.name, r, "Content-Type", tc.want)
				checkBody(t, "GET /"+tc.name, r, []byte(tc.body))
			}
		})
	}
}

// TestFlags checks the flags that shape every response: --index and
// --cache-control.
func TestFlags(t *testing.T) {
	t.Parallel()
	t.Run("index", func(t *testing.T) {
		t.Parallel()
		s := newSite(t)
		s.write("home.htm", "home\n")
		s.write("only-index/index.html", "fallback index\n")
		srv := startServer(t, s, "--index", "home.htm,index.html")
		tests := []struct{ target, want string }{
			{"/", "home\n"},
			{"/only-index/", "fallback index\n"},
		}
		for _, tc := range tests {
			r := srv.get(tc.target)
			if checkStatus(t, "GET "+tc.target, r, 200) {
				checkBody(t, "GET "+tc.target, r, []byte(tc.want))
			}
		}
	})
	t.Run("cache-control", func(t *testing.T) {
		t.Parallel()
		s := newSite(t)
		srv := startServer(t, s, "--cache-control", "public, max-age=60")
		r := srv.get("/index.html")
		if checkStatus(t, "GET /index.html", r, 200) {
			checkField(t, "GET /index.html", r, "Cache-Control", "public, max-age=60")
		}
		r = srv.get("/index.html", "If-None-Match: "+r.get("ETag"))
		// RFC 9110 §15.4.5: a 304 carries the Cache-Control a 200 would.
		if checkStatus(t, "GET /index.html with its ETag", r, 304) {
			checkField(t, "304", r, "Cache-Control", "public, max-age=60")
		}
	})
}
