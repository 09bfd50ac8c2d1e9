package content

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/coding"
	"github.com/stoahttp/stoa/internal/resolve"
)

func newCache(t *testing.T, files map[string]string, opt Options) (*Cache, string) {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := resolve.New(root, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	return New(res, opt), root
}

func TestEntryHeadersAndETag(t *testing.T) {
	c, root := newCache(t, map[string]string{"a.css": "body{}", "b.css": "body{}"}, Options{CacheControl: "max-age=60"})
	a, b := c.Get("/a.css"), c.Get("/b.css")
	if a.Kind != resolve.File || string(a.Body) != "body{}" {
		t.Fatalf("Get(/a.css) = kind %d body %q", a.Kind, a.Body)
	}
	// Same bytes, same ETag, whatever the file's name, inode or mtime:
	// replicas agree.
	if a.ETag == "" || a.ETag != b.ETag {
		t.Errorf("ETags of identical files: %q and %q, want equal and non-empty", a.ETag, b.ETag)
	}
	os.Chtimes(filepath.Join(root, "b.css"), time.Unix(1e9, 0), time.Unix(1e9, 0))
	for _, want := range []string{"Content-Type: text/css; charset=utf-8\r\n", "Content-Length: 6\r\n", "ETag: " + a.ETag + "\r\n",
		"Last-Modified: ", "Accept-Ranges: bytes\r\n", "Cache-Control: max-age=60\r\n", "X-Content-Type-Options: nosniff\r\n"} {
		if !strings.Contains(string(a.Head.HTTP1()), want) {
			t.Errorf("Head %q lacks %q", a.Head.HTTP1(), want)
		}
	}
	if strings.Contains(string(a.Head304.HTTP1()), "Content-Length") || !strings.Contains(string(a.Head304.HTTP1()), a.ETag) {
		t.Errorf("Head304 %q: want the ETag and no Content-Length", a.Head304.HTTP1())
	}
	if p := "\r\n" + string(a.HeadPartial.HTTP1()); strings.Contains(p, "\nContent-Length:") || strings.Contains(p, "\nContent-Type:") {
		t.Errorf("HeadPartial %q must leave Content-Type and Content-Length to the ranges", a.HeadPartial.HTTP1())
	}
}

func TestAliasesShareOneBody(t *testing.T) {
	c, _ := newCache(t, map[string]string{"index.html": "home"}, Options{})
	a, b := c.Get("/"), c.Get("/index.html")
	if a != b {
		t.Errorf("/ and /index.html got different entries; want one shared body")
	}
}

// TestRevalidateNoticesChanges runs on a clock of its own, moved past the
// interval by hand: a stalled machine cannot outlast the interval between
// two calls, nor does the test sleep.
func TestRevalidateNoticesChanges(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	const every = time.Second
	c, root := newCache(t, map[string]string{"a.txt": "one"}, Options{Revalidate: every, Clock: clock.now})
	first := c.Get("/a.txt")
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("two!"), 0o644)
	clock.advance(every - 1)
	if got := c.Get("/a.txt"); got != first {
		t.Errorf("within the revalidation interval the entry changed; want the cached one")
	}
	clock.advance(1)
	if got := c.Get("/a.txt"); string(got.Body) != "two!" || got.ETag == first.ETag {
		t.Errorf("after the interval: body %q ETag %q; want the new version", got.Body, got.ETag)
	}
	os.Remove(filepath.Join(root, "a.txt"))
	clock.advance(every)
	if got := c.Get("/a.txt"); got.Kind != resolve.NotFound {
		t.Errorf("after removal: kind %d, want NotFound", got.Kind)
	}
	// A new file is found too: misses are not remembered forever.
	os.WriteFile(filepath.Join(root, "new.txt"), nil, 0o644)
	if got := c.Get("/new.txt"); got.Kind != resolve.File {
		t.Errorf("new file: kind %d, want File", got.Kind)
	}
}

