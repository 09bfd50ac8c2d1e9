package respond

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/resolve"
)

// css is text that compresses well, like the assets of a real site.
var css = strings.Repeat(".card{margin:0 auto;padding:1rem;color:#1d2a33}\n.nav a{color:#1f6f8b;text-decoration:none}\n", 60)

func decode(t *testing.T, enc, body string) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(strings.NewReader(body))
	case "zstd":
		zr, err := zstd.NewReader(strings.NewReader(body))
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
	return string(b)
}

// compressSite serves app.css with a fresh gzip sidecar, lib.js with a
// stale one, and a PNG.
func compressSite(t *testing.T, copt content.Options) (*Site, string, []byte) {
	t.Helper()
	s, root := newSite(t, resolve.Options{}, copt)
	write := func(name string, body []byte, mtime time.Time) {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	var sidecar bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&sidecar, gzip.BestCompression)
	zw.Write([]byte(css))
	zw.Close()
	write("app.css", []byte(css), modTime)
	write("app.css.gz", sidecar.Bytes(), modTime)
	write("lib.js", []byte(css), modTime)
	write("lib.js.gz", []byte("stale bytes"), modTime.Add(-time.Hour))
	write("logo.png", bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 500), modTime)
	return s, root, sidecar.Bytes()
}

func TestNegotiatedEncodings(t *testing.T) {
	s, _, sidecar := compressSite(t, content.Options{})
	identity := do(t, s, Request{Method: "GET", Path: "/app.css"})
	if identity.header["Vary"] != "Accept-Encoding" || identity.header["Content-Encoding"] != "" || identity.body != css {
		t.Fatalf("no Accept-Encoding: Vary %q, Content-Encoding %q; want identity with Vary", identity.header["Vary"], identity.header["Content-Encoding"])
	}
	tags := map[string]string{"": identity.header["ETag"]}
	for _, tt := range []struct {
		ae, want string
	}{
		{"gzip", "gzip"},
		{"br", "br"},
		{"zstd", "zstd"},
		{"gzip, deflate, br, zstd", "br"},
		{"br;q=0, gzip", "gzip"},
		{"gzip;q=0.5, zstd;q=0.8", "zstd"},
		{"identity", ""},
		{"*;q=0, identity", ""},
	} {
		got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: tt.ae})
		if got.status != 200 || got.header["Content-Encoding"] != tt.want {
			t.Errorf("Accept-Encoding %q: status %d Content-Encoding %q, want 200 %q", tt.ae, got.status, got.header["Content-Encoding"], tt.want)
			continue
		}
		if dec := decode(t, tt.want, got.body); dec != css {
			t.Errorf("Accept-Encoding %q: body decodes to %d bytes, want the %d of the file", tt.ae, len(dec), len(css))
		}
		if got.header["Content-Type"] != "text/css; charset=utf-8" || got.header["Vary"] != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Content-Type %q Vary %q", tt.ae, got.header["Content-Type"], got.header["Vary"])
		}
		if prev, ok := tags[tt.want]; ok && prev != got.header["ETag"] {
			t.Errorf("coding %q: ETag %q, earlier %q; want one ETag per representation", tt.want, got.header["ETag"], prev)
		}
		tags[tt.want] = got.header["ETag"]
	}
	if len(tags) != 4 || tags["br"] == tags["gzip"] || tags["br"] == tags[""] {
		t.Errorf("ETags per coding %v: want four different strong tags", tags)
	}
	// The fresh sidecar is sent as it is: gzip -9 from the build.
	if got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip"}); got.body != string(sidecar) {
		t.Errorf("gzip with a fresh sidecar: body is not the sidecar's bytes")
	}
	// A stale sidecar is not used: the file is compressed instead.
	if got := do(t, s, Request{Method: "GET", Path: "/lib.js", AcceptEncoding: "gzip"}); got.header["Content-Encoding"] != "gzip" || decode(t, "gzip", got.body) != css {
		t.Errorf("stale sidecar: Content-Encoding %q, want a fresh gzip of the file", got.header["Content-Encoding"])
	}
	// A sidecar asked for by name is a file of its own type.
	if got := do(t, s, Request{Method: "GET", Path: "/app.css.gz", AcceptEncoding: "gzip"}); got.header["Content-Encoding"] != "" || got.body != string(sidecar) || got.header["Content-Type"] != "application/gzip" {
		t.Errorf("GET /app.css.gz: Content-Type %q Content-Encoding %q; want the file as application/gzip", got.header["Content-Type"], got.header["Content-Encoding"])
	}
	// Images are not compressed again.
	if got := do(t, s, Request{Method: "GET", Path: "/logo.png", AcceptEncoding: "br, gzip"}); got.header["Content-Encoding"] != "" || got.header["Vary"] != "" {
		t.Errorf("PNG: Content-Encoding %q Vary %q, want neither", got.header["Content-Encoding"], got.header["Vary"])
	}
}

