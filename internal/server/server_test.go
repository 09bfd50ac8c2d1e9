package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

func parse(t *testing.T, dir, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(filepath.Join(dir, "stoa.toml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReloadKeepsUnchangedSites pins that a reload rebuilds only the sites
// whose block changed: the others keep their warm caches.
func TestReloadKeepsUnchangedSites(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	os.Mkdir(filepath.Join(dir, "b"), 0o755)
	text := `listen = ["127.0.0.1:0"]
[[site]]
hosts = ["a.test"]
root = "a"
[[site]]
hosts = ["b.test"]
root = "b"
headers = { "X-Gen" = "1" }
`
	cur := text
	s, err := Start(func() (*config.Config, error) { return parse(t, dir, cur), nil }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	a, b := s.sites[0].site, s.sites[1].site
	cur = strings.Replace(text, `"X-Gen" = "1"`, `"X-Gen" = "2"`, 1)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if s.sites[0].site != a {
		t.Error("the unchanged site a.test was rebuilt")
	}
	if s.sites[1].site == b {
		t.Error("the changed site b.test was kept")
	}
}

func TestReloadRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	good := "listen = [\"127.0.0.1:0\"]\n[[site]]\nroot = \"a\"\n"
	cur := good
	s, err := Start(func() (*config.Config, error) { return config.Parse(filepath.Join(dir, "stoa.toml"), []byte(cur)) }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	before := s.sw.Load()
	cur = "listen = [\"127.0.0.1:0\"]\n[[site]]\nroot = \"missing\"\n"
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), "stoa.toml:2:1: site[1].root") {
		t.Errorf("reload with a missing root: %v, want an error at stoa.toml:2:1", err)
	}
	if s.sw.Load() != before {
		t.Error("a refused reload replaced the sites")
	}
}

// TestStartWithoutSites pins a panic: a configuration without sites
// indexed the first of none.
func TestStartWithoutSites(t *testing.T) {
	_, err := Start(func() (*config.Config, error) { return config.Default(), nil }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no site to serve") {
		t.Errorf("Start without sites: %v, want an error saying there is no site", err)
	}
}

// FuzzCheck feeds any file to the loader and the site builder: neither may
// panic, and a file they accept has at least one site or none at all.
func FuzzCheck(f *testing.F) {
	for _, dir := range []string{"../config/testdata", "../config/testdata/check", "../../cmd/stoa/testdata/check", "../../examples", "../../bench"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	dir := f.TempDir()
	for _, d := range []string{"site", "www", "a", "b", "other", "errors"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(filepath.Join(dir, "stoa.toml"), data)
		if err != nil {
			return
		}
		Check(cfg)
	})
}

// TestReloadKeepsPositions pins a bug: comparing a kept site's block with
// the new one cleared the rule positions of the kept configuration itself.
func TestReloadKeepsPositions(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	text := "listen = [\"127.0.0.1:0\"]\n[[site]]\nroot = \"a\"\n[[site.rule]]\nmatch = \"/x\"\nredirect = \"/y\"\n"
	s, err := Start(func() (*config.Config, error) { return parse(t, dir, text), nil }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	kept := s.sites[0]
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if s.sites[0] != kept {
		t.Fatal("the unchanged site was rebuilt")
	}
	if got := kept.cfg.Rules[0].Pos; got != (config.Pos{Line: 4, Col: 1}) {
		t.Errorf("the kept site's rule position is %+v after a reload, want 4:1", got)
	}
}

// TestOptionsFromFile sets the global settings the server hands on to
// the engine, the sites and the HTTPS listeners to values other than their
// defaults in a file, and finds each in the options built from it.
func TestOptionsFromFile(t *testing.T) {
	root := t.TempDir()
	cfg, err := config.Parse("stoa.toml", []byte(`read_header_timeout = "3s"
idle_timeout = "4s"
write_timeout = "5s"
shutdown_timeout = "60s"
max_conns = 7
proxy_protocol = true
revalidate = "6s"
cache_size = "3MiB"
max_open_files = 9
hsts = "max-age=60"
[[site]]
root = `+strconv.Quote(root)+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := engineConfig(cfg, nil, false)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"read_header_timeout", e.ReadHeaderTimeout, 3 * time.Second},
		{"idle_timeout", e.IdleTimeout, 4 * time.Second},
		{"write_timeout", e.WriteTimeout, 5 * time.Second},
		{"max_conns", e.MaxConns, 7},
		{"proxy_protocol", e.ProxyProtocol, true},
		{"shutdown_timeout", (&Server{cfg: cfg}).ShutdownTimeout(), time.Minute},
		{"hsts", string(httpsExtra(cfg, 443, false)), "Strict-Transport-Security: max-age=60\r\n"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v in the options, want %v", c.name, c.got, c.want)
		}
	}
	so := storeOptions(cfg)
	if so.MemoryBudget != 3<<20 || so.MaxOpenFiles != 9 {
		t.Errorf("store options: cache size %d, open files %d; want 3MiB, 9", so.MemoryBudget, so.MaxOpenFiles)
	}
	built, _, err := (&Server{store: content.NewStore(so)}).build(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer built[0].site.Close()
	if o := built[0].opts; o.Revalidate != 6*time.Second {
		t.Errorf("site options: revalidate %v; want 6s", o.Revalidate)
	}
}

// openFDs counts the files and directories this process holds open,
// leaving out sockets, which connections of other tests may still be
// closing.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, "/") {
			n++
		}
	}
	return n
}

// TestReloadClosesRetiredSites pins issue 10: each reload that replaced a
// site left its root and its open large files to the garbage collector
// (or a timer of shutdown_timeout), 100 reloads leaving 100 roots open.
// With the collector off, a retired site's descriptors are closed as soon
// as the last request using it is done, and a file a response is still
// sending stays readable until that response releases it.
func TestReloadClosesRetiredSites(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "big.bin"), make([]byte, 1<<20), 0o644)
	gen := 0
	load := func() (*config.Config, error) {
		return parse(t, dir, fmt.Sprintf("listen = [\"127.0.0.1:0\"]\nshutdown_timeout = \"60s\"\n[[site]]\nroot = \"a\"\nheaders = { \"X-Gen\" = \"%d\" }\n", gen)), nil
	}
	s, err := Start(load, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	get := func() *respond.Response {
		resp := new(respond.Response)
		s.sw.Serve(&respond.Request{Method: "GET", Path: "/big.bin"}, resp)
		if resp.Status != 200 || resp.Handle == nil {
			t.Fatalf("GET /big.bin: status %d, handle %v; want 200 from an open file", resp.Status, resp.Handle)
		}
		return resp
	}
	// Once the file's ETag is known, its background hashing, which holds
	// the file open for a moment, is done.
	hashed := func() bool {
		resp := get()
		resp.Handle.Release()
		return strings.Contains(string(resp.Head.HTTP1()), "ETag")
	}
	if !waitFor(5*time.Second, hashed) {
		t.Fatal("big.bin has no ETag after 5s")
	}
	before := openFDs(t)
	inFlight := get() // a response still sending across every reload
	for gen = 1; gen <= 100; gen++ {
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
		get().Handle.Release()
	}
	if _, err := inFlight.File.ReadAt(make([]byte, 1), 1<<19); err != nil {
		t.Errorf("the file of a response in progress was closed by a reload: %v", err)
	}
	inFlight.Handle.Release()
	// The last site hashes the file in the background too.
	waitFor(5*time.Second, hashed)
	if after := openFDs(t); after > before {
		t.Errorf("%d descriptors open after 100 reloads, %d before: retired sites left %d open (GC off):\n%s", after, before, after-before, fdList())
	}
}

