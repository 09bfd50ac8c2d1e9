package stdhttp

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/quic-go/quic-go/http3"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/errpage"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
)

// css is text that compresses well, like the assets of a real site.
var css = strings.Repeat(".card{margin:0 auto;padding:1rem;color:#1d2a33}\n.nav a{color:#1f6f8b;text-decoration:none}\n", 60)

const (
	hsts         = "max-age=63072000"
	maxInMemory  = 16 << 10
	extraHeaders = "Strict-Transport-Security: " + hsts + "\r\nAlt-Svc: h3=\":443\"; ma=86400\r\n"
)

// testTree is the site every test serves.
type testTree struct {
	root   string
	site   *respond.Site
	files  map[string][]byte
	bigBin []byte
}

// newTree builds a real core over a temporary root: small files held in
// memory, a large compressible one streamed compressed, a large binary one
// sent from the file, a directory with an index and one to list.
func newTree(t testing.TB) *testTree {
	t.Helper()
	root := t.TempDir()
	big := make([]byte, 100<<10)
	rand.Read(big)
	files := map[string][]byte{
		"index.html":     []byte(strings.Repeat("<p>hello</p>\n", 80)),
		"a.txt":          []byte("alpha beta gamma"),
		"app.css":        []byte(css),
		"big.css":        []byte(strings.Repeat(css, 8)), // > maxInMemory
		"big.bin":        big,
		"sub/index.html": []byte("<p>sub</p>"),
		"list/one.txt":   []byte("1"),
		"list/two.txt":   []byte("22"),
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := resolve.New(root, resolve.Options{Browse: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	cache := content.New(res, content.Options{Revalidate: time.Hour, MaxFileInMemory: maxInMemory})
	tr := &testTree{root: root, site: respond.New(cache, respond.Options{}), files: files, bigBin: big}
	// Large files get their entity-tag from a hash made in the
	// background: wait for it, so the HTTP/1.1 expectation and the HTTP/2
	// answer see the same tag.
	for _, p := range []string{"/big.bin", "/big.css"} {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var resp respond.Response
			tr.site.Serve(&respond.Request{Method: "HEAD", Path: p, AcceptEncoding: "gzip"}, &resp)
			if bytes.Contains(resp.Head.HTTP1(), []byte("ETag:")) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return tr
}

// etag returns the entity-tag the core gives path for Accept-Encoding ae.
func (tr *testTree) etag(t *testing.T, path, ae string) string {
	t.Helper()
	var resp respond.Response
	tr.site.Serve(&respond.Request{Method: "HEAD", Path: path, AcceptEncoding: ae}, &resp)
	for line := range strings.SplitSeq(string(resp.Head.HTTP1()), "\r\n") {
		if v, ok := strings.CutPrefix(line, "ETag: "); ok {
			return v
		}
	}
	t.Fatalf("no ETag for %s (Accept-Encoding %q) in %q", path, ae, resp.Head.HTTP1())
	return ""
}

// serveH2 serves h over HTTP/2 with TLS and returns a client speaking h2
// that neither follows redirects nor decodes bodies.
func serveH2(t testing.TB, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).DisableCompression = true
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client.Timeout = 20 * time.Second
	return srv, client
}

// endpoint is a server speaking one protocol, with a client for it.
type endpoint struct {
	proto  string // "HTTP/2.0", "HTTP/3.0"
	base   string // URL of the server
	client *http.Client
}

// serveAll serves h over HTTP/2 (TCP, TLS) and HTTP/3 (QUIC on UDP), both
// on loopback ports the kernel picks.
func serveAll(t testing.TB, h http.Handler) []endpoint {
	t.Helper()
	srv, c2 := serveH2(t, h)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h3 := &http3.Server{Handler: h, TLSConfig: http3.ConfigureTLSConfig(srv.TLS.Clone())}
	go h3.Serve(udp)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	tr3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}, DisableCompression: true}
	t.Cleanup(func() {
		tr3.Close()
		h3.Close()
		udp.Close()
	})
	c3 := &http.Client{Transport: tr3, CheckRedirect: c2.CheckRedirect, Timeout: c2.Timeout}
	return []endpoint{
		{"HTTP/2.0", srv.URL, c2},
		{"HTTP/3.0", "https://" + udp.LocalAddr().String(), c3},
	}
}

// do sends one request and returns the response with its body read.
func (e endpoint) do(t *testing.T, method, target string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", method, target, e.proto, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s over %s: reading body: %v", method, target, e.proto, err)
	}
	if resp.Proto != e.proto {
		t.Fatalf("%s %s: answered over %s, want %s", method, target, resp.Proto, e.proto)
	}
	return resp, body
}

