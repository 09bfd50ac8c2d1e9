package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The restart tests stand in for `systemctl restart stoa` with a new
// binary while clients load the server, with and without socket
// activation. testdata/supervise.sh plays the service manager: started by
// systemd-socket-activate it holds the listening socket across the
// restart, as a .socket unit does, so connections made while no stoa runs
// wait in the kernel's accept queue for the new one.

const (
	restartTimeout = 30 * time.Second // for each step of a restart test
	// loadWorkers of each kind: on kept-alive connections, and on a new
	// connection for every request.
	loadWorkers = 4
	// loadMax bounds the requests of one worker.
	loadMax = 200_000
)

// proc is a process whose stdout and stderr lines a test reads.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	all    []string
	exited chan struct{}
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(name, args...), lines: make(chan string, 1024), exited: make(chan struct{})}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		r.Close()
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(exitTimeout):
			p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("%s did not exit within %v of SIGTERM; output:\n%s", name, exitTimeout, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.all, "\n")
}

// waitFor waits up to d for a line containing substr and returns it; the
// test fails if none comes.
func (p *proc) waitFor(substr string, d time.Duration) string {
	p.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, substr) {
				return l
			}
		case <-timer.C:
			p.t.Fatalf("no line saying %q within %v; output:\n%s", substr, d, p.output())
		}
	}
}

// startedPID is the pid in supervise.sh's line "supervise: started PID BIN".
func startedPID(t *testing.T, line string) int {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 3 {
		t.Fatalf("line %q: want \"supervise: started PID BIN\"", line)
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	return pid
}

var newBuild struct {
	once sync.Once
	path string
	err  error
}

// newBinary builds stoa a second time, with another version stamped in,
// for the restart to switch to.
func newBinary(t *testing.T) string {
	t.Helper()
	newBuild.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			newBuild.err = err
			return
		}
		dir, err := os.MkdirTemp("", "stoa-e2e-new-")
		if err != nil {
			newBuild.err = err
			return
		}
		newBuild.path = filepath.Join(dir, "stoa")
		args := []string{"build", "-o", newBuild.path, "-ldflags", "-X github.com/stoahttp/stoa/internal/buildinfo.version=e2e-restarted"}
		if raceBuild {
			args = append(args, "-race")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool(), append(args, "./cmd/stoa")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			newBuild.err = fmt.Errorf("go build ./cmd/stoa: %v\n%s", err, out)
		}
	})
	if newBuild.err != nil {
		t.Fatal(newBuild.err)
	}
	out, err := exec.Command(newBuild.path, "version").Output()
	if err != nil || !strings.Contains(string(out), "e2e-restarted") {
		t.Fatalf("%s version = %q, %v; want the stamped e2e-restarted", newBuild.path, out, err)
	}
	return newBuild.path
}

// generations are n roots whose index.html says which stoa answered:
// roots[k] says "generation k+1", and body maps each text to its number.
func generations(t *testing.T, n int) (roots []string, body map[string]int) {
	base := t.TempDir()
	body = map[string]int{}
	for i := 1; i <= n; i++ {
		root := filepath.Join(base, fmt.Sprintf("gen%d", i))
		text := fmt.Sprintf("generation %d\n", i)
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		body[text] = i
		roots = append(roots, root)
	}
	return roots, body
}

