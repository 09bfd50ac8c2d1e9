//go:build linux

package evloop

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
)

const hugeSize = 16 << 20

// testSite serves a small tree: the files of package engine's tests, a
// CSS file that is compressed while sent, and a sparse 16 MiB file.
func testSite(t testing.TB) respond.Handler {
	t.Helper()
	root := t.TempDir()
	for name, body := range map[string]string{
		"index.html": strings.Repeat("<p>hello</p>\n", 80),
		"a.txt":      "alpha",
		"big.bin":    strings.Repeat("x", 3<<20),
		"big.css":    strings.Repeat("body { color: red; margin: 0 auto; }\n", 20000),
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(root, "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(hugeSize)
	f.Close()
	res, err := resolve.New(root, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	return respond.New(content.New(res, content.Options{Revalidate: time.Hour}), respond.Options{})
}

// startServer serves testSite with the loop engine on a kernel-picked
// loopback port.
func startServer(t testing.TB, cfg engine.Config, o Options) (*Server, string) {
	t.Helper()
	srv := New(testSite(t), cfg, o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, l.Addr().String()
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func readResponse(t testing.TB, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(body)
}

// expectEOF fails unless the server closes c within d.
func expectEOF(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("%s: %v, want the connection closed within %v", what, err, d)
	}
}

func TestPipelinedRequestsAnswerInOrder(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"+
		"HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /big.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"+
		"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	want := []struct {
		method string
		status int
		body   string
	}{{"GET", 200, "alpha"}, {"HEAD", 200, ""}, {"GET", 404, "*"}, {"GET", 200, strings.Repeat("x", 3<<20)},
		{"GET", 200, "alpha"}, {"GET", 200, "*"}, {"GET", 200, "alpha"}}
	for i, w := range want {
		resp, body := readResponse(t, br, w.method)
		if resp.StatusCode != w.status || w.body != "*" && body != w.body {
			t.Errorf("response %d: %d %.20q (%d bytes), want %d %.20q", i, resp.StatusCode, body, len(body), w.status, w.body)
		}
	}
	if n, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close, read %v %v; want EOF", n, err)
	}
}

func TestKeepAliveServesManyRequests(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 2})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 50 {
		io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" || resp.Close {
			t.Fatalf("request %d on one connection: %d %q close %v", i, resp.StatusCode, body, resp.Close)
		}
	}
}

func TestExpectContinue(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, want 100 Continue before the body is sent", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "body")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("final response %d %q", resp.StatusCode, body)
	}
	// The connection is back on its loop for the next request.
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("request after the body: %d %q", resp.StatusCode, body)
	}
}

func TestRefusedHeads(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	for _, tc := range []struct {
		name, head string
		status     int
	}{
		{"garbage", "NOT A REQUEST\r\n\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", 431},
		{"version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c, tc.head)
			resp, _ := readResponse(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != tc.status || !resp.Close {
				t.Errorf("%q: %d close %v, want %d and close", tc.name, resp.StatusCode, resp.Close, tc.status)
			}
			expectEOF(t, c, 5*time.Second, tc.name)
		})
	}
}

func TestSlowHeadTimesOut(t *testing.T) {
	_, addr := startServer(t, engine.Config{ReadHeaderTimeout: 300 * time.Millisecond}, Options{Loops: 1})
	c := dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHo")
	start := time.Now()
	resp, _ := readResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 408 {
		t.Errorf("stalled head: status %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stalled head answered after %v, want about the 300ms timeout", d)
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	_, addr := startServer(t, engine.Config{IdleTimeout: 300 * time.Millisecond}, Options{Loops: 1})
	c := dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	readResponse(t, br, "GET")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want EOF", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about the 300ms timeout", d)
	}
}

