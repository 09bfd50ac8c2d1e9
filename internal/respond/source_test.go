package respond

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

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
