package site

import (
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// spaCases are the answers of an app's site whose missing paths fall back
// to its shell, /index.html, whichever way it says so (spa = true, or a
// try_files rule).
var spaCases = []struct {
	name, path, accept, dest string
	status                   int
	body                     string
}{
	{"deep route, navigation", "/dashboard/settings", browserAccept, "document", 200, "<h1>home</h1>"},
	{"deep route, old browser", "/dashboard/settings", browserAccept, "", 200, "<h1>home</h1>"},
	{"route with a dot", "/users/jane.doe", browserAccept, "document", 200, "<h1>home</h1>"},
	{"existing file", "/assets/app.css", "text/css,*/*;q=0.1", "style", 200, "body{}"},
	{"existing page", "/new/page.html", browserAccept, "document", 200, "new page"},
	{"missing script", "/assets/missing.js", "*/*", "script", 404, ""},
	{"missing script typed in the address bar", "/assets/missing.js", browserAccept, "document", 404, ""},
	{"favicon", "/favicon.ico", "image/avif,image/webp,*/*", "image", 404, ""},
	{"favicon, old browser", "/favicon.ico", browserAccept, "", 404, ""},
	{"source map", "/assets/app.js.map", "*/*", "empty", 404, ""},
	{"fetch of a route", "/api/users", "*/*", "empty", 404, ""},
	{"curl", "/dashboard", "*/*", "", 404, ""},
}

// TestSPA is the bug of issue 14: the obvious SPA rule answered a missing
// /favicon.ico or /assets/x.js with 200 text/html. With spa = true, only a
// navigation to a missing path gets the shell; the rest get 404.
func TestSPA(t *testing.T) {
	s := newSite(t, config.Site{SPA: true})
	for _, tt := range spaCases {
		a := get(t, s, respond.Request{Path: tt.path, Accept: tt.accept, SecFetchDest: tt.dest})
		if a.status != tt.status || (tt.body != "" && a.body != tt.body) {
			t.Errorf("%s: GET %s: %d %q, want %d %q", tt.name, tt.path, a.status, a.body, tt.status, tt.body)
		}
		if missing := tt.name != "existing file" && tt.name != "existing page"; missing != a.has("Vary: Accept, Sec-Fetch-Dest") {
			t.Errorf("%s: Vary: Accept, Sec-Fetch-Dest sent is %v, want %v; header\n%s", tt.name, !missing, missing, a.header)
		}
	}
	if a := get(t, s, respond.Request{Method: "POST", Path: "/dashboard", Accept: browserAccept}); a.status == 200 {
		t.Errorf("POST to a missing route: %d, want no shell", a.status)
	}
	// cache_control is auto with spa; a rule's headers still win.
	s = newSite(t, config.Site{SPA: true, Rules: []config.Rule{{Match: "/assets/*", Headers: ops("Cache-Control", "max-age=60")}}})
	if a := get(t, s, respond.Request{Path: "/x", Accept: browserAccept}); !a.has("Cache-Control: no-cache") {
		t.Errorf("spa: the shell's header\n%s\nwant Cache-Control: no-cache", a.header)
	}
	if a := get(t, s, respond.Request{Path: "/assets/app.css"}); !a.has("Cache-Control: max-age=60") || a.has("Cache-Control: no-cache") {
		t.Errorf("spa with a rule's Cache-Control: header\n%s\nwant the rule's only", a.header)
	}
	// The shell is the first index file.
	s = newSite(t, config.Site{SPA: true, Index: []string{"posts/hello.html"}})
	if a := get(t, s, respond.Request{Path: "/x/y", Accept: browserAccept}); a.status != 200 || a.body != "hello post" {
		t.Errorf("index = [\"posts/hello.html\"]: %d %q, want the first index file", a.status, a.body)
	}
	// A rule that matches, doing nothing to the path, keeps the fallback.
	s = newSite(t, config.Site{SPA: true, Rules: []config.Rule{{Match: "/*", Headers: ops("X-Rule", "yes")}}})
	if a := get(t, s, respond.Request{Path: "/x/y", SecFetchDest: "document"}); a.status != 200 || a.body != "<h1>home</h1>" || !a.has("X-Rule: yes") {
		t.Errorf("spa with a headers rule: %d %q\n%s", a.status, a.body, a.header)
	}
}

// TestShellFallbackNavigationOnly: a try_files fallback that is one HTML
// file follows the rule of spa, unless fallback_any; a fallback with a
// placeholder is the request's own file, for any request.
func TestShellFallbackNavigationOnly(t *testing.T) {
	s := newSite(t, config.Site{Rules: []config.Rule{{Match: "/*", TryFiles: []string{"{path}", "/index.html"}}}})
	for _, tt := range spaCases {
		a := get(t, s, respond.Request{Path: tt.path, Accept: tt.accept, SecFetchDest: tt.dest})
		if a.status != tt.status || (tt.body != "" && a.body != tt.body) {
			t.Errorf("%s: GET %s: %d %q, want %d %q", tt.name, tt.path, a.status, a.body, tt.status, tt.body)
		}
	}
	s = newSite(t, config.Site{Rules: []config.Rule{{Match: "/*", TryFiles: []string{"{path}", "/index.html"}, FallbackAny: true}}})
	if a := get(t, s, respond.Request{Path: "/assets/missing.js", SecFetchDest: "script"}); a.status != 200 || a.body != "<h1>home</h1>" {
		t.Errorf("fallback_any: a missing script: %d %q, want the fallback", a.status, a.body)
	}
	s = newSite(t, config.Site{Rules: []config.Rule{{Match: "/*", TryFiles: []string{"{path}", "{path}.html"}}}})
	if a := get(t, s, respond.Request{Path: "/new/page", SecFetchDest: "empty"}); a.status != 200 || a.body != "new page" {
		t.Errorf("{path}.html fallback, fetched: %d %q, want the page", a.status, a.body)
	}
}

func TestWarnings(t *testing.T) {
	for _, tt := range []struct {
		name string
		rule config.Rule
		want string // in the warning; "" for none
	}{
		{"try_files, navigations only", config.Rule{Match: "/*", TryFiles: []string{"{path}", "/index.html"}}, ""},
		{"fallback_any", config.Rule{Match: "/*", TryFiles: []string{"{path}", "/index.html"}, FallbackAny: true},
			`stoa.toml:3:1: site[1].rule[1]: warning: with fallback_any, try_files answers a missing asset such as /favicon.ico with /index.html (200 text/html); remove fallback_any`},
		{"fallback_any under /app", config.Rule{Match: "/app/*", TryFiles: []string{"{path}", "/app/index.html"}, FallbackAny: true},
			"such as /app/x.js with /app/index.html"},
		{"fallback_any, fallback not HTML", config.Rule{Match: "/*", TryFiles: []string{"{path}", "/404.txt"}, FallbackAny: true}, ""},
		{"fallback_any, routes only", config.Rule{Match: "/{users,teams}", TryFiles: []string{"{path}", "/index.html"}, FallbackAny: true}, ""},
		{"rewrite everything", config.Rule{Match: "/*", Rewrite: "/index.html"}, `write try_files = ["{path}", "/index.html"] instead, or spa = true`},
		{"rewrite of a page", config.Rule{Match: "/blog/*", Rewrite: "/posts/{1}.html"}, ""},
		{"rewrite of HTML paths", config.Rule{Match: "/*.html", Rewrite: "/index.html"}, ""},
	} {
		tt.rule.Pos = config.Pos{Line: 3, Col: 1}
		got := Warnings(&config.Site{Rules: []config.Rule{tt.rule}}, "stoa.toml", 1)
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%s: warnings %q, want none", tt.name, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("%s: warnings %q, want one with %q", tt.name, got, tt.want)
		}
	}
}

// TestSPAAllocatesNothing: with spa, a cached file and the shell answering
// a navigation to a missing route cost no allocation.
func TestSPAAllocatesNothing(t *testing.T) {
	s := newSite(t, config.Site{SPA: true})
	for _, req := range []respond.Request{
		{Method: "GET", Path: "/assets/app.css"},
		{Method: "GET", Path: "/dashboard/settings", Accept: browserAccept, SecFetchDest: "document"},
	} {
		var resp respond.Response
		s.Serve(&req, &resp) // caches the file
		if n := testing.AllocsPerRun(100, func() {
			resp.Reset()
			s.Serve(&req, &resp)
		}); n != 0 || resp.Status != 200 {
			t.Errorf("GET %s: status %d, %v allocations, want 200 and 0", req.Path, resp.Status, n)
		}
	}
}
