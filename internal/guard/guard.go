// Package guard owns what stoa does when the code deciding or producing an
// answer fails: a panic in the decision core (respond.Handler) or in a body
// produced as it is sent, and a status that cannot be sent. It is the one
// finishing behaviour every protocol adapter shares (the HTTP/1.1 and
// HTTP/2 engines and the HTTP/3 adapter): a panic is logged once, with its
// stack, counted, and turned into a 500 error page while nothing of the
// answer has been sent; after that, the adapter ends the connection
// (HTTP/1.1) or resets the stream (HTTP/2, HTTP/3). The process, and every
// other request, goes on, as net/http's conn.serve does.
package guard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/respond"
)

// Panics logs and counts the panics recovered while answering. Its methods
// are safe for concurrent use; a nil *Panics is Default.
type Panics struct {
	mu  sync.Mutex // one panic's lines are written together
	out io.Writer
	n   atomic.Int64
}

// New returns a Panics that logs to out, the error log.
func New(out io.Writer) *Panics { return &Panics{out: out} }

// Default logs to the process's standard error; it is what a nil *Panics
// uses.
var Default = New(os.Stderr)

// Count returns how many panics were recovered.
func (p *Panics) Count() int64 { return p.or().n.Load() }

func (p *Panics) or() *Panics {
	if p == nil {
		return Default
	}
	return p
}

// ErrPanic is what a body producer that panicked returns (Stream): the
// answer is cut off where it was.
var ErrPanic = errors.New("guard: panic while producing the body")

// Note logs v, the value a deferred recover returned while answering req
// over proto ("HTTP/1.1", "HTTP/2.0", "HTTP/3.0"), with the stack of the
// goroutine that panicked, and counts it. It must be called from the
// deferred function itself, for the stack to be the panic's.
func (p *Panics) Note(v any, proto string, req *respond.Request) {
	p = p.or()
	p.n.Add(1)
	method, path := "-", "-"
	if req != nil && req.Method != "" {
		method, path = req.Method, req.Path
	}
	msg := fmt.Appendf(nil, "stoa: panic answering %s %q over %s: %v\n%s", method, path, proto, v, debug.Stack())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Write(msg)
}

// Serve asks h for the answer to req in resp. A panic, or a status that
// is not a final one (200-599: a 1xx would be taken for an interim
// response, and anything else cannot be framed), leaves resp holding the
// 500 error page instead; Serve reports whether h panicked, after which an
// HTTP/1.1 connection is not kept. A request asked with NoWait may be
// left undecided instead (resp.WouldWait), for the engine to ask again.
func (p *Panics) Serve(proto string, h respond.Handler, req *respond.Request, resp *respond.Response) (panicked bool) {
	if p.try(proto, req, func() { h.Serve(req, resp) }) {
		panicked = true
	} else if resp.Status >= 200 && resp.Status <= 599 || req.NoWait && resp.WouldWait && resp.Status == 0 {
		return false
	}
	p.internalError(proto, h, req, resp)
	return panicked
}

// Error is h.Error(status, method, resp) with Serve's guard: for answers
// decided without asking Serve (a malformed request, a timeout).
func (p *Panics) Error(proto string, h respond.Handler, status int, method string, resp *respond.Response) (panicked bool) {
	req := &respond.Request{Method: method}
	if p.try(proto, req, func() { h.Error(status, method, resp) }) {
		panicked = true
	} else if resp.Status >= 200 && resp.Status <= 599 {
		return false
	}
	p.internalError(proto, h, req, resp)
	return panicked
}

// Stream runs produce, resp.Stream, on w. A panic is noted and returned as
// ErrPanic.
func (p *Panics) Stream(proto string, req *respond.Request, produce func(io.Writer) error, w io.Writer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.Note(v, proto, req)
			err = ErrPanic
		}
	}()
	return produce(w)
}

// try calls f, and notes and reports a panic.
func (p *Panics) try(proto string, req *respond.Request, f func()) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			p.Note(v, proto, req)
			panicked = true
		}
	}()
	f()
	return false
}

// internalError replaces resp with the 500 error page; should h fail at
// that too, with a built-in one.
func (p *Panics) internalError(proto string, h respond.Handler, req *respond.Request, resp *respond.Response) {
	Discard(resp)
	if p.try(proto, req, func() { h.Error(500, req.Method, resp) }) || resp.Status != 500 {
		Discard(resp)
		resp.Status = 500
		resp.Head = fallback500Head
		if req.Method != "HEAD" {
			resp.Body = fallback500Body
		}
	}
}

// Discard gives back what resp holds (a file handle) and clears it.
func Discard(resp *respond.Response) {
	if h := resp.Handle; h != nil {
		resp.Handle, resp.File = nil, nil
		h.Release()
	}
	resp.Reset()
}

var (
	fallback500Body = []byte("500 Internal Server Error\n")
	fallback500Head = header.New([]byte("Content-Type: text/plain; charset=utf-8\r\nContent-Length: 26\r\nX-Content-Type-Options: nosniff\r\n"))
)
