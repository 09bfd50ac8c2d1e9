package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logLine is one line of the JSON access log.
type logLine struct {
	URI    string `json:"uri"`
	Method string `json:"method"`
	Status int    `json:"status"`
	Bytes  *int64 `json:"bytes"`
	raw    map[string]any
}

// readJSONLog parses every line of a JSON access log.
func readJSONLog(t *testing.T, path string) []logLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("access log: %v", err)
	}
	var lines []logLine
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "" {
			if len(data) > 0 {
				t.Errorf("access log %s: empty line %d", filepath.Base(path), i+1)
			}
			continue
		}
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Errorf("access log %s line %d: %v: %q", filepath.Base(path), i+1, err, l)
			continue
		}
		json.Unmarshal([]byte(l), &ll.raw)
		lines = append(lines, ll)
	}
	return lines
}

// duration returns the value of the line's duration key ("duration_ms" or
// similar) and whether it has one.
func (l logLine) duration() (float64, bool) {
	for k, v := range l.raw {
		if strings.HasPrefix(k, "duration") {
			f, ok := v.(float64)
			return f, ok
		}
	}
	return 0, false
}

// TestAccessLog checks --access-log FILE --log-format json: one JSON line
// per request, with status, bytes and duration; and SIGUSR1 reopening the
// file, so that rotation by renaming works.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	big := patterned(1 << 20) // sent from the file, not from memory
	s.write("big.bin", string(big))
	logPath := filepath.Join(s.base, "access.log")
	srv := startServer(t, s, "--access-log", logPath, "--log-format", "json")

	type sent struct {
		raw    string
		status int
	}
	reqs := []sent{
		{request("GET", "/index.html"), 200},
		{request("GET", "/missing"), 404},
		{request("HEAD", "/index.html"), 200},
		{request("GET", "/index.html", "Range: bytes=0-4"), 206},
		{request("GET", "/big.bin"), 200},
		{request("GET", "/big.bin", "Range: bytes=10-19"), 206},
		{request("DELETE", "/index.html"), 405},
	}
	c := srv.dial()
	got := map[string]int{} // uri+method -> body bytes received
	for _, rq := range reqs {
		r := c.do(rq.raw)
		checkStatus(t, "request "+strings.SplitN(rq.raw, "\r\n", 2)[0], r, rq.status)
		got[methodOf(rq.raw)+" "+strings.Fields(rq.raw)[1]+" "+strconv.Itoa(r.Status)] = len(r.Body)
	}
	c.conn.Close()
	// A head the parser refuses is logged too.
	bad := srv.dial()
	checkStatus(t, "GET with HTTP/2.0", bad.do("GET /index.html HTTP/2.0\r\nHost: x\r\n\r\n"), 505)
	bad.conn.Close()

	// Rotate: rename, SIGUSR1, and the next request lands in a new file.
	rotated := logPath + ".1"
	if err := os.Rename(logPath, rotated); err != nil {
		t.Fatal(err)
	}
	srv.signal(syscall.SIGUSR1)
	if !eventually(3*time.Second, func() bool { _, err := os.Stat(logPath); return err == nil }) {
		t.Errorf("SIGUSR1: %s not reopened within 3s", logPath)
	}
	if r := srv.get("/after-reopen"); r.Status != 404 {
		t.Errorf("GET /after-reopen: status %d, want 404", r.Status)
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0; stderr:\n%s", code, srv.stderrText())
	}

	old := readJSONLog(t, rotated)
	if len(old) != len(reqs)+1 {
		t.Errorf("rotated log has %d lines, want %d (one per request)", len(old), len(reqs)+1)
	}
	if len(old) == len(reqs)+1 {
		if l := old[len(reqs)]; l.Status != 505 || l.Bytes == nil || *l.Bytes <= 0 {
			t.Errorf("log line for the refused HTTP/2.0 head = %v, want status 505 and the error page's bytes", l.raw)
		}
	}
	for i, l := range old {
		if i >= len(reqs) {
			break
		}
		what := "log line " + strconv.Itoa(i+1) + " (" + strings.SplitN(reqs[i].raw, "\r\n", 2)[0] + ")"
		if l.Status != reqs[i].status {
			t.Errorf("%s: status = %d, want %d", what, l.Status, reqs[i].status)
		}
		if l.URI != strings.Fields(reqs[i].raw)[1] || l.Method != methodOf(reqs[i].raw) {
			t.Errorf("%s: method %q uri %q, want %q %q", what, l.Method, l.URI, methodOf(reqs[i].raw), strings.Fields(reqs[i].raw)[1])
		}
		want := got[l.Method+" "+l.URI+" "+strconv.Itoa(l.Status)]
		if l.Bytes == nil {
			t.Errorf("%s: no bytes key in %v", what, l.raw)
		} else if *l.Bytes != int64(want) {
			t.Errorf("%s: bytes = %d, want %d (the body bytes sent)", what, *l.Bytes, want)
		}
		if d, ok := l.duration(); !ok || d < 0 {
			t.Errorf("%s: no non-negative duration in %v", what, l.raw)
		}
	}
	cur := readJSONLog(t, logPath)
	if len(cur) != 1 || cur[0].URI != "/after-reopen" || cur[0].Status != 404 {
		t.Errorf("reopened log = %+v, want exactly the GET /after-reopen 404 line", cur)
	}
	for _, l := range old {
		if l.URI == "/after-reopen" {
			t.Errorf("GET /after-reopen was logged to the rotated file")
		}
	}
}

