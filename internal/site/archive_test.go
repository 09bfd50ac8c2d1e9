package site

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/archive"
	"github.com/stoahttp/stoa/internal/basicauth"
	"github.com/stoahttp/stoa/internal/budget"
	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/respond"
)

// archived asks s for the zip of path and returns its member names, with
// the answer's status and header.
func archived(t *testing.T, s *Site, req respond.Request) (answer, []string) {
	t.Helper()
	req.Method = "GET"
	if !req.Peer.IsValid() {
		req.Peer = netip.MustParseAddr("192.0.2.10")
	}
	var resp respond.Response
	s.Serve(&req, &resp)
	a := answer{status: resp.Status, header: string(resp.Head.HTTP1()) + string(resp.Extra)}
	if resp.Stream == nil {
		if resp.Handle != nil {
			resp.Handle.Release()
		}
		return a, nil
	}
	var buf bytes.Buffer
	err := resp.Stream(&buf)
	resp.Handle.Release()
	if err != nil {
		t.Fatalf("%s: stream: %v", req.Path, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("%s: %v", req.Path, err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return a, names
}

// TestArchiveLeavesOutWhatRulesGuard: the archive of a folder passed the
// guard of the folder's rule only; a file another rule guards (basic
// auth, an allow list) or answers with something else (a rewrite) is
// left out, while a rule that only sets headers changes nothing.
func TestArchiveLeavesOutWhatRulesGuard(t *testing.T) {
	hash, err := basicauth.Hash([]byte("pw"), "argon2id")
	if err != nil {
		t.Fatal(err)
	}
	auth := &config.BasicAuth{Realm: "r", Users: []config.User{{Name: "alice", Hash: hash}}}
	root := tree(t, map[string]string{
		"pub/a.txt":          "a",
		"pub/style.css":      "body{}",
		"pub/staging/s.txt":  "secret",
		"pub/admin/x.txt":    "admin",
		"pub/old/page.html":  "rewritten",
		"guarded/g.txt":      "g",
		"guarded/open/o.txt": "o",
	})
	s := newSite(t, config.Site{Root: root, Browse: true, Archive: true, Rules: []config.Rule{
		{Match: "*.css", Headers: ops("X-Css", "1")},
		{Match: "/pub/staging/*", BasicAuth: auth},
		{Match: "/pub/admin/*", Allow: prefixes("10.0.0.0/8")},
		{Match: "/pub/old/*", Rewrite: "/pub/a.txt"},
		{Match: "/guarded/*", BasicAuth: auth},
	}})
	a, names := archived(t, s, respond.Request{Path: "/pub/", Query: "archive=zip", HasQuery: true})
	// The folders stay, empty, as the listing of /pub/ shows them.
	want := "pub/ pub/a.txt pub/admin/ pub/old/ pub/staging/ pub/style.css"
	if a.status != 200 || strings.Join(names, " ") != want {
		t.Errorf("/pub/?archive=zip: %d, members %q, want 200 with %q", a.status, names, want)
	}
	if !a.has("Content-Type: application/zip") || !a.has(`Content-Disposition: attachment; filename="pub.zip"; filename*=UTF-8''pub.zip`) {
		t.Errorf("/pub/?archive=zip header:\n%s", a.header)
	}
	// "/guarded/*" guards the folder itself ("/guarded/"), so its archive
	// is refused without credentials and, with them, holds what the rule
	// guards. (Before issue 14's leftover it matched the folder as
	// "/guarded" only, which no rule matched: the archive was answered
	// to anyone, holding the folder alone, and its listing and index file
	// were served to anyone: TestRuleGuardsTheFolderItMatches.)
	a, names = archived(t, s, respond.Request{Path: "/guarded/", Query: "archive=zip", HasQuery: true})
	if a.status != 401 || len(names) != 0 {
		t.Errorf("/guarded/?archive=zip without credentials: %d, members %q, want 401", a.status, names)
	}
	a, names = archived(t, s, respond.Request{Path: "/guarded/", Query: "archive=zip", HasQuery: true,
		Authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))})
	if want := "guarded/ guarded/g.txt guarded/open/ guarded/open/o.txt"; a.status != 200 || strings.Join(names, " ") != want {
		t.Errorf("/guarded/?archive=zip with credentials: %d, members %q, want 200 with %q", a.status, names, want)
	}
}

func TestArchiveRequests(t *testing.T) {
	root := tree(t, map[string]string{"d/a.txt": "a", "d/index.html.not": "x"})
	on := newSite(t, config.Site{Root: root, Browse: true, Archive: true})
	off := newSite(t, config.Site{Root: root, Browse: true})
	for _, tt := range []struct {
		name   string
		s      *Site
		method string
		path   string
		query  string
		status int
		line   string // a header line the answer has
		body   string // in the body
	}{
		{"listing links", on, "GET", "/d/", "", 200, "Content-Type: text/html; charset=utf-8", `<a href="?archive=zip" download="d.zip">`},
		{"tar.gz", on, "GET", "/d/", "archive=tar.gz", 200, "Content-Type: application/gzip", ""},
		{"HEAD", on, "HEAD", "/d/", "archive=zip", 200, "Content-Type: application/zip", ""},
		{"unknown format", on, "GET", "/d/", "archive=rar", 400, "", ""},
		{"not a folder", on, "GET", "/d/a.txt", "archive=zip", 200, "Content-Type: text/plain; charset=utf-8", "a"},
		{"off: a listing", off, "GET", "/d/", "archive=zip", 200, "Content-Type: text/html; charset=utf-8", "a.txt"},
		{"off: no links", off, "GET", "/d/", "", 200, "Content-Type: text/html; charset=utf-8", "a.txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, tt.s, respond.Request{Method: tt.method, Path: tt.path, Query: tt.query, HasQuery: tt.query != ""})
			if a.status != tt.status || (tt.line != "" && !a.has(tt.line)) || !strings.Contains(a.body, tt.body) {
				t.Errorf("%s %s?%s: %d\n%s%q\nwant %d with %q and %q", tt.method, tt.path, tt.query, a.status, a.header, a.body, tt.status, tt.line, tt.body)
			}
			if tt.s == off && strings.Contains(a.body, "archive=") {
				t.Errorf("archive off, but the listing offers one: %q", a.body)
			}
		})
	}
}

