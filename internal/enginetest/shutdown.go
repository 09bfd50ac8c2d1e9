package enginetest

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/engine"
)

func testShutdownDrainsResponseInProgress(t *testing.T, e Engine) {
	srv, addr := serveSite(t, e, engine.Config{}, 1)
	c := Dial(t, addr)
	idle := Dial(t, addr)
	io.WriteString(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	ExpectEOF(t, idle, 2*time.Second, "idle connection during shutdown")
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != HugeSize {
		t.Errorf("download during shutdown: %d bytes, %v; want all %d", n, err, HugeSize)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("new connection accepted after shutdown")
	}
}

// testShutdownAnswersNewConnection pins a request lost on every restart
// under load: a connection accepted just before Shutdown was closed before
// its first request arrived, and its client, which cannot retry a request
// on a connection the server never answered on, failed. Now the request is
// answered (and the connection closed after it), while a new connection
// that sends nothing is closed once time.Second has passed.
func testShutdownAnswersNewConnection(t *testing.T, e Engine) {
	srv, addr := serveSite(t, e, engine.Config{}, 1)
	c := Dial(t, addr)
	silent := Dial(t, addr)
	done := ShutdownTaken(t, srv, addr, 2)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := ReadResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != "alpha" || !resp.Close {
		t.Errorf("first request after Shutdown began: %d %q, close %v; want 200 alpha and the connection closed", resp.StatusCode, body, resp.Close)
	}
	silent.SetReadDeadline(time.Now().Add(engine.FirstRequestGrace + 2*time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a new connection that sends nothing during shutdown: %v, want EOF within %v", err, engine.FirstRequestGrace)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// testShutdownTimeoutClosesAll: once Shutdown's context ends, the
// connections still writing are closed, the one sent with sendfile (on
// its loop, for an engine with loops) and the one of two ranges (which
// the loops hand to a goroutine), and Shutdown returns.
func testShutdownTimeoutClosesAll(t *testing.T, e Engine) {
	srv, addr := serveSite(t, e, engine.Config{}, 1)
	for _, req := range []string{
		"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /huge.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-7000000,9000000-16000000\r\n\r\n",
	} {
		c := Dial(t, addr)
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		io.WriteString(c, req)
		if _, err := c.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err != context.DeadlineExceeded {
			t.Errorf("Shutdown with two stalled downloads: %v, want %v", err, context.DeadlineExceeded)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown has not returned 5s after its context ended")
	}
	// The clients' tiny windows would take long to drain what the kernel
	// still holds for them; the server's count says the sockets are closed.
	if n := srv.OpenConns(); n != 0 {
		t.Errorf("%d connections open after Shutdown returned", n)
	}
}

func testStopListener(t *testing.T, e Engine) {
	srv := e.New(Site(t, false), engine.Config{}, 1)
	defer srv.Shutdown(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := Dial(t, l.Addr().String())
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	ReadResponse(t, br, "GET")
	srv.StopListener(l)
	if err := <-served; err != engine.ErrListenerStopped {
		t.Errorf("Serve after StopListener: %v, want ErrListenerStopped", err)
	}
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("connection of a stopped listener: %d %q", resp.StatusCode, body)
	}
}
