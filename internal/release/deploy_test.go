package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/stoahttp/stoa/internal/coding"
)

// fast are the levels of tests that do not look at compression ratios.
var fast = DeployOptions{Levels: coding.Levels{Brotli: 1, Zstd: 1, Gzip: 1}}

// page is compressible text of about n bytes, different for each seed.
func page(seed, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><title>page %d</title>\n", seed)
	for b.Len() < n {
		fmt.Fprintf(&b, "<p>Paragraph %d of page %d, with words that repeat.</p>\n", b.Len(), seed)
	}
	return b.String()
}

// noise is n incompressible bytes.
func noise(seed, n int) string {
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// writeSite writes files (path -> content) under dir.
func writeSite(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openStore(t testing.TB) *Dir {
	d, err := OpenDir(filepath.Join(t.TempDir(), "target"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// blob reads a blob of st.
func blob(t testing.TB, st Store, sum [32]byte) []byte {
	t.Helper()
	b, _, err := readAll(context.Background(), st, BlobKey(sum), 1<<30, Cond{})
	if err != nil {
		t.Fatalf("blob %x: %v", sum[:4], err)
	}
	return b
}

func current(t testing.TB, st Store) string {
	t.Helper()
	p, _, err := ReadPointer(context.Background(), st)
	if errors.Is(err, ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.Current
}

func TestDeploy(t *testing.T) {
	site := t.TempDir()
	files := map[string]string{
		"index.html":               page(1, 5000),
		"assets/app.3f9a.js":       strings.Repeat("console.log('stoa');\n", 200),
		"img/photo.png":            noise(1, 3000),
		"tiny.css":                 "a{}",
		"déjà vu/naïve file.txt":   page(2, 1000),
		".well-known/security.txt": "Contact: mailto:a@b.c\n",
		".git/HEAD":                "ref: refs/heads/main\n",
		".env":                     "SECRET=1\n",
		"drawing.svgz":             noise(2, 1000),
	}
	writeSite(t, site, files)
	if err := os.Symlink("index.html", filepath.Join(site, "home.html")); err != nil {
		t.Fatal(err)
	}
	files["home.html"] = files["index.html"]
	st := openStore(t)
	res, err := Deploy(context.Background(), site, st, DeployOptions{Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if current(t, st) != res.ID || res.Parent != "" || res.Files != 8 {
		t.Fatalf("result %+v, current %q", res, current(t, st))
	}
	m, err := LoadManifest(context.Background(), st, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Message != "first" || m.Len() != 8 {
		t.Errorf("manifest %+v with %d files", m.Header, m.Len())
	}
	for name, body := range files {
		f, ok := m.Lookup(name)
		if strings.HasPrefix(name, ".g") || strings.HasPrefix(name, ".e") {
			if ok {
				t.Errorf("%s was deployed", name)
			}
			continue
		}
		if !ok || f.Hash != sha256.Sum256([]byte(body)) || f.Size != int64(len(body)) {
			t.Errorf("%s: %+v", name, f)
			continue
		}
		if got := blob(t, st, f.Hash); string(got) != body {
			t.Errorf("%s: blob differs", name)
		}
		wantVariants := name == "index.html" || name == "home.html" || name == "assets/app.3f9a.js" || name == "déjà vu/naïve file.txt"
		if (len(f.Variants) == 3) != wantVariants {
			t.Errorf("%s (%s): variants %v, want 3: %v", name, f.ContentType, f.Variants, wantVariants)
		}
		for _, v := range f.Variants {
			enc := blob(t, st, v.Hash)
			if int64(len(enc)) != v.Size || sha256.Sum256(enc) != v.Hash || v.Size >= f.Size-f.Size/20 {
				t.Errorf("%s: %s variant of %d bytes", name, v.Coding, v.Size)
			}
			if v.Coding == "br" {
				dec, err := io.ReadAll(brotli.NewReader(bytes.NewReader(enc)))
				if err != nil || string(dec) != body {
					t.Errorf("%s: br variant does not decode to the file: %v", name, err)
				}
			}
		}
	}
	if f, _ := m.Lookup("index.html"); f.ContentType != "text/html; charset=utf-8" {
		t.Errorf("index.html: content type %q", f.ContentType)
	}
	// The same tree again uploads nothing but the manifest.
	res2, err := Deploy(context.Background(), site, st, fast)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Blobs != 0 || res2.Parent != res.ID || current(t, st) != res2.ID {
		t.Errorf("second deploy: %+v", res2)
	}
}

func TestDeployRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"symlink out", func(t *testing.T, dir string) {
			os.Symlink("../../etc/passwd", filepath.Join(dir, "a", "passwd"))
		}, `a/passwd": a symlink leading outside`},
		{"absolute symlink", func(t *testing.T, dir string) {
			os.Symlink("/etc/passwd", filepath.Join(dir, "passwd"))
		}, `passwd": a symlink leading outside`},
		{"symlink to dir", func(t *testing.T, dir string) {
			os.Symlink("a", filepath.Join(dir, "b"))
		}, `b": a symlink to a directory`},
		{"broken symlink", func(t *testing.T, dir string) {
			os.Symlink("nothing", filepath.Join(dir, "gone"))
		}, `gone": a symlink to nothing`},
		{"not utf-8", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "caf\xe9.html"), []byte("x"), 0o644)
		}, `caf\xe9.html": the name is not valid UTF-8`},
		{"control character", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "a\tb"), []byte("x"), 0o644)
		}, `a\tb": the name holds a control character`},
		{"fifo", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
				t.Skip(err)
			}
		}, `pipe": not a regular file`},
	}
	t.Run("long message", func(t *testing.T) {
		dir := t.TempDir()
		writeSite(t, dir, map[string]string{"index.html": "hi"})
		st := &counting{Store: openStore(t)}
		_, err := Deploy(context.Background(), dir, st, DeployOptions{Message: strings.Repeat("m", MaxMessage+1)})
		if err == nil || !strings.Contains(err.Error(), "message is longer") || len(st.puts) != 0 {
			t.Errorf("err = %v after %d Puts, want a refusal before any", err, len(st.puts))
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSite(t, dir, map[string]string{"a/index.html": "hi"})
			tt.setup(t, dir)
			st := openStore(t)
			_, err := Deploy(context.Background(), dir, st, fast)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %s", err, tt.want)
			}
			if current(t, st) != "" {
				t.Errorf("the pointer moved")
			}
		})
	}
}

