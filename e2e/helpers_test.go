// Package e2e is the black-box test suite of stoa: it builds the stoa binary
// once, starts it as a separate process on an ephemeral port for each test,
// and speaks raw HTTP/1.1 to it over TCP, so that what is tested is the
// bytes on the wire (RFC 9112 framing, RFC 9110 semantics) rather than what
// a client library would normalise away.
//
// Every test serves its own root, created in t.TempDir(), with a secret file
// planted beside the root (base/secret.txt next to base/root/). Every byte a
// test reads from the server is checked for the secret's marker when the
// test ends: no response may ever leak a file from outside the root.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stoaBin is the path of the stoa binary built by TestMain.
var stoaBin string

// Bounds on every wait, so that a server that misbehaves fails a test
// instead of hanging the suite.
const (
	startTimeout = 10 * time.Second // until the "serving" line appears
	ioTimeout    = 5 * time.Second  // for one response, or one write
	exitTimeout  = 10 * time.Second // from SIGTERM to exit
	closeTimeout = 3 * time.Second  // for a connection the server must close
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// STOA_E2E_BIN runs the suite against a binary built elsewhere (a
	// release, or an older build to compare behaviour with).
	if bin := os.Getenv("STOA_E2E_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		stoaBin = abs
		return m.Run()
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "stoa-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	stoaBin = filepath.Join(dir, "stoa")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"build", "-o", stoaBin}
	if raceBuild {
		// Under -race the server is built with the race detector too:
		// its reports on stderr fail the test (see startServer).
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, goTool(), append(args, "./cmd/stoa")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/stoa: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// goTool returns the go command of the toolchain running the tests.
func goTool() string {
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// moduleRoot finds the directory holding go.mod: from `go env GOMOD`, or by
// walking up from the working directory.
func moduleRoot() (string, error) {
	if out, err := exec.Command(goTool(), "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find go.mod above the working directory")
		}
		dir = parent
	}
}

// A site is a document root for one test: base/root is served, and
// base/secret.txt beside it holds a marker no response may contain.
type site struct {
	t      testing.TB
	base   string
	root   string
	marker string
}

// indexHTML is the body of every site's /index.html.
const indexHTML = "<!doctype html>\n<title>stoa e2e</title>\n<h1>Hello from the e2e index</h1>\n"

// newSite creates a root holding index.html and a secret beside it.
func newSite(t testing.TB) *site {
	t.Helper()
	base := t.TempDir()
	s := &site{t: t, base: base, root: filepath.Join(base, "root"), marker: "SECRET-" + randHex(12)}
	if err := os.Mkdir(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte("top secret "+s.marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.write("index.html", indexHTML)
	return s
}

// secretPath is the absolute path of the secret beside the root.
func (s *site) secretPath() string { return filepath.Join(s.base, "secret.txt") }

// path returns the absolute path of the slash-separated name below the root.
func (s *site) path(name string) string { return filepath.Join(s.root, filepath.FromSlash(name)) }

// write creates name (and its directories) below the root with content.
func (s *site) write(name, content string) {
	s.t.Helper()
	p := s.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// mkdir creates the directory name below the root.
func (s *site) mkdir(name string) {
	s.t.Helper()
	if err := os.MkdirAll(s.path(name), 0o755); err != nil {
		s.t.Fatal(err)
	}
}

// symlink creates the link name below the root pointing to target.
func (s *site) symlink(target, name string) {
	s.t.Helper()
	p := s.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		s.t.Fatal(err)
	}
}

// setModTime sets name's modification time.
func (s *site) setModTime(name string, mt time.Time) {
	s.t.Helper()
	if err := os.Chtimes(s.path(name), mt, mt); err != nil {
		s.t.Fatal(err)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// patterned returns n deterministic bytes that differ at every offset of
// interest, so an off-by-one in a range shows up as a mismatch.
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/26)%26)
		if i%64 == 63 {
			b[i] = '\n'
		}
	}
	return b
}

// A server is a running stoa process.
type server struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string // 127.0.0.1:PORT
	marker string // the site's secret marker; "" when no check applies

	mu      sync.Mutex
	stopped bool // the test sent SIGTERM itself
	stdout  []string
	stderr  bytes.Buffer
	lines   chan string // stdout lines after the first

	exited   chan struct{}
	exitCode int
	waitErr  error
}

// lockedWriter serialises writes to the server's stderr buffer.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startServer runs `stoa serve ROOT --listen 127.0.0.1:0 FLAGS...` and
// waits for the line announcing its address. The process is stopped when
// the test ends, if the test did not stop it.
func startServer(t testing.TB, s *site, flags ...string) *server {
	t.Helper()
	return startWith(t, s, append([]string{"serve", s.root, "--listen", "127.0.0.1:0"}, flags...)...)
}

// startWith runs stoa with args as they are, and waits for its first
// "serving" line as startServer does.
func startWith(t testing.TB, s *site, args ...string) *server {
	t.Helper()
	return startIn(t, s, "", args...)
}

// startIn is startWith with dir as the working directory ("" for the
// test's own).
func startIn(t testing.TB, s *site, dir string, args ...string) *server {
	t.Helper()
	srv := &server{t: t, cmd: exec.Command(stoaBin, args...), marker: s.marker,
		lines: make(chan string, 64), exited: make(chan struct{})}
	srv.cmd.Dir = dir
	srv.cmd.Stderr = lockedWriter{&srv.mu, &srv.stderr}
	out, err := srv.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			srv.mu.Lock()
			srv.stdout = append(srv.stdout, line)
			srv.mu.Unlock()
			// The first "serving" line gives the address; lines before
			// it (a certificate's fingerprint) are kept with the rest.
			if n == 0 && strings.HasPrefix(line, "stoa: serving ") {
				first <- line
				n++
			} else {
				select {
				case srv.lines <- line:
				default:
				}
			}
		}
		if n == 0 {
			close(first)
		}
		io.Copy(io.Discard, out)
		srv.waitErr = srv.cmd.Wait()
		srv.exitCode = srv.cmd.ProcessState.ExitCode()
		close(srv.exited)
	}()
	t.Cleanup(func() {
		srv.mu.Lock()
		stopped := srv.stopped
		srv.mu.Unlock()
		select {
		case <-srv.exited:
			if !stopped {
				t.Errorf("stoa exited on its own during the test, status %d; stderr:\n%s", srv.exitCode, srv.stderrText())
			}
		default:
			// Every server must stop cleanly on SIGTERM.
			if code := srv.kill(); code != 0 {
				t.Errorf("stoa exited with status %d after SIGTERM at the end of the test, want 0; stderr:\n%s", code, srv.stderrText())
			}
		}
		e := srv.stderrText()
		if strings.Contains(e, "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in stoa:\n%s", e)
		}
		if strings.Contains(e, "panic:") {
			t.Errorf("stoa panicked:\n%s", e)
		}
	})

	select {
	case line, ok := <-first:
		if !ok {
			<-srv.exited
			t.Fatalf("stoa %s exited (%v) before serving; stderr:\n%s", strings.Join(args, " "), srv.waitErr, srv.stderrText())
		}
		const prefix = "stoa: serving "
		i := strings.Index(line, " at http://")
		if !strings.HasPrefix(line, prefix) || i < 0 {
			t.Fatalf("first stdout line = %q, want %q", line, prefix+"/abs/root at http://127.0.0.1:PORT/")
		}
		u := strings.TrimSuffix(strings.Fields(line[i+len(" at http://"):])[0], "/")
		host, port, err := net.SplitHostPort(u)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("stdout line %q: address %q is not 127.0.0.1:PORT", line, u)
		}
		if _, err := strconv.Atoi(port); err != nil {
			t.Fatalf("stdout line %q: bad port %q", line, port)
		}
		if dir := strings.TrimPrefix(line[:i], prefix); !filepath.IsAbs(dir) && !strings.HasPrefix(dir, "s3://") {
			t.Errorf("stdout line %q: root %q is not absolute", line, dir)
		}
		srv.addr = u
	case <-time.After(startTimeout):
		t.Fatalf("stoa did not print its address within %v; stderr:\n%s", startTimeout, srv.stderrText())
	}
	return srv
}