// TestLookupAtTakesTheTimeGiven: LookupAt measures revalidation by its
// caller's time, not by Options.Clock, which here never moves.
func TestLookupAtTakesTheTimeGiven(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	const every = time.Second
	c, root := newCache(t, map[string]string{"a.txt": "one"}, Options{Revalidate: every, Clock: clock.now})
	start := clock.t.UnixNano()
	first := c.LookupAt("/a.txt", false, start)
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("two!"), 0o644)
	if got := c.LookupAt("/a.txt", false, start+int64(every)-1); got != first {
		t.Errorf("LookupAt within the interval: a new entry; want the cached one")
	}
	if got := c.LookupAt("/a.txt", false, start+int64(every)); string(got.Body) != "two!" {
		t.Errorf("LookupAt after the interval: body %q, want the new version", got.Body)
	}
}

// TestRevalidationSeesSidecarChanges: a file checked again has its
// sidecars checked in the same visit of its directory (a sidecar added,
// rewritten or removed is noticed), under a subdirectory as at the root.
func TestRevalidationSeesSidecarChanges(t *testing.T) {
	for _, name := range []string{"page.html", "sub/page.html"} {
		c, root := newCache(t, map[string]string{name: "<p>page</p>"}, Options{Revalidate: -1, DisableCompression: true})
		gz := filepath.Join(root, filepath.FromSlash(name)+".gz")
		path := "/" + name
		if e := c.Get(path); e.Codings.Has(coding.Gzip) {
			t.Fatalf("%s: gzip before any sidecar", name)
		}
		os.WriteFile(gz, []byte("gz"), 0o644)
		first := c.Get(path)
		if !first.Codings.Has(coding.Gzip) {
			t.Errorf("%s: sidecar added, not noticed", name)
		}
		os.WriteFile(gz, []byte("gzip"), 0o644)
		if e := c.Get(path); e == first || !e.Codings.Has(coding.Gzip) {
			t.Errorf("%s: sidecar rewritten, entry kept", name)
		}
		os.Remove(gz)
		if e := c.Get(path); e.Codings.Has(coding.Gzip) {
			t.Errorf("%s: sidecar removed, still offered", name)
		}
	}
}

func TestUnchangedFileKeepsEntry(t *testing.T) {
	c, _ := newCache(t, map[string]string{"a.txt": "one"}, Options{Revalidate: -1})
	if a, b := c.Get("/a.txt"), c.Get("/a.txt"); a != b {
		t.Errorf("revalidating an unchanged file made a new entry; want the same bytes reused")
	}
}

func TestLargeFileHashedInBackground(t *testing.T) {
	big := strings.Repeat("z", 300<<10)
	c, _ := newCache(t, map[string]string{"big.bin": big, "copy.bin": big}, Options{MaxFileInMemory: 64 << 10})
	e := c.Get("/big.bin")
	if e.Body != nil {
		t.Fatalf("a file over MaxFileInMemory was read into memory")
	}
	if e.ETag != "" && !strings.Contains(string(e.Head.HTTP1()), e.ETag) {
		t.Fatalf("ETag %q missing from Head", e.ETag)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.ETag == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		e = c.Get("/big.bin")
	}
	if e.ETag == "" || !strings.Contains(string(e.Head.HTTP1()), "ETag: "+e.ETag) {
		t.Fatalf("large file: no ETag after 5s (Head %q)", e.Head.HTTP1())
	}
	small, _ := newCache(t, map[string]string{"big.bin": big}, Options{MaxFileInMemory: 1 << 20})
	if want := small.Get("/big.bin").ETag; e.ETag != want {
		t.Errorf("streamed hash %q differs from in-memory hash %q of the same bytes", e.ETag, want)
	}
	h, err := c.Open(&e.Rep, false)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	h.Release()
}

func TestOpenReportsChangedFile(t *testing.T) {
	c, root := newCache(t, map[string]string{"big.bin": strings.Repeat("a", 1000)}, Options{MaxFileInMemory: 10})
	e := c.Get("/big.bin")
	os.WriteFile(filepath.Join(root, "big.bin"), []byte("short"), 0o644)
	if _, err := c.Open(&e.Rep, false); err != ErrChanged {
		t.Errorf("Open after a rewrite: %v, want ErrChanged (headers would announce the old length)", err)
	}
}