// TestDeployChangedFile changes a file between its read and its check.
func TestDeployChangedFile(t *testing.T) {
	for _, how := range []string{"rewritten", "replaced"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			writeSite(t, dir, map[string]string{"a.html": page(1, 2000), "b.txt": "stable"})
			testHookRead = func(name string) {
				if name != "a.html" {
					return
				}
				p := filepath.Join(dir, "a.html")
				if how == "replaced" {
					os.WriteFile(p+".new", []byte(page(2, 2000)), 0o644)
					os.Rename(p+".new", p)
				} else {
					os.WriteFile(p, []byte(page(3, 2100)), 0o644)
				}
			}
			defer func() { testHookRead = nil }()
			st := openStore(t)
			_, err := Deploy(context.Background(), dir, st, fast)
			if err == nil || !strings.Contains(err.Error(), "a.html changed while it was read") {
				t.Fatalf("err = %v, want a.html named as changed", err)
			}
			if current(t, st) != "" {
				t.Errorf("the pointer moved")
			}
		})
	}
}

// counting is a Store that counts Puts by kind and can fail or stall.
type counting struct {
	Store
	mu   sync.Mutex
	puts []string
	// failPut, if set, is asked before each Put whether to fail it.
	failPut func(key string, n int) error
	// corrupt, if set, makes Gets of manifests return other bytes.
	corrupt bool
}

func (c *counting) Put(ctx context.Context, key string, r io.Reader, size int64, cond Cond) (Info, error) {
	c.mu.Lock()
	c.puts = append(c.puts, key)
	n := len(c.puts)
	fail := c.failPut
	c.mu.Unlock()
	if fail != nil {
		if err := fail(key, n); err != nil {
			return Info{}, err
		}
	}
	return c.Store.Put(ctx, key, r, size, cond)
}