func (srv *server) stderrText() string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.stderr.String()
}

// markStopped records that the test itself ends the process, so its
// exit is not reported as unexpected.
func (srv *server) markStopped() {
	srv.mu.Lock()
	srv.stopped = true
	srv.mu.Unlock()
}

// signal sends sig to the server process.
func (srv *server) signal(sig os.Signal) {
	srv.t.Helper()
	if sig == syscall.SIGTERM || sig == syscall.SIGINT {
		srv.markStopped()
	}
	if err := srv.cmd.Process.Signal(sig); err != nil {
		srv.t.Fatalf("signal %v: %v", sig, err)
	}
}

// stop sends SIGTERM and returns the exit status, failing the test if the
// process does not exit within exitTimeout.
func (srv *server) stop() int {
	srv.t.Helper()
	srv.markStopped()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	return srv.wait(exitTimeout)
}

// wait waits up to d for the process to exit and returns its status.
func (srv *server) wait(d time.Duration) int {
	srv.t.Helper()
	select {
	case <-srv.exited:
		return srv.exitCode
	case <-time.After(d):
		srv.cmd.Process.Kill()
		<-srv.exited
		srv.t.Fatalf("stoa did not exit within %v; stderr:\n%s", d, srv.stderrText())
		return -1
	}
}