func writeNext(t *testing.T, path string, words ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(words, " ")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadStats counts what the load's clients saw. A request failed when the
// client returned an error or an answer other than 200 with one of the
// generations' bodies. The client is net/http's: like a browser, it sends
// a GET again on another connection when a kept-alive one was closed by
// the server before answering (which a graceful stop does to idle
// connections, RFC 9112 §9.3.1); those requests count as retried, and
// failed only if the retry failed too. A request on a new connection is
// never retried.
type loadStats struct {
	ok, failed, retried atomic.Int64
	gen                 []atomic.Int64 // answers of each generation
	backwards           atomic.Int64   // an answer of a generation older than one seen before
	mu                  sync.Mutex
	errs                map[string]int // failures by message, for the log
}

func (s *loadStats) fail(msg string) {
	s.failed.Add(1)
	s.mu.Lock()
	if len(s.errs) < 20 {
		s.errs[msg]++
	}
	s.mu.Unlock()
}

func (s *loadStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	gens := make([]int64, len(s.gen)-1)
	for i := range gens {
		gens[i] = s.gen[i+1].Load()
	}
	return fmt.Sprintf("%d requests answered (by each stoa in turn: %v), %d of them retried by the client after a kept-alive connection closed; %d failed %v",
		s.ok.Load(), gens, s.retried.Load(), s.failed.Load(), s.errs)
}

// startRestartLoad runs loadWorkers clients on kept-alive connections and as many
// opening a connection per request, each asking for url until stop is
// closed, loadMax requests or restartTimeout*3.
func startRestartLoad(url string, body map[string]int, stop <-chan struct{}) (*loadStats, *sync.WaitGroup) {
	s := &loadStats{errs: map[string]int{}, gen: make([]atomic.Int64, len(body)+1)}
	var wg sync.WaitGroup
	scheme, _, _ := strings.Cut(url, ":")
	keep, fresh := restartClient(scheme, true), restartClient(scheme, false)
	deadline := time.Now().Add(3 * restartTimeout)
	for i := range 2 * loadWorkers {
		c, kind := keep, "kept-alive connection"
		if i%2 == 1 {
			c, kind = fresh, "new connection"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			for n := 0; n < loadMax && time.Now().Before(deadline); n++ {
				select {
				case <-stop:
					return
				default:
				}
				conns := 0
				trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { conns++ }}
				req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
				if err != nil {
					panic(err)
				}
				resp, err := c.Do(req)
				if conns > 1 {
					s.retried.Add(1)
				}
				if err != nil {
					s.fail(kind + ": " + err.Error())
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				g, known := body[string(b)]
				if err != nil || resp.StatusCode != 200 || !known {
					s.fail(fmt.Sprintf("%s: status %d, body %.40q, %v", kind, resp.StatusCode, b, err))
					continue
				}
				if g < last {
					s.backwards.Add(1)
				}
				last = g
				s.ok.Add(1)
				s.gen[g].Add(1)
			}
		}()
	}
	return s, &wg
}

// restartClient is a client of the load: on kept-alive connections or on a
// new one for every request, over HTTP/1.1; over TLS it takes the
// certificate each stoa makes up.
func restartClient(scheme string, keepAlive bool) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: loadWorkers, DisableKeepAlives: !keepAlive}
	if scheme == "https" {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Transport: tr, Timeout: ioTimeout}
}

