package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// spaShell is the index.html of the app the SPA tests serve: it runs its
// fingerprinted script, and asks for an asset that is missing.
const spaShell = `<!doctype html>
<title>spa shell</title>
<script src="/assets/app.3f9a2c1b.js"></script>
<img src="/missing.png" alt="">
<h1>spa shell</h1>
`

const spaScript = "window.appRan = location.pathname;\n"

func newSPASite(t *testing.T) *site {
	s := newSite(t)
	s.write("index.html", spaShell)
	s.write("assets/app.3f9a2c1b.js", spaScript)
	s.write("robots.txt", "User-agent: *\n")
	return s
}

// TestSPA serves an app with --spa and asks as a browser does: a deep
// route that is a navigation gets the shell, 200, no-cache; a missing
// asset gets 404, however it is asked for (issue 14: the obvious rule
// answered it with 200 text/html); a fingerprinted file is immutable.
func TestSPA(t *testing.T) {
	srv := startServer(t, newSPASite(t), "--spa")
	const nav = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, tt := range []struct {
		name, target string
		header       []string
		status       int
		body         string
		cache        string
	}{
		{"deep route", "/settings/profile", []string{nav, "Sec-Fetch-Dest: document"}, 200, spaShell, "no-cache"},
		{"deep route, no Sec-Fetch-Dest", "/settings/profile?tab=2", []string{nav}, 200, spaShell, "no-cache"},
		{"HEAD of a deep route", "/a/b", []string{nav}, 200, "", "no-cache"},
		{"shell", "/", []string{nav}, 200, spaShell, "no-cache"},
		{"fingerprinted script", "/assets/app.3f9a2c1b.js", []string{"Accept: */*", "Sec-Fetch-Dest: script"}, 200, spaScript, "public, max-age=31536000, immutable"},
		{"plain file", "/robots.txt", nil, 200, "User-agent: *\n", "no-cache"},
		{"missing script", "/assets/app.00000000.js", []string{"Accept: */*", "Sec-Fetch-Dest: script"}, 404, "", ""},
		{"missing script in the address bar", "/assets/x.js", []string{nav, "Sec-Fetch-Dest: document"}, 404, "", ""},
		{"favicon", "/favicon.ico", []string{"Accept: image/avif,image/webp,*/*", "Sec-Fetch-Dest: image"}, 404, "", ""},
		{"source map", "/assets/app.3f9a2c1b.js.map", []string{"Accept: */*"}, 404, "", ""},
		{"fetch of a route", "/api/user", []string{"Accept: application/json", "Sec-Fetch-Dest: empty"}, 404, "", ""},
		{"curl", "/settings", []string{"Accept: */*"}, 404, "", ""},
	} {
		method := "GET"
		if strings.HasPrefix(tt.name, "HEAD") {
			method = "HEAD"
		}
		r := srv.roundTrip(request(method, tt.target, tt.header...))
		if !checkStatus(t, tt.name, r, tt.status) {
			continue
		}
		if tt.body != "" {
			checkBody(t, tt.name, r, []byte(tt.body))
		}
		if got := r.get("Cache-Control"); tt.status == 200 && got != tt.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.name, got, tt.cache)
		}
		if tt.status == 404 && strings.HasPrefix(r.get("Content-Type"), "text/html") && strings.Contains(string(r.Body), "spa shell") {
			t.Errorf("%s: 404 with the shell", tt.name)
		}
	}
}

// TestSPAInBrowser: in Chromium, a deep route of an app served with --spa
// loads the shell, which runs its script; the missing image it asks for
// is a 404, and so is a fetch() of a missing route.
func TestSPAInBrowser(t *testing.T) {
	execPath := needBrowser(t)
	t.Parallel()
	srv := startServer(t, newSPASite(t), "--spa")
	base := "http://" + srv.addr
	ctx, _ := newBrowser(t, execPath)

	load(t, ctx, chromedp.Navigate(base+"/users/42/settings")) // fails unless 200
	if got := evaluate[string](t, ctx, `document.querySelector("h1")?.textContent ?? ""`); got != "spa shell" {
		t.Errorf("deep route: h1 %q, want the shell's", got)
	}
	if got := evaluate[string](t, ctx, `String(window.appRan)`); got != "/users/42/settings" {
		t.Errorf("deep route: the app's script ran with %q, want the route (a script answered with HTML does not run)", got)
	}
	status := func(url string) int {
		expr := fmt.Sprintf(`new Promise(resolve => {
			const seen = () => performance.getEntriesByName(%q)[0];
			const poll = () => seen() ? resolve(seen().responseStatus) : setTimeout(poll, 20);
			poll();
		})`, url)
		return awaitInt(t, ctx, expr)
	}
	awaitStatus := func(what string, got, want int) {
		if got != want {
			t.Errorf("%s: status %d, want %d", what, got, want)
		}
	}
	awaitStatus("the shell's missing image", status(base+"/missing.png"), 404)
	awaitStatus("the shell's script", status(base+"/assets/app.3f9a2c1b.js"), 200)
	got := awaitInt(t, ctx, `fetch("/api/missing").then(r => r.status)`)
	awaitStatus("fetch() of a missing route", got, 404)
	got = awaitInt(t, ctx, `fetch("/favicon.ico").then(r => r.status)`)
	awaitStatus("fetch() of /favicon.ico", got, 404)
}

// awaitInt is evaluate for an expression whose value is a promise of a
// number, waited for under navTimeout.
func awaitInt(t *testing.T, ctx context.Context, expr string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, navTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// TestSPAOverEveryProtocol: Sec-Fetch-Dest decides alike over HTTP/1.1,
// HTTP/2 and HTTP/3 (package reqfield reads it for all three).
func TestSPAOverEveryProtocol(t *testing.T) {
	srv := startServer(t, newSPASite(t), "--spa", "--tls-self-signed", "--https", "127.0.0.1:0")
	base := "https://" + httpsAddr(t, srv)
	for proto, c := range clients() {
		for _, tt := range []struct {
			dest, accept string
			status       int
		}{
			{"document", "*/*", 200},
			{"script", "text/html", 404},
			{"", "text/html", 200},
			{"", "*/*", 404},
		} {
			req, _ := http.NewRequest("GET", base+"/deep/route", nil)
			req.Header.Set("Accept", tt.accept)
			if tt.dest != "" {
				req.Header.Set("Sec-Fetch-Dest", tt.dest)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", proto, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || (tt.status == 200 && string(body) != spaShell) {
				t.Errorf("%s: Sec-Fetch-Dest %q, Accept %q: %d %q, want %d", proto, tt.dest, tt.accept, resp.StatusCode, clip(body, 40), tt.status)
			}
			if !slices.Contains(resp.Header.Values("Vary"), "Accept, Sec-Fetch-Dest") {
				t.Errorf("%s: Vary %q, want Accept, Sec-Fetch-Dest among them", proto, resp.Header.Values("Vary"))
			}
		}
	}
}