func TestMemoryBudget(t *testing.T) {
	a600, b600 := strings.Repeat("a", 600), strings.Repeat("b", 600)
	c, _ := newCache(t, map[string]string{"a": a600, "b": b600}, Options{MemoryBudget: 1000})
	for range 3 {
		for _, p := range []string{"/a", "/b"} {
			e := c.Get(p)
			if string(e.Body) != map[string]string{"/a": a600, "/b": b600}[p] && e.Body != nil {
				t.Fatalf("GET %s: wrong body", p)
			}
		}
		c.store.bodies.CleanUp()
		// Eviction handlers run on goroutines of their own: wait for
		// them, within a bound, rather than for a fixed time.
		within := waitUntil(5*time.Second, func() bool {
			st := c.Stats()
			return st.Bytes <= 1000 && st.Files <= 1
		})
		if st := c.Stats(); !within {
			t.Errorf("budget 1000 with two 600-byte files: %d bytes in %d files held; want one file", st.Bytes, st.Files)
		}
	}
	// Nothing keeps an evicted body alive: no route points at it.
	stale := func() (k string) {
		c.mu.RLock()
		defer c.mu.RUnlock()
		for k, rt := range c.routes {
			if rt.entry.evicted.Load() {
				return k
			}
		}
		return ""
	}
	if !waitUntil(5*time.Second, func() bool { return stale() == "" }) {
		t.Errorf("route %q still points at an evicted entry, holding its body beyond the budget", stale())
	}
	big, _ := newCache(t, map[string]string{"huge": strings.Repeat("h", 2000)}, Options{MemoryBudget: 1000})
	if e := big.Get("/huge"); e.Body != nil || e.Size != 2000 {
		t.Errorf("a file larger than the whole budget was read into memory")
	}
}

// TestHitRateOnSkewedLoad measures the CLOCK eviction on a Zipf-distributed
// workload over more bytes than the budget holds: the hot files stay.
func TestHitRateOnSkewedLoad(t *testing.T) {
	files := map[string]string{}
	const n, size = 500, 4 << 10
	for i := range n {
		files[fmt.Sprintf("f%03d.html", i)] = strings.Repeat(string(rune('a'+i%26)), size)
	}
	// The budget holds a tenth of the files.
	c, _ := newCache(t, files, Options{MemoryBudget: n * size / 10, Revalidate: time.Hour})
	zipf := rand.NewZipf(rand.New(rand.NewSource(1)), 1.1, 1, n-1)
	loads := 0
	const requests = 50_000
	for range requests {
		name := fmt.Sprintf("/f%03d.html", zipf.Uint64())
		before := c.Stats().Misses
		e := c.Get(name)
		if c.Stats().Misses != before && e.Body != nil {
			loads++
		}
	}
	hit := 1 - float64(loads)/requests
	t.Logf("Zipf(1.1) over %d files, budget %d%% of them: body hit rate %.1f%%", n, 10, 100*hit)
	if hit < 0.65 {
		t.Errorf("hit rate %.2f on a skewed load with a tenth cached; want at least 0.65 (the hot set must stay)", hit)
	}
	c.store.bodies.CleanUp()
	if st := c.Stats(); st.Bytes > n*size/10 {
		t.Errorf("%d bytes held, over the budget of %d", st.Bytes, n*size/10)
	}
}

func TestMaxEntriesBoundsRoutes(t *testing.T) {
	c, _ := newCache(t, map[string]string{"a": "a"}, Options{MaxEntries: 100})
	for i := 0; i < 1000; i++ {
		c.Get("/missing-" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)))
	}
	c.mu.RLock()
	n := len(c.routes)
	c.mu.RUnlock()
	if n > 100 {
		t.Errorf("%d routes remembered, want at most MaxEntries=100", n)
	}
}

// BenchmarkGet compares a path answered from the cache with one resolved
// and stat'ed again (as happens once per --revalidate interval):
// benchstat -col /cache.
func BenchmarkGet(b *testing.B) {
	root := b.TempDir()
	os.MkdirAll(filepath.Join(root, "assets"), 0o755)
	os.WriteFile(filepath.Join(root, "assets", "a.html"), []byte("hello"), 0o644)
	res, _ := resolve.New(root, resolve.Options{})
	for _, bc := range []struct {
		name       string
		revalidate time.Duration
	}{{"cache=hit", time.Hour}, {"cache=miss", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			c := New(res, Options{Revalidate: bc.revalidate})
			c.Get("/assets/a.html")
			b.ReportAllocs()
			for b.Loop() {
				c.Get("/assets/a.html")
			}
		})
	}
}

