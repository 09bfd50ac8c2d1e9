package enginetest

import (
	"bufio"
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/stoahttp/stoa/internal/engine"
)

// testIdleConnectionHoldsNoBuffers is issue 13's first step: a keep-alive
// connection waiting for its next request held its read and write buffers
// (4 KiB each) and its request and response state (about 2.5 KiB), about
// 13 KiB of heap per idle connection; without them the server and this
// test's client hold about 2 KiB per connection (the conns, the sockets).
// The goroutines' stacks are not heap and not counted here. (The event
// loops hold no goroutine and no buffer per idle connection.)
func testIdleConnectionHoldsNoBuffers(t *testing.T, e Engine) {
	const n = 1000
	const ceiling = 4 << 10 // heap bytes per idle connection, both ends
	_, addr := serveSite(t, e, engine.Config{}, 1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, n)
	br := bufio.NewReader(nil)
	for i := range conns {
		c := Dial(t, addr)
		io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
		br.Reset(c)
		if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
			t.Fatalf("connection %d: %d %q", i, resp.StatusCode, body)
		}
		conns[i] = c
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("per idle connection: heap %d B, stacks %d B", perConn, (int64(after.StackInuse)-int64(before.StackInuse))/n)
	if perConn > ceiling {
		t.Errorf("%d idle keep-alive connections hold %d heap bytes each, want at most %d: do they keep their buffers?", n, perConn, ceiling)
	}
	// They still serve their next request.
	for _, c := range conns[:10] {
		io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
		br.Reset(c)
		if resp, body := ReadResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
			t.Fatalf("after idling: %d %q", resp.StatusCode, body)
		}
	}
}
