package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/release/s3store/s3test"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

// The settings of the replicas of TestReplicas: what an operator sets for a
// site in S3 behind a load balancer, shortened so that the test takes
// seconds.
const (
	replicaCount         = 3
	replicaReleasePoll   = 200 * time.Millisecond
	replicaOriginTimeout = 2 * time.Second
	replicaDrainDelay    = 2 * time.Second
	replicaShutdown      = 5 * time.Second
	// replicaSlack is added to a configured time for a process on a
	// machine shared with other builds to act on it.
	replicaSlack = 3 * time.Second
	// storeOutage is how long the store stops answering (the 30 s).
	storeOutage = 30 * time.Second
)

// replicaSite is the site the replicas serve: text of several sizes (each
// with br, zstd and gzip variants made by stoa deploy), a file too small to
// compress, a binary one, a directory index, and u/NN.txt, fetched by no
// subtest but the outage's (uncached until then).
func replicaSite() map[string]string {
	files := map[string]string{
		"index.html":      "<!doctype html>\n<title>replicas</title>\n" + strings.Repeat("<p>one server, three processes</p>\n", 20),
		"style.css":       strings.Repeat("body { color: #333; }\n", 40),
		"app.js":          strings.Repeat("console.log('replica');\n", 30),
		"data.json":       `{"items":[` + strings.Repeat(`{"name":"replica","ok":true},`, 30) + `{}]}`,
		"img.svg":         `<svg xmlns="http://www.w3.org/2000/svg">` + strings.Repeat(`<rect width="1" height="1"/>`, 20) + `</svg>`,
		"small.txt":       "hi\n",
		"docs/index.html": "<!doctype html>\n<h1>docs</h1>\n" + strings.Repeat("<p>docs</p>\n", 30),
		"big.txt":         string(patterned(300_000)), // above 256 KiB: more than one read of the store
		"big.bin":         string(bytes.Repeat([]byte{0, 1, 2, 3, 250, 251, 252, 253}, 40_000)),
	}
	for i := 1; i <= 12; i++ {
		files[fmt.Sprintf("u/%02d.txt", i)] = fmt.Sprintf("uncached file %d\n", i)
	}
	return files
}

// TestReplicas runs three stoa replicas serving one site from one S3
// bucket (SeaweedFS) behind haproxy (round robin, health checks on each
// replica's /readyz), and shows that they act as one server: the same
// bytes and validators from each; deploys followed by all within
// release_poll plus a second, with no answer mixing releases and no
// script of a page loaded before a switch failing; a rolling restart that
// loses no request; and an outage of the store that cached paths do not
// see and that ends by itself.
func TestReplicas(t *testing.T) {
	haproxyBin := haproxyBinary(t)
	store := s3test.Seaweed(t)
	store.Setenv(t)
	target := "s3://" + store.Bucket + "/sites/replicas"
	files := replicaSite()
	base, _ := deployTimed(t, writeTree(t, files), target)

	s := newSite(t) // for the secret check of startWith; the replicas serve S3
	rs := make([]*replica, replicaCount)
	for i := range rs {
		rs[i] = &replica{name: fmt.Sprintf("r%d", i)}
		rs[i].start(t, s, target)
	}
	lb := startHAProxy(t, haproxyBin, rs, "")
	bare := startHAProxy(t, haproxyBin, rs, noRetries)
	waitSwitched(t, rs, base, time.Now(), startTimeout)
	env := &replicaEnv{store: store, target: target, site: s, files: files, base: base, rs: rs, lb: lb, bare: bare}

	t.Run("identical", env.identical)
	t.Run("deploy", env.deploy)
	t.Run("rolling restart", func(st *testing.T) { env.rollingRestart(st, t) })
	t.Run("store outage", env.outage)
}

// replicaEnv is what the subtests of TestReplicas share.
type replicaEnv struct {
	store  *s3test.Server
	target string
	site   *site
	files  map[string]string // of release base
	base   string            // the release each subtest starts and ends with
	rs     []*replica
	lb     *haproxy // configured as haproxyConfig says
	bare   *haproxy // the same but sending each request once (noRetries)
}

