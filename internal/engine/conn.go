package engine

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stoahttp/stoa/internal/clientip"
	"github.com/stoahttp/stoa/internal/finish"
	"github.com/stoahttp/stoa/internal/gather"
	"github.com/stoahttp/stoa/internal/h2"
	"github.com/stoahttp/stoa/internal/http1"
	"github.com/stoahttp/stoa/internal/idlepark"
	"github.com/stoahttp/stoa/internal/reqfield"
	"github.com/stoahttp/stoa/internal/respond"
)

// How HTTP/1.1 connections use their buffers and close, the same with
// package evloop, which takes these values.
const (
	// InitialReadBuf is the size of a connection's read buffer; it grows
	// for a longer head, up to the header limit.
	InitialReadBuf = 4 << 10
	// CopyBodyLimit: response bodies up to this size are copied behind their header in
	// one buffer, so a small response is one write; larger ones go out with
	// writev, without the copy.
	CopyBodyLimit = 16 << 10
	// FlushThreshold: a connection's pending output is written once it holds this much,
	// even if more pipelined requests wait.
	FlushThreshold = 64 << 10
	// LingerTime and LingerBytes bound how long and how much of an unread
	// request body is drained before a connection is closed, so the client
	// reads our answer instead of a reset (RFC 9112 §9.6).
	LingerTime  = 2 * time.Second
	LingerBytes = 256 << 10
	// FirstRequestGrace is how long a connection accepted just before a
	// shutdown may take to send its first request, which is then answered:
	// its client cannot tell a close from a refusal and would not retry,
	// whereas one closed between requests is retried (RFC 9112 §9.3.1).
	// A client sends its request right behind the handshake; a second
	// covers a lost segment's retransmission. net/http likewise spares new
	// connections in Shutdown.
	FirstRequestGrace = time.Second
)

type conn struct {
	s  *Server
	lc *ListenerConfig
	nc net.Conn
	// base is the accepted connection, under TLS when there is TLS. It
	// never changes, so Shutdown may use it while the connection's
	// goroutine replaces nc; deadlines and Close set on it reach nc too.
	base   net.Conn
	raw    syscall.RawConn // nil until needed, and unless TCP
	noRaw  bool
	remote string     // for the access log
	peer   netip.Addr // the client's address, or its proxy's

	// The buffers and the state of an exchange are taken from exchPool
	// while the connection is busy; an idle one waits for its next
	// request without them (read). Their fields are used as the conn's.
	*exch
	r, w int // rbuf[r:w] holds bytes read and not yet parsed

	// readFn is tryRead, made once per pooled conn so that waiting on the
	// raw connection does not allocate a closure; rn and rerr are its
	// results.
	readFn func(fd uintptr) bool
	rn     int
	rerr   error

	headStart    int64 // unix ns when the current head's first byte was read
	readDeadline int64 // unix ns of the deadline set on nc, 0 = none
	// writeDeadline keeps the Writer's write deadline while the
	// connection is idle, without its exchange.
	writeDeadline int64
	opened        int64 // unix ns of the first read
	// started is set once a request head has arrived, or HTTP/2 serves
	// the connection; Shutdown reads it to spare the others for
	// FirstRequestGrace.
	started atomic.Bool

	// What parks the connection while it waits idle (park.go). waiter,
	// serveFn and probeFn are made once per pooled conn.
	begun bool     // serve began: the connection is resumed
	h2    *h2.Conn // the HTTP/2 connection, when it speaks HTTP/2
	// tb is under TLS. It is allocated per connection, not pooled: a
	// producer goroutine of HTTP/2 may set a deadline through it after
	// the conn went back to connPool.
	tb      *tlsBase
	waiter  *idlepark.Waiter
	probeFn func(fd uintptr) bool
	praw    syscall.RawConn // of base, for probe
	fd      int
	noPark  bool
	idleAt  int64 // unix ns when the current idle wait ends, 0 = none
	pbuf    []byte
	pn      int
	perr    error
	// While it waits in its goroutine (waitIdle), gstate and waitSince
	// tell the sweep since when; waitFn is waitOnce.
	gstate    atomic.Int32
	waitSince atomic.Int64
	waitArmed bool
	waitFn    func(fd uintptr) bool
	// waitStart is when the current wait for the client began (unix ns,
	// 0 = none); quick counts the last ones that ended with bytes within
	// ParkAfter, up to 2. noWait and readable are waitOnce's.
	waitStart int64
	quick     uint8
	noWait    bool
	readable  bool
}

