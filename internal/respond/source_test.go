package respond

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/source"
)

// TestServeFromMemSource serves a tree that is not a folder: the decision
// core answers as it does from disk, a large file goes out from the
// source's File with ReadAt (there is no *os.File to sendfile), and the
// ETags are the hashes the source knows.
func TestServeFromMemSource(t *testing.T) {
	big := strings.Repeat("0123456789", 40000)
	mem := source.NewMem()
	mem.Put("index.html", []byte("<h1>home</h1>"), modTime, true)
	mem.Put("docs/guide.txt", []byte("guide"), modTime, false)
	mem.Put("big.bin", []byte(big), modTime, true)
	mem.Put("docs/.secret", []byte("s"), modTime, false)
	res := resolve.Over(mem, resolve.Options{Browse: true})
	s := New(content.New(res, content.Options{}), Options{})

	knownTag := func(b string) string {
		sum := sha256.Sum256([]byte(b))
		return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	}
	tests := []struct {
		name   string
		req    Request
		status int
		header map[string]string
		body   string
	}{
		{"index", Request{Method: "GET", Path: "/"}, 200,
			map[string]string{"ETag": knownTag("<h1>home</h1>"), "Last-Modified": lastModified, "Content-Type": "text/html; charset=utf-8"}, "<h1>home</h1>"},
		{"hashed when not known", Request{Method: "GET", Path: "/docs/guide.txt"}, 200, map[string]string{"ETag": knownTag("guide")}, "guide"},
		{"dir redirect", Request{Method: "GET", Path: "/docs"}, 301, map[string]string{"Location": "/docs/"}, "*"},
		{"listing", Request{Method: "GET", Path: "/docs/", Accept: "application/json"}, 200, map[string]string{"Content-Type": "application/json"}, "*"},
		{"missing", Request{Method: "GET", Path: "/nope"}, 404, nil, "*"},
		{"large", Request{Method: "GET", Path: "/big.bin"}, 200, map[string]string{"ETag": knownTag(big), "Content-Length": "400000"}, big},
		{"large range", Request{Method: "GET", Path: "/big.bin", Range: "bytes=399995-"}, 206,
			map[string]string{"Content-Range": "bytes 399995-399999/400000"}, "56789"},
		{"known tag matches", Request{Method: "GET", Path: "/big.bin", Cond: cond(ifNoneMatch(knownTag(big)))}, 304, nil, ""},
	}
	for _, tt := range tests {
		got := do(t, s, tt.req)
		if got.status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, got.status, tt.status)
		}
		for k, v := range tt.header {
			if got.header[k] != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, k, got.header[k], v)
			}
		}
		if tt.body != "*" && got.body != tt.body {
			t.Errorf("%s: body of %d bytes, want %d", tt.name, len(got.body), len(tt.body))
		}
	}
	// Its entries come through the source, hidden names left out.
	js := do(t, s, Request{Method: "GET", Path: "/docs/", Accept: "application/json"}).body
	if !strings.Contains(js, `"guide.txt"`) || strings.Contains(js, "secret") {
		t.Errorf("listing of /docs/ = %s; want guide.txt and no hidden name", js)
	}
}

// failing is a Mem whose Open fails with err for the names in fail, as a
// release store does when its storage is down or returns corrupt bytes.
type failing struct {
	*source.Mem
	mu   sync.Mutex
	fail map[string]error
}

func (f *failing) set(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[name] = err
}

func (f *failing) Open(name string) (source.File, error) {
	f.mu.Lock()
	err := f.fail[name]
	f.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return f.Mem.Open(name)
}

// TestStorageFailureStatus: a file whose storage fails is answered 503
// with Retry-After (unavailable) or 502 (corrupt bytes), never 404, and
// the failure is not remembered: the next request after the storage
// recovers is answered 200 (and then kept: a file read once is served from
// memory or its open handle whatever the storage does). Before, both were a 404 kept for Revalidate.
func TestStorageFailureStatus(t *testing.T) {
	big := strings.Repeat("0123456789", 40000)
	src := &failing{Mem: source.NewMem(), fail: map[string]error{}}
	for _, code := range []string{"503", "502"} {
		src.Put("small"+code+".txt", []byte("small"), modTime, true)
		src.Put("big"+code+".bin", []byte(big), modTime, true)
	}
	res := resolve.Over(src, resolve.Options{})
	s := New(content.New(res, content.Options{Revalidate: time.Hour}), Options{})

	for _, tt := range []struct {
		err    error
		status int
		retry  string
	}{
		{source.ErrUnavailable, 503, RetryAfter},
		{source.ErrCorrupt, 502, ""},
	} {
		code := strconv.Itoa(tt.status)
		for _, name := range []string{"small" + code + ".txt", "big" + code + ".bin"} {
			if strings.HasPrefix(name, "big") {
				// Loaded while the storage worked: the body's
				// open fails.
				src.set(name, nil)
				if got := do(t, s, Request{Method: "HEAD", Path: "/" + name}); got.status != 200 {
					t.Fatalf("HEAD /%s: status %d, want 200", name, got.status)
				}
			}
			src.set(name, tt.err)
			got := do(t, s, Request{Method: "GET", Path: "/" + name})
			if got.status != tt.status || got.header["Retry-After"] != tt.retry {
				t.Errorf("%v: GET /%s: status %d, Retry-After %q; want %d, %q", tt.err, name, got.status, got.header["Retry-After"], tt.status, tt.retry)
			}
			src.set(name, nil)
			if got := do(t, s, Request{Method: "GET", Path: "/" + name}); got.status != 200 {
				t.Errorf("%v: GET /%s after recovery: status %d, want 200", tt.err, name, got.status)
			}
		}
	}
}