// identical asks every replica directly for every path in every encoding,
// twice (from the store, then from the cache): status, header fields but
// Date, and body are the same bytes from each; and the ETag and
// Last-Modified that one replica gave get 304 from the next one.
func (e *replicaEnv) identical(t *testing.T) {
	paths := []string{"/", "/index.html", "/style.css", "/app.js", "/data.json", "/img.svg", "/small.txt",
		"/docs/", "/docs", "/big.txt", "/big.bin", "/missing.html"}
	encodings := []string{"identity", "gzip", "br", "zstd"}
	var answers, conditional int
	encoded := map[string]int{}
	for _, p := range paths {
		for _, enc := range encodings {
			raw := request("GET", p, "Accept-Encoding: "+enc)
			var first *response
			for round := range 2 {
				for _, r := range e.rs {
					got, err := fetch(r.addr, raw, ioTimeout)
					what := fmt.Sprintf("GET %s (Accept-Encoding: %s) from %s, %s", p, enc, r.name, []string{"from the store", "cached"}[round])
					if err != nil {
						t.Errorf("%s: %v", what, err)
						continue
					}
					answers++
					if first == nil {
						first = got
						checkDecoded(t, what, p, got, e.files)
						continue
					}
					if g, w := headWithoutDate(got), headWithoutDate(first); g != w {
						t.Errorf("%s: head\n%s\nwant, as from %s:\n%s", what, g, e.rs[0].name, w)
					}
					if !bytes.Equal(got.Body, first.Body) {
						t.Errorf("%s: body of %d bytes differs from %s's (%d bytes)", what, len(got.Body), e.rs[0].name, len(first.Body))
					}
				}
			}
			if first == nil || first.get("ETag") == "" {
				continue
			}
			if c := first.get("Content-Encoding"); c != "" {
				encoded[c]++
			}
			conditional += e.checkConditional(t, p, enc, first)
		}
	}
	for _, enc := range encodings[1:] {
		if encoded[enc] == 0 {
			t.Errorf("no answer was encoded with %s: the encodings were not tried", enc)
		}
	}
	t.Logf("%d paths × %d encodings on %d replicas, each asked twice: %d answers, byte-identical heads (but Date) and bodies; %d answers encoded (%v)",
		len(paths), len(encodings), len(e.rs), answers, encoded["gzip"]+encoded["br"]+encoded["zstd"], encoded)
	t.Logf("%d conditional requests (If-None-Match, If-Modified-Since) sent to another replica than the one that gave the validator: all 304", conditional)
}

// checkConditional sends the ETag and Last-Modified of first, an answer of
// replica 0, to each other replica, with the same Accept-Encoding, and
// reports an answer other than 304 with the same ETag. It returns how many
// requests it sent.
func (e *replicaEnv) checkConditional(t *testing.T, path, enc string, first *response) int {
	t.Helper()
	n := 0
	for _, r := range e.rs[1:] {
		for _, cond := range []string{"If-None-Match: " + first.get("ETag"), "If-Modified-Since: " + first.get("Last-Modified")} {
			what := fmt.Sprintf("GET %s (Accept-Encoding: %s, %s) from %s", path, enc, cond, r.name)
			got, err := fetch(r.addr, request("GET", path, "Accept-Encoding: "+enc, cond), ioTimeout)
			n++
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			if got.Status != 304 || got.get("ETag") != first.get("ETag") {
				t.Errorf("%s: want 304 with ETag %s (from %s); got:\n%s", what, first.get("ETag"), e.rs[0].name, got)
			}
		}
	}
	return n
}

// checkDecoded reports a 200 answer to GET path whose body, decoded, is
// not the file deployed there (its index.html for a directory).
func checkDecoded(t *testing.T, what, path string, r *response, files map[string]string) {
	t.Helper()
	if r.Status != 200 {
		return
	}
	name := strings.TrimPrefix(path, "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	if got, want := gunzip(r), files[name]; string(got) != want {
		t.Errorf("%s: decoded body %q, want %q (%d bytes)", what, clip(got, 80), clip([]byte(want), 80), len(want))
	}
}

