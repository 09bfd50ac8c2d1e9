//go:build linux

package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

// TestEngineLoopServesPlainListeners: with engine = "loop" the event
// loops serve the plain TCP listeners and shut down with the rest; with
// h2c, package engine keeps them.
func TestEngineLoopServesPlainListeners(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		extra  string
		onLoop bool
	}{{"", true}, {"h2c = true\n", false}} {
		cfg, err := config.Parse("", []byte(`listen = ["127.0.0.1:0"]
engine = "loop"
`+tc.extra+`[[site]]
root = `+strconv.Quote(root)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		var out syncbuf.Buffer
		s, err := Start(func() (*config.Config, error) { return cfg, nil }, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.listeners[0].loop; got != tc.onLoop {
			t.Errorf("%q: listener on the loops %v, want %v", tc.extra, got, tc.onLoop)
		}
		resp, err := http.Get(urlAfter(t, out.String(), root+" at http://"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hi\n" {
			t.Errorf("%q: GET /: %d %q", tc.extra, resp.StatusCode, b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
	}
}

// TestEngineLoopReloadRefusesReleaseStore: a reload that adds a site
// served from a release store while the event loops serve a listener is
// refused with a line naming the site, and the old configuration keeps
// serving on the loops; a fetch of that site would otherwise hold every
// connection of a loop. Before the fix the reload went through.
func TestEngineLoopReloadRefusesReleaseStore(t *testing.T) {
	dir, root, store := folderAndStore(t)
	text := `listen = ["127.0.0.1:0"]
engine = "loop"
[[site]]
root = ` + strconv.Quote(root) + "\n"
	cur := text
	var out syncbuf.Buffer
	s, err := Start(func() (*config.Config, error) { return config.Parse(filepath.Join(dir, "stoa.toml"), []byte(cur)) }, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if !s.listeners[0].loop {
		t.Fatal("the listener is not on the loops at start")
	}
	cur = text + "[[site]]\nhosts = [\"rel.test\"]\nroot = " + strconv.Quote(store) + "\n"
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), "release store") || !strings.Contains(err.Error(), `engine = "loop"`) {
		t.Fatalf("Reload adding a release-store site: %v, want a refusal naming the release store and engine = \"loop\"", err)
	}
	if len(s.sites) != 1 || s.sites[0].site.Release() != nil {
		t.Errorf("after the refused reload: %d sites, want the old one", len(s.sites))
	}
	if !s.listeners[0].loop {
		t.Error("after the refused reload the listener left the loops")
	}
	resp, err := http.Get(urlAfter(t, out.String(), root+" at http://"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hi\n" {
		t.Errorf("GET / after the refused reload: %d %q", resp.StatusCode, b)
	}
}

// TestEngineLoopReloadNewListenerBesideReleaseStore: a reload that adds a
// site served from a release store and a TCP listener at once, while no
// listener is on the loops (a Unix socket alone), puts the new listener on
// the goroutine engine. Before the fix the listener's engine was chosen
// from the sites before the reload, and it went on the loops.
func TestEngineLoopReloadNewListenerBesideReleaseStore(t *testing.T) {
	dir, root, store := folderAndStore(t)
	sock := strconv.Quote("unix:" + filepath.Join(dir, "s.sock"))
	cur := `listen = [` + sock + `]
engine = "loop"
[[site]]
root = ` + strconv.Quote(root) + "\n"
	s, err := Start(func() (*config.Config, error) { return config.Parse(filepath.Join(dir, "stoa.toml"), []byte(cur)) }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	cur = `listen = [` + sock + `, "127.0.0.1:0"]
engine = "loop"
[[site]]
root = ` + strconv.Quote(store) + "\n"
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if len(s.listeners) != 2 {
		t.Fatalf("%d listeners after the reload, want 2", len(s.listeners))
	}
	for _, ln := range s.listeners {
		if ln.loop {
			t.Errorf("listener %s is on the loops beside a release-store site", ln.addr)
		}
	}
}

// folderAndStore makes a folder site root holding index.html and a release
// store deployed from it, both in dir.
func folderAndStore(t *testing.T) (dir, root, store string) {
	t.Helper()
	dir = t.TempDir()
	root = filepath.Join(dir, "plain")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	store = filepath.Join(dir, "store")
	st, err := release.OpenDir(store, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := release.Deploy(context.Background(), root, st, release.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir, root, store
}