// waitLine waits up to d for a stdout line containing substr.
func (srv *server) waitLine(substr string, d time.Duration) bool {
	_, ok := srv.nextLine(substr, d)
	return ok
}

// nextLine waits up to d for a stdout line containing substr and
// returns it.
func (srv *server) nextLine(substr string, d time.Duration) (string, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l := <-srv.lines:
			if strings.Contains(l, substr) {
				return l, true
			}
		case <-timer.C:
			return "", false
		}
	}
}

// kill stops the server with SIGTERM, or SIGKILL if it does not exit
// within exitTimeout, and returns its exit status.
func (srv *server) kill() int {
	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.exited:
		return srv.exitCode
	case <-time.After(exitTimeout):
		srv.cmd.Process.Kill()
		<-srv.exited
		return -1
	}
}

// A client is one raw TCP connection to the server. Everything it reads is
// recorded and checked for the secret marker when the test ends.
type client struct {
	t      testing.TB
	conn   net.Conn
	br     *bufio.Reader
	rec    *recorder
	marker string
}

// recorder is a net.Conn reader that keeps every byte it reads.
type recorder struct {
	conn net.Conn
	mu   sync.Mutex
	buf  []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.conn.Read(p)
	r.mu.Lock()
	r.buf = append(r.buf, p[:n]...)
	r.mu.Unlock()
	return n, err
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf
}

// dial opens a connection to the server.
func (srv *server) dial() *client {
	srv.t.Helper()
	return dialAddr(srv.t, srv.addr, srv.marker)
}

func dialAddr(t testing.TB, addr, marker string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	rec := &recorder{conn: conn}
	c := &client{t: t, conn: conn, br: bufio.NewReader(rec), rec: rec, marker: marker}
	t.Cleanup(func() {
		conn.Close()
		c.checkSecret()
	})
	return c
}

// checkSecret fails the test if anything read on c holds the marker.
func (c *client) checkSecret() {
	if c.marker == "" {
		return
	}
	if b := c.rec.bytes(); bytes.Contains(b, []byte(c.marker)) {
		c.t.Errorf("LEAK: the connection received the secret marker %q from outside the root; received:\n%s",
			c.marker, clip(b, 2000))
	}
}