// headWithoutDate is r's status line and field lines but Date.
func headWithoutDate(r *response) string {
	var b strings.Builder
	b.WriteString(strings.SplitN(r.Head, "\r\n", 2)[0])
	for _, f := range r.Fields {
		if !strings.EqualFold(f.Name, "Date") {
			b.WriteString("\n" + f.Name + ": " + f.Value)
		}
	}
	return b.String()
}

// deploy deploys releases to the store while clients load pages and their
// scripts through haproxy (loadAcrossDeploys), and times how long each
// replica, asked directly, takes to serve each new release after stoa
// deploy made it current; then rolls back to the base release.
func (e *replicaEnv) deploy(t *testing.T) {
	const deploys = 6
	limit := replicaReleasePoll + time.Second
	id, at := deployTimed(t, writeTree(t, loadReleaseFiles(1)), e.target)
	waitSwitched(t, e.rs, id, at, limit)
	took := make([][]time.Duration, len(e.rs))
	front := &server{t: t, addr: e.lb.addr}
	ahead := loadAcrossDeploys(t, front, deploys+1, func(n int) {
		id, at := deployTimed(t, writeTree(t, loadReleaseFiles(n)), e.target)
		for i, d := range waitSwitched(t, e.rs, id, at, limit) {
			took[i] = append(took[i], d)
		}
	}, 2*time.Millisecond, limit)
	// Round robin sends the scripts of pages of a replica that has
	// switched to one that has not polled yet: its miss reads the
	// pointer, and it serves them (9 to 175 of them failed per run when
	// a miss of a release store read nothing, b68c4ca).
	ahead.noneAhead(t)
	var worst time.Duration
	for i, ds := range took {
		slices.Sort(ds)
		worst = max(worst, ds[len(ds)-1])
		t.Logf("%s served each of %d releases %v after stoa deploy said it was current (median %v, max %v)",
			e.rs[i].name, len(ds), roundAll(ds), ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
	t.Logf("every replica switched within %v of every deploy; release_poll is %v", worst.Round(time.Millisecond), replicaReleasePoll)

	code, stdout, stderr := runStoa(t, "rollback", e.target, e.base)
	if code != 0 {
		t.Fatalf("stoa rollback %s: exit %d: %s%s", e.base, code, stdout, stderr)
	}
	waitSwitched(t, e.rs, e.base, time.Now(), limit+replicaSlack)
}

// roundAll rounds each of ds to the millisecond, for logs.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// waitSwitched asks each replica directly, every 10 ms, for / until its
// Stoa-Release is id, and returns for each how long after since it took.
// It reports a replica that took longer than limit, and waits replicaSlack
// more for it so that the log tells by how much.
func waitSwitched(t *testing.T, rs []*replica, id string, since time.Time, limit time.Duration) []time.Duration {
	t.Helper()
	took := make([]time.Duration, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			deadline := since.Add(limit + replicaSlack)
			for time.Now().Before(deadline) {
				got, err := fetch(r.addr, request("HEAD", "/"), ioTimeout)
				if err == nil && got.get("Stoa-Release") == id {
					took[i] = time.Since(since)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			took[i] = -1
		})
	}
	wg.Wait()
	for i, d := range took {
		switch {
		case d < 0:
			t.Errorf("%s does not serve release %s %v after it was made current", rs[i].name, id, limit+replicaSlack)
		case d > limit:
			t.Errorf("%s served release %s %v after it was made current, want within %v", rs[i].name, id, d, limit)
		}
	}
	return took
}

// rollingRestart restarts the replicas one after the other, as an
// orchestrator does (SIGTERM, wait for the exit, start again, wait until
// haproxy has it up again, next) while clients load the site's files
// through haproxy, and through a second haproxy that never retries: no
// request fails through either, the drain alone keeping them whole.
// Replicas are started again on top, the test that owns them (a restarted
// replica is stopped when it ends).
func (e *replicaEnv) rollingRestart(t *testing.T, top *testing.T) {
	want := map[string][]byte{}
	for _, p := range []string{"index.html", "style.css", "app.js", "small.txt", "big.bin"} {
		want["/"+p] = []byte(e.files[p])
	}
	retried, redispatched := e.lb.retries(t)
	load := startLoad(t, e.lb.addr, want, 3, 2*time.Millisecond)
	bareLoad := startLoad(t, e.bare.addr, want, 2, 2*time.Millisecond)
	load.waitRequests(t, 100) // under load before the first SIGTERM
	for _, r := range e.rs {
		e.restart(t, top, r)
	}
	load.waitRequests(t, 100) // and after the last replica is back
	res, bareRes := load.stop(), bareLoad.stop()
	retriedAfter, redispatchedAfter := e.lb.retries(t)
	retried, redispatched = retriedAfter-retried, redispatchedAfter-redispatched
	res.log(t, fmt.Sprintf("rolling restart of %d replicas (drain_delay %v), through haproxy", len(e.rs), replicaDrainDelay))
	t.Logf("haproxy retried %d requests and redispatched %d to another replica", retried, redispatched)
	bareRes.log(t, "the same, through a haproxy that sends each request once (retries 0)")
	for _, c := range []struct {
		res loadFigures
		lb  *haproxy
	}{{res, e.lb}, {bareRes, e.bare}} {
		if c.res.failures > 0 {
			t.Errorf("%d of %d requests through %s failed during the rolling restart: %v\nhaproxy's log:\n%s", c.res.failures, c.res.requests, c.lb.addr, c.res.problems, c.lb.log.String())
		}
	}
}

// restart stops r with SIGTERM and starts it again on the same addresses,
// logging when its /readyz turned 503, when haproxy took it out and put it
// back, and when it exited.
func (e *replicaEnv) restart(t, top *testing.T, r *replica) {
	t.Helper()
	began := time.Now()
	r.srv.signal(syscall.SIGTERM)
	var notReady, down time.Duration
	exitLimit := replicaDrainDelay + replicaShutdown + replicaSlack
	running := func() bool {
		select {
		case <-r.srv.exited:
			return false
		default:
			return true
		}
	}
	for deadline := began.Add(exitLimit); (notReady == 0 || down == 0) && running() && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if notReady == 0 && readyz(r.admin) == 503 {
			notReady = time.Since(began)
		}
		if down == 0 && e.lb.status(t, r.name) != "UP" && e.bare.status(t, r.name) != "UP" {
			down = time.Since(began)
		}
	}
	if code := r.srv.wait(exitLimit); code != 0 {
		t.Errorf("%s exited with status %d after SIGTERM, want 0; stderr:\n%s", r.name, code, r.srv.stderrText())
	}
	exited := time.Since(began)
	r.start(top, e.site, e.target)
	if !eventually(startTimeout, func() bool { return e.lb.status(t, r.name) == "UP" && e.bare.status(t, r.name) == "UP" }) {
		t.Fatalf("haproxy does not show %s up within %v of its start: %q and %q", r.name, startTimeout, e.lb.status(t, r.name), e.bare.status(t, r.name))
	}
	t.Logf("%s: /readyz 503 after %v, down in both haproxies after %v, exited after %v, up again after %v",
		r.name, notReady.Round(time.Millisecond), down.Round(time.Millisecond), exited.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if notReady == 0 || down == 0 || down > exited {
		t.Errorf("%s: /readyz 503 after %v and down in both haproxies after %v (0: never), want both before it exited (after %v)", r.name, notReady, down, exited)
	}
}

// readyz returns the status of GET /readyz on admin, or 0 when it cannot
// be asked.
func readyz(admin string) int {
	r, err := fetch(admin, request("GET", "/readyz"), ioTimeout)
	if err != nil {
		return 0
	}
	return r.Status
}

// outage warms each replica with the cached paths, then stops the store
// (SIGSTOP: connections taken, nothing answered) for storeOutage while
// clients load those paths through haproxy, asking an uncached path now
// and then: the cached ones answer 200, each uncached one 503 within
// origin_timeout. When the store answers again, the uncached paths are
// served, and a deploy is followed, with nothing restarted.
func (e *replicaEnv) outage(t *testing.T) {
	want := map[string][]byte{}
	for _, p := range []string{"index.html", "style.css", "app.js", "big.txt", "big.bin"} {
		want["/"+p] = []byte(e.files[p])
	}
	for _, r := range e.rs {
		for p, body := range want {
			got, err := fetch(r.addr, request("GET", p), ioTimeout)
			if err != nil || got.Status != 200 || !bytes.Equal(got.Body, body) {
				t.Fatalf("GET %s from %s before the outage: %v %v", p, r.name, err, got)
			}
		}
	}
	load := startLoad(t, e.lb.addr, want, 3, 5*time.Millisecond)
	if err := e.store.Freeze(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			e.store.Thaw()
		}
	}
	t.Cleanup(thaw)
	began := time.Now()
	limit := replicaOriginTimeout + replicaSlack
	var probed []string
	var slowest time.Duration
	for i := 1; i <= 12; i++ {
		at := began.Add(time.Duration(i-1) * storeOutage / 8)
		if at.Add(limit).After(began.Add(storeOutage)) {
			break
		}
		time.Sleep(time.Until(at))
		p := fmt.Sprintf("/u/%02d.txt", i)
		probed = append(probed, p)
		start := time.Now()
		got, err := fetch(e.lb.addr, request("GET", p), limit)
		took := time.Since(start)
		slowest = max(slowest, took)
		switch {
		case err != nil:
			t.Errorf("GET %s through haproxy while the store is stopped: no answer within %v: %v", p, limit, err)
		case got.Status != 503 || got.get("Retry-After") == "":
			t.Errorf("GET %s through haproxy while the store is stopped: want 503 with Retry-After; got after %v:\n%s", p, took, got)
		}
	}
	time.Sleep(time.Until(began.Add(storeOutage)))
	thaw()
	back := time.Now()
	res := load.stop()
	res.log(t, fmt.Sprintf("store stopped for %v, cached paths through haproxy", storeOutage))
	t.Logf("%d uncached paths asked while the store was stopped: each 503 with Retry-After, the slowest after %v (origin_timeout %v)",
		len(probed), slowest.Round(time.Millisecond), replicaOriginTimeout)
	if res.failures > 0 {
		t.Errorf("%d of %d requests for cached paths failed while the store was stopped: %v", res.failures, res.requests, res.problems)
	}

	// Back: every replica serves what it could not, on its own.
	recovery := replicaReleasePoll + replicaOriginTimeout + replicaSlack
	for _, p := range probed {
		body := []byte(e.files[strings.TrimPrefix(p, "/")])
		for _, addr := range append([]string{e.lb.addr}, e.addrs()...) {
			var last *response
			if !eventually(recovery, func() bool {
				last, _ = fetch(addr, request("GET", p), ioTimeout)
				return last != nil && last.Status == 200 && bytes.Equal(last.Body, body)
			}) {
				t.Errorf("GET %s from %s once the store answers again: not 200 within %v; last answer: %v", p, addr, recovery, last)
			}
		}
	}
	t.Logf("the %d uncached paths served by haproxy and by each replica %v after the store answered again", len(probed), time.Since(back).Round(time.Millisecond))
	id, at := deployTimed(t, writeTree(t, map[string]string{"index.html": "<p>after the outage</p>"}), e.target)
	waitSwitched(t, e.rs, id, at, replicaReleasePoll+time.Second)
	if code, stdout, stderr := runStoa(t, "rollback", e.target, e.base); code != 0 {
		t.Fatalf("stoa rollback %s: exit %d: %s%s", e.base, code, stdout, stderr)
	}
	waitSwitched(t, e.rs, e.base, time.Now(), replicaReleasePoll+time.Second+replicaSlack)
}

// addrs are the replicas' serving addresses.
func (e *replicaEnv) addrs() []string {
	var out []string
	for _, r := range e.rs {
		out = append(out, r.addr)
	}
	return out
}

// A replica is one stoa process serving the release store; its addresses
// are kept across restarts, as haproxy's configuration names them.
type replica struct {
	name  string
	srv   *server
	addr  string // 127.0.0.1:PORT it serves on
	admin string // 127.0.0.1:PORT of its admin endpoint
}

// start runs `stoa serve TARGET` with the replica settings, on the
// addresses of the replica's previous run, or on free ports the first time.
func (r *replica) start(t *testing.T, s *site, target string) {
	t.Helper()
	listen, admin := "127.0.0.1:0", "127.0.0.1:0"
	if r.addr != "" {
		listen, admin = r.addr, r.admin
	}
	r.srv = startWith(t, s, "serve", target, "--listen", listen, "--admin", admin, "--release-header",
		"--release-poll", replicaReleasePoll.String(), "--origin-timeout", replicaOriginTimeout.String(),
		"--drain-delay", replicaDrainDelay.String(), "--shutdown-timeout", replicaShutdown.String())
	r.addr = r.srv.addr
	r.admin = adminAddr(t, r.srv)
}

// fetch sends raw on a new connection to addr and reads the answer, each
// step within d.
func fetch(addr, raw string, d time.Duration) (*response, error) {
	conn, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(d))
	if _, err := io.WriteString(conn, raw); err != nil {
		return nil, err
	}
	c := &client{conn: conn, br: bufio.NewReader(conn)}
	return c.readResponse(methodOf(raw), d)
}