func (c *counting) Get(ctx context.Context, key string, off, n int64, cond Cond) (io.ReadCloser, Info, error) {
	rc, info, err := c.Store.Get(ctx, key, off, n, cond)
	if err == nil && c.corrupt && strings.HasPrefix(key, ManifestPrefix) {
		b, _ := io.ReadAll(rc)
		rc.Close()
		b[len(b)/2] ^= 0x55
		rc = io.NopCloser(bytes.NewReader(b))
	}
	return rc, info, err
}

// kinds counts the keys put by kind: blobs, manifests, pointer.
func (c *counting) kinds() (blobs, manifests, pointers int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.puts {
		switch {
		case strings.HasPrefix(k, BlobPrefix):
			blobs++
		case strings.HasPrefix(k, ManifestPrefix):
			manifests++
		case k == PointerKey:
			pointers++
		}
	}
	return
}

// bigSite writes n files: every tenth a compressible page, the rest
// incompressible images, in 100 directories.
func bigSite(t testing.TB, dir string, n int) {
	files := make(map[string]string, n)
	for i := range n {
		name := fmt.Sprintf("d%02d/f%05d.png", i%100, i)
		body := noise(i, 1000)
		if i%10 == 0 {
			name = fmt.Sprintf("d%02d/p%05d.html", i%100, i)
			body = page(i, 1500)
		}
		files[name] = body
	}
	writeSite(t, dir, files)
}

// TestIncrementalDeploy: in a 10,000-file site with one changed file, a
// deploy uploads that file's blob and its three variants, the manifest and
// the pointer, nothing else.
func TestIncrementalDeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 files")
	}
	site := t.TempDir()
	bigSite(t, site, 10_000)
	st := openStore(t)
	first, err := Deploy(context.Background(), site, st, fast)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first deploy of %d files: %d blobs in %v", first.Files, first.Blobs, first.Elapsed)
	if first.Blobs != 10_000+3*1000 {
		t.Errorf("first deploy uploaded %d blobs, want %d", first.Blobs, 10_000+3*1000)
	}
	tests := []struct {
		name, file, body string
		blobs            int
	}{
		{"page", "d10/p00010.html", page(-1, 1600), 4},
		{"image", "d11/f00011.png", noise(-1, 1000), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeSite(t, site, map[string]string{tt.file: tt.body})
			c := &counting{Store: st}
			start := time.Now()
			res, err := Deploy(context.Background(), site, c, DeployOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("incremental deploy of %d files, one changed (%s): %v", res.Files, tt.name, time.Since(start))
			blobs, manifests, pointers := c.kinds()
			if blobs != tt.blobs || manifests != 1 || pointers != 1 || res.Blobs != tt.blobs {
				t.Errorf("Puts: %d blobs, %d manifests, %d pointers (result %d blobs); want %d, 1, 1", blobs, manifests, pointers, res.Blobs, tt.blobs)
			}
			m, err := LoadManifest(context.Background(), st, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if f, _ := m.Lookup(tt.file); f.Hash != sha256.Sum256([]byte(tt.body)) {
				t.Errorf("the manifest holds the old %s", tt.file)
			}
		})
	}
}

