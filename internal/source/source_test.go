package source

import (
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var mod = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// tree is what every source under test serves.
var tree = map[string]string{"a.txt": "alpha", "d/b.txt": "beta", "d/e/c.txt": "gamma"}

// kind is one implementation of Source under test, with the ways a test
// changes its tree.
type kind struct {
	name   string
	open   func(t *testing.T) Source
	put    func(t *testing.T, name, body string)
	remove func(t *testing.T, name string)
}

func kinds() []kind {
	var root string
	var mem *Mem
	return []kind{{
		name: "folder",
		open: func(t *testing.T) Source {
			root = t.TempDir()
			for n, b := range tree {
				writeFile(t, filepath.Join(root, n), b)
			}
			f, err := NewFolder(root, false)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		},
		put:    func(t *testing.T, n, b string) { writeFile(t, filepath.Join(root, n), b) },
		remove: func(t *testing.T, n string) { os.Remove(filepath.Join(root, n)) },
	}, {
		name: "mem",
		open: func(t *testing.T) Source {
			mem = NewMem()
			for n, b := range tree {
				mem.Put(n, []byte(b), mod, false)
			}
			return mem
		},
		put:    func(t *testing.T, n, b string) { mem.Put(n, []byte(b), mod, false) },
		remove: func(t *testing.T, n string) { mem.Remove(n) },
	}}
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSourcesAgree runs the promises of Source over every implementation:
// what the cache above relies on must not depend on where files live.
func TestSourcesAgree(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			src := k.open(t)
			if info, err := src.Stat("d"); err != nil || !info.IsDir() {
				t.Errorf("Stat(d) = %v, %v; want a directory", info, err)
			}
			if _, err := src.Stat("nope.txt"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(nope.txt) error = %v, want fs.ErrNotExist", err)
			}
			info, err := src.Stat("a.txt")
			if err != nil || !info.Mode().IsRegular() || info.Size() != 5 {
				t.Fatalf("Stat(a.txt) = %v, %v; want a regular file of 5 bytes", info, err)
			}
			before := src.Version(info)
			f, err := src.Open("a.txt")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := readAll(t, f, 5); got != "alpha" {
				t.Errorf("ReadAt of a.txt = %q, want alpha", got)
			}
			if fi, _ := f.Stat(); src.Version(fi) != before {
				t.Errorf("the open file's Version differs from Stat's: %+v, %+v", src.Version(fi), before)
			}
			if got := listNames(t, src, "."); got != "a.txt d " {
				t.Errorf("entries of . = %q, want \"a.txt d \"", got)
			}
			if got := listNames(t, src, "d"); got != "b.txt e " {
				t.Errorf("entries of d = %q, want \"b.txt e \"", got)
			}
			k.put(t, "a.txt", "ALPHA!")
			if fi, _ := f.Stat(); src.Version(fi) == before {
				t.Errorf("the open file's Version is unchanged after a rewrite")
			}
			if now, _ := src.Stat("a.txt"); src.Version(now) == before {
				t.Errorf("Stat's Version is unchanged after a rewrite")
			}
			g, _ := src.Open("d/b.txt")
			defer g.Close()
			k.remove(t, "d/b.txt")
			if !Removed(g) {
				t.Errorf("an open file removed from the tree does not say so")
			}
		})
	}
}

func readAll(t *testing.T, f File, n int) string {
	t.Helper()
	b := make([]byte, n)
	if k, err := f.ReadAt(b, 0); k != n {
		t.Fatalf("ReadAt = %d, %v; want %d bytes", k, err, n)
	}
	return string(b)
}

// listNames reads dir one entry at a time, as a streamed listing does, and
// returns the names sorted, each followed by a space.
func listNames(t *testing.T, src Source, dir string) string {
	t.Helper()
	d, err := src.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var names []string
	for range 100 {
		infos, err := d.ReadDir(1)
		for _, fi := range infos {
			names = append(names, fi.Name())
		}
		if err == io.EOF {
			break
		}
		if err != nil || len(infos) == 0 {
			t.Fatalf("ReadDir(1) = %d entries, %v before the end", len(infos), err)
		}
	}
	slices.Sort(names)
	return strings.Join(names, " ") + " "
}

func TestOSFileOnlyForLocalFiles(t *testing.T) {
	ks := kinds()
	folder, mem := ks[0].open(t), ks[1].open(t)
	ff, _ := folder.Open("a.txt")
	defer ff.Close()
	mf, _ := mem.Open("a.txt")
	if OSFile(ff) == nil {
		t.Errorf("a folder's file gives no *os.File; sendfile would be lost")
	}
	if OSFile(mf) != nil {
		t.Errorf("a Mem file gives an *os.File")
	}
}

func TestMemKnownHash(t *testing.T) {
	m := NewMem()
	m.Put("known", []byte("k"), mod, true)
	m.Put("unknown", []byte("u"), mod, false)
	info, _ := m.Stat("known")
	if sum, ok := Hash(m, "known", m.Version(info)); !ok || sum != sha256.Sum256([]byte("k")) {
		t.Errorf("Hash(known) = %x, %v; want the SHA-256 of its bytes", sum, ok)
	}
	m.Put("known", []byte("k2"), mod, true)
	if _, ok := Hash(m, "known", m.Version(info)); ok {
		t.Errorf("Hash of a replaced version is still known")
	}
	info, _ = m.Stat("unknown")
	if _, ok := Hash(m, "unknown", m.Version(info)); ok {
		t.Errorf("Hash(unknown) is known")
	}
}

// TestHoldsUnlinkedFile: a folder's file deleted while open holds the
// bytes of the version it was opened as (unlinking moves its change time
// only); one rewritten in place does not.
func TestHoldsUnlinkedFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(name, []byte("release 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := NewFolder(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	file, err := f.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	info, _ := file.Stat()
	was := f.Version(info)
	time.Sleep(10 * time.Millisecond) // so the change time moves visibly
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	info, _ = file.Stat()
	if !Holds(f, info, was) {
		t.Errorf("Holds = false for a file unlinked while open, want true")
	}
	rw, err := os.OpenFile(filepath.Join(dir, "x"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	rw.WriteString("release 1")
	info, _ = rw.Stat()
	was = f.Version(info)
	time.Sleep(10 * time.Millisecond)
	rw.WriteAt([]byte("RELEASE 2"), 0)
	info, _ = rw.Stat()
	if Holds(f, info, was) {
		t.Errorf("Holds = true for a file rewritten in place, want false")
	}
}
