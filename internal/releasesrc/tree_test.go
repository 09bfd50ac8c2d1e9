package releasesrc

import (
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/source"
)

// A tree never changes, so the content cache never revalidates its paths
// (content.Immutable): without it a store site resolved each path again
// every revalidate, 7 allocations each.
var _ content.Immutable = (*Tree)(nil)

// site makes a release of a small site in s.
func site(s *fakeStore, id string, extra ...release.File) *Release {
	files := []release.File{
		s.file("index.html", "text/html; charset=utf-8", []byte("<h1>"+id+"</h1>")),
		s.file("assets/app.js", "text/javascript; charset=utf-8", []byte(strings.Repeat("app();", 100)),
			s.variant("br", []byte("BR")), s.variant("gzip", []byte("GZIP"))),
		s.file("assets/img/logo.png", "image/png", []byte("PNG")),
		s.file("assets.txt", "text/plain; charset=utf-8", []byte("a file beside the directory")),
		s.file("docs/guide/index.html", "text/html; charset=utf-8", []byte("guide")),
	}
	return &Release{ID: id, Files: newFileList(append(files, extra...)...)}
}

func readAll(t *testing.T, tr *Tree, name string) string {
	t.Helper()
	f, err := tr.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	info, _ := f.Stat()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, info.Size()))
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return string(b)
}

// TestTreeFromManifest: Stat, OpenDir, Open, Version and Hash come from the
// manifest; directories are implied by paths and listed in name order; the
// store is never listed (fakeStore.List panics).
func TestTreeFromManifest(t *testing.T) {
	s := newFakeStore()
	tr := NewTree(site(s, "r1"), nil, newBlobs(t, s, 10*time.Second), TreeOptions{})

	for _, tt := range []struct {
		name string
		dir  bool
		size int64
		err  error
	}{
		{".", true, 0, nil},
		{"index.html", false, 11, nil},
		{"assets", true, 0, nil},
		{"assets/img", true, 0, nil},
		{"docs/guide", true, 0, nil},
		{"asset", false, 0, fs.ErrNotExist},
		{"assets/app.js.br", false, 0, fs.ErrNotExist}, // a variant is no file of its own
		{"nope", false, 0, fs.ErrNotExist},
	} {
		info, err := tr.Stat(tt.name)
		if !errors.Is(err, tt.err) {
			t.Errorf("Stat(%q): err %v, want %v", tt.name, err, tt.err)
			continue
		}
		if err == nil && (info.IsDir() != tt.dir || !tt.dir && info.Size() != tt.size || !tt.dir && !info.Mode().IsRegular()) {
			t.Errorf("Stat(%q) = dir %v size %d, want dir %v size %d", tt.name, info.IsDir(), info.Size(), tt.dir, tt.size)
		}
	}

	for _, tt := range []struct{ dir, want string }{
		{".", "assets/ assets.txt docs/ index.html"},
		{"assets", "app.js img/"},
		{"docs", "guide/"},
	} {
		d, err := tr.OpenDir(tt.dir)
		if err != nil {
			t.Fatalf("OpenDir(%q): %v", tt.dir, err)
		}
		infos, err := source.ReadDirUpTo(d, 100)
		if err != io.EOF {
			t.Errorf("OpenDir(%q): read err %v, want EOF", tt.dir, err)
		}
		var names []string
		for _, i := range infos {
			n := i.Name()
			if i.IsDir() {
				n += "/"
			}
			names = append(names, n)
		}
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("OpenDir(%q) = %q, want %q", tt.dir, got, tt.want)
		}
	}
	if _, err := tr.OpenDir("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenDir(nope): %v, want not exist", err)
	}

	if got := readAll(t, tr, "index.html"); got != "<h1>r1</h1>" {
		t.Errorf("index.html = %q", got)
	}
	info, _ := tr.Stat("index.html")
	v := tr.Version(info)
	sum, ok := tr.Hash("index.html", v)
	if !ok || sum != sha256.Sum256([]byte("<h1>r1</h1>")) {
		t.Errorf("Hash(index.html) = %x, %v; want the manifest's", sum, ok)
	}
	// The same bytes on another replica, or in another release, are the
	// same version: the key is the content hash.
	tr2 := NewTree(site(s, "r2"), nil, newBlobs(t, s, 10*time.Second), TreeOptions{})
	info2, _ := tr2.Stat("assets/app.js")
	info1, _ := tr.Stat("assets/app.js")
	if tr.Version(info1) != tr2.Version(info2) || tr.Version(info1) == v {
		t.Errorf("versions: same bytes %v and %v differ, or differ from another file's", tr.Version(info1), tr2.Version(info2))
	}
	f, _ := tr.Open("index.html")
	if source.OSFile(f) == nil {
		t.Errorf("an open blob is not a Local file (no sendfile)")
	}
	f.Close()
}

// TestTreeVariantsAsSidecars: the encodings made at deploy time are offered
// as sidecars, and opening one reads the variant's blob.
func TestTreeVariantsAsSidecars(t *testing.T) {
	s := newFakeStore()
	tr := NewTree(site(s, "r1"), nil, newBlobs(t, s, 10*time.Second), TreeOptions{})
	infos := source.StatSiblings(tr, "assets/app.js", []string{".br", ".zst", ".gz"})
	if infos[0] == nil || infos[1] != nil || infos[2] == nil {
		t.Fatalf("StatSiblings = %v, want br and gz only", infos)
	}
	if infos[0].Size() != 2 || infos[0].Name() != "app.js.br" {
		t.Errorf("br sidecar: %s of %d bytes", infos[0].Name(), infos[0].Size())
	}
	if got := readAll(t, tr, "assets/app.js.gz"); got != "GZIP" {
		t.Errorf("gz variant = %q", got)
	}
	f, _ := tr.Open("assets/app.js.br")
	fi, _ := f.Stat()
	f.Close()
	if tr.Version(fi) != tr.Version(infos[0]) {
		t.Errorf("an open variant is not the version StatSiblings gave")
	}
	if sum, ok := tr.Hash("assets/app.js.br", tr.Version(infos[0])); !ok || sum != sha256.Sum256([]byte("BR")) {
		t.Errorf("Hash of the br variant = %x, %v", sum, ok)
	}
}

