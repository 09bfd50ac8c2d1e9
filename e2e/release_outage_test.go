package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
)

// deployedRE finds the release id in what stoa deploy prints.
var deployedRE = regexp.MustCompile(`release (\d{8}T\d{6}Z-[0-9a-f]{6}) is current`)

// stoaDeploy runs stoa deploy DIR TARGET and returns the id of the release
// it made current.
func stoaDeploy(t *testing.T, dir, target string) string {
	t.Helper()
	code, stdout, stderr := runStoa(t, "deploy", dir, target)
	m := deployedRE.FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("stoa deploy %s %s: exit %d; stdout %q; stderr %q", dir, target, code, stdout, stderr)
	}
	return m[1]
}

// writeTree writes files (slash-separated name: content) into a new
// folder and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// adminAddr waits for the admin line of srv and returns its host:port.
func adminAddr(t *testing.T, srv *server) string {
	t.Helper()
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatalf("no admin address announced")
	}
	return strings.TrimSuffix(strings.Fields(line[strings.Index(line, "http://")+len("http://"):])[0], "/")
}

// scrapeMetric returns the value of the series of the admin endpoint's
// /metrics named exactly series (name and labels), and whether it is there.
func scrapeMetric(t *testing.T, admin, series string) (float64, bool) {
	t.Helper()
	resp, err := (&http.Client{Timeout: ioTimeout}).Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("/metrics line %q: %v", sc.Text(), err)
			}
			return v, true
		}
	}
	return 0, false
}

// TestReleaseS3Outage serves a site from SeaweedFS, then freezes
// SeaweedFS (SIGSTOP: connections taken, nothing answered) and later stops
// it. While the store stalls or is down, the files already fetched are
// still served, whole and of the same release; a file never fetched is
// answered 503 with Retry-After within origin_timeout (plus slack), never
// left hanging; the pointer that cannot be read switches nothing, and is
// counted; the process stays up. Once the store answers again (thawed, or
// started again on the same data) the files never fetched are served, and
// a new deploy is followed, within origin_timeout or release_poll (plus
// slack), with no restart or reload of stoa.
func TestReleaseS3Outage(t *testing.T) {
	const (
		originTimeout = 2 * time.Second
		releasePoll   = 200 * time.Millisecond
		slack         = 3 * time.Second
	)
	store := s3test.Seaweed(t)
	store.Setenv(t)
	s := newSite(t)
	s.write("a.html", "<p>alpha</p>")
	s.write("b.html", "<p>bravo</p>")
	big := patterned(300_000) // above 256 KiB: more than one read of the store
	s.write("big.bin", string(big))
	s.write("uncached.txt", "fetched only after the outage\n")
	s.write("stalled.txt", "fetched only after the stall\n")
	target := "s3://" + store.Bucket + "/sites/outage"
	first := stoaDeploy(t, s.root, target)

	srv := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--release-header",
		"--origin-timeout", originTimeout.String(), "--release-poll", releasePoll.String())
	admin := adminAddr(t, srv)
	cached := []struct {
		path string
		body []byte
	}{
		{"/", []byte(indexHTML)},
		{"/a.html", []byte("<p>alpha</p>")},
		{"/big.bin", big},
	}
	for _, f := range cached {
		r := srv.get(f.path)
		if !checkStatus(t, "GET "+f.path+" before the outage", r, 200) {
			t.FailNow()
		}
		checkBody(t, "GET "+f.path+" before the outage", r, f.body)
		checkField(t, "GET "+f.path+" before the outage", r, "Stoa-Release", first)
	}
	// A store that takes requests and answers none (weed stopped by
	// SIGSTOP) holds no request past origin_timeout either. Freeze
	// returns once weed is stopped, not merely signalled: a request sent
	// before its threads stopped was answered (a 200 for /stalled.txt).
	if err := store.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Thaw() })
	checkUnavailable(t, srv, "/stalled.txt", "while the store stalls", originTimeout+slack)
	for _, f := range cached {
		what := "GET " + f.path + " while the store stalls"
		if r := srv.get(f.path); checkStatus(t, what, r, 200) {
			checkBody(t, what, r, f.body)
			checkField(t, what, r, "Stoa-Release", first)
		}
	}
	if err := store.Thaw(); err != nil {
		t.Fatal(err)
	}
	var last *response
	if !eventually(originTimeout+slack, func() bool { last = srv.get("/stalled.txt"); return last.Status == 200 }) {
		t.Errorf("GET /stalled.txt once the store answers again: not 200 within %v; last answer:\n%s", originTimeout+slack, last)
	}

	pointerErrors := `stoa_release_pointer_errors_total{site="default"}`
	before, ok := scrapeMetric(t, admin, pointerErrors)
	if !ok {
		t.Fatalf("/metrics has no %s", pointerErrors)
	}
	// weed, just thawed from SIGSTOP, may take longer than the harness
	// waits to stop; killed, it is just as stopped, which is all the
	// outage needs (the restart below recovers its directory).
	if err := store.Stop(); err != nil {
		t.Log(err)
	}
	// Polls of the pointer now fail; each is counted and changes nothing.
	if !eventually(releasePoll+originTimeout+slack, func() bool {
		n, _ := scrapeMetric(t, admin, pointerErrors)
		return n > before
	}) {
		t.Errorf("%s still %v after the store stopped, want more", pointerErrors, before)
	}
	for _, f := range cached {
		what := "GET " + f.path + " during the outage"
		if r := srv.get(f.path); checkStatus(t, what, r, 200) {
			checkBody(t, what, r, f.body)
			checkField(t, what, r, "Stoa-Release", first)
		}
	}
	checkUnavailable(t, srv, "/uncached.txt", "during the outage", originTimeout+slack)
	select {
	case <-srv.exited:
		t.Fatalf("stoa exited during the outage, status %d; stderr:\n%s", srv.exitCode, srv.stderrText())
	default:
	}
	if v, _ := scrapeMetric(t, admin, `stoa_release_info{release="`+first+`",site="default"}`); v != 1 {
		t.Errorf("stoa_release_info of release %s = %v during the outage, want 1", first, v)
	}

	if err := store.Restart(); err != nil {
		t.Fatalf("SeaweedFS did not start again on its data: %v", err)
	}
	if !eventually(releasePoll+slack, func() bool { last = srv.get("/uncached.txt"); return last.Status == 200 }) {
		t.Errorf("GET /uncached.txt once the store is back: not 200 within %v; last answer:\n%s", releasePoll+slack, last)
	} else {
		checkBody(t, "GET /uncached.txt once the store is back", last, []byte("fetched only after the outage\n"))
	}
	s.write("index.html", "<h1>after the outage</h1>")
	second := stoaDeploy(t, s.root, target)
	if !eventually(releasePoll+slack, func() bool { last = srv.get("/"); return last.get("Stoa-Release") == second }) {
		t.Errorf("release %s deployed after the outage not served within %v; last answer:\n%s", second, releasePoll+slack, last)
	} else {
		checkBody(t, "GET / of the release deployed after the outage", last, []byte("<h1>after the outage</h1>"))
	}
}

