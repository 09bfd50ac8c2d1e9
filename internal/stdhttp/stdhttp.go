// Package stdhttp owns serving stoa's decision core through net/http's
// http.Handler interface, the one the HTTP/3 server (quic-go/http3) calls.
// It turns an *http.Request into a respond.Request, asks the Handler, and
// writes the respond.Response to the http.ResponseWriter, so that HTTP/3
// answers exactly as stoa's own HTTP/1.1 engine (internal/engine)
// does: the same status, header lines, bodies, ETags, ranges and encodings,
// the same access log lines and metrics.
//
// What differs is only what the protocols require: the connection-specific
// fields HTTP/2 and HTTP/3 forbid (RFC 9113 §8.2.2, RFC 9114 §4.2) are left
// out, the server adds Date and frames the body itself.
//
// ListenHTTP3 runs quic-go's HTTP/3 server with the engine's limits
// (http3.go): timeouts, header size, and a share of its connection slots.
package stdhttp

import (
	"net/http"
	"sync"
	"time"

	"github.com/stoahttp/stoa/internal/accesslog"
	"github.com/stoahttp/stoa/internal/finish"
	"github.com/stoahttp/stoa/internal/guard"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/respond"
)

// Handler is what decides responses (internal/vhost.Switch, or a single
// *respond.Site); see respond.Handler.
type Handler = respond.Handler

// Options are the choices New takes besides the Handler.
type Options struct {
	// Log receives one record per answered request; nil logs nothing.
	Log *accesslog.Logger
	// Extra holds complete header lines ("Name: value\r\n") added to
	// every response, e.g. Strict-Transport-Security or Alt-Svc.
	Extra []byte
	// Proto is the protocol named in the access log when the request's
	// Proto is empty, e.g. "HTTP/3.0".
	Proto string
	// Panics logs and counts a panic of the Handler or of a body
	// producer (nil: guard.Default).
	Panics *guard.Panics
	// BodyTimeout bounds the reading of a request body before it is
	// answered (the engine's ReadHeaderTimeout, as over HTTP/1.1 and
	// HTTP/2); a body that does not arrive in time is answered 408.
	// Zero is no bound.
	BodyTimeout time.Duration
	// WriteTimeout is how long each write of the answer may wait for the
	// client to take it (the engine's WriteTimeout); past it the stream
	// is reset. Zero is no bound.
	WriteTimeout time.Duration
}

// MaxBodyDiscard is the most request body bytes read (and dropped) before
// answering (respond.MaxBodyDiscard); a larger one is left unread, and the
// server resets the stream once the answer is sent.
const MaxBodyDiscard = respond.MaxBodyDiscard

// adapter is the http.Handler New returns.
type adapter struct {
	h            Handler
	log          *accesslog.Logger
	extra        string // Options.Extra, converted once
	extraLines   int    // an upper bound of the lines in extra
	proto        string
	panics       *guard.Panics
	bodyTimeout  time.Duration
	writeTimeout time.Duration
}

// New returns an http.Handler that answers every request through h.
func New(h Handler, o Options) http.Handler {
	return &adapter{h: h, log: o.Log, extra: string(o.Extra), extraLines: lineCount(o.Extra), proto: o.Proto, panics: o.Panics,
		bodyTimeout: o.BodyTimeout, writeTimeout: o.WriteTimeout}
}

// state is the per-request storage, pooled so that a request allocates
// little beyond what net/http allocates for it anyway.
type state struct {
	req  respond.Request
	resp respond.Response
	cw   countWriter
	dw   deadlineWriter
	// fields keeps the request's field lines as over every protocol; its
	// buffers are kept across requests.
	fields reqfield.Sink

	wroteHeader bool // WriteHeader was called: too late for an error page
}

var statePool = sync.Pool{New: func() any { return new(state) }}