// deployTimed runs stoa deploy DIR TARGET and returns the id of the
// release it made current and when it said so, which it does as soon as
// the pointer is written.
func deployTimed(t *testing.T, dir, target string) (string, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, stoaBin, "deploy", dir, target)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	var at time.Time
	var stdout strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		stdout.WriteString(sc.Text() + "\n")
		if m := deployedRE.FindStringSubmatch(sc.Text()); m != nil && id == "" {
			id, at = m[1], time.Now()
		}
	}
	if err := cmd.Wait(); err != nil || id == "" {
		t.Fatalf("stoa deploy %s %s: %v; stdout %q; stderr %q", dir, target, err, stdout.String(), stderr.String())
	}
	return id, at
}

// A pathLoad is clients asking for paths through one address, keeping their
// connection alive, until stop.
type pathLoad struct {
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  loadFigures
}

// loadFigures is what a load saw: every request, the failed ones (an
// answer other than 200 with the path's bytes, or none), and latencies.
type loadFigures struct {
	requests, failures int
	latencies          []time.Duration
	problems           []string // the first ten failures
}

// startLoad starts clients that GET the paths of want through addr in
// turn, each on a connection of its own (a new one after an error),
// pausing between requests.
func startLoad(t *testing.T, addr string, want map[string][]byte, clients int, pause time.Duration) *pathLoad {
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	l := &pathLoad{done: make(chan struct{})}
	t.Cleanup(func() { l.stop() }) // on a test that ends early
	for n := range clients {
		l.wg.Go(func() {
			var c loadConn
			defer c.close()
			// Bounded: 100,000 requests each at most.
			for i := range 100_000 {
				select {
				case <-l.done:
					return
				case <-time.After(pause):
				}
				p := paths[(i+n)%len(paths)]
				began := time.Now()
				r, err := c.get(addr, p)
				took := time.Since(began)
				switch {
				case err != nil:
					l.record(took, fmt.Sprintf("GET %s: %v", p, err))
				case r.Status != 200 || !bytes.Equal(r.Body, want[p]):
					l.record(took, fmt.Sprintf("GET %s: %d %q", p, r.Status, clip(r.Body, 80)))
				default:
					l.record(took, "")
				}
			}
		})
	}
	return l
}

