// Package enginetest is the black-box suite of an HTTP/1.1 engine: the
// behaviour, limit, timeout and shutdown tests that package engine (a
// goroutine per connection) and package evloop (event loops) must both
// pass, written once and run by each package's tests over raw loopback
// TCP. Tests of what only one engine has (TLS, h2c, epoll, timers) stay
// with that engine.
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
	"github.com/stoahttp/stoa/internal/respond"
)

// Server is what the suite drives of an engine.
type Server interface {
	Serve(l net.Listener) error
	StopListener(l net.Listener) error
	Shutdown(ctx context.Context) error
	OpenConns() int
}

// Engine is an engine under test.
type Engine struct {
	// New makes a server that answers with h under cfg. loops is how
	// many event loops a test wants, for an engine that has them (0:
	// its default); an engine without loops ignores it.
	New func(h respond.Handler, cfg engine.Config, loops int) Server
	// PoolsIdleState says that an idle connection puts its exchange in
	// a sync.Pool, which the race detector empties at random, so the
	// tests that count allocations skip under it.
	PoolsIdleState bool
}

// Run runs every test of the suite against e, each as a subtest.
func Run(t *testing.T, e Engine) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Engine)
	}{
		{"PipelinedRequestsAnswerInOrder", testPipelinedRequestsAnswerInOrder},
		{"KeepAliveServesManyRequests", testKeepAliveServesManyRequests},
		{"ExpectContinue", testExpectContinue},
		{"RefusedHeads", testRefusedHeads},
		{"ConnectionPersistence", testConnectionPersistence},
		{"LargeFileAndRanges", testLargeFileAndRanges},
		{"ChunkedStream", testChunkedStream},
		{"ServeFromMemSource", testServeFromMemSource},
		{"PanicAnsweredAndServerLives", testPanicAnsweredAndServerLives},
		{"SlowHeadTimesOut", testSlowHeadTimesOut},
		{"IdleTimeoutCloses", testIdleTimeoutCloses},
		{"WriteTimeoutCloses", testWriteTimeoutCloses},
		{"SlowReadersDoNotDelayOthers", testSlowReadersDoNotDelayOthers},
		{"MaxConns", testMaxConns},
		{"RequestWaitingAtAccept", testRequestWaitingAtAccept},
		{"SilentConnectionHoldsSlotUntilIdleTimeout", testSilentConnectionHoldsSlotUntilIdleTimeout},
		{"IdleConnectionHoldsNoBuffers", testIdleConnectionHoldsNoBuffers},
		{"ShutdownDrainsResponseInProgress", testShutdownDrainsResponseInProgress},
		{"ShutdownAnswersNewConnection", testShutdownAnswersNewConnection},
		{"ShutdownTimeoutClosesAll", testShutdownTimeoutClosesAll},
		{"StopListener", testStopListener},
		{"ServeCachedFileAllocatesNothing", testServeCachedFileAllocatesNothing},
		{"ServeCachedFileLoggedAllocatesNothing", testServeCachedFileLoggedAllocatesNothing},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, e) })
	}
}

// Serve serves h with e under cfg on a kernel-picked loopback port until
// the test ends, and returns the server and its address.
func Serve(t testing.TB, e Engine, h respond.Handler, cfg engine.Config, loops int) (Server, string) {
	t.Helper()
	srv := e.New(h, cfg, loops)
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

// serveSite serves Site(t, cfg.Metrics) with e; see Serve.
func serveSite(t testing.TB, e Engine, cfg engine.Config, loops int) (Server, string) {
	t.Helper()
	return Serve(t, e, Site(t, cfg.Metrics), cfg, loops)
}

// Dial connects to addr, with a 10s deadline so that a test never hangs,
// and closes the connection when the test ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// ReadResponse reads a response to method and its whole body.
func ReadResponse(t testing.TB, br *bufio.Reader, method string) (*http.Response, string) {
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

// ExpectEOF fails unless the server closes c within d.
func ExpectEOF(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("%s: %v, want the connection closed within %v", what, err, d)
	}
}

// ShutdownTaken waits until srv holds n connections, starts its Shutdown
// (5s) and returns once the listener at addr refuses connections, that is
// once Shutdown has begun; Shutdown's result arrives on the channel.
func ShutdownTaken(t *testing.T, srv Server, addr string, n int) <-chan error {
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
