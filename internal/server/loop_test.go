//go:build linux

package server

import (
	"bytes"
	"context"
	"io"
	"net"
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
		s, out := startText(t, "", `listen = ["127.0.0.1:0"]
engine = "loop"
`+tc.extra+`[[site]]
root = `+strconv.Quote(root)+"\n")
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

// TestEngineLoopReloadServesReleaseStore: a reload that adds a site
// served from a release store while the event loops serve a listener is
// accepted, and the loops serve both sites: the store's files, fetched
// from goroutines the first time (respond.Request.NoWait), and the
// folder's. It was refused before, since a fetch on the loop would have
// held every connection of the loop.
func TestEngineLoopReloadServesReleaseStore(t *testing.T) {
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
	if err := s.Reload(); err != nil {
		t.Fatalf("Reload adding a release-store site: %v", err)
	}
	if len(s.sites) != 2 || s.sites[1].site.Release() == nil {
		t.Fatalf("after the reload: %d sites, want the folder and the store", len(s.sites))
	}
	if !s.listeners[0].loop {
		t.Error("after the reload the listener left the loops")
	}
	url := urlAfter(t, out.String(), root+" at http://")
	for _, host := range []string{"", "rel.test", "rel.test"} {
		if got := getHost(t, url, host); got != "200 hi\n" {
			t.Errorf("GET / Host %q after the reload: %q, want 200 hi", host, got)
		}
	}
}

// TestEngineLoopReloadNewListenerBesideReleaseStore: a reload that adds a
// site served from a release store and a TCP listener at once, while no
// listener is on the loops (a Unix socket alone), puts the new listener on
// the loops, which serve the store. It was put on the goroutine engine
// while the loops could not serve a store.
func TestEngineLoopReloadNewListenerBesideReleaseStore(t *testing.T) {
	dir, root, store := folderAndStore(t)
	sock := strconv.Quote("unix:" + filepath.Join(dir, "s.sock"))
	cur := `listen = [` + sock + `]
engine = "loop"
[[site]]
root = ` + strconv.Quote(root) + "\n"
	var out syncbuf.Buffer
	s, err := Start(func() (*config.Config, error) { return config.Parse(filepath.Join(dir, "stoa.toml"), []byte(cur)) }, &out, io.Discard)
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
		if _, tcp := ln.l.(*net.TCPListener); ln.loop != tcp {
			t.Errorf("listener %s on the loops: %v, want %v", ln.addr, ln.loop, tcp)
		}
	}
	if got := getHost(t, urlAfter(t, out.String(), " at http://"), ""); got != "200 hi\n" {
		t.Errorf("GET / from the store on the loops: %q, want 200 hi", got)
	}
}

// getHost gets url with Host host (the URL's when ""), and returns the
// status code and the body.
func getHost(t *testing.T, url, host string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strconv.Itoa(resp.StatusCode) + " " + string(b)
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

// TestEngineLoopStoreSiteAllocatesNothing: a cached small GET of a site
// served from a release store, on the event loop, allocates nothing, as
// one of a folder does (evloop's TestServeCachedFileAllocatesNothing): the
// loop's NoWait costs nothing once the blob is at hand.
func TestEngineLoopStoreSiteAllocatesNothing(t *testing.T) {
	dir, _, store := folderAndStore(t)
	cfg, err := config.Parse(filepath.Join(dir, "stoa.toml"), []byte(`listen = ["127.0.0.1:0"]
engine = "loop"
[[site]]
root = `+strconv.Quote(store)+`
release_poll = "1h"
`))
	if err != nil {
		t.Fatal(err)
	}
	var out syncbuf.Buffer
	s, err := Start(func() (*config.Config, error) { return cfg, nil }, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if !s.listeners[0].loop {
		t.Fatal("the listener is not on the loops")
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(urlAfter(t, out.String(), " at http://"), "http://"), "/")
	c := dialServer(t, addr)
	req := []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n")
	end := []byte("\r\n\r\nhi\n") // the end of the head, and the body
	buf := make([]byte, 4<<10)
	roundTrip := func() {
		c.c.Write(req)
		n := 0
		for !bytes.HasSuffix(buf[:n], end) {
			k, err := c.c.Read(buf[n:])
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
	}
	if got := exchange(t, c, "/index.html"); got != "200 hi\n" {
		t.Fatalf("GET /index.html: %q", got)
	}
	roundTrip()
	if n := testing.AllocsPerRun(200, roundTrip); n > 0 {
		t.Errorf("cached small GET of a store site on the loop: %v allocations per request, want 0", n)
	}
}
