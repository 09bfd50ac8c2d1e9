package h2_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/certs"
	"github.com/stoahttp/stoa/internal/h2"
)

// idleConns is how many connections the idle-memory tests hold open.
const idleConns = 500

// maxIdleH2C is the most an h2c connection idle after one request may
// cost the server, heap and stack, beyond its socket: its goroutine's
// stack (4 KiB; 8 with the race detector), the conn and its HPACK table
// (2 KiB), and no buffers (which were 24 KiB, and 16 more after a request
// with a body). Over TLS the stack is twice as large (handshake, and
// crypto/tls's Read).
// Of it, maxIdleHeap is the heap: 2 KiB, and what the garbage of many
// requests at once leaves in partly used spans.
const (
	maxIdleH2C  = 16 << 10
	maxIdleTLS  = 24 << 10
	maxIdleHeap = 7 << 10
)

// TestIdleConnMemory opens idleConns h2c connections, makes one request on
// each and measures what the server holds per connection once they are
// idle: before, each kept its 16 KiB read buffer and 8 KiB write buffer,
// and after a request with a body, the Framer's 16 KiB payload buffer too.
func TestIdleConnMemory(t *testing.T) {
	for _, tc := range []struct {
		name          string
		body, streams int
		held          bool
	}{
		{"GET", 0, 1, false},
		{"POST 16 KiB", 16 << 10, 1, false},
		{"100 GETs at once", 0, 100, false},
		// the streams open together: their map and queue grew
		{"100 GETs held back, then let go", 0, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			heap, stack := idleCost(t, idleConns, nil, idleRequest(tc.body, tc.streams, tc.held))
			if heap+stack > maxIdleH2C || heap > maxIdleHeap {
				t.Errorf("an idle h2c connection costs %d bytes of heap and %d of stack, want at most %d of heap, %d in all", heap, stack, maxIdleHeap, maxIdleH2C)
			}
		})
	}
}

// TestIdleTLSConnMemory is the same over TLS, where crypto/tls keeps its
// own record buffers, which stoa cannot release (counted in the bare
// connections' cost as far as the handshake grew them).
func TestIdleTLSConnMemory(t *testing.T) {
	cert, _, err := certs.SelfSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}}
	heap, stack := idleCost(t, idleConns, cfg, idleRequest(0, 1, false))
	if heap+stack > maxIdleTLS {
		t.Errorf("an idle TLS h2 connection costs %d bytes of heap and %d of stack, want at most %d in all", heap, stack, maxIdleTLS)
	}
}

// idleCost returns the heap and the stack bytes per connection that h2.Serve
// holds for n connections idle after one request each: what n such
// connections cost, less what n connections (after the TLS handshake, with
// cfg) cost with nothing served on them.
func idleCost(t *testing.T, n int, cfg *tls.Config, req *idleReq) (heap, stack int64) {
	base := inUse()
	bare := openIdle(t, n, cfg, nil)
	withConns := inUse()
	bare()
	before := inUse()
	served := openIdle(t, n, cfg, req)
	withH2 := inUse()
	served()
	heap = (withH2.heap - before.heap - (withConns.heap - base.heap)) / int64(n)
	stack = (withH2.stack - before.stack - (withConns.stack - base.stack)) / int64(n)
	t.Logf("per idle connection, beyond its socket: %d bytes of heap, %d of stack", heap, stack)
	return heap, stack
}

type memory struct{ heap, stack int64 }

// inUse returns the heap and stack in use after collecting the garbage,
// and the pools' victims with it.
func inUse() memory {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return memory{int64(ms.HeapInuse), int64(ms.StackInuse)}
}