// TestArchiveBudget: an archive takes archive.Cost of the in-flight budget
// until its stream ends, and with no room left the answer is 503 with
// Retry-After, not an archive that nothing bounds.
func TestArchiveBudget(t *testing.T) {
	s := newSite(t, config.Site{Root: tree(t, map[string]string{"d/a.txt": "a"}), Browse: true, Archive: true})
	req := respond.Request{Method: "GET", Path: "/d/", Query: "archive=zip", HasQuery: true, Peer: netip.MustParseAddr("192.0.2.10")}
	before := budget.Held()
	var resp respond.Response
	s.Serve(&req, &resp)
	if got := budget.Held() - before; resp.Status != 200 || got != archive.Cost {
		t.Fatalf("archive: %d, holds %d bytes of the budget, want 200 holding %d", resp.Status, got, archive.Cost)
	}
	if err := resp.Stream(io.Discard); err != nil {
		t.Fatal(err)
	}
	resp.Handle.Release()
	if got := budget.Held() - before; got != 0 {
		t.Errorf("after the stream and release, %d bytes still held", got)
	}

	restore := budget.SetLimit(budget.Held() + archive.Cost - 1)
	defer restore()
	a := get(t, s, req)
	if a.status != 503 || !a.has("Retry-After: "+respond.RetryAfter) {
		t.Errorf("no room: %d\n%s\nwant 503 with Retry-After", a.status, a.header)
	}
	if a := get(t, s, respond.Request{Method: "HEAD", Path: "/d/", Query: "archive=zip", HasQuery: true}); a.status != 200 {
		t.Errorf("HEAD with no room: %d, want 200 (a HEAD holds nothing)", a.status)
	}
}

// TestReadmeLeavesOutWhatRulesGuard: a listing shows its README.md only
// when the request for the listing could also fetch the README: one a
// rule of its own guards (basic auth) is listed but not shown.
func TestReadmeLeavesOutWhatRulesGuard(t *testing.T) {
	hash, err := basicauth.Hash([]byte("pw"), "argon2id")
	if err != nil {
		t.Fatal(err)
	}
	auth := &config.BasicAuth{Realm: "r", Users: []config.User{{Name: "alice", Hash: hash}}}
	root := tree(t, map[string]string{
		"open/README.md":  "open readme",
		"guard/README.md": "guarded readme",
	})
	s := newSite(t, config.Site{Root: root, Browse: true, Readme: true, Rules: []config.Rule{
		{Match: "/guard/README.md", BasicAuth: auth},
	}})
	for _, tt := range []struct{ path, text string }{{"/open/", "open readme"}, {"/guard/", ""}} {
		var resp respond.Response
		s.Serve(&respond.Request{Method: "GET", Path: tt.path, Peer: netip.MustParseAddr("192.0.2.10")}, &resp)
		body := string(resp.Body)
		if resp.Handle != nil {
			resp.Handle.Release()
		}
		shown := strings.Contains(body, `<article class="readme">`)
		if resp.Status != 200 || shown != (tt.text != "") || !strings.Contains(body, tt.text) || tt.text == "" && strings.Contains(body, "guarded readme") {
			t.Errorf("GET %s: status %d, README shown %v, want it shown %v:\n%s", tt.path, resp.Status, shown, tt.text != "", body)
		}
	}
}
