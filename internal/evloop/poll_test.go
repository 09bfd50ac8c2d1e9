//go:build linux

package evloop

import (
	"bufio"
	"io"
	"net"
	"testing"

	"github.com/stoahttp/stoa/internal/engine"
)

// TestOneEmptyPollPerWait: a loop with nothing to do makes one empty
// epoll_pwait before it parks, and one when woken, which finds the event:
// two per request of a client that waits for each answer, on one
// keep-alive connection or on a connection each. The bug it pins: poll
// polled before rc.Read and rc.Read's callback polled again at once, two
// empty polls per wait and three epoll_pwait calls per request (issue 13:
// 1.53 per connection against nginx's 1.00).
func TestOneEmptyPollPerWait(t *testing.T) {
	const n = 50
	for _, keepAlive := range []bool{true, false} {
		name := map[bool]string{true: "keep-alive", false: "connection-close"}[keepAlive]
		t.Run(name, func(t *testing.T) {
			srv, addr := startServer(t, engine.Config{}, Options{Loops: 1})
			var c net.Conn
			var br *bufio.Reader
			roundTrip := func(req string) {
				if !keepAlive {
					c = dial(t, addr)
					br = bufio.NewReader(c)
					req += "Connection: close\r\n"
				}
				io.WriteString(c, req+"\r\n")
				if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "alpha" {
					t.Fatalf("response %d %q, want 200 \"alpha\"", resp.StatusCode, body)
				}
				if !keepAlive {
					c.Close()
				}
			}
			if keepAlive {
				c = dial(t, addr)
				br = bufio.NewReader(c)
			}
			// The first one starts the loop and, kept alive, is accepted
			// before the count.
			roundTrip("GET /a.txt HTTP/1.1\r\nHost: x\r\n")
			srv.mu.Lock()
			lp := srv.loops[0]
			srv.mu.Unlock()
			// Read on the loop, by a task: a wake-up whose own poll finds
			// the task's event.
			polls := func() int {
				got := make(chan int, 1)
				lp.post(func() { got <- lp.polls })
				return <-got
			}
			before := polls()
			for range n {
				roundTrip("GET /a.txt HTTP/1.1\r\nHost: x\r\n")
			}
			// The empty poll after the first task, two per request, the one
			// that finds the second task, and a few to spare: the netpoller
			// may report an event late, after a poll of the loop took it,
			// and wake the loop for nothing. The bug made 3 per request.
			got, want := polls()-before, 2*n+2+n/5
			t.Logf("%d epoll_pwait calls for %d requests", got, n)
			if got > want {
				t.Errorf("%d epoll_pwait calls for %d requests, one at a time; want at most %d (one empty poll per wait)", got, n, want)
			}
		})
	}
}
