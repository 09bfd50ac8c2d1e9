package e2e

// The same limits on every protocol (issue 10): what a slow client may hold
// open, and for how long.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"
)

// TestH2SlowlorisClosed is issue 10's HTTP/2 slowloris: connections that
// each trickle one of three things (a header block in empty CONTINUATION
// frames, PINGs with no stream open, a request body a byte at a time) took
// every --max-conns slot and kept it, and a new client waited forever. Each
// must be closed within the configured timeouts, and a new client served
// meanwhile.
func TestH2SlowlorisClosed(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	forms := []struct {
		name  string
		open  func(c *h2Conn)
		every func(c *h2Conn)
	}{
		{"header block in CONTINUATIONs",
			func(c *h2Conn) {
				c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.headerBlock("/index.html"), EndStream: true})
			},
			func(c *h2Conn) { c.fr.WriteContinuation(1, false, nil) }},
		{"PINGs without a stream",
			func(c *h2Conn) {},
			func(c *h2Conn) { c.fr.WritePing(false, [8]byte{1}) }},
		{"body a byte at a time",
			func(c *h2Conn) { c.get(1, "/index.html", false) },
			func(c *h2Conn) { c.fr.WriteData(1, false, []byte{'x'}) }},
	}
	const perForm = 2
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0",
		"--read-header-timeout", timeout.String(), "--idle-timeout", timeout.String(),
		// perForm of each form take every slot but the one the plain
		// listener's accept loop holds while it waits.
		"--max-conns", "7")
	addr := httpsAddr(t, srv)

	type result struct {
		form   string
		lasted time.Duration
		end    h2End
	}
	results := make(chan result, len(forms)*perForm)
	var wg sync.WaitGroup
	for _, f := range forms {
		for range perForm {
			c := dialH2(t, addr, 0)
			ended := c.readAll()
			begin := time.Now()
			f.open(c)
			c.flush()
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A frame every 200ms, bounded by the wait for the end.
				for i := 0; i < int(2*ioTimeout/(200*time.Millisecond)); i++ {
					select {
					case end := <-ended:
						results <- result{f.name, time.Since(begin), end}
						return
					case <-time.After(200 * time.Millisecond):
					}
					f.every(c)
					c.flush()
				}
				results <- result{f.name, -1, h2End{}}
			}()
		}
	}

	// Every slot is taken: a new client is served only once a slot frees.
	resp, err := clients()["HTTP/2"].Get("https://" + addr + "/index.html")
	if err != nil {
		t.Errorf("a new client while the slots are taken: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("a new client while the slots are taken: status %d, want 200", resp.StatusCode)
		}
	}
	wg.Wait()
	close(results)
	for r := range results {
		// The timeout, and a second the server lingers after its GOAWAY
		// for the client to read it, and slack for a loaded machine.
		switch {
		case r.lasted < 0:
			t.Errorf("%s: connection still open after %v; --read-header-timeout and --idle-timeout are %v", r.form, 2*ioTimeout, timeout)
		case r.lasted > timeout+3*time.Second:
			t.Errorf("%s: connection closed after %v (%v), want within %v of --read-header-timeout and --idle-timeout %v",
				r.form, r.lasted, r.end, 3*time.Second, timeout)
		}
	}
}

