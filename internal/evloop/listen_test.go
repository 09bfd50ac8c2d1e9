//go:build linux

package evloop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/engine"
)

// listenRaw returns a loopback listener prepared as the loops prepare
// theirs, and its descriptor (non-blocking, as Go's are).
func listenRaw(t *testing.T) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	rc, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	if !prepareListener(fd) {
		t.Fatal("TCP_DEFER_ACCEPT could not be set")
	}
	return l, fd
}

// acceptWithin calls accept4 on fd until it returns a connection, for d
// at most.
func acceptWithin(t *testing.T, fd int, d time.Duration) int {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(time.Millisecond) {
		nfd, _, err := accept4(fd)
		if err == nil {
			t.Cleanup(func() { unix.Close(nfd) })
			return nfd
		}
		if err != unix.EAGAIN || time.Now().After(deadline) {
			t.Fatalf("accept4: %v", err)
		}
	}
}

// TestListenerDefersAcceptAndSetsNoDelayOnce: the loops' listener has
// TCP_DEFER_ACCEPT, so accept returns a connection only once its request
// is there (the read right after accept finds it), and TCP_NODELAY,
// which the accepted socket inherits, so the loop need not set it per
// connection.
func TestListenerDefersAcceptAndSetsNoDelayOnce(t *testing.T) {
	l, fd := listenRaw(t)
	if v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT); err != nil || v != deferAccept {
		t.Errorf("listener's TCP_DEFER_ACCEPT = %d, %v; want %d", v, err, deferAccept)
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if nfd, _, err := accept4(fd); err != unix.EAGAIN {
		unix.Close(nfd)
		t.Fatalf("accept4 before the client sent anything: %v, want EAGAIN (accept deferred)", err)
	}
	if n, err := synRecv(uint16(l.Addr().(*net.TCPAddr).Port)); err != nil || n != 1 {
		t.Errorf("synRecv with one connection held by the kernel = %d, %v; want 1", n, err)
	}
	const req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	io.WriteString(c, req)
	nfd := acceptWithin(t, fd, 5*time.Second)
	buf := make([]byte, 64)
	if n, err := unix.Read(nfd, buf); string(buf[:max(n, 0)]) != req {
		t.Errorf("first read right after accept: %q, %v; want the request", buf[:max(n, 0)], err)
	}
	if v, err := unix.GetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY); err != nil || v != 1 {
		t.Errorf("accepted socket's TCP_NODELAY = %d, %v; want 1, inherited from the listener", v, err)
	}
	if n, err := synRecv(uint16(l.Addr().(*net.TCPAddr).Port)); err != nil || n != 0 {
		t.Errorf("synRecv once the connection is accepted = %d, %v; want 0", n, err)
	}
}