// TestNoHalfDeploy fails each Put of a deploy in turn, and a manifest
// that reads back wrong: the pointer never moves.
func TestNoHalfDeploy(t *testing.T) {
	old, site := t.TempDir(), t.TempDir()
	for _, dir := range []string{old, site} {
		writeSite(t, dir, map[string]string{"index.html": page(1, 3000), "a.png": noise(1, 500), "b/c.txt": page(2, 400)})
	}
	// prepare returns a store holding the release of old, and its id.
	prepare := func() (Store, string) {
		st := openStore(t)
		res, err := Deploy(context.Background(), old, st, fast)
		if err != nil {
			t.Fatal(err)
		}
		return st, res.ID
	}
	probeStore, _ := prepare()
	writeSite(t, site, map[string]string{"index.html": page(3, 3000), "new.png": noise(2, 500)})
	probe := &counting{Store: probeStore}
	if _, err := Deploy(context.Background(), site, probe, fast); err != nil {
		t.Fatal(err)
	}
	if len(probe.puts) != 7 { // index.html and 3 variants, new.png, manifest, pointer
		t.Fatalf("%d Puts: %q", len(probe.puts), probe.puts)
	}
	errDisk := errors.New("injected failure")
	for i, key := range probe.puts {
		if strings.HasPrefix(key, ManifestPrefix) {
			key = ManifestPrefix // a new id each run
		}
		st, first := prepare()
		c := &counting{Store: st, failPut: func(k string, _ int) error {
			if strings.HasPrefix(k, key) {
				return errDisk
			}
			return nil
		}}
		if _, err := Deploy(context.Background(), site, c, fast); !errors.Is(err, errDisk) {
			t.Errorf("Put %d (%s) failing: err = %v", i, key, err)
		}
		if got := current(t, st); got != first {
			t.Fatalf("Put %d (%s) failing: the pointer moved to %s", i, key, got)
		}
	}
	st, first := prepare()
	c := &counting{Store: st, corrupt: true}
	if _, err := Deploy(context.Background(), site, c, fast); err == nil || current(t, st) != first {
		t.Errorf("a manifest reading back wrong: err %v, current %s", err, current(t, st))
	}
}

// stalling is a Store whose pointer Puts wait until n of them have come,
// so that every deploy reads the pointer before any moves it.
type stalling struct {
	Store
	wg *sync.WaitGroup
}

func (s stalling) Put(ctx context.Context, key string, r io.Reader, size int64, cond Cond) (Info, error) {
	if key == PointerKey {
		s.wg.Done()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			return Info{}, errors.New("the other deploy never came")
		}
	}
	return s.Store.Put(ctx, key, r, size, cond)
}

func TestConcurrentDeploys(t *testing.T) {
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprintf("first=%v", first), func(t *testing.T) {
			target := t.TempDir()
			if !first {
				dir := t.TempDir()
				writeSite(t, dir, map[string]string{"index.html": "zero"})
				d, _ := OpenDir(target, false)
				if _, err := Deploy(context.Background(), dir, d, fast); err != nil {
					t.Fatal(err)
				}
				d.Close()
			}
			var wg sync.WaitGroup
			wg.Add(2)
			results := make([]Result, 2)
			errs := make([]error, 2)
			var run sync.WaitGroup
			for i := range 2 {
				dir := t.TempDir()
				writeSite(t, dir, map[string]string{"index.html": page(i, 2000), fmt.Sprintf("only-%d.txt", i): "x"})
				d, err := OpenDir(target, false) // one handle each, as two processes
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				run.Go(func() { results[i], errs[i] = Deploy(context.Background(), dir, stalling{d, &wg}, fast) })
			}
			run.Wait()
			won := slices.IndexFunc(errs, func(e error) bool { return e == nil })
			lost := 1 - won
			var ce *ConflictError
			if won < 0 || !errors.Is(errs[lost], ErrConflict) || !errors.As(errs[lost], &ce) {
				t.Fatalf("errors %v, want one nil and one ErrConflict", errs)
			}
			if ce.Winner != results[won].ID || !strings.Contains(errs[lost].Error(), "made release "+results[won].ID+" current meanwhile") {
				t.Errorf("loser's error %q does not name the winner %s", errs[lost], results[won].ID)
			}
			st, _ := OpenDir(target, false)
			defer st.Close()
			if current(t, st) != results[won].ID {
				t.Errorf("current %s, want the winner %s", current(t, st), results[won].ID)
			}
			rels, err := Releases(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			if n := map[bool]int{true: 1, false: 2}[first]; len(rels) != n {
				t.Errorf("%d releases listed, want %d (the loser's manifest removed)", len(rels), n)
			}
			m, err := LoadManifest(context.Background(), st, results[won].ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range m.All() {
				blob(t, st, f.Hash)
			}
		})
	}
}