// allowSecret turns off the marker check, for tests where the server is
// told to serve the secret (--follow-symlinks).
func (c *client) allowSecret() { c.marker = "" }

// send writes raw bytes to the connection.
func (c *client) send(raw string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.conn, raw); err != nil {
		c.t.Fatalf("write %q: %v", clip([]byte(raw), 200), err)
	}
}

// trySend writes raw bytes, reporting an error instead of failing: the
// server may legitimately have closed the connection.
func (c *client) trySend(raw string) error {
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := io.WriteString(c.conn, raw)
	return err
}

// read reads one response to a request with the given method (HEAD
// responses have no body), failing the test on any error.
func (c *client) read(method string) *response {
	c.t.Helper()
	r, err := c.readResponse(method, ioTimeout)
	if err != nil {
		c.t.Fatalf("reading the response to %s: %v; received so far:\n%s", method, err, clip(c.rec.bytes(), 1500))
	}
	return r
}

// do sends raw and reads the response to it.
func (c *client) do(raw string) *response {
	c.t.Helper()
	c.send(raw)
	return c.read(methodOf(raw))
}

// roundTrip sends raw on a new connection and reads one response.
func (srv *server) roundTrip(raw string) *response {
	srv.t.Helper()
	return srv.dial().do(raw)
}

// get is roundTrip for a simple GET of target with extra header lines.
func (srv *server) get(target string, header ...string) *response {
	srv.t.Helper()
	return srv.roundTrip(request("GET", target, header...))
}

// request formats an HTTP/1.1 request with Host and the given header lines.
func request(method, target string, header ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: e2e.test\r\n")
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// methodOf returns the first token of a raw request.
func methodOf(raw string) string {
	m, _, _ := strings.Cut(strings.TrimLeft(raw, "\r\n"), " ")
	return m
}

// connState is what became of a connection after a response.
type connState string

const (
	stateClosed connState = "closed"    // EOF or reset
	stateOpen   connState = "open"      // no data and no close within the wait
	stateData   connState = "more data" // unexpected bytes arrived
)

// waitClosed reads until the connection closes, bytes arrive, or d passes.
func (c *client) waitClosed(d time.Duration) (connState, []byte) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	n, err := c.br.Read(buf)
	switch {
	case n > 0:
		return stateData, buf[:n]
	case isTimeout(err):
		return stateOpen, nil
	default:
		return stateClosed, nil
	}
}

