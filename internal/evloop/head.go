//go:build linux

package evloop

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/stoahttp/stoa/internal/errpage"
	"github.com/stoahttp/stoa/internal/finish"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/httpdate"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/respond"
)

// These are package engine's values, for the same behaviour on the wire.
// TODO(issue 13): one engine for HTTP/1.1 owns them once the loop is
// measured against it.
const (
	initialReadBuf    = 4 << 10
	copyBodyLimit     = 16 << 10
	flushThreshold    = 64 << 10
	fileTail          = 4 << 10
	lingerTime        = 2 * time.Second
	lingerBytes       = 256 << 10
	firstRequestGrace = time.Second
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

// statusLines holds "HTTP/1.1 NNN Reason\r\n" for every status code.
var statusLines = func() (t [600][]byte) {
	for code := 100; code < 600; code++ {
		t[code] = []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + errpage.StatusText(code) + "\r\n")
	}
	return t
}()

// dateLine caches "Date: <now>\r\n" (RFC 9110 §6.6.1) for the current second.
type dateLine struct {
	sec  int64
	line []byte
}

var curDate atomic.Pointer[dateLine]

func appendDate(b []byte, now time.Time) []byte {
	sec := now.Unix()
	d := curDate.Load()
	if d == nil || d.sec != sec {
		d = &dateLine{sec: sec, line: httpdate.Append([]byte("Date: "), now)}
		d.line = append(d.line, "\r\n"...)
		curDate.Store(d)
	}
	return append(b, d.line...)
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
	b := append(c.wbuf, statusLines[resp.Status]...)
	if !resp.NoServer {
		b = append(b, "Server: stoa\r\n"...)
	}
	b = appendDate(b, time.Now())
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

func (c *conn) fillCoreRequest(x *exchange) {
	req := &x.req
	x.creq = respond.Request{
		Method:   str(req.Method),
		Path:     str(req.Path),
		Query:    str(req.Query),
		HasQuery: req.HasQuery,
		Host:     str(req.Host),
		Peer:     c.peer,
	}
	x.creq.SetFields(&req.Fields)
}

// done records the exchange just answered: access log and metrics.
func (c *conn) done(x *exchange) {
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