// ServeHTTP answers r.
func (a *adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := statePool.Get().(*state)
	defer st.release()
	if a.writeTimeout > 0 {
		if dl, ok := w.(writeDeadliner); ok {
			st.dw = deadlineWriter{ResponseWriter: w, dl: dl, timeout: a.writeTimeout}
			w = &st.dw
		}
	}

	fillRequest(&st.req, r, st)
	// The guard answers 500 for a panic in the core, or for a status
	// that is not a final one (200-599): 1xx would go out as an interim
	// response, anything else makes net/http panic.
	if !a.discardBody(w, r) {
		a.panics.Error(a.protoOf(r), a.h, 408, st.req.Method, &st.resp)
	} else if st.fields.Expect().Other {
		// As the HTTP/1.1 engine: an expectation we cannot meet is
		// answered with 417 (RFC 9110 §10.1.1).
		a.panics.Error(a.protoOf(r), a.h, 417, st.req.Method, &st.resp)
	} else {
		a.panics.Serve(a.protoOf(r), a.h, &st.req, &st.resp)
	}
	if err := a.write(w, r, st); err != nil {
		// The head is gone already: as the engine cuts the connection, the
		// stream is reset, so the client sees an incomplete body rather
		// than a short one that looks whole. Like the engine, nothing is
		// logged for a response that was not delivered. The deferred
		// release still runs.
		panic(http.ErrAbortHandler)
	}
	bodyLen := st.resp.BodyLen()
	if bodyLen < 0 {
		bodyLen = st.cw.n
	}
	a.done(r, st, start, bodyLen)
}

// protoOf names r's protocol for the logs.
func (a *adapter) protoOf(r *http.Request) string {
	if r.Proto == "" {
		return a.proto
	}
	return r.Proto
}

// releaseFile gives back the file handle of the response, if any.
func (st *state) releaseFile() {
	if h := st.resp.Handle; h != nil {
		st.resp.Handle = nil
		st.resp.File = nil
		h.Release()
	}
}

// release returns st to the pool, cleared.
func (st *state) release() {
	st.releaseFile()
	st.resp.Reset()
	st.req = respond.Request{}
	st.cw = countWriter{}
	st.dw = deadlineWriter{}
	st.wroteHeader = false
	st.fields.Reset()
	statePool.Put(st)
}

// done records the exchange of r: access log and metrics.
func (a *adapter) done(r *http.Request, st *state, start time.Time, bodyLen int64) {
	x := finish.Exchange{
		Start: start, Remote: r.RemoteAddr, Peer: st.req.Peer,
		Method: r.Method, Proto: a.protoOf(r), Host: r.Host, Bytes: bodyLen,
		Referer: st.fields.String(reqfield.Referer), UserAgent: st.fields.String(reqfield.UserAgent),
	}
	if a.log != nil {
		x.Target = target(r) // built for the log only: it may allocate
	}
	finish.Done(a.log, &x, &st.resp)
}

// writeDeadliner is a ResponseWriter that bounds its writes (quic-go's).
type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// deadlineWriter moves the write deadline before each write, so that
// every write must make progress within timeout, as the engine's do. A
// deadline within a tenth of the timeout of the one wanted is kept.
type deadlineWriter struct {
	http.ResponseWriter
	dl      writeDeadliner
	timeout time.Duration
	at      time.Time
}

func (d *deadlineWriter) extend() {
	now := time.Now()
	if at := now.Add(d.timeout); at.Sub(d.at) > d.timeout/10 {
		d.at = at
		d.dl.SetWriteDeadline(at)
	}
}

func (d *deadlineWriter) WriteHeader(status int) {
	d.extend()
	d.ResponseWriter.WriteHeader(status)
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.extend()
	return d.ResponseWriter.Write(p)
}

// Flush flushes the underlying writer, which may wait for the client.
func (d *deadlineWriter) Flush() {
	if f, ok := d.ResponseWriter.(http.Flusher); ok {
		d.extend()
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