// TestIncrementalDeployScale measures an incremental deploy of
// $STOA_DEPLOY_FILES files (1 KiB each, one changed) and, with
// $STOA_DEPLOY_PROFILE, writes its CPU profile there. It is skipped
// unless asked for: it writes that many files twice.
func TestIncrementalDeployScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STOA_DEPLOY_FILES"))
	if n == 0 {
		t.Skip("set STOA_DEPLOY_FILES to run")
	}
	site := t.TempDir()
	for d := 0; d*1000 < n; d++ {
		dir := filepath.Join(site, fmt.Sprintf("d%04d", d))
		os.MkdirAll(dir, 0o755)
		for i := d * 1000; i < min(n, (d+1)*1000); i++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%07d.bin", i)), []byte(noise(i, 1024)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := openStore(t)
	first, err := Deploy(context.Background(), site, st, fast)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first deploy: %d files, %d blobs in %v", first.Files, first.Blobs, first.Elapsed)
	os.WriteFile(filepath.Join(site, "d0000", "f0000000.bin"), []byte("changed"), 0o644)
	if p := os.Getenv("STOA_DEPLOY_PROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c := &counting{Store: st}
	res, err := Deploy(context.Background(), site, c, DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("incremental deploy: %d files, %d blobs, manifest %d bytes, in %v (%d Puts; heap in use %d MiB)",
		res.Files, res.Blobs, res.ManifestBytes, res.Elapsed, len(c.puts), after.HeapInuse>>20)
	if res.Blobs != 1 || len(c.puts) != 3 {
		t.Errorf("%d blobs, %d Puts; want 1 and 3", res.Blobs, len(c.puts))
	}
}

// TestVerifierRefusesChangedBytes: a large file read again for its upload
// is refused by the store if its bytes are no longer those hashed.
func TestVerifierRefusesChangedBytes(t *testing.T) {
	body := noise(7, 3<<20)
	sum := sha256.Sum256([]byte(body))
	tests := []struct {
		name, got string
		ok        bool
	}{
		{"same", body, true},
		{"one byte differs", body[:1000] + "x" + body[1001:], false},
		{"shorter", body[:len(body)-1], false},
		{"longer", body + "!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			v := &verifier{r: strings.NewReader(tt.got), h: sha256.New(), want: sum, left: int64(len(body)), err: errors.New("changed")}
			_, err := st.Put(context.Background(), BlobKey(sum), v, int64(len(body)), Cond{})
			if (err == nil) != tt.ok {
				t.Fatalf("Put: %v, want ok=%v", err, tt.ok)
			}
			if _, err := st.Stat(context.Background(), BlobKey(sum)); (err == nil) != tt.ok {
				t.Errorf("after Put: Stat %v, want the blob stored: %v", err, tt.ok)
			}
		})
	}
}

// TestDeployOverDamagedCurrent: a deploy over a current release whose
// manifest is damaged checks every blob and goes on.
func TestDeployOverDamagedCurrent(t *testing.T) {
	site := t.TempDir()
	writeSite(t, site, map[string]string{"a.txt": "a", "b.png": noise(1, 100)})
	st := openStore(t)
	first, err := Deploy(context.Background(), site, st, fast)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(st.String(), "releases", first.ID), []byte("garbage"), 0o644)
	writeSite(t, site, map[string]string{"c.txt": "c"})
	res, err := Deploy(context.Background(), site, st, fast)
	if err != nil || res.Blobs != 1 || current(t, st) != res.ID {
		t.Errorf("deploy over a damaged release: %+v, %v", res, err)
	}
}

func TestDeployTargetInsideDir(t *testing.T) {
	site := t.TempDir()
	writeSite(t, site, map[string]string{"index.html": "hi"})
	st, err := OpenDir(filepath.Join(site, "out"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := Deploy(context.Background(), site, st, fast); err == nil || !strings.Contains(err.Error(), "is inside") {
		t.Errorf("deploy into a target inside DIR: %v", err)
	}
	if _, err := Deploy(context.Background(), filepath.Join(site, "out", ".."), st, fast); err == nil {
		t.Errorf("deploy into a target inside DIR, named with ..: succeeded")
	}
}

func (s barrierStore) Put(ctx context.Context, key string, r io.Reader, size int64, cond Cond) (Info, error) {
	if key == PointerKey {
		os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("ready-%d", s.me)), nil, 0o644)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			ents, _ := os.ReadDir(s.dir)
			if len(ents) >= s.n {
				break
			}
			if time.Now().After(deadline) {
				return Info{}, errors.New("the other process never came")
			}
		}
	}
	return s.Store.Put(ctx, key, r, size, cond)
}

