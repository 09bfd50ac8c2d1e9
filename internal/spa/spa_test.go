package spa

import (
	"strings"
	"testing"
)

const chromeNav = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

func TestNavigation(t *testing.T) {
	tests := []struct {
		name string
		r    Request
		want bool
	}{
		{"chrome address bar", Request{"GET", "/users/42", chromeNav, "document"}, true},
		{"HEAD navigation", Request{"HEAD", "/users/42", chromeNav, "document"}, true},
		{"iframe", Request{"GET", "/embed", chromeNav, "iframe"}, true},
		{"frame", Request{"GET", "/embed", "*/*", "frame"}, true},
		{"dest case-insensitive", Request{"GET", "/a", "", "Document"}, true},
		{"old browser, Accept only", Request{"GET", "/a/b", chromeNav, ""}, true},
		{"a route with a dot", Request{"GET", "/users/jane.doe", chromeNav, "document"}, true},
		{"a route ending in .html", Request{"GET", "/about.html", chromeNav, "document"}, true},
		{"a route ending in .htm", Request{"GET", "/about.HTM", "text/html", ""}, true},
		{"trailing slash", Request{"GET", "/docs/", "text/html", ""}, true},
		{"POST", Request{"POST", "/users/42", chromeNav, "document"}, false},
		{"missing script", Request{"GET", "/assets/app.js", "*/*", "script"}, false},
		{"script typed in the address bar", Request{"GET", "/assets/app.js", chromeNav, "document"}, false},
		{"favicon", Request{"GET", "/favicon.ico", "image/avif,image/webp,*/*", "image"}, false},
		{"favicon, no dest", Request{"GET", "/favicon.ico", chromeNav, ""}, false},
		{"source map", Request{"GET", "/assets/app.js.map", "*/*", ""}, false},
		{"image", Request{"GET", "/x.png", chromeNav, ""}, false},
		{"fetch() of a route", Request{"GET", "/api/users", "*/*", "empty"}, false},
		{"fetch() asking for HTML", Request{"GET", "/partial", "text/html", "empty"}, false},
		{"curl", Request{"GET", "/users/42", "*/*", ""}, false},
		{"no Accept", Request{"GET", "/users/42", "", ""}, false},
		{"text/* is a wildcard", Request{"GET", "/users/42", "text/*", ""}, false},
		{"text/html refused", Request{"GET", "/users/42", "text/html;q=0, */*", ""}, false},
		{"text/html q=0.000", Request{"GET", "/users/42", "text/html; q=0.000", ""}, false},
		{"text/html q=0.001", Request{"GET", "/users/42", "application/json, text/html;q=0.001", ""}, true},
		{"TEXT/HTML", Request{"GET", "/users/42", "TEXT/HTML", ""}, true},
		{"text/htmlx", Request{"GET", "/users/42", "text/htmlx", ""}, false},
		{"style", Request{"GET", "/theme", "text/css,*/*;q=0.1", "style"}, false},
		{"worker", Request{"GET", "/sw", "*/*", "serviceworker"}, false},
		{"manifest", Request{"GET", "/site.webmanifest", chromeNav, "document"}, false},
	}
	for _, tt := range tests {
		if got := Navigation(tt.r); got != tt.want {
			t.Errorf("%s: Navigation(%+v) = %v, want %v", tt.name, tt.r, got, tt.want)
		}
	}
}