// connPool recycles connections: a client that opens a connection per
// request (Connection: close) would otherwise cost a conn and its garbage
// every time.
var connPool sync.Pool

// Set in init: serve, which a pooled conn's Waiter resumes, returns conns
// to connPool.
func init() {
	connPool.New = func() any {
		c := &conn{}
		c.readFn = c.tryRead
		c.waiter = idlepark.NewWaiter(c.serve)
		c.probeFn = c.probeOnce
		c.waitFn = c.waitOnce
		return c
	}
}

// exch is what a connection holds only while it has bytes to parse or
// write: its buffers and the state of the request it answers. An idle
// keep-alive connection gives it back to exchPool, so that many idle
// clients cost neither (about 11 KiB each).
type exch struct {
	rbuf []byte
	// wr writes the responses, with its Buf as the write buffer.
	wr Writer

	req  http1.Request
	creq respond.Request
	resp respond.Response
}

var exchPool = sync.Pool{New: func() any {
	x := &exch{rbuf: make([]byte, InitialReadBuf)}
	x.wr.Buf = make([]byte, 0, 4<<10)
	x.wr.Req, x.wr.CReq, x.wr.Resp = &x.req, &x.creq, &x.resp
	return x
}}

// takeExch gives the connection its buffers and exchange state.
func (c *conn) takeExch() {
	x := exchPool.Get().(*exch)
	c.exch = x
	x.wr.Sock, x.wr.Cfg, x.wr.Handler, x.wr.Extra = c, &c.s.cfg, c.s.h, c.lc.Extra
	x.wr.Gather = c.gatherConn()
	x.wr.deadline = c.writeDeadline
}

// gatherConn returns the connection under c's TLS, which gathers records
// (handshake made it), or nil when c is not a TLS connection.
func (c *conn) gatherConn() *gather.Conn {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	g, _ := tc.NetConn().(*gather.Conn)
	return g
}

// dropExch returns the connection's exchange, which holds nothing
// pending, to exchPool. The request it holds points into its own read
// buffer only, so it is left for the next Parse to reset.
func (c *conn) dropExch() {
	x := c.exch
	c.exch = nil
	c.writeDeadline = x.wr.deadline
	x.wr.Sock, x.wr.Handler, x.wr.Extra, x.wr.Gather = nil, nil, nil, nil
	clear(x.wr.bufs)
	exchPool.Put(x)
}

func newConn(s *Server, nc net.Conn, lc *ListenerConfig) *conn {
	c := connPool.Get().(*conn)
	c.s, c.lc, c.nc, c.base = s, lc, nc, nc
	c.takeExch()
	c.fd = -1 // until a read through praw tells
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.peer = ta.AddrPort().Addr().Unmap()
	}
	if s.cfg.Log != nil {
		c.remote = nc.RemoteAddr().String()
	}
	return c
}

// release returns c to the pool, and its exchange to theirs.
func (c *conn) release() {
	if c.exch != nil {
		c.resp.Reset()
		c.dropExch()
	}
	c.waiter.Stop()
	*c = conn{readFn: c.readFn, waiter: c.waiter, probeFn: c.probeFn, waitFn: c.waitFn}
	connPool.Put(c)
}

// rawConn returns the connection's file descriptor access for TCP, and nil
// for other kinds of connection.
func (c *conn) rawConn() syscall.RawConn {
	if c.raw == nil && !c.noRaw {
		if tc, ok := c.nc.(*net.TCPConn); ok {
			c.raw, _ = tc.SyscallConn()
		}
		c.noRaw = c.raw == nil
	}
	return c.raw
}

// Write, WriteBuffers, SetWriteDeadline and Raw make c its Writer's Sock.
func (c *conn) Write(p []byte) (int, error) { return c.nc.Write(p) }

func (c *conn) WriteBuffers(bufs *net.Buffers) (int64, error) { return bufs.WriteTo(c.nc) }