// TestShutdownAnswersConnectionHeldByKernel pins the request that deferred
// accept would lose at every restart: a client connected just before
// Shutdown, but not yet accepted since it had sent nothing, had its
// request reset when Shutdown closed the listener, which drops the
// connections the kernel holds. Now Shutdown keeps the listener until
// none is held (FirstRequestGrace at most), and the request is answered.
func TestShutdownAnswersConnectionHeldByKernel(t *testing.T) {
	srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	// Serve prepares the listener: wait until a connection is held, not
	// accepted, so that this one is held too.
	probe := dial(t, addr)
	io.WriteString(probe, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, bufio.NewReader(probe), "GET")
	c := dial(t, addr)
	if n := srv.OpenConns(); n != 1 {
		t.Fatalf("OpenConns = %d, want 1 (the probe): the connection was not held by the kernel", n)
	}
	done := shutdownHolding(t, srv)
	answersLast(t, c, "first request of a connection made before Shutdown")
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestShutdownGraceCountsFromShutdown pins a difference from package
// engine: the loops gave a connection that had sent nothing yet
// FirstRequestGrace from its accept, so one accepted more than that
// before Shutdown was closed at once, its request of a moment later
// unanswered. As with package engine, the grace now runs from the start
// of Shutdown.
func TestShutdownGraceCountsFromShutdown(t *testing.T) {
	srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	awaitAccepted(t, srv)
	// Accepted (the kernel's deferral ended): let its own grace pass.
	time.Sleep(engine.FirstRequestGrace + 100*time.Millisecond)
	done := shutdownHolding(t, srv)
	answersLast(t, c, fmt.Sprintf("first request, sent as Shutdown began, of a connection accepted %v before", engine.FirstRequestGrace))
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestStopListenerAnswersQueuedConnection pins a reset: a connection the
// kernel had queued for accept when the listener was taken out of the
// loops was reset by the close that followed. The loop now takes what is
// queued before it lets the listener go.
func TestStopListenerAnswersQueuedConnection(t *testing.T) { stopWithQueued(t, 1) }

// TestStopListenerAnswersLongQueue pins the same reset for a queue longer
// than a loop accepts at a time: the loop took 16 queued connections
// before the close, which reset the rest. It now takes the whole queue.
func TestStopListenerAnswersLongQueue(t *testing.T) { stopWithQueued(t, 40) }

// stopWithQueued stops a listener while n connections, each having sent
// a request, wait in its accept queue, and checks that each is answered.
func stopWithQueued(t *testing.T, n int) {
	srv := New(testSite(t), engine.Config{}, Options{Loops: 1})
	defer srv.Shutdown(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	probe := dial(t, l.Addr().String())
	io.WriteString(probe, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, bufio.NewReader(probe), "GET")
	// Hold the loop, so that StopListener's task waits behind it and the
	// next connections wait in the accept queue. (Serve made the loops
	// under srv.mu.)
	srv.mu.Lock()
	lp := srv.loops[0]
	srv.mu.Unlock()
	release := make(chan struct{})
	lp.post(func() { <-release })
	stopped := make(chan error, 1)
	go func() { stopped <- srv.StopListener(l) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		lp.mu.Lock()
		posted := len(lp.tasks)
		lp.mu.Unlock()
		if posted > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("StopListener did not reach the loop within 5s")
		}
	}
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial(t, l.Addr().String())
		io.WriteString(conns[i], "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if held, err := synRecv(port); err == nil && held == 0 {
			break // queued for accept
		}
		if time.Now().After(deadline) {
			t.Fatal("the connections were not queued for accept within 5s")
		}
	}
	close(release)
	for i, c := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("request on connection %d of %d queued as its listener stopped: %v, want it answered", i+1, n, err)
		}
		if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(body) != "alpha" {
			t.Errorf("request on connection %d of %d queued as its listener stopped: %d %q", i+1, n, resp.StatusCode, body)
		}
	}
	<-stopped
	if err := <-served; err != engine.ErrListenerStopped {
		t.Errorf("Serve after StopListener: %v, want ErrListenerStopped", err)
	}
}

// TestShutdownClosesDeferredListenerDespiteNewConnections pins a flake of
// enginetest's ShutdownAnswersNewConnection under load: Shutdown kept a
// deferred listener open while the kernel held any connection for it,
// those made after Shutdown began included, so a steady trickle of new
// connections (there, the test's own probes for the refusing listener)
// kept it open for the whole first-request grace and past it; a
// connection accepted before Shutdown then had its grace run out, and
// its first request, sent once the listener refused, was met with a FIN.
// Shutdown now waits only for the connections the kernel held when it
// began.
func TestShutdownClosesDeferredListenerDespiteNewConnections(t *testing.T) {
	srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
	c := dial(t, addr)
	awaitAccepted(t, srv)
	// Once Shutdown began, a new silent connection every 20 ms, each one
	// held by the kernel for a second, until the listener refuses.
	stop := make(chan struct{})
	trickled := make(chan struct{})
	testHookShutdownHolding = func() {
		go func() {
			defer close(trickled)
			for range 500 {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer nc.Close()
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	defer func() { testHookShutdownHolding = nil }()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	select {
	case <-trickled:
	case <-time.After(5 * time.Second):
		close(stop)
		<-trickled
		t.Fatal("the listener still accepted new connections 5s after Shutdown began")
	}
	answersLast(t, c, "first request, sent once the listener refused, of a connection accepted before Shutdown")
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// awaitAccepted waits until srv holds a connection: the silent one a test
// dialled, once the kernel's deferral ended.
func awaitAccepted(t *testing.T, srv *Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); srv.OpenConns() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the silent connection was not accepted within 5s")
		}
	}
}

// answersLast sends a first request on c and requires it answered with
// 200 alpha and the connection closed after it, as during Shutdown; what
// names the request in failures.
func answersLast(t *testing.T, c net.Conn, what string) {
	t.Helper()
	io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: %v, want it answered", what, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "alpha" || !resp.Close {
		t.Errorf("%s: %d %q, close %v; want 200 alpha and the connection closed", what, resp.StatusCode, body, resp.Close)
	}
}

// shutdownHolding starts srv's Shutdown and returns once it holds its
// deferred listener open (testHookShutdownHolding); Shutdown's result
// comes on the channel.
func shutdownHolding(t *testing.T, srv *Server) <-chan error {
	t.Helper()
	holding := make(chan struct{})
	testHookShutdownHolding = func() { close(holding) }
	t.Cleanup(func() { testHookShutdownHolding = nil })
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	<-holding
	return done
}
