package resolve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/source"
)

// makeTree builds a served root with a secret file planted beside it, the
// way an attacker would hope to reach it.
func makeTree(t testing.TB) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	secret = filepath.Join(base, "secret.txt")
	files := map[string]string{
		"index.html":               "home",
		"a.txt":                    "a",
		"docs/index.html":          "docs",
		"docs/guide.html":          "guide",
		"empty/.keep":              "",
		".env":                     "SECRET=1",
		".git/config":              "[core]",
		".well-known/security.txt": "Contact: x",
		"sub/.hidden/x.txt":        "x",
		"with space.txt":           "s",
		"ünï.txt":                  "u",
		"%2e%2e":                   "literal",
		"a:b.txt":                  "colon",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(secret, []byte("TOP SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(secret, filepath.Join(root, "abs-link.txt")))
	must(t, os.Symlink("../secret.txt", filepath.Join(root, "rel-link.txt")))
	must(t, os.Symlink("a.txt", filepath.Join(root, "inside-link.txt")))
	must(t, os.Symlink("..", filepath.Join(root, "up")))
	must(t, os.Mkdir(filepath.Join(root, "locked"), 0o755))
	return root, secret
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct {
		raw   string
		clean string
		dir   bool
		bad   bool
	}{
		{raw: "/", clean: "/", dir: true},
		{raw: "/index.html", clean: "/index.html"},
		{raw: "/docs/", clean: "/docs", dir: true},
		{raw: "/a//b", clean: "/a/b"},
		{raw: "/a/./b/", clean: "/a/b", dir: true},
		{raw: "/../../etc/passwd", clean: "/etc/passwd"},
		{raw: "/a/..", clean: "/", dir: true},
		{raw: "/a/b/..", clean: "/a", dir: true},
		{raw: "/%2e%2e/%2e%2e/etc/passwd", clean: "/etc/passwd"},
		{raw: "/..%2f..%2fetc%2fpasswd", clean: "/etc/passwd"},
		{raw: "/%252e%252e/x", clean: "/%2e%2e/x"},
		{raw: "/with%20space.txt", clean: "/with space.txt"},
		{raw: "/%C3%BCn%C3%AF.txt", clean: "/ünï.txt"},
		{raw: "/a%00.txt", bad: true},
		{raw: "/..%5c..%5cetc", bad: true},
		{raw: "/..\\..\\etc", bad: true},
		{raw: "/%c0%ae%c0%ae/etc/passwd", bad: true}, // overlong "."
		{raw: "/%e0%80%af", bad: true},               // overlong "/"
		{raw: "/%", bad: true},
		{raw: "/%4", bad: true},
		{raw: "/%zz", bad: true},
		{raw: "", bad: true},
		{raw: "relative", bad: true},
		{raw: "*", bad: true},
	}
	for _, tt := range tests {
		clean, dir, err := CleanPath(tt.raw)
		if tt.bad {
			if err == nil {
				t.Errorf("CleanPath(%q) = %q, nil; want error", tt.raw, clean)
			}
			continue
		}
		if err != nil || clean != tt.clean || dir != tt.dir {
			t.Errorf("CleanPath(%q) = %q, %v, %v; want %q, %v, nil", tt.raw, clean, dir, err, tt.clean, tt.dir)
		}
	}
}

func TestCleanPathNoAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { CleanPath("/assets/app.css") }); n != 0 {
		t.Errorf("CleanPath of a clean path: %v allocs, want 0", n)
	}
}

