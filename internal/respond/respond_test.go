package respond

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/stoahttp/stoa/internal/budget"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/listing"
	"github.com/stoahttp/stoa/internal/resolve"
)

var modTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const lastModified = "Wed, 01 Jan 2025 00:00:00 GMT"

// newSite serves a small tree from a temp dir; big.bin is larger than what
// the cache keeps in memory, so it is sent from the file.
func newSite(t testing.TB, ropt resolve.Options, copt content.Options) (*Site, string) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"index.html":      "<h1>home</h1>",
		"docs/index.html": "docs",
		"app.css":         "body{}",
		"app.js":          "let x = 1;",
		"digits.txt":      "0123456789abcdefghij",
		"empty.txt":       "",
		"big.bin":         strings.Repeat("0123456789", 40000),
		"dir/a.txt":       "a",
		"medium.txt":      strings.Repeat("abcdefghij", 100),
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, modTime, modTime)
	}
	res, err := resolve.New(root, ropt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	return New(content.New(res, copt), Options{}), root
}

// result is a Response read back into plain values.
type result struct {
	status int
	header map[string]string
	body   string
}

func do(t testing.TB, s *Site, req Request) result {
	t.Helper()
	var resp Response
	s.Serve(&req, &resp)
	r := result{status: resp.Status, header: map[string]string{}}
	for _, line := range strings.Split(string(resp.Head.HTTP1())+string(resp.Extra), "\r\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			if _, dup := r.header[k]; dup {
				t.Errorf("%s %s: header %s sent twice", req.Method, req.Path, k)
			}
			r.header[k] = v
		}
	}
	var body bytes.Buffer
	switch {
	case resp.Parts != nil:
		for _, p := range resp.Parts {
			body.Write(p.Prefix)
			if resp.File != nil {
				io.Copy(&body, io.NewSectionReader(resp.File, p.Off, p.Len))
			} else {
				body.Write(resp.Body[p.Off : p.Off+p.Len])
			}
		}
	case resp.File != nil:
		io.Copy(&body, io.NewSectionReader(resp.File, resp.FileOff, resp.FileLen))
	default:
		body.Write(resp.Body)
	}
	if resp.Handle != nil {
		resp.Handle.Release()
	}
	if int64(body.Len()) != resp.BodyLen() {
		t.Errorf("%s %s: BodyLen %d, body has %d bytes", req.Method, req.Path, resp.BodyLen(), body.Len())
	}
	if cl, ok := r.header["Content-Length"]; ok && req.Method != "HEAD" && cl != itoa(body.Len()) {
		t.Errorf("%s %s: Content-Length %s, body has %d bytes", req.Method, req.Path, cl, body.Len())
	}
	r.body = body.String()
	return r
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestServe(t *testing.T) {
	s, _ := newSite(t, resolve.Options{}, content.Options{})
	etag := do(t, s, Request{Method: "GET", Path: "/digits.txt"}).header["ETag"]
	if len(etag) < 10 || etag[0] != '"' {
		t.Fatalf("ETag = %q, want a strong entity-tag", etag)
	}
	tests := []struct {
		name   string
		req    Request
		status int
		header map[string]string // "" value: must be absent
		body   string            // "*" = don't check
	}{
		{"index", Request{Method: "GET", Path: "/"}, 200,
			map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Length": "13", "Last-Modified": lastModified,
				"Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff"}, "<h1>home</h1>"},
		{"css type", Request{Method: "GET", Path: "/app.css"}, 200, map[string]string{"Content-Type": "text/css; charset=utf-8"}, "body{}"},
		{"head keeps length", Request{Method: "HEAD", Path: "/digits.txt"}, 200, map[string]string{"Content-Length": "20"}, ""},
		{"empty file", Request{Method: "GET", Path: "/empty.txt"}, 200, map[string]string{"Content-Length": "0"}, ""},
		{"dir redirect keeps query", Request{Method: "GET", Path: "/docs", Query: "a=1", HasQuery: true}, 301,
			map[string]string{"Location": "/docs/?a=1"}, "*"},
		{"dir index", Request{Method: "GET", Path: "/docs/"}, 200, nil, "docs"},
		{"dir without index", Request{Method: "GET", Path: "/dir/"}, 404, nil, "*"},
		{"missing", Request{Method: "GET", Path: "/nope"}, 404, map[string]string{"Content-Type": "text/html; charset=utf-8"}, "*"},
		{"bad path", Request{Method: "GET", Path: "/a%00"}, 400, nil, "*"},
		{"post", Request{Method: "POST", Path: "/"}, 405, map[string]string{"Allow": Allow}, "*"},
		{"unknown method", Request{Method: "BREW", Path: "/"}, 405, map[string]string{"Allow": Allow}, "*"},
		{"options", Request{Method: "OPTIONS", Path: "/"}, 200, map[string]string{"Allow": Allow, "Content-Length": "0"}, ""},
		{"options star", Request{Method: "OPTIONS", Path: "*"}, 200, map[string]string{"Allow": Allow}, ""},
		{"options missing", Request{Method: "OPTIONS", Path: "/nope"}, 404, nil, "*"},

		{"if-none-match", Request{Method: "GET", Path: "/digits.txt", Cond: cond(ifNoneMatch(etag))}, 304,
			map[string]string{"ETag": etag, "Content-Length": "", "Content-Type": ""}, ""},
		{"if-none-match weak", Request{Method: "GET", Path: "/digits.txt", Cond: cond(ifNoneMatch("W/" + etag))}, 304, nil, ""},
		{"if-none-match other", Request{Method: "GET", Path: "/digits.txt", Cond: cond(ifNoneMatch(`"x"`))}, 200, nil, "0123456789abcdefghij"},
		{"if-modified-since", Request{Method: "GET", Path: "/digits.txt", Cond: cond(ifModifiedSince(lastModified))}, 304, nil, ""},
		{"if-match fails", Request{Method: "GET", Path: "/digits.txt", Cond: cond(ifMatch(`"x"`))}, 412, nil, "*"},
		{"if-match star", Request{Method: "GET", Path: "/digits.txt", Cond: cond(ifMatch("*"))}, 200, nil, "0123456789abcdefghij"},

		{"range", Request{Method: "GET", Path: "/digits.txt", Range: "bytes=2-4"}, 206,
			map[string]string{"Content-Range": "bytes 2-4/20", "Content-Length": "3", "Content-Type": "text/plain; charset=utf-8"}, "234"},
		{"suffix range", Request{Method: "GET", Path: "/digits.txt", Range: "bytes=-3"}, 206, nil, "hij"},
		{"range ignored on head", Request{Method: "HEAD", Path: "/digits.txt", Range: "bytes=2-4"}, 200, map[string]string{"Content-Length": "20"}, ""},
		{"unsatisfiable", Request{Method: "GET", Path: "/digits.txt", Range: "bytes=20-"}, 416,
			map[string]string{"Content-Range": "bytes */20"}, "*"},
		{"malformed range", Request{Method: "GET", Path: "/digits.txt", Range: "bytes=x"}, 200, nil, "0123456789abcdefghij"},
		{"if-range match", Request{Method: "GET", Path: "/digits.txt", Range: "bytes=0-0", Cond: cond(ifRange(etag))}, 206, nil, "0"},
		{"if-range stale", Request{Method: "GET", Path: "/digits.txt", Range: "bytes=0-0", Cond: cond(ifRange(`"old"`))}, 200, nil, "0123456789abcdefghij"},
		{"big file", Request{Method: "GET", Path: "/big.bin"}, 200, map[string]string{"Content-Length": "400000"}, strings.Repeat("0123456789", 40000)},
		{"big file range", Request{Method: "GET", Path: "/big.bin", Range: "bytes=399995-"}, 206,
			map[string]string{"Content-Range": "bytes 399995-399999/400000"}, "56789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, s, tt.req)
			if got.status != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.req.Method, tt.req.Path, got.status, tt.status)
			}
			for k, want := range tt.header {
				if v, ok := got.header[k]; want == "" && ok || want != "" && v != want {
					t.Errorf("%s %s: %s = %q, want %q", tt.req.Method, tt.req.Path, k, v, want)
				}
			}
			if tt.body != "*" && got.body != tt.body {
				t.Errorf("%s %s: body %q, want %q", tt.req.Method, tt.req.Path, trunc(got.body), trunc(tt.body))
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func cond(opts ...func(*Request)) (c requestCond) {
	var r Request
	for _, o := range opts {
		o(&r)
	}
	return r.Cond
}

type requestCond = struct {
	IfMatch, IfNoneMatch, IfModifiedSince, IfUnmodifiedSince, IfRange string
}

func ifNoneMatch(v string) func(*Request)     { return func(r *Request) { r.Cond.IfNoneMatch = v } }
func ifMatch(v string) func(*Request)         { return func(r *Request) { r.Cond.IfMatch = v } }
func ifModifiedSince(v string) func(*Request) { return func(r *Request) { r.Cond.IfModifiedSince = v } }
func ifRange(v string) func(*Request)         { return func(r *Request) { r.Cond.IfRange = v } }

func TestMultipartRanges(t *testing.T) {
	s, _ := newSite(t, resolve.Options{}, content.Options{})
	for _, path := range []string{"/medium.txt", "/big.bin"} {
		var resp Response
		s.Serve(&Request{Method: "GET", Path: path, Range: "bytes=0-1,-2"}, &resp)
		if resp.Status != 206 || !bytes.Contains(resp.Extra, []byte("multipart/byteranges; boundary=")) {
			t.Fatalf("%s two ranges: status %d, extra %q", path, resp.Status, resp.Extra)
		}
		if len(resp.Parts) != 3 || resp.Parts[2].Len != 0 || !bytes.Contains(resp.Parts[2].Prefix, []byte("--\r\n")) {
			t.Errorf("%s: parts %+v, want two ranges and a closing boundary", path, resp.Parts)
		}
		if resp.Handle != nil {
			resp.Handle.Release()
		}
		got := do(t, s, Request{Method: "GET", Path: path, Range: "bytes=0-1,-2"})
		if !strings.Contains(got.body, "Content-Range: bytes 0-1/") || !strings.HasSuffix(strings.TrimSpace(got.body), "--") {
			t.Errorf("%s: multipart body %q", path, trunc(got.body))
		}
	}
	// Close ranges are coalesced into one part (RFC 9110 §14.6).
	if got := do(t, s, Request{Method: "GET", Path: "/digits.txt", Range: "bytes=0-1,-2"}); got.status != 206 || got.body != "0123456789abcdefghij" {
		t.Errorf("coalesced ranges: status %d body %q", got.status, got.body)
	}
}

func TestErrorPagesAndHead(t *testing.T) {
	s, _ := newSite(t, resolve.Options{}, content.Options{})
	get := do(t, s, Request{Method: "GET", Path: "/nope"})
	head := do(t, s, Request{Method: "HEAD", Path: "/nope"})
	if get.header["Content-Length"] != head.header["Content-Length"] || head.body != "" || get.body == "" {
		t.Errorf("HEAD /nope: length %q body %q; GET: length %q", head.header["Content-Length"], head.body, get.header["Content-Length"])
	}
	if !strings.Contains(get.body, "404") {
		t.Errorf("404 page %q does not name the status", get.body)
	}
}

func TestListing(t *testing.T) {
	s, root := newSite(t, resolve.Options{Browse: true}, content.Options{})
	os.WriteFile(filepath.Join(root, "dir", "<b>.txt"), []byte("x"), 0o644)
	html := do(t, s, Request{Method: "GET", Path: "/dir/"})
	if html.status != 200 || !strings.Contains(html.body, "&lt;b&gt;.txt") || strings.Contains(html.body, "<b>.txt") {
		t.Errorf("HTML listing: status %d, body %q: want the name escaped", html.status, trunc(html.body))
	}
	if html.header["Vary"] != "Accept" {
		t.Errorf("listing Vary = %q, want Accept", html.header["Vary"])
	}
	js := do(t, s, Request{Method: "GET", Path: "/dir/", Accept: "application/json"})
	if js.header["Content-Type"] != "application/json" || !strings.Contains(js.body, `"a.txt"`) {
		t.Errorf("JSON listing: type %q body %q", js.header["Content-Type"], js.body)
	}
	browser := do(t, s, Request{Method: "GET", Path: "/dir/", Accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
	if !strings.HasPrefix(browser.header["Content-Type"], "text/html") {
		t.Errorf("browser Accept got %q, want HTML", browser.header["Content-Type"])
	}
}

// TestJSONListingSorts: the JSON listing ignored the sort and order
// parameters and always came in name order (issue 14); it takes them as
// the HTML listing does.
func TestJSONListingSorts(t *testing.T) {
	s, root := newSite(t, resolve.Options{Browse: true}, content.Options{})
	dir := filepath.Join(root, "dir")
	for i, f := range []struct {
		name string
		size int
	}{{"b.txt", 30}, {"c.txt", 10}, {"d.txt", 20}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", f.size)), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := modTime.Add(time.Duration(3-i) * time.Hour) // b newest, d oldest
		os.Chtimes(p, mt, mt)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	// a.txt (1 byte, modTime) is there already.
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{"sub", "a.txt", "b.txt", "c.txt", "d.txt"}},
		{"order=desc", []string{"sub", "d.txt", "c.txt", "b.txt", "a.txt"}},
		{"sort=size", []string{"sub", "a.txt", "c.txt", "d.txt", "b.txt"}},
		{"sort=size&order=desc", []string{"sub", "b.txt", "d.txt", "c.txt", "a.txt"}},
		{"sort=time&order=asc", []string{"sub", "a.txt", "d.txt", "c.txt", "b.txt"}},
		{"sort=TIME&order=DESC", []string{"sub", "b.txt", "c.txt", "d.txt", "a.txt"}},
		{"sort=bogus&order=sideways", []string{"sub", "a.txt", "b.txt", "c.txt", "d.txt"}},
	} {
		got := do(t, s, Request{Method: "GET", Path: "/dir/", Query: tt.query, Accept: "application/json"})
		var doc struct{ Entries []struct{ Name string } }
		if err := json.Unmarshal([]byte(got.body), &doc); err != nil {
			t.Fatalf("query %q: %v in %q", tt.query, err, got.body)
		}
		var names []string
		for _, e := range doc.Entries {
			names = append(names, e.Name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("query %q: JSON names = %q, want %q", tt.query, names, tt.want)
		}
	}
}

func TestWantsJSON(t *testing.T) {
	for _, tt := range []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"application/json", true},
		{"application/json, text/html;q=0.5", true},
		{"text/html, application/json;q=0.9", false},
		{"*/*", false},
		{"application/*", true},
		{"application/json;q=0", false},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
	} {
		if got := wantsJSON(tt.accept); got != tt.want {
			t.Errorf("wantsJSON(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}

func TestChangedFileIsNotServedStale(t *testing.T) {
	s, root := newSite(t, resolve.Options{}, content.Options{Revalidate: -1})
	first := do(t, s, Request{Method: "GET", Path: "/digits.txt"})
	os.WriteFile(filepath.Join(root, "digits.txt"), []byte("changed"), 0o644)
	second := do(t, s, Request{Method: "GET", Path: "/digits.txt"})
	if second.body != "changed" || second.header["ETag"] == first.header["ETag"] {
		t.Errorf("after a rewrite: body %q ETag %q (was %q); want the new bytes and a new ETag", second.body, second.header["ETag"], first.header["ETag"])
	}
	os.Remove(filepath.Join(root, "digits.txt"))
	if got := do(t, s, Request{Method: "GET", Path: "/digits.txt"}); got.status != 404 {
		t.Errorf("after removal: status %d, want 404", got.status)
	}
}

// TestRequestNowMeasuresRevalidation: the time an engine gives in
// Request.Now, not the clock, decides whether a cached file is checked
// again, so an event loop reads the clock once per wake-up.
func TestRequestNowMeasuresRevalidation(t *testing.T) {
	s, root := newSite(t, resolve.Options{}, content.Options{Revalidate: time.Hour})
	now := time.Now().UnixNano()
	do(t, s, Request{Method: "GET", Path: "/digits.txt", Now: now})
	os.WriteFile(filepath.Join(root, "digits.txt"), []byte("changed"), 0o644)
	if got := do(t, s, Request{Method: "GET", Path: "/digits.txt", Now: now + int64(time.Hour) - 1}); got.body != "0123456789abcdefghij" {
		t.Errorf("within revalidate of Now: body %q, want the cached bytes", got.body)
	}
	if got := do(t, s, Request{Method: "GET", Path: "/digits.txt", Now: now + int64(time.Hour)}); got.body != "changed" {
		t.Errorf("revalidate after Now: body %q, want the new bytes", got.body)
	}
}

func TestServeCachedFileAllocatesNothing(t *testing.T) {
	s, _ := newSite(t, resolve.Options{}, content.Options{Revalidate: time.Hour})
	var resp Response
	reqs := []Request{
		{Method: "GET", Path: "/index.html"},
		{Method: "GET", Path: "/nope"},
		{Method: "GET", Path: "/index.html", Cond: cond(ifModifiedSince(lastModified))},
		{Method: "GET", Path: "/digits.txt", Range: "bytes=1-2"},
		{Method: "GET", Path: "/index.html", Now: time.Now().UnixNano()},
	}
	for _, req := range reqs {
		s.Serve(&req, &resp)
		if n := testing.AllocsPerRun(100, func() { resp.Reset(); s.Serve(&req, &resp) }); n != 0 {
			t.Errorf("%s %s (range %q): %v allocs per request, want 0", req.Method, req.Path, req.Range, n)
		}
	}
}

func BenchmarkServeCachedFile(b *testing.B) {
	s, _ := newSite(b, resolve.Options{}, content.Options{Revalidate: time.Hour})
	req := Request{Method: "GET", Path: "/index.html"}
	var resp Response
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		s.Serve(&req, &resp)
	}
}

func TestLargeDirectoryListingStreams(t *testing.T) {
	s, root := newSite(t, resolve.Options{Browse: true}, content.Options{})
	dir := filepath.Join(root, "huge")
	os.Mkdir(dir, 0o755)
	defer func(old int) { sortLimit = old }(sortLimit)
	sortLimit = 100
	const n = 1000
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)+".txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, ".hidden"), nil, 0o644)
	for _, accept := range []string{"text/html", "application/json"} {
		var resp Response
		s.Serve(&Request{Method: "GET", Path: "/huge/", Accept: accept}, &resp)
		if resp.Status != 200 || !resp.Chunked || resp.Stream == nil {
			t.Fatalf("listing of %d entries (%s): status %d chunked %v; want a stream", n, accept, resp.Status, resp.Chunked)
		}
		var out bytes.Buffer
		if err := resp.Stream(&out); err != nil {
			t.Fatal(err)
		}
		body := out.String()
		if strings.Contains(body, ".hidden") {
			t.Errorf("%s listing shows a hidden file", accept)
		}
		if accept == "application/json" {
			var doc struct{ Entries []struct{ Name string } }
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Entries) != n {
				t.Errorf("streamed JSON: %v, %d entries, want %d", err, len(doc.Entries), n)
			}
		} else if got := strings.Count(body, "<tr><td><a href=\"f"); got != n || !strings.HasSuffix(body, "</html>\n") {
			t.Errorf("streamed HTML: %d rows, want %d, and a complete page", got, n)
		}
	}
	var head Response
	s.Serve(&Request{Method: "HEAD", Path: "/huge/"}, &head)
	if !head.Chunked || head.Stream != nil {
		t.Errorf("HEAD of a streamed listing: chunked %v, stream %v; want the head alone", head.Chunked, head.Stream != nil)
	}
}

// maxWriter records the largest write.
type maxWriter struct {
	bytes.Buffer
	max int
}

func (w *maxWriter) Write(p []byte) (int, error) {
	w.max = max(w.max, len(p))
	return w.Buffer.Write(p)
}

// TestListingWrittenInChunks is issue 10's listing buffers: a listing larger
// than a chunk, sorted or not, is written as it is rendered, in writes of at
// most about listing.ChunkSize, and reads the same as one rendered whole; a
// small one keeps its Content-Length.
func TestListingWrittenInChunks(t *testing.T) {
	s, root := newSite(t, resolve.Options{Browse: true}, content.Options{})
	dir := filepath.Join(root, "many")
	os.Mkdir(dir, 0o755)
	const n = 2000 // some 300 KiB of HTML
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%04d-%s.txt", i, strings.Repeat("y", 40))), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const slack = 1 << 10 // one row past the chunk
	defer func(old int) { sortLimit = old }(sortLimit)
	for _, limit := range []int{SortLimit, 100} {
		sortLimit = limit
		for _, accept := range []string{"text/html", "application/json"} {
			var resp Response
			s.Serve(&Request{Method: "GET", Path: "/many/", Accept: accept}, &resp)
			if resp.Status != 200 || !resp.Chunked || resp.Stream == nil || bytes.Contains(resp.Extra, []byte("Content-Length")) {
				t.Fatalf("sort limit %d, %s: status %d chunked %v; want a stream without Content-Length", limit, accept, resp.Status, resp.Chunked)
			}
			var w maxWriter
			if err := resp.Stream(&w); err != nil {
				t.Fatal(err)
			}
			if w.max > listing.ChunkSize+slack {
				t.Errorf("sort limit %d, %s: a write of %d bytes, want at most %d", limit, accept, w.max, listing.ChunkSize+slack)
			}
			body := w.String()
			if limit == SortLimit {
				// Sorted: the page must be what rendering it whole gives.
				if accept == "text/html" && (strings.Count(body, "<tr><td><a href=\"file-") != n || !strings.HasSuffix(body, "</html>\n") || strings.Index(body, "file-0001") > strings.Index(body, "file-0002")) {
					t.Errorf("sorted HTML in chunks: not %d rows in order in a complete page", n)
				}
			}
			if accept == "application/json" {
				var doc struct{ Entries []struct{ Name string } }
				if err := json.Unmarshal(w.Bytes(), &doc); err != nil || len(doc.Entries) != n {
					t.Errorf("sort limit %d: JSON in chunks: %v, %d entries, want %d", limit, err, len(doc.Entries), n)
				} else if limit == SortLimit && !slices.IsSortedFunc(doc.Entries, func(a, b struct{ Name string }) int { return strings.Compare(a.Name, b.Name) }) {
					t.Errorf("sorted JSON in chunks is not in name order")
				}
			}
		}
	}
	sortLimit = SortLimit
	small := do(t, s, Request{Method: "GET", Path: "/dir/"})
	if small.status != 200 || small.header["Content-Length"] != strconv.Itoa(len(small.body)) {
		t.Errorf("small listing: status %d Content-Length %q for %d bytes; want it whole", small.status, small.header["Content-Length"], len(small.body))
	}
}

// TestSortedListingWithoutRoom: a listing too large for one chunk takes
// room for its sorted entries from budget.ListingShare; with none left it
// is sent whole in directory order, saying why, and the room a sorted one
// took comes back when the adapter releases the response, whether or not
// its stream ran.
func TestSortedListingWithoutRoom(t *testing.T) {
	s, root := newSite(t, resolve.Options{Browse: true}, content.Options{})
	dir := filepath.Join(root, "many")
	os.Mkdir(dir, 0o755)
	const n = 2 * sortFree
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%05d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	serve := func() (Response, string) {
		var resp Response
		s.Serve(&Request{Method: "GET", Path: "/many/"}, &resp)
		var out bytes.Buffer
		if resp.Stream == nil {
			t.Fatalf("no stream: status %d", resp.Status)
		}
		if err := resp.Stream(&out); err != nil {
			t.Fatal(err)
		}
		return resp, out.String()
	}
	free := func() int64 { // the room left, found by taking it
		var got int64
		for step := int64(budget.ListingShare); step > 0; step /= 2 {
			for listing.Reserve(step) {
				got += step
			}
		}
		listing.Unreserve(got)
		return got
	}
	all := free()
	resp, body := serve()
	if strings.Contains(body, "too busy") || strings.Count(body, "<tr><td><a href=\"file-") != n {
		t.Fatalf("with room: not a sorted page of %d rows", n)
	}
	if free() == all {
		t.Error("a sorted listing being sent takes no room")
	}
	resp.Handle.Release()
	resp.Handle.Release() // a second release gives nothing back
	if got := free(); got != all {
		t.Errorf("room after the listing was released: %d, want %d", got, all)
	}
	// Unrun: the adapter releases a response whose stream never ran.
	var unrun Response
	s.Serve(&Request{Method: "GET", Path: "/many/"}, &unrun)
	unrun.Handle.Release()
	if got := free(); got != all {
		t.Errorf("room after an unrun listing was released: %d, want %d", got, all)
	}
	if !listing.Reserve(all) {
		t.Fatal("cannot spend the budget")
	}
	defer listing.Unreserve(all)
	resp, body = serve()
	if !resp.Chunked || !strings.Contains(body, "too busy to sort") || strings.Count(body, "<tr><td><a href=\"file-") != n || !strings.HasSuffix(body, "</html>\n") {
		t.Errorf("budget spent: want all %d rows in directory order, saying the server is busy", n)
	}
	if resp.Handle != nil {
		resp.Handle.Release()
	}
}

// openFDs counts the test process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestStreamedListingClosesUnrun: a directory listed as it is sent is
// closed when the adapter releases the response, also when its stream
// never runs (an HTTP/2 stream reset while it waited its turn); before, only
// the stream closed it, and an unrun one left it to the garbage collector.
func TestStreamedListingClosesUnrun(t *testing.T) {
	s, root := newSite(t, resolve.Options{Browse: true}, content.Options{})
	dir := filepath.Join(root, "huge")
	os.Mkdir(dir, 0o755)
	defer func(old int) { sortLimit = old }(sortLimit)
	sortLimit = 10
	for i := range 20 {
		os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), nil, 0o644)
	}
	before := openFDs(t)
	for range 5 {
		var resp Response
		s.Serve(&Request{Method: "GET", Path: "/huge/"}, &resp)
		if resp.Stream == nil || resp.Handle == nil {
			t.Fatalf("listing of a huge directory: stream %v, handle %v; want both", resp.Stream != nil, resp.Handle)
		}
		resp.Handle.Release()
		// An adapter may still run it: it must fail, not read a
		// closed directory.
		if err := resp.Stream(io.Discard); err == nil {
			t.Error("a listing stream run after its response was released: no error")
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after 5 unrun listings were released, %d before", after, before)
	}
}
