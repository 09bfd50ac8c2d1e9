//go:build linux

package evloop

import (
	"errors"
	"time"
	"unsafe"

	"github.com/stoahttp/stoa/internal/engine"
	"github.com/stoahttp/stoa/internal/finish"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/respond"
)

// proto names HTTP/1.x for the error log.
const proto = "HTTP/1.1"

var errClose = errors.New("close")

// exchange is one request and its answer. The loop answers with its own
// and lends it to a connection whose output outlives the call (a file, a
// large body, a goroutine's response).
type exchange struct {
	req      http1.Request
	creq     respond.Request
	resp     respond.Response
	start    time.Time
	refused  bool  // the head could not be parsed: logged with "-"
	discard  int64 // request body bytes still to read before answering
	streamed int64 // body bytes written by a Stream
	headAt   int   // where the response's head starts in the write buffer

	// w and its sock write the exchange when a goroutine serves it,
	// kept with it so that a handoff does not make them again.
	w    engine.Writer
	sock sock
}

// str views b as a string without copying, valid while b is unchanged.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// appendHead appends the head of x's response to c's output, and reports
// whether the connection must close after it.
func (c *conn) appendHead(x *exchange, closing bool) bool {
	if c.wbuf == nil {
		c.wbuf = c.l.getWbuf()
	}
	x.headAt = len(c.wbuf)
	req := &x.req
	if x.refused {
		req = nil
	}
	c.wbuf, closing = engine.AppendHead(c.wbuf, req, &x.resp, nil, time.Unix(0, c.now()), closing)
	return closing
}

// done records the exchange just answered: access log and metrics.
func (c *conn) done(x *exchange) {
	if !finish.Wanted(c.l.s.cfg.Log, &x.resp) {
		return
	}
	bodyLen := x.resp.BodyLen()
	if bodyLen < 0 {
		bodyLen = x.streamed
	}
	f := finish.Exchange{Start: x.start, Remote: c.remote, Peer: c.peer, Bytes: bodyLen}
	if !x.refused {
		req := &x.req
		f.Method, f.Target, f.Proto, f.Host = str(req.Method), str(req.Target), req.Proto(), str(req.Host)
		f.Referer, f.UserAgent = req.Fields.String(reqfield.Referer), req.Fields.String(reqfield.UserAgent)
	}
	finish.Done(c.l.s.cfg.Log, &f, &x.resp)
}

// release gives back what x's response holds (an open file).
func (x *exchange) release() {
	if x.resp.Handle != nil {
		x.resp.Handle.Release()
		x.resp.Handle = nil
		x.resp.File = nil
	}
	x.resp.Stream = nil
}