// loadConn is the connection of one client of a load, dialed when first
// needed and again after an error or a close.
type loadConn struct{ c *client }

// get sends GET path, dialing addr first if need be, and reads the answer.
func (lc *loadConn) get(addr, path string) (*response, error) {
	if lc.c == nil {
		conn, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			return nil, err
		}
		lc.c = &client{conn: conn, br: bufio.NewReader(conn)}
	}
	lc.c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(lc.c.conn, request("GET", path)); err != nil {
		lc.close()
		return nil, err
	}
	r, err := lc.c.readResponse("GET", ioTimeout)
	if err != nil || strings.EqualFold(r.get("Connection"), "close") {
		lc.close()
	}
	return r, err
}

// close closes the connection, if there is one.
func (lc *loadConn) close() {
	if lc.c != nil {
		lc.c.conn.Close()
		lc.c = nil
	}
}

// waitRequests waits, within ioTimeout, for n more requests of l.
func (l *pathLoad) waitRequests(t *testing.T, n int) {
	t.Helper()
	l.mu.Lock()
	want := l.res.requests + n
	l.mu.Unlock()
	if !eventually(ioTimeout, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.res.requests >= want
	}) {
		t.Fatalf("the load made fewer than %d requests in %v", n, ioTimeout)
	}
}