// HTTP/3 took none of stoa's limits (issue 10): no idle timeout at the
// HTTP layer, so QUIC PINGs or a request stream whose header block never
// completes held a connection forever; quic-go's 1 MB header limit instead
// of stoa's 16 KiB; no bound on a request body trickled a byte at a time;
// and --max-conns did not count QUIC connections.
func TestHTTP3Limits(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	s := newSite(t)
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0",
		"--read-header-timeout", timeout.String(), "--idle-timeout", timeout.String())
	addr := httpsAddr(t, srv)
	dial := func(t *testing.T) *quic.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		c, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}},
			&quic.Config{KeepAlivePeriod: 100 * time.Millisecond})
		if err != nil {
			t.Fatalf("QUIC to %s: %v", addr, err)
		}
		t.Cleanup(func() { c.CloseWithError(0, "") })
		return c
	}
	// closedWithin fails unless the server closes c within the timeout
	// and slack, although c sends a PING every 100ms.
	closedWithin := func(t *testing.T, c *quic.Conn, what string) {
		t.Helper()
		select {
		case <-c.Context().Done():
		case <-time.After(timeout + 3*time.Second):
			t.Errorf("%s: connection still open after %v; --idle-timeout is %v", what, timeout+3*time.Second, timeout)
		}
	}

	t.Run("PINGs", func(t *testing.T) {
		t.Parallel()
		closedWithin(t, dial(t), "QUIC PINGs and no request")
	})
	t.Run("header block never ends", func(t *testing.T) {
		t.Parallel()
		c := dial(t)
		str, err := c.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		// A HEADERS frame (type 1) announcing 100 bytes, and 2 of them.
		str.Write([]byte{0x01, 0x40, 100, 0, 0})
		closedWithin(t, c, "a HEADERS frame never completed")
	})
	t.Run("header size", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest("GET", "https://"+addr+"/index.html", nil)
		req.Header.Set("X-Big", strings.Repeat("b", 20000))
		resp, err := clients()["HTTP/3"].Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 431 {
			t.Errorf("a 20,000-byte header field over HTTP/3: status %d, want 431 as over HTTP/1.1 and HTTP/2", resp.StatusCode)
		}
	})
	t.Run("body a byte at a time", func(t *testing.T) {
		t.Parallel()
		pr, pw := io.Pipe()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			defer pw.Close()
			for range 100 {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := pw.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}()
		req, _ := http.NewRequest("POST", "https://"+addr+"/index.html", pr)
		req.ContentLength = 1000
		begin := time.Now()
		resp, err := clients()["HTTP/3"].Do(req)
		if err != nil {
			t.Fatalf("a body trickled a byte at a time: %v after %v", err, time.Since(begin))
		}
		resp.Body.Close()
		if resp.StatusCode != 408 || time.Since(begin) > timeout+3*time.Second {
			t.Errorf("a body trickled a byte at a time: status %d after %v, want 408 within %v of --read-header-timeout %v",
				resp.StatusCode, time.Since(begin), 3*time.Second, timeout)
		}
	})
}