func TestConditionalsAndRangesPerRepresentation(t *testing.T) {
	s, _, _ := compressSite(t, content.Options{})
	br := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "br"})
	gz := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip"})
	if got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "br", Cond: cond(ifNoneMatch(br.header["ETag"]))}); got.status != 304 || got.header["Vary"] != "Accept-Encoding" {
		t.Errorf("If-None-Match with the br ETag, asking br: status %d Vary %q, want 304 with Vary", got.status, got.header["Vary"])
	}
	if got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip", Cond: cond(ifNoneMatch(br.header["ETag"]))}); got.status != 200 {
		t.Errorf("If-None-Match with the br ETag, asking gzip: status %d, want 200 (another representation)", got.status)
	}
	// Ranges count the bytes of the representation sent.
	got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip", Range: "bytes=0-9", Cond: cond(ifRange(gz.header["ETag"]))})
	if got.status != 206 || got.body != gz.body[:10] || got.header["Content-Encoding"] != "gzip" || got.header["Content-Range"] != "bytes 0-9/"+itoa(len(gz.body)) {
		t.Errorf("Range on gzip: status %d Content-Range %q Content-Encoding %q", got.status, got.header["Content-Range"], got.header["Content-Encoding"])
	}
	if got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip", Range: "bytes=0-9", Cond: cond(ifRange(br.header["ETag"]))}); got.status != 200 {
		t.Errorf("If-Range with the br ETag on a gzip response: status %d, want 200", got.status)
	}
	head := do(t, s, Request{Method: "HEAD", Path: "/app.css", AcceptEncoding: "br"})
	if head.header["Content-Length"] != br.header["Content-Length"] || head.header["Content-Encoding"] != "br" || head.body != "" {
		t.Errorf("HEAD with br: Content-Length %q Content-Encoding %q; GET had %q br", head.header["Content-Length"], head.header["Content-Encoding"], br.header["Content-Length"])
	}
}

func TestCompressionSwitches(t *testing.T) {
	s, _, sidecar := compressSite(t, content.Options{DisableCompression: true})
	if got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "br, gzip"}); got.header["Content-Encoding"] != "gzip" || got.body != string(sidecar) {
		t.Errorf("compression off, sidecar on: Content-Encoding %q, want the gzip sidecar", got.header["Content-Encoding"])
	}
	if got := do(t, s, Request{Method: "GET", Path: "/lib.js", AcceptEncoding: "br, gzip"}); got.header["Content-Encoding"] != "" {
		t.Errorf("compression off, stale sidecar: Content-Encoding %q, want identity", got.header["Content-Encoding"])
	}
	s2, _, _ := compressSite(t, content.Options{DisableCompression: true, DisableSidecars: true})
	if got := do(t, s2, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip"}); got.header["Content-Encoding"] != "" || got.header["Vary"] != "" {
		t.Errorf("both off: Content-Encoding %q Vary %q, want identity without Vary", got.header["Content-Encoding"], got.header["Vary"])
	}
}

func TestSidecarChangesAreNoticed(t *testing.T) {
	s, root, _ := compressSite(t, content.Options{DisableCompression: true, Revalidate: -1})
	os.Remove(filepath.Join(root, "app.css.gz"))
	if got := do(t, s, Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip"}); got.header["Content-Encoding"] != "" || got.body != css {
		t.Errorf("after the sidecar was removed: Content-Encoding %q, want identity", got.header["Content-Encoding"])
	}
}

