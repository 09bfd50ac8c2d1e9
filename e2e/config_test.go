package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeConfig writes text to dir/stoa.toml atomically (a reload must never
// read half a file) and returns its path.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "stoa.toml")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// otherRoot makes a second root holding index.html with body.
func otherRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestConfigSitesByHost(t *testing.T) {
	s := newSite(t)
	a := otherRoot(t, map[string]string{"index.html": "site A\n"})
	b := otherRoot(t, map[string]string{"index.html": "site B app\n", "assets/app.js": "js\n"})
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
[[site]]
default = true
root = "/nonexistent-replaced-by-DIR"

[[site]]
hosts = ["a.test", "www.a.test"]
root = %q
  [[site.rule]]
  match = "/old/*"
  redirect = "/new/{1}"

[[site]]
hosts = ["*.b.test"]
root = %q
  [[site.rule]]
  match = "/assets/*"
  headers = { "Cache-Control" = "public, max-age=31536000, immutable" }
  [[site.rule]]
  match = "/*"
  try_files = ["{path}", "/index.html"]
`, a, b))
	srv := startServer(t, s, "--config", cfg)
	for _, tt := range []struct {
		host, target string
		status       int
		body         string
		field, value string
	}{
		{"a.test", "/", 200, "site A\n", "", ""},
		{"WWW.A.TEST:7890", "/", 200, "site A\n", "", ""},
		{"a.test", "/old/x.html?q=1", 301, "", "Location", "/new/x.html?q=1"},
		{"app.b.test", "/", 200, "site B app\n", "", ""},
		{"deep.app.b.test", "/settings/profile", 200, "site B app\n", "", ""},
		{"app.b.test", "/assets/app.js", 200, "js\n", "Cache-Control", "public, max-age=31536000, immutable"},
		{"app.b.test", "/assets/missing.js", 404, "", "", ""},
		{"b.test", "/", 200, indexHTML, "", ""}, // the wildcard is for subdomains only
		{"unknown.example", "/", 200, indexHTML, "", ""},
		{"unknown.example", "/", 200, indexHTML, "Referrer-Policy", "strict-origin-when-cross-origin"},
	} {
		// As a browser asks: b.test's fallback to its shell answers
		// navigations only.
		raw := strings.Replace(requestHost("GET", tt.host, tt.target), "\r\n\r\n", "\r\nAccept: text/html,*/*;q=0.8\r\n\r\n", 1)
		r := srv.roundTrip(raw)
		what := tt.host + tt.target
		if !checkStatus(t, what, r, tt.status) {
			continue
		}
		if tt.body != "" {
			checkBody(t, what, r, []byte(tt.body))
		}
		if tt.field != "" {
			checkField(t, what, r, tt.field, tt.value)
		}
	}
}

// TestReloadUnderLoad reloads the configuration ten times while clients
// keep requesting: no request may fail, and every answer must be one of
// the two configurations', whole.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("bounded load test; skipped with -short")
	}
	s := newSite(t)
	s.write("page.html", "the page\n")
	big := strings.Repeat("0123456789abcdef", 400<<10/16) // sent from an open file, not memory
	s.write("big.bin", big)
	dir := t.TempDir()
	config := func(gen int) string {
		return fmt.Sprintf(`
shutdown_timeout = "1s"
write_timeout = "1s"
[[site]]
root = %q
headers = { "X-Config" = "%d" }
  [[site.rule]]
  match = "/moved"
  redirect = "/page.html"
  status = %d
`, s.root, gen, 301+gen%2*7) // 301, then 308, alternately
	}
	cfg := writeConfig(t, dir, config(0))
	srv := startServer(t, s, "--config", cfg)
	checkStatus(t, "big.bin", srv.get("/big.bin"), 200)
	fdsBefore := openFDs(t, srv.cmd.Process.Pid)

	var stop atomic.Bool
	var requests, failures atomic.Int64
	var mu sync.Mutex
	var firstFailure string
	fail := func(format string, args ...any) {
		if failures.Add(1) == 1 {
			mu.Lock()
			firstFailure = fmt.Sprintf(format, args...)
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := srv.dial()
			defer c.conn.Close()
			for i := 0; !stop.Load() && time.Now().Before(deadline) && i < 200_000; i++ {
				target := "/page.html"
				switch i % 5 {
				case 2:
					target = "/moved"
				case 4:
					target = "/big.bin"
				}
				if err := c.trySend(request("GET", target)); err != nil {
					fail("send %s: %v", target, err)
					return
				}
				r, err := c.readResponse("GET", ioTimeout)
				requests.Add(1)
				if err != nil {
					fail("read %s: %v", target, err)
					return
				}
				gen := r.get("X-Config")
				switch {
				case gen == "":
					fail("%s: no X-Config in\n%s", target, r)
				case target == "/page.html" && (r.Status != 200 || string(r.Body) != "the page\n"):
					fail("%s: %s", target, r)
				case target == "/big.bin" && (r.Status != 200 || string(r.Body) != big):
					fail("%s: status %d, %d bytes", target, r.Status, len(r.Body))
				case target == "/moved" && (r.get("Location") != "/page.html" || (r.Status != 301 && r.Status != 308)):
					fail("%s: %s", target, r)
				case target == "/moved" && fmt.Sprint(301+atoi(gen)%2*7) != fmt.Sprint(r.Status):
					fail("%s: status %d with X-Config %s: the answer mixes two configurations", target, r.Status, gen)
				}
			}
		}()
	}
	for gen := 1; gen <= 10; gen++ {
		writeConfig(t, dir, config(gen))
		srv.signal(syscall.SIGHUP)
		if !srv.waitLine("stoa: reloaded", 10*time.Second) {
			t.Fatalf("reload %d: no 'stoa: reloaded' line; stderr:\n%s", gen, srv.stderrText())
		}
		// Once reloaded, a new request sees the new configuration.
		if r := srv.get("/page.html"); r.get("X-Config") != fmt.Sprint(gen) {
			t.Errorf("after reload %d: X-Config %q, want %d", gen, r.get("X-Config"), gen)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d requests during 10 reloads, %d failed", requests.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Errorf("%d of %d requests failed during reloads; first: %s", failures.Load(), requests.Load(), firstFailure)
	}
	if requests.Load() < 100 {
		t.Errorf("only %d requests ran during the reloads; the load did not run", requests.Load())
	}
	// The sites replaced by the reloads are closed once their last
	// requests are done: none of their open files may stay behind.
	checkStatus(t, "big.bin", srv.get("/big.bin"), 200)
	if !eventually(8*time.Second, func() bool { return openFDs(t, srv.cmd.Process.Pid) <= fdsBefore+2 }) {
		t.Errorf("open files: %d before 10 reloads, %d after; replaced sites leak their files:\n%s",
			fdsBefore, openFDs(t, srv.cmd.Process.Pid), fdList(srv.cmd.Process.Pid))
	}
}

// fdList shows what the open file descriptors of pid point to.
func fdList(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s -> %s\n", e.Name(), target)
	}
	return b.String()
}

// openFDs counts the files and directories process pid holds open
// (Linux), leaving out sockets: the test's own idle connections are not
// the server's to close.
func openFDs(t *testing.T, pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(target, "/") {
			n++
		}
	}
	return n
}

func TestReloadInvalidKeepsServing(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	good := fmt.Sprintf("[[site]]\nroot = %q\nheaders = { \"X-Config\" = \"good\" }\n", s.root)
	cfg := writeConfig(t, dir, good)
	srv := startServer(t, s, "--config", cfg)
	writeConfig(t, dir, good+"\n[[site.rule]]\nmatch = \"/x\"\nstatus = 305\nredirect = \"/y\"\n")
	srv.signal(syscall.SIGHUP)
	if !eventually(5*time.Second, func() bool { return strings.Contains(srv.stderrText(), "reload refused") }) {
		t.Fatalf("no 'reload refused' on stderr after an invalid config; stderr:\n%s", srv.stderrText())
	}
	if e := srv.stderrText(); !strings.Contains(e, "stoa.toml:7:") || !strings.Contains(e, "status") {
		t.Errorf("the refusal does not name the line and key; stderr:\n%s", e)
	}
	if r := srv.get("/"); r.Status != 200 || r.get("X-Config") != "good" {
		t.Errorf("after a refused reload: %s\nwant the old configuration's answer", r)
	}
}

func TestReloadListeners(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	port := freePort(t)
	cfg := writeConfig(t, dir, fmt.Sprintf("listen = [\"127.0.0.1:0\"]\n[[site]]\nroot = %q\n", s.root))
	srv := startWith(t, s, "serve", "--config", cfg)
	first := srv.addr
	keep := srv.dial() // a connection on the first listener, kept open across reloads
	checkStatus(t, "before reload", keep.do(request("GET", "/")), 200)

	// Add a listener; the flag-less file now names two addresses.
	writeConfig(t, dir, fmt.Sprintf("listen = [\"127.0.0.1:0\", \"127.0.0.1:%d\"]\n[[site]]\nroot = %q\n", port, s.root))
	srv.signal(syscall.SIGHUP)
	if !srv.waitLine("stoa: reloaded", 10*time.Second) {
		t.Fatalf("no reload; stderr:\n%s", srv.stderrText())
	}
	c := dialAddr(t, fmt.Sprintf("127.0.0.1:%d", port), s.marker)
	checkStatus(t, "new listener", c.do(request("GET", "/")), 200)
	c.conn.Close()

	// Drop the first: new connections to it are refused, the open one
	// goes on.
	writeConfig(t, dir, fmt.Sprintf("listen = [\"127.0.0.1:%d\"]\n[[site]]\nroot = %q\n", port, s.root))
	srv.signal(syscall.SIGHUP)
	if !srv.waitLine("stoa: reloaded", 10*time.Second) {
		t.Fatalf("no reload; stderr:\n%s", srv.stderrText())
	}
	if conn, err := net.DialTimeout("tcp", first, time.Second); err == nil {
		conn.Close()
		t.Errorf("the dropped listener %s still accepts connections", first)
	}
	checkStatus(t, "connection opened before the listener was dropped", keep.do(request("GET", "/")), 200)
}

// requestHost is request with host as the Host field.
func requestHost(method, host, target string) string {
	return strings.Replace(request(method, target), "Host: e2e.test\r\n", "Host: "+host+"\r\n", 1)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestAdminEndpoints(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf("admin = \"127.0.0.1:0\"\n[[site]]\nhosts = [\"m.test\"]\nroot = %q\n", s.root))
	srv := startServer(t, s, "--config", cfg)
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatalf("no admin line on stdout")
	}
	base := strings.TrimSuffix(line[strings.Index(line, "http://"):], "/")
	base = strings.Fields(base)[0]
	base = strings.TrimSuffix(base, "/")
	for i := 0; i < 3; i++ {
		checkStatus(t, "GET /", srv.roundTrip(requestHost("GET", "m.test", "/")), 200)
	}
	r404 := srv.roundTrip(requestHost("GET", "m.test", "/missing"))
	checkStatus(t, "GET /missing", r404, 404)
	checkStatus(t, "HEAD /", srv.roundTrip(requestHost("HEAD", "m.test", "/")), 200)

	for _, tt := range []struct {
		method, path string
		status       int
		contains     []string
	}{
		{"GET", "/healthz", 200, []string{"ok"}},
		{"GET", "/readyz", 200, []string{"ready"}},
		{"GET", "/metrics", 200, []string{
			`stoa_http_requests_total{class="2xx",method="GET",site="m.test"} 3`,
			`stoa_http_requests_total{class="4xx",method="GET",site="m.test"} 1`,
			`stoa_http_requests_total{class="2xx",method="HEAD",site="m.test"} 1`,
			fmt.Sprintf(`stoa_http_response_bytes_total{site="m.test"} %d`, 3*len(indexHTML)+len(r404.Body)),
			`stoa_http_request_duration_seconds_count{site="m.test"} 5`,
			`stoa_cache_hits_total{site="m.test"}`,
			`stoa_open_connections`,
		}},
		{"POST", "/reload", 200, []string{"reloaded"}},
		{"GET", "/reload", 405, nil},
	} {
		req, _ := http.NewRequest(tt.method, base+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", tt.method, tt.path, err)
			continue
		}
		var body strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			body.WriteString(sc.Text() + "\n")
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		for _, c := range tt.contains {
			if !strings.Contains(body.String(), c) {
				t.Errorf("%s %s: no %q in the answer:\n%s", tt.method, tt.path, c, clip([]byte(body.String()), 3000))
			}
		}
	}
}

func TestProxyProtocol(t *testing.T) {
	s := newSite(t)
	s.write("inside/a.txt", "for the 10/8 network\n")
	dir := t.TempDir()
	logFile := filepath.Join(dir, "access.log")
	cfg := writeConfig(t, dir, fmt.Sprintf(`proxy_protocol = true
trusted_proxies = ["127.0.0.1"]
access_log = %q
[[site]]
root = %q
  [[site.rule]]
  match = "/inside/*"
  allow = ["10.0.0.0/8"]
`, logFile, s.root))
	srv := startServer(t, s, "--config", cfg)
	c := srv.dial()
	c.send("PROXY TCP4 10.1.2.3 192.0.2.1 40000 80\r\n")
	checkStatus(t, "via PROXY from 10.1.2.3", c.do(request("GET", "/inside/a.txt")), 200)
	c = srv.dial()
	c.send("PROXY TCP4 203.0.113.9 192.0.2.1 40000 80\r\n")
	checkStatus(t, "via PROXY from 203.0.113.9", c.do(request("GET", "/inside/a.txt")), 403)
	// Without the header, the connection is closed unanswered.
	c = srv.dial()
	c.send(request("GET", "/"))
	c.expectClosed(closeTimeout, "a request without the PROXY header")
	if !eventually(5*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "10.1.2.3 ")
	}) {
		b, _ := os.ReadFile(logFile)
		t.Errorf("access log does not show the client address from the PROXY header:\n%s", b)
	}
}

// TestConfigInWorkingDirectory: 'stoa serve' with no arguments serves the
// stoa.toml of its working directory, and a flag overrides the file.
func TestConfigInWorkingDirectory(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	writeConfig(t, dir, fmt.Sprintf("listen = [\"127.0.0.1:0\"]\n[[site]]\nroot = %q\ncache_control = \"max-age=5\"\n", s.root))
	srv := startIn(t, s, dir, "serve")
	r := srv.get("/")
	checkStatus(t, "GET / with ./stoa.toml", r, 200)
	checkField(t, "GET / with ./stoa.toml", r, "Cache-Control", "max-age=5")
	if !strings.Contains(srv.stderrText(), "using ./stoa.toml") {
		t.Errorf("stderr does not say ./stoa.toml is used:\n%s", srv.stderrText())
	}
	srv = startIn(t, s, dir, "serve", "--cache-control", "no-store")
	checkField(t, "GET / with --cache-control over ./stoa.toml", srv.get("/"), "Cache-Control", "no-store")
}

// TestReloadLeavesNoDescriptors pins issue 10: each reload that replaced a
// site left its root directory and open large files to the garbage
// collector, or to a timer of shutdown_timeout + write_timeout (100
// SIGHUPs left 100 roots open). With the collector off (GOGC=off), the
// descriptors of the replaced sites are closed right after the reloads.
func TestReloadLeavesNoDescriptors(t *testing.T) {
	t.Setenv("GOGC", "off")
	s := newSite(t)
	s.write("big.bin", strings.Repeat("x", 1<<20)) // sent from an open file
	dir := t.TempDir()
	config := func(gen int) string {
		return fmt.Sprintf("shutdown_timeout = \"60s\"\n[[site]]\nroot = %q\nheaders = { \"X-Config\" = \"%d\" }\n", s.root, gen)
	}
	cfg := writeConfig(t, dir, config(0))
	srv := startServer(t, s, "--config", cfg)
	// Once big.bin has an ETag, its background hashing, which holds the
	// file open for a moment, is done.
	hashed := func() bool { return srv.get("/big.bin").get("ETag") != "" }
	if !eventually(5*time.Second, hashed) {
		t.Fatal("big.bin has no ETag after 5s")
	}
	before := openFDs(t, srv.cmd.Process.Pid)
	for gen := 1; gen <= 100; gen++ {
		writeConfig(t, dir, config(gen))
		srv.signal(syscall.SIGHUP)
		if !srv.waitLine("stoa: reloaded", 10*time.Second) {
			t.Fatalf("reload %d: no 'stoa: reloaded' line; stderr:\n%s", gen, srv.stderrText())
		}
		if r := srv.get("/big.bin"); r.Status != 200 || r.get("X-Config") != fmt.Sprint(gen) {
			t.Fatalf("after reload %d: status %d, X-Config %q", gen, r.Status, r.get("X-Config"))
		}
	}
	eventually(5*time.Second, hashed) // the last site hashes it too
	after := openFDs(t, srv.cmd.Process.Pid)
	t.Logf("open files of stoa: %d before 100 reloads, %d right after", before, after)
	if after > before {
		t.Errorf("open files: %d before 100 reloads, %d right after (GOGC=off):\n%s", before, after, fdList(srv.cmd.Process.Pid))
	}
}