// record counts one request and, when problem is not "", its failure.
func (l *pathLoad) record(took time.Duration, problem string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.requests++
	l.res.latencies = append(l.res.latencies, took)
	if problem != "" {
		l.res.failures++
		if len(l.res.problems) < 10 {
			l.res.problems = append(l.res.problems, problem)
		}
	}
}

// stop ends the load and returns what it saw.
func (l *pathLoad) stop() loadFigures {
	l.once.Do(func() {
		close(l.done)
		l.wg.Wait()
		slices.Sort(l.res.latencies)
	})
	return l.res
}

// percentile is the p-th percentile (0 < p ≤ 100) of sorted latencies.
func (r loadFigures) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies))*p/100+0.999999) - 1
	return r.latencies[max(0, min(i, len(r.latencies)-1))]
}

// log writes the figures of r under what.
func (r loadFigures) log(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s: %d requests, %d failed; latency p50 %v, p99 %v, max %v", what, r.requests, r.failures,
		r.percentile(50).Round(time.Microsecond), r.percentile(99).Round(time.Microsecond), r.percentile(100).Round(time.Microsecond))
}

// haproxy is a running haproxy in front of the replicas.
type haproxy struct {
	addr   string // the frontend, 127.0.0.1:PORT
	stats  string // the stats page, 127.0.0.1:PORT
	cmd    *exec.Cmd
	log    *syncbuf.Buffer // its stderr: errors, retries and redispatches, checks
	exited chan struct{}
}