// http1Answer is what stoa's HTTP/1.1 engine would send for the same
// request: the request head is parsed by internal/http1 and mapped as the
// engine's fillCoreRequest does, then the core decides.
type http1Answer struct {
	status  int
	lines   [][2]string // header lines from the core, in order
	chunked bool
	body    []byte // for a stream: what the stream wrote
}

func (tr *testTree) http1(t *testing.T, method, target string, hdr map[string]string) http1Answer {
	t.Helper()
	head := method + " " + target + " HTTP/1.1\r\nHost: example.com\r\n"
	for k, v := range hdr {
		head += k + ": " + v + "\r\n"
	}
	head += "\r\n"
	var pr http1.Request
	if _, err := http1.Parse([]byte(head), &pr, nil); err != nil {
		t.Fatalf("parsing %q: %v", head, err)
	}
	s := func(b []byte) string { return string(b) }
	creq := respond.Request{
		Method: s(pr.Method), Path: s(pr.Path), Query: s(pr.Query), HasQuery: pr.HasQuery,
		Host: s(pr.Host),
	}
	creq.SetFields(&pr.Fields)

	var resp respond.Response
	tr.site.Serve(&creq, &resp)
	defer func() {
		if resp.Handle != nil {
			resp.Handle.Release()
		}
	}()
	a := http1Answer{status: resp.Status, chunked: resp.Chunked}
	for line := range strings.SplitSeq(string(resp.Head.HTTP1())+string(resp.Extra), "\r\n") {
		if name, v, ok := strings.Cut(line, ": "); ok {
			a.lines = append(a.lines, [2]string{name, v})
		}
	}
	section := func(off, n int64) []byte {
		b := make([]byte, n)
		if _, err := resp.File.ReadAt(b, off); err != nil {
			t.Fatalf("reading the core's file: %v", err)
		}
		return b
	}
	switch {
	case resp.Stream != nil:
		var buf bytes.Buffer
		if err := resp.Stream(&buf); err != nil {
			t.Fatalf("core stream: %v", err)
		}
		a.body = buf.Bytes()
	case resp.Parts != nil:
		for _, p := range resp.Parts {
			a.body = append(a.body, p.Prefix...)
			if resp.File != nil {
				a.body = append(a.body, section(p.Off, p.Len)...)
			} else {
				a.body = append(a.body, resp.Body[p.Off:p.Off+p.Len]...)
			}
		}
	case resp.File != nil:
		a.body = section(resp.FileOff, resp.FileLen)
	default:
		a.body = resp.Body
	}
	return a
}

// sameAsHTTP1 checks that the HTTP/2 answer carries the status, header lines
// and body the HTTP/1.1 engine would send, less what HTTP/2 forbids, plus
// Date (added by net/http) and the Options.Extra lines.
func sameAsHTTP1(t *testing.T, want http1Answer, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != want.status {
		t.Errorf("status %d, HTTP/1.1 answers %d", resp.StatusCode, want.status)
	}
	wantVals := map[string][]string{
		"Server":                    {"stoa"},
		"Strict-Transport-Security": {hsts},
		"Alt-Svc":                   {`h3=":443"; ma=86400`},
	}
	for _, l := range want.lines {
		if header.ConnectionSpecific(l[0]) || want.chunked && strings.EqualFold(l[0], "Content-Length") {
			continue
		}
		k := http.CanonicalHeaderKey(l[0])
		wantVals[k] = append(wantVals[k], l[1])
	}
	for k, v := range wantVals {
		if got := resp.Header.Values(k); !slices.Equal(got, v) {
			t.Errorf("%s: %q, HTTP/1.1 sends %q", k, got, v)
		}
	}
	for k := range resp.Header {
		if _, ok := wantVals[k]; !ok && k != "Date" {
			t.Errorf("%s: %q, which HTTP/1.1 does not send", k, resp.Header.Values(k))
		}
	}
	if resp.Header.Get("Date") == "" {
		t.Errorf("no Date")
	}
	enc := resp.Header.Get("Content-Encoding")
	if want.chunked && enc != "" {
		// A compressor's bytes may differ run to run; what they decode
		// to may not.
		if got, w := decode(t, enc, body), decode(t, enc, want.body); !bytes.Equal(got, w) {
			t.Errorf("body decodes to %d bytes, the HTTP/1.1 body to %d", len(got), len(w))
		}
	} else if !bytes.Equal(body, want.body) {
		t.Errorf("body: %d bytes %.40q, HTTP/1.1 sends %d bytes %.40q", len(body), body, len(want.body), want.body)
	}
}

func decode(t *testing.T, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd body: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unknown Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s body: %v", enc, err)
	}
	return b
}

// parts reads a multipart/byteranges body into its Content-Range values
// and bytes.
func parts(t *testing.T, resp *http.Response, body []byte) (ranges []string, data [][]byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q: want multipart/byteranges", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return ranges, data
		}
		if err != nil {
			t.Fatalf("multipart body: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("multipart part: %v", err)
		}
		ranges = append(ranges, p.Header.Get("Content-Range"))
		data = append(data, b)
	}
}