func BenchmarkServeCompressedCached(b *testing.B) {
	s, root := newSite(b, resolve.Options{}, content.Options{Revalidate: time.Hour})
	os.WriteFile(filepath.Join(root, "app.css"), []byte(css), 0o644)
	req := Request{Method: "GET", Path: "/app.css", AcceptEncoding: "gzip, deflate, br"}
	var resp Response
	s.Serve(&req, &resp)
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		s.Serve(&req, &resp)
	}
}

func TestStreamedCompressionOfLargeFiles(t *testing.T) {
	s, root := newSite(t, resolve.Options{}, content.Options{MaxFileInMemory: 1 << 10})
	big := strings.Repeat(css, 3) // > MaxFileInMemory, compressible
	os.WriteFile(filepath.Join(root, "big.css"), []byte(big), 0o644)
	stream := func(req Request) (Response, string) {
		var resp Response
		s.Serve(&req, &resp)
		var buf bytes.Buffer
		if resp.Stream != nil {
			if err := resp.Stream(&buf); err != nil {
				t.Fatalf("Stream: %v", err)
			}
		}
		return resp, buf.String()
	}
	resp, body := stream(Request{Method: "GET", Path: "/big.css", AcceptEncoding: "gzip"})
	head := string(resp.Head.HTTP1())
	if resp.Status != 200 || !resp.Chunked || !strings.Contains(head, "Content-Encoding: gzip") || strings.Contains(head, "Content-Length") {
		t.Fatalf("large file with gzip: status %d chunked %v head %q; want a chunked gzip stream without Content-Length", resp.Status, resp.Chunked, head)
	}
	if decode(t, "gzip", body) != big {
		t.Errorf("streamed gzip body does not decode to the file")
	}
	// Brotli is not streamed (no smaller than gzip at streaming speed).
	if r, _ := stream(Request{Method: "GET", Path: "/big.css", AcceptEncoding: "br, gzip"}); !bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding: gzip")) {
		t.Errorf("br, gzip on a large file: head %q, want a gzip stream", r.Head.HTTP1())
	}
	if hresp, hbody := stream(Request{Method: "HEAD", Path: "/big.css", AcceptEncoding: "gzip"}); !hresp.Chunked || hbody != "" || string(hresp.Head.HTTP1()) != head {
		t.Errorf("HEAD: chunked %v head %q; want GET's head and no body", hresp.Chunked, hresp.Head.HTTP1())
	}
	if r, _ := stream(Request{Method: "GET", Path: "/big.css", AcceptEncoding: "gzip", Range: "bytes=0-9"}); r.Status != 206 || r.Chunked || bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding")) {
		t.Errorf("Range on a streamed-only coding: status %d chunked %v; want 206 of the identity bytes", r.Status, r.Chunked)
	}
	// Wait for the identity hash, then the weak tag answers If-None-Match.
	deadline := time.Now().Add(5 * time.Second)
	var tag string
	for tag == "" && time.Now().Before(deadline) {
		r, _ := stream(Request{Method: "HEAD", Path: "/big.css", AcceptEncoding: "gzip"})
		for _, line := range strings.Split(string(r.Head.HTTP1()), "\r\n") {
			if v, ok := strings.CutPrefix(line, "ETag: "); ok {
				tag = v
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(tag, "W/\"") {
		t.Fatalf("streamed representation ETag %q, want a weak tag", tag)
	}
	if r, _ := stream(Request{Method: "GET", Path: "/big.css", AcceptEncoding: "gzip", Cond: cond(ifNoneMatch(tag))}); r.Status != 304 {
		t.Errorf("If-None-Match with the weak tag: status %d, want 304", r.Status)
	}
	if r, _ := stream(Request{Method: "GET", Path: "/big.css", AcceptEncoding: "gzip", Cond: cond(ifMatch(tag))}); r.Status != 412 {
		t.Errorf("If-Match with a weak tag: status %d, want 412 (strong comparison)", r.Status)
	}
}

// TestStreamedBrotliForBrOnlyClients is issue 14's "a br-only client asking
// for a large text file gets identity bytes": a file too large to keep
// encoded is streamed in Brotli to a client that weighs br above the other
// codings, and still in zstd or gzip to one that merely lists br among
// them; ranges and HEAD behave as for the other streamed codings.
func TestStreamedBrotliForBrOnlyClients(t *testing.T) {
	s, root := newSite(t, resolve.Options{}, content.Options{MaxFileInMemory: 1 << 10})
	big := strings.Repeat(css, 3) // > MaxFileInMemory, compressible
	os.WriteFile(filepath.Join(root, "big.css"), []byte(big), 0o644)
	serve := func(req Request) (Response, string) {
		var resp Response
		s.Serve(&req, &resp)
		var buf bytes.Buffer
		if resp.Stream != nil {
			if err := resp.Stream(&buf); err != nil {
				t.Fatalf("Stream: %v", err)
			}
		}
		if resp.Handle != nil {
			resp.Handle.Release()
		}
		return resp, buf.String()
	}
	for _, tt := range []struct{ ae, want string }{
		{"br", "br"},
		{"br;q=1, gzip;q=0.5", "br"},
		{"zstd;q=0.1, br", "br"},
		{"identity;q=0, br", "br"},
		{"br, gzip", "gzip"},
		{"gzip, deflate, br, zstd", "zstd"},
		{"br;q=0.5, gzip", "gzip"},
	} {
		resp, body := serve(Request{Method: "GET", Path: "/big.css", AcceptEncoding: tt.ae})
		head := string(resp.Head.HTTP1())
		if resp.Status != 200 || !resp.Chunked || !strings.Contains(head, "Content-Encoding: "+tt.want+"\r\n") {
			t.Errorf("Accept-Encoding %q: status %d chunked %v head %q; want a chunked %s stream", tt.ae, resp.Status, resp.Chunked, head, tt.want)
			continue
		}
		if !strings.Contains(head, "Vary: Accept-Encoding\r\n") || strings.Contains(head, "Content-Length") {
			t.Errorf("Accept-Encoding %q: head %q; want Vary: Accept-Encoding and no Content-Length", tt.ae, head)
		}
		if decode(t, tt.want, body) != big {
			t.Errorf("Accept-Encoding %q: the %s body does not decode to the file", tt.ae, tt.want)
		}
	}
	if r, body := serve(Request{Method: "HEAD", Path: "/big.css", AcceptEncoding: "br"}); !r.Chunked || body != "" || !bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding: br")) {
		t.Errorf("HEAD with br: chunked %v head %q; want the br stream's head and no body", r.Chunked, r.Head.HTTP1())
	}
	// Nothing acceptable, not even identity: RFC 9110 §12.5.3 leaves the
	// answer open (406, §15.5.7, or the field disregarded); stoa disregards
	// it, as nginx and Caddy do, so the client gets the file, not an error.
	if r, _ := serve(Request{Method: "GET", Path: "/big.css", AcceptEncoding: "identity;q=0, compress"}); r.Status != 200 || r.Chunked || bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding")) || !bytes.Contains(r.Head.HTTP1(), []byte("Vary: Accept-Encoding")) {
		t.Errorf("identity;q=0, compress: status %d chunked %v head %q; want 200 with the file as it is, and Vary", r.Status, r.Chunked, r.Head.HTTP1())
	}
	// A range is of the identity bytes, as with gzip: a stream has no length.
	if r, _ := serve(Request{Method: "GET", Path: "/big.css", AcceptEncoding: "br", Range: "bytes=0-9"}); r.Status != 206 || r.Chunked || bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding")) || r.FileOff != 0 || r.FileLen != 10 {
		t.Errorf("Range with br: status %d chunked %v head %q body %d+%d; want 206 of the first 10 identity bytes", r.Status, r.Chunked, r.Head.HTTP1(), r.FileOff, r.FileLen)
	}
}