// TestDeployTwoProcesses runs two deploys to one target from two
// processes, both past reading the pointer before either moves it: the
// flock in the target lets one win, and the other reports the conflict.
func TestDeployTwoProcesses(t *testing.T) {
	if os.Getenv("STOA_DEPLOY_CHILD") != "" {
		t.Skip("the child's own run")
	}
	target, barrier := t.TempDir(), t.TempDir()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range 2 {
		site := t.TempDir()
		writeSite(t, site, map[string]string{"index.html": page(i, 2000)})
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeployChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "STOA_DEPLOY_CHILD="+strings.Join([]string{site, target, barrier, strconv.Itoa(i)}, "\n"))
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	var won, lost []string
	for i, cmd := range cmds {
		cmd.Wait()
		out := outs[i].String()
		switch {
		case strings.Contains(out, "DEPLOYED "):
			won = append(won, out[strings.Index(out, "DEPLOYED ")+9:][:23])
		case strings.Contains(out, "CONFLICT "):
			lost = append(lost, out)
		default:
			t.Fatalf("child %d: %s", i, out)
		}
	}
	if len(won) != 1 || len(lost) != 1 || !strings.Contains(lost[0], "made release "+won[0]+" current meanwhile") {
		t.Fatalf("won %q, lost %q; want one each, the loser naming the winner", won, lost)
	}
	st, _ := OpenDir(target, false)
	defer st.Close()
	if current(t, st) != won[0] {
		t.Errorf("current %s, want %s", current(t, st), won[0])
	}
	if _, err := LoadManifest(context.Background(), st, won[0]); err != nil {
		t.Error(err)
	}
}

// TestDeployChild is one process of TestDeployTwoProcesses.
func TestDeployChild(t *testing.T) {
	args := strings.Split(os.Getenv("STOA_DEPLOY_CHILD"), "\n")
	if len(args) != 4 {
		t.Skip("run by TestDeployTwoProcesses")
	}
	me, _ := strconv.Atoi(args[3])
	d, err := OpenDir(args[1], true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res, err := Deploy(context.Background(), args[0], barrierStore{d, args[2], me, 2}, fast)
	switch {
	case err == nil:
		fmt.Println("DEPLOYED " + res.ID)
	case errors.Is(err, ErrConflict):
		fmt.Println("CONFLICT " + err.Error())
	default:
		t.Fatal(err)
	}
}

// dropping is a Store that answers every blob Put with success and
// stores nothing, as a broken gateway might.
type dropping struct{ Store }

func (d dropping) Put(ctx context.Context, key string, r io.Reader, size int64, cond Cond) (Info, error) {
	if strings.HasPrefix(key, BlobPrefix) {
		io.Copy(io.Discard, r)
		return Info{Size: size, Tag: "x"}, nil
	}
	return d.Store.Put(ctx, key, r, size, cond)
}

// TestDeployReadsBlobsBack: a blob the store does not hold after its
// upload fails the deploy before the pointer moves.
func TestDeployReadsBlobsBack(t *testing.T) {
	site := t.TempDir()
	writeSite(t, site, map[string]string{"index.html": "hi"})
	st := openStore(t)
	if _, err := Deploy(context.Background(), site, dropping{st}, fast); err == nil || !strings.Contains(err.Error(), "does not read back") {
		t.Errorf("err = %v, want a blob that does not read back", err)
	}
	if current(t, st) != "" {
		t.Errorf("the pointer moved")
	}
}

// barrierStore is a Store whose pointer Puts wait until every process of
// a test has reached its own: a file per process in dir is the barrier.
type barrierStore struct {
	Store
	dir   string
	me, n int
}
