//go:build linux

package evloop

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

// panicky panics in Serve for /panic, and in the body it produces for
// /stream-panic, after a first piece, and /stream-panic-late, after more
// than is kept before writing; it answers anything else 200.
type panicky struct{}

func (panicky) Serve(req *respond.Request, resp *respond.Response) {
	switch req.Path {
	case "/panic":
		resp.Status = 200
		panic("core bug")
	case "/stream-panic", "/stream-panic-late":
		resp.Status = 200
		resp.Chunked = true
		n := 10
		if req.Path == "/stream-panic-late" {
			n = 2 * engine.FlushThreshold
		}
		resp.Stream = func(w io.Writer) error {
			w.Write(make([]byte, n))
			panic("producer bug")
		}
	default:
		resp.Status = 200
		resp.Head = header.New([]byte("Content-Length: 2\r\n"))
		resp.Body = []byte("ok")
	}
}

func (panicky) Error(status int, method string, resp *respond.Response) {
	resp.Status = status
	resp.Head = header.New([]byte("Content-Length: 5\r\n"))
	resp.Body = []byte("error")
}

// As with package engine (issue 10): a panic in the decision core, or in
// a body producer, is a 500 while nothing of the answer has been sent,
// else a cut connection, logged with its stack, and the loop goes on
// serving.
func TestPanicAnsweredAndServerLives(t *testing.T) {
	var log syncbuf.Buffer
	panics := guard.New(&log)
	srv := New(panicky{}, engine.Config{Panics: panics}, Options{Loops: 1})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(t.Context()) })
	addr := l.Addr().String()

	c := dial(t, addr)
	io.WriteString(c, "GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 500 || body != "error" || !resp.Close {
		t.Errorf("GET /panic: %d %q, close %v; want 500 \"error\" and the connection closed", resp.StatusCode, body, resp.Close)
	}

	c = dial(t, addr)
	io.WriteString(c, "GET /stream-panic HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body = readResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 500 || body != "error" || !resp.Close {
		t.Errorf("GET /stream-panic: %d %q, close %v; want 500 \"error\" and the connection closed", resp.StatusCode, body, resp.Close)
	}

	c = dial(t, addr)
	io.WriteString(c, "GET /stream-panic-late HTTP/1.1\r\nHost: a\r\n\r\n")
	got, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(got), "HTTP/1.1 200") || strings.HasSuffix(string(got), "0\r\n\r\n") {
		t.Errorf("GET /stream-panic-late: %q...; want a 200 whose chunked body is cut off, not ended", got[:min(len(got), 100)])
	}

	c = dial(t, addr)
	io.WriteString(c, "GET /fine HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := readResponse(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("GET /fine after the panics: %d %q, want 200 ok", resp.StatusCode, body)
	}
	if n := panics.Count(); n != 3 {
		t.Errorf("%d panics counted, want 3", n)
	}
	for _, want := range []string{`panic answering GET "/panic" over HTTP/1.1: core bug`, `GET "/stream-panic" over HTTP/1.1: producer bug`, `GET "/stream-panic-late" over HTTP/1.1: producer bug`, "goroutine "} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the error log lacks %q:\n%s", want, log.String())
		}
	}
}
