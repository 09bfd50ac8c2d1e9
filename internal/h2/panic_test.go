package h2_test

import (
	"io"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/h2"
	"github.com/stoahttp/stoa/internal/respond"
	"github.com/stoahttp/stoa/internal/syncbuf"
)

// panicky panics in Serve for /panic, and in the body it produces, after
// a first piece, for /stream-panic; it leaves the rest to the harness's
// handler.
type panicky struct{ *handler }

func (p panicky) Serve(req *respond.Request, resp *respond.Response) {
	switch req.Path {
	case "/panic":
		resp.Status = 200
		panic("core bug")
	case "/stream-panic":
		resp.Status = 200
		resp.Chunked = true
		resp.Stream = func(w io.Writer) error {
			io.WriteString(w, "first piece")
			panic("producer bug")
		}
	default:
		p.handler.Serve(req, resp)
	}
}

// Issue 10: a panic in the decision core, or in the goroutine producing a
// streamed body, over HTTP/2 ended the process. Now the core's is a 500 on
// its stream, the producer's (whose HEADERS are sent) a reset with
// INTERNAL_ERROR; each is logged with its stack, and the connection goes
// on serving.
func TestPanicAnsweredAndServerLives(t *testing.T) {
	var log syncbuf.Buffer
	panics := guard.New(&log)
	c := start(t, panicky{newHandler(t)}, &h2.Options{Panics: panics})
	c.get(1, "GET", "/panic")
	if r := c.wait(1)[0]; r.status != "500" || string(r.body) != "error" {
		t.Errorf("GET /panic: %q %q, want 500 \"error\"", r.status, r.body)
	}
	c.get(3, "GET", "/stream-panic")
	if r := c.wait(3)[0]; !r.reset || r.code != http2.ErrCodeInternal {
		t.Errorf("GET /stream-panic: status %q, reset %v %v; want the stream reset with INTERNAL_ERROR", r.status, r.reset, r.code)
	}
	c.get(5, "GET", "/small")
	if r := c.wait(5)[0]; r.status != "200" || string(r.body) != "hello" {
		t.Errorf("GET /small after the panics: %q %q, want 200 hello", r.status, r.body)
	}
	if n := panics.Count(); n != 2 {
		t.Errorf("%d panics counted, want 2", n)
	}
	for _, want := range []string{`panic answering GET "/panic" over HTTP/2.0: core bug`, `GET "/stream-panic" over HTTP/2.0: producer bug`, "goroutine "} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the error log lacks %q:\n%s", want, log.String())
		}
	}
}
