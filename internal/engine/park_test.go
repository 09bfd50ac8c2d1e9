//go:build linux

package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/engine"
)

// A parkProto is a kind of connection that parks while idle.
type parkProto struct {
	name string
	lc   engine.ListenerConfig
	tls  string // the ALPN protocol a TLS client asks for; "" = plaintext
	h2   bool
}

var parkProtos = []parkProto{
	{name: "HTTP/1.1"},
	{name: "HTTP/1.1 over TLS", tls: "http/1.1"},
	{name: "h2c", lc: engine.ListenerConfig{H2C: true}, h2: true},
	{name: "h2 over TLS", lc: engine.ListenerConfig{HTTP2: true}, tls: "h2", h2: true},
}

// serveProto serves the test tree with p's listener and cfg. Its idle
// connections park after 20 ms (ParkAfter), for the tests' timeouts.
func serveProto(t *testing.T, p parkProto, cfg engine.Config) (*engine.Server, string) {
	t.Helper()
	was := engine.ParkAfter
	engine.ParkAfter = 20 * time.Millisecond
	t.Cleanup(func() { engine.ParkAfter = was })
	srv, _ := startServer(t, cfg)
	lc := p.lc
	if p.tls != "" {
		lc.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(t)}, NextProtos: []string{"h2", "http/1.1"}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(l, lc)
	return srv, l.Addr().String()
}

// parkClient is a client connection of one parkProto.
type parkClient struct {
	net.Conn
	br   *bufio.Reader
	fr   *http2.Framer // HTTP/2 only
	dec  *hpack.Decoder
	next uint32 // the next stream ID
}

func dialProto(t *testing.T, p parkProto, addr string) *parkClient {
	t.Helper()
	var c net.Conn = dial(t, addr)
	if p.tls != "" {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{p.tls}})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("%s: handshake: %v", p.name, err)
		}
		if got := tc.ConnectionState().NegotiatedProtocol; got != p.tls {
			t.Fatalf("%s: negotiated %q", p.name, got)
		}
		c = tc
	}
	k := &parkClient{Conn: c, br: bufio.NewReader(c)}
	if p.h2 {
		io.WriteString(c, http2.ClientPreface)
		k.fr = http2.NewFramer(c, k.br)
		k.fr.WriteSettings()
		k.dec = hpack.NewDecoder(4096, nil)
		k.next = 1
	}
	return k
}