// TestMatchesHTTP1 serves the same requests over HTTP/2 and HTTP/3 and
// checks each answer both against what the behaviour must be and against
// what stoa's HTTP/1.1 engine sends for the same request.
func TestMatchesHTTP1(t *testing.T) {
	tr := newTree(t)
	endpoints := serveAll(t, New(tr.site, Options{Extra: []byte(extraHeaders)}))
	html := tr.files["index.html"]
	tag := tr.etag(t, "/index.html", "")
	gzTag := tr.etag(t, "/app.css", "gzip")

	type check func(t *testing.T, resp *http.Response, body []byte)
	header := func(name, want string) check {
		return func(t *testing.T, resp *http.Response, _ []byte) {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
	}
	present := func(names ...string) check {
		return func(t *testing.T, resp *http.Response, _ []byte) {
			for _, n := range names {
				if resp.Header.Get(n) == "" {
					t.Errorf("no %s", n)
				}
			}
		}
	}
	absent := func(names ...string) check {
		return func(t *testing.T, resp *http.Response, _ []byte) {
			for _, n := range names {
				if v, ok := resp.Header[http.CanonicalHeaderKey(n)]; ok {
					t.Errorf("%s: %q, want none", n, v)
				}
			}
		}
	}
	bodyIs := func(want []byte) check {
		return func(t *testing.T, _ *http.Response, body []byte) {
			if !bytes.Equal(body, want) {
				t.Errorf("body: %d bytes %.40q, want %d bytes %.40q", len(body), body, len(want), want)
			}
		}
	}
	decodesTo := func(want []byte) check {
		return func(t *testing.T, resp *http.Response, body []byte) {
			if got := decode(t, resp.Header.Get("Content-Encoding"), body); !bytes.Equal(got, want) {
				t.Errorf("body decodes to %d bytes, want the %d of the file", len(got), len(want))
			}
		}
	}
	multipartOf := func(file []byte, size int, want ...[2]int) check {
		return func(t *testing.T, resp *http.Response, body []byte) {
			ranges, data := parts(t, resp, body)
			if len(ranges) != len(want) {
				t.Fatalf("%d parts %q, want %d", len(ranges), ranges, len(want))
			}
			for i, w := range want {
				cr := "bytes " + itoa(w[0]) + "-" + itoa(w[1]) + "/" + itoa(size)
				if ranges[i] != cr || !bytes.Equal(data[i], file[w[0]:w[1]+1]) {
					t.Errorf("part %d: Content-Range %q and %d bytes, want %q and its bytes", i, ranges[i], len(data[i]), cr)
				}
			}
		}
	}

	for _, tt := range []struct {
		name           string
		method, target string
		hdr            map[string]string
		status         int
		checks         []check
	}{
		{"file", "GET", "/index.html", nil, 200, []check{
			header("Content-Type", "text/html; charset=utf-8"), header("Content-Length", itoa(len(html))),
			header("ETag", tag), present("Last-Modified"), bodyIs(html)}},
		{"HEAD", "HEAD", "/index.html", nil, 200, []check{
			header("Content-Length", itoa(len(html))), header("ETag", tag), present("Last-Modified"), bodyIs(nil)}},
		{"If-None-Match", "GET", "/index.html", map[string]string{"If-None-Match": tag}, 304, []check{
			header("ETag", tag), absent("Content-Length"), bodyIs(nil)}},
		{"If-Match mismatch", "GET", "/index.html", map[string]string{"If-Match": `"other"`}, 412, nil},
		{"single range", "GET", "/a.txt", map[string]string{"Range": "bytes=6-9"}, 206, []check{
			header("Content-Range", "bytes 6-9/16"), header("Content-Length", "4"), bodyIs([]byte("beta"))}},
		{"ranges", "GET", "/index.html", map[string]string{"Range": "bytes=0-4,1000-"}, 206, []check{
			multipartOf(html, len(html), [2]int{0, 4}, [2]int{1000, len(html) - 1})}},
		{"ranges of a file", "GET", "/big.bin", map[string]string{"Range": "bytes=10-19,50000-80000"}, 206, []check{
			multipartOf(tr.bigBin, len(tr.bigBin), [2]int{10, 19}, [2]int{50000, 80000})}},
		{"range of a file", "GET", "/big.bin", map[string]string{"Range": "bytes=-100"}, 206, []check{
			bodyIs(tr.bigBin[len(tr.bigBin)-100:])}},
		{"unsatisfiable", "GET", "/a.txt", map[string]string{"Range": "bytes=100-"}, 416, []check{
			header("Content-Range", "bytes */16")}},
		{"If-Range mismatch", "GET", "/a.txt", map[string]string{"Range": "bytes=0-4", "If-Range": `"old"`}, 200, []check{
			bodyIs(tr.files["a.txt"])}},
		{"whole file", "GET", "/big.bin", nil, 200, []check{
			header("Content-Length", itoa(len(tr.bigBin))), bodyIs(tr.bigBin)}},
		{"gzip", "GET", "/app.css", map[string]string{"Accept-Encoding": "gzip"}, 200, []check{
			header("Content-Encoding", "gzip"), header("Vary", "Accept-Encoding"), header("ETag", gzTag), decodesTo([]byte(css))}},
		{"br", "GET", "/app.css", map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}, 200, []check{
			header("Content-Encoding", "br"), header("Vary", "Accept-Encoding"), decodesTo([]byte(css))}},
		{"zstd", "GET", "/app.css", map[string]string{"Accept-Encoding": "zstd"}, 200, []check{
			header("Content-Encoding", "zstd"), header("Vary", "Accept-Encoding"), decodesTo([]byte(css))}},
		{"identity", "GET", "/app.css", nil, 200, []check{
			absent("Content-Encoding"), header("Vary", "Accept-Encoding"), bodyIs([]byte(css))}},
		{"gzip If-None-Match", "GET", "/app.css", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gzTag}, 304, nil},
		{"streamed", "GET", "/big.css", map[string]string{"Accept-Encoding": "gzip"}, 200, []check{
			header("Content-Encoding", "gzip"), absent("Content-Length"), decodesTo(tr.files["big.css"])}},
		{"streamed HEAD", "HEAD", "/big.css", map[string]string{"Accept-Encoding": "zstd"}, 200, []check{
			header("Content-Encoding", "zstd"), absent("Content-Length"), bodyIs(nil)}},
		{"not found", "GET", "/nope", nil, 404, []check{
			header("Content-Type", "text/html; charset=utf-8"), bodyIs(errpage.Default().Body(404))}},
		{"method", "DELETE", "/index.html", nil, 405, []check{header("Allow", respond.Allow)}},
		{"OPTIONS", "OPTIONS", "/index.html", nil, 200, []check{header("Allow", respond.Allow), header("Content-Length", "0")}},
		{"directory", "GET", "/sub", nil, 301, []check{header("Location", "/sub/")}},
		{"directory with query", "GET", "/sub?a=1", nil, 301, []check{header("Location", "/sub/?a=1")}},
		{"index", "GET", "/sub/", nil, 200, []check{bodyIs(tr.files["sub/index.html"])}},
		{"listing", "GET", "/list/", map[string]string{"Accept": "application/json"}, 200, []check{
			header("Content-Type", "application/json"), header("Vary", "Accept")}},
		{"escaped path", "GET", "/%61.txt", nil, 200, []check{bodyIs(tr.files["a.txt"])}},
	} {
		for _, e := range endpoints {
			t.Run(e.proto+"/"+tt.name, func(t *testing.T) {
				resp, body := e.do(t, tt.method, tt.target, tt.hdr)
				if resp.StatusCode != tt.status {
					t.Fatalf("%s %s: status %d, want %d", tt.method, tt.target, resp.StatusCode, tt.status)
				}
				for _, c := range tt.checks {
					c(t, resp, body)
				}
				for _, n := range []string{"Connection", "Transfer-Encoding", "Keep-Alive"} {
					if v, ok := resp.Header[n]; ok {
						t.Errorf("%s: %q in an %s response", n, v, e.proto)
					}
				}
				if len(resp.TransferEncoding) != 0 {
					t.Errorf("TransferEncoding %q in an %s response", resp.TransferEncoding, e.proto)
				}
				sameAsHTTP1(t, tr.http1(t, tt.method, tt.target, tt.hdr), resp, body)
			})
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestQUICHandshakeWithinReadHeaderTimeout: quic-go ends a handshake after
// twice its HandshakeIdleTimeout at most, so half of ReadHeaderTimeout
// bounds the whole handshake by ReadHeaderTimeout, as over TCP. (A
// black-box test cannot see it: quic-go drops a timed-out handshake
// silently, and a client that sent one Initial gets no more than three
// times its bytes back before that, so the end sends nothing to observe.)
func TestQUICHandshakeWithinReadHeaderTimeout(t *testing.T) {
	for _, rht := range []time.Duration{time.Second, 10 * time.Second} {
		qc := quicConfig(Limits{ReadHeaderTimeout: rht})
		if total := 2 * qc.HandshakeIdleTimeout; total != rht {
			t.Errorf("ReadHeaderTimeout %v: HandshakeIdleTimeout %v lets a handshake last %v", rht, qc.HandshakeIdleTimeout, total)
		}
	}
}
