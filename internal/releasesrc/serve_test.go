package releasesrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/source"
)

type answer struct {
	status int
	header map[string]string
	body   string
}

// serve decides req on a core over src, as a site does, and reads the body.
func serve(t *testing.T, core *respond.Site, req respond.Request) answer {
	t.Helper()
	var resp respond.Response
	core.Serve(&req, &resp)
	a := answer{status: resp.Status, header: map[string]string{}}
	for _, line := range strings.Split(string(resp.Head.HTTP1())+string(resp.Extra), "\r\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			a.header[k] = v
		}
	}
	var body bytes.Buffer
	switch {
	case resp.File != nil:
		io.Copy(&body, io.NewSectionReader(resp.File, resp.FileOff, resp.FileLen))
	default:
		body.Write(resp.Body)
	}
	if resp.Handle != nil {
		resp.Handle.Release()
	}
	a.body = body.String()
	return a
}

func newCore(src source.Source) (*respond.Site, *content.Cache) {
	res := resolve.Over(src, resolve.Options{Browse: true})
	cache := content.New(res, content.Options{DisableCompression: true, Revalidate: -1, MaxFileInMemory: 64})
	return respond.New(cache, respond.Options{}), cache
}

func etag(b string) string {
	sum := sha256.Sum256([]byte(b))
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// TestServeRelease: a release served through the content cache and the
// decision core: ETag and Last-Modified from the manifest, the deploy's
// encodings negotiated with no compression on the server, ranges of a
// large file from its verified blob, listings, and the release named.
func TestServeRelease(t *testing.T) {
	s := newFakeStore()
	clk := &clock{now: modTime}
	d := &deployer{s: s, clk: clk}
	js := strings.Repeat("app();", 100)
	d.deploy("r1", s.file("index.html", "text/html; charset=utf-8", []byte("<h1>r1</h1>")),
		s.file("assets/app.js", "text/javascript; charset=utf-8", []byte(js), s.variant("br", []byte("BR"))),
		s.file("about.html", "text/html; charset=utf-8", []byte("about")))
	f, err := Follow(context.Background(), s, newBlobs(t, s, 10*time.Second), FollowOptions{
		Timeout: 10 * time.Second, Window: time.Hour, ReleaseHeader: true,
		DecodePointer: testDecodePointer, DecodeManifest: testDecodeManifest, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each tree is served by a cache and core of its own, as a site does.
	core, cache := newCore(f.Tree())
	get := func(path string, mod ...func(*respond.Request)) answer {
		req := respond.Request{Method: "GET", Path: path}
		for _, m := range mod {
			m(&req)
		}
		return serve(t, core, req)
	}
	lastMod := modTime.Format(time.RFC1123)
	lastMod = strings.Replace(lastMod, "UTC", "GMT", 1)

	a := get("/")
	if a.status != 200 || a.body != "<h1>r1</h1>" || a.header["ETag"] != etag("<h1>r1</h1>") ||
		a.header["Last-Modified"] != lastMod || a.header["Stoa-Release"] != "r1" {
		t.Errorf("GET / = %d %v %q", a.status, a.header, a.body)
	}
	a = get("/assets/app.js", func(r *respond.Request) { r.AcceptEncoding = "br, zstd, gzip" })
	if a.status != 200 || a.body != "BR" || a.header["Content-Encoding"] != "br" || a.header["Vary"] != "Accept-Encoding" {
		t.Errorf("GET app.js, br accepted = %d %v %q", a.status, a.header, a.body)
	}
	a = get("/assets/app.js", func(r *respond.Request) { r.AcceptEncoding = "gzip" })
	if a.status != 200 || a.body != js || a.header["Content-Encoding"] != "" {
		t.Errorf("GET app.js, gzip accepted (no gzip variant) = %d %v", a.status, a.header)
	}
	a = get("/assets/app.js", func(r *respond.Request) { r.Range = "bytes=6-11" })
	if a.status != 206 || a.body != "app();" || a.header["Content-Range"] != "bytes 6-11/600" {
		t.Errorf("GET app.js, range = %d %v %q", a.status, a.header, a.body)
	}
	a = get("/assets/app.js", func(r *respond.Request) { r.Cond.IfNoneMatch = etag(js) })
	if a.status != 304 {
		t.Errorf("GET app.js, If-None-Match = %d", a.status)
	}
	a = get("/assets/", func(r *respond.Request) { r.Accept = "application/json" })
	if a.status != 200 || !strings.Contains(a.body, `"app.js"`) {
		t.Errorf("listing /assets/ = %d %q", a.status, a.body)
	}
	if st := cache.Stats(); st.Compressions != 0 {
		t.Errorf("%d compressions on the server, want 0", st.Compressions)
	}

	// A deploy: r2 drops app.js (now app.2.js) and about.html.
	clk.add(time.Minute)
	d.deploy("r2", s.file("index.html", "text/html; charset=utf-8", []byte("<h1>r2</h1>")),
		s.file("assets/app.2.js", "text/javascript; charset=utf-8", []byte("two")))
	if changed, err := f.Check(context.Background()); !changed || err != nil {
		t.Fatalf("Check: %v, %v", changed, err)
	}
	core, _ = newCore(f.Tree())
	for _, tt := range []struct {
		path, body, rel string
		status          int
	}{
		{"/", "<h1>r2</h1>", "r2", 200},
		{"/assets/app.2.js", "two", "r2", 200},
		{"/assets/app.js", js, "r1", 200}, // a page of r1 still gets its script
		{"/about.html", "", "", 404},      // a page removed is gone at once
	} {
		a := get(tt.path)
		if a.status != tt.status || tt.status == 200 && (a.body != tt.body || a.header["Stoa-Release"] != tt.rel) {
			t.Errorf("after the deploy, GET %s = %d, %s, %q; want %d, %s, %q", tt.path, a.status, a.header["Stoa-Release"], a.body, tt.status, tt.rel, tt.body)
		}
	}
	clk.add(time.Hour)
	if changed, err := f.Check(context.Background()); !changed || err != nil {
		t.Fatalf("Check: %v, %v", changed, err)
	}
	core, _ = newCore(f.Tree())
	if a := get("/assets/app.js"); a.status != 404 {
		t.Errorf("after the window, GET /assets/app.js = %d, want 404", a.status)
	}
}

// TestServeStoreDown: with the store unreachable, what is cached keeps
// being served; an uncached file gets 503 with Retry-After within the
// timeout; corrupt bytes get 502; when the store is back, all is served.
func TestServeStoreDown(t *testing.T) {
	s := newFakeStore()
	clk := &clock{now: modTime}
	d := &deployer{s: s, clk: clk}
	d.deploy("r1", s.file("cached.txt", "text/plain", []byte("cached")),
		s.file("big.bin", "application/octet-stream", bytes.Repeat([]byte("b"), 1000)),
		s.file("cold.txt", "text/plain", []byte("cold")),
		s.file("bad.txt", "text/plain", []byte("bad")))
	f, err := Follow(context.Background(), s, newBlobs(t, s, 300*time.Millisecond), FollowOptions{
		Timeout: 10 * time.Second, DecodePointer: testDecodePointer, DecodeManifest: testDecodeManifest, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	core, _ := newCore(f.Tree())
	get := func(path string) answer { return serve(t, core, respond.Request{Method: "GET", Path: path}) }
	for _, p := range []string{"/cached.txt", "/big.bin"} {
		if a := get(p); a.status != 200 {
			t.Fatalf("GET %s = %d", p, a.status)
		}
	}
	stall := newStall()
	defer stall.Close()
	s.setFault(func(key string) (io.ReadCloser, error) {
		if strings.Contains(key, "blobs/") {
			return stall, nil
		}
		return nil, errors.New("connection refused")
	})
	for _, p := range []string{"/cached.txt", "/big.bin"} {
		if a := get(p); a.status != 200 {
			t.Errorf("store down: GET %s (cached) = %d, want 200", p, a.status)
		}
	}
	start := time.Now()
	a := get("/cold.txt")
	if a.status != 503 || a.header["Retry-After"] == "" {
		t.Errorf("store down: GET /cold.txt = %d, Retry-After %q; want 503 with Retry-After", a.status, a.header["Retry-After"])
	}
	if el := time.Since(start); el > 300*time.Millisecond+5*time.Second {
		t.Errorf("503 after %v, origin timeout 300ms", el)
	}
	if _, err := f.Check(context.Background()); err == nil {
		t.Errorf("pointer check with the store down: no error")
	}
	s.setFault(func(key string) (io.ReadCloser, error) {
		if strings.Contains(key, "blobs/") {
			return io.NopCloser(strings.NewReader("BAD")), nil
		}
		return nil, nil
	})
	if a := get("/bad.txt"); a.status != 502 {
		t.Errorf("corrupt blob: GET /bad.txt = %d, want 502", a.status)
	}
	s.setFault(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := get("/cold.txt")
		if a.status == 200 && a.body == "cold" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store back: GET /cold.txt = %d", a.status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a := get("/bad.txt"); a.status != 200 || a.body != "bad" {
		t.Errorf("store back: GET /bad.txt = %d %q", a.status, a.body)
	}
}

var _ = release.PointerKey
