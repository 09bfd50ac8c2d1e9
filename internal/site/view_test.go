package site

import (
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/config"
	"github.com/stoahttp/stoa/internal/release"
	"github.com/stoahttp/stoa/internal/releasesrc"
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

// storeSite serves a release store holding release 1 (index.html and
// only-1.txt), through a store of the test that counts reads of its
// pointer and can stall them; its pointer is polled every hour, so only
// misses (and Recheck) read it. deploy makes release n current.
func storeSite(t *testing.T, originTimeout time.Duration) (s *Site, st *testStore, deploy func(n string)) {
	t.Helper()
	dir, err := release.OpenDir(filepath.Join(t.TempDir(), "store"), true)
	if err != nil {
		t.Fatal(err)
	}
	deploy = func(n string) {
		t.Helper()
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"index.html": "release " + n, "only-" + n + ".txt": n})
		if _, err := release.Deploy(context.Background(), src, dir, release.DeployOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deploy("1")
	st = &testStore{Store: dir}
	// The scheme is this test's own: IsTarget takes s3:// as a store.
	release.RegisterScheme("s3", func(context.Context, string, bool) (release.Store, error) { return st, nil })
	c := config.Site{Root: "s3://test/" + t.Name(), Index: []string{"index.html"}, Dotfiles: "hide",
		ReleasePoll: config.Duration{Duration: time.Hour}, OriginTimeout: config.Duration{Duration: originTimeout}}
	s, err = New(&c, Options{File: "stoa.toml", Index: 1, Revalidate: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if code, body := serveWith(t, s, "/"); code != 200 || body != "release 1" {
		t.Fatalf("GET /: %d %q, want release 1", code, body)
	}
	return s, st, deploy
}

// testStore is a release store that counts the reads of its pointer,
// while stall is set holds each until its context ends, and delays each
// read of a manifest by slowManifests.
type testStore struct {
	release.Store
	reads         atomic.Int64
	stall         atomic.Bool
	slowManifests atomic.Int64 // a time.Duration
}

func (p *testStore) Get(ctx context.Context, key string, off, n int64, cond release.Cond) (io.ReadCloser, release.Info, error) {
	if strings.HasPrefix(key, release.ManifestPrefix) {
		time.Sleep(time.Duration(p.slowManifests.Load()))
	}
	if key == release.PointerKey {
		p.reads.Add(1)
		if p.stall.Load() {
			<-ctx.Done()
			return nil, release.Info{}, ctx.Err()
		}
	}
	return p.Store.Get(ctx, key, off, n, cond)
}

// getPath decides GET path as vhost does, with a lease of its own: a miss may
// then be decided again by another tree.
func getPath(t *testing.T, s *Site, path string) (int, string) {
	t.Helper()
	l := s.Enter()
	defer l.Leave()
	return serveWith(t, l, path)
}

// TestReleaseMissSeesNewerRelease: replicas serve one release store; one
// has switched to a new release, another has not polled yet, and is asked
// for a file of the new release (named by a page the first one served).
// The miss reads the pointer and is answered from the new release, not
// 404 (the regression of b68c4ca: a release store's miss read nothing,
// and TestReplicas/deploy failed 9 to 175 scripts per run), even right
// after another miss read the pointer: a miss waits for a read begun
// after it came.
func TestReleaseMissSeesNewerRelease(t *testing.T) {
	s, _, deploy := storeSite(t, time.Minute)
	if code, _ := getPath(t, s, "/missing"); code != 404 {
		t.Fatalf("GET /missing: %d, want 404", code)
	}
	deploy("2")
	if code, body := getPath(t, s, "/only-2.txt"); code != 200 || body != "2" {
		t.Errorf("GET /only-2.txt after a deploy, next poll in an hour: %d %q, want 200 from release 2", code, body)
	}
	if code, body := getPath(t, s, "/"); code != 200 || body != "release 2" {
		t.Errorf("GET / after a miss found release 2: %d %q, want release 2", code, body)
	}
	if code, _ := getPath(t, s, "/only-1.txt"); code != 404 {
		t.Errorf("GET /only-1.txt, of release 1 only (skew window 0): %d, want 404", code)
	}
}

// TestReleaseMissSlowManifest: a miss that finds the pointer moved to a
// release whose manifest loads for longer than releasesrc.MissWait (a
// million files take about a second) is answered 404 within that bound,
// and the site switches to the new release when the load ends, with no
// further request.
func TestReleaseMissSlowManifest(t *testing.T) {
	s, _, deploy := storeSite(t, time.Minute)
	deploy("2")
	load := 4 * releasesrc.MissWait
	s.Release().Follower().Store().(*testStore).slowManifests.Store(int64(load))
	start := time.Now()
	if code, _ := getPath(t, s, "/only-2.txt"); code != 404 {
		t.Errorf("GET /only-2.txt while release 2's manifest loads: %d, want 404", code)
	}
	const slack = time.Second
	if took := time.Since(start); took > releasesrc.MissWait+slack {
		t.Errorf("the miss took %v, want at most %v (+%v)", took, releasesrc.MissWait, slack)
	}
	if !poll(load+slack, func() bool { _, body := serveWith(t, s, "/"); return body == "release 2" }) {
		t.Errorf("GET / still answers release 1 %v after the miss, want release 2 once its manifest loaded (%v)", load+slack, load)
	}
}

// TestReleaseMissFloodReadsPointerSparingly: misses of a release store
// read its pointer, but a flood of them, at once or over time, reads it at
// most once per releasesrc.MissLookEvery, each read shared by the misses
// that came before it began. It was TestReleaseMissReadsNoPointer, which
// wanted no read at all (b68c4ca); that left a replica behind another
// answering 404 for the new release's assets until its next poll.
func TestReleaseMissFloodReadsPointerSparingly(t *testing.T) {
	s, st, deploy := storeSite(t, time.Minute)
	before, start := st.reads.Load(), time.Now()
	deploy("2")
	var wg sync.WaitGroup
	var failed atomic.Int64
	at := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-at
			if code, body := getPath(t, s, "/only-2.txt"); code != 200 || body != "2" {
				failed.Add(1)
			}
		})
	}
	close(at)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of 50 concurrent GET /only-2.txt after a deploy failed, want 0", n)
	}
	reads, took := st.reads.Load()-before, time.Since(start)
	if most := 1 + int64(took/releasesrc.MissLookEvery); reads > most {
		t.Errorf("50 concurrent misses read the pointer %d times in %v, want at most %d (one per %v)", reads, took, most, releasesrc.MissLookEvery)
	}
	t.Logf("50 concurrent misses: %d pointer reads in %v", reads, took)

	// Eight clients asking for missing paths, each as fast as it is
	// answered.
	before, start = st.reads.Load(), time.Now()
	var misses, wrong atomic.Int64
	for range 8 {
		wg.Go(func() {
			for i := 0; time.Since(start) < 5*releasesrc.MissLookEvery; i++ {
				if code, _ := getPath(t, s, "/missing-"+strconv.Itoa(i)); code != 404 {
					wrong.Add(1)
				}
				misses.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d GET of missing paths were not 404", n)
	}
	deploy("3")
	if code, body := getPath(t, s, "/only-3.txt"); code != 200 || body != "3" {
		t.Errorf("GET /only-3.txt after a flood of misses and a deploy: %d %q, want 200 from release 3", code, body)
	}
	reads, took = st.reads.Load()-before, time.Since(start)
	if most := 1 + int64(took/releasesrc.MissLookEvery); reads > most {
		t.Errorf("%d misses over %v read the pointer %d times, want at most %d (one per %v)", misses.Load()+1, took, reads, most, releasesrc.MissLookEvery)
	}
	t.Logf("%d misses over %v: %d pointer reads", misses.Load()+1, took, reads)
}

// TestReleaseMissStalledStore: while the store stalls, the first miss
// waits for the pointer at most releasesrc.MissWait, not origin_timeout,
// and the misses after it do not wait at all, neither while that read is
// under way nor once it failed (nor read the pointer), until a poll reads
// it again; then misses read it again.
func TestReleaseMissStalledStore(t *testing.T) {
	const originTimeout = 3 * time.Second
	s, st, deploy := storeSite(t, originTimeout)
	const slack = time.Second
	st.stall.Store(true)
	start := time.Now()
	if code, _ := getPath(t, s, "/missing"); code != 404 {
		t.Errorf("GET /missing, store stalled: %d, want 404", code)
	}
	if took := time.Since(start); took > releasesrc.MissWait+slack {
		t.Errorf("the first miss with the store stalled took %v, want at most %v (+%v)", took, releasesrc.MissWait, slack)
	}
	later := func(when string) {
		t.Helper()
		start := time.Now()
		for i := range 10 {
			if code, _ := getPath(t, s, "/missing-"+strconv.Itoa(i)); code != 404 {
				t.Errorf("GET a missing path, %s: %d, want 404", when, code)
			}
		}
		// Each waiting would take MissWait: ten of them, ten times that.
		if took := time.Since(start); took > releasesrc.MissWait {
			t.Errorf("10 misses %s took %v, want no wait (less than one MissWait, %v)", when, took, releasesrc.MissWait)
		}
	}
	later("while the first one's read of the stalled store goes on")
	f := s.Release().Follower()
	if !poll(originTimeout+slack, func() bool { return f.Failed() > 0 }) {
		t.Fatalf("the stalled read of the pointer did not fail within origin_timeout %v (+%v)", originTimeout, slack)
	}
	reads := st.reads.Load()
	later("once the read failed")
	if n := st.reads.Load() - reads; n != 0 {
		t.Errorf("misses read the pointer %d times while the store could not be read, want 0", n)
	}

	st.stall.Store(false)
	s.Recheck() // the poll: the store answers again
	deploy("2")
	if code, body := getPath(t, s, "/only-2.txt"); code != 200 || body != "2" {
		t.Errorf("GET /only-2.txt after the store came back and a deploy: %d %q, want 200 from release 2", code, body)
	}
}

// poll reports whether ok became true within d, asking every few
// milliseconds.
func poll(d time.Duration, ok func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}
