//go:build linux

package evloop

import (
	"bufio"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
)

// fetcher answers /slow only once allowed to: asked with NoWait (on the
// loop) it leaves the request undecided, as a release store's site does
// for a blob not in its disk cache; asked without, it waits for release.
// Anything else it answers at once.
type fetcher struct {
	release chan struct{}
	waiting chan struct{} // gets a value when a /slow request starts waiting
	noWait  atomic.Int64  // /slow asked with NoWait
}

func (f *fetcher) Serve(req *respond.Request, resp *respond.Response) {
	body := "fast"
	if req.Path == "/slow" {
		if req.NoWait {
			f.noWait.Add(1)
			resp.WouldWait = true
			return
		}
		f.waiting <- struct{}{}
		<-f.release
		body = "slow"
	}
	resp.Status = 200
	resp.Head = header.New([]byte("Content-Length: 4\r\n"))
	resp.Body = []byte(body)
}

func (f *fetcher) Error(status int, method string, resp *respond.Response) {
	resp.Status = status
	resp.Head = header.New([]byte("Content-Length: 5\r\n"))
	resp.Body = []byte("error")
}

// TestFetchDoesNotHoldTheLoop: with one loop, a request whose answer needs
// a fetch (the Handler leaves it undecided when asked with NoWait) goes to
// a goroutine, which asks again and waits; meanwhile another connection
// on the same loop is answered, and so is nothing of the waiting one: its
// pipelined requests are answered after it, in order, and the connection
// is the loop's again after.
func TestFetchDoesNotHoldTheLoop(t *testing.T) {
	f := &fetcher{release: make(chan struct{}), waiting: make(chan struct{}, 1)}
	srv := New(f, engine.Config{}, Options{Loops: 1})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	var released sync.Once
	t.Cleanup(func() {
		released.Do(func() { close(f.release) })
		srv.Shutdown(t.Context())
	})
	addr := l.Addr().String()
	waiting := func() {
		t.Helper()
		select {
		case <-f.waiting:
		case <-time.After(10 * time.Second):
			t.Fatal("the /slow request never reached the Handler without NoWait")
		}
	}

	slow := dial(t, addr)
	io.WriteString(slow, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	waiting()
	// The fetch is under way: the loop answers another connection.
	fast := dial(t, addr)
	br := bufio.NewReader(fast)
	for range 3 {
		io.WriteString(fast, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "fast" {
			t.Fatalf("GET /fast while /slow is fetched: %d %q", resp.StatusCode, body)
		}
	}
	released.Do(func() { close(f.release) })
	sr := bufio.NewReader(slow)
	for i, want := range []string{"fast", "slow", "fast"} {
		if resp, body := readResponse(t, sr, "GET"); resp.StatusCode != 200 || body != want {
			t.Errorf("pipelined response %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
		}
	}
	// Back on the loop: /slow again goes away and is answered again.
	io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	waiting()
	if resp, body := readResponse(t, sr, "GET"); resp.StatusCode != 200 || body != "slow" {
		t.Errorf("second GET /slow: %d %q", resp.StatusCode, body)
	}
	if n := f.noWait.Load(); n != 2 {
		t.Errorf("/slow asked with NoWait %d times, want 2 (once per request, on the loop)", n)
	}
	if n := srv.OpenConns(); n != 2 {
		t.Errorf("%d connections open, want 2", n)
	}
}