// checkUnavailable asks srv for path, not fetched yet, and reports an
// answer other than 503 with Retry-After, or none within limit.
func checkUnavailable(t *testing.T, srv *server, path, when string, limit time.Duration) {
	t.Helper()
	c := srv.dial()
	c.send(request("GET", path))
	began := time.Now()
	r, err := c.readResponse("GET", limit)
	switch {
	case err != nil:
		t.Errorf("GET %s %s: no answer within %v: %v", path, when, limit, err)
	case r.Status != 503 || r.get("Retry-After") == "":
		t.Errorf("GET %s %s: want 503 with Retry-After; got:\n%s", path, when, r)
	default:
		t.Logf("GET %s %s: 503 after %v", path, when, time.Since(began).Round(time.Millisecond))
	}
}

// TestReleaseDeploysUnderLoadS3 is TestReleaseDeploysUnderLoad with the
// store on SeaweedFS and each release made by stoa deploy: across 20
// deploys no answer belongs to another release than its page, and no
// script of a page loaded before a switch fails.
func TestReleaseDeploysUnderLoadS3(t *testing.T) {
	const (
		releasePoll = 200 * time.Millisecond
		slack       = 5 * time.Second
	)
	store := s3test.Seaweed(t)
	store.Setenv(t)
	target := "s3://" + store.Bucket + "/sites/load"
	deploy := func(n int) {
		t.Helper()
		stoaDeploy(t, writeTree(t, loadReleaseFiles(n)), target)
	}
	deploy(1)
	s := newSite(t)
	srv := startWith(t, s, "serve", target, "--listen", "127.0.0.1:0", "--release-poll", releasePoll.String())
	loadAcrossDeploys(t, srv, 20, func(n int) {
		deploy(n)
		// Clients load pages of each release before the next switch.
		page := fmt.Sprintf("<p>release %d</p>", n)
		if !eventually(releasePoll+slack, func() bool { return strings.HasPrefix(string(srv.get("/").Body), page) }) {
			t.Errorf("release %d not served within %v of its deploy", n, releasePoll+slack)
		}
	}, 2*time.Millisecond, releasePoll+slack).noneAhead(t)
}