// waitCount polls until f reports at least n, or fails the test.
func waitCount(t *testing.T, what string, f func() int64, n int64, s *loadStats) {
	t.Helper()
	deadline := time.Now().Add(restartTimeout)
	for f() < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d %s within %v: %v", n, what, restartTimeout, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// restartUnderLoad loads url and restarts stoa through supervisor sup
// once for each of cmds, the command of the next generation (the first
// serves generation 2), each time waiting until the new stoa has answered
// as many requests as before. It returns what the clients saw.
func restartUnderLoad(t *testing.T, sup *proc, url, next string, body map[string]int, cmds ...[]string) *loadStats {
	t.Helper()
	stop := make(chan struct{})
	s, wg := startRestartLoad(url, body, stop)
	defer func() {
		close(stop)
		wg.Wait()
	}()
	const answers = 500 // of each generation
	waitCount(t, "answers before the first restart", s.ok.Load, answers, s)
	for i, cmd := range cmds {
		gen := i + 2
		writeNext(t, next, cmd...)
		if err := sup.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		pid := startedPID(t, sup.waitFor("supervise: started", restartTimeout))
		waitCount(t, fmt.Sprintf("answers of generation %d", gen), s.gen[gen].Load, answers, s)
		// The answers come from the binary started, not only from a
		// new process.
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != cmd[0] {
			t.Errorf("generation %d (pid %d) runs %q, %v; want %s", gen, pid, exe, err, cmd[0])
		}
	}
	return s
}

// TestRestartSocketActivated: stoa started by socket activation is
// restarted three times, with a new binary, back to the old one (a
// rollback) and to the new one again, while 8 clients load it, half on
// kept-alive connections and half on a new connection per request, and not
// one request fails: the listening socket stays open across the restart (held
// by the supervisor, as by a .socket unit), the old stoa finishes what it
// accepted (SIGTERM: a graceful stop), and connections made meanwhile wait
// in the accept queue for the new stoa.
func TestRestartSocketActivated(t *testing.T) {
	testRestartSocketActivated(t, "http")
}

// TestRestartSocketActivatedHTTPS is TestRestartSocketActivated over TLS:
// the socket is the https address, and each stoa makes up a certificate.
func TestRestartSocketActivatedHTTPS(t *testing.T) {
	testRestartSocketActivated(t, "https")
}

func testRestartSocketActivated(t *testing.T, scheme string) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian: apt-get install systemd)")
	}
	newBin := newBinary(t)
	roots, body := generations(t, 4)
	next := filepath.Join(t.TempDir(), "next")
	supervise, err := filepath.Abs("testdata/supervise.sh")
	if err != nil {
		t.Fatal(err)
	}
	// Over TLS the socket is bound to the https address, so it serves
	// HTTPS; stoa's own plain listener gets a port of its own.
	cmd := func(bin, root, port string) []string {
		if scheme == "https" {
			return []string{bin, "serve", root, "--https", "127.0.0.1:" + port, "--tls-self-signed", "--listen", "127.0.0.1:0"}
		}
		return []string{bin, "serve", root}
	}
	var sup *proc
	var port string
	// The port freePort found may be taken again before
	// systemd-socket-activate binds it: try another.
	for try := 0; try < 3 && sup == nil; try++ {
		port = strconv.Itoa(freePort(t))
		writeNext(t, next, cmd(stoaBin, roots[0], port)...)
		p := startProc(t, activate, "-l", "127.0.0.1:"+port, "--", "/bin/bash", supervise, next)
		select {
		case l := <-p.lines:
			if strings.HasPrefix(l, "Listening on 127.0.0.1:"+port) {
				sup = p
			}
		case <-time.After(restartTimeout):
		}
	}
	if sup == nil {
		t.Fatal("systemd-socket-activate did not listen on a free port in 3 tries")
	}
	url := scheme + "://127.0.0.1:" + port + "/index.html"
	// As with a socket unit, the first connection starts the service; it
	// waits in the accept queue meanwhile.
	resp, err := restartClient(scheme, false).Get(url)
	if err != nil {
		t.Fatalf("first request: %v; output:\n%s", err, sup.output())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if body[string(b)] != 1 {
		t.Fatalf("first request: %d %q, want generation 1", resp.StatusCode, b)
	}
	line := sup.waitFor(" at "+scheme+"://127.0.0.1:"+port, restartTimeout)
	if !strings.Contains(line, "(socket from systemd, fd 3)") {
		t.Errorf("stoa says %q, want it to serve %s on the socket from systemd, 127.0.0.1:%s", line, scheme, port)
	}

	s := restartUnderLoad(t, sup, url, next, body,
		cmd(newBin, roots[1], port), cmd(stoaBin, roots[2], port), cmd(newBin, roots[3], port))
	t.Logf("3 restarts with socket activation over %s: %v", scheme, s)
	if s.failed.Load() != 0 {
		t.Errorf("%d requests failed during the restarts, want 0: %v\noutput:\n%s", s.failed.Load(), s, sup.output())
	}
	if s.backwards.Load() != 0 {
		t.Errorf("%d answers came from a stoa stopped before the one that gave an earlier answer", s.backwards.Load())
	}
	if out := sup.output(); strings.Contains(out, "exited by itself") || strings.Contains(out, "panic:") {
		t.Errorf("output:\n%s", out)
	}
}

// TestRestartWithoutSocketActivation is the comparison that shows the test
// above can fail: the same restart, stoa binding its own address, refuses
// the connections made between the old stoa's closing its listener and
// the new one's opening it.
func TestRestartWithoutSocketActivation(t *testing.T) {
	newBin := newBinary(t)
	roots, body := generations(t, 2)
	next := filepath.Join(t.TempDir(), "next")
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	writeNext(t, next, stoaBin, "serve", roots[0], "--listen", addr)
	supervise, err := filepath.Abs("testdata/supervise.sh")
	if err != nil {
		t.Fatal(err)
	}
	sup := startProc(t, "/bin/bash", supervise, next)
	sup.waitFor("stoa: serving", restartTimeout)
	s := restartUnderLoad(t, sup, "http://"+addr+"/index.html", next, body, []string{newBin, "serve", roots[1], "--listen", addr})
	t.Logf("restart without socket activation: %v", s)
	if s.failed.Load() == 0 {
		t.Errorf("no request failed during a restart without socket activation; the load did not reach the gap: %v", s)
	}
}
