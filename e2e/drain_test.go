package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDrainDelay checks the drain that load balancers understand: on
// SIGTERM /readyz answers 503 at once, while the main port goes on
// answering 200, on new connections and on kept-alive ones, until
// drain_delay has passed; then a response in progress still finishes in
// full, and the process exits within drain_delay + shutdown_timeout.
func TestDrainDelay(t *testing.T) {
	t.Parallel()
	const (
		delay   = 3 * time.Second
		timeout = 5 * time.Second
		slack   = 3 * time.Second
	)
	s := newSite(t)
	big := patterned(8 << 20)
	s.write("big.bin", string(big))
	srv := startServer(t, s, "--admin", "127.0.0.1:0",
		"--drain-delay", delay.String(), "--shutdown-timeout", timeout.String())
	line, ok := srv.nextLine("admin at http://", 5*time.Second)
	if !ok {
		t.Fatalf("no admin line on stdout")
	}
	readyz := strings.TrimSuffix(strings.Fields(line[strings.Index(line, "http://"):])[0], "/") + "/readyz"
	if code := status(readyz); code != 200 {
		t.Fatalf("GET /readyz before SIGTERM: %d, want 200", code)
	}

	keep := srv.dial()
	checkStatus(t, "GET on the keep-alive connection", keep.do(request("GET", "/index.html")), 200)

	// A response in progress across the whole drain: its reader reads the
	// head and stops until the server has stopped accepting.
	dl := srv.dial()
	dl.conn.(*net.TCPConn).SetReadBuffer(32 << 10)
	dl.send(request("GET", "/big.bin"))
	head, err := dl.br.Peek(64)
	if err != nil || !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("download: %q, %v; want a 200 under way", head, err)
	}

	sigAt := time.Now()
	srv.signal(syscall.SIGTERM)
	if !eventually(delay, func() bool { return status(readyz) == 503 }) {
		t.Fatalf("/readyz did not answer 503 within drain_delay (%v) of SIGTERM", delay)
	}
	if !srv.waitLine("drain_delay", time.Second) {
		t.Errorf("no drain_delay line on stdout after SIGTERM")
	}
	// Readiness is off, and the server still serves, as before.
	r := srv.get("/index.html")
	checkStatus(t, "GET on a new connection after /readyz said 503", r, 200)
	r = keep.do(request("GET", "/index.html"))
	checkStatus(t, "GET on the keep-alive connection after /readyz said 503", r, 200)
	if c := r.get("Connection"); strings.EqualFold(c, "close") {
		t.Errorf("Connection: %s during drain_delay; want the connection kept open", c)
	}

	// New connections get 200 until the drain delay has passed, and
	// only then are refused.
	var refusedAt time.Time
	if !eventually(delay+timeout+slack, func() bool {
		code, err := tryGet(srv.addr)
		if err != nil {
			refusedAt = time.Now()
			return true
		}
		if code != 200 {
			t.Errorf("GET during the drain: %d, want 200", code)
		}
		return false
	}) {
		t.Fatalf("new connections still served %v after SIGTERM", delay+timeout+slack)
	}
	if got := refusedAt.Sub(sigAt); got < delay {
		t.Errorf("new connections refused %v after SIGTERM; want not before drain_delay (%v)", got, delay)
	}
	if !srv.waitLine("finishing", time.Second) {
		t.Errorf("no \"finishing\" line on stdout after drain_delay")
	}

	dl.conn.SetReadDeadline(time.Now().Add(timeout + slack))
	body, err := readDownload(dl.br, len(big))
	if err != nil || sha256.Sum256(body) != sha256.Sum256(big) {
		t.Errorf("download in progress through the drain: %d of %d bytes, %v; want the whole file", len(body), len(big), err)
	}
	if code := srv.wait(time.Until(sigAt.Add(delay + timeout + slack))); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, srv.stderrText())
	}
	if !srv.waitLine("stoa: stopped", time.Second) {
		t.Errorf("no \"stopped\" line on stdout at exit")
	}
}

// status returns the status of GET url, or 0 when it fails.
func status(url string) int {
	c := http.Client{Timeout: ioTimeout}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// tryGet sends GET /index.html on a new connection to addr and returns the
// status; err when the server refuses or drops the connection.
func tryGet(addr string) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(conn, request("GET", "/index.html")); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// readDownload reads the rest of a response whose head is at the start
// of br and returns its body of n bytes.
func readDownload(br *bufio.Reader, n int) ([]byte, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
	}
	body := make([]byte, n)
	got, err := io.ReadFull(br, body)
	return body[:got], err
}

// TestSecondInterruptDuringDrainDelay: a second SIGINT cuts the drain
// delay short, as it does the wait for responses in progress, instead of
// serving on for the rest of drain_delay.
func TestSecondInterruptDuringDrainDelay(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	srv := startServer(t, s, "--drain-delay", "10m")
	srv.signal(syscall.SIGINT)
	if !srv.waitLine("drain_delay", 5*time.Second) {
		t.Fatalf("no drain_delay line after the first SIGINT; stderr:\n%s", srv.stderrText())
	}
	checkStatus(t, "GET during drain_delay", srv.get("/index.html"), 200)
	srv.signal(syscall.SIGINT)
	if code := srv.wait(exitTimeout); code == 0 {
		t.Errorf("exit status 0 after a second SIGINT cut the drain short; want non-zero")
	}
	if e := srv.stderrText(); !strings.Contains(e, "interrupted again") {
		t.Errorf("stderr does not say the second interrupt stopped the drain:\n%s", e)
	}
}