func TestOpenSharesBoundedHandles(t *testing.T) {
	files := map[string]string{}
	for i := range 5 {
		files[fmt.Sprintf("f%d.bin", i)] = strings.Repeat("x", 100+i)
	}
	c, root := newCache(t, files, Options{MaxFileInMemory: 10, MaxOpenFiles: 3})
	e := c.Get("/f0.bin")
	h1, err1 := c.Open(&e.Rep, false)
	h2, err2 := c.Open(&e.Rep, false)
	if err1 != nil || err2 != nil || h1 != h2 {
		t.Fatalf("two opens of one large file: %v %v, same handle %v; want one shared handle", err1, err2, h1 == h2)
	}
	for i := 1; i < 5; i++ {
		e := c.Get(fmt.Sprintf("/f%d.bin", i))
		h, err := c.Open(&e.Rep, false)
		if err != nil {
			t.Fatal(err)
		}
		h.Release()
	}
	if n := c.openFiles(); n > 3 {
		t.Errorf("%d files kept open, want at most MaxOpenFiles=3", n)
	}
	// A handle closed by the bound while in use stays readable until released.
	buf := make([]byte, 3)
	if _, err := h1.File().ReadAt(buf, 0); err != nil {
		t.Errorf("handle in use was closed under its request: %v", err)
	}
	h1.Release()
	h2.Release()
	// A file rewritten in place is caught on the next use of its handle.
	e3 := c.Get("/f4.bin")
	h, _ := c.Open(&e3.Rep, false)
	h.Release()
	os.WriteFile(filepath.Join(root, "f4.bin"), []byte("changed in place"), 0o644)
	if _, err := c.Open(&e3.Rep, false); err != ErrChanged {
		t.Errorf("Open after an in-place rewrite: %v, want ErrChanged", err)
	}
}

func TestCloseReleasesHandles(t *testing.T) {
	c, _ := newCache(t, map[string]string{"a.bin": strings.Repeat("x", 100), "b.bin": strings.Repeat("y", 100)},
		Options{MaxFileInMemory: 10, MaxOpenFiles: 3})
	e := c.Get("/a.bin")
	inUse, err := c.Open(&e.Rep, false)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := c.openFiles(); n != 0 {
		t.Errorf("%d files kept open after Close, want 0", n)
	}
	buf := make([]byte, 3)
	if _, err := inUse.File().ReadAt(buf, 0); err != nil {
		t.Errorf("a handle in use was closed by Close: %v", err)
	}
	inUse.Release()
	if _, err := inUse.File().ReadAt(buf, 0); err == nil {
		t.Error("the handle's file is still open after its last release")
	}
	e = c.Get("/b.bin")
	h, err := c.Open(&e.Rep, false)
	if err != nil {
		t.Fatal(err)
	}
	h.Release()
	if n := c.openFiles(); n != 0 {
		t.Errorf("a closed cache listed %d new handles, want 0", n)
	}
}

