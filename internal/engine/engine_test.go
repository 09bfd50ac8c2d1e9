package engine

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/content"
	"github.com/stoahttp/stoa/internal/metrics"
	"github.com/stoahttp/stoa/internal/resolve"
	"github.com/stoahttp/stoa/internal/respond"
)

// startServer serves a small tree on a kernel-picked loopback port.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	root := t.TempDir()
	for name, body := range map[string]string{
		"index.html": strings.Repeat("<p>hello</p>\n", 80),
		"a.txt":      "alpha",
		"big.bin":    strings.Repeat("x", 3<<20),
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := resolve.New(root, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	site := respond.New(content.New(res, content.Options{Revalidate: time.Hour}), respond.Options{})
	var h Handler = site
	if cfg.Metrics {
		h = observed{site, metrics.New().Site("bench")}
	}
	srv := New(h, cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		res.Close()
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

func TestPipelinedRequestsAnswerInOrder(t *testing.T) {
	_, addr := startServer(t, Config{})
	c := dial(t, addr)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"+
		"HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	want := []struct {
		method string
		status int
		body   string
	}{{"GET", 200, "alpha"}, {"HEAD", 200, ""}, {"GET", 404, "*"}, {"GET", 200, "alpha"}, {"GET", 200, "alpha"}}
	for i, w := range want {
		resp, body := readResponse(t, br, w.method)
		if resp.StatusCode != w.status || w.body != "*" && body != w.body {
			t.Errorf("response %d: %d %q, want %d %q", i, resp.StatusCode, body, w.status, w.body)
		}
	}
	if n, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close, read %v %v; want EOF", n, err)
	}
}

func TestExpectContinue(t *testing.T) {
	_, addr := startServer(t, Config{})
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
}

func TestSlowHeadTimesOut(t *testing.T) {
	_, addr := startServer(t, Config{ReadHeaderTimeout: 300 * time.Millisecond})
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

func TestShutdownDrainsResponseInProgress(t *testing.T) {
	srv, addr := startServer(t, Config{})
	c := dial(t, addr)
	idle := dial(t, addr)
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
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
	// The idle connection is closed promptly.
	idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection during shutdown: %v, want EOF", err)
	}
	time.Sleep(100 * time.Millisecond)
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != 3<<20 {
		t.Errorf("download during shutdown: %d bytes, %v; want all %d", n, err, 3<<20)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("new connection accepted after shutdown")
	}
}

func TestServeCachedFileAllocatesNothing(t *testing.T) {
	testServeCachedFileAllocatesNothing(t, Config{})
}

// TestServeCachedFileLoggedAllocatesNothing is the same with the access
// log and metrics on: the finishing step (package finish) records the
// exchange without allocating.
func TestServeCachedFileLoggedAllocatesNothing(t *testing.T) {
	log, err := accesslog.Open(filepath.Join(t.TempDir(), "access.log"), accesslog.Combined)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	testServeCachedFileAllocatesNothing(t, Config{Log: log, Metrics: true})
}

func testServeCachedFileAllocatesNothing(t *testing.T, cfg Config) {
	if raceEnabled {
		// A connection waiting for its next request returns its
		// exchange to a sync.Pool, which the race detector empties at random.
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	_, addr := startServer(t, cfg)
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
	// Allocations are counted process-wide, client included; the client
	// above allocates nothing per round trip.
	if n := testing.AllocsPerRun(200, roundTrip); n > 0 {
		t.Errorf("cached small-file GET: %v allocs per request, want 0", n)
	}
}

// BenchmarkServeSmallFile measures one keep-alive round trip over loopback
// for a 1 KiB file answered from memory.
// observed is a site whose answers are counted, as package site does.
type observed struct {
	*respond.Site
	o respond.Observer
}

func (s observed) Serve(req *respond.Request, resp *respond.Response) {
	resp.Observer = s.o
	s.Site.Serve(req, resp)
}

// BenchmarkServeSmallFile measures a cached small-file GET end to end over
// a socket; the metrics variant adds what the admin endpoint's counting
// costs (two clock reads and an Observe). Compare them with benchstat:
//
//	go test -run XXX -bench ServeSmallFile -count 10 ./internal/engine | benchstat -col /metrics -
func BenchmarkServeSmallFile(b *testing.B) {
	for _, m := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", m), func(b *testing.B) { benchServeSmallFile(b, Config{Metrics: m}) })
	}
}

func benchServeSmallFile(b *testing.B, cfg Config) {
	_, addr := startServer(b, cfg)
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

func TestChunkedStream(t *testing.T) {
	root := t.TempDir()
	big := strings.Repeat("body { color: red; margin: 0 auto; }\n", 20000) // 740 KiB of CSS
	os.WriteFile(filepath.Join(root, "big.css"), []byte(big), 0o644)
	res, _ := resolve.New(root, resolve.Options{})
	defer res.Close()
	site := respond.New(content.New(res, content.Options{}), respond.Options{})
	srv := New(site, Config{})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	c := dial(t, l.Addr().String())
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
	// The connection is still in step for the next request.
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != big {
		t.Errorf("request after the stream: %d, %d bytes", resp.StatusCode, len(body))
	}

	// HTTP/1.0 has no chunks: the body ends with the connection.
	c10 := dial(t, l.Addr().String())
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

// TestShutdownAnswersNewConnection pins a request lost on every restart
// under load: a connection accepted just before Shutdown was closed before
// its first request arrived, and its client, which cannot retry a request
// on a connection the server never answered on, failed. Now the request is
// answered (and the connection closed after it), while a new connection
// that sends nothing is closed once time.Second has passed.
func TestShutdownAnswersNewConnection(t *testing.T) {
	srv, addr := startServer(t, Config{})
	c := dial(t, addr)
	silent := dial(t, addr)
	done := shutdownTaken(t, srv, addr, 2)
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != "alpha" || !resp.Close {
		t.Errorf("first request after Shutdown began: %d %q, close %v; want 200 alpha and the connection closed", resp.StatusCode, body, resp.Close)
	}
	silent.SetReadDeadline(time.Now().Add(FirstRequestGrace + 2*time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a new connection that sends nothing during shutdown: %v, want EOF within %v", err, FirstRequestGrace)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// lateListener's first Accept returns only once Close was called, with a
// connection of the listener under it: a connection accepted just as
// Shutdown closes the listener.
type lateListener struct {
	net.Listener
	waiting chan struct{} // closed when Accept waits
	closed  chan struct{}
	once    sync.Once
	calls   int
}

func (l *lateListener) Accept() (net.Conn, error) {
	if l.calls++; l.calls > 1 {
		return nil, net.ErrClosed
	}
	close(l.waiting)
	<-l.closed
	return l.Listener.Accept()
}

func (l *lateListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// TestShutdownAnswersConnectionAcceptedLate pins the other half of the
// loss TestShutdownAnswersNewConnection pins: a connection whose Accept
// returned as Shutdown began was closed at once, unanswered.
func TestShutdownAnswersConnectionAcceptedLate(t *testing.T) {
	res, err := resolve.New(t.TempDir(), resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	srv := New(respond.New(content.New(res, content.Options{Revalidate: time.Hour}), respond.Options{}), Config{})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	l := &lateListener{Listener: inner, waiting: make(chan struct{}), closed: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := dial(t, inner.Addr().String())
	<-l.waiting
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	io.WriteString(c, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := readResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 404 || !resp.Close {
		t.Errorf("request on the connection accepted as Shutdown began: %d, close %v; want 404 and the connection closed", resp.StatusCode, resp.Close)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve: %v, want ErrServerClosed", err)
	}
}

// shutdownTaken waits until srv holds n connections, starts its Shutdown
// (5s) and returns once the listener at addr refuses connections, that is
// once Shutdown has begun; Shutdown's result arrives on the channel.
func shutdownTaken(t *testing.T, srv *Server, addr string, n int) <-chan error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the engine did not take %d connections within 5s", n)
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
			return done
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts 5s after Shutdown")
		}
		time.Sleep(time.Millisecond)
	}
}