// TestHTTP3MaxConns checks that --max-conns counts QUIC connections with
// the TCP ones: over the cap, a new HTTP/3 connection waits until a slot
// frees.
func TestHTTP3MaxConns(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	// Each listener's accept loop holds a slot while it waits: the plain
	// one, the HTTPS one and the QUIC one take all three, and the first
	// QUIC connection takes over its loop's.
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--max-conns", "3")
	addr := httpsAddr(t, srv)
	newClient := func() *http.Client {
		return &http.Client{Timeout: ioTimeout, Transport: &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	get := func(c *http.Client) error {
		resp, err := c.Get("https://" + addr + "/index.html")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	a := newClient()
	if err := get(a); err != nil {
		t.Fatalf("first HTTP/3 connection: %v", err)
	}
	b := newClient()
	done := make(chan error, 1)
	go func() { done <- get(b) }()
	select {
	case err := <-done:
		t.Fatalf("second HTTP/3 connection served (%v) while the only slot is taken, want it to wait", err)
	case <-time.After(500 * time.Millisecond):
	}
	a.Transport.(*http3.Transport).Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("second HTTP/3 connection, once the first closed: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("second HTTP/3 connection not served within 3s of the first closing")
	}
	b.Transport.(*http3.Transport).Close()
}

// TestRedirectListenerLimits: the HTTP→HTTPS redirect listener kept
// limits of its own (5s for a head, 30s idle, 1 MB of head, no share of
// --max-conns) instead of the configured ones.
func TestRedirectListenerLimits(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	// The HTTPS accept loop holds one of the two slots while it waits,
	// the redirect listener's the other.
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--redirect-http", "--http3=false",
		"--read-header-timeout", "1s", "--idle-timeout", "1s", "--max-conns", "2")
	// Sequential: each connection takes the only slot.
	t.Run("half a head", func(t *testing.T) {
		c := dialAddr(t, srv.addr, s.marker)
		defer c.conn.Close()
		start := time.Now()
		c.send("GET /index.html HTTP/1.1\r\nHost: x\r\n")
		r, err := c.readResponse("GET", 4*time.Second)
		took := time.Since(start)
		switch {
		case err == nil && r.Status != 408:
			t.Errorf("stalled head: status %d, want 408 or a close", r.Status)
		case err != nil && isTimeout(err):
			t.Errorf("stalled head: neither 408 nor close after %v", took)
		case took > 2500*time.Millisecond:
			t.Errorf("stalled head: cut off after %v, want within about 1s (--read-header-timeout)", took)
		}
	})
	t.Run("idle after a request", func(t *testing.T) {
		c := dialAddr(t, srv.addr, s.marker)
		defer c.conn.Close()
		checkStatus(t, "GET", c.do(requestHost("GET", "example.com", "/index.html")), 308)
		c.expectClosed(2500*time.Millisecond, "idle redirect connection with --idle-timeout 1s")
	})
	t.Run("header size", func(t *testing.T) {
		c := dialAddr(t, srv.addr, s.marker)
		defer c.conn.Close()
		c.send(request("GET", "/index.html", "X-Big: "+strings.Repeat("b", 20000)))
		// net/http closes at once, unread bytes and all: the answer may
		// end in a reset.
		c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
		got, _ := io.ReadAll(c.conn)
		if !strings.HasPrefix(string(got), "HTTP/1.1 431 ") {
			t.Errorf("GET with a 20,000-byte field: %q, want 431 as from the engine's listeners", clip(got, 200))
		}
	})
	t.Run("max conns", func(t *testing.T) {
		a := dialAddr(t, srv.addr, s.marker)
		defer a.conn.Close()
		checkStatus(t, "first connection", a.do(requestHost("GET", "example.com", "/index.html")), 308)
		b := dialAddr(t, srv.addr, s.marker)
		defer b.conn.Close()
		b.send(requestHost("GET", "example.com", "/index.html"))
		if r, err := b.readResponse("GET", 300*time.Millisecond); err == nil {
			t.Errorf("second connection served (%d) while the only slot is taken, want it to wait", r.Status)
		}
		a.conn.Close()
		r, err := b.readResponse("GET", 3*time.Second)
		if err != nil {
			t.Fatalf("second connection not served within 3s of the first closing: %v", err)
		}
		checkStatus(t, "second connection", r, 308)
	})
}

// TestHTTP3WriteTimeout: over HTTP/3 an answer's writes had no bound, so a
// client that stopped reading held its request, and now that QUIC
// connections count against --max-conns, a slot, forever. Each write must
// make progress within --write-timeout, as over TCP.
func TestHTTP3WriteTimeout(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	s := newSite(t)
	big := patterned(32 << 20) // more than quic-go's client windows take unread
	s.write("big.bin", string(big))
	srv := startServer(t, s, "--tls-self-signed", "--https", "127.0.0.1:0", "--write-timeout", timeout.String())
	addr := httpsAddr(t, srv)
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.Close()
	// The client's timeout bounds the reading of the body too.
	resp, err := (&http.Client{Transport: tr, Timeout: 2*timeout + ioTimeout}).Get("https://" + addr + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The client stops reading for twice the write timeout: the server's
	// write waits for window the client does not give.
	time.Sleep(2 * timeout)
	got, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("the whole body (%d bytes) arrived after the client stopped reading for %v; want the stream reset after --write-timeout %v",
			len(got), 2*timeout, timeout)
	}
	if isTimeout(err) {
		t.Errorf("reading the body: %v after %d bytes; want the stream reset by the server", err, len(got))
	}
}