// TestTreeSkew: a path the current release lacks is answered from the
// newest older release of the window that has it, but an HTML page is
// not unless SkewHTML; listings and directories are the current's only.
func TestTreeSkew(t *testing.T) {
	s := newFakeStore()
	r1 := site(s, "r1", s.file("assets/app.1.js", "text/javascript", []byte("one")),
		s.file("docs", "text/plain", []byte("a file where r3 has a directory")),
		s.file("old.html", "text/html; charset=utf-8", []byte("old page")),
		s.file("gone/x.css", "text/css", []byte("x")))
	r2 := site(s, "r2", s.file("assets/app.2.js", "text/javascript", []byte("two")),
		s.file("assets/app.1.js", "text/javascript", []byte("one from r2")))
	r3 := site(s, "r3", s.file("assets/app.3.js", "text/javascript", []byte("three")))
	blobs := newBlobs(t, s, 10*time.Second)
	tr := NewTree(r3, []*Release{r2, r1}, blobs, TreeOptions{})

	for _, tt := range []struct{ name, body, rel string }{
		{"assets/app.3.js", "three", "r3"},
		{"assets/app.2.js", "two", "r2"},
		{"assets/app.1.js", "one from r2", "r2"}, // the newest that has it
		{"gone/x.css", "x", "r1"},
		{"index.html", "<h1>r3</h1>", "r3"},
	} {
		info, err := tr.Stat(tt.name)
		if err != nil {
			t.Errorf("Stat(%q): %v", tt.name, err)
			continue
		}
		if got := ReleaseOf(info); got != tt.rel {
			t.Errorf("%s: from release %q, want %q", tt.name, got, tt.rel)
		}
		if got := readAll(t, tr, tt.name); got != tt.body {
			t.Errorf("%s = %q, want %q", tt.name, got, tt.body)
		}
	}
	if _, err := tr.Stat("old.html"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a page removed in the current release: %v, want not exist", err)
	}
	if info, err := tr.Stat("docs"); err != nil || !info.IsDir() {
		t.Errorf("a directory of the current release, a file in an older one: %v, %v; want the directory", info, err)
	}
	if _, err := tr.Stat("gone"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a directory of an older release only: %v, want not exist", err)
	}
	withHTML := NewTree(r3, []*Release{r2, r1}, blobs, TreeOptions{SkewHTML: true})
	if got := readAll(t, withHTML, "old.html"); got != "old page" {
		t.Errorf("old.html with SkewHTML = %q", got)
	}
}

// TestTreeOpenNow: OpenNow, for an event loop, opens a file or a variant
// whose blob is in the disk cache and refuses one that is not with
// source.ErrWouldWait without asking the store anything (no Get, no
// Stat), small or large; a name the manifest lacks gets Open's refusal.
func TestTreeOpenNow(t *testing.T) {
	s := newFakeStore()
	big := s.file("big.bin", "application/octet-stream", make([]byte, largeBlob))
	tr := NewTree(site(s, "r1", big), nil, newBlobs(t, s, 10*time.Second), TreeOptions{})
	for _, name := range []string{"index.html", "assets/app.js.br", "big.bin"} {
		if _, err := tr.OpenNow(name); !errors.Is(err, source.ErrWouldWait) {
			t.Errorf("OpenNow(%q) not cached: %v, want ErrWouldWait", name, err)
		}
	}
	if g, st := s.gets.Load(), s.stats.Load(); g != 0 || st != 0 {
		t.Fatalf("OpenNow asked the store: %d Gets, %d Stats", g, st)
	}
	for _, name := range []string{"index.html", "assets/app.js.br", "big.bin"} {
		f, err := tr.Open(name) // fetches into the disk cache
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		if l, ok := f.(*lazyFile); ok {
			// A large blob is read while it arrives: read it whole, so
			// that it is verified into the disk cache.
			if _, err := io.Copy(io.Discard, io.NewSectionReader(l, 0, largeBlob)); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	gets := s.gets.Load()
	if got := readNow(t, tr, "index.html"); got != "<h1>r1</h1>" {
		t.Errorf("OpenNow(index.html) cached = %q", got)
	}
	if got := readNow(t, tr, "assets/app.js.br"); got != "BR" {
		t.Errorf("OpenNow(assets/app.js.br) cached = %q", got)
	}
	if f, err := tr.OpenNow("big.bin"); err != nil || source.OSFile(f) == nil {
		t.Errorf("OpenNow(big.bin) cached: %v, a file of this system %v", err, err == nil && source.OSFile(f) != nil)
	}
	if g := s.gets.Load(); g != gets {
		t.Errorf("OpenNow of cached blobs made %d Gets", g-gets)
	}
	if _, err := tr.OpenNow("nothing.html"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenNow(nothing.html): %v, want ErrNotExist", err)
	}
}

func readNow(t *testing.T, tr *Tree, name string) string {
	t.Helper()
	f, err := tr.OpenNow(name)
	if err != nil {
		t.Fatalf("OpenNow(%q): %v", name, err)
	}
	defer f.Close()
	info, _ := f.Stat()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, info.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
