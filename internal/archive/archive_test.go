package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/source"
)

// tree makes a folder from files (name -> content; a name ending in "/" is
// an empty directory) and returns its path.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func resolver(t *testing.T, dir string, opt resolve.Options) *resolve.Resolver {
	t.Helper()
	r, err := resolve.New(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// members reads archive b of format f back with the standard library:
// file name -> content, directories with a "/" suffix and content "".
func members(t *testing.T, f Format, b []byte) map[string]string {
	t.Helper()
	got := map[string]string{}
	switch f {
	case Zip:
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("zip: %v", err)
		}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				t.Fatalf("zip %s: %v", zf.Name, err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("zip %s: %v", zf.Name, err)
			}
			got[zf.Name] = string(body)
		}
	case TarGz:
		gz, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("tar: %v", err)
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("tar %s: %v", h.Name, err)
			}
			got[h.Name] = string(body)
		}
	}
	return got
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func write(t *testing.T, f Format, r *resolve.Resolver, o Options) map[string]string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f, r, o); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return members(t, f, buf.Bytes())
}

func TestArchiveMatchesFolder(t *testing.T) {
	files := map[string]string{
		"docs/a.txt":             strings.Repeat("text that compresses ", 500),
		"docs/img.png":           "\x89PNG not really",
		"docs/sub/deep/b.css":    "body{}",
		"docs/empty/":            "",
		"docs/ünïcode name.md":   "# hi",
		"docs/sp ace/&amp;'\".x": "odd",
		"other.txt":              "not in docs",
	}
	dir := tree(t, files)
	r := resolver(t, dir, resolve.Options{Browse: true})
	want := map[string]string{"docs/": "", "docs/sub/": "", "docs/sub/deep/": "", "docs/empty/": "", "docs/sp ace/": ""}
	for name, body := range files {
		if strings.HasPrefix(name, "docs/") && !strings.HasSuffix(name, "/") {
			want[name] = body
		}
	}
	for _, f := range []Format{Zip, TarGz} {
		t.Run(f.Ext(), func(t *testing.T) {
			got := write(t, f, r, Options{Dir: "docs", URLPath: "/docs/"})
			if g, w := keys(got), keys(want); strings.Join(g, "|") != strings.Join(w, "|") {
				t.Fatalf("members:\n got %q\nwant %q", g, w)
			}
			for name, body := range want {
				if got[name] != body {
					t.Errorf("%s: %d bytes, want %d", name, len(got[name]), len(body))
				}
			}
		})
	}
}

func TestArchiveOfRootIsNamedRoot(t *testing.T) {
	r := resolver(t, tree(t, map[string]string{"a.txt": "a"}), resolve.Options{Browse: true})
	got := write(t, Zip, r, Options{Dir: ".", URLPath: "/"})
	if got["root/a.txt"] != "a" {
		t.Fatalf("members %q, want root/a.txt", keys(got))
	}
}

