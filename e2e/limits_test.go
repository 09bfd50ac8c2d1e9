package e2e

// The same limits on every protocol (issue 10): what a slow client may hold
// open, and for how long.

import (
	"io"
	"sync"
	"testing"
	"time"

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
