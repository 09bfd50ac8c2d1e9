//go:build linux

package evloop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/enginetest"
	"github.com/stoahttp/stoa/internal/respond"
)

// loops is this package's engine, for the suite every HTTP/1.1 engine
// passes.
var loops = enginetest.Engine{
	New: func(h respond.Handler, cfg engine.Config, n int) enginetest.Server {
		return New(h, cfg, Options{Loops: n})
	},
}

// TestHTTP1 runs the black-box suite of an HTTP/1.1 engine against the
// event loops.
func TestHTTP1(t *testing.T) { enginetest.Run(t, loops) }

// startServer serves enginetest.Site with the loop engine on a
// kernel-picked loopback port.
func startServer(t testing.TB, cfg engine.Config, o Options) (*Server, string) {
	t.Helper()
	return serveHandler(t, enginetest.Site(t, cfg.Metrics), cfg, o)
}

// serveHandler serves h on the loops as startServer does.
func serveHandler(t testing.TB, h respond.Handler, cfg engine.Config, o Options) (*Server, string) {
	t.Helper()
	e := enginetest.Engine{New: func(h respond.Handler, cfg engine.Config, _ int) enginetest.Server {
		return New(h, cfg, o)
	}}
	srv, addr := enginetest.Serve(t, e, h, cfg, 0)
	return srv.(*Server), addr
}

// testSite is the suite's tree, served by the tests of this package.
func testSite(t testing.TB) respond.Handler { return enginetest.Site(t, false) }

var (
	dial         = enginetest.Dial
	readResponse = enginetest.ReadResponse
)

// BenchmarkServeSmallFile measures one keep-alive round trip over loopback
// for a 1 KiB file answered from memory, by each engine, in the shape of
// package engine's benchmark:
//
//	go test -run XXX -bench ServeSmallFile -count 10 ./internal/evloop | benchstat -col /engine -
func BenchmarkServeSmallFile(b *testing.B) {
	for _, eng := range []string{"goroutine", "loop"} {
		b.Run(fmt.Sprintf("engine=%s", eng), func(b *testing.B) {
			enginetest.RoundTrips(b, benchServer(b, eng))
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
	goroutines := enginetest.Engine{New: func(h respond.Handler, cfg engine.Config, _ int) enginetest.Server {
		return engine.New(h, cfg)
	}}
	_, addr := enginetest.Serve(b, goroutines, enginetest.Site(b, false), engine.Config{}, 0)
	return addr
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