// TestWriteTimeoutCloses: a client that stops reading a large file is cut
// once WriteTimeout passes without progress.
func TestWriteTimeoutCloses(t *testing.T) {
	srv, addr := startServer(t, engine.Config{WriteTimeout: 300 * time.Millisecond}, Options{Loops: 1})
	c := dial(t, addr)
	io.WriteString(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that reads nothing still holds its connection 5s after a 300ms write timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlowReadersDoNotDelayOthers: 50 clients that stop reading a large
// file on the same loop do not delay a small GET (issue 13).
func TestSlowReadersDoNotDelayOthers(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	for i := range 50 {
		c := dial(t, addr)
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		io.WriteString(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := c.Read(make([]byte, 1)); err != nil {
			t.Fatalf("slow reader %d: %v", i, err)
		}
	}
	c := dial(t, addr)
	start := time.Now()
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, bufio.NewReader(c), "GET")
	if d := time.Since(start); resp.StatusCode != 200 || body != "alpha" || d > time.Second {
		t.Errorf("small GET beside 50 stalled downloads: %d %q after %v, want 200 alpha within 1s", resp.StatusCode, body, d)
	}
}

func TestLargeFileAndRanges(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || len(body) != hugeSize || strings.Trim(body, "\x00") != "" {
		t.Errorf("huge.bin: %d, %d bytes, want 200 and %d zero bytes", resp.StatusCode, len(body), hugeSize)
	}
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 206 || body != "xxxxxxxxxx" {
		t.Errorf("one range: %d %q", resp.StatusCode, body)
	}
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,100000-100001\r\n\r\n")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 206 || !strings.Contains(resp.Header.Get("Content-Type"), "multipart/byteranges") || strings.Count(body, "xx") != 2 {
		t.Errorf("two ranges: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("after the ranges: %d %q", resp.StatusCode, body)
	}
}

func TestChunkedStream(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	big := strings.Repeat("body { color: red; margin: 0 auto; }\n", 20000)
	c := dial(t, addr)
	io.WriteString(c, "GET /big.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\nGET /big.css HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br, "GET")
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("streamed gzip: Transfer-Encoding %v Content-Encoding %q", resp.TransferEncoding, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != big {
		t.Errorf("chunked gzip body decodes to %d bytes, want %d", len(plain), len(big))
	}
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != big {
		t.Errorf("request after the stream: %d, %d bytes", resp.StatusCode, len(body))
	}

	// HTTP/1.0 has no chunks: the body ends with the connection.
	c10 := dial(t, addr)
	io.WriteString(c10, "GET /big.css HTTP/1.0\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n")
	resp, body = readResponse(t, bufio.NewReader(c10), "GET")
	if len(resp.TransferEncoding) != 0 || !resp.Close || resp.ContentLength != -1 {
		t.Errorf("HTTP/1.0 stream: Transfer-Encoding %v close %v Content-Length %d; want close-delimited", resp.TransferEncoding, resp.Close, resp.ContentLength)
	}
	if zr, err := gzip.NewReader(strings.NewReader(body)); err != nil {
		t.Errorf("HTTP/1.0 stream: %v", err)
	} else if plain, _ := io.ReadAll(zr); string(plain) != big {
		t.Errorf("HTTP/1.0 stream decodes to %d bytes", len(plain))
	}
}

// TestMaxConns: over the cap, a client waits in the listen backlog and is
// served once a connection closes.
func TestMaxConns(t *testing.T) {
	srv, addr := startServer(t, engine.Config{MaxConns: 1}, Options{Loops: 2})
	first := dial(t, addr)
	io.WriteString(first, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(first)
	readResponse(t, br, "GET")
	second := dial(t, addr)
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
	if resp, body := readResponse(t, bufio.NewReader(second), "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("second connection once the first closed: %d %q", resp.StatusCode, body)
	}
}

// TestRequestWaitingAtAccept: a connection whose request came while it
// waited in the listen backlog is answered by the read right after accept
// (issue 13), also when its conn is one a closed connection left behind,
// and is put in the epoll set for what it waits for next: its next
// request, the socket taking a large file, its goroutine's return.
func TestRequestWaitingAtAccept(t *testing.T) {
	_, addr := startServer(t, engine.Config{MaxConns: 1}, Options{Loops: 1})
	var held net.Conn // holds the one slot
	for _, tc := range []struct {
		name, req string
		status    int
		size      int // of the body
		keep      bool
	}{
		{"keep-alive", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200, 5, true},
		{"close", "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, 5, false},
		{"large file", "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n", 200, hugeSize, true},
		{"stream", "GET /big.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", 200, -1, true},
		{"refused head", "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", 400, -1, false},
	} {
		if held == nil {
			held = dial(t, addr)
			io.WriteString(held, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
			readResponse(t, bufio.NewReader(held), "GET")
		}
		next := dial(t, addr)
		io.WriteString(next, tc.req)
		next.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := next.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("%s: connection over MaxConns 1 answered (%d bytes, %v)", tc.name, n, err)
		}
		held.Close()
		next.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(next)
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != tc.status || tc.size >= 0 && len(body) != tc.size {
			t.Fatalf("%s: request waiting at accept: %d, %d bytes; want %d, %d", tc.name, resp.StatusCode, len(body), tc.status, tc.size)
		}
		if tc.keep {
			io.WriteString(next, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
				t.Fatalf("%s: next request: %d %q", tc.name, resp.StatusCode, body)
			}
			held = next
		} else {
			expectEOF(t, next, 5*time.Second, tc.name+": after the response")
			held = nil
		}
	}
}

// TestSilentConnectionHoldsSlotUntilIdleTimeout: a connection that sends
// nothing, which the read right after accept finds empty, still counts
// against MaxConns and is closed by the idle timeout.
func TestSilentConnectionHoldsSlotUntilIdleTimeout(t *testing.T) {
	srv, addr := startServer(t, engine.Config{MaxConns: 1, IdleTimeout: 300 * time.Millisecond}, Options{Loops: 1})
	silent := dial(t, addr)
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("a silent connection not taken within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	next := dial(t, addr)
	io.WriteString(next, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	start := time.Now()
	expectEOF(t, silent, 5*time.Second, "a connection that sends nothing")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("silent connection closed after %v, want about the 300ms idle timeout", d)
	}
	br := bufio.NewReader(next)
	next.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("connection waiting for the silent one's slot: %d %q", resp.StatusCode, body)
	}
}

func TestShutdownDrainsResponseInProgress(t *testing.T) {
	srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	idle := dial(t, addr)
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
	expectEOF(t, idle, 2*time.Second, "idle connection during shutdown")
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != hugeSize {
		t.Errorf("download during shutdown: %d bytes, %v; want all %d", n, err, hugeSize)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("new connection accepted after shutdown")
	}
}

// TestShutdownAnswersNewConnection: as with package engine, a connection
// accepted before Shutdown gets a second to send its first request, which
// is answered.
func TestShutdownAnswersNewConnection(t *testing.T) {
	srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	silent := dial(t, addr)
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the engine did not take both connections within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	for {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts 5s after Shutdown")
		}
		time.Sleep(time.Millisecond)
	}
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 200 || body != "alpha" || !resp.Close {
		t.Errorf("first request after Shutdown began: %d %q, close %v; want 200 alpha and the connection closed", resp.StatusCode, body, resp.Close)
	}
	expectEOF(t, silent, engine.FirstRequestGrace+2*time.Second, "a new connection that sends nothing during shutdown")
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestStopListener(t *testing.T) {
	srv := New(testSite(t), engine.Config{}, Options{Loops: 1})
	defer srv.Shutdown(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := dial(t, l.Addr().String())
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	readResponse(t, br, "GET")
	srv.StopListener(l)
	if err := <-served; err != engine.ErrListenerStopped {
		t.Errorf("Serve after StopListener: %v, want ErrListenerStopped", err)
	}
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("connection of a stopped listener: %d %q", resp.StatusCode, body)
	}
}

func TestServeCachedFileAllocatesNothing(t *testing.T) {
	testServeCachedFileAllocatesNothing(t, engine.Config{})
}

func TestServeCachedFileLoggedAllocatesNothing(t *testing.T) {
	log, err := accesslog.Open(filepath.Join(t.TempDir(), "access.log"), accesslog.Combined)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	testServeCachedFileAllocatesNothing(t, engine.Config{Log: log, Metrics: true})
}

func testServeCachedFileAllocatesNothing(t *testing.T, cfg engine.Config) {
	_, addr := startServer(t, cfg, Options{Loops: 1})
	c := dial(t, addr)
	req := []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n")
	buf := make([]byte, 64<<10)
	roundTrip := func() {
		c.Write(req)
		n := 0
		for {
			k, err := c.Read(buf[n:])
			n += k
			if err != nil || n >= 1040+150 && strings.HasSuffix(string(buf[n-13:n]), "</p>\n") {
				return
			}
		}
	}
	roundTrip()
	if n := testing.AllocsPerRun(200, roundTrip); n > 0 {
		t.Errorf("cached small-file GET: %v allocs per request, want 0", n)
	}
}

// BenchmarkServeSmallFile measures one keep-alive round trip over loopback
// for a 1 KiB file answered from memory, by each engine, in the shape of
// package engine's benchmark:
//
//	go test -run XXX -bench ServeSmallFile -count 10 ./internal/evloop | benchstat -col /engine -
func BenchmarkServeSmallFile(b *testing.B) {
	for _, eng := range []string{"goroutine", "loop"} {
		b.Run(fmt.Sprintf("engine=%s", eng), func(b *testing.B) {
			benchRoundTrips(b, benchServer(b, eng))
		})
	}
}

// BenchmarkServeSmallFileParallel is BenchmarkServeSmallFile over 64
// connections at once, the shape of a loaded server (the clients run in
// the same process, on the same cores).
func BenchmarkServeSmallFileParallel(b *testing.B) {
	for _, eng := range []string{"goroutine", "loop"} {
		b.Run(fmt.Sprintf("engine=%s", eng), func(b *testing.B) {
			addr := benchServer(b, eng)
			b.SetParallelism(64 / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				req := []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
				buf := make([]byte, 64<<10)
				for pb.Next() {
					c.Write(req)
					n := 0
					for n < 1040+150 || !strings.HasSuffix(string(buf[n-13:n]), "</p>\n") {
						k, err := c.Read(buf[n:])
						if err != nil {
							b.Error(err)
							return
						}
						n += k
					}
				}
			})
		})
	}
}

// benchServer starts a server of the engine named eng.
func benchServer(b *testing.B, eng string) string {
	if eng == "loop" {
		_, addr := startServer(b, engine.Config{}, Options{})
		return addr
	}
	srv := engine.New(testSite(b), engine.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Shutdown(context.Background()) })
	return l.Addr().String()
}

func benchRoundTrips(b *testing.B, addr string) {
	c := dial(b, addr)
	c.SetDeadline(time.Time{})
	req := []byte("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		c.Write(req)
		n := 0
		for n < 1040+150 || !strings.HasSuffix(string(buf[n-13:n]), "</p>\n") {
			k, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
	}
}

// TestSlotsSharedWithEngine: with Options.Slots, a slot taken by another
// engine's connection (HTTP/3's, by Acquire) holds a loop's client back
// until it is released, so MaxConns bounds every protocol together.
func TestSlotsSharedWithEngine(t *testing.T) {
	eng := engine.New(testSite(t), engine.Config{MaxConns: 1})
	if err := eng.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, addr := startServer(t, engine.Config{MaxConns: 1}, Options{Loops: 1, Slots: eng})
	c := dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("connection served (%d bytes, %v) while the only slot is the engine's", n, err)
	}
	eng.Release()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, body := readResponse(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || body != "alpha" {
		t.Errorf("once the engine released its slot: %d %q", resp.StatusCode, body)
	}
	if eng.TryAcquire() {
		t.Errorf("TryAcquire took a slot while the loop's connection holds the only one")
	}
}

// TestConnectionPersistence: which requests keep the connection open,
// and the Connection field that says so (RFC 9112 §9.3).
func TestConnectionPersistence(t *testing.T) {
	_, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	for _, tc := range []struct {
		name, req  string
		keep       bool
		connection string
	}{
		{"HTTP/1.1", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", true, ""},
		{"HTTP/1.0", "GET /a.txt HTTP/1.0\r\n\r\n", false, ""},
		{"HTTP/1.0 keep-alive", "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, "keep-alive"},
		{"close", "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, "close"},
		{"chunked body", "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false, "close"},
		{"body over the discard limit", "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\nxx", false, "close"},
		{"expectation", "GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", false, "close"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c, tc.req)
			br := bufio.NewReader(c)
			resp, _ := readResponse(t, br, "GET")
			// ReadResponse takes "Connection: close" out into resp.Close.
			if got := resp.Header.Get("Connection"); got != tc.connection && !(tc.connection == "close" && resp.Close) {
				t.Errorf("Connection: %q (close %v), want %q", got, resp.Close, tc.connection)
			}
			if tc.keep {
				io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
					t.Errorf("next request: %d %q", resp.StatusCode, body)
				}
				return
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the response: %v, want EOF", err)
			}
		})
	}
}

// TestIdleConnectionHoldsNoBuffer: a connection waiting for its next
// request gives its read and write buffers back to its loop (issue 13:
// an idle connection should cost about 1 KiB).
func TestIdleConnectionHoldsNoBuffer(t *testing.T) {
	srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, br, "GET")
	type held struct{ conns, buffers int }
	got := make(chan held, 1)
	srv.mu.Lock()
	lp := srv.loops[0]
	srv.mu.Unlock()
	lp.post(func() {
		var h held
		for _, c := range lp.conns {
			if c != nil {
				h.conns++
				if c.rbuf != nil || c.wbuf != nil || c.x != nil {
					h.buffers++
				}
			}
		}
		got <- h
	})
	if h := <-got; h.conns != 1 || h.buffers != 0 {
		t.Errorf("%d connections, %d of them holding buffers while idle; want 1 and 0", h.conns, h.buffers)
	}
	t.Logf("a connection's state: %d bytes", unsafe.Sizeof(conn{}))
	if size := unsafe.Sizeof(conn{}); size > 512 {
		t.Errorf("a connection's state is %d bytes, want at most 512", size)
	}
}

// TestShutdownTimeoutClosesAll: once Shutdown's context ends, the
// connections still writing are closed, the one on its loop (sendfile) and
// the one a goroutine serves (two ranges), and Shutdown returns.
func TestShutdownTimeoutClosesAll(t *testing.T) {
	srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	for _, req := range []string{
		"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /huge.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-7000000,9000000-16000000\r\n\r\n",
	} {
		c := dial(t, addr)
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

// TestAccept4ReadsPeerWithoutAllocating: the loop's accept4 gives each
// connection's peer address, port in host order, without allocating
// (unix.Accept4 allocated one per connection).
func TestAccept4ReadsPeerWithoutAllocating(t *testing.T) {
	for _, network := range []string{"127.0.0.1:0", "[::1]:0"} {
		l, err := net.Listen("tcp", network)
		if err != nil {
			t.Logf("%s: %v (skipped)", network, err)
			continue
		}
		defer l.Close()
		const n = 11 // AllocsPerRun(10) calls its function 11 times
		want := make(map[netip.AddrPort]bool)
		for range n {
			c := dial(t, l.Addr().String())
			want[c.LocalAddr().(*net.TCPAddr).AddrPort()] = true
		}
		f, err := l.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fd := int(f.Fd())
		var got []netip.AddrPort
		got = slices.Grow(got, n)
		allocs := testing.AllocsPerRun(n-1, func() {
			nfd, peer, err := accept4(fd)
			if err != nil {
				t.Fatalf("accept4: %v", err)
			}
			unix.Close(nfd)
			got = append(got, peer)
		})
		if allocs != 0 {
			t.Errorf("%s: accept4 allocates %v times", network, allocs)
		}
		for _, p := range got {
			if !want[p] {
				t.Errorf("%s: peer %v is none of the clients %v", network, p, want)
			}
		}
		if len(got) != n {
			t.Errorf("%s: %d connections accepted, want %d", network, len(got), n)
		}
	}
}