// waitUntil polls cond until it holds or d has passed, and reports
// whether it held.
func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// TestReplacedFileHandleClosed pins issue 10: the open handle of a large
// file's old version stayed open, pinning a deleted file's disk space,
// until --max-open-files pushed it out (a deleted 50 MiB file was still
// held after 15 minutes). Now it closes within the revalidate interval
// after its last send, even if the path is never asked for again.
func TestReplacedFileHandleClosed(t *testing.T) {
	const every = 100 * time.Millisecond
	for _, tt := range []struct {
		name    string
		replace func(path string)
	}{
		{"renamed over", func(p string) {
			os.WriteFile(p+".new", []byte(strings.Repeat("n", 300)), 0o644)
			os.Rename(p+".new", p)
		}},
		{"deleted", func(p string) { os.Remove(p) }},
		{"rewritten in place", func(p string) { os.WriteFile(p, []byte(strings.Repeat("w", 300)), 0o644) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, root := newCache(t, map[string]string{"big.bin": strings.Repeat("x", 200)},
				Options{MaxFileInMemory: 10, Revalidate: every})
			e := c.Get("/big.bin")
			h, err := c.Open(&e.Rep, false)
			if err != nil {
				t.Fatal(err)
			}
			sending, _ := c.Open(&e.Rep, false) // a send still in progress
			h.Release()
			tt.replace(filepath.Join(root, "big.bin"))
			buf := make([]byte, 1)
			// One sweep interval, with slack for a loaded machine.
			if !waitUntil(every+2*time.Second, func() bool { return c.openFiles() == 0 }) {
				t.Errorf("the old version is still kept open %v after it changed", every+2*time.Second)
			}
			if _, err := sending.File().ReadAt(buf, 0); err != nil {
				t.Fatalf("the file of a send in progress was closed under it: %v", err)
			}
			sending.Release()
			if _, err := sending.File().ReadAt(buf, 0); err == nil {
				t.Errorf("the old version's file is still open after its last send, past the revalidate interval")
			}
		})
	}
}

