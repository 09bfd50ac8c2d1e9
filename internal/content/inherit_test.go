package content

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/resolve"
)

// TestInheritKeepsUnchangedFiles pins what a cache over a new release of
// a site takes over from the cache over the old one: the entries whose
// file is the same version in the new tree (hard-linked from one release
// to the next), bodies and compressed variants included, without reading
// or hashing them again; not those of files the release changed; and the
// counters go on.
func TestInheritKeepsUnchangedFiles(t *testing.T) {
	store := NewStore(StoreOptions{})
	css := strings.Repeat("body{color:red}\n", 100)
	old, dir1 := newCache(t, map[string]string{"app.css": css, "page.html": "release 1"}, Options{Store: store})
	// Release 2 is made (app.css hard-linked, which changes its change
	// time) before release 1 is served from, as a deploy prepares the
	// next release beside the one served.
	dir2 := t.TempDir()
	if err := os.Link(filepath.Join(dir1, "app.css"), filepath.Join(dir2, "app.css")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir2, "page.html"), []byte("release 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	a1, p1 := old.Get("/app.css"), old.Get("/page.html")
	if a1.Kind != resolve.File || p1.Kind != resolve.File {
		t.Fatalf("release 1: kinds %d %d", a1.Kind, p1.Kind)
	}
	gz, _ := old.Variant(a1, coding.Gzip, false)
	if gz == nil {
		t.Fatal("no gzip variant of app.css")
	}
	res, err := resolve.New(dir2, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	next := New(res, Options{Store: store})
	before := old.Stats()
	if kept := next.Inherit(old, 100); kept != 1 {
		t.Errorf("Inherit kept %d entries, want 1 (app.css)", kept)
	}
	old.Close()

	hashed := 0
	defer func(f func([]byte) [32]byte) { sum256 = f }(sum256)
	sum256 = func(b []byte) [32]byte { hashed++; return sha256.Sum256(b) }
	a2 := next.Get("/app.css")
	if string(a2.Body) != css || a2.ETag != a1.ETag {
		t.Errorf("app.css in release 2: body %d bytes, ETag %q; want release 1's (%q)", len(a2.Body), a2.ETag, a1.ETag)
	}
	if hashed != 0 {
		t.Errorf("app.css was hashed again (%d times), though the same file is in both releases", hashed)
	}
	if v, _ := next.Variant(a2, coding.Gzip, false); v != gz {
		t.Errorf("the gzip variant was made again, want the one release 1 made")
	}
	if p2 := next.Get("/page.html"); string(p2.Body) != "release 2" {
		t.Errorf("page.html in release 2 = %q, want the new file", p2.Body)
	}
	if st := next.Stats(); st.Hits+st.Misses != before.Hits+before.Misses+2 || st.Bytes == 0 {
		t.Errorf("stats after the switch %+v, before %+v: want the counts to go on and the bodies counted", st, before)
	}
}