// get asks for path and returns the response's status and body.
func (k *parkClient) get(t *testing.T, path string) (int, string) {
	t.Helper()
	if k.fr == nil {
		io.WriteString(k, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := readResponse(t, k.br, "GET")
		return resp.StatusCode, body
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "x"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	id := k.next
	k.next += 2
	k.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	status, body := 0, ""
	for range 100 {
		f, err := k.fr.ReadFrame()
		if err != nil {
			t.Fatalf("h2 GET %s: %v", path, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				k.fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			fields, err := k.dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatalf("h2 GET %s: %v", path, err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					status, _ = strconv.Atoi(hf.Value)
				}
			}
		case *http2.DataFrame:
			body += string(f.Data())
		}
		if f.Header().StreamID == id && f.Header().Flags.Has(http2.FlagDataEndStream) {
			return status, body
		}
	}
	t.Fatalf("h2 GET %s: no end of stream in 100 frames", path)
	return 0, ""
}

// readToEnd reads until the server closes the connection, and says what
// was wrong: a timeout, bytes of HTTP/1.1, an HTTP/2 connection closed
// without a GOAWAY.
func (k *parkClient) readToEnd() error {
	if k.fr == nil {
		rest, err := io.ReadAll(k.br)
		if err == nil && len(rest) > 0 {
			err = fmt.Errorf("closed after %q, want nothing", rest)
		}
		return err
	}
	goAway := false
	for {
		f, err := k.fr.ReadFrame()
		if err == io.EOF && !goAway {
			return errors.New("closed without a GOAWAY")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, ok := f.(*http2.GoAwayFrame); ok {
			goAway = true
		}
	}
}

// waitOpenConns polls until srv counts n connections: a connection is
// closed before it is forgotten.
func waitOpenConns(t *testing.T, srv *engine.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenConns() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections counted, want %d", srv.OpenConns(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGoroutines polls until at most want goroutines run, and returns how
// many run then.
func waitGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestIdleConnectionsHaveNoGoroutine is issue 13's idle connection of about
// 1 KiB: a keep-alive connection waiting for its next request kept a
// goroutine, whose stack (4 to 8 KiB) was most of its cost. Parked, it has
// none, and it is served again when its client sends a request.
func TestIdleConnectionsHaveNoGoroutine(t *testing.T) {
	const n = 100
	for _, p := range parkProtos {
		t.Run(p.name, func(t *testing.T) {
			_, addr := serveProto(t, p, engine.Config{})
			// A first connection starts what lives on (the poller).
			dialProto(t, p, addr).get(t, "/a.txt")
			before := runtime.NumGoroutine()
			conns := make([]*parkClient, n)
			for i := range conns {
				conns[i] = dialProto(t, p, addr)
				if status, body := conns[i].get(t, "/a.txt"); status != 200 || body != "alpha" {
					t.Fatalf("connection %d: %d %q", i, status, body)
				}
			}
			if got := waitGoroutines(before + n/10); got > before+n/10 {
				t.Errorf("%d idle %s connections: %d goroutines, %d before; want about as many", n, p.name, got, before)
			}
			for i, c := range conns {
				if status, body := c.get(t, "/index.html"); status != 200 || len(body) != 13*80 {
					t.Fatalf("connection %d after idling: %d, %d bytes", i, status, len(body))
				}
			}
		})
	}
}

// waitParked polls until n of srv's connections are parked.
func waitParked(t *testing.T, srv *engine.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for engine.ParkedConns(srv) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections parked, want %d", engine.ParkedConns(srv), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestParkedConnectionIdleTimeout: a parked connection is closed once its
// idle timeout passes, as one waiting in its goroutine was (an HTTP/2 one
// after a GOAWAY).
func TestParkedConnectionIdleTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, p := range parkProtos {
		t.Run(p.name, func(t *testing.T) {
			srv, addr := serveProto(t, p, engine.Config{IdleTimeout: timeout})
			c := dialProto(t, p, addr)
			c.get(t, "/a.txt")
			waitParked(t, srv, 1)
			start := time.Now()
			c.SetReadDeadline(start.Add(timeout + 5*time.Second))
			if err := c.readToEnd(); err != nil {
				t.Fatalf("parked connection at its idle timeout: %v", err)
			}
			waitOpenConns(t, srv, 0)
		})
	}
}

// TestShutdownClosesParkedConnections: Shutdown closes parked idle
// connections at once, as it closes those waiting in their goroutines;
// it waits for none of them.
func TestShutdownClosesParkedConnections(t *testing.T) {
	const n = 20
	for _, p := range parkProtos {
		t.Run(p.name, func(t *testing.T) {
			srv, addr := serveProto(t, p, engine.Config{})
			conns := make([]*parkClient, n)
			for i := range conns {
				conns[i] = dialProto(t, p, addr)
				conns[i].get(t, "/a.txt")
			}
			waitParked(t, srv, n)
			if got := srv.OpenConns(); got != n {
				t.Errorf("%d connections counted while parked, want %d", got, n)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v; want the parked connections closed", err)
			}
			for i, c := range conns {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if err := c.readToEnd(); err != nil {
					t.Errorf("connection %d at Shutdown: %v", i, err)
				}
			}
			if got := srv.OpenConns(); got != 0 {
				t.Errorf("%d connections counted after Shutdown", got)
			}
		})
	}
}

// TestWaitingConnectionMissesNoBytes: a connection waiting for its next
// request in its goroutine (before it parks) is served when the request
// came between its last read and the start of its wait. The runtime's poller
// reports only a socket that becomes readable, so such a request was left
// unanswered until the sweep parked the connection; with no sweep, until
// its idle timeout.
func TestWaitingConnectionMissesNoBytes(t *testing.T) {
	was := engine.ParkAfter
	engine.ParkAfter = time.Hour // no sweep: the connection waits in its goroutine
	t.Cleanup(func() { engine.ParkAfter = was })
	_, addr := startServer(t, engine.Config{})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 2000 {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("request %d on one connection: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
}