// haproxyBinary returns the path of haproxy, or skips t.
func haproxyBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy" // Debian's, when /usr/sbin is not on PATH
	}
	t.Skip("no haproxy: install it (apt-get install haproxy, as .ci/run does) or put it on PATH")
	return ""
}

// haproxyConfig is the configuration of haproxy in front of stoa replicas
// that loses no request when a replica restarts: health checks on each
// replica's /readyz, which answers 503 as soon as the replica is told to
// stop, often enough that it is taken out well within drain_delay
// (inter × fall < drain_delay); and a request that meets a replica going
// away (refused, closed before an answer) is sent again to another.
// Verbs: %[1]s frontend address, %[2]s the server lines, %[3]s the stats
// address.
const haproxyConfig = `global
	maxconn 1000
	log stderr format raw local0 info

defaults
	mode http
	log global
	option httplog
	# Log only what went wrong: errors, retries, redispatches.
	option dontlog-normal
	timeout connect 1s
	timeout client 30s
	# Above stoa's origin_timeout: a 503 of a replica whose store stalls is
	# passed on, not cut off with a 504.
	timeout server 30s
	timeout http-keep-alive 10s
	# A request that meets a replica going away (connection refused, or
	# closed before an answer) is sent again, each time to another replica.
	# Safe for a static server: every request can be replayed.
	retries 3
	option redispatch 1
	retry-on conn-failure empty-response response-timeout

frontend www
	bind %[1]s
	default_backend stoa

backend stoa
	balance roundrobin
	# /readyz on the admin port answers 503 from SIGTERM on; stoa serves on
	# for drain_delay. inter × fall (200 ms) is well under drain_delay.
	option httpchk GET /readyz
	http-check expect status 200
	default-server inter 100ms fall 2 rise 2
%[2]s
listen stats
	bind %[3]s
	stats enable
	stats uri /
`

