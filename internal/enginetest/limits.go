package enginetest

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/engine"
)

func testSlowHeadTimesOut(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{ReadHeaderTimeout: 300 * time.Millisecond}, 1)
	c := Dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHo")
	start := time.Now()
	resp, _ := ReadResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 408 {
		t.Errorf("stalled head: status %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stalled head answered after %v, want about the 300ms timeout", d)
	}
}

func testIdleTimeoutCloses(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{IdleTimeout: 300 * time.Millisecond}, 1)
	c := Dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	ReadResponse(t, br, "GET")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want EOF", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about the 300ms timeout", d)
	}
}

// testWriteTimeoutCloses: a client that stops reading a large file is cut
// once WriteTimeout passes without progress.
func testWriteTimeoutCloses(t *testing.T, e Engine) {
	srv, addr := serveSite(t, e, engine.Config{WriteTimeout: 300 * time.Millisecond}, 1)
	c := Dial(t, addr)
	io.WriteString(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that reads nothing still holds its connection 5s after a 300ms write timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testSlowReadersDoNotDelayOthers: 50 clients that stop reading a large
// file (on the same loop, for an engine with loops) do not delay a small
// GET (issue 13).
func testSlowReadersDoNotDelayOthers(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{}, 1)
	for i := range 50 {
		c := Dial(t, addr)
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		io.WriteString(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := c.Read(make([]byte, 1)); err != nil {
			t.Fatalf("slow reader %d: %v", i, err)
		}
	}
	c := Dial(t, addr)
	start := time.Now()
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := ReadResponse(t, bufio.NewReader(c), "GET")
	if d := time.Since(start); resp.StatusCode != 200 || body != "alpha" || d > time.Second {
		t.Errorf("small GET beside 50 stalled downloads: %d %q after %v, want 200 alpha within 1s", resp.StatusCode, body, d)
	}
}

// testMaxConns: over the cap, a client waits in the listen backlog and is
// served once a connection closes.
func testMaxConns(t *testing.T, e Engine) {
	srv, addr := serveSite(t, e, engine.Config{MaxConns: 1}, 2)
	first := Dial(t, addr)
	io.WriteString(first, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(first)
	ReadResponse(t, br, "GET")
	second := Dial(t, addr)
	io.WriteString(second, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := second.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("second connection over MaxConns 1 was answered (%d bytes, %v)", n, err)
	}
	if n := srv.OpenConns(); n != 1 {
		t.Errorf("OpenConns = %d, want 1", n)
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, body := ReadResponse(t, bufio.NewReader(second), "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("second connection once the first closed: %d %q", resp.StatusCode, body)
	}
}

// testRequestWaitingAtAccept: a connection whose request came while it
// waited in the listen backlog is answered by the read right after accept
// (issue 13), also when its conn is one a closed connection left behind,
// and is put in the epoll set for what it waits for next: its next
// request, the socket taking a large file, its goroutine's return.
func testRequestWaitingAtAccept(t *testing.T, e Engine) {
	_, addr := serveSite(t, e, engine.Config{MaxConns: 1}, 1)
	var held net.Conn // holds the one slot
	for _, tc := range []struct {
		name, req string
		status    int
		size      int // of the body
		keep      bool
	}{
		{"keep-alive", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200, 5, true},
		{"close", "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, 5, false},
		{"large file", "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n", 200, HugeSize, true},
		{"stream", "GET /big.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", 200, -1, true},
		{"refused head", "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", 400, -1, false},
	} {
		if held == nil {
			held = Dial(t, addr)
			io.WriteString(held, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
			ReadResponse(t, bufio.NewReader(held), "GET")
		}
		next := Dial(t, addr)
		io.WriteString(next, tc.req)
		next.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := next.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("%s: connection over MaxConns 1 answered (%d bytes, %v)", tc.name, n, err)
		}
		held.Close()
		next.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(next)
		resp, body := ReadResponse(t, br, "GET")
		if resp.StatusCode != tc.status || tc.size >= 0 && len(body) != tc.size {
			t.Fatalf("%s: request waiting at accept: %d, %d bytes; want %d, %d", tc.name, resp.StatusCode, len(body), tc.status, tc.size)
		}
		if tc.keep {
			io.WriteString(next, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
				t.Fatalf("%s: next request: %d %q", tc.name, resp.StatusCode, body)
			}
			held = next
		} else {
			ExpectEOF(t, next, 5*time.Second, tc.name+": after the response")
			held = nil
		}
	}
}

// testSilentConnectionHoldsSlotUntilIdleTimeout: a connection that sends
// nothing, which the read right after accept finds empty, still counts
// against MaxConns and is closed by the idle timeout.
func testSilentConnectionHoldsSlotUntilIdleTimeout(t *testing.T, e Engine) {
	srv, addr := serveSite(t, e, engine.Config{MaxConns: 1, IdleTimeout: 300 * time.Millisecond}, 1)
	silent := Dial(t, addr)
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("a silent connection not taken within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	next := Dial(t, addr)
	io.WriteString(next, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	start := time.Now()
	ExpectEOF(t, silent, 5*time.Second, "a connection that sends nothing")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("silent connection closed after %v, want about the 300ms idle timeout", d)
	}
	br := bufio.NewReader(next)
	next.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("connection waiting for the silent one's slot: %d %q", resp.StatusCode, body)
	}
}
