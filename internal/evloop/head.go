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
	resp := &x.resp
	if c.wbuf == nil {
		c.wbuf = c.l.getWbuf()
	}
	x.headAt = len(c.wbuf)
	b := append(c.wbuf, engine.StatusLine(resp.Status)...)
	if !resp.NoServer {
		b = append(b, "Server: stoa\r\n"...)
	}
	b = engine.AppendDate(b, time.Unix(0, c.now()))
	b = append(b, resp.Head.HTTP1()...)
	b = append(b, resp.Extra...)
	if resp.Chunked && x.req.Minor == 0 && !x.refused {
		// HTTP/1.0 has no chunked coding: the end of the body is the end
		// of the connection (RFC 9112 §6.3).
		closing = true
	} else if resp.Chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if closing {
		b = append(b, "Connection: close\r\n"...)
	} else if x.req.KeepAlive {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	c.wbuf = append(b, "\r\n"...)
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