func TestFingerprinted(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"/assets/app.3f9a2c1b.js", true},   // webpack [name].[contenthash:8]
		{"/assets/index-BqZ3k9aF.js", true}, // Vite / Rollup
		{"/chunk-5HQ2ZKVM.css", true},       // esbuild
		{"main.3f9a2c1b4d5e6f708192a3b4c5d6e7f8.css", true},
		{"/assets/app.3f9a2c1b.js.map", true},        // the map of a fingerprinted script
		{"/static/js/main.8c1a9b2e.chunk.js", false}, // the hash is not right before the extension
		{"/chunk-5HQ2ZK.css", true},                  // 6 upper-case characters: the issue's own example
		{"/chunk-5hq2zk.css", false},                 // 6 lower-case characters: too short to be told from a word
		{"/app-ES2015.js", true},                     // the price of the upper-case rule
		{"/chunk-5HQ2Z.css", false},                  // 5: too short
		{"/jquery-3.7.1.min.js", false},
		{"/polyfills-es2015.js", false},
		{"/react-dom.production.js", false}, // a word, no digit
		{"/index-BqZkaFxY.js", false},       // all letters: missed, which is safe
		{"/report-20240115.pdf", false},     // all digits: a date
		{"/index-B_3k9aFx.js", false},       // base64url with '_': missed
		{"/3f9a2c1b.js", false},             // no name before the hash
		{"/app.3f9a2c1b", false},            // no extension: the hash is the extension
		{"/assets.3f9a2c1b/app.js", false},  // only the last segment counts
		{"/app.3f9a2c1b.", true},
		{"", false},
		{"/.map", false},
		{"/app-" + strings.Repeat("a1", 33) + ".js", false}, // 66: longer than any hash
	}
	for _, tt := range tests {
		if got := Fingerprinted(tt.name); got != tt.want {
			t.Errorf("Fingerprinted(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCacheControl(t *testing.T) {
	tests := []struct {
		name, ctype, want string
	}{
		{"/index.html", "text/html; charset=utf-8", Revalidate},
		{"/index.3f9a2c1b.html", "text/html; charset=utf-8", Revalidate}, // HTML first
		{"/assets/app.3f9a2c1b.js", "text/javascript; charset=utf-8", Immutable},
		{"/assets/logo-4b8e2d1fa.svg", "image/svg+xml", Immutable},
		{"/favicon.ico", "image/x-icon", Revalidate},
		{"/robots.txt", "text/plain; charset=utf-8", Revalidate},
	}
	for _, tt := range tests {
		if got := CacheControl(tt.name, tt.ctype); got != tt.want {
			t.Errorf("CacheControl(%q, %q) = %q, want %q", tt.name, tt.ctype, got, tt.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	r := Request{"GET", "/users/42", chromeNav, ""}
	if n := testing.AllocsPerRun(100, func() {
		Navigation(r)
		Fingerprinted("/assets/app.3f9a2c1b.js.map")
		CacheControl("/a.html", "text/html; charset=utf-8")
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// FuzzNavigation checks the classifier on any request: it never panics,
// never calls a non-GET/HEAD or a request that names its destination as
// a script a navigation, and AcceptsHTML agrees with a plain reading of
// the field.
func FuzzNavigation(f *testing.F) {
	f.Add("GET", "/a/b", chromeNav, "document")
	f.Add("GET", "/x.js", "text/html;q=0", "")
	f.Add("HEAD", "/a.b.c", "text/html ; Q = 0.5 ,", "iframe")
	f.Fuzz(func(t *testing.T, method, path, accept, dest string) {
		r := Request{method, path, accept, dest}
		got := Navigation(r)
		if got && method != "GET" && method != "HEAD" {
			t.Fatalf("Navigation(%+v): a %s is no navigation", r, method)
		}
		if got && dest != "" && !strings.EqualFold(dest, "document") && !strings.EqualFold(dest, "iframe") && !strings.EqualFold(dest, "frame") {
			t.Fatalf("Navigation(%+v): destination %q is no document", r, dest)
		}
		if AcceptsHTML(accept) && !strings.Contains(strings.ToLower(accept), "text/html") {
			t.Fatalf("AcceptsHTML(%q) without text/html", accept)
		}
	})
}

// FuzzFingerprinted checks that a fingerprinted name always has, before
// its extension, MinHashLen letters and digits that are not all letters
// (or 6 in upper case).
func FuzzFingerprinted(f *testing.F) {
	f.Add("/assets/app.3f9a2c1b.js")
	f.Add("/jquery-3.7.1.min.js")
	f.Add("a-12345678a.map")
	f.Fuzz(func(t *testing.T, name string) {
		if !Fingerprinted(name) {
			return
		}
		base := name[strings.LastIndexByte(name, '/')+1:]
		if strings.HasSuffix(strings.ToLower(base), ".map") {
			base = base[:len(base)-len(".map")]
		}
		stem := base[:strings.LastIndex(base, ".")]
		i := len(stem)
		for i > 0 && stem[i-1] != '.' && stem[i-1] != '-' {
			i--
		}
		h := stem[i:]
		short := len(h) < MinHashLen && (len(h) < 6 || strings.ToUpper(h) != h)
		if short || strings.Trim(h, "0123456789") == "" || i <= 1 {
			t.Fatalf("Fingerprinted(%q): %q is no hash", name, h)
		}
	})
}