// noRetries, in the backend, overrides the retries of haproxyConfig: a
// balancer that sends each request once, as many do, so that nothing but
// the drain keeps a request from failing.
const noRetries = "\tretries 0\n\tretry-on none\n\tno option redispatch\n"

// startHAProxy runs haproxy configured by haproxyConfig in front of rs,
// each replica checked on its admin port, with the backend lines backend
// (or none) before the servers, and waits until it shows them all up. It
// stops it, by its PID, when the test ends.
func startHAProxy(t *testing.T, bin string, rs []*replica, backend string) *haproxy {
	t.Helper()
	var servers strings.Builder
	servers.WriteString(backend)
	for _, r := range rs {
		_, port, _ := net.SplitHostPort(r.admin)
		fmt.Fprintf(&servers, "\tserver %s %s check port %s\n", r.name, r.addr, port)
	}
	h := &haproxy{
		addr:   "127.0.0.1:" + strconv.Itoa(freePort(t)),
		stats:  "127.0.0.1:" + strconv.Itoa(freePort(t)),
		log:    &syncbuf.Buffer{},
		exited: make(chan struct{}),
	}
	conf := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(conf, fmt.Appendf(nil, haproxyConfig, h.addr, servers.String(), h.stats), 0o644); err != nil {
		t.Fatal(err)
	}
	// -db: in the foreground, a child of the test.
	h.cmd = exec.Command(bin, "-db", "-f", conf)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		h.cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.exited:
		case <-time.After(exitTimeout):
			h.cmd.Process.Kill()
			<-h.exited
		}
	})
	if !eventually(startTimeout, func() bool {
		for _, r := range rs {
			if h.status(t, r.name) != "UP" {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("haproxy does not show the %d replicas up within %v; its log:\n%s", len(rs), startTimeout, h.log.String())
	}
	return h
}

// rows returns haproxy's stats (its CSV) as one map per line, by column.
func (h *haproxy) rows(t *testing.T) []map[string]string {
	t.Helper()
	resp, err := (&http.Client{Timeout: ioTimeout}).Get("http://" + h.stats + "/;csv")
	if err != nil {
		select {
		case <-h.exited:
			t.Fatalf("haproxy exited; its log:\n%s", h.log.String())
		default:
		}
		return nil
	}
	defer resp.Body.Close()
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil
	}
	head := recs[0]
	head[0] = strings.TrimPrefix(head[0], "# ")
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, v := range rec {
			if i < len(head) {
				row[head[i]] = v
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// status is haproxy's status of server name of backend stoa: UP, DOWN,
// "UP 1/2" (going down), ...; "" when the stats cannot be read.
func (h *haproxy) status(t *testing.T, name string) string {
	t.Helper()
	for _, row := range h.rows(t) {
		if row["pxname"] == "stoa" && row["svname"] == name {
			return row["status"]
		}
	}
	return ""
}

// retries returns how many requests haproxy retried and redispatched to
// another replica, from the backend's counters.
func (h *haproxy) retries(t *testing.T) (retried, redispatched int) {
	t.Helper()
	for _, row := range h.rows(t) {
		if row["pxname"] == "stoa" && row["svname"] == "BACKEND" {
			return atoi(row["wretr"]), atoi(row["wredis"])
		}
	}
	return -1, -1
}
