package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Deploying to a folder (issue 11, item 1): a root that is, or passes
// through, a symlink that a deploy retargets, or a directory that a deploy
// renames away and replaces, is followed within revalidate, on SIGHUP and
// on POST /reload; every request is answered from one release.

// releaseBigSize is the size of each release's big.bin: above the
// 256 KiB kept in memory, so it goes out from the file (sendfile).
const releaseBigSize = 700 << 10

// releaseMark is what every body of release n is made of, so that a body
// holding two numbers mixes two releases.
func releaseMark(n int) string { return fmt.Sprintf("release=%04d\n", n) }

// writeRelease fills dir with release n: index.html, big.bin and a file
// that only this release has (only-N.html).
func writeRelease(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mark := releaseMark(n)
	files := map[string]string{
		"index.html":                   "<!doctype html>\n<title>release</title>\n" + strings.Repeat(mark, 100),
		"big.bin":                      strings.Repeat(mark, releaseBigSize/len(mark)),
		fmt.Sprintf("only-%d.html", n): mark,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// releasesIn returns the distinct release numbers body carries, in order
// of first appearance.
func releasesIn(body []byte) []string {
	var out []string
	key := []byte("release=")
	for {
		i := bytes.Index(body, key)
		if i < 0 || i+len(key)+4 > len(body) {
			return out
		}
		body = body[i+len(key):]
		n := string(body[:4])
		if strings.Trim(n, "0123456789") == "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
}

// swapSymlink points link at target atomically, as deploy scripts do:
// ln -sfn target tmp && mv -T tmp link.
func swapSymlink(t *testing.T, target, link string) {
	t.Helper()
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// releaseOf fetches path and returns the one release its body carries,
// or "" with a reason.
func releaseOf(srv *server, path string) (string, string) {
	c, err := net.DialTimeout("tcp", srv.addr, ioTimeout)
	if err != nil {
		return "", err.Error()
	}
	defer c.Close()
	cl := &client{t: srv.t, conn: c, rec: &recorder{conn: c}}
	cl.br = bufio.NewReader(cl.rec)
	if err := cl.trySend(request("GET", path)); err != nil {
		return "", err.Error()
	}
	r, err := cl.readResponse("GET", ioTimeout)
	if err != nil {
		return "", err.Error()
	}
	if r.Status != 200 {
		return "", fmt.Sprintf("status %d", r.Status)
	}
	rels := releasesIn(r.Body)
	if len(rels) != 1 {
		return "", fmt.Sprintf("releases %v in one body", rels)
	}
	return rels[0], ""
}

// waitRelease polls path until it answers from release n, within d.
func waitRelease(t *testing.T, srv *server, path string, n int, d time.Duration) bool {
	t.Helper()
	want := fmt.Sprintf("%04d", n)
	return eventually(d, func() bool {
		got, _ := releaseOf(srv, path)
		return got == want
	})
}

// adminBase reads the admin address from the server's stdout.
func adminBase(t *testing.T, srv *server) string {
	t.Helper()
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatal("no admin line on stdout")
	}
	return strings.TrimSuffix(strings.Fields(line[strings.Index(line, "http://"):])[0], "/")
}

func postReload(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Post(base+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /reload: %d %q", resp.StatusCode, b)
	}
}

// TestSymlinkSwapReload is the regression test for a root reached through
// a symlink that a deploy retargets: stoa kept serving the old release,
// and the new release's files answered 404, even after SIGHUP or POST
// /reload. Revalidation is set to an hour here, so only the reload can
// have made the switch, and it must have made it by the time it answers.
func TestSymlinkSwapReload(t *testing.T) {
	s := newSite(t)
	rel := func(n int) string { return filepath.Join(s.base, "releases", fmt.Sprint(n)) }
	current := filepath.Join(s.base, "current")
	writeRelease(t, rel(1), 1)
	if err := os.Symlink(rel(1), current); err != nil {
		t.Fatal(err)
	}
	srv := startWith(t, s, "serve", current, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--revalidate", "1h")
	base := adminBase(t, srv)
	if got, why := releaseOf(srv, "/"); got != "0001" {
		t.Fatalf("before any swap: release %q (%s), want 0001", got, why)
	}

	writeRelease(t, rel(2), 2)
	swapSymlink(t, rel(2), current)
	postReload(t, base)
	if !srv.waitLine("reloaded (POST /reload)", 5*time.Second) {
		t.Fatalf("no reload line after POST /reload")
	}
	if got, why := releaseOf(srv, "/"); got != "0002" {
		t.Errorf("after the swap and POST /reload: / from release %q (%s), want 0002", got, why)
	}
	if r := srv.get("/only-2.html"); r.Status != 200 {
		t.Errorf("after the swap and POST /reload: the new release's /only-2.html answers %d, want 200", r.Status)
	}

	writeRelease(t, rel(3), 3)
	swapSymlink(t, rel(3), current)
	srv.signal(syscall.SIGHUP)
	if !srv.waitLine("stoa: reloaded", 5*time.Second) {
		t.Fatalf("no reload line after SIGHUP; stderr:\n%s", srv.stderrText())
	}
	if got, why := releaseOf(srv, "/"); got != "0003" {
		t.Errorf("after the swap and SIGHUP: / from release %q (%s), want 0003", got, why)
	}
	if r := srv.get("/only-3.html"); r.Status != 200 {
		t.Errorf("after the swap and SIGHUP: /only-3.html answers %d, want 200", r.Status)
	}
}

// TestDirectorySwapRevalidate is the regression test for a root directory
// renamed away and replaced (mv site site.old; mv new site; rm -rf
// site.old): stoa kept the deleted tree and answered 404 for good. The new
// directory must be served within revalidate (plus slack), with no reload.
func TestDirectorySwapRevalidate(t *testing.T) {
	s := newSite(t)
	root := filepath.Join(s.base, "site")
	writeRelease(t, root, 1)
	srv := startWith(t, s, "serve", root, "--listen", "127.0.0.1:0", "--revalidate", "200ms")
	if got, why := releaseOf(srv, "/big.bin"); got != "0001" {
		t.Fatalf("before any swap: release %q (%s), want 0001", got, why)
	}
	writeRelease(t, filepath.Join(s.base, "new"), 2)
	mustRename(t, root, root+".old")
	mustRename(t, filepath.Join(s.base, "new"), root)
	if err := os.RemoveAll(root + ".old"); err != nil {
		t.Fatal(err)
	}
	if !waitRelease(t, srv, "/", 2, 200*time.Millisecond+swapSlack) {
		got, why := releaseOf(srv, "/")
		t.Fatalf("after the directory swap: / from release %q (%s), want 0002 within revalidate", got, why)
	}
	for _, p := range []string{"/big.bin", "/only-2.html"} {
		if got, why := releaseOf(srv, p); got != "0002" {
			t.Errorf("after the directory swap: %s from release %q (%s), want 0002", p, got, why)
		}
	}
}

// TestRootRecreated covers rm -rf root; mkdir root; fill it: while the
// root is missing the last tree goes on answering (what it still holds),
// and the recreated directory is served within revalidate, with a line on
// stdout naming it.
func TestRootRecreated(t *testing.T) {
	s := newSite(t)
	root := filepath.Join(s.base, "site")
	writeRelease(t, root, 1)
	srv := startWith(t, s, "serve", root, "--listen", "127.0.0.1:0", "--revalidate", "100ms")
	if got, why := releaseOf(srv, "/"); got != "0001" {
		t.Fatalf("before: release %q (%s), want 0001", got, why)
	}
	// Missing for a moment: renamed away, the tree it was keeps serving.
	mustRename(t, root, root+".away")
	time.Sleep(300 * time.Millisecond) // a few revalidations with the root missing
	if got, why := releaseOf(srv, "/big.bin"); got != "0001" {
		t.Errorf("root missing for a moment: /big.bin from %q (%s), want the last tree (0001) still served", got, why)
	}
	if err := os.RemoveAll(root + ".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	writeRelease(t, root, 2)
	if !waitRelease(t, srv, "/only-2.html", 2, 100*time.Millisecond+swapSlack) {
		got, why := releaseOf(srv, "/only-2.html")
		t.Fatalf("recreated root: /only-2.html from %q (%s), want 0002 within revalidate", got, why)
	}
	if !srv.waitLine("now serving", time.Second) {
		t.Errorf("no stdout line says which tree is served after the switch")
	}
}

// swapSlack is what a switch may take beyond revalidate on a loaded
// machine: the check itself, opening the tree, a poll interval.
const swapSlack = 3 * time.Second

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// loadResult counts what clients saw while releases were swapped.
type loadResult struct {
	requests, failed, mixed atomic.Int64
	mu                      sync.Mutex
	examples                []string
}

func (l *loadResult) note(kind *atomic.Int64, format string, args ...any) {
	kind.Add(1)
	l.mu.Lock()
	if len(l.examples) < 10 {
		l.examples = append(l.examples, fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

// loadClient requests, on one keep-alive connection at a time, the page,
// two ranges of the large file in one request (multipart), and now and
// then the whole large file, until stop is closed or its request budget
// is spent. Each answer must succeed and carry one release.
func loadClient(srv *server, id int, stop <-chan struct{}, res *loadResult) {
	const budget = 20000
	var cl *client
	defer func() {
		if cl != nil {
			cl.conn.Close()
		}
	}()
	reqs := []string{
		request("GET", "/"),
		request("GET", "/big.bin", "Range: bytes=0-99,400000-400099,716000-716099"),
		request("GET", "/big.bin"),
	}
	for i := 0; i < budget; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if cl == nil {
			c, err := net.DialTimeout("tcp", srv.addr, ioTimeout)
			if err != nil {
				res.note(&res.failed, "client %d: dial: %v", id, err)
				return
			}
			cl = &client{t: srv.t, conn: c, rec: &recorder{conn: c}}
			cl.br = bufio.NewReader(cl.rec)
		}
		raw := reqs[0]
		switch {
		case i%7 == 3:
			raw = reqs[2]
		case i%2 == 1:
			raw = reqs[1]
		}
		// The recorder would keep every byte: start it afresh.
		cl.rec.mu.Lock()
		cl.rec.buf = cl.rec.buf[:0]
		cl.rec.mu.Unlock()
		res.requests.Add(1)
		if err := cl.trySend(raw); err != nil {
			res.note(&res.failed, "client %d: send: %v", id, err)
			cl.conn.Close()
			cl = nil
			continue
		}
		r, err := cl.readResponse("GET", ioTimeout)
		if err != nil {
			res.note(&res.failed, "client %d: %s: %v", id, strings.SplitN(raw, "\r\n", 2)[0], err)
			cl.conn.Close()
			cl = nil
			continue
		}
		checkLoadAnswer(r, raw, id, res)
	}
}

// checkLoadAnswer counts a failed answer or one mixing releases.
func checkLoadAnswer(r *response, raw string, id int, res *loadResult) {
	line := strings.SplitN(raw, "\r\n", 2)[0]
	ranged := strings.Contains(raw, "Range:")
	want := 200
	if ranged {
		want = 206
	}
	if r.Status != want {
		res.note(&res.failed, "client %d: %s: status %d, want %d", id, line, r.Status, want)
		return
	}
	body := r.Body
	if ranged {
		parts, err := multipartBodies(r)
		if err != nil || len(parts) != 3 {
			res.note(&res.failed, "client %d: %s: %d parts (%v)", id, line, len(parts), err)
			return
		}
		// Each part on its own: joined, the cut marks at their ends
		// would run into each other.
		body = bytes.Join(parts, []byte("\n"))
	} else if strings.Contains(line, "big.bin") && len(body) != releaseBigSize/13*13 {
		res.note(&res.failed, "client %d: %s: %d bytes", id, line, len(body))
		return
	}
	if rels := releasesIn(body); len(rels) != 1 {
		res.note(&res.mixed, "client %d: %s: releases %v in one answer", id, line, rels)
	}
}

// multipartBodies splits a multipart/byteranges body into its parts.
func multipartBodies(r *response) ([][]byte, error) {
	_, params, err := mime.ParseMediaType(r.get("Content-Type"))
	if err != nil {
		return nil, err
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	var out [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}

// swapUnderLoad runs clients against srv while swap(n) deploys releases
// 2..swaps+1 one after the other, each waited for on / within
// revalidate+slack, and reports what the clients saw.
func swapUnderLoad(t *testing.T, srv *server, revalidate time.Duration, swaps int, swap func(n int)) {
	const clients = 6
	stop := make(chan struct{})
	var res loadResult
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loadClient(srv, i, stop, &res)
		}()
	}
	fdsBefore := openFDs(t, srv.cmd.Process.Pid)
	late := 0
	for n := 2; n <= swaps+1; n++ {
		time.Sleep(50 * time.Millisecond) // clients at work on release n-1
		swap(n)
		if !waitRelease(t, srv, "/", n, revalidate+swapSlack) {
			late++
			t.Errorf("release %d not served within revalidate (%v) + %v after its swap", n, revalidate, swapSlack)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests across %d swaps; %d failed, %d mixed releases", res.requests.Load(), swaps, res.failed.Load(), res.mixed.Load())
	if res.failed.Load() != 0 || res.mixed.Load() != 0 {
		t.Errorf("%d failed answers and %d answers mixing releases, want none; for example:\n%s",
			res.failed.Load(), res.mixed.Load(), strings.Join(res.examples, "\n"))
	}
	if res.requests.Load() < int64(clients*swaps) {
		t.Errorf("only %d requests made: the clients did not run across the swaps", res.requests.Load())
	}
	if late > 0 {
		t.Logf("stderr:\n%s", srv.stderrText())
	}
	// Each replaced tree (its directory, its large file kept open) is
	// closed when its last request is done, not when the garbage
	// collector gets to it: the open files do not grow with the swaps.
	if !eventually(5*time.Second, func() bool { return openFDs(t, srv.cmd.Process.Pid) <= fdsBefore+2 }) {
		t.Errorf("open files: %d before %d swaps, %d after; want the replaced trees closed", fdsBefore, swaps, openFDs(t, srv.cmd.Process.Pid))
	}
}

// TestSymlinkSwapUnderLoad deploys 12 releases by symlink swap while
// clients fetch pages, ranges of a large file and the whole of it: no
// request fails, none mixes two releases, and each release is served
// within revalidate. Old releases stay on disk, as with any release
// directory scheme.
func TestSymlinkSwapUnderLoad(t *testing.T) {
	s := newSite(t)
	rel := func(n int) string { return filepath.Join(s.base, "releases", fmt.Sprint(n)) }
	current := filepath.Join(s.base, "current")
	writeRelease(t, rel(1), 1)
	if err := os.Symlink(rel(1), current); err != nil {
		t.Fatal(err)
	}
	const revalidate = 200 * time.Millisecond
	srv := startWith(t, s, "serve", current, "--listen", "127.0.0.1:0", "--revalidate", revalidate.String())
	swapUnderLoad(t, srv, revalidate, 12, func(n int) {
		writeRelease(t, rel(n), n)
		swapSymlink(t, rel(n), current)
	})
}

// TestDirectorySwapUnderLoad deploys 12 releases by directory swap under
// the same load, the old directory deleted at once: mv site site.old; mv
// new site; rm -rf site.old. A request that finds its tree's files gone
// makes stoa look at the root at once, and is answered from the new tree.
func TestDirectorySwapUnderLoad(t *testing.T) {
	s := newSite(t)
	root := filepath.Join(s.base, "site")
	writeRelease(t, root, 1)
	const revalidate = 200 * time.Millisecond
	srv := startWith(t, s, "serve", root, "--listen", "127.0.0.1:0", "--revalidate", revalidate.String())
	swapUnderLoad(t, srv, revalidate, 12, func(n int) {
		next := filepath.Join(s.base, fmt.Sprintf("new-%d", n))
		writeRelease(t, next, n)
		mustRename(t, root, root+".old")
		mustRename(t, next, root)
		if err := os.RemoveAll(root + ".old"); err != nil {
			t.Fatal(err)
		}
	})
}