func (c *conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

func (c *conn) Raw() syscall.RawConn { return c.rawConn() }

// errClose ends the connection loop without an error worth reporting.
var errClose = errors.New("close")

// proto names HTTP/1.x for the error log.
const proto = "HTTP/1.1"

// serve serves the connection until it ends or parks, waiting idle; it
// is also how a parked connection resumes.
func (c *conn) serve() {
	var until int64
	defer func() {
		// The decision core's panics are recovered where it is called;
		// this is for the engine's own, which end only the connection.
		if v := recover(); v != nil {
			c.s.cfg.Panics.Note(v, proto, nil)
			until = 0
		}
		if until != 0 {
			return // parked: the connection is no longer this goroutine's
		}
		c.closeFile()
		c.nc.Close()
		c.s.forget(c)
		c.release()
	}()
	for {
		if until = c.run(); until == 0 || c.park(until) {
			return
		}
	}
}

// run serves the connection from where it is until it ends (0) or waits
// idle for its client, and then returns when that wait ends (unix ns), for
// serve to park it.
func (c *conn) run() int64 {
	if !c.begun {
		c.begun = true
		if c.s.cfg.ProxyProtocol && c.peer.IsValid() {
			if err := c.readProxyHeader(); err != nil {
				return 0
			}
		}
		if c.lc.TLS != nil {
			if !c.handshake() {
				return 0
			}
		}
		if c.lc.H2C && c.lc.TLS == nil && c.h2cPreface() {
			c.startH2(c.rbuf[c.r:c.w])
		}
	}
	if c.h2 != nil {
		return c.h2.Run()
	}
	for {
		if c.r == c.w && c.started.Load() && c.canPark() {
			until, err := c.idle()
			if err != nil {
				return 0
			}
			if until != 0 {
				return until
			}
		}
		if err := c.serveOne(); err != nil {
			return 0
		}
	}
}

// handshake makes the connection a TLS one and hands it to the HTTP/2
// server when the client chose "h2". It reports whether the connection
// goes on.
func (c *conn) handshake() bool {
	c.tb = &tlsBase{Conn: c.nc, c: c}
	if c.r < c.w {
		c.tb.pre = c.rbuf[c.r:c.w]
	}
	// Gathered, an HTTP/2 write of many records, or a piece of a file
	// copied over HTTP/1.1, takes one system call.
	tc := tls.Server(gather.New(c.tb), c.lc.TLS)
	c.r, c.w = 0, 0
	tc.SetDeadline(time.Now().Add(c.s.cfg.ReadHeaderTimeout))
	// Checked after the deadline is set, as in fill: Shutdown sets the
	// flag, then its own deadline, so a handshake under way when it
	// begins has FirstRequestGrace at most either way.
	if c.s.closing.Load() {
		tc.SetDeadline(time.Now().Add(FirstRequestGrace))
	}
	if err := tc.Handshake(); err != nil {
		return false
	}
	tc.SetDeadline(time.Time{})
	c.readDeadline, c.wr.deadline = 0, 0
	c.nc = tc
	c.raw, c.noRaw = nil, true // sendfile cannot write through TLS
	c.wr.Gather = c.gatherConn()
	if tc.ConnectionState().NegotiatedProtocol == "h2" && c.lc.HTTP2 {
		c.startH2(nil)
	}
	return true
}

// startH2 makes the connection an HTTP/2 one, served from then on by
// c.h2; pre holds the bytes of it already read.
func (c *conn) startH2(pre []byte) {
	// HTTP/2 winds down with GOAWAY, woken by Shutdown's past deadline.
	c.started.Store(true)
	var readNow func([]byte) (int, error)
	var waitIdle func() bool
	if !c.tlsPending() {
		// HTTP/2 has buffers and request state of its own: the
		// connection's go back to the pool for its life. Not while TLS
		// may still read bytes of rbuf (tb.pre).
		pre = bytes.Clone(pre)
		c.dropExch()
		if c.canPark() {
			readNow, waitIdle = c.readNow, c.waitIdle
		}
	}
	cfg := &c.s.cfg
	c.h2 = h2.NewConn(c.nc, pre, &h2.Options{
		Handler:           c.s.h,
		Log:               cfg.Log,
		Extra:             c.lc.Extra,
		Peer:              c.peer,
		Remote:            c.remote,
		IdleTimeout:       cfg.IdleTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		MaxBodyDiscard:    cfg.MaxBodyDiscard,
		MaxHeaderBytes:    cfg.Limits.MaxHeaderBytes,
		Closing:           &c.s.closing,
		Panics:            cfg.Panics,
		ReadNow:           readNow,
		WaitIdle:          waitIdle,
	})
}

// h2cPreface reads until the connection's first bytes either are the
// HTTP/2 connection preface or cannot become it.
func (c *conn) h2cPreface() bool {
	const preface = h2.Preface
	for {
		have := c.rbuf[c.r:c.w]
		n := min(len(have), len(preface))
		if string(have[:n]) != preface[:n] {
			return false
		}
		if n == len(preface) {
			return true
		}
		if err := c.fill(); err != nil {
			return false
		}
	}
}

// readProxyHeader reads the PROXY protocol header that starts the
// connection and takes the client address from it. A peer outside
// TrustedProxies (when that is set) may not speak for anyone, and a
// connection without a valid header is closed: once a listener expects the
// header, guessing would let a client pose as its own proxy.
func (c *conn) readProxyHeader() error {
	if t := c.s.cfg.TrustedProxies; t != nil && t.Len() > 0 && !t.Contains(c.peer) {
		return errClose
	}
	for {
		src, n, err := clientip.ParseProxy(c.rbuf[c.r:c.w])
		if err == clientip.ErrIncomplete {
			if err := c.fill(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		c.r += n
		c.headStart = 0
		if src.IsValid() {
			c.peer = src.Addr().Unmap()
			if c.s.cfg.Log != nil {
				c.remote = src.String()
			}
		}
		return nil
	}
}

// serveOne reads, answers and writes one request. It returns an error when
// the connection must close.
func (c *conn) serveOne() error {
	n, perr, err := c.readHead()
	if err != nil {
		return err
	}
	var start time.Time
	if c.s.cfg.Log != nil || c.s.cfg.Metrics {
		start = time.Now()
	}
	if perr != nil {
		return c.refuseHead(start, perr)
	}
	c.r += n
	c.headStart = 0
	if !c.started.Load() {
		c.started.Store(true)
	}
	req := &c.req
	closing, err := c.answer(req.Close || c.s.closing.Load())
	if err != nil {
		return err
	}
	bodyLen := c.resp.BodyLen()
	c.wr.CloseAfter = false
	if err := c.wr.WriteResponse(closing); err != nil {
		return err
	}
	if c.wr.CloseAfter {
		closing = true
	}
	if bodyLen < 0 {
		bodyLen = c.wr.Streamed
	}
	c.done(start, req, bodyLen)
	if closing {
		c.wr.Flush()
		if req.Chunked || req.ContentLength > 0 {
			c.lingerClose()
		}
		return errClose
	}
	if len(c.wr.Buf) >= FlushThreshold {
		return c.wr.Flush()
	}
	return nil
}

// readHead reads until the buffer holds a request head, and parses it
// into c.req: n is its length, perr why it cannot be served, err a read
// error.
func (c *conn) readHead() (n int, perr, err error) {
	lim := &c.s.cfg.Limits
	n, perr = http1.Parse(c.rbuf[c.r:c.w], &c.req, lim)
	for perr == http1.ErrIncomplete {
		pending := c.w - c.r
		if err := c.fill(); err != nil {
			return 0, nil, err
		}
		// Parse starts over on every call; a head trickled in byte by byte
		// would cost quadratic time. Every head ends in LF, so parse again
		// only when one arrived, or when the head limit is reached.
		if bytes.IndexByte(c.rbuf[c.r+pending:c.w], '\n') < 0 && c.w-c.r < lim.MaxHeaderBytes {
			continue
		}
		n, perr = http1.Parse(c.rbuf[c.r:c.w], &c.req, lim)
	}
	return n, perr, nil
}

// refuseHead answers a head that cannot be served (perr, from Parse) and
// closes the connection.
func (c *conn) refuseHead(start time.Time, perr error) error {
	status := 400
	var pe *http1.Error
	if errors.As(perr, &pe) {
		status = pe.Status
	}
	c.resp.Reset()
	c.s.cfg.Panics.Error(proto, c.s.h, status, "GET", &c.resp)
	c.wr.WriteResponse(true)
	c.done(start, nil, c.resp.BodyLen())
	c.wr.Flush()
	c.lingerClose()
	return errClose
}

// answer fills c.resp with the answer to c.req, and reports whether the
// connection closes after it (closing: it would already).
func (c *conn) answer(closing bool) (bool, error) {
	req := &c.req
	// The body, if any, is read and dropped before answering so that the
	// next request on the connection starts where it should. One we will
	// not read closes the connection after the answer instead.
	c.resp.Reset()
	switch RequestBodyOf(req, c.s.cfg.MaxBodyDiscard) {
	case ExpectationFailed:
		c.s.cfg.Panics.Error(proto, c.s.h, 417, str(req.Method), &c.resp)
		closing = true
	case UnreadBody:
		closing = true
	case DropBody:
		if err := c.discardBody(req.ContentLength, req.ExpectContinue); err != nil {
			return closing, err
		}
	}
	if c.resp.Status == 0 {
		FillRequest(&c.creq, &c.req, c.peer)
		if c.s.cfg.Panics.Serve(proto, c.s.h, &c.creq, &c.resp) {
			// What the core left behind is not trusted with the
			// connection's next request.
			closing = true
		}
	}
	return closing, nil
}

// FillRequest sets dst, the decision core's request, from req, a parsed
// HTTP/1.1 head, and the peer's address. dst's strings view req's bytes,
// so it is valid while they stay put: for one request. Package evloop
// fills its requests with it too.
func FillRequest(dst *respond.Request, req *http1.Request, peer netip.Addr) {
	*dst = respond.Request{
		Method:   str(req.Method),
		Path:     str(req.Path),
		Query:    str(req.Query),
		HasQuery: req.HasQuery,
		Host:     str(req.Host),
		Peer:     peer,
	}
	dst.SetFields(&req.Fields)
}

// fill reads more bytes into rbuf. Pending output is written first, since
// the client may be waiting for it before it sends more.
func (c *conn) fill() error {
	if err := c.wr.Flush(); err != nil {
		return err
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.rbuf) {
		// Parse asked for more than the buffer holds; it refuses heads
		// over the limit itself, so growing up to it is safe.
		nb := make([]byte, min(2*len(c.rbuf), max(c.s.cfg.Limits.MaxHeaderBytes, InitialReadBuf)+1))
		copy(nb, c.rbuf[:c.w])
		c.rbuf = nb
	}
	now := time.Now().UnixNano()
	if c.opened == 0 {
		c.opened = now
	}
	wasEmpty := c.w == 0
	if wasEmpty {
		c.setReadDeadline(now+int64(c.s.cfg.IdleTimeout), c.s.cfg.IdleTimeout)
	} else {
		if c.headStart == 0 {
			c.headStart = now
		}
		c.setReadDeadline(c.headStart+int64(c.s.cfg.ReadHeaderTimeout), c.s.cfg.ReadHeaderTimeout)
	}
	// Checked after the deadline is set: Shutdown sets the flag, then a
	// past deadline, so one of the two always stops us.
	if c.s.closing.Load() && c.w == 0 && !c.awaitFirst(now) {
		return errClose
	}
	n, err := c.read()
	for n == 0 && c.w == 0 && isTimeout(err) && c.s.closing.Load() && c.awaitFirst(time.Now().UnixNano()) {
		n, err = c.read()
	}
	c.w += n
	if err != nil {
		if n > 0 {
			return nil
		}
		var ne net.Error
		if c.w > 0 && errors.As(err, &ne) && ne.Timeout() && !c.s.closing.Load() {
			// A head that did not arrive in time (slow loris).
			c.resp.Reset()
			c.s.cfg.Panics.Error(proto, c.s.h, 408, "GET", &c.resp)
			c.wr.WriteResponse(true)
			c.wr.Flush()
		}
		return err
	}
	if wasEmpty {
		c.headStart = now
	}
	return nil
}

// read reads into rbuf[w:]. With nothing buffered on a TCP connection
// (no TLS), it waits for the next bytes without holding the buffers or
// the request state (tryRead), so an idle keep-alive connection costs its
// goroutine and little else; with bytes waiting it is one read system
// call, as nc.Read is.
func (c *conn) read() (int, error) {
	if c.w != 0 || len(c.wr.Buf) != 0 || c.rawConn() == nil {
		return c.nc.Read(c.rbuf[c.w:])
	}
	c.rn, c.rerr = 0, nil
	err := c.raw.Read(c.readFn)
	if c.exch == nil {
		// The wait ended without bytes (a deadline, Shutdown): the
		// connection's code after fill counts on its exchange.
		c.takeExch()
	}
	if err != nil {
		return 0, err
	}
	return c.rn, c.rerr
}

// tryRead is read's callback on the raw connection: it reads what is
// there, and when nothing is, returns the exchange and asks to be called
// again once the socket is readable.
func (c *conn) tryRead(fd uintptr) bool {
	if c.exch == nil {
		c.takeExch()
	}
	for {
		n, err := syscall.Read(int(fd), c.rbuf[c.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.dropExch()
			return false
		case err != nil:
			c.rerr = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
		case n == 0:
			c.rerr = io.EOF
		default:
			c.rn = n
		}
		return true
	}
}

// awaitFirst reports whether a shutting-down server still waits for the
// connection's first request (FirstRequestGrace), and makes the read
// deadline the end of that wait.
func (c *conn) awaitFirst(now int64) bool {
	end := c.opened + int64(FirstRequestGrace)
	if c.started.Load() || now >= end {
		return false
	}
	c.readDeadline = end
	c.nc.SetReadDeadline(time.Unix(0, end))
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// setReadDeadline moves the read deadline to at, unless it is already within
// slack(timeout) of it: resetting a deadline costs a timer update, and a
// tenth of the timeout (at most a second) is below any timeout's precision.
func (c *conn) setReadDeadline(at int64, timeout time.Duration) {
	if d := at - c.readDeadline; d > slack(timeout) || d < -slack(timeout) {
		c.readDeadline = at
		c.nc.SetReadDeadline(time.Unix(0, at))
	}
}

func slack(timeout time.Duration) int64 {
	return int64(min(timeout/10, time.Second))
}

// discardBody reads and drops n body bytes, sending 100 Continue first when
// the client waits for it (RFC 9110 §10.1.1).
func (c *conn) discardBody(n int64, expectContinue bool) error {
	have := int64(c.w - c.r)
	if have >= n {
		c.r += int(n)
		return nil
	}
	c.r = c.w
	c.setReadDeadline(time.Now().UnixNano()+int64(c.s.cfg.ReadHeaderTimeout), c.s.cfg.ReadHeaderTimeout)
	// The request's fields point into rbuf, so the body is read past it.
	return c.wr.DiscardBody(c.nc, n-have, expectContinue && have == 0)
}

func (c *conn) closeFile() {
	if c.exch != nil && c.resp.Handle != nil {
		c.resp.Handle.Release()
		c.resp.Handle = nil
		c.resp.File = nil
	}
}

// lingerClose half-closes the connection and drains what the client still
// sends for a while, so it sees our response rather than a reset caused by
// unread data (RFC 9112 §9.6).
func (c *conn) lingerClose() {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := c.nc.(closeWriter)
	if !ok {
		return
	}
	cw.CloseWrite()
	c.nc.SetReadDeadline(time.Now().Add(LingerTime))
	io.CopyN(io.Discard, c.nc, LingerBytes)
}

// done records the exchange just answered: access log and metrics. A
// request that could not be parsed (nil req) is logged with "-" for its
// method, target and protocol.
func (c *conn) done(start time.Time, req *http1.Request, bodyLen int64) {
	x := finish.Exchange{Start: start, Remote: c.remote, Peer: c.peer, Bytes: bodyLen}
	if req != nil {
		x.Method, x.Target, x.Proto, x.Host = str(req.Method), str(req.Target), req.Proto(), str(req.Host)
		x.Referer, x.UserAgent = req.Fields.String(reqfield.Referer), req.Fields.String(reqfield.UserAgent)
	}
	finish.Done(c.s.cfg.Log, &x, &c.resp)
}
