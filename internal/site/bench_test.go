package site

import (
	"cmp"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

// benchRules are the default site's rules of bench/ten-sites.toml: the
// last one matches the page asked for, so every rule is tried.
var benchRules = []config.Rule{
	{Match: "/assets/*", Headers: ops("Cache-Control", "public, max-age=31536000, immutable")},
	{Match: "/old/*", Redirect: "/new/{1}", Status: 301},
	{Match: "/blog/*", Rewrite: "/posts/{1}.html"},
	{Match: "/api/*", CORS: &config.CORS{Origins: []string{"https://app.example.test"}, Methods: []string{"GET"}}},
	{Match: "/fonts/*", CORS: &config.CORS{Origins: []string{"*"}, Methods: []string{"GET"}}},
	{Match: "/admin/*", Allow: prefixes("10.0.0.0/8")},
	{Match: "/docs/*", TryFiles: []string{"{path}", "{path}.html", "=404"}},
	{Match: "/legacy/*.php", Redirect: "/{1}.html", Status: 301},
	{Match: "*.{woff,woff2,ttf}", Headers: ops("Cache-Control", "public, max-age=31536000, immutable")},
	{Match: "/feed", Redirect: "/feed.xml", Status: 301},
	{Match: "*.html", Headers: ops("Cache-Control", "public, max-age=60", "X-Frame-Options", "SAMEORIGIN")},
}

func BenchmarkServe(b *testing.B) {
	spa := []config.Rule{
		{Match: "/assets/*", Headers: ops("Cache-Control", "public, max-age=31536000, immutable")},
		{Match: "/*", TryFiles: []string{"{path}", "/many/f0001.html"}},
	}
	for _, bc := range []struct {
		name   string
		rules  []config.Rule
		path   string
		leased bool // through Enter and Leave, as the Host switch serves
		status int  // 0: 200
		spa    bool
	}{
		{"plain", nil, "/many/f0001.html", false, 0, false},
		{"plain-leased", nil, "/many/f0001.html", true, 0, false},
		{"11rules", benchRules, "/many/f0001.html", false, 0, false},
		{"spa-fallback", spa, "/dashboard/settings", false, 0, false},
		// The peer benchmark's 404 workload: a miss also asks whether
		// the root moved on (retryMiss).
		{"missing-leased", nil, "/no-such-dir/missing.html", true, 404, false},
		{"spa-true", nil, "/dashboard/settings", false, 0, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := config.Site{Root: b.TempDir(), Rules: bc.rules, SPA: bc.spa, Index: []string{"many/f0001.html"}}
			writeFiles(b, c.Root, map[string]string{"many/f0001.html": "<p>page</p>"})
			s := newSite(b, c)
			// A navigation, which the spa fallback answers.
			req := respond.Request{Method: "GET", Path: bc.path, Host: "127.0.0.1:8080", Accept: "text/html"}
			var resp respond.Response
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if n%16 == 0 {
					// Now as an event loop gives it: one clock reading for
					// the requests of a wake-up (about 16 under the peer
					// benchmark's 64 connections).
					req.Now = time.Now().UnixNano()
				}
				n++
				resp.Reset()
				if bc.leased {
					l := s.Enter()
					l.Serve(&req, &resp)
					l.Leave()
				} else {
					s.Serve(&req, &resp)
				}
			}
			if want := cmp.Or(bc.status, 200); resp.Status != want {
				b.Fatalf("status %d, want %d", resp.Status, want)
			}
		})
	}
}