// TestArchiveSafety: the archive holds what a request could fetch, and
// nothing else: hidden names stay hidden, links leading outside the root
// are left out unless follow_symlinks, a link to an ancestor is not
// walked forever, names with a backslash are left out.
func TestArchiveSafety(t *testing.T) {
	outside := tree(t, map[string]string{"secret.txt": "outside"})
	dir := tree(t, map[string]string{
		"d/ok.txt":      "ok",
		"d/.env":        "dot",
		"d/.git/config": "dot dir",
		`d/..\..\evil`:  "backslash",
		"d/inner.txt":   "inner",
	})
	for old, new := range map[string]string{
		filepath.Join(outside, "secret.txt"): "d/out.txt",
		outside:                              "d/outdir",
		"../d":                               "d/loop",
		"inner.txt":                          "d/in-link.txt",
	} {
		if err := os.Symlink(old, filepath.Join(dir, filepath.FromSlash(new))); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := resolver(t, dir, resolve.Options{}).Stat("d/loop"); err != nil || !fi.IsDir() {
		t.Fatalf("d/loop: %v; want the link to its parent to be a directory a request reaches", err)
	}
	tests := []struct {
		name    string
		opt     resolve.Options
		want    []string
		wantNot []string
	}{
		{"default", resolve.Options{Browse: true},
			[]string{"d/ok.txt", "d/inner.txt", "d/in-link.txt"},
			[]string{"d/.env", "d/.git/config", "d/out.txt", "d/outdir/secret.txt", `d/..\..\evil`, "d/loop/ok.txt"}},
		{"dotfiles allow", resolve.Options{Browse: true, Dotfiles: resolve.DotAllow},
			[]string{"d/.env", "d/.git/config"},
			[]string{"d/out.txt", "d/outdir/secret.txt", "d/loop/ok.txt"}},
		{"dotfiles deny", resolve.Options{Browse: true, Dotfiles: resolve.DotDeny},
			[]string{"d/ok.txt"},
			[]string{"d/.env", "d/.git/config"}},
		{"follow_symlinks", resolve.Options{Browse: true, FollowSymlinks: true},
			[]string{"d/out.txt", "d/outdir/secret.txt"},
			[]string{"d/loop/ok.txt", `d/..\..\evil`}},
	}
	for _, tt := range tests {
		for _, f := range []Format{Zip, TarGz} {
			t.Run(tt.name+f.Ext(), func(t *testing.T) {
				got := write(t, f, resolver(t, dir, tt.opt), Options{Dir: "d", URLPath: "/d/"})
				for _, n := range tt.want {
					if _, ok := got[n]; !ok {
						t.Errorf("%s missing; members %q", n, keys(got))
					}
				}
				for _, n := range tt.wantNot {
					if _, ok := got[n]; ok {
						t.Errorf("%s in the archive; members %q", n, keys(got))
					}
				}
				for n := range got {
					if strings.Contains(n, "..") || strings.HasPrefix(n, "/") {
						t.Errorf("member %q leaves the folder", n)
					}
				}
			})
		}
	}
}

func TestArchiveAdmit(t *testing.T) {
	r := resolver(t, tree(t, map[string]string{"d/pub.txt": "p", "d/priv/x.txt": "x"}), resolve.Options{Browse: true})
	var asked []string
	o := Options{Dir: "d", URLPath: "/d/", Admit: func(u string) bool {
		asked = append(asked, u)
		return !strings.HasPrefix(u, "/d/priv/")
	}}
	got := write(t, TarGz, r, o)
	if _, ok := got["d/priv/x.txt"]; ok {
		t.Errorf("refused file in the archive: %q", keys(got))
	}
	if got["d/pub.txt"] != "p" {
		t.Errorf("admitted file missing: %q", keys(got))
	}
	if !strings.Contains(strings.Join(asked, " "), "/d/priv/x.txt") {
		t.Errorf("Admit asked for %q, want the URL paths of entries", asked)
	}
}

// TestArchiveFileChangedWhileSent: a file that is rewritten while it is
// copied cuts the archive short with ErrChanged, rather than announce
// bytes it does not hold or mix two versions.
func TestArchiveFileChangedWhileSent(t *testing.T) {
	for _, body := range []string{"short", strings.Repeat("b", 1000)} {
		dir := tree(t, map[string]string{"d/a.txt": strings.Repeat("a", 1000)})
		r := resolver(t, dir, resolve.Options{Browse: true})
		rewrite := func() { os.WriteFile(filepath.Join(dir, "d", "a.txt"), []byte(body), 0o644) }
		for _, f := range []Format{Zip, TarGz} {
			os.WriteFile(filepath.Join(dir, "d", "a.txt"), []byte(strings.Repeat("a", 1000)), 0o644)
			err := Write(io.Discard, f, rewritingTree{r, rewrite}, Options{Dir: "d", URLPath: "/d/"})
			if !errors.Is(err, ErrChanged) {
				t.Errorf("%s rewritten to %d bytes: Write: %v, want ErrChanged", f.Ext(), len(body), err)
			}
		}
	}
}

// rewritingTree calls rewrite before the first read of a file.
type rewritingTree struct {
	*resolve.Resolver
	rewrite func()
}

func (t rewritingTree) Source() source.Source { return rewritingSource{t.Resolver.Source(), t.rewrite} }

type rewritingSource struct {
	source.Source
	rewrite func()
}

func (s rewritingSource) Open(name string) (source.File, error) {
	f, err := s.Source.Open(name)
	return &rewritingFile{File: f, rewrite: s.rewrite}, err
}

type rewritingFile struct {
	source.File
	rewrite func()
	done    bool
}

func (f *rewritingFile) ReadAt(p []byte, off int64) (int, error) {
	if !f.done {
		f.done = true
		// File times tick with the kernel's clock, a few ms: wait
		// for the next tick so the rewrite gets another mtime.
		time.Sleep(10 * time.Millisecond)
		f.rewrite()
	}
	return f.File.ReadAt(p, off)
}

// countWriter counts what is written to it and drops it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestArchiveHeapIsFlat: a folder far larger than any buffer (200 MiB of
// sparse files, none of it on disk) is archived with the heap sampled all
// along staying under a ceiling: nothing is built in memory. The files are
// PNGs, which a zip stores as they are, so the zip is 200 MiB too.
func TestArchiveHeapIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 400 MiB")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "big"), 0o755); err != nil {
		t.Fatal(err)
	}
	const files, size = 4, 50 << 20
	for i := range files {
		f, err := os.Create(filepath.Join(dir, "big", "f"+string(rune('0'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	r := resolver(t, dir, resolve.Options{Browse: true})
	const ceiling = 8 << 20
	for _, f := range []Format{Zip, TarGz} {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		done := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		var w countWriter
		err := Write(&w, f, r, Options{Dir: "big", URLPath: "/big/"})
		close(done)
		<-sampled
		if err != nil {
			t.Fatalf("%s: %v", f.Ext(), err)
		}
		grew := int64(peak.Load()) - int64(base.HeapInuse)
		t.Logf("%s: %d bytes out, heap grew by %d KiB at most", f.Ext(), w.n, grew>>10)
		if w.n < files*size && f == Zip {
			t.Errorf("zip of %d MiB of PNGs is %d bytes: not stored", files*size>>20, w.n)
		}
		if grew > ceiling {
			t.Errorf("%s of %d MiB: heap grew by %d MiB, want under %d MiB", f.Ext(), files*size>>20, grew>>20, ceiling>>20)
		}
	}
}

// TestArchiveCost: Cost covers what one archive being written holds.
func TestArchiveCost(t *testing.T) {
	dir := tree(t, map[string]string{"d/a.txt": strings.Repeat("compressible text ", 100_000), "d/b.bin": strings.Repeat("\x00\x01", 100_000)})
	r := resolver(t, dir, resolve.Options{Browse: true})
	for _, f := range []Format{Zip, TarGz} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := Write(&countWriter{}, f, r, Options{Dir: "d", URLPath: "/d/"}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		got := int64(after.TotalAlloc - before.TotalAlloc)
		t.Logf("%s: %d KiB allocated", f.Ext(), got>>10)
		if got > Cost {
			t.Errorf("%s allocated %d KiB, more than Cost (%d KiB)", f.Ext(), got>>10, Cost>>10)
		}
	}
}

func TestFromQuery(t *testing.T) {
	for _, tt := range []struct {
		q  string
		f  Format
		ok bool
	}{
		{"", None, true},
		{"sort=size&order=desc", None, true},
		{"archive=zip", Zip, true},
		{"sort=name&archive=tar.gz", TarGz, true},
		{"archive=tgz", TarGz, true},
		{"archive=rar", None, false},
		{"archive=", None, false},
		{"archive", None, false},
		{"xarchive=zip", None, true},
	} {
		if f, ok := FromQuery(tt.q); f != tt.f || ok != tt.ok {
			t.Errorf("FromQuery(%q) = %v, %v; want %v, %v", tt.q, f, ok, tt.f, tt.ok)
		}
	}
}

func TestDisposition(t *testing.T) {
	for _, tt := range []struct{ urlPath, want string }{
		{"/docs/", `attachment; filename="docs.zip"; filename*=UTF-8''docs.zip`},
		{"/", `attachment; filename="root.zip"; filename*=UTF-8''root.zip`},
		{"/a/ünï \"q\"/", `attachment; filename="__n__ _q_.zip"; filename*=UTF-8''%C3%BCn%C3%AF%20%22q%22.zip`},
		{"/it's/", `attachment; filename="it's.zip"; filename*=UTF-8''it%27s.zip`},
		{"/a=b;c@d/", `attachment; filename="a=b;c@d.zip"; filename*=UTF-8''a%3Db%3Bc%40d.zip`},
	} {
		if got := string(AppendDisposition(nil, Name(tt.urlPath, Zip))); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.urlPath, got, tt.want)
		}
	}
}
