package site

import (
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

// releaseSite serves base/current, a symlink to base/1 holding release 1:
// index.html and big.bin, larger than the bodies kept in memory.
func releaseSite(t *testing.T, log, errs io.Writer) (s *Site, base string) {
	t.Helper()
	base = t.TempDir()
	writeRelease(t, base, "1")
	if err := os.Symlink(filepath.Join(base, "1"), filepath.Join(base, "current")); err != nil {
		t.Fatal(err)
	}
	c := config.Site{Root: filepath.Join(base, "current"), Index: []string{"index.html"}, Dotfiles: "hide"}
	// An hour: only Recheck switches trees in these tests.
	s, err := New(&c, Options{File: "stoa.toml", Index: 1, Revalidate: time.Hour, Log: log, Errors: errs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, base
}

func writeRelease(t *testing.T, base, n string) {
	t.Helper()
	writeFiles(t, filepath.Join(base, n), map[string]string{
		"index.html":         "release " + n,
		"big.bin":            strings.Repeat("release "+n+"\n", 40000),
		"only-" + n + ".txt": n,
	})
}

// swapTo points base/current at base/n as a deploy does.
func swapTo(t *testing.T, base, n string) {
	t.Helper()
	tmp := filepath.Join(base, "tmp")
	if err := os.Symlink(filepath.Join(base, n), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(base, "current")); err != nil {
		t.Fatal(err)
	}
}

// serveWith decides path with lease l and returns the status and body,
// read from the file for a large one.
func serveWith(t *testing.T, l respond.Handler, path string) (int, string) {
	t.Helper()
	req := respond.Request{Method: "GET", Path: path, Peer: netip.MustParseAddr("192.0.2.1")}
	var resp respond.Response
	l.Serve(&req, &resp)
	body := string(resp.Body)
	if resp.File != nil {
		b, _ := io.ReadAll(io.NewSectionReader(resp.File, resp.FileOff, resp.FileLen))
		body = string(b)
	}
	if resp.Handle != nil {
		resp.Handle.Release()
	}
	return resp.Status, body
}

// TestRequestStaysOnItsTree pins the switch of a site's tree (issue 11):
// a request that entered the site before a deploy swapped its root is
// decided wholly by the tree it entered, large file included, even when
// it opens that file after the switch; requests entering after the switch
// get the new tree; the old tree is closed when its last request leaves.
func TestRequestStaysOnItsTree(t *testing.T) {
	var log syncbuf.Buffer
	s, base := releaseSite(t, &log, nil)
	before := s.Enter()
	if before == nil {
		t.Fatal("Enter refused on a live site")
	}
	writeRelease(t, base, "2")
	swapTo(t, base, "2")
	s.Recheck()
	if !strings.Contains(log.String(), `now serving "`+filepath.Join(base, "2")+`"`) {
		t.Errorf("log after the switch = %q, want a line naming the new tree", log.String())
	}

	after := s.Enter()
	defer after.Leave()
	if code, body := serveWith(t, after, "/"); code != 200 || body != "release 2" {
		t.Errorf("a request entering after the switch: %d %q, want release 2", code, body)
	}
	if code, _ := serveWith(t, after, "/only-2.txt"); code != 200 {
		t.Errorf("the new release's own file: %d, want 200", code)
	}
	for _, p := range []string{"/", "/big.bin"} {
		code, body := serveWith(t, before, p)
		if code != 200 || !strings.HasPrefix(body, "release 1") || strings.Contains(body, "release 2") {
			t.Errorf("%s in a request that entered before the switch: %d %.20q, want release 1 alone", p, code, body)
		}
	}
	old := before.(*view)
	before.Leave()
	if _, err := old.res.Stat("index.html"); err == nil {
		t.Error("the old tree is still open after its last request left")
	}
}

// TestRecheckKeepsServingMissingRoot: a root that leads nowhere for a
// moment (renamed away before the new one is moved in) changes nothing,
// and says so once; when it leads to a tree again, that tree is served.
func TestRecheckKeepsServingMissingRoot(t *testing.T) {
	var log, errs syncbuf.Buffer
	s, base := releaseSite(t, &log, &errs)
	if err := os.Rename(filepath.Join(base, "1"), filepath.Join(base, "1.old")); err != nil {
		t.Fatal(err)
	}
	s.Recheck()
	s.Recheck()
	if code, body := serveWith(t, s, "/big.bin"); code != 200 || !strings.HasPrefix(body, "release 1") {
		t.Errorf("root missing: %d %.20q, want release 1 still served", code, body)
	}
	if n := strings.Count(errs.String(), "leads nowhere"); n != 1 {
		t.Errorf("errors while the root is missing = %q, want one line", errs.String())
	}
	writeRelease(t, base, "1") // created again, another directory
	s.Recheck()
	if code, body := serveWith(t, s, "/only-1.txt"); code != 200 || body != "1" {
		t.Errorf("root back: %d %q, want the recreated tree's file", code, body)
	}
	if !strings.Contains(log.String(), "now serving") {
		t.Errorf("log = %q, want a line naming the tree served now", log.String())
	}
}

// TestEnterServeAllocatesNothing: the lease on the current tree costs no
// allocation on a cached small GET.
func TestEnterServeAllocatesNothing(t *testing.T) {
	s := newSite(t, config.Site{})
	req := respond.Request{Method: "GET", Path: "/index.html", Peer: netip.MustParseAddr("192.0.2.1")}
	var resp respond.Response
	serve := func() {
		resp.Reset()
		l := s.Enter()
		l.Serve(&req, &resp)
		l.Leave()
	}
	serve()
	if n := testing.AllocsPerRun(200, serve); n > 0 {
		t.Errorf("cached GET through Enter: %v allocs, want 0", n)
	}
	if resp.Status != 200 {
		t.Errorf("status %d", resp.Status)
	}
}

// TestMissLooksAtRootAtOnce: a deploy that deletes the old tree right
// after the swap (rm -rf of the old release) must not leave requests
// answering 404 until the next look: a request that finds nothing makes
// the site look at once, and is decided by the new tree if there is one.
// A path missing from the current tree stays a 404.
func TestMissLooksAtRootAtOnce(t *testing.T) {
	var log syncbuf.Buffer
	s, base := releaseSite(t, &log, nil)
	writeRelease(t, base, "2")
	swapTo(t, base, "2")
	if err := os.RemoveAll(filepath.Join(base, "1")); err != nil {
		t.Fatal(err)
	}
	l := s.Enter()
	if code, body := serveWith(t, l, "/"); code != 200 || body != "release 2" {
		t.Errorf("/ after the old tree was deleted: %d %q, want release 2 at once", code, body)
	}
	l.Leave()
	l = s.Enter()
	defer l.Leave()
	if code, _ := serveWith(t, l, "/only-1.txt"); code != 404 {
		t.Errorf("a path of the old tree only: %d, want 404", code)
	}
	if n := strings.Count(log.String(), "now serving"); n != 1 {
		t.Errorf("log = %q, want one switch", log.String())
	}
}

// pointerCounter is a release store that counts the reads of its pointer.
type pointerCounter struct {
	release.Store
	reads atomic.Int64
}

func (p *pointerCounter) Get(ctx context.Context, key string, off, n int64, cond release.Cond) (io.ReadCloser, release.Info, error) {
	if key == release.PointerKey {
		p.reads.Add(1)
	}
	return p.Store.Get(ctx, key, off, n, cond)
}

// TestReleaseMissReadsNoPointer: a 404 of a site served from a release
// store does not read the store's pointer (a folder's root is looked at on
// a miss; a release store's moves only with its pointer, polled), so a
// flood of missing paths costs the store nothing and never waits on it.
func TestReleaseMissReadsNoPointer(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "index.html"), []byte("release"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := release.OpenDir(filepath.Join(t.TempDir(), "store"), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.Deploy(context.Background(), src, dir, release.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	counter := &pointerCounter{Store: dir}
	// The scheme is this test's own: IsTarget takes s3:// as a store.
	release.RegisterScheme("s3", func(context.Context, string, bool) (release.Store, error) { return counter, nil })
	c := config.Site{Root: "s3://test/miss", Index: []string{"index.html"}, Dotfiles: "hide",
		ReleasePoll: config.Duration{Duration: time.Hour}, OriginTimeout: config.Duration{Duration: time.Second}}
	s, err := New(&c, Options{File: "stoa.toml", Index: 1, Revalidate: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if code, _ := serveWith(t, s, "/"); code != 200 {
		t.Fatalf("GET /: %d, want 200", code)
	}
	before := counter.reads.Load()
	for i := range 5 {
		l := s.Enter() // as vhost serves it: a miss may look at the root
		code, _ := serveWith(t, l, "/missing-"+strconv.Itoa(i))
		l.Leave()
		if code != 404 {
			t.Fatalf("GET a missing path: %d, want 404", code)
		}
		time.Sleep(2 * minMissLook) // past the looks' own spacing
	}
	if n := counter.reads.Load() - before; n != 0 {
		t.Errorf("5 misses read the pointer %d times, want 0", n)
	}
}