// expectClosed fails the test unless the server closes the connection
// within d without sending anything more.
func (c *client) expectClosed(d time.Duration, what string) {
	c.t.Helper()
	switch st, b := c.waitClosed(d); st {
	case stateOpen:
		c.t.Errorf("%s: connection still open after %v, want it closed by the server", what, d)
	case stateData:
		c.t.Errorf("%s: got unexpected bytes %q, want the connection closed", what, clip(b, 300))
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// A response is one parsed HTTP/1.x response.
type response struct {
	Proto  string
	Status int
	Reason string
	Fields []field // in the order received
	Body   []byte
	Head   string // the raw status line and field lines
}

type field struct{ Name, Value string }

// get returns the value of the first field named name (case-insensitive),
// or "".
func (r *response) get(name string) string {
	v, _ := r.lookup(name)
	return v
}

// lookup returns the first value of name and whether it is present.
func (r *response) lookup(name string) (string, bool) {
	for _, f := range r.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// values returns every value of name, in order.
func (r *response) values(name string) []string {
	var vs []string
	for _, f := range r.Fields {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// String shows the head and the start of the body, for failure messages.
func (r *response) String() string {
	return r.Head + "\r\n" + string(clip(r.Body, 400))
}

// readResponse parses one response. It insists on the RFC 9112 syntax a
// server must send: CRLF line ends, "HTTP/1.1 NNN reason", field lines
// "name: value", and a Content-Length (or close-delimited) body.
func (c *client) readResponse(method string, d time.Duration) (*response, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	var head strings.Builder
	line, err := readLine(c.br)
	if err != nil {
		return nil, fmt.Errorf("status line: %w", err)
	}
	head.WriteString(line)
	proto, rest, ok1 := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !ok1 || len(code) != 3 || err != nil || !strings.HasPrefix(proto, "HTTP/1.") {
		return nil, fmt.Errorf("malformed status line %q", line)
	}
	r := &response{Proto: proto, Status: status, Reason: reason}
	for {
		line, err := readLine(c.br)
		if err != nil {
			return nil, fmt.Errorf("field lines after %q: %w", head.String(), err)
		}
		if line == "" {
			break
		}
		head.WriteString("\r\n" + line)
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed field line %q", line)
		}
		r.Fields = append(r.Fields, field{name, strings.Trim(value, " \t")})
	}
	r.Head = head.String()
	if method == "HEAD" || status/100 == 1 || status == 204 || status == 304 {
		return r, nil
	}
	if te := r.get("Transfer-Encoding"); te != "" {
		return nil, fmt.Errorf("unexpected Transfer-Encoding %q in\n%s", te, r.Head)
	}
	if cls := r.values("Content-Length"); len(cls) > 0 {
		if len(cls) > 1 {
			return nil, fmt.Errorf("%d Content-Length fields in\n%s", len(cls), r.Head)
		}
		n, err := strconv.ParseInt(cls[0], 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad Content-Length %q", cls[0])
		}
		r.Body = make([]byte, n)
		if _, err := io.ReadFull(c.br, r.Body); err != nil {
			return nil, fmt.Errorf("body of %d bytes: %w\n%s", n, err, r.Head)
		}
		return r, nil
	}
	// No length: the body runs to the close (RFC 9112 §6.3 item 8).
	body, err := io.ReadAll(c.br)
	r.Body = body
	if err != nil {
		return nil, fmt.Errorf("close-delimited body: %w", err)
	}
	return r, nil
}

// readLine reads one line that must end in CRLF, and returns it without.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if line == "" && errors.Is(err, io.EOF) {
			return "", io.EOF
		}
		return "", fmt.Errorf("%w after %q", err, clip([]byte(line), 200))
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("line %q does not end in CRLF", clip([]byte(line), 200))
	}
	return line[:len(line)-2], nil
}

// clip shortens b for messages.
func clip(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	out := append([]byte{}, b[:n]...)
	return append(out, fmt.Sprintf("... (%d bytes in all)", len(b))...)
}

// checkStatus reports a status other than want.
func checkStatus(t *testing.T, what string, r *response, want int) bool {
	t.Helper()
	if r.Status != want {
		t.Errorf("%s: status = %d, want %d; response:\n%s", what, r.Status, want, r)
		return false
	}
	return true
}

// checkField reports a field whose value is not want ("" = absent).
func checkField(t *testing.T, what string, r *response, name, want string) {
	t.Helper()
	got, ok := r.lookup(name)
	switch {
	case want == "" && ok:
		t.Errorf("%s: %s = %q, want it absent", what, name, got)
	case want != "" && got != want:
		t.Errorf("%s: %s = %q, want %q", what, name, got, want)
	}
}

// checkBody reports a body that is not want, and a Content-Length that
// does not match it.
func checkBody(t *testing.T, what string, r *response, want []byte) {
	t.Helper()
	if !bytes.Equal(r.Body, want) {
		t.Errorf("%s: body = %q (%d bytes), want %q (%d bytes)", what, clip(r.Body, 200), len(r.Body), clip(want, 200), len(want))
	}
	if cl := r.get("Content-Length"); cl != strconv.Itoa(len(want)) {
		t.Errorf("%s: Content-Length = %q, want %d", what, cl, len(want))
	}
}

// eventually polls f every 20ms until it returns true or d passes.
func eventually(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