// TestSharedStoreKeepsSitesApart pins that caches sharing one store (one
// per site) never see each other's files under the same name, and that
// closing one drops its bodies and leaves the other's.
func TestSharedStoreKeepsSitesApart(t *testing.T) {
	store := NewStore(StoreOptions{MemoryBudget: 1 << 20})
	var caches [2]*Cache
	for i, body := range []string{"site one", "site two"} {
		one, _ := newCache(t, map[string]string{"index.html": body}, Options{})
		caches[i] = New(one.Resolver(), Options{Store: store})
	}
	for i, want := range []string{"site one", "site two"} {
		if got := string(caches[i].Get("/index.html").Body); got != want {
			t.Errorf("cache %d: /index.html = %q, want %q", i, got, want)
		}
	}
	caches[0].Close()
	store.bodies.CleanUp()
	if !waitUntil(5*time.Second, func() bool { return store.Stats().Bytes == int64(len("site two")) }) {
		t.Errorf("store holds %d bytes after one of two caches closed, want the other's %d", store.Stats().Bytes, len("site two"))
	}
	if st := caches[1].Stats(); st.Bytes != int64(len("site two")) || st.Files != 1 {
		t.Errorf("the open cache's part of the store: %+v, want its one file", st)
	}
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestStoreHashesVersionOnce pins that a large file's hash, computed in
// the background, serves every cache of the store: a site rebuilt by a
// reload does not hash its large files again.
func TestStoreHashesVersionOnce(t *testing.T) {
	store := NewStore(StoreOptions{})
	first, _ := newCache(t, map[string]string{"big.bin": strings.Repeat("z", 1000)}, Options{MaxFileInMemory: 10, Store: store})
	if !waitUntil(5*time.Second, func() bool { first.Invalidate("/big.bin"); return first.Get("/big.bin").ETag != "" }) {
		t.Fatal("no ETag after 5s")
	}
	rebuilt := New(first.Resolver(), Options{MaxFileInMemory: 10, Store: store})
	if e := rebuilt.Get("/big.bin"); e.ETag != first.Get("/big.bin").ETag {
		t.Errorf("a cache rebuilt on the same store: ETag %q, want the known %q at once", e.ETag, first.Get("/big.bin").ETag)
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestRoutesBoundedInBytes is issue 10's 725 MiB: 100,000 distinct
// 7,000-byte paths that all answer 404 must be remembered within the
// routes' share of the memory budget (32 MiB of the default 256 MiB), not
// up to MaxEntries whatever their size. The heap is sampled as the paths
// come, so a regression stops at the first sample over the budget.
func TestRoutesBoundedInBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 requests for 7,000-byte paths")
	}
	c, _ := newCache(t, map[string]string{"a": "a"}, Options{})
	const n, size = 100_000, 7000
	budget := int64(256<<20) / 8
	slack := budget / 8 // the test's own garbage, the map's growth
	pad := strings.Repeat("x", size-8)
	before := liveHeap()
	for i := range n {
		if e := c.Get(fmt.Sprintf("/%s%07d", pad, i)); e.Kind != resolve.NotFound {
			t.Fatalf("Get of a long missing path: kind %v, want NotFound", e.Kind)
		}
		if i%10_000 == 9_999 {
			if grown := liveHeap() - before; grown > budget+slack {
				t.Fatalf("after %d distinct %d-byte 404 paths the cache holds %d MiB, over the routes' budget of %d MiB", i+1, size, grown>>20, budget>>20)
			}
		}
	}
	t.Logf("%d distinct %d-byte 404 paths: the cache holds %d MiB (budget %d MiB)", n, size, (liveHeap()-before)>>20, budget>>20)
	runtime.KeepAlive(c)
}

// TestRouteBytesAccounting checks that routeBytes is the sum of the costs
// of the routes present, through inserts, evictions, replacements and
// Invalidate, and stays within the budget.
func TestRouteBytesAccounting(t *testing.T) {
	c, _ := newCache(t, map[string]string{"a.txt": "a", "d/index.html": "d"}, Options{MemoryBudget: 1 << 20, Revalidate: -1})
	budget := c.store.budget.Load() / routeShare
	check := func(when string) {
		t.Helper()
		c.mu.RLock()
		defer c.mu.RUnlock()
		var sum int64
		for _, rt := range c.routes {
			sum += rt.cost
		}
		if sum != c.routeBytes || c.routeBytes > budget || c.store.routes.Load() != sum {
			t.Fatalf("%s: routeBytes %d, store's %d, sum of route costs %d, budget %d", when, c.routeBytes, c.store.routes.Load(), sum, budget)
		}
	}
	var paths []string
	for i := range 500 {
		p := fmt.Sprintf("/missing/%d/%s", i, strings.Repeat("z", i))
		paths = append(paths, p, "/a.txt", "/d", "/d/")
		c.Get(p)
		c.Get("/a.txt") // expired every time: replaced
		c.Get("/d")     // a redirect
	}
	check("after 1,500 requests")
	if c.Get(strings.Repeat("/x", int(budget))).Kind != resolve.NotFound {
		t.Error("a path larger than the budget is not answered")
	}
	check("after a path larger than the budget")
	for _, p := range paths {
		c.Invalidate(p)
	}
	check("after Invalidate of every path")
	if c.routeBytes != 0 {
		t.Errorf("no routes left, routeBytes %d", c.routeBytes)
	}
}

// TestRoutesShareOneBudget: the caches of one store share the routes'
// budget; a cache flooded with made-up paths evicts its own routes, not
// another's, and a closed cache gives its share back.
func TestRoutesShareOneBudget(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("a"), 0o644)
	res, err := resolve.New(root, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	store := NewStore(StoreOptions{MemoryBudget: 1 << 20})
	budget := store.budget.Load() / routeShare
	quiet, flooded := New(res, Options{Store: store, Revalidate: time.Hour}), New(res, Options{Store: store, Revalidate: time.Hour})
	for i := range 10 {
		quiet.Get(fmt.Sprintf("/quiet-%d", i))
	}
	quietBytes := quiet.routeBytes
	for i := range 2000 {
		flooded.Get(fmt.Sprintf("/flood-%d-%s", i, strings.Repeat("f", 500)))
		if used := store.routes.Load(); used > budget {
			t.Fatalf("after %d made-up paths the routes hold %d bytes, over the budget of %d", i+1, used, budget)
		}
	}
	if len(quiet.routes) != 10 || quiet.routeBytes != quietBytes {
		t.Errorf("the quiet cache kept %d of its 10 routes (%d bytes of %d)", len(quiet.routes), quiet.routeBytes, quietBytes)
	}
	if got := store.routes.Load(); got != quiet.routeBytes+flooded.routeBytes {
		t.Errorf("store counts %d bytes of routes, the caches %d and %d", got, quiet.routeBytes, flooded.routeBytes)
	}
	flooded.Close()
	if got := store.routes.Load(); got != quietBytes {
		t.Errorf("after the flooded cache closed the store counts %d bytes of routes, want the quiet cache's %d", got, quietBytes)
	}
	flooded.Get("/after-close")
	if got := store.routes.Load(); got != quietBytes {
		t.Errorf("a closed cache remembered a route: %d bytes, want %d", got, quietBytes)
	}
}
