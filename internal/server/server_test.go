package server

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
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
	built, _, err := (&Server{}).build(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer built[0].site.Close()
	o := built[0].opts
	if o.Revalidate != 6*time.Second || o.CacheSize != 3<<20 || o.MaxOpenFiles != 9 {
		t.Errorf("site options: revalidate %v, cache size %d, open files %d; want 6s, 3MiB, 9", o.Revalidate, o.CacheSize, o.MaxOpenFiles)
	}
}