// BenchmarkServeCSS compares answering one 5 KiB stylesheet as it is and
// compressed (the variant made once, then served from memory):
// benchstat -col /compress.
func BenchmarkServeCSS(b *testing.B) {
	s, root := newSite(b, resolve.Options{}, content.Options{Revalidate: time.Hour})
	os.WriteFile(filepath.Join(root, "app.css"), []byte(css), 0o644)
	for _, bc := range []struct{ name, ae string }{{"compress=off", ""}, {"compress=on", "gzip, deflate, br, zstd"}} {
		b.Run(bc.name, func(b *testing.B) {
			req := Request{Method: "GET", Path: "/app.css", AcceptEncoding: bc.ae}
			var resp Response
			s.Serve(&req, &resp)
			b.SetBytes(resp.BodyLen())
			b.ReportAllocs()
			for b.Loop() {
				resp.Reset()
				s.Serve(&req, &resp)
			}
		})
	}
}

// TestStreamedCompressionWithoutRoom is issue 10's stalled encoders from
// the core's side: a GET that finds coding.StreamBudget spent gets the
// client's next coding that fits, else the file as it is, never a wait or
// an error; HEAD and 304 need no encoder; a stream gives its room back.
func TestStreamedCompressionWithoutRoom(t *testing.T) {
	s, root := newSite(t, resolve.Options{}, content.Options{MaxFileInMemory: 1 << 10})
	big := strings.Repeat(css, 3)
	os.WriteFile(filepath.Join(root, "big.css"), []byte(big), 0o644)
	// Spend the budget on gzip streams, the cheapest.
	var held []*coding.Stream
	defer func() {
		for _, h := range held {
			h.Release()
		}
	}()
	for h := coding.ReserveStream(coding.Gzip); h != nil; h = coding.ReserveStream(coding.Gzip) {
		held = append(held, h)
	}
	serve := func(req Request) Response {
		var resp Response
		s.Serve(&req, &resp)
		return resp
	}
	get := Request{Method: "GET", Path: "/big.css", AcceptEncoding: "zstd, gzip"}
	r := serve(get)
	if r.Status != 200 || r.Chunked || r.Stream != nil || bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding")) || !bytes.Contains(r.Head.HTTP1(), []byte("Vary: Accept-Encoding")) {
		t.Errorf("budget spent: status %d chunked %v head %q; want the file as it is, with Vary", r.Status, r.Chunked, r.Head.HTTP1())
	}
	if r.Handle != nil {
		r.Handle.Release()
	}
	if r := serve(Request{Method: "HEAD", Path: "/big.css", AcceptEncoding: "zstd"}); !bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding: zstd")) {
		t.Errorf("HEAD with the budget spent: head %q, want the zstd stream's (no encoder is needed)", r.Head.HTTP1())
	}
	// Room for one gzip stream, less than a zstd one costs: gzip, the
	// client's next choice.
	held[len(held)-1].Release()
	held = held[:len(held)-1]
	r = serve(get)
	if !r.Chunked || r.Stream == nil || !bytes.Contains(r.Head.HTTP1(), []byte("Content-Encoding: gzip")) {
		t.Fatalf("room for gzip only: chunked %v head %q; want a gzip stream", r.Chunked, r.Head.HTTP1())
	}
	var buf bytes.Buffer
	if err := r.Stream(&buf); err != nil {
		t.Fatal(err)
	}
	if decode(t, "gzip", buf.String()) != big {
		t.Error("gzip stream does not decode to the file")
	}
	if h := coding.ReserveStream(coding.Gzip); h == nil {
		t.Error("the finished stream did not give its room back")
	} else {
		h.Release()
	}
}