// serve decides GET path for host through the server's switch, as a
// connection would, and releases what the response holds.
func serve(s *Server, host, path string) *respond.Response {
	resp := new(respond.Response)
	s.sw.Serve(&respond.Request{Method: "GET", Host: host, Path: path}, resp)
	if resp.Handle != nil {
		resp.Handle.Release()
	}
	return resp
}

// TestHotSiteUsesWholeCache pins issue 10: the cache budget was split
// evenly between sites, so a hot site among ten had a tenth of it while
// the other nine sat idle. One budget is shared by all sites.
func TestHotSiteUsesWholeCache(t *testing.T) {
	dir := t.TempDir()
	var text strings.Builder
	text.WriteString("listen = [\"127.0.0.1:0\"]\ncache_size = \"1MiB\"\n")
	for i := range 10 {
		os.Mkdir(filepath.Join(dir, fmt.Sprint("s", i)), 0o755)
		fmt.Fprintf(&text, "[[site]]\nhosts = [\"s%d.test\"]\nroot = \"s%d\"\n", i, i)
	}
	const files, size = 45, 20 << 10 // 900 KiB, most of the budget
	for i := range files {
		os.WriteFile(filepath.Join(dir, "s0", fmt.Sprint(i, ".html")), []byte(strings.Repeat(fmt.Sprint(i%10), size)), 0o644)
	}
	s, err := Start(func() (*config.Config, error) { return parse(t, dir, text.String()), nil }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	for i := range files {
		if resp := serve(s, "s0.test", fmt.Sprint("/", i, ".html")); resp.Status != 200 || len(resp.Body) != size {
			t.Fatalf("GET /%d.html: status %d, %d bytes from memory", i, resp.Status, len(resp.Body))
		}
	}
	if st := s.sites[0].site.Cache().Stats(); st.Bytes < files*size {
		t.Errorf("the hot site holds %d bytes in memory, want all %d of its files (the budget is 1 MiB, the other nine sites are idle)", st.Bytes, files*size)
	}
}

// TestReloadAddingSiteKeepsCachesWarm pins issue 10: each site's share of
// the budget changed with the number of sites, so a reload that added a
// site rebuilt every other one with a cold cache.
func TestReloadAddingSiteKeepsCachesWarm(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	os.Mkdir(filepath.Join(dir, "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "index.html"), []byte("warm"), 0o644)
	one := "listen = [\"127.0.0.1:0\"]\n[[site]]\nhosts = [\"a.test\"]\nroot = \"a\"\n"
	cur := one
	s, err := Start(func() (*config.Config, error) { return parse(t, dir, cur), nil }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	serve(s, "a.test", "/index.html")
	a := s.sites[0].site
	cur = one + "[[site]]\nhosts = [\"b.test\"]\nroot = \"b\"\n"
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if s.sites[0].site != a {
		t.Fatal("adding site b.test rebuilt the unchanged site a.test")
	}
	before := a.Cache().Stats()
	if resp := serve(s, "a.test", "/index.html"); string(resp.Body) != "warm" {
		t.Fatalf("GET a.test/index.html after the reload: status %d body %q", resp.Status, resp.Body)
	}
	if after := a.Cache().Stats(); after.Misses != before.Misses || after.Bytes == 0 {
		t.Errorf("a.test after a reload that added a site: misses %d -> %d, %d bytes held; want a hit from memory", before.Misses, after.Misses, after.Bytes)
	}
	cur = one
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if s.sites[0].site != a {
		t.Error("removing site b.test rebuilt the unchanged site a.test")
	}
}

// fdList shows what this process's descriptors point to.
func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		fmt.Fprintf(&b, "%s -> %s\n", e.Name(), target)
	}
	return b.String()
}

// waitFor polls cond until it holds or d has passed, and reports whether
// it held.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// readyProbe is a stdout that asks /readyz the moment the admin address
// is announced, as a supervisor watching the log may.
type readyProbe struct {
	status int
	err    error
}

func (p *readyProbe) Write(b []byte) (int, error) {
	line := string(b)
	if i := strings.Index(line, "admin at http://"); i >= 0 && p.status == 0 && p.err == nil {
		url := strings.Fields(line[i+len("admin at "):])[0]
		resp, err := http.Get(url + "readyz")
		if err != nil {
			p.err = err
		} else {
			p.status = resp.StatusCode
			resp.Body.Close()
		}
	}
	return len(b), nil
}

// TestReadyWhenAdminAnnounced is the regression test for /readyz
// answering 503 just after the "admin at" line: the server marked itself
// ready only after announcing the admin endpoint.
func TestReadyWhenAdminAnnounced(t *testing.T) {
	root := t.TempDir()
	cfg, err := config.Parse("", []byte(`listen = ["127.0.0.1:0"]
admin = "127.0.0.1:0"
[[site]]
root = `+strconv.Quote(root)+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := &readyProbe{}
	s, err := Start(func() (*config.Config, error) { return cfg, nil }, p, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer s.Shutdown(ctx)
	if p.err != nil || p.status != 200 {
		t.Errorf("GET /readyz as the admin address is announced: %d, %v; want 200", p.status, p.err)
	}
}

// TestUnreadyKeepsServing: Unready, the start of a drain, turns /readyz
// to 503 while the sites go on answering, and a reload meanwhile does not
// make the server ready again. DrainDelay is the configuration's.
func TestUnreadyKeepsServing(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, out := startText(t, "", `listen = ["127.0.0.1:0"]
admin = "127.0.0.1:0"
drain_delay = "7s"
[[site]]
root = `+strconv.Quote(root)+"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer s.Shutdown(ctx)
	site, admin := urlAfter(t, out.String(), root+" at http://"), urlAfter(t, out.String(), "admin at http://")
	get := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); url == site && string(b) != "hi\n" {
			t.Errorf("GET %s: %q, want the site's index", url, b)
		}
		return resp.StatusCode
	}
	if code := get(admin + "readyz"); code != 200 {
		t.Fatalf("/readyz at start: %d, want 200", code)
	}
	if d := s.DrainDelay(); d != 7*time.Second {
		t.Errorf("DrainDelay() = %v, want the file's 7s", d)
	}
	s.Unready()
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if code := get(admin + "readyz"); code != 503 {
		t.Errorf("/readyz after Unready and a reload: %d, want 503", code)
	}
	if code := get(site); code != 200 {
		t.Errorf("GET / after Unready: %d, want 200: the site goes on serving", code)
	}
}

// urlAfter returns the URL that follows marker in the log out, with
// http:// and its trailing slash.
func urlAfter(t *testing.T, out, marker string) string {
	t.Helper()
	i := strings.Index(out, marker)
	if i < 0 {
		t.Fatalf("no %q in the log:\n%s", marker, out)
	}
	return "http://" + strings.Fields(out[i+len(marker):])[0]
}

// startText starts a server on the stoa.toml text read from file ("" for
// none), failing the test if it does not start; out collects what it
// prints.
func startText(t *testing.T, file, text string) (*Server, *syncbuf.Buffer) {
	t.Helper()
	cfg, err := config.Parse(file, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	out := new(syncbuf.Buffer)
	s, err := Start(func() (*config.Config, error) { return cfg, nil }, out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return s, out
}