// TestTimeouts checks --read-header-timeout against a client that sends
// half a head and stalls or trickles (slow loris), while others are served,
// and --idle-timeout against idle connections.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	big := patterned(8 << 20)
	s.write("big.bin", string(big))
	srv := startServer(t, s, "--read-header-timeout", "1s", "--idle-timeout", "1s")
	slow := startServer(t, s, "--read-header-timeout", "1s", "--idle-timeout", "30s")
	writer := startServer(t, s, "--write-timeout", "1s")

	// expectCutOff waits for a 408 or a close and checks when it came.
	expectCutOff := func(t *testing.T, c *client, start time.Time, what string) {
		t.Helper()
		r, err := c.readResponse("GET", 4*time.Second)
		took := time.Since(start)
		switch {
		case err == nil && r.Status != 408:
			t.Errorf("%s: got status %d, want 408 or a close", what, r.Status)
		case err != nil && isTimeout(err):
			t.Errorf("%s: neither 408 nor close after %v", what, took.Round(time.Millisecond))
			return
		}
		if took > 2500*time.Millisecond {
			t.Errorf("%s: cut off after %v, want within about 2s", what, took.Round(time.Millisecond))
		}
		if took < 500*time.Millisecond {
			t.Errorf("%s: cut off after only %v, before the 1s timeout", what, took.Round(time.Millisecond))
		}
		if err == nil {
			c.expectClosed(closeTimeout, what+": after the 408")
		}
	}

	t.Run("half a head", func(t *testing.T) {
		t.Parallel()
		c := slow.dial()
		start := time.Now()
		c.send("GET /index.html HTTP/1.1\r\nHost: x\r\n")
		// Meanwhile another client is served at once.
		time.Sleep(300 * time.Millisecond)
		other := slow.dial()
		t0 := time.Now()
		r := other.do(request("GET", "/index.html"))
		if checkStatus(t, "GET while a slow client stalls", r, 200) && time.Since(t0) > 500*time.Millisecond {
			t.Errorf("GET while a slow client stalls took %v", time.Since(t0))
		}
		expectCutOff(t, c, start, "stalled head")
	})

	t.Run("trickling head", func(t *testing.T) {
		t.Parallel()
		c := slow.dial()
		start := time.Now()
		c.send("GET /index.html HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if c.trySend("a") != nil {
						return
					}
				}
			}
		}()
		expectCutOff(t, c, start, "head trickling a byte per 100ms")
	})

	t.Run("idle after a request", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		checkStatus(t, "GET", c.do(request("GET", "/index.html")), 200)
		start := time.Now()
		c.expectClosed(2500*time.Millisecond, "idle connection with --idle-timeout 1s")
		if took := time.Since(start); took > 2500*time.Millisecond {
			t.Errorf("idle connection closed after %v", took)
		}
	})

	t.Run("idle without a request", func(t *testing.T) {
		t.Parallel()
		c := srv.dial()
		c.expectClosed(2500*time.Millisecond, "connection that never sent a byte, --idle-timeout 1s")
	})

	// dialSmall connects with a small receive buffer, so that a client
	// that does not read stalls the server's writes soon.
	dialSmall := func(t *testing.T, addr string) *net.TCPConn {
		conn, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		tc := conn.(*net.TCPConn)
		tc.SetReadBuffer(16 << 10)
		tc.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(tc, request("GET", "/big.bin")); err != nil {
			t.Fatal(err)
		}
		return tc
	}

	t.Run("stalled reader", func(t *testing.T) {
		t.Parallel()
		// A client that stops reading is cut off once a write makes no
		// progress for --write-timeout, instead of holding a
		// connection (and a file) for ever.
		conn := dialSmall(t, writer.addr)
		time.Sleep(3 * time.Second)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := io.Copy(io.Discard, conn)
		if isTimeout(err) {
			t.Errorf("stalled reader: the connection is still open 3s after it stopped reading, with --write-timeout 1s")
		} else if n >= int64(len(big)) {
			t.Errorf("stalled reader: received all %d bytes; want the server to have given up", n)
		}
		// Others are served meanwhile.
		checkStatus(t, "GET after a stalled reader", writer.get("/index.html"), 200)
	})

	t.Run("slow reader making progress", func(t *testing.T) {
		t.Parallel()
		// A client that reads slowly but steadily (~300 KiB/s) is not
		// cut off: the write timeout bounds a write without progress.
		conn := dialSmall(t, writer.addr)
		buf := make([]byte, 16<<10)
		var n int64
		start := time.Now()
		for time.Since(start) < 2500*time.Millisecond {
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, err := conn.Read(buf)
			n += int64(k)
			if err != nil {
				t.Errorf("slow reader: connection ended after %d bytes in %v: %v", n, time.Since(start).Round(time.Millisecond), err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("not idle while in use", func(t *testing.T) {
		t.Parallel()
		// Requests every 400ms keep a connection alive past the 1s
		// idle timeout.
		c := srv.dial()
		for i := range 5 {
			r, err := func() (*response, error) {
				if err := c.trySend(request("GET", "/index.html")); err != nil {
					return nil, err
				}
				return c.readResponse("GET", ioTimeout)
			}()
			if err != nil || r.Status != 200 {
				t.Fatalf("request %d at %v on a busy connection: %v", i+1, time.Duration(i)*400*time.Millisecond, err)
			}
			time.Sleep(400 * time.Millisecond)
		}
	})
}

// TestGracefulShutdown checks SIGTERM: a download in progress completes in
// full, new connections are refused, an idle keep-alive connection is
// closed promptly, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	big := patterned(12 << 20)
	s.write("big.bin", string(big))
	srv := startServer(t, s, "--shutdown-timeout", "20s")

	idle := srv.dial()
	checkStatus(t, "GET on the keep-alive connection", idle.do(request("GET", "/index.html")), 200)

	// The downloader reads slowly through a small receive buffer.
	conn, err := net.DialTimeout("tcp", srv.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(32 << 10)
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, request("GET", "/big.bin")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(conn, 16<<10)
	var head []string
	for {
		line, err := readLine(br)
		if err != nil {
			t.Fatalf("download head: %v", err)
		}
		if line == "" {
			break
		}
		head = append(head, line)
	}
	if head[0] != "HTTP/1.1 200 OK" {
		t.Fatalf("download: status line %q", head[0])
	}
	type result struct {
		body []byte
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	started := make(chan struct{})
	go func() {
		var body bytes.Buffer
		buf := make([]byte, 32<<10)
		signalled := false
		for body.Len() < len(big) {
			n, err := br.Read(buf)
			body.Write(buf[:n])
			if body.Len() >= 256<<10 && !signalled {
				close(started)
				signalled = true
			}
			if err != nil {
				done <- result{body.Bytes(), err, time.Now()}
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		done <- result{body.Bytes(), nil, time.Now()}
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("download did not start")
	}

	sigAt := time.Now()
	srv.signal(syscall.SIGTERM)
	if !srv.waitLine("finishing", 3*time.Second) {
		t.Errorf("no shutdown message on stdout within 3s of SIGTERM")
	}
	// The idle keep-alive connection is closed promptly.
	idle.expectClosed(time.Second, "idle keep-alive connection after SIGTERM")
	// New connections are refused.
	if !eventually(2*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", srv.addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		t.Errorf("new connections still accepted 2s after SIGTERM")
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(25 * time.Second):
		t.Fatal("download did not finish within 25s")
	}
	if res.err != nil || len(res.body) != len(big) || sha256.Sum256(res.body) != sha256.Sum256(big) {
		t.Errorf("download during shutdown: %d of %d bytes, err %v (reading ended %v after SIGTERM); want the whole file",
			len(res.body), len(big), res.err, res.at.Sub(sigAt))
	}
	if res.at.Sub(sigAt) < 100*time.Millisecond {
		t.Logf("note: the download finished only %v after SIGTERM", res.at.Sub(sigAt))
	}
	if code := srv.wait(exitTimeout); code != 0 {
		t.Errorf("exit status = %d, want 0; stderr:\n%s", code, srv.stderrText())
	}
}

// TestListeners checks several --listen addresses, TCP and Unix, each
// announced on its own stdout line and each serving.
func TestListeners(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	sock := filepath.Join(t.TempDir(), "stoa.sock")
	srv := startServer(t, s, "--listen", "127.0.0.1:0", "--listen", "unix:"+sock)
	second, ok := srv.nextLine("stoa: serving ", 5*time.Second)
	if !ok {
		t.Fatalf("no second \"serving\" line for the second --listen")
	}
	third, ok := srv.nextLine("stoa: serving ", 5*time.Second)
	if !ok {
		t.Fatalf("no third \"serving\" line for --listen unix:%s", sock)
	}
	i := strings.Index(second, " at http://127.0.0.1:")
	if i < 0 {
		t.Fatalf("second line %q, want \"... at http://127.0.0.1:PORT/\"", second)
	}
	addr2 := strings.TrimSuffix(second[i+len(" at http://"):], "/")
	if addr2 == srv.addr {
		t.Errorf("both TCP listeners announce %s", addr2)
	}
	if !strings.HasSuffix(third, " at unix:"+sock) {
		t.Errorf("third line %q, want it to end in \" at unix:%s\"", third, sock)
	}
	c := dialAddr(t, addr2, s.marker)
	checkBody(t, "GET on the second listener", c.do(request("GET", "/index.html")), []byte(indexHTML))

	uc, err := net.DialTimeout("unix", sock, ioTimeout)
	if err != nil {
		t.Fatalf("dial unix:%s: %v", sock, err)
	}
	rec := &recorder{conn: uc}
	u := &client{t: t, conn: uc, br: bufio.NewReader(rec), rec: rec, marker: s.marker}
	t.Cleanup(func() { uc.Close(); u.checkSecret() })
	checkBody(t, "GET on the Unix socket", u.do(request("GET", "/index.html")), []byte(indexHTML))

	if code := srv.stop(); code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
}

// TestSIGINT checks that SIGINT stops the server as SIGTERM does.
func TestSIGINT(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	srv := startServer(t, s)
	checkStatus(t, "GET", srv.get("/"), 200)
	srv.signal(syscall.SIGINT)
	if code := srv.wait(exitTimeout); code != 0 {
		t.Errorf("exit status after SIGINT = %d, want 0; stderr:\n%s", code, srv.stderrText())
	}
}

// TestMaxConns checks --max-conns: a connection over the cap waits and is
// served once a slot frees up.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	srv := startServer(t, s, "--max-conns", "1")
	a := srv.dial()
	checkStatus(t, "first connection", a.do(request("GET", "/index.html")), 200)
	b := srv.dial()
	b.send(request("GET", "/index.html"))
	if r, err := b.readResponse("GET", 300*time.Millisecond); err == nil {
		t.Errorf("second connection served (%d) while the only slot is taken, want it to wait", r.Status)
	}
	a.conn.Close()
	r, err := b.readResponse("GET", 3*time.Second)
	if err != nil {
		t.Fatalf("second connection not served within 3s of the first closing: %v", err)
	}
	checkStatus(t, "second connection", r, 200)
}

// runStoa runs the binary with args and returns its exit status and output.
func runStoa(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, stoaBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("stoa %s: still running after 10s; stdout %q stderr %q", strings.Join(args, " "), o.String(), e.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, o.String(), e.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), o.String(), e.String()
	}
	t.Fatalf("stoa %s: %v", strings.Join(args, " "), err)
	return
}

// TestCLI checks exit statuses and messages: 2 for usage errors, 1 for run
// time failures with one line naming what failed, 0 for version and help.
func TestCLI(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	missing := filepath.Join(s.base, "no-such-dir")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // the subtests run after this function returns
	busyAddr := busy.Addr().String()
	notDir := filepath.Join(s.root, "index.html")

	tests := []struct {
		name    string
		args    []string
		code    int
		oneLine string // stderr must be exactly one line containing this
		stdout  string // stdout must contain this
	}{
		{"missing root", []string{"serve", missing, "--listen", "127.0.0.1:0"}, 1, missing, ""},
		{"root is a file", []string{"serve", notDir, "--listen", "127.0.0.1:0"}, 1, notDir, ""},
		{"port in use", []string{"serve", s.root, "--listen", busyAddr}, 1, busyAddr, ""},
		{"bad flag", []string{"serve", s.root, "--no-such-flag"}, 2, "", ""},
		{"bad --dotfiles", []string{"serve", s.root, "--dotfiles", "sometimes"}, 2, "", ""},
		{"bad --log-format", []string{"serve", s.root, "--log-format", "xml"}, 2, "", ""},
		{"bad --listen", []string{"serve", s.root, "--listen", "nonsense"}, 2, "", ""},
		{"two roots", []string{"serve", s.root, s.base}, 2, "", ""},
		{"no command", nil, 2, "", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", ""},
		{"version", []string{"version"}, 0, "", "stoa "},
		{"serve --help", []string{"serve", "--help"}, 0, "", ""},
		{"help serve", []string{"help", "serve"}, 0, "", "browse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runStoa(t, tc.args...)
			what := "stoa " + strings.Join(tc.args, " ")
			if code != tc.code {
				t.Errorf("%s: exit status %d, want %d; stdout %q stderr %q", what, code, tc.code, stdout, stderr)
			}
			if tc.oneLine != "" {
				lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], tc.oneLine) {
					t.Errorf("%s: stderr = %q, want one line naming %q", what, stderr, tc.oneLine)
				}
			}
			if tc.stdout != "" && !strings.Contains(stdout, tc.stdout) {
				t.Errorf("%s: stdout = %q, want it to contain %q", what, stdout, tc.stdout)
			}
			if tc.name == "serve --help" && !strings.Contains(stdout+stderr, "browse") {
				t.Errorf("%s: the help does not describe the flags: stdout %q stderr %q", what, stdout, stderr)
			}
			if tc.name == "version" && strings.Count(strings.TrimRight(stdout, "\n"), "\n") != 0 {
				t.Errorf("%s: stdout = %q, want one line", what, stdout)
			}
		})
	}
}

// TestSIGTERMRightAfterStart pins a bug: the signal handler was installed
// after the "serving" line, so a SIGTERM sent as soon as a supervisor saw
// the server up killed it (status 143) instead of stopping it (0).
func TestSIGTERMRightAfterStart(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for i := range 20 {
		srv := startServer(t, s)
		if code := srv.stop(); code != 0 {
			t.Fatalf("SIGTERM right after the serving line, try %d: exit %d, want 0", i+1, code)
		}
	}
}
