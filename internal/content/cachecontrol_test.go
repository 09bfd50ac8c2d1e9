package content

import (
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/spa"
)

// TestCacheControlAuto: with cache_control = "auto", a fingerprinted file
// is immutable, HTML and every other file are revalidated; the compressed
// variants, the 304 and the streamed representations say the same.
func TestCacheControlAuto(t *testing.T) {
	css := strings.Repeat(".a{color:red}\n", 100)
	c, _ := newCache(t, map[string]string{
		"index.html":                 "<p>app</p>" + css,
		"assets/app.3f9a2c1b.css":    css,
		"assets/index-BqZ3k9aF.js":   "x",
		"favicon.ico":                "ico",
		"assets/page.3f9a2c1b.html":  "<p>html first</p>",
		"assets/jquery-3.7.1.min.js": "j",
	}, Options{CacheControl: spa.Auto})
	for _, tt := range []struct{ path, want string }{
		{"/index.html", spa.Revalidate},
		{"/", spa.Revalidate},
		{"/assets/app.3f9a2c1b.css", spa.Immutable},
		{"/assets/index-BqZ3k9aF.js", spa.Immutable},
		{"/favicon.ico", spa.Revalidate},
		{"/assets/page.3f9a2c1b.html", spa.Revalidate},
		{"/assets/jquery-3.7.1.min.js", spa.Revalidate},
	} {
		e := c.Get(tt.path)
		line := "Cache-Control: " + tt.want + "\r\n"
		if !strings.Contains(string(e.Head.HTTP1()), line) || !strings.Contains(string(e.Head304.HTTP1()), line) {
			t.Errorf("%s: Head %q and Head304 %q, want %q in both", tt.path, e.Head.HTTP1(), e.Head304.HTTP1(), line)
		}
		if e.Codings.Has(coding.Gzip) {
			v, err := c.Variant(e, coding.Gzip, false)
			if err != nil || v == nil || !strings.Contains(string(v.Head.HTTP1()), line) {
				t.Errorf("%s: gzip variant %v %v, want %q", tt.path, v, err, line)
			}
			if s := c.StreamRep(e, coding.Gzip); !strings.Contains(string(s.Head.HTTP1()), line) {
				t.Errorf("%s: stream head %q, want %q", tt.path, s.Head.HTTP1(), line)
			}
		}
	}
}