// TestStreamRoomGivenBackUnrun: a streamed answer whose stream never runs
// (its HTTP/2 connection closed while it waited its turn, say) gives its
// encoder's room back when the adapter releases the response; otherwise
// each such answer would shrink coding.StreamBudget for good.
func TestStreamRoomGivenBackUnrun(t *testing.T) {
	s, root := newSite(t, resolve.Options{}, content.Options{MaxFileInMemory: 1 << 10})
	os.WriteFile(filepath.Join(root, "big.css"), []byte(strings.Repeat(css, 3)), 0o644)
	free := func() int {
		var held []*coding.Stream
		for h := coding.ReserveStream(coding.Gzip); h != nil; h = coding.ReserveStream(coding.Gzip) {
			held = append(held, h)
		}
		for _, h := range held {
			h.Release()
		}
		return len(held)
	}
	before := free()
	for range 3 * before {
		var resp Response
		s.Serve(&Request{Method: "GET", Path: "/big.css", AcceptEncoding: "gzip"}, &resp)
		if resp.Stream == nil || resp.Handle == nil {
			t.Fatalf("no gzip stream: status %d head %q", resp.Status, resp.Head.HTTP1())
		}
		resp.Handle.Release()
	}
	if after := free(); after != before {
		t.Errorf("room for %d gzip streams after unrun streams were released; want %d", after, before)
	}
}