// openIdle opens n loopback connections (TLS with cfg when not nil). With
// a req, each is served by h2.Serve and sends req, whose response it reads
// to its end; otherwise the server only accepts (and handshakes). It
// returns once all are idle, and the func it returns closes them.
func openIdle(t *testing.T, n int, cfg *tls.Config, req *idleReq) (closeAll func()) {
	t.Helper()
	serve := req != nil
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	o := &h2.Options{Handler: smallHandler{}, IdleTimeout: time.Minute, WriteTimeout: bound, ReadHeaderTimeout: bound, Closing: new(atomic.Bool)}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		servers []net.Conn
		shaking atomic.Int32 // handshakes under way, when not serving
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range n {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if cfg != nil {
				nc = tls.Server(nc, cfg)
			}
			mu.Lock()
			servers = append(servers, nc)
			mu.Unlock()
			wg.Add(1)
			shaking.Add(1)
			go func() {
				defer wg.Done()
				defer shaking.Add(-1)
				if serve {
					h2.Serve(nc, nil, o)
				} else if tc, ok := nc.(*tls.Conn); ok {
					tc.SetDeadline(time.Now().Add(bound))
					tc.Handshake()
				}
			}()
		}
	}()
	clients := make([]net.Conn, 0, n)
	closeAll = func() {
		for _, c := range clients {
			c.Close()
		}
		mu.Lock()
		for _, c := range servers {
			c.Close()
		}
		mu.Unlock()
		ln.Close()
		wg.Wait()
	}
	scratch := make([]byte, 16<<10)
	for range n {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			closeAll()
			t.Fatal(err)
		}
		if cfg != nil {
			nc = tls.Client(nc, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		}
		clients = append(clients, nc)
		nc.SetDeadline(time.Now().Add(bound))
		if tc, ok := nc.(*tls.Conn); ok {
			err = tc.Handshake()
		}
		if err == nil && serve {
			err = oneRequest(nc, req, scratch)
		}
		if err != nil {
			closeAll()
			t.Fatalf("connection %d: %v", len(clients), err)
		}
	}
	if !serve {
		// The servers' handshakes end after the clients'.
		waitFor(t, "the handshakes to end", func() bool { return shaking.Load() == 0 })
	}
	return closeAll
}

// idleRequest returns the client's preface, its SETTINGS and streams GETs
// of /small on streams 1, 3..., or with a body of that many bytes POSTs,
// each body in one DATA frame. Held, the SETTINGS give the responses no
// window, and a second one after the requests gives it.
func idleRequest(body, streams int, held bool) *idleReq {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	method, flags := "GET", byte(5) // END_HEADERS, END_STREAM
	if body > 0 {
		method, flags = "POST", 4
	}
	b := []byte(h2.Preface)
	// SETTINGS, empty or with INITIAL_WINDOW_SIZE 0
	b = append(b, 0, 0, 0, 4, 0, 0, 0, 0, 0)
	if held {
		b[len(b)-7] = 6
		b = append(b, 0, 4, 0, 0, 0, 0)
	}
	for id := byte(1); id < byte(2*streams); id += 2 {
		block.Reset()
		for _, f := range fields(method, "/small") {
			enc.WriteField(f)
		}
		b = append(b, byte(block.Len()>>16), byte(block.Len()>>8), byte(block.Len()), 1, flags, 0, 0, 0, id)
		b = append(b, block.Bytes()...)
		if body > 0 {
			b = append(b, byte(body>>16), byte(body>>8), byte(body), 0, 1, 0, 0, 0, id) // DATA, END_STREAM
			b = append(b, make([]byte, body)...)
		}
	}
	if held {
		// SETTINGS with INITIAL_WINDOW_SIZE 65536
		b = append(b, 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0)
	}
	return &idleReq{b, streams}
}

// idleReq is what each client sends, and the number of streams it opens.
type idleReq struct {
	b       []byte
	streams int
}

// oneRequest writes req and reads frames until every stream it opened has
// ended.
func oneRequest(nc net.Conn, req *idleReq, scratch []byte) error {
	if _, err := nc.Write(req.b); err != nil {
		return err
	}
	for open := req.streams; open > 0; {
		var fh [9]byte
		if _, err := io.ReadFull(nc, fh[:]); err != nil {
			return err
		}
		n := int(fh[0])<<16 | int(fh[1])<<8 | int(fh[2])
		if _, err := io.ReadFull(nc, scratch[:n]); err != nil {
			return err
		}
		typ, flags := fh[3], fh[4]
		// HEADERS or DATA with END_STREAM
		if (typ == 0 || typ == 1) && flags&1 != 0 {
			open--
		}
	}
	return nil
}