// fetching is a Mem whose files must be "fetched" before they can be
// opened without waiting, as a release store's blobs must be in its disk
// cache (source.Fetcher): Open fetches, OpenNow refuses what is not
// fetched with source.ErrWouldWait.
type fetching struct {
	*source.Mem
	mu      sync.Mutex
	fetched map[string]bool
	opens   int // calls of Open, the one that may wait
}

func (f *fetching) Open(name string) (source.File, error) {
	f.mu.Lock()
	f.fetched[name] = true
	f.opens++
	f.mu.Unlock()
	return f.Mem.Open(name)
}

func (f *fetching) OpenNow(name string) (source.File, error) {
	f.mu.Lock()
	ok := f.fetched[name]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("open %s: %w", name, source.ErrWouldWait)
	}
	return f.Mem.Open(name)
}

func (f *fetching) evict(name string) {
	f.mu.Lock()
	delete(f.fetched, name)
	f.mu.Unlock()
}

// TestNoWaitLeavesFetchesUndecided: a request asked with NoWait (an event
// loop's) whose answer needs a file not fetched yet — the file itself, the
// sidecar of the coding negotiated, the body of a file sent from its
// handle — is left undecided (WouldWait, status 0, nothing held) without
// calling the source's Open, which may wait; the same request asked again
// without NoWait is answered, and from then on the NoWait request is
// answered too. A sidecar not fetched is not taken for a variant that does
// not pay: br is still offered afterwards. The request left undecided is
// not counted as a cache miss: the one that answers it is.
func TestNoWaitLeavesFetchesUndecided(t *testing.T) {
	big := strings.Repeat("0123456789", 40000)
	js := strings.Repeat("app();", 100)
	src := &fetching{Mem: source.NewMem(), fetched: map[string]bool{}}
	src.Put("small.txt", []byte("small"), modTime, true)
	src.Put("big.bin", []byte(big), modTime, true)
	src.Put("app.js", []byte(js), modTime, true)
	src.Put("app.js.br", []byte("BR"), modTime, true)
	res := resolve.Over(src, resolve.Options{})
	s := New(content.New(res, content.Options{Revalidate: time.Hour, MaxOpenFiles: -1}), Options{})

	// prepare makes the state the case starts from, with requests that
	// may wait and evictions.
	for _, tt := range []struct {
		name    string
		prepare func()
		req     Request
		status  int
		header  string // a header field the answer has, "Name: value"
		body    string
	}{
		{"small file", nil, Request{Method: "GET", Path: "/small.txt"}, 200, "", "small"},
		{"large file", nil, Request{Method: "HEAD", Path: "/big.bin"}, 200, "Content-Length: 400000", ""},
		{"large file's body, its file not held", func() {
			do(t, s, Request{Method: "HEAD", Path: "/big.bin"})
			src.evict("big.bin")
		}, Request{Method: "GET", Path: "/big.bin"}, 200, "", big},
		{"sidecar", func() {
			do(t, s, Request{Method: "GET", Path: "/app.js"})
		}, Request{Method: "GET", Path: "/app.js", AcceptEncoding: "br"}, 200, "Content-Encoding: br", "BR"},
		{"range of a large file", func() {
			src.evict("big.bin")
		}, Request{Method: "GET", Path: "/big.bin", Range: "bytes=0-1"}, 206, "Content-Range: bytes 0-1/400000", "01"},
	} {
		if tt.prepare != nil {
			tt.prepare()
		}
		opens, misses := src.opens, s.cache.Stats().Misses
		req := tt.req
		req.NoWait = true
		var resp Response
		s.Serve(&req, &resp)
		if m := s.cache.Stats().Misses; m != misses {
			t.Errorf("%s: NoWait counted %d cache misses, want 0: the request that may wait counts it", tt.name, m-misses)
		}
		if !resp.WouldWait || resp.Status != 0 || resp.Handle != nil || resp.File != nil {
			t.Errorf("%s: NoWait before the fetch: WouldWait %v, status %d, holding %v; want undecided", tt.name, resp.WouldWait, resp.Status, resp.Handle != nil)
		}
		if src.opens != opens {
			t.Errorf("%s: NoWait called Open %d times", tt.name, src.opens-opens)
		}
		for _, noWait := range []bool{false, true} {
			req.NoWait = noWait
			got := do(t, s, req)
			name, value, _ := strings.Cut(tt.header, ": ")
			if got.status != tt.status || got.body != tt.body || got.header[name] != value {
				t.Errorf("%s: NoWait %v after the fetch: %d %s=%q, %d bytes; want %d %q, %d bytes", tt.name, noWait, got.status, name, got.header[name], len(got.body), tt.status, tt.header, len(tt.body))
			}
		}
	}
}