func TestHidden(t *testing.T) {
	tests := []struct {
		p    string
		want bool
	}{
		{"/", false},
		{"/a.txt", false},
		{"/.env", true},
		{"/.git/config", true},
		{"/sub/.hidden/x", true},
		{"/a.b/c", false},
		{"/.well-known/security.txt", false},
		{"/.well-known", false},
		{"/.well-known/.secret", true},
		{"/x/.well-known/a", true},
	}
	for _, tt := range tests {
		if got := Hidden(tt.p, true); got != tt.want {
			t.Errorf("Hidden(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	root, _ := makeTree(t)
	r, err := New(root, Options{})
	must(t, err)
	defer r.Close()
	tests := []struct {
		raw      string
		kind     Kind
		name     string
		location string
	}{
		{raw: "/", kind: File, name: "index.html"},
		{raw: "/index.html", kind: File, name: "index.html"},
		{raw: "/docs/", kind: File, name: "docs/index.html"},
		{raw: "/docs", kind: Redirect, location: "/docs/"},
		{raw: "/docs/guide.html", kind: File, name: "docs/guide.html"},
		{raw: "/docs/guide.html/", kind: NotFound},
		{raw: "/index.html/x", kind: NotFound},
		{raw: "/empty/", kind: NotFound},
		{raw: "/missing", kind: NotFound},
		{raw: "/.env", kind: NotFound},
		{raw: "/.git/config", kind: NotFound},
		{raw: "/.git/", kind: NotFound},
		{raw: "/%2egit/config", kind: NotFound},
		{raw: "/sub/.hidden/x.txt", kind: NotFound},
		{raw: "/.well-known/security.txt", kind: File, name: ".well-known/security.txt"},
		{raw: "/with%20space.txt", kind: File, name: "with space.txt"},
		{raw: "/%C3%BCn%C3%AF.txt", kind: File, name: "ünï.txt"},
		{raw: "/%252e%252e", kind: File, name: "%2e%2e"},
		{raw: "/a:b.txt", kind: File, name: "a:b.txt"},
		{raw: "/inside-link.txt", kind: File, name: "inside-link.txt"},
		{raw: "/abs-link.txt", kind: NotFound},
		{raw: "/rel-link.txt", kind: NotFound},
		{raw: "/up/secret.txt", kind: NotFound},
		{raw: "/../secret.txt", kind: NotFound},
		{raw: "/a%00", kind: BadRequest},
		{raw: "/a%5cb", kind: BadRequest},
		{raw: "/docs/..", kind: File, name: "index.html"},
	}
	for _, tt := range tests {
		got := r.Resolve(tt.raw)
		if got.Kind != tt.kind || got.Name != tt.name && tt.name != "" || got.Location != tt.location {
			t.Errorf("Resolve(%q) = kind %d name %q location %q; want kind %d name %q location %q",
				tt.raw, got.Kind, got.Name, got.Location, tt.kind, tt.name, tt.location)
		}
	}
}

// TestResolveSiblingsAgreesWithResolve: describing a file's siblings in
// the same visit of its directory changes nothing of what a path resolves
// to, also for a link that leaves the directory but not the root, which
// the directory's own view refuses; and the siblings are those on disk.
func TestResolveSiblingsAgreesWithResolve(t *testing.T) {
	root, _ := makeTree(t)
	must(t, os.WriteFile(filepath.Join(root, "docs", "guide.html.gz"), []byte("gz"), 0o644))
	must(t, os.Symlink("../a.txt", filepath.Join(root, "docs", "up-link.txt")))
	r, err := New(root, Options{})
	must(t, err)
	defer r.Close()
	suffixes := []string{".br", ".gz"}
	for _, raw := range []string{
		"/", "/index.html", "/docs/", "/docs", "/docs/guide.html", "/docs/guide.html/",
		"/docs/up-link.txt", "/docs/missing.html", "/no-dir/missing.html", "/index.html/x",
		"/empty/", "/.env", "/inside-link.txt", "/abs-link.txt", "/rel-link.txt",
		"/up/secret.txt", "/a%00", "/locked",
	} {
		want, got := r.Resolve(raw), r.ResolveSiblings(raw, suffixes)
		if got.Kind != want.Kind || got.Name != want.Name || got.URLPath != want.URLPath || got.Location != want.Location ||
			(got.Info == nil) != (want.Info == nil) || got.Info != nil && !os.SameFile(got.Info, want.Info) {
			t.Errorf("ResolveSiblings(%q) = %+v; Resolve gives %+v", raw, got, want)
		}
		if want.Siblings != nil {
			t.Errorf("Resolve(%q) described siblings; want none asked for", raw)
		}
	}
	got := r.ResolveSiblings("/docs/guide.html", suffixes)
	if len(got.Siblings) != 2 || got.Siblings[0] != nil || got.Siblings[1] == nil || got.Siblings[1].Size() != 2 {
		t.Errorf("siblings of docs/guide.html: %v; want no .br and the 2-byte .gz", got.Siblings)
	}
	if got := r.ResolveSiblings("/docs/", suffixes); got.Name != "docs/index.html" || len(got.Siblings) != 2 || got.Siblings[1] != nil {
		t.Errorf("siblings of the index docs/index.html: %q %v; want two, none there", got.Name, got.Siblings)
	}
}

func TestResolveOptions(t *testing.T) {
	root, _ := makeTree(t)
	r, err := New(root, Options{Dotfiles: DotAllow, FollowSymlinks: true, Browse: true, Index: []string{"home.html", "index.html"}})
	must(t, err)
	defer r.Close()
	for _, tt := range []struct {
		raw  string
		kind Kind
	}{
		{"/.env", File},
		{"/.git/", Listing},
		{"/abs-link.txt", File},
		{"/empty/", Listing},
		{"/docs/", File},
	} {
		if got := r.Resolve(tt.raw); got.Kind != tt.kind {
			t.Errorf("Resolve(%q) with allow/follow/browse = kind %d, want %d", tt.raw, got.Kind, tt.kind)
		}
	}
	deny, err := New(root, Options{Dotfiles: DotDeny})
	must(t, err)
	if got := deny.Resolve("/.env"); got.Kind != Forbidden {
		t.Errorf("dotfiles deny: Resolve(/.env) = kind %d, want Forbidden", got.Kind)
	}
}

func TestReadDirHidesWhatCannotBeFetched(t *testing.T) {
	root, _ := makeTree(t)
	r, err := New(root, Options{Browse: true})
	must(t, err)
	infos, err := r.ReadDir(".")
	must(t, err)
	names := map[string]bool{}
	for _, fi := range infos {
		names[fi.Name()] = true
	}
	for _, n := range []string{".env", ".git", "abs-link.txt", "rel-link.txt", "up"} {
		if names[n] {
			t.Errorf("listing of / shows %q, which a request cannot fetch", n)
		}
	}
	for _, n := range []string{"index.html", "docs", "inside-link.txt", "with space.txt"} {
		if !names[n] {
			t.Errorf("listing of / lacks %q", n)
		}
	}
}

func TestNewRootErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	must(t, os.WriteFile(file, nil, 0o644))
	for _, tt := range []struct{ dir, want string }{
		{filepath.Join(dir, "nope"), "no such directory"},
		{file, "not a directory"},
	} {
		_, err := New(tt.dir, Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.dir) {
			t.Errorf("New(%q) error = %v; want one naming the path and %q", tt.dir, err, tt.want)
		}
	}
}

// FuzzResolve checks the one promise that matters: whatever the path, a
// file that resolves lies inside the root, and the secret beside the root
// is never reached.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/", "/../secret.txt", "/%2e%2e/secret.txt", "/up/secret.txt", "/rel-link.txt",
		"/abs-link.txt", "/..%2fsecret.txt", "/docs/../../secret.txt", "/%252e%252e/secret.txt", "/.env"} {
		f.Add(s)
	}
	root, secret := makeTree(f)
	r, err := New(root, Options{})
	must(f, err)
	realRoot, err := filepath.EvalSymlinks(root)
	must(f, err)
	f.Fuzz(func(t *testing.T, raw string) {
		res := r.Resolve(raw)
		if res.Kind != File && res.Kind != Listing {
			return
		}
		if Hidden("/"+res.Name, true) {
			t.Fatalf("Resolve(%q) reached hidden %q", raw, res.Name)
		}
		f, err := r.Source().Open(res.Name)
		if err != nil {
			return
		}
		defer f.Close()
		real, err := filepath.EvalSymlinks(filepath.Join(root, res.Name))
		if err != nil {
			t.Fatalf("Resolve(%q) = %q, which does not evaluate: %v", raw, res.Name, err)
		}
		if real == secret || !strings.HasPrefix(real+"/", realRoot+"/") {
			t.Fatalf("Resolve(%q) = %q, outside the root (%s)", raw, res.Name, real)
		}
	})
}

// TestOpenDirHidesDotNamesInBatches reads a listing one entry at a time,
// as a streamed listing does, from a source that is not a folder: hidden
// names are left out, and a batch of only hidden names does not end it.
func TestOpenDirHidesDotNamesInBatches(t *testing.T) {
	mem := source.NewMem()
	for _, n := range []string{".a", ".b", "c", ".d/x", "e/f"} {
		mem.Put(n, []byte(n), time.Unix(1e9, 0), false)
	}
	for _, tt := range []struct {
		dot  Dotfiles
		want string
	}{{DotHide, "c e"}, {DotDeny, "c e"}, {DotAllow, ".a .b .d c e"}} {
		d, err := Over(mem, Options{Dotfiles: tt.dot}).OpenDir(".")
		must(t, err)
		var names []string
		for range 10 {
			infos, err := d.ReadDir(1)
			for _, fi := range infos {
				names = append(names, fi.Name())
			}
			if err != nil || len(infos) == 0 {
				break
			}
		}
		d.Close()
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("dotfiles %d: entries %q, want %q", tt.dot, got, tt.want)
		}
	}
}
